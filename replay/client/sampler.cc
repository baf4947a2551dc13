#include "replay/client/sampler.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"
#include "common/backoff.h"
#include "common/grpc_status.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "replay/client/client_errors.h"

namespace rill::replay {
namespace {

// A stream that lived this long worked: its end restarts the backoff.
constexpr absl::Duration kHealthyStream = absl::Seconds(2);

}  // namespace

absl::StatusOr<std::unique_ptr<ReplaySampler>> ReplaySampler::Create(const SamplerOptions& options) {
  if (options.addresses.empty()) return absl::InvalidArgumentError("SamplerOptions.addresses is empty");
  for (const std::string& address : options.addresses) {
    if (address.empty()) return absl::InvalidArgumentError("SamplerOptions.addresses has an empty address");
  }
  if (options.table.empty()) return absl::InvalidArgumentError("SamplerOptions.table is empty");
  if (options.batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("SamplerOptions.batch_size ", options.batch_size, " must be >= 1"));
  }
  if (options.prefetch_batches < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("SamplerOptions.prefetch_batches ", options.prefetch_batches, " must be >= 1"));
  }
  if (options.shard_patience < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("SamplerOptions.shard_patience must be >= 0");
  }
  if (options.probe_timeout <= absl::ZeroDuration() || options.probe_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("SamplerOptions.probe_timeout and probe_interval must be > 0");
  }
  std::unique_ptr<ReplaySampler> sampler(new ReplaySampler(options));
  for (int i = 0; i < static_cast<int>(options.addresses.size()); ++i) {
    sampler->threads_.emplace_back([s = sampler.get(), i] { s->ShardLoop(i); });
  }
  // A fixed window needs no round trip.
  if (options.max_prefetch_bytes > 0) sampler->threads_.emplace_back([s = sampler.get()] { s->ProbeLoop(); });
  return sampler;
}

ReplaySampler::ReplaySampler(const SamplerOptions& options) : options_(options), shards_(options.addresses.size()) {
  LinkWindowOptions window;
  window.min_batches = options.prefetch_batches;
  window.max_batches = options.prefetch_batches;  // until the first batch's size is known
  for (ShardState& shard : shards_) shard.window = LinkWindow(window);
  for (const std::string& address : options.addresses) {
    channels_.push_back(MakeChannel(address, options.max_message_bytes));
    stubs_.push_back(v1::ReplayService::NewStub(channels_.back()));
  }
}

ReplaySampler::~ReplaySampler() {
  Close();
  for (std::thread& thread : threads_) thread.join();
}

void ReplaySampler::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  for (grpc::ClientContext* context : open_calls_) context->TryCancel();
}

int64_t ReplaySampler::reconnects() const {
  absl::MutexLock lock(&mu_);
  return reconnects_;
}

int ReplaySampler::shards_up() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(std::count_if(shards_.begin(), shards_.end(), [](const ShardState& s) { return s.up; }));
}

std::vector<SamplerShardStats> ReplaySampler::shard_stats() const {
  absl::MutexLock lock(&mu_);
  std::vector<SamplerShardStats> stats;
  for (size_t i = 0; i < shards_.size(); ++i) {
    const ShardState& state = shards_[i];
    stats.push_back({options_.addresses[i], state.up, state.table_size, state.batches, state.downs,
                     state.window.batches(), state.window.round_trip()});
  }
  return stats;
}

std::string ReplaySampler::DescribeShard(int shard) const {
  return absl::StrCat("replay sampler for table '", options_.table, "': replay shard ", shard, " at ",
                      options_.addresses[shard]);
}

bool ReplaySampler::PickableLocked(int shard) const {
  const ShardState& state = shards_[shard];
  // A batch already delivered makes a shard pickable whatever its size: a
  // queue (fifo) table is often empty right after handing out a batch.
  return state.up && !state.starved && (state.table_size > 0 || !state.ready.empty());
}

double ReplaySampler::WeightLocked(int shard) const {
  const ShardState& state = shards_[shard];
  return static_cast<double>(std::max<int64_t>(state.table_size, state.ready.empty() ? 0 : 1));
}

