// ReplayWriter: how an actor writes items to a sharded replay table. Items
// are copied into batches of `batch_items` and sent over one long-lived
// Insert stream per shard; a reader thread per shard takes the server's
// acknowledgements. At most a window of batches per shard wait for
// acknowledgement: past that, Append blocks (backpressure from the shard's
// rate limiter reaches the actor here). The window is max_in_flight_batches,
// or more on a long link: it grows to the link's bandwidth-delay product,
// measured with health checks (link_window.h), up to max_in_flight_bytes.
//
// Each item gets a key: key_prefix (the actor id) in the high 24 bits, a
// sequence number in the low 40. If a stream breaks (the shard restarted,
// the network dropped), the writer reopens it and resends every batch still
// unacknowledged by that shard with the SAME keys, so a batch the shard had
// already stored is acknowledged again, not stored twice. A permanent error
// from a server (a signature mismatch, an unknown table: see
// client_errors.h) is not retried; it is returned by the next Append /
// Flush, and by every later one.
//
// Sharding and failover. The writer's home shard is key_prefix mod
// addresses.size(), so an actor always writes to the same shard while it is
// up. A shard is DOWN when its stream breaks, or when it has held a batch
// unacknowledged for `ack_timeout` and then fails a health check within
// `probe_timeout` (a stopped or hung process; a shard that answers its
// health check but holds acks back is applying backpressure and stays up).
// While the current shard is down, newly sealed batches go to the next shard
// that is up (home+1, home+2, ... mod S), and so do batches that had not yet
// been written to the down shard. Batches that WERE written to it stay bound
// to it: it may have stored them without its ack reaching us, and resending
// them elsewhere would store them twice once it returns with its data (a
// durable shard keeps them). They are resent to it, idempotently, when it
// returns. Only after `rebind_grace` with the shard still down are they
// moved to the current shard, with a warning that a duplicate is possible.
// A down shard is health-checked every `probe_interval`; once it answers
// (or acknowledges a batch) it is up again, and the home shard, once up,
// becomes the current shard again.
//
// The streams have no gRPC deadline (they live as long as the actor); every
// blocking method has its own timeout instead, and the channel's keepalive
// detects a dead peer.
//
// Thread-safety: all methods are thread-safe; Append calls from several
// threads interleave whole Appends. Internal threads (a sender and an ack
// reader per shard, one monitor) run until destruction; the destructor drops
// unflushed items (call Flush first) and joins them.
#ifndef RILL_REPLAY_CLIENT_WRITER_H_
#define RILL_REPLAY_CLIENT_WRITER_H_

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
#include "grpcpp/grpcpp.h"
#include "proto/replay.grpc.pb.h"
#include "proto/tensor.pb.h"
#include "replay/client/link_window.h"

namespace rill::replay {

struct WriterOptions {
  // HOST:PORT of every shard of the run, in shard order (shard i at [i]).
  std::vector<std::string> addresses;
  std::string table;
  // The table's signature; Append takes one pointer per column, in this order.
  v1::Signature signature;
  int batch_items = 64;
  // Per shard: batches sent to one shard and not yet acknowledged by it, at
  // least (the window's floor)...
  int max_in_flight_batches = 8;
  // ...and at most, in bytes, as the window grows to the link's
  // bandwidth-delay product; <= a floor's worth: a fixed window.
  int64_t max_in_flight_bytes = 0;
  // The actor id, < 2^24: the high 24 bits of every key; it also picks the
  // home shard (key_prefix mod the number of shards).
  uint64_t key_prefix = 0;
  int64_t max_message_bytes = kDefaultMaxMessageBytes;
  // How long Append waits for room among the in-flight batches.
  absl::Duration rpc_timeout = absl::Seconds(30);
  // Sequence number of the first item (the low 40 bits of its key). < 0:
  // microseconds since the Unix epoch, so that a restarted actor with the
  // same id does not reuse the keys of items the shard still holds.
  int64_t first_sequence = -1;

