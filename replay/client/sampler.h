// ReplaySampler: how the learner reads batches from every replay shard. One
// thread per shard keeps a Sample stream open with `prefetch_batches`
// credits outstanding and puts each whole batch into that shard's bounded
// queue (capacity prefetch_batches), so the update loop finds a batch
// waiting whenever replay has data, and never waits on the network itself.
// A thread grants a new credit only once its batch is queued: a slow
// learner holds replay back instead of piling up memory.
//
// Proportions. Next picks a shard at random with probability proportional
// to its table size (the latest SampleResponse.table_size it sent), among
// the shards that are up, so that over many batches every stored item is
// about equally likely to be trained on, whichever shard holds it. If the
// picked shard has no batch queued, Next waits for it at most
// `shard_patience`; a shard that misses is skipped (starved) until its next
// batch arrives, so a rate-limited or stopped shard never stalls the learner
// for longer than that. A shard that has sent no batch yet has no known size
// and is not picked; while no shard is pickable, Next takes the first batch
// to arrive.
//
// Failures. A broken stream marks its shard down: logged once, its queued
// batches dropped, and not picked. (A shard's thread sees its stream break
// once it reads again, i.e. once its queue has room: a learner that keeps
// calling Next notices within prefetch_batches of that shard's batches.) Its thread then health-checks the shard
// with jittered backoff (100 ms doubling to 2 s: common/backoff.h) and, once it answers, logs that it
// is back, reopens the stream and picks it again. A permanent error
// (unknown table, bad batch size: see client_errors.h) is returned by Next.
//
// Streams carry no gRPC deadline (they live as long as the learner); Next
// has its own timeout and the channel's keepalive detects a dead peer.
//
// Thread-safety: all methods are thread-safe. The destructor closes and
// joins the threads.
#ifndef RILL_REPLAY_CLIENT_SAMPLER_H_
#define RILL_REPLAY_CLIENT_SAMPLER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/grpc_util.h"
#include "grpcpp/grpcpp.h"
#include "proto/replay.grpc.pb.h"
#include "replay/client/link_window.h"

namespace rill::replay {

struct SamplerOptions {
  std::vector<std::string> addresses;  // HOST:PORT of every shard
  std::string table;
  int batch_size = 256;
  // Credits plus queued batches per shard: at least (the window's floor)...
  int prefetch_batches = 8;
  // ...and at most, in bytes, as the window grows to the link's
  // bandwidth-delay product; <= a floor's worth: a fixed window.
  int64_t max_prefetch_bytes = 0;
  // How often each shard's round trip is measured, while the window may grow.
  absl::Duration probe_interval = absl::Milliseconds(500);
  int64_t max_message_bytes = kDefaultMaxMessageBytes;
  // Longest wait for the shard Next picked before it takes another one.
  absl::Duration shard_patience = absl::Milliseconds(20);
  // Deadline of the health check that decides whether a down shard is back.
  absl::Duration probe_timeout = absl::Seconds(1);
  // Called with every batch's round trip, from the credit that asked for it
  // to its arrival (what a dashboard's client-side Sample latency shows: it
  // includes the time the shard's rate limiter held the request); may be
  // empty. Called from the shard threads without the sampler's lock.
  std::function<void(absl::Duration)> on_batch_latency;
};

// One shard as the sampler sees it.
struct SamplerShardStats {
  std::string address;
  bool up = true;
  // Size of its table at its latest batch; -1 before its first batch.
  int64_t table_size = -1;
  // Batches Next returned from it.
  int64_t batches = 0;
  // Times it went down.
  int64_t downs = 0;
  // Credits plus queued batches it may have, and the round trip that was
  // sized from (zero before the first probe).
  int window_batches = 0;
  absl::Duration round_trip;
};

class ReplaySampler {
 public:
  // InvalidArgument for bad options (no address or an empty one, empty
  // table, batch_size or prefetch_batches < 1, shard_patience < 0 or
  // probe_timeout <= 0). Starts the threads; does not wait for the shards.
  static absl::StatusOr<std::unique_ptr<ReplaySampler>> Create(const SamplerOptions& options);

  ReplaySampler(const ReplaySampler&) = delete;
  ReplaySampler& operator=(const ReplaySampler&) = delete;
  ~ReplaySampler();

  // The next whole batch (batch_size items) from a shard picked as the file
  // comment says. Blocks up to `timeout`: DeadlineExceeded when none arrived
  // (replay is empty, rate limited or down), Cancelled after Close(), or a
  // shard's permanent error (NotFound, InvalidArgument, ...).
  // `shard_out`, when given, receives the index (in `addresses`) of the shard
  // the batch came from: priority updates for its keys go there.
  absl::StatusOr<std::unique_ptr<v1::SampleResponse>> Next(absl::Duration timeout, int* shard_out = nullptr)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Ends the streams and wakes a blocked Next with Cancelled. Idempotent.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  // Times a shard's stream was reopened after it broke.
  int64_t reconnects() const ABSL_LOCKS_EXCLUDED(mu_);
  // Shards currently up, and every shard's state (in shard order).
  int shards_up() const ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<SamplerShardStats> shard_stats() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct ShardState {
    std::deque<std::unique_ptr<v1::SampleResponse>> ready;
    bool up = true;
    // Missed its turn in Next with nothing queued; cleared by its next batch.
    bool starved = false;
    int64_t table_size = -1;
    int64_t batches = 0;
    int64_t downs = 0;
    absl::Time down_since;
    LinkWindow window;
    // The ceiling is set from the first batch's size.
    bool window_capped = false;
  };

  explicit ReplaySampler(const SamplerOptions& options);
  void ShardLoop(int shard) ABSL_LOCKS_EXCLUDED(mu_);
  // Times a health check of every shard that is up, for the windows.
  void ProbeLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Queues a batch that arrived on the shard's stream with `outstanding`
  // credits still out, waiting for room where none is out; returns the
  // credits to grant now (<= 0: none), nullopt once the sampler is closed.
  std::optional<int> QueueBatch(int shard, std::unique_ptr<v1::SampleResponse> batch, size_t outstanding)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Runs one Sample stream until it ends; returns how it ended.
  absl::Status RunStream(int shard) ABSL_LOCKS_EXCLUDED(mu_);
  // A shard picked with probability proportional to its table size among
  // those up, with a known size and not starved; -1 when there is none.
  int PickShardLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool PickableLocked(int shard) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The shard's weight when picking: its table size, at least 1 while it
  // has a delivered batch waiting.
  double WeightLocked(int shard) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::unique_ptr<v1::SampleResponse> TakeLocked(int shard, int* shard_out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkDownLocked(int shard, const absl::Status& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string DescribeShard(int shard) const;

  const SamplerOptions options_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;  // per shard, immutable
  std::vector<std::unique_ptr<v1::ReplayService::Stub>> stubs_;

  mutable absl::Mutex mu_;
  std::vector<ShardState> shards_ ABSL_GUARDED_BY(mu_);
  absl::BitGen rng_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);  // first permanent error, sticky
  // Contexts of the open streams, for Close to cancel.
  absl::flat_hash_set<grpc::ClientContext*> open_calls_ ABSL_GUARDED_BY(mu_);
  int64_t reconnects_ ABSL_GUARDED_BY(mu_) = 0;

  std::vector<std::thread> threads_;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_CLIENT_SAMPLER_H_
