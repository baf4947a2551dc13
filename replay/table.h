// Table: one named replay table of a shard. Items have a fixed signature
// (column names, dtypes, per-item shapes) and live in preallocated COLUMNAR
// storage: one contiguous byte buffer per column with room for `capacity`
// items, so that storing an item is one memcpy per column and a sampled batch
// is a gather straight into the response's column buffers.
//
// Slots are filled in a ring: the oldest item sits at `head_` and is the one
// evicted (O(1)) when a new item arrives at a full table. An ItemSelector
// (selectors/interface.h; uniform now) decides which occupied slots are
// sampled, and a RateLimiter decides when inserts and samples may proceed.
// Every item has a writer-chosen key; key -> slot lets a retried insert be
// acknowledged again without storing the item twice.
//
// Later extensions fit here: a prioritized or FIFO-queue selector replaces
// the UniformSelector (FIFO and max_times_sampled remove arbitrary slots:
// the ring then skips freed slots when evicting); a byte budget already
// bounds `capacity` (items have a fixed size); a checkpoint writes the column
// buffers of the occupied slots in ring order with their keys and the
// limiter's counters.
//
// Thread-safety: all public methods are thread-safe. Insert and Sample block
// (on mu_, via the rate limiter's conditions) until they can proceed, their
// deadline passes (DeadlineExceeded) or Close() is called (Cancelled). The
// caller runs one thread per blocked call: the replay service's sync gRPC
// handlers do.
#ifndef RILL_REPLAY_TABLE_H_
#define RILL_REPLAY_TABLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/config.pb.h"
#include "proto/replay.pb.h"
#include "proto/tensor.pb.h"
#include "replay/rate_limiter.h"
#include "replay/selectors/interface.h"

namespace rill::replay {

// A point-in-time copy of a table's counters, for metrics.
struct TableStats {
  int64_t size = 0;
  int64_t bytes = 0;
  int64_t items_inserted = 0;
  int64_t items_sampled = 0;
  int64_t items_evicted = 0;
  absl::Duration insert_blocked;
  absl::Duration sample_blocked;
};

class Table {
 public:
  // Most items one Sample may ask for, and most payload bytes one batch may hold.
  static constexpr int kMaxSampleBatchSize = 1 << 20;
  static constexpr int64_t kMaxSampleBytes = int64_t{1} << 30;

  // Builds the table from a finalized config (common/config.h). InvalidArgument
  // for a bad signature, max_size, max_bytes or rate limiter; Unimplemented
  // for a selector, remover or max_times_sampled this build does not have;
  // ResourceExhausted when the storage cannot be allocated.
  static absl::StatusOr<std::unique_ptr<Table>> Create(const v1::TableConfig& config);

  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  const std::string& name() const { return name_; }
  const v1::Signature& signature() const { return signature_; }
  // Items the table holds at most: max_size, lowered by max_bytes if set.
  int64_t capacity() const { return capacity_; }
  // Payload bytes of one item, all columns.
  int64_t item_bytes() const { return item_bytes_; }

  // Stores the request's items, oldest evicted first when full. Validates the
  // whole request before storing anything: InvalidArgument naming the column
  // or field (column count, dtype, shape, data size, key count, a key twice in
  // the request, priorities count / NaN / negative), and then nothing is
  // stored. Items whose key the table already holds (a retried batch) are
  // acknowledged without being stored again. Admits the other items in chunks
  // as the rate limiter allows, waiting on mu_ in between: DeadlineExceeded
  // once `deadline` passes, Cancelled after Close(). `stored_keys` receives,
  // in request order, the keys now in the table; on DeadlineExceeded or
  // Cancelled it lists the items stored so far (calling again with the same
  // request finishes the job).
  absl::Status Insert(const v1::InsertRequest& request, absl::Time deadline,
                      std::vector<uint64_t>* stored_keys) ABSL_LOCKS_EXCLUDED(mu_);

  // Fills `out` with `batch_size` items drawn by the selector (with
  // replacement), columns of shape [batch_size, ...], their keys and
  // probabilities. Draws in chunks as the rate limiter allows, waiting in
  // between: DeadlineExceeded once `deadline` passes, Cancelled after Close().
  // On those errors `out` keeps the items drawn so far (they count as
  // sampled); passing the same `out` again completes that batch, so a caller
  // that waits in short slices loses nothing. InvalidArgument for
  // batch_size <= 0, above kMaxSampleBatchSize or kMaxSampleBytes, or an `out`
  // holding a different partial batch.
  absl::Status Sample(int batch_size, absl::Time deadline, v1::SampleResponse* out)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Sets the priorities of the listed keys still in the table; `updated`
  // counts them. Unimplemented for a selector without priorities (uniform);
  // InvalidArgument for mismatched counts or a NaN / negative priority.
  absl::Status UpdatePriorities(const v1::UpdatePrioritiesRequest& request, int64_t* updated)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Wakes every blocked Insert and Sample with Cancelled; later calls fail
  // the same way. Stored items stay readable through Info. Idempotent.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  v1::TableInfo Info() const ABSL_LOCKS_EXCLUDED(mu_);
  TableStats Stats() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Column {
    v1::ColumnSpec spec;
    int64_t item_bytes = 0;
    // capacity * item_bytes bytes, left uninitialized so that untouched pages
    // of a large table are not committed.
    std::unique_ptr<char[]> data;
  };

  Table(const v1::TableConfig& config, int64_t capacity, int64_t item_bytes,
        std::vector<Column> columns, RateLimiter limiter, std::unique_ptr<ItemSelector> selector);

  // Checks everything Insert stores, without the lock (the signature is immutable).
  absl::Status ValidateInsert(const v1::InsertRequest& request) const;
  // Readies an empty `out` for `batch_size` items, or checks that a partial
  // batch from an earlier call matches.
  absl::Status PrepareSampleResponse(int batch_size, v1::SampleResponse* out) const;

  // Waits until one item of `side` may proceed; Cancelled / DeadlineExceeded.
  absl::Status WaitLocked(RateLimiter::Side side, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores item `index` of the validated request, evicting the oldest item if full.
  void StoreLocked(const v1::InsertRequest& request, int index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvictOldestLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Copies slot `slot` into row `row` of the prepared `out`.
  void GatherLocked(int64_t slot, int row, v1::SampleResponse* out) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string ClosedMessage() const;
  static std::vector<int64_t> ColumnItemBytes(const std::vector<Column>& columns);

  const std::string name_;
  const v1::Signature signature_;
  const int64_t capacity_;
  const int64_t item_bytes_;
  const std::vector<int64_t> column_item_bytes_;  // per column, signature order

  mutable absl::Mutex mu_;
  std::vector<Column> columns_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> slot_keys_ ABSL_GUARDED_BY(mu_);  // key of each occupied slot
  absl::flat_hash_map<uint64_t, int64_t> key_to_slot_ ABSL_GUARDED_BY(mu_);
  int64_t head_ ABSL_GUARDED_BY(mu_) = 0;  // slot of the oldest item
  int64_t size_ ABSL_GUARDED_BY(mu_) = 0;
  RateLimiter limiter_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ItemSelector> selector_ ABSL_GUARDED_BY(mu_);
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_TABLE_H_
