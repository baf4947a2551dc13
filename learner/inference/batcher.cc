#include "learner/inference/batcher.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/blas.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "envs/catalog.h"
#include "envs/observation.h"
#include "learner/algorithms/checks.h"
#include "policies/registry.h"
#include "proto/parameters.pb.h"
#include "torch/torch.h"

namespace rill::learner {

namespace {

// Whether every value of a float32 tensor is finite: a plain loop over a
// contiguous one (three LibTorch ops cost more than a small request's
// whole check), LibTorch's for another layout.
bool AllFinite(const torch::Tensor& values) {
  if (!values.is_contiguous()) return torch::isfinite(values).all().item<bool>();
  const float* data = values.data_ptr<float>();
  return std::all_of(data, data + values.numel(), [](float x) { return std::isfinite(x); });
}

}  // namespace

InferenceOptions InferenceOptions::FromConfig(const v1::ExperimentConfig& config) {
  InferenceOptions options;
  options.max_batch = config.inference().max_batch();
  options.max_wait = absl::Microseconds(config.inference().max_wait_micros());
  options.seed = config.seed() + 7919;  // not the actors' or the learner's own streams
  // A finalized config's env has a spec (finalization checked it).
  absl::StatusOr<envs::EnvSpec> env = envs::ConfiguredEnvSpec(config.env());
  if (env.ok()) {
    options.observation_type = env->observation_type;
    options.flat_dim = env->flat_dim;
  } else {
    RILL_LOG(ERROR) << "inference: the config's env has no spec (" << env.status()
                    << "); taking float32 observations only";
  }
  return options;
}

InferenceBatcher::InferenceBatcher(InferenceOptions options, LatestParameters latest, prometheus::Registry* registry)
    : options_(options), latest_(std::move(latest)) {
  if (registry != nullptr) {
    metrics_.batch_rows = &prometheus::BuildHistogram()
                               .Name("rill_inference_batch_rows")
                               .Help("Observations per batch the central inference ran")
                               .Register(*registry)
                               .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256,
                                                                                  512, 1024, 2048, 4096});
    metrics_.queue_wait_seconds = &prometheus::BuildHistogram()
                                       .Name("rill_inference_queue_wait_seconds")
                                       .Help("From a request's arrival to the start of the batch it runs in")
                                       .Register(*registry)
                                       .Add({}, LatencyBuckets());
    metrics_.forward_seconds = &prometheus::BuildHistogram()
                                    .Name("rill_inference_forward_seconds")
                                    .Help("The policy's forward over one batch (concatenation included)")
                                    .Register(*registry)
                                    .Add({}, LatencyBuckets());
    metrics_.requests = &prometheus::BuildCounter()
                             .Name("rill_inference_requests_total")
                             .Help("Act requests answered (one per actor step)")
                             .Register(*registry)
                             .Add({});
    metrics_.connected_streams = &prometheus::BuildGauge()
                                      .Name("rill_inference_connected_streams")
                                      .Help("Actor streams that sent a request and are still open")
                                      .Register(*registry)
                                      .Add({});
    metrics_.shared_memory_streams = &prometheus::BuildGauge()
                                          .Name("rill_inference_shared_memory_streams")
                                          .Help("Open actor streams whose requests come through a shared region")
                                          .Register(*registry)
                                          .Add({});
    auto& observation_bytes = prometheus::BuildCounter()
                                  .Name("rill_inference_observation_bytes_total")
                                  .Help("Bytes of observations the requests carried, by dtype (uint8: images)")
                                  .Register(*registry);
    metrics_.float32_observation_bytes = &observation_bytes.Add({{"dtype", "float32"}});
    metrics_.uint8_observation_bytes = &observation_bytes.Add({{"dtype", "uint8"}});
  }
  thread_ = std::thread([this] { Loop(); });
}

InferenceBatcher::~InferenceBatcher() { Stop(); }

absl::StatusOr<torch::Tensor> InferenceBatcher::NetworkInput(torch::Tensor observations) const {
  if (observations.scalar_type() != torch::kUInt8) {
    if (!AllFinite(observations)) return absl::InvalidArgumentError("observations hold a NaN or infinite value");
    return observations;
  }
  // Images: the floats a local policy would see (envs/observation.h).
  if (options_.flat_dim == 0) return FloatObservations(observations);
  // A Dict observation: an image's bytes, then its flat leaves' floats.
  if (observations.size(1) <= 4 * options_.flat_dim) {
    return absl::InvalidArgumentError(absl::StrCat("uint8 observation rows of ", observations.size(1),
                                                   " bytes cannot hold an image and the env's ", options_.flat_dim,
                                                   " float32 flat leaves"));
  }
  observations = FloatObservations(observations, options_.flat_dim);
  if (!AllFinite(observations)) return absl::InvalidArgumentError("observations hold a NaN or infinite value");
  return observations;
}

