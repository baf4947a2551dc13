// ReplayWriter: how an actor writes items to one replay shard's table. Items
// are copied into batches of `batch_items` and sent over ONE long-lived
// Insert stream; a reader thread takes the server's acknowledgements. At most
// `max_in_flight_batches` batches wait for acknowledgement: past that, Append
// blocks (backpressure from the shard's rate limiter reaches the actor here).
//
// Each item gets a key: key_prefix (the actor id) in the high 24 bits, a
// sequence number in the low 40. If the stream breaks (the shard restarted,
// the network dropped), the writer reopens it and resends every
// unacknowledged batch with the SAME keys, so a batch the shard had already
// stored is acknowledged again, not stored twice. A permanent error from the
// server (a signature mismatch, an unknown table: see client_errors.h) is not
// retried; it is returned by the next Append / Flush, and by every later one.
//
// The stream itself has no gRPC deadline (it lives as long as the actor);
// every blocking method has its own timeout instead, and the channel's
// keepalive detects a dead peer.
//
// Thread-safety: all methods are thread-safe; Append calls from several
// threads interleave whole Appends. Two internal threads (sender, ack
// reader) run until destruction; the destructor drops unflushed items (call
// Flush first) and joins them.
#ifndef RILL_REPLAY_WRITER_H_
#define RILL_REPLAY_WRITER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/replay.grpc.pb.h"
#include "proto/tensor.pb.h"

namespace rill::replay {

struct WriterOptions {
  std::string address;  // HOST:PORT of the shard
  std::string table;
  // The table's signature; Append takes one pointer per column, in this order.
  v1::Signature signature;
  int batch_items = 64;
  int max_in_flight_batches = 8;
  // The actor id, < 2^24: the high 24 bits of every key.
  uint64_t key_prefix = 0;
  int64_t max_message_bytes = 64 << 20;
  // How long Append waits for room among the in-flight batches.
  absl::Duration rpc_timeout = absl::Seconds(30);
  // Sequence number of the first item (the low 40 bits of its key). < 0:
  // microseconds since the Unix epoch, so that a restarted actor with the
  // same id does not reuse the keys of items the shard still holds.
  int64_t first_sequence = -1;
};

class ReplayWriter {
 public:
  static constexpr int kSequenceBits = 40;
  static constexpr int kKeyPrefixBits = 24;

  // InvalidArgument for bad options (empty address or table, bad signature,
  // batch_items or max_in_flight_batches < 1, key_prefix >= 2^24, a batch
  // larger than max_message_bytes). Does not wait for the shard: the first
  // batches wait in flight until it is reachable.
  static absl::StatusOr<std::unique_ptr<ReplayWriter>> Create(const WriterOptions& options);

  ReplayWriter(const ReplayWriter&) = delete;
  ReplayWriter& operator=(const ReplayWriter&) = delete;
  ~ReplayWriter();

  // Copies `num_items` items: column_data[c] points at num_items contiguous
  // items of signature column c (row-major, little-endian). Each completed
  // batch of batch_items items is handed to the sender. Takes all items or
  // none: blocks up to rpc_timeout until the batches it completes fit within
  // max_in_flight_batches, else DeadlineExceeded and nothing is taken (call
  // again). InvalidArgument for a wrong number of columns; the server's
  // permanent error (InvalidArgument, NotFound, ...) once one arrived.
  absl::Status Append(const std::vector<const void*>& column_data, int num_items)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Sends the pending partial batch and waits until every item appended so
  // far is acknowledged. DeadlineExceeded after `timeout` (nothing is lost:
  // the writer keeps retrying), or the server's permanent error.
  absl::Status Flush(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  // Items the shard has acknowledged.
  int64_t acked_items() const ABSL_LOCKS_EXCLUDED(mu_);
  // Times the stream was reopened after it broke.
  int64_t reconnects() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  using Batch = v1::InsertRequest;
  // One Insert call. Shared by the threads that read and write it.
  struct Stream {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReaderWriter<v1::InsertRequest, v1::InsertResponse>> rw;
  };

  ReplayWriter(const WriterOptions& options, std::vector<int64_t> column_bytes);

  std::shared_ptr<Stream> OpenStream();
  void SenderLoop() ABSL_LOCKS_EXCLUDED(mu_);
  void ReaderLoop() ABSL_LOCKS_EXCLUDED(mu_);
  void HandleAck(const v1::InsertResponse& response) ABSL_LOCKS_EXCLUDED(mu_);
  // Moves the pending batch to the in-flight queue.
  void SealPendingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits until `num_batches` more batches fit in flight; DeadlineExceeded.
  absl::Status WaitForRoomLocked(int num_batches, absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string Describe() const;

  const WriterOptions options_;
  const std::vector<int64_t> column_bytes_;  // bytes of one item, per column
  std::unique_ptr<v1::ReplayService::Stub> stub_;

  mutable absl::Mutex mu_;
  std::unique_ptr<Batch> pending_ ABSL_GUARDED_BY(mu_);  // nullptr when empty
  int pending_items_ ABSL_GUARDED_BY(mu_) = 0;
  // Sealed batches not yet acknowledged, oldest first; the sender reads a
  // batch while it writes it, hence shared.
  std::deque<std::shared_ptr<const Batch>> in_flight_ ABSL_GUARDED_BY(mu_);
  // in_flight_[0, sent_) have been written to the current stream.
  size_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<Stream> stream_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_);
  int64_t acked_items_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t reconnects_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);  // sticky permanent error
  bool closed_ ABSL_GUARDED_BY(mu_) = false;

  std::thread sender_;
  std::thread reader_;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_WRITER_H_
