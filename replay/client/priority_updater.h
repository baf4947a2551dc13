// PriorityUpdater: how the learner sends new priorities (|TD error| of each
// sampled transition) back to a prioritized table. An update must go to the
// shard its keys came from (ReplaySampler::Next says which); each shard has
// its own queue and the updates are sent by one background thread, so the
// update loop never waits on the network.
//
// Priorities are advice: a lost update only means an item keeps its older
// priority until it is sampled again. So Enqueue never blocks; once
// `max_pending` updates wait for a shard, the oldest is dropped and counted.
// A failed RPC (a shard restarting) is logged at most every few seconds and
// counted; keys evicted meanwhile are skipped by the shard.
//
// Thread-safety: all methods are thread-safe. The destructor sends nothing
// more and joins the thread (call Flush first to wait for the queue).
#ifndef RILL_REPLAY_CLIENT_PRIORITY_UPDATER_H_
#define RILL_REPLAY_CLIENT_PRIORITY_UPDATER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/grpc_util.h"
#include "proto/replay.grpc.pb.h"

namespace rill::replay {

struct PriorityUpdaterOptions {
  std::vector<std::string> addresses;  // HOST:PORT of every shard, sampler order
  std::string table;
  // Updates waiting per shard before the oldest is dropped.
  int max_pending = 64;
  absl::Duration rpc_timeout = absl::Seconds(5);
  int64_t max_message_bytes = kDefaultMaxMessageBytes;
  // Called with the latency of every UpdatePriorities call that succeeded,
  // from the sending thread; may be empty.
  std::function<void(absl::Duration)> on_rpc_latency;
};

struct PriorityUpdaterStats {
  int64_t sent = 0;          // UpdatePriorities calls that succeeded
  int64_t keys_updated = 0;  // keys the shards found and updated
  int64_t dropped = 0;       // updates dropped from a full queue
  int64_t failed = 0;        // calls that failed
};

class PriorityUpdater {
 public:
  // InvalidArgument for no address, an empty table or max_pending < 1.
  static absl::StatusOr<std::unique_ptr<PriorityUpdater>> Create(const PriorityUpdaterOptions& options);

  PriorityUpdater(const PriorityUpdater&) = delete;
  PriorityUpdater& operator=(const PriorityUpdater&) = delete;
  ~PriorityUpdater();

  // Queues new priorities for `keys` on shard `shard`. InvalidArgument for a
  // shard out of range or mismatched lengths; never blocks.
  absl::Status Enqueue(int shard, std::vector<uint64_t> keys, std::vector<double> priorities)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Waits until every queued update was sent or failed; DeadlineExceeded.
  absl::Status Flush(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  PriorityUpdaterStats stats() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Pending {
    int shard = 0;
    v1::UpdatePrioritiesRequest request;
  };

  explicit PriorityUpdater(const PriorityUpdaterOptions& options);
  void SendLoop() ABSL_LOCKS_EXCLUDED(mu_);

  const PriorityUpdaterOptions options_;
  std::vector<std::unique_ptr<v1::ReplayService::Stub>> stubs_;

  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);  // every shard's updates, oldest first
  std::vector<int> pending_per_shard_ ABSL_GUARDED_BY(mu_);
  bool sending_ ABSL_GUARDED_BY(mu_) = false;  // an update is out of the queue, on the wire
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  PriorityUpdaterStats stats_ ABSL_GUARDED_BY(mu_);
  absl::Time last_error_log_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  std::thread sender_;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_CLIENT_PRIORITY_UPDATER_H_