int ReplaySampler::PickShardLocked() {
  double total = 0;
  for (int i = 0; i < static_cast<int>(shards_.size()); ++i) {
    if (PickableLocked(i)) total += WeightLocked(i);
  }
  if (total <= 0) return -1;
  double point = absl::Uniform(rng_, 0.0, total);
  int last = -1;
  for (int i = 0; i < static_cast<int>(shards_.size()); ++i) {
    if (!PickableLocked(i)) continue;
    last = i;
    point -= WeightLocked(i);
    if (point < 0) return i;
  }
  return last;  // rounding
}

std::unique_ptr<v1::SampleResponse> ReplaySampler::TakeLocked(int shard, int* shard_out) {
  if (shard_out != nullptr) *shard_out = shard;
  ShardState& state = shards_[shard];
  std::unique_ptr<v1::SampleResponse> batch = std::move(state.ready.front());
  state.ready.pop_front();
  ++state.batches;
  state.window.AddDelivered(1, absl::Now());
  return batch;
}

absl::StatusOr<std::unique_ptr<v1::SampleResponse>> ReplaySampler::Next(absl::Duration timeout, int* shard_out) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (true) {
    if (!error_.ok()) return error_;
    if (closed_) return absl::CancelledError("the replay sampler is closed");
    const int shard = PickShardLocked();
    if (shard >= 0) {
      if (!shards_[shard].ready.empty()) return TakeLocked(shard, shard_out);
      auto arrived = [this, shard]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return closed_ || !error_.ok() || !shards_[shard].ready.empty() || !shards_[shard].up;
      };
      mu_.AwaitWithDeadline(absl::Condition(&arrived),
                            std::min(deadline, absl::Now() + options_.shard_patience));
      if (!error_.ok() || closed_) continue;
      if (!shards_[shard].ready.empty()) return TakeLocked(shard, shard_out);
      // It missed its turn: skip it until it delivers again.
      if (shards_[shard].up) shards_[shard].starved = true;
    } else {
      // No shard has a known size (or all are starved or down): wait for
      // the first batch from any.
      auto any = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        if (closed_ || !error_.ok()) return true;
        for (int i = 0; i < static_cast<int>(shards_.size()); ++i) {
          if (PickableLocked(i)) return true;
        }
        return false;
      };
      mu_.AwaitWithDeadline(absl::Condition(&any), deadline);
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("no batch of table '", options_.table, "' from ",
                                                      options_.addresses.size(), " replay shard(s) within ",
                                                      absl::FormatDuration(timeout)));
    }
  }
}

std::optional<int> ReplaySampler::QueueBatch(int shard, std::unique_ptr<v1::SampleResponse> batch,
                                             size_t outstanding) {
  absl::MutexLock lock(&mu_);
  ShardState& state = shards_[shard];
  if (!state.window_capped) {
    state.window_capped = true;
    const int64_t batch_bytes = std::max<int64_t>(1, static_cast<int64_t>(batch->ByteSizeLong()));
    state.window.SetMaxBatches(static_cast<int>(std::min<int64_t>(options_.max_prefetch_bytes / batch_bytes, 1 << 20)));
  }
  state.table_size = batch->table_size();
  state.starved = false;
  state.ready.push_back(std::move(batch));
  // Credits plus queued batches stay within the window. With credits still
  // out, their batches will wake the stream's thread; with none, it waits
  // here for the learner to make room.
  auto room = [this, shard, outstanding]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || outstanding > 0 ||
           shards_[shard].ready.size() < static_cast<size_t>(shards_[shard].window.batches());
  };
  mu_.Await(absl::Condition(&room));
  if (closed_) return std::nullopt;
  return state.window.batches() - static_cast<int>(state.ready.size() + outstanding);
}

