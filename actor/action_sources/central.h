// CentralActionSource: an actor's side of central inference (topology
// .inference "central"). Each step it sends its envs' observations on one
// long-lived Act stream to the inference service (the learner's, or a
// separate one) and receives the actions the newest policy chose for them
// in a batch with other actors' observations. The actor holds no policy
// and no parameters, and links no network code for this path: tensors go
// on the wire as raw bytes.
//
// A broken stream (the learner restarting, a network blip) is reopened
// with capped, jittered backoff (common/backoff.h) and the step's request
// sent again, until the caller's stop; the service's refusal of a request
// (INVALID_ARGUMENT) is returned, not retried.
//
// Not thread-safe: the actor's step loop owns it.
#ifndef RILL_ACTOR_ACTION_SOURCES_CENTRAL_H_
#define RILL_ACTOR_ACTION_SOURCES_CENTRAL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "common/backoff.h"
#include "grpcpp/grpcpp.h"
#include "proto/inference.grpc.pb.h"

namespace rill::actor {

// Where a step's answer goes; sizes are the caller's (rows x widths).
struct CentralActions {
  float* actions = nullptr;           // continuous: [rows, action_dim]
  int64_t* action_indices = nullptr;  // discrete: [rows]
  float* log_probs = nullptr;         // with behaviour: [rows]
  float* distributions = nullptr;     // with behaviour: [rows, distribution_width]
  int action_dim = 0;                 // continuous; 0 for discrete
  int distribution_width = 0;
};

struct CentralAnswer {
  int64_t version = 0;  // the parameter version that acted
  int batch_rows = 0;   // rows of the batch it was answered in
};

class CentralActionSource {
 public:
  CentralActionSource(std::string address, int64_t max_message_bytes);
  ~CentralActionSource();

  // Acts on `rows` observations of `obs_dim` floats each. With `behaviour`
  // also fills log_probs and distributions. InvalidArgument when the
  // service refuses the request or answers with other shapes than asked;
  // Cancelled once `stop` is notified while reconnecting.
  absl::StatusOr<CentralAnswer> Act(const float* observations, int rows, int obs_dim, bool behaviour,
                                    const absl::Notification& stop, const CentralActions& out);

  int64_t reconnects() const { return reconnects_; }

 private:
  void Open();
  absl::Status Decode(const v1::ActResponse& response, int rows, bool behaviour, const CentralActions& out) const;

  const std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::InferenceService::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ActRequest, v1::ActResponse>> stream_;
  v1::ActRequest request_;
  v1::ActResponse response_;
  Backoff backoff_;
  int64_t reconnects_ = 0;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_ACTION_SOURCES_CENTRAL_H_
