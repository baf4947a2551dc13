// rill.v1.InferenceService on gRPC's callback API: one ActReactor per actor
// stream, no thread per stream. A reactor reads one ActRequest, hands its
// observations to the InferenceBatcher, writes the answer when the batch
// it landed in has run, and only then reads the next request (an actor
// steps its envs between two requests, and an unread request stays in the
// transport's flow control).
//
// Observations come as float32, or as uint8 from the actors of an image env
// (the batcher scales them by 1/255). A bad request (not a [rows, obs_dim]
// tensor of finite float32 values or, for a uint8 env, of uint8; the wrong
// obs_dim; an episode_start that is not one flag per row; behaviour with
// deterministic) ends that stream with INVALID_ARGUMENT naming the field and
// the problem; the other streams, the ones batched with it included, are
// answered as usual.
//
// An actor on this host may ask for a shared region instead
// (proto/inference.proto, "Shared memory"): its requests then come as
// frames on the region's socket, served by one thread for all regions
// (common/region_server.h), and are acted on by the same batcher with the
// same checks and the same answers.
//
// A recurrent policy's core states live in the batcher, one block per
// stream (this reactor's id): an actor's envs carry theirs from step to step
// for as long as it keeps its stream open, and one that reconnects starts
// them all from zeros. episode_start resets a row's; return_core_state
// answers with the states the rows acted from (none for a feed-forward
// policy).
#ifndef RILL_LEARNER_INFERENCE_INFERENCE_SERVICE_H_
#define RILL_LEARNER_INFERENCE_INFERENCE_SERVICE_H_

#include <atomic>
#include <memory>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/region_server.h"
#include "learner/inference/batcher.h"
#include "proto/inference.grpc.pb.h"

namespace rill::learner {

// Policies' batchers by name (config.policies), in config order.
using InferenceBatchers = std::vector<std::pair<std::string, InferenceBatcher*>>;

class InferenceServiceImpl final : public v1::InferenceService::CallbackService {
 public:
  // `batcher` must outlive the service.
  explicit InferenceServiceImpl(InferenceBatcher* batcher) : InferenceServiceImpl(InferenceBatchers{{"", batcher}}) {}
  // Several policies (config.policies), each acting with its own batcher:
  // a stream's first request names its policy (ActRequest.policy; none:
  // the first), and the stream keeps it. Each must outlive the service; at
  // least one.
  explicit InferenceServiceImpl(InferenceBatchers batchers);
  // The gRPC server serving it must be shut down first.
  ~InferenceServiceImpl() override;

  grpc::ServerBidiReactor<v1::ActRequest, v1::ActResponse>* Act(grpc::CallbackServerContext* context) override;

  // Actor streams whose client holds its shared region now.
  int shared_memory_streams() const;

 private:
  const InferenceBatchers batchers_;
  std::unique_ptr<RegionServer> regions_;  // null where this host has no shared memory
  std::atomic<int64_t> next_stream_{1};
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_INFERENCE_INFERENCE_SERVICE_H_
