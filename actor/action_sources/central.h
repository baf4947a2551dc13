// CentralActionSource: an actor's side of central inference (topology
// .inference "central"). Each step it sends its envs' observations on one
// long-lived Act stream to the inference service (the learner's, or a
// separate one) and receives the actions the newest policy chose for them
// in a batch with other actors' observations. The actor holds no policy
// and no parameters, and links no network code for this path: tensors go
// on the wire as raw bytes, in the env's own type (uint8 images as bytes,
// a quarter of their floats; the service scales them by 1/255).
//
// A broken stream (the learner restarting, a network blip) is reopened
// with capped, jittered backoff (common/backoff.h) and the step's request
// sent again, until the caller's stop; the service's refusal of a request
// (INVALID_ARGUMENT) is returned, not retried. A recurrent policy's core
// states live on the service with the stream: a reopened stream starts
// every env's from zeros, mid-episode (reconnects() counts them).
//
// Not thread-safe: the actor's step loop owns it.
#ifndef RILL_ACTOR_ACTION_SOURCES_CENTRAL_H_
#define RILL_ACTOR_ACTION_SOURCES_CENTRAL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "actor/action_sources/interface.h"
#include "common/backoff.h"
#include "grpcpp/grpcpp.h"
#include "proto/inference.grpc.pb.h"

namespace rill::actor {

struct CentralAnswer {
  int64_t version = 0;  // the parameter version that acted
  int batch_rows = 0;   // rows of the batch it was answered in
};

class CentralActionSource final : public ActionSource {
 public:
  // `policy`: the service's policy that acts (config.policies); empty: its
  // first, or only, one.
  CentralActionSource(std::string address, int64_t max_message_bytes, std::string policy = "");
  ~CentralActionSource() override;

  // Nothing to take up: the service acts with the learner's newest.
  absl::Status Refresh() override { return absl::OkStatus(); }
  bool ready() const override { return true; }
  int64_t version() const override { return version_; }

  // One round trip (Exchange); `deterministic` is the service's choice
  // (it samples, as training needs).
  absl::Status Act(const ObservationRows& observations, bool deterministic, bool behaviour,
                   const absl::Notification& stop, const ActionBuffers& out) override;

  // Acts on the rows of `observations`, sent as one [rows, obs_dim] tensor
  // of their type (float32 or uint8), with their episode_start flags (the
  // service keeps a recurrent policy's core states per stream and row).
  // With `behaviour` also fills log_probs and distributions; with
  // out.core_states, the state each row acted from. InvalidArgument when
  // the service refuses the request or answers with other shapes than
  // asked; FailedPrecondition when core states are asked of a feed-forward
  // policy; Cancelled once `stop` is notified while reconnecting.
  absl::StatusOr<CentralAnswer> Exchange(const ObservationRows& observations, bool behaviour,
                                         const absl::Notification& stop, const ActionBuffers& out);

  int64_t reconnects() const override { return reconnects_; }

 private:
  void Open();
  absl::Status Decode(const v1::ActResponse& response, int rows, bool behaviour, const ActionBuffers& out) const;

  const std::string address_;
  const std::string policy_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::InferenceService::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ActRequest, v1::ActResponse>> stream_;
  v1::ActRequest request_;
  v1::ActResponse response_;
  Backoff backoff_;
  int64_t reconnects_ = 0;
  int64_t version_ = 0;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_ACTION_SOURCES_CENTRAL_H_
