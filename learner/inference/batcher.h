// InferenceBatcher: the core of central inference (the GA3C / SEED
// topology). Requests from many actor streams (a block of observation rows
// each) queue here; one inference thread closes a batch once it holds
// `max_batch` rows or its first request has waited `max_wait`, concatenates
// the requests' rows (one copy per request, not per row), runs the newest
// policy once over the batch and answers each request with its rows of the
// result. While a batch runs, the next one fills.
//
// Parameters: before each batch the thread asks `latest` for the newest
// published version and, if it is newer than the one loaded, loads it; a
// version therefore changes between two batches, never inside one, and the
// actions carry the version that computed them (no policy lag).
//
// Requests of the three kinds (exploring, exploring with behaviour
// information for IMPALA, deterministic for the evaluator) batch
// separately.
//
// A recurrent policy (Policy::state_size() > 0) carries each env's core
// state from one step to the next. The batcher keeps it, keyed by the stream
// and the row, for as long as the stream is open: a stream's rows start from
// zeros, a row flagged in episode_start is reset to zeros before it acts, and
// a batch gathers its requests' rows into one [rows, state_size] block, acts
// on it (every kind advances it) and scatters the advanced rows back.
// StreamClosed drops the stream's states; a stream whose request brings
// another number of rows than its last starts all its rows from zeros (its
// rows are other envs now), and so does every stream when a policy of
// another network replaces the loaded one. A feed-forward policy ignores
// all of this. A stream's requests must not overlap (the service sends the
// next after the answer): two of one stream in one batch would both act
// from the same states.
//
// Observations arrive as float32, or as uint8 from the actors of an image
// env (a quarter of the bytes on the wire); Submit scales those by 1/255
// (envs/observation.h, as a local policy does), on the submitting thread
// rather than the inference thread, so the forward sees the same floats
// either way.
//
// Thread safety: Submit, StreamRows, StreamClosed, Stats and Stop may be
// called from any thread. `done` callbacks run on the inference thread (or
// on the caller of Stop) and must not block; they must not call Submit. The
// core states are touched by the inference thread only: a request hands its
// stream's to it through the queue, under mu_.
#ifndef RILL_LEARNER_INFERENCE_BATCHER_H_
#define RILL_LEARNER_INFERENCE_BATCHER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/torch_types.h"
#include "envs/spec.h"
#include "parameters/parameter_service.h"
#include "policies/interface.h"
#include "learner/torch_policy.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "proto/config.pb.h"

namespace rill::learner {

struct InferenceOptions {
  // A batch closes once it holds at least this many rows. 0: half the rows
  // the connected streams send per request (SEED RL's rule), at least 1.
  int max_batch = 0;
  // ...or once its first request has waited this long.
  absl::Duration max_wait = absl::Milliseconds(2);
  // Seeds the policy's exploration noise.
  uint64_t seed = 1;
  // The element type of the env's observations: uint8 requests are taken
  // only for a uint8 env. Float32 requests are taken from any env (a uint8
  // env's already scaled by 1/255).
  envs::ObservationType observation_type = envs::ObservationType::kFloat32;
  // A uint8 env's Dict observation: each uint8 row is its image's bytes
  // and then this many float32 flat leaves' (EnvSpec::packed_observations),
  // which Submit reads as those floats. 0: every byte is a pixel.
  int flat_dim = 0;
  // Builds the policy of a published version that the loaded one cannot
  // load in place, seeded with `seed`. Null: policies::PolicyFromParameters.
  // Tests inject policies of their own here.
  std::function<absl::StatusOr<std::unique_ptr<policies::Policy>>(const v1::ParameterSet& params, uint64_t seed)>
      make_policy;

  // The options of a finalized config's `inference` block, seeded from its
  // `seed`, for its env's observation type: the same for the learner's own
  // service and `rill inference`.
  static InferenceOptions FromConfig(const v1::ExperimentConfig& config);
};

// What a request gets back: its rows of the batch's outputs.
struct ActResult {
  torch::Tensor actions;       // [b, action_dim] float32 or [b] int64
  torch::Tensor log_prob;      // [b]; only for behaviour requests
  torch::Tensor distribution;  // [b, k]; likewise
  // [b, state_size] float32, the core state each row acted from (after any
  // reset); only with CoreStateRequest.return_core_state and a recurrent
  // policy.
  torch::Tensor core_state;
  int64_t version = 0;         // the parameters that acted
  int batch_rows = 0;          // rows of the whole batch
};

// A request's part for a recurrent policy; a feed-forward one ignores it.
struct CoreStateRequest {
  // [rows] flags (ActRequest.episode_start's bytes as they came): nonzero
  // where the row's observation is an episode's first, so its state is reset
  // to zeros before it acts. Empty: no row begins an episode.
  std::string episode_start;
  // Answer with the state each row acted from (ActResult.core_state).
  bool return_core_state = false;
};

enum class ActKind { kExplore = 0, kExploreWithBehaviour = 1, kDeterministic = 2 };

using ActDone = std::function<void(absl::StatusOr<ActResult>)>;
using LatestParameters = std::function<parameters::ParameterUpdatePtr()>;

struct InferenceStats {
  int64_t batches = 0;
  int64_t rows = 0;
  int64_t requests = 0;
  int64_t version = 0;      // loaded by the inference thread
  int64_t queued_rows = 0;  // waiting for a batch now
};

class InferenceBatcher {
 public:
  // Most rows one request may carry.
  static constexpr int64_t kMaxRequestRows = 1 << 16;