absl::Status InferenceBatcher::Submit(int64_t stream, torch::Tensor observations, ActKind kind, ActDone done,
                                     CoreStateRequest core) {
  const bool uint8 = observations.defined() && observations.scalar_type() == torch::kUInt8;
  if (!observations.defined() || observations.dim() != 2 ||
      (observations.scalar_type() != torch::kFloat32 && !uint8)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "observations must be a [rows, obs_dim] float32 or uint8 tensor, got ",
        observations.defined() ? absl::StrCat(observations.dim(), "-d ", c10::toString(observations.scalar_type()))
                               : "none"));
  }
  if (uint8 && options_.observation_type != envs::ObservationType::kUint8) {
    return absl::InvalidArgumentError(absl::StrCat("observations are uint8, but the env observes ",
                                                   envs::ObservationTypeName(options_.observation_type),
                                                   ": send them as they are, float32"));
  }
  const int64_t rows = observations.size(0);
  if (rows < 1 || rows > kMaxRequestRows || observations.size(1) < 1) {
    return absl::InvalidArgumentError(absl::StrCat("observations have shape [", rows, ", ", observations.size(1),
                                                   "]; rows must be 1..", kMaxRequestRows, " and obs_dim >= 1"));
  }
  if (!core.episode_start.empty() && static_cast<int64_t>(core.episode_start.size()) != rows) {
    return absl::InvalidArgumentError(absl::StrCat("episode_start has ", core.episode_start.size(),
                                                   " flags for ", rows, " rows of observations: one per row, or none"));
  }
  const double received_bytes = static_cast<double>(observations.nbytes());
  absl::StatusOr<torch::Tensor> floats = NetworkInput(std::move(observations));
  if (!floats.ok()) return floats.status();
  observations = *std::move(floats);
  prometheus::Counter* received = uint8 ? metrics_.uint8_observation_bytes : metrics_.float32_observation_bytes;
  if (received != nullptr) received->Increment(received_bytes);
  absl::MutexLock lock(&mu_);
  if (stopped_) return absl::CancelledError("the inference service is shutting down");
  auto [it, inserted] = streams_.try_emplace(stream);
  Stream& open = it->second;
  if (inserted) {
    connected_rows_ += rows;
    if (metrics_.connected_streams != nullptr) metrics_.connected_streams->Increment();
  } else if (open.rows != rows) {
    // Other envs now: none of the rows' histories carries over.
    connected_rows_ += rows - open.rows;
    open.core_states = nullptr;
  }
  open.rows = rows;
  if (open.core_states == nullptr) open.core_states = std::make_shared<CoreStates>();
  Queue& queue = queues_[static_cast<int>(kind)];
  queue.items.push_back(
      Pending{std::move(observations), std::move(done), absl::Now(), open.core_states, std::move(core)});
  queue.rows += rows;
  ++submissions_;
  return absl::OkStatus();
}

void InferenceBatcher::StreamThroughSharedMemory(int64_t stream) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(stream);
  if (it == streams_.end() || it->second.shared_memory) return;
  it->second.shared_memory = true;
  if (metrics_.shared_memory_streams != nullptr) metrics_.shared_memory_streams->Increment();
}

void InferenceBatcher::StreamClosed(int64_t stream) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  connected_rows_ -= it->second.rows;
  if (it->second.shared_memory && metrics_.shared_memory_streams != nullptr) metrics_.shared_memory_streams->Decrement();
  streams_.erase(it);
  if (metrics_.connected_streams != nullptr) metrics_.connected_streams->Decrement();
  ++submissions_;  // the target may have dropped below what is queued
}

void InferenceBatcher::Stop() {
  std::vector<Pending> cancelled;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    for (Queue& queue : queues_) {
      for (Pending& pending : queue.items) cancelled.push_back(std::move(pending));
      queue.items.clear();
      queue.rows = 0;
    }
  }
  if (thread_.joinable()) thread_.join();
  for (Pending& pending : cancelled) pending.done(absl::CancelledError("the inference service is shutting down"));
}

InferenceStats InferenceBatcher::Stats() const {
  absl::MutexLock lock(&mu_);
  InferenceStats stats = stats_;
  for (const Queue& queue : queues_) stats.queued_rows += queue.rows;
  return stats;
}