absl::Status ReplaySampler::RunStream(int shard) {
  // A shard that went away before its stream connected (or never came up)
  // is down like one whose stream broke; wait_for_ready below would wait
  // for it forever, and it would never be reported.
  if (!channels_[shard]->WaitForConnected(absl::ToChronoTime(absl::Now() + options_.probe_timeout))) {
    return absl::UnavailableError(
        absl::StrCat("not connected within ", absl::FormatDuration(options_.probe_timeout)));
  }
  grpc::ClientContext context;
  // Wait for a (re)starting shard, and send the call's metadata with the
  // first request so that opening never blocks.
  context.set_wait_for_ready(true);
  context.set_initial_metadata_corked(true);
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::CancelledError("closed");
    open_calls_.insert(&context);
  }
  std::unique_ptr<grpc::ClientReaderWriter<v1::SampleRequest, v1::SampleResponse>> stream =
      stubs_[shard]->Sample(&context);
  v1::SampleRequest request;
  request.set_table(options_.table);
  request.set_batch_size(options_.batch_size);
  {
    absl::MutexLock lock(&mu_);
    request.set_num_batches(shards_[shard].window.batches());
  }
  // When each outstanding credit was granted, oldest first: the server
  // answers credits in order.
  std::deque<absl::Time> asked_at(static_cast<size_t>(request.num_batches()), absl::Now());
  bool open = stream->Write(request);
  v1::SampleRequest credit;
  while (open) {
    auto batch = std::make_unique<v1::SampleResponse>();
    if (!stream->Read(batch.get())) break;
    if (!asked_at.empty()) {
      if (options_.on_batch_latency) options_.on_batch_latency(absl::Now() - asked_at.front());
      asked_at.pop_front();
    }
    const std::optional<int> grant = QueueBatch(shard, std::move(batch), asked_at.size());
    if (!grant.has_value()) {
      context.TryCancel();
      break;
    }
    if (*grant <= 0) continue;
    credit.set_num_batches(*grant);
    asked_at.insert(asked_at.end(), static_cast<size_t>(*grant), absl::Now());
    open = stream->Write(credit);
  }
  if (!open) {
    // The write side broke; drain what the server still sent so that Finish
    // reports its status.
    v1::SampleResponse ignored;
    while (stream->Read(&ignored)) {
    }
  }
  const absl::Status status = FromGrpcStatus(stream->Finish());
  absl::MutexLock lock(&mu_);
  open_calls_.erase(&context);
  return status;
}

void ReplaySampler::MarkDownLocked(int shard, const absl::Status& why) {
  ShardState& state = shards_[shard];
  if (!state.up) return;
  RILL_LOG(WARNING) << DescribeShard(shard) << " is down (" << why.ToString() << "); dropping its "
                    << state.ready.size() << " queued batches and sampling the other shards until it is back";
  state.up = false;
  state.starved = false;
  state.ready.clear();
  // Unknown until its first batch after it returns: not picked before.
  state.table_size = -1;
  state.down_since = absl::Now();
  ++state.downs;
}

void ReplaySampler::ProbeLoop() {
  while (true) {
    std::vector<int> up;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&closed_), options_.probe_interval);
      if (closed_) return;
      for (int i = 0; i < static_cast<int>(shards_.size()); ++i) {
        if (shards_[i].up) up.push_back(i);
      }
    }
    for (int i : up) {
      const absl::StatusOr<absl::Duration> round_trip = TimedHealthCheck(*channels_[i], options_.probe_timeout);
      if (!round_trip.ok()) continue;
      absl::MutexLock lock(&mu_);
      shards_[i].window.AddRoundTrip(*round_trip, absl::Now());
    }
  }
}

void ReplaySampler::ShardLoop(int shard) {
  Backoff backoff;
  while (true) {
    const absl::Time started = absl::Now();
    const absl::Status status = RunStream(shard);
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return;
      if (IsPermanentStreamError(status)) {
        const absl::Status error(status.code(), absl::StrCat(DescribeShard(shard), ": ", status.message()));
        RILL_LOG(ERROR) << error.ToString();
        if (error_.ok()) error_ = error;
        return;
      }
      MarkDownLocked(shard, status);
      ++reconnects_;
      // A stream that worked for a while restarts the backoff.
      if (absl::Now() - started > kHealthyStream) backoff.Reset();
    }
    // Health-check the shard, with backoff, until it answers; then reopen.
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(&closed_), backoff.Next());
        if (closed_) return;
      }
      const absl::Status health = CheckHealth(*channels_[shard], options_.probe_timeout);
      if (!health.ok()) continue;
      absl::MutexLock lock(&mu_);
      if (closed_) return;
      ShardState& state = shards_[shard];
      state.up = true;
      RILL_LOG(INFO) << DescribeShard(shard) << " is back after " << absl::FormatDuration(absl::Now() - state.down_since)
                     << "; sampling it again";
      break;
    }
  }
}

}  // namespace rill::replay