  // Failover (see the file comment). A shard that has not acknowledged a
  // sent batch for ack_timeout is health-checked with probe_timeout; down
  // shards are probed every probe_interval; batches bound to a shard that
  // stays down for rebind_grace move to the current shard.
  absl::Duration ack_timeout = absl::Seconds(5);
  absl::Duration probe_timeout = absl::Seconds(1);
  absl::Duration probe_interval = absl::Milliseconds(500);
  absl::Duration rebind_grace = absl::Seconds(60);

  // Called with every batch's round trip, from its write to the stream to
  // its acknowledgement (what a dashboard's client-side Insert latency
  // shows); may be empty. Called with the writer's lock held: keep it cheap
  // (a histogram's Observe).
  std::function<void(absl::Duration)> on_ack_latency;
};

// What an actor exports after each step, read under one lock.
struct WriterStats {
  int64_t failovers = 0;
  absl::Duration blocked;
  int current_shard = 0;
  int window_batches = 0;
};

class ReplayWriter {
 public:
  static constexpr int kSequenceBits = 40;
  static constexpr int kKeyPrefixBits = 24;

  // InvalidArgument for bad options (no address or an empty one, empty
  // table, bad signature, batch_items or max_in_flight_batches < 1,
  // key_prefix >= 2^24, a batch larger than max_message_bytes, a timeout or
  // interval <= 0). Does not wait for the shards: the first batches wait in
  // flight until the home shard is reachable.
  static absl::StatusOr<std::unique_ptr<ReplayWriter>> Create(const WriterOptions& options);

  ReplayWriter(const ReplayWriter&) = delete;
  ReplayWriter& operator=(const ReplayWriter&) = delete;
  ~ReplayWriter();

