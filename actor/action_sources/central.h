// CentralActionSource: an actor's side of central inference (topology
// .inference "central"). Each step it sends its envs' observations on one
// long-lived Act stream to the inference service (the learner's, or a
// separate one) and receives the actions the newest policy chose for them
// in a batch with other actors' observations. The actor holds no policy
// and no parameters, and links no network code for this path: tensors go
// on the wire as raw bytes, in the env's own type (uint8 images as bytes,
// a quarter of their floats; the service scales them by 1/255).
//
// On the service's host the stream's requests go through a shared region
// instead (proto/inference.proto, "Shared memory"): the first request of
// each stream asks for one, sized for the most rows a request carries;
// once the client holds it, observations are written into it, one frame
// on its socket asks, and the actions are read from it. A service that
// declines, or whose socket is out of reach (another network namespace),
// is served over gRPC, as is a request of more rows than the region holds.
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
#include "common/shared_region.h"
#include "grpcpp/grpcpp.h"
#include "proto/inference.grpc.pb.h"

namespace rill::actor {

struct CentralAnswer {
  int64_t version = 0;  // the parameter version that acted
  int batch_rows = 0;   // rows of the batch it was answered in
};

struct CentralOptions {
  std::string address;
  int64_t max_message_bytes = 0;
  // The service's policy that acts (config.policies); empty: its first, or
  // only, one.
  std::string policy;
  // Ask for a shared region (config inference.shared_memory), sized for
  // requests of up to max_rows rows (0: the first request's).
  bool shared_memory = false;
  int max_rows = 0;
};

class CentralActionSource final : public ActionSource {
 public:
  explicit CentralActionSource(CentralOptions options);
  // Over gRPC only.
  CentralActionSource(std::string address, int64_t max_message_bytes, std::string policy = "")
      : CentralActionSource(CentralOptions{std::move(address), max_message_bytes, std::move(policy)}) {}
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
  // Whether the stream's requests go through a shared region now.
  bool shared_memory() const { return region_ != nullptr; }

 private:
  void Open();
  void Request(const ObservationRows& observations, bool behaviour, const ActionBuffers& out, bool through_region);
  // One round trip through the region; Unavailable or DeadlineExceeded when
  // its socket broke (the stream's status says why).
  absl::Status ExchangeThroughRegion(const ObservationRows& observations, bool behaviour, const ActionBuffers& out);
  // Takes the region the answer offers; a failure leaves the stream on
  // gRPC or, when the socket was reached, broken (Unavailable).
  absl::Status TakeRegion(const v1::ActRegion& layout, const ActionBuffers& out);
  // `in_region`: the answer's tensors carry dtype and shape only, their
  // bytes at the region's offsets.
  absl::Status Decode(const v1::ActResponse& response, int rows, bool behaviour, const ActionBuffers& out,
                      bool in_region) const;

  const CentralOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::InferenceService::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ActRequest, v1::ActResponse>> stream_;
  v1::ActRequest request_;
  v1::ActResponse response_;
  // The stream's shared region, once taken, and what it was asked for.
  std::unique_ptr<SharedRegion> region_;
  v1::ActRegion layout_;
  int region_rows_ = 0;
  bool asked_ = false;        // this stream asked already
  bool out_of_reach_ = false;  // a socket of the service could not be reached: never ask again
  std::string frame_, answer_;
  Backoff backoff_;
  int64_t reconnects_ = 0;
  int64_t version_ = 0;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_ACTION_SOURCES_CENTRAL_H_