int64_t InferenceBatcher::TargetRows() const {
  absl::MutexLock lock(&mu_);
  return TargetRowsLocked();
}

int64_t InferenceBatcher::TargetRowsLocked() const {
  if (options_.max_batch > 0) return options_.max_batch;
  return std::max<int64_t>(1, connected_rows_ / 2);
}

bool InferenceBatcher::NextBatch(ActKind* kind, std::vector<Pending>* batch) {
  absl::MutexLock lock(&mu_);
  int chosen = -1;
  while (chosen < 0) {
    if (stopped_) return false;
    const int64_t target = TargetRowsLocked();
    absl::Time earliest = absl::InfiniteFuture();
    int earliest_kind = -1;
    for (int k = 0; k < 3 && chosen < 0; ++k) {
      const Queue& queue = queues_[k];
      if (queue.items.empty()) continue;
      if (queue.rows >= target) {
        chosen = k;
      } else if (queue.items.front().arrived + options_.max_wait < earliest) {
        earliest = queue.items.front().arrived + options_.max_wait;
        earliest_kind = k;
      }
    }
    if (chosen >= 0) break;
    if (earliest_kind >= 0 && absl::Now() >= earliest) {
      chosen = earliest_kind;
      break;
    }
    // Sleep until a request arrives, a stream leaves, Stop, or the oldest
    // request's wait runs out; nothing polls.
    const uint64_t seen = submissions_;
    auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopped_ || submissions_ != seen; };
    mu_.AwaitWithDeadline(absl::Condition(&changed), earliest);
  }
  Queue& queue = queues_[chosen];
  const int64_t target = TargetRowsLocked();
  int64_t rows = 0;
  while (!queue.items.empty() && (rows == 0 || rows + queue.items.front().observations.size(0) <= target)) {
    rows += queue.items.front().observations.size(0);
    batch->push_back(std::move(queue.items.front()));
    queue.items.pop_front();
  }
  queue.rows -= rows;
  *kind = static_cast<ActKind>(chosen);
  return true;
}

void InferenceBatcher::Loop() {
  torch::NoGradGuard no_grad;
  // One thread runs the batches (the policy's sgemm included) while the
  // other cores serve the streams and fill the next batch: BLAS threads of
  // its own would only spin against them (measured on 2 cores, 256 streams
  // x 8 envs: 86k actions/s with OpenBLAS's default team, 114k with one).
  SetBlasThreads(1);
  ActKind kind;
  std::vector<Pending> batch;
  while (NextBatch(&kind, &batch)) {
    RunBatch(kind, batch);
    batch.clear();
  }
}

void InferenceBatcher::RefreshPolicy() {
  parameters::ParameterUpdatePtr latest = latest_ ? latest_() : nullptr;
  if (latest == nullptr || latest->version() == version_) return;
  v1::ParameterSet params;
  if (!params.ParseFromString(latest->blob())) {
    RILL_LOG(ERROR) << "inference: parameter version " << latest->version() << " does not parse; keeping version "
                    << version_;
    return;
  }
  // The same network: load in place. A first or different one: build it.
  if (policy_ == nullptr || !policy_->LoadParameters(params).ok()) {
    absl::StatusOr<std::unique_ptr<policies::Policy>> policy =
        options_.make_policy ? options_.make_policy(params, options_.seed)
                             : policies::PolicyFromParameters(params, options_.seed);
    if (!policy.ok()) {
      RILL_LOG(ERROR) << "inference: cannot build the policy of version " << latest->version() << ": "
                      << policy.status();
      return;
    }
    policy_ = std::move(*policy);
    ++policy_build_;
  }
  version_ = latest->version();
  absl::MutexLock lock(&mu_);
  stats_.version = version_;
}

