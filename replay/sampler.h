// ReplaySampler: how the learner reads batches from every replay shard. One
// thread per shard keeps a Sample stream open with `prefetch_batches`
// credits outstanding and pushes each whole batch into one bounded queue
// (capacity prefetch_batches), so the update loop finds a batch waiting
// whenever replay has data, and never waits on the network itself. A thread
// grants a new credit only once its batch is queued: a slow learner holds
// replay back instead of piling up memory. A broken stream (a shard
// restarting) is reopened; a permanent error (unknown table, bad batch size:
// see client_errors.h) is returned by Next.
//
// Streams carry no gRPC deadline (they live as long as the learner); Next
// has its own timeout and the channel's keepalive detects a dead peer.
//
// Thread-safety: Next and Close are thread-safe. The destructor closes and
// joins the threads.
#ifndef RILL_REPLAY_SAMPLER_H_
#define RILL_REPLAY_SAMPLER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/queue.h"
#include "grpcpp/grpcpp.h"
#include "proto/replay.grpc.pb.h"

namespace rill::replay {

struct SamplerOptions {
  std::vector<std::string> addresses;  // HOST:PORT of every shard
  std::string table;
  int batch_size = 256;
  // Credits per shard stream, and the capacity of the batch queue.
  int prefetch_batches = 8;
  int64_t max_message_bytes = 64 << 20;
};

class ReplaySampler {
 public:
  // InvalidArgument for bad options (no address, empty table, batch_size or
  // prefetch_batches < 1). Starts the threads; does not wait for the shards.
  static absl::StatusOr<std::unique_ptr<ReplaySampler>> Create(const SamplerOptions& options);

  ReplaySampler(const ReplaySampler&) = delete;
  ReplaySampler& operator=(const ReplaySampler&) = delete;
  ~ReplaySampler();

  // The next whole batch (batch_size items) from any shard. Blocks up to
  // `timeout`: DeadlineExceeded when none arrived (replay is empty or rate
  // limited), Cancelled after Close(), or a shard's permanent error
  // (NotFound, InvalidArgument, ...).
  absl::StatusOr<std::unique_ptr<v1::SampleResponse>> Next(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  // Ends the streams and wakes a blocked Next with Cancelled. Idempotent.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  // Times a shard's stream was reopened after it broke.
  int64_t reconnects() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // A batch, or (batch == nullptr) a shard's permanent error.
  struct Item {
    std::unique_ptr<v1::SampleResponse> batch;
    absl::Status error;
  };

  explicit ReplaySampler(const SamplerOptions& options);
  void ShardLoop(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs one Sample stream until it ends; returns how it ended.
  absl::Status RunStream(v1::ReplayService::Stub& stub) ABSL_LOCKS_EXCLUDED(mu_);

  const SamplerOptions options_;
  // Batches, or a shard's permanent error, in arrival order.
  BlockingQueue<Item> queue_;

  mutable absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);  // first permanent error, sticky
  // Contexts of the open streams, for Close to cancel.
  absl::flat_hash_set<grpc::ClientContext*> open_calls_ ABSL_GUARDED_BY(mu_);
  int64_t reconnects_ ABSL_GUARDED_BY(mu_) = 0;

  std::vector<std::thread> threads_;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_SAMPLER_H_