  // Starts the inference thread. With a registry it exports
  // rill_inference_batch_rows, _queue_wait_seconds, _forward_seconds
  // (histograms), _requests_total, _connected_streams,
  // _shared_memory_streams and
  // _observation_bytes_total{dtype} (what the requests carried, "float32" or
  // "uint8").
  InferenceBatcher(InferenceOptions options, LatestParameters latest, prometheus::Registry* registry = nullptr);
  ~InferenceBatcher();  // Stop()
  InferenceBatcher(const InferenceBatcher&) = delete;
  InferenceBatcher& operator=(const InferenceBatcher&) = delete;

  // Queues `observations` of stream `stream`. InvalidArgument at once (and
  // `done` is never called), its message opening with the name of the
  // argument it refuses, unless `observations` are a [b, d] tensor with
  // 1 <= b <= kMaxRequestRows, either float32 with every value finite or
  // uint8 for a uint8 env (options.observation_type), and
  // `core.episode_start` is empty or holds b flags; Cancelled after Stop.
  // Otherwise `done` runs exactly once: with the rows' results, or
  // InvalidArgument when d is not the policy's obs_dim, Unavailable before
  // the first published version, Internal if the policy fails (the rows'
  // core states stay as they were then).
  absl::Status Submit(int64_t stream, torch::Tensor observations, ActKind kind, ActDone done,
                      CoreStateRequest core = {}) ABSL_LOCKS_EXCLUDED(mu_);

  // Stream `stream` (open: it has submitted) now sends its requests through
  // a shared region: counted in rill_inference_shared_memory_streams until
  // it closes.
  void StreamThroughSharedMemory(int64_t stream) ABSL_LOCKS_EXCLUDED(mu_);

  // A stream ended: it no longer counts toward the automatic batch size,
  // and its core states are dropped (a stream of the same id would start
  // from zeros).
  void StreamClosed(int64_t stream) ABSL_LOCKS_EXCLUDED(mu_);

  // Ends the thread; queued requests get Cancelled. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  InferenceStats Stats() const ABSL_LOCKS_EXCLUDED(mu_);
  // The rows a batch closes at now (max_batch, or the automatic rule).
  int64_t TargetRows() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // A request's observations (checked: [rows, d], float32, or uint8 of a
  // uint8 env) as the policy takes them: float32 as they are, uint8 pixels
  // scaled, a packed Dict row read as its image and its flat leaves'
  // floats (InferenceOptions::flat_dim). InvalidArgument for a NaN or
  // infinity, or a packed row too short for its floats.
  absl::StatusOr<torch::Tensor> NetworkInput(torch::Tensor observations) const;

  // One stream's recurrent core states, [rows, state_size] row-major.
  // Submit creates them empty; the inference thread alone sizes, reads and
  // advances them.
  struct CoreStates {
    int64_t policy_build = 0;  // the policy_build_ they belong to
    std::vector<float> values;
  };
  struct Stream {
    int64_t rows = 0;  // per request: the automatic batch size
    bool shared_memory = false;  // its requests come through a shared region
    // Shared with the stream's requests in flight, which may outlive the
    // stream (StreamClosed drops this reference, not theirs).
    std::shared_ptr<CoreStates> core_states;
  };
  struct Pending {
    torch::Tensor observations;  // float32
    ActDone done;
    absl::Time arrived;
    std::shared_ptr<CoreStates> core_states;  // its stream's, as it submitted
    CoreStateRequest core;
  };
  struct Queue {
    std::deque<Pending> items;
    int64_t rows = 0;
  };

  int64_t TargetRowsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();
  // Waits for a batch to close and takes it; false once stopped.
  bool NextBatch(ActKind* kind, std::vector<Pending>* batch) ABSL_LOCKS_EXCLUDED(mu_);
  void RunBatch(ActKind kind, std::vector<Pending>& batch);
  // The rows of `served` (requests of `width`-float states, in batch order)
  // into batch_states_, each stream's from zeros when it has none of the
  // loaded policy's, a flagged row's reset to zeros first.
  void GatherCoreStates(const std::vector<Pending*>& served, int width);
  // batch_states_'s rows, advanced, back into their streams.
  void ScatterCoreStates(const std::vector<Pending*>& served, int width);
  // Loads the newest published version if it is newer than the loaded one.
  void RefreshPolicy();

  const InferenceOptions options_;
  const LatestParameters latest_;
  struct Metrics {
    prometheus::Histogram* batch_rows = nullptr;
    prometheus::Histogram* queue_wait_seconds = nullptr;
    prometheus::Histogram* forward_seconds = nullptr;
    prometheus::Counter* requests = nullptr;
    prometheus::Gauge* connected_streams = nullptr;
    prometheus::Gauge* shared_memory_streams = nullptr;
    prometheus::Counter* float32_observation_bytes = nullptr;
    prometheus::Counter* uint8_observation_bytes = nullptr;
  } metrics_;

  mutable absl::Mutex mu_;
  Queue queues_[3] ABSL_GUARDED_BY(mu_);
  // The open streams.
  absl::flat_hash_map<int64_t, Stream> streams_ ABSL_GUARDED_BY(mu_);
  int64_t connected_rows_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t submissions_ ABSL_GUARDED_BY(mu_) = 0;  // wakes the thread
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  InferenceStats stats_ ABSL_GUARDED_BY(mu_);

  // Touched by the inference thread only.
  std::unique_ptr<policies::Policy> policy_;
  int64_t version_ = 0;
  // Counts the policies built (not loaded in place): core states of another
  // network mean nothing to the new one.
  int64_t policy_build_ = 0;
  std::vector<float> batch_states_;  // [batch rows, state_size]

  std::thread thread_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_INFERENCE_BATCHER_H_
