// Follows the learner's parameter stream in a background thread so that the
// actor's env loop never waits for the network: the loop calls TakeNewer()
// between steps and gets the newest decoded parameters if any arrived.
// Reconnects (with a capped, jittered backoff: common/backoff.h) when the
// learner goes away. A process that passes parameters on rather than acting
// with them (`rill inference`) gives it a callback instead and gets every
// version as the learner sent it.
//
// With shared memory (parameter_region.h), a client on the learner's host
// reads versions from the learner's region instead: TakeNewer parses the
// newest on the caller's thread when there is one, and the stream's thread
// only waits for the stream to end (the learner gone: the region is
// dropped and the next stream offers a new one).
// Thread-safe; the destructor stops and joins the thread.
#ifndef RILL_PARAMETERS_PARAMETER_CLIENT_H_
#define RILL_PARAMETERS_PARAMETER_CLIENT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "parameters/parameter_region.h"
#include "proto/parameters.grpc.pb.h"

namespace rill::parameters {

struct ReceivedParameters {
  int64_t version = 0;
  int64_t learner_updates = 0;
  v1::ParameterSet parameters;
  // The learner's opponent pool then (ParameterUpdate.pool_versions).
  std::vector<int64_t> pool_versions;
  // The learner's publish time and this client's receipt time.
  absl::Time published;
  absl::Time received;
};

// Handed each version received, as the learner sent it (the blob not
// decoded). Runs on the client's thread; must not block.
using ParameterUpdateCallback = std::function<void(v1::ParameterUpdate update)>;

class ParameterClient {
 public:
  // With `on_update`, each version received goes to it instead of being
  // kept for TakeNewer (which then returns nothing); latest_version and
  // WaitForVersionAfter see a version once `on_update` has returned.
  // `policy`: the learner's policy to follow (config.policies); empty: its
  // first, or only, one.
  // `shared_memory`: ask for the learner's region (ignored with
  // `on_update`).
  ParameterClient(const std::string& learner_address, int64_t max_message_bytes,
                  ParameterUpdateCallback on_update = nullptr, std::string policy = "", bool shared_memory = false);
  ~ParameterClient();

  // The newest version received since the last call, if any. Never blocks on
  // the network (only briefly on the mutex).
  std::optional<ReceivedParameters> TakeNewer() ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until a version newer than `version` has been received (true) or
  // the timeout passes (false).
  bool WaitForVersionAfter(int64_t version, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  // The newest version received, or in the region.
  int64_t latest_version() const ABSL_LOCKS_EXCLUDED(mu_);

  // Whether versions come through the learner's shared region now.
  bool shared_memory() const ABSL_LOCKS_EXCLUDED(mu_);

  // Version `version` of the learner's opponent pool (GetVersion), decoded;
  // blocks for at most `timeout`. NotFound when the pool no longer has it;
  // the RPC's error otherwise.
  absl::StatusOr<ReceivedParameters> FetchVersion(int64_t version, absl::Duration timeout) const;

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // Maps the region `offer` names; logs why not (versions then come over
  // the stream).
  void TakeRegion(const v1::ParameterRegionOffer& offer) ABSL_LOCKS_EXCLUDED(mu_);
  // The region, or null (dropped once the learner retires it).
  std::shared_ptr<ParameterRegionReader> Region() ABSL_LOCKS_EXCLUDED(mu_);
  const std::shared_ptr<ParameterRegionReader>& RegionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ParameterService::Stub> stub_;
  const ParameterUpdateCallback on_update_;
  const std::string policy_;
  const bool ask_region_;
  mutable absl::Mutex mu_;
  std::optional<ReceivedParameters> pending_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<ParameterRegionReader> region_ ABSL_GUARDED_BY(mu_);
  // The newest version TakeNewer returned since region_ was taken: the
  // region's versions newer than it are new (a restarted learner's count
  // again from its checkpoint).
  int64_t taken_version_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::atomic<int64_t> latest_version_{0};
  std::atomic<int64_t> region_errors_{0};  // reads of the region that failed (logged 1 in 1,000)
  std::thread thread_;
};

}  // namespace rill::parameters

#endif  // RILL_PARAMETERS_PARAMETER_CLIENT_H_
