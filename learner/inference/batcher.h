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
// Observations arrive as float32, or as uint8 from the actors of an image
// env (a quarter of the bytes on the wire); Submit scales those by 1/255
// (envs/observation.h, as a local policy does), on the submitting thread
// rather than the inference thread, so the forward sees the same floats
// either way.
//
// Thread safety: Submit, StreamRows, StreamClosed, Stats and Stop may be
// called from any thread. `done` callbacks run on the inference thread (or
// on the caller of Stop) and must not block; they must not call Submit.
#ifndef RILL_LEARNER_INFERENCE_BATCHER_H_
#define RILL_LEARNER_INFERENCE_BATCHER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "envs/spec.h"
#include "parameters/parameter_service.h"
#include "policies/interface.h"
#include "learner/torch_policy.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "proto/config.pb.h"
#include "torch/torch.h"

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
  int64_t version = 0;         // the parameters that acted
  int batch_rows = 0;          // rows of the whole batch
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
  // (histograms), _requests_total, _connected_streams and
  // _observation_bytes_total{dtype} (what the requests carried, "float32" or
  // "uint8").
  InferenceBatcher(InferenceOptions options, LatestParameters latest, prometheus::Registry* registry = nullptr);
  ~InferenceBatcher();  // Stop()
  InferenceBatcher(const InferenceBatcher&) = delete;
  InferenceBatcher& operator=(const InferenceBatcher&) = delete;

  // Queues `observations` of stream `stream`. InvalidArgument at once (and
  // `done` is never called), naming the problem, unless they are a [b, d]
  // tensor with 1 <= b <= kMaxRequestRows, either float32 with every value
  // finite or uint8 for a uint8 env (options.observation_type); Cancelled
  // after Stop. Otherwise `done` runs exactly once: with the rows' results,
  // or InvalidArgument when d is not the policy's obs_dim, Unavailable
  // before the first published version, Internal if the policy fails.
  absl::Status Submit(int64_t stream, torch::Tensor observations, ActKind kind, ActDone done)
      ABSL_LOCKS_EXCLUDED(mu_);

  // A stream ended: it no longer counts toward the automatic batch size.
  void StreamClosed(int64_t stream) ABSL_LOCKS_EXCLUDED(mu_);

  // Ends the thread; queued requests get Cancelled. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  InferenceStats Stats() const ABSL_LOCKS_EXCLUDED(mu_);
  // The rows a batch closes at now (max_batch, or the automatic rule).
  int64_t TargetRows() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Pending {
    torch::Tensor observations;  // float32
    ActDone done;
    absl::Time arrived;
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
    prometheus::Counter* float32_observation_bytes = nullptr;
    prometheus::Counter* uint8_observation_bytes = nullptr;
  } metrics_;

  mutable absl::Mutex mu_;
  Queue queues_[3] ABSL_GUARDED_BY(mu_);
  // Rows per request of each open stream: the automatic batch size.
  absl::flat_hash_map<int64_t, int64_t> stream_rows_ ABSL_GUARDED_BY(mu_);
  int64_t connected_rows_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t submissions_ ABSL_GUARDED_BY(mu_) = 0;  // wakes the thread
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  InferenceStats stats_ ABSL_GUARDED_BY(mu_);

  // Touched by the inference thread only.
  std::unique_ptr<policies::Policy> policy_;
  int64_t version_ = 0;

  std::thread thread_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_INFERENCE_BATCHER_H_