void InferenceBatcher::RunBatch(ActKind kind, std::vector<Pending>& batch) {
  RefreshPolicy();
  if (policy_ == nullptr) {
    for (Pending& pending : batch) pending.done(absl::UnavailableError("no parameters published yet"));
    return;
  }
  const int64_t obs_dim = policy_->spec().obs_dim();
  std::vector<torch::Tensor> parts;
  std::vector<Pending*> served;
  for (Pending& pending : batch) {
    if (pending.observations.size(1) != obs_dim) {
      pending.done(absl::InvalidArgumentError(absl::StrCat("observations have ", pending.observations.size(1),
                                                           " columns; the policy takes obs_dim ", obs_dim)));
      continue;
    }
    parts.push_back(pending.observations);
    served.push_back(&pending);
  }
  if (served.empty()) return;
  const absl::Time started = absl::Now();
  if (metrics_.queue_wait_seconds != nullptr) {
    for (Pending* pending : served) {
      metrics_.queue_wait_seconds->Observe(absl::ToDoubleSeconds(started - pending->arrived));
    }
  }
  const torch::Tensor observations = parts.size() == 1 ? parts[0] : torch::cat(parts, 0);
  const int batch_rows = static_cast<int>(observations.size(0));
  const int width = policy_->state_size();
  torch::Tensor core_states;  // [batch_rows, width] as the rows acted from, when a request asks
  if (width > 0) {
    GatherCoreStates(served, width);
    const bool asked = std::any_of(served.begin(), served.end(),
                                   [](const Pending* pending) { return pending->core.return_core_state; });
    if (asked) {
      core_states = torch::from_blob(batch_states_.data(), {batch_rows, width}, torch::kFloat32).clone();
    }
  }
  policy_->set_state(width > 0 ? batch_states_.data() : nullptr);
  torch::Tensor actions;
  Behaviour behaviour;
  absl::Status status;
  try {
    if (kind == ActKind::kExploreWithBehaviour) {
      absl::StatusOr<torch::Tensor> acted = ActWithBehaviour(*policy_, observations, &behaviour);
      if (acted.ok()) {
        actions = std::move(*acted);
      } else {
        status = acted.status();
      }
    } else {
      actions = Act(*policy_, observations, kind == ActKind::kDeterministic);
    }
  } catch (const c10::Error& error) {
    status = absl::InternalError(absl::StrCat("the policy failed on a batch of ", batch_rows, ": ", error.what()));
  }
  policy_->set_state(nullptr);
  if (!status.ok()) {
    for (Pending* pending : served) pending->done(status);
    return;
  }
  if (width > 0) ScatterCoreStates(served, width);
  if (metrics_.forward_seconds != nullptr) {
    metrics_.forward_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - started));
    metrics_.batch_rows->Observe(batch_rows);
    metrics_.requests->Increment(static_cast<double>(served.size()));
  }
  {
    // Counted before any answer goes out: whoever holds an answer sees its batch.
    absl::MutexLock lock(&mu_);
    ++stats_.batches;
    stats_.rows += batch_rows;
    stats_.requests += static_cast<int64_t>(served.size());
  }
  int64_t offset = 0;
  for (Pending* pending : served) {
    const int64_t rows = pending->observations.size(0);
    ActResult result;
    result.actions = actions.narrow(0, offset, rows);
    if (kind == ActKind::kExploreWithBehaviour) {
      result.log_prob = behaviour.log_prob.narrow(0, offset, rows);
      result.distribution = behaviour.distribution.narrow(0, offset, rows);
    }
    if (core_states.defined() && pending->core.return_core_state) {
      result.core_state = core_states.narrow(0, offset, rows);
    }
    result.version = version_;
    result.batch_rows = batch_rows;
    offset += rows;
    pending->done(std::move(result));
  }
}

void InferenceBatcher::GatherCoreStates(const std::vector<Pending*>& served, int width) {
  int64_t total_rows = 0;
  for (const Pending* pending : served) total_rows += pending->observations.size(0);
  batch_states_.resize(static_cast<size_t>(total_rows) * width);
  float* next = batch_states_.data();
  for (const Pending* pending : served) {
    CoreStates& states = *pending->core_states;
    const int64_t rows = pending->observations.size(0);
    const size_t floats = static_cast<size_t>(rows) * width;
    if (states.policy_build != policy_build_ || states.values.size() != floats) {
      states.policy_build = policy_build_;
      states.values.assign(floats, 0.f);
    }
    // Reset in the batch only: if the policy fails, the stream keeps its states.
    float* block = next;
    next = std::copy(states.values.begin(), states.values.end(), next);
    const std::string& episode_start = pending->core.episode_start;
    for (size_t row = 0; row < episode_start.size(); ++row) {
      if (episode_start[row] != 0) std::fill_n(block + row * width, width, 0.f);
    }
  }
}

void InferenceBatcher::ScatterCoreStates(const std::vector<Pending*>& served, int width) {
  const float* next = batch_states_.data();
  for (const Pending* pending : served) {
    std::vector<float>& values = pending->core_states->values;
    std::copy(next, next + values.size(), values.begin());
    next += values.size();
  }
}

}  // namespace rill::learner