  // Copies `num_items` items: column_data[c] points at num_items contiguous
  // items of signature column c (row-major, little-endian). Each completed
  // batch of batch_items items is handed to the current shard's sender.
  // Takes all items or none: blocks up to rpc_timeout until the batches it
  // completes fit within the current shard's max_in_flight_batches, else
  // DeadlineExceeded and nothing is taken (call again). InvalidArgument for
  // a wrong number of columns; a server's permanent error (InvalidArgument,
  // NotFound, ...) once one arrived.
  absl::Status Append(const std::vector<const void*>& column_data, int num_items)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Sends the pending partial batch and waits until every item appended so
  // far is acknowledged by some shard. DeadlineExceeded after `timeout`
  // (nothing is lost: the writer keeps retrying; batches bound to a down
  // shard wait for it, or for rebind_grace), or a permanent error.
  absl::Status Flush(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  // Flush for as long as the shards keep acknowledging: a shard may hold
  // items back for its rate limiter, admitting them only as fast as the
  // learner samples (at 20 updates per env step, the batches two actors
  // keep in flight take the learner half a minute), which is progress, not
  // a fault. DeadlineExceeded, as Flush's, once a whole `idle_timeout`
  // passes without an acknowledgement; a permanent error at once.
  absl::Status FlushWhileAcknowledged(absl::Duration idle_timeout) ABSL_LOCKS_EXCLUDED(mu_);

  // Items acknowledged, over all shards and per shard.
  int64_t acked_items() const ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<int64_t> acked_items_by_shard() const ABSL_LOCKS_EXCLUDED(mu_);
  // Times a stream was reopened after it broke.
  int64_t reconnects() const ABSL_LOCKS_EXCLUDED(mu_);
  // Time Append spent waiting for room in a window (backpressure: a rate
  // limiter, a slow link, a shard out of reach).
  absl::Duration blocked() const ABSL_LOCKS_EXCLUDED(mu_);
  // Times the current shard changed because it went down.
  int64_t failovers() const ABSL_LOCKS_EXCLUDED(mu_);
  // Batches moved off a shard after rebind_grace (possible duplicates).
  int64_t rebound_batches() const ABSL_LOCKS_EXCLUDED(mu_);
  // The shard new batches go to, and the home shard.
  int current_shard() const ABSL_LOCKS_EXCLUDED(mu_);
  int home_shard() const { return home_; }
  // Whether shard i is considered up.
  bool shard_up(int shard) const ABSL_LOCKS_EXCLUDED(mu_);
  // The current shard's window (batches in flight before Append waits) and
  // the round trip it was sized from (zero before the first probe).
  int window_batches() const ABSL_LOCKS_EXCLUDED(mu_);
  absl::Duration round_trip() const ABSL_LOCKS_EXCLUDED(mu_);
  // failovers, blocked, current_shard and window_batches at once.
  WriterStats stats() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  using Batch = v1::InsertRequest;
  // One Insert call. Shared by the threads that read and write it.
  struct Stream {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReaderWriter<v1::InsertRequest, v1::InsertResponse>> rw;
  };
  // The mutable state of one shard (all of it guarded by mu_, through
  // shards_).
  struct ShardState {
    // Batches bound to this shard, not yet acknowledged, oldest first; the
    // sender reads a batch while it writes it, hence shared.
    std::deque<std::shared_ptr<const Batch>> in_flight;
    // in_flight[0, sent) were written to the current stream; [0, ever_sent)
    // to some stream of this shard (they stay bound to it). sent <= ever_sent.
    size_t sent = 0;
    size_t ever_sent = 0;
    // When in_flight[i] was written to the current stream, for i < sent.
    std::deque<absl::Time> sent_at;
    std::shared_ptr<Stream> stream;
    // Bumped whenever `stream` is replaced or abandoned: acks read from an
    // older stream are ignored.
    uint64_t generation = 0;
    bool up = true;
    // Since when the oldest sent batch has awaited its ack (InfiniteFuture:
    // none is awaited).
    absl::Time waiting_since = absl::InfiniteFuture();
    absl::Time down_since = absl::InfinitePast();
    int64_t acked_items = 0;
    // Batches in flight before Append waits.
    LinkWindow window;
    // A batch went out since the last round-trip probe.
    bool sent_since_probe = false;
  };

  ReplayWriter(const WriterOptions& options, std::vector<int64_t> column_bytes, int64_t batch_bytes);

  std::shared_ptr<Stream> OpenStream(int shard);
  void SenderLoop(int shard) ABSL_LOCKS_EXCLUDED(mu_);
  void ReaderLoop(int shard) ABSL_LOCKS_EXCLUDED(mu_);
  // Health checks stale and down shards; rebinds batches past the grace.
  void MonitorLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Moves the batches of shards down for rebind_grace to the current shard.
  void RebindLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleAck(int shard, uint64_t generation, const v1::InsertResponse& response) ABSL_LOCKS_EXCLUDED(mu_);
  void MarkDownLocked(int shard, const std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkUpLocked(int shard, const std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves in_flight[from_index, end) of `from` to the current shard.
  void MoveBatchesLocked(int from, size_t from_index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the pending batch to the current shard's in-flight queue.
  void SealPendingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits until `num_batches` more batches fit in flight on the current
  // shard; DeadlineExceeded.
  absl::Status WaitForRoomLocked(int num_batches, absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  size_t TotalInFlightLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string Describe() const;
  std::string DescribeShard(int shard) const;

  const WriterOptions options_;
  const std::vector<int64_t> column_bytes_;  // bytes of one item, per column
  const int home_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;  // per shard, immutable
  std::vector<std::unique_ptr<v1::ReplayService::Stub>> stubs_;

  mutable absl::Mutex mu_;
  std::vector<ShardState> shards_ ABSL_GUARDED_BY(mu_);
  int current_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Batch> pending_ ABSL_GUARDED_BY(mu_);  // nullptr when empty
  int pending_items_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_);
  int64_t acked_items_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t reconnects_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failovers_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t rebound_batches_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration blocked_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);  // sticky permanent error
  bool closed_ ABSL_GUARDED_BY(mu_) = false;

  std::vector<std::thread> threads_;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_CLIENT_WRITER_H_
