// The learner's parameter service. The training loop publishes each new
// policy version into a ParameterStore ONCE (encoded into one blob); every
// subscriber stream then writes that same shared message, so the cost of a
// version does not grow with the number of actors beyond the socket copies.
//
// ParameterStore is thread-safe. ParameterServiceImpl uses gRPC's sync API:
// each Subscribe stream is a handler thread that waits on the store, which is
// what a blocking wait needs (a callback reactor must never block).
#ifndef RILL_LEARNER_PARAMETER_SERVICE_H_
#define RILL_LEARNER_PARAMETER_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/parameters.grpc.pb.h"

namespace rill::learner {

class ParameterStore {
 public:
  // Makes `blob` (a serialized ParameterSet) the latest version; versions must
  // increase (FailedPrecondition otherwise). Wakes every waiting subscriber.
  absl::Status Publish(int64_t version, int64_t learner_updates, std::string blob) ABSL_LOCKS_EXCLUDED(mu_);

  // The newest version, or null before the first Publish.
  std::shared_ptr<const v1::ParameterUpdate> Latest() const ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until a version newer than `after_version` exists (returns it),
  // the deadline passes (DeadlineExceeded) or Close() is called (Cancelled).
  absl::StatusOr<std::shared_ptr<const v1::ParameterUpdate>> WaitNewer(int64_t after_version, absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(mu_);

  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  // Progress the Status RPC reports; set by the training loop.
  void SetProgress(int64_t updates, int64_t samples, double updates_per_second);
  v1::LearnerStatus Status() const;

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const v1::ParameterUpdate> latest_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> updates_{0};
  std::atomic<int64_t> samples_{0};
  std::atomic<double> updates_per_second_{0};
};

class ParameterServiceImpl final : public v1::ParameterService::Service {
 public:
  // `store` must outlive the service.
  explicit ParameterServiceImpl(ParameterStore* store) : store_(store) {}

  // Streams every version newer than request.after_version until the client
  // cancels or the store closes (then ends with CANCELLED).
  grpc::Status Subscribe(grpc::ServerContext* context, const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::ParameterUpdate>* writer) override;
  // The latest version; UNAVAILABLE before the first publish.
  grpc::Status GetParameters(grpc::ServerContext* context, const v1::GetParametersRequest* request,
                             v1::ParameterUpdate* response) override;
  grpc::Status Status(grpc::ServerContext* context, const v1::LearnerStatusRequest* request,
                      v1::LearnerStatus* response) override;

 private:
  ParameterStore* store_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_PARAMETER_SERVICE_H_
