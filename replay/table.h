// Table: one named replay table of a shard. Items have a fixed signature
// (column names, dtypes, per-item shapes) and live in preallocated COLUMNAR
// storage: one contiguous byte buffer per column with room for `capacity`
// items, so that storing an item is one memcpy per column and a sampled batch
// is a gather straight into the response's column buffers.
//
// Items occupy numbered slots, taken from a free list. An ItemSelector
// (selectors/: uniform, prioritized, fifo) decides which occupied slots are
// sampled; an ItemRemover (removers/: fifo, lowest_priority) decides which
// item a full table evicts for a new one; a RateLimiter decides when inserts
// and samples may proceed. Every item has a writer-chosen key; key -> slot
// lets a retried insert be acknowledged again without storing the item twice.
// An item also leaves once it has been sampled max_times_sampled times.
//
// Priorities: an item inserted without one gets the largest priority given
// so far (by an insert or an update; 1 before any), as in Schaul et al., so
// that new experience is sampled soon.
//
// A FIFO table (selector "fifo") is a queue for on-policy data: every item is
// handed out once (max_times_sampled 1, oldest first) and Sample takes a
// whole batch at once: it blocks until the table holds batch_size items and
// the rate limiter admits batch_size samples, so a batch never mixes a stale
// partial draw with later items and a deadline never consumes items. When it
// is full the remover evicts the oldest unsampled item, so actors never
// block; for a blocking queue (Reverb's Queue) give it a rate limiter with
// samples_per_insert 1 and error_buffer = max_size - min_size_to_sample.
//
// Compressed columns (config `compression`, column_codec.h): Prepare
// compresses each item of such a column once, on the caller's thread and
// outside the lock; the table keeps each item's frame in an allocation of
// its own, counts the bytes it holds as stored (Info, Stats, max_bytes) and
// decompresses a sampled batch after releasing the lock, so that the lock
// is held only for copies of compressed bytes. With a compressed column,
// max_bytes bounds those bytes (the remover evicts until a new item fits;
// an item larger than max_bytes on its own is still stored, alone) and
// capacity() is max_size.
//
// Columns that share planes (config `share_planes`, plane_pool.h): the
// table keeps, per item, the ids of its planes in a PlanePool that holds
// each distinct plane once, for all such columns together. Storing an item
// looks its planes up (hashed outside the lock by Prepare, matched byte for
// byte under it), a sampled item is copied plane by plane into the batch,
// and an item that leaves releases its planes. Info, Stats and max_bytes
// count each distinct plane once; capacity() is max_size, as with
// compression.
//
// Durability (replay/durability/checkpoint.h, replay/durability/wal.h): Snapshot copies the items
// and counters under the lock with block memcpys, so that a checkpoint pauses
// the table only for that copy; RestoreItems / RestoreCounters / ReplayInsert
// rebuild a table at start-up without waiting on the rate limiter.
//
// Thread-safety: all public methods are thread-safe. Insert and Sample block
// (on mu_, via the rate limiter's conditions) until they can proceed, their
// deadline passes (DeadlineExceeded) or Close() is called (Cancelled). With
// a deadline in the past they never wait: they store / draw what the rate
// limiter admits now and say DeadlineExceeded if that was not everything,
// which is how replay/admission_queue.h queues blocked callers without a
// thread each (the replay service's callback reactors).
#ifndef RILL_REPLAY_TABLE_H_
#define RILL_REPLAY_TABLE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/bit_gen_ref.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/config.pb.h"
#include "proto/replay.pb.h"
#include "proto/tensor.pb.h"
#include "replay/column_codec.h"
#include "replay/encoded_insert.h"
#include "replay/key_index.h"
#include "replay/plane_pool.h"
#include "replay/rate_limiter.h"
#include "replay/removers/interface.h"
#include "replay/selectors/interface.h"

namespace rill::replay {

// A point-in-time copy of a table's counters, for metrics.
struct TableStats {
  int64_t size = 0;
  int64_t bytes = 0;  // payload as stored: compressed columns compressed
  int64_t items_inserted = 0;
  int64_t items_sampled = 0;
  int64_t items_evicted = 0;
  absl::Duration insert_blocked;
  absl::Duration sample_blocked;
};

// A copy of a table's items and counters, taken by Table::Snapshot for a
// checkpoint. Rows are either a block copy of slots [0, num_rows) (free slots
// included, with sequence 0) or the occupied slots gathered densely,
// whichever is smaller to copy; `order` lists the rows that hold an item,
// oldest first, so that a restore rebuilds the FIFO order of the selector and
// remover (and the insertion-order tie-break of the lowest-priority remover).
struct TableSnapshot {
  int64_t num_rows = 0;
  std::vector<int64_t> column_item_bytes;          // signature order, as sampled (uncompressed)
  // num_rows * column_item_bytes[c] each; null for a compressed column.
  std::vector<std::unique_ptr<char[]>> columns;
  // Per column, for a compressed one: its codec, each row's stored bytes
  // back to back (a free row holds none) and where row r's begin
  // (num_rows + 1 offsets). Empty strings and offsets for a column stored
  // as is.
  std::vector<Codec> codecs;
  std::vector<std::string> stored;
  std::vector<std::vector<uint64_t>> stored_offsets;
  // Columns that share planes: per column, each row's plane ids
  // (item_bytes / plane_bytes of them; empty for another column), and the
  // planes they name, each once: `plane_ids` ascending and their bytes back
  // to back in `planes`, plane_bytes each. plane_bytes 0: no such column.
  std::vector<std::vector<uint32_t>> row_planes;
  int64_t plane_bytes = 0;
  std::vector<uint32_t> plane_ids;
  std::string planes;
  // Payload bytes of the items as stored (compressed columns compressed,
  // shared planes once).
  int64_t bytes = 0;
  std::vector<uint64_t> keys;                      // per row
  // Per row: insertion number, 0 for a free slot; empty when the remover
  // gave `order` itself.
  std::vector<uint64_t> sequence;
  std::vector<int32_t> times_sampled;              // per row
  std::vector<double> priorities;                  // per row; empty for a table without priorities
  std::vector<int64_t> order;                      // rows holding an item, oldest first
  double default_priority = 1.0;
  // Rate-limiter counters.
  int64_t inserts = 0;
  int64_t samples = 0;
  int64_t deletes = 0;
  // How long Snapshot held the table's lock: the pause inserts and samples saw.
  absl::Duration pause;

  int64_t size() const { return static_cast<int64_t>(order.size()); }
};

// Consecutive items of a checkpoint, oldest first, as Table::RestoreItems
// takes them. Pointers stay owned by the caller.
struct RestoredItems {
  int64_t count = 0;
  const uint64_t* keys = nullptr;
  const int32_t* times_sampled = nullptr;
  const double* priorities = nullptr;  // nullptr: the table has no priorities
  // Signature order: count * column item bytes each, or for a column of a
  // compressing codec (codecs[c]; none when `codecs` is empty) each item's
  // frame back to back, item i sizes[c][i] bytes long.
  std::vector<const char*> columns;
  std::vector<Codec> codecs;
  std::vector<const uint32_t*> sizes;  // per column; nullptr for one stored as is
  // Per column (empty: none): for a column the checkpoint kept in shared
  // planes, each item's plane ids back to back, as the checkpoint numbered
  // them (Table::RestorePlanes got those planes first); nullptr for
  // another. Such a column has no entry in `columns` that is read.
  std::vector<const uint32_t*> plane_ids;
};

class Table {
 public:
  // Most items one Sample may ask for, and most payload bytes one batch may hold.
  static constexpr int kMaxSampleBatchSize = 1 << 20;
  static constexpr int64_t kMaxSampleBytes = int64_t{1} << 30;

  // Unset priority_exponent (alpha) and importance_sampling_exponent (beta).
  static constexpr double kDefaultPriorityExponent = 0.6;
  static constexpr double kDefaultImportanceSamplingExponent = 0.4;

  // Builds the table from a finalized config (experiment/config.h). InvalidArgument
  // naming the field for a bad signature, max_size, max_bytes, rate limiter,
  // compression, an unknown selector or remover, a combination that cannot work
  // (lowest_priority remover without the prioritized selector, a fifo
  // selector with max_times_sampled > 1, exponents on a table without
  // priorities) or an exponent out of range; ResourceExhausted when the
  // storage cannot be allocated.
  static absl::StatusOr<std::unique_ptr<Table>> Create(const v1::TableConfig& config);

  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  const std::string& name() const { return name_; }
  const v1::Signature& signature() const { return signature_; }
  // Items the table holds at most: max_size, lowered by max_bytes if set
  // and no column is compressed.
  int64_t capacity() const { return capacity_; }
  // Payload bytes of one item, all columns, uncompressed (as sampled).
  int64_t item_bytes() const { return item_bytes_; }
  // Per column, signature order: how the table stores it.
  const std::vector<ColumnCodec>& codecs() const { return codecs_; }

  // Stores the request's items, oldest evicted first when full (Prepare,
  // then InsertPrepared, on a copy of a request for a table that
  // compresses). Validates the whole request before storing anything:
  // InvalidArgument naming the column or field (column count, dtype, shape,
  // data size, key count, a key twice in the request, priorities count /
  // NaN / negative), and then nothing is stored. Items whose key the table already holds (a retried batch) are
  // acknowledged without being stored again. Admits the other items in chunks
  // as the rate limiter allows, waiting on mu_ in between: DeadlineExceeded
  // once `deadline` passes, Cancelled after Close(). `stored_keys` receives,
  // in request order, the keys now in the table; on DeadlineExceeded or
  // Cancelled it lists the items stored so far (calling again with the same
  // request finishes the job).
  absl::Status Insert(const v1::InsertRequest& request, absl::Time deadline,
                      std::vector<uint64_t>* stored_keys) ABSL_LOCKS_EXCLUDED(mu_);
  // The checks Insert makes before storing anything (InvalidArgument as
  // Insert says), without the lock.
  absl::Status ValidateInsert(const v1::InsertRequest& request) const;
  // ValidateInsert, then readies the request for InsertPrepared: takes its
  // contents into `out` by swapping (`request` is left to be read into
  // again) and compresses the items of the compressed columns, the costly
  // part of storing them, here on the caller's thread and outside the lock.
  // A caller that queues requests (the replay service) prepares each once,
  // refusing a bad one at once, and logs the prepared form. InvalidArgument
  // as Insert says; Internal if a codec fails.
  absl::Status Prepare(v1::InsertRequest* request, EncodedInsert* out) const;
  // Insert for a request that Prepare readied for this table: an admission
  // queue may attempt a blocked request many times.
  absl::Status InsertPrepared(const EncodedInsert& request, absl::Time deadline,
                              std::vector<uint64_t>* stored_keys) ABSL_LOCKS_EXCLUDED(mu_);

  // Fills `out` with `batch_size` items drawn by the selector (with
  // replacement unless max_times_sampled removes them), columns of shape
  // [batch_size, ...], their keys, probabilities and importance weights
  // (w_i = (N * P(i))^-beta / max_j w_j over the batch, N the table size;
  // all 1 without priorities). Draws item by item as the rate limiter
  // allows, waiting in between: DeadlineExceeded once `deadline` passes,
  // Cancelled after Close(). On those errors `out` keeps the items drawn so
  // far (they count as sampled); passing the same `out` again completes that
  // batch, so a caller that waits in short slices loses nothing. A FIFO
  // table draws the whole batch at once instead (see above). InvalidArgument
  // for batch_size <= 0, above kMaxSampleBatchSize or kMaxSampleBytes, above
  // the capacity of a FIFO table, or an `out` holding a different partial batch.
  // DataLoss naming the column and key if a compressed item does not
  // decompress (storage damaged in memory: stored items were checked).
  absl::Status Sample(int batch_size, absl::Time deadline, v1::SampleResponse* out)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Sets the priorities of the listed keys still in the table and ignores
  // the others (evicted meanwhile); `updated` counts the keys it set.
  // Unimplemented for a selector without priorities (uniform, fifo);
  // InvalidArgument for mismatched counts or a NaN / infinite / negative
  // priority, naming its index and key, and then nothing is changed.
  absl::Status UpdatePriorities(const v1::UpdatePrioritiesRequest& request, int64_t* updated)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Calls `listener` (outside mu_, on the caller's thread) after every
  // Insert, Sample, ReplayInsert, RestoreItems and Close: the calls that may
  // let a blocked caller proceed. An AdmissionQueue re-examines its waiting
  // requests there. Set it before the table is shared between threads; one
  // listener at most (nullptr removes it).
  void SetChangeListener(std::function<void()> listener) { change_listener_ = std::move(listener); }

  // Blocked-time bookkeeping for callers that wait outside the table (an
  // admission queue): between SetWaiting(side, true) and SetWaiting(side,
  // false) `side` counts as blocked in Info / Stats, as a blocked Insert or
  // Sample does. Calls must pair up.
  void SetWaiting(RateLimiter::Side side, bool waiting) ABSL_LOCKS_EXCLUDED(mu_);

  // Draws every later sample from a generator seeded with `seed` instead of
  // the process's entropy: the same inserts and samples then draw the same
  // items (`rill launch --deterministic`).
  void SeedSampling(uint64_t seed) ABSL_LOCKS_EXCLUDED(mu_);

  // Wakes every blocked Insert and Sample with Cancelled; later calls fail
  // the same way. Stored items stay readable through Info. Idempotent.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  v1::TableInfo Info() const ABSL_LOCKS_EXCLUDED(mu_);
  TableStats Stats() const ABSL_LOCKS_EXCLUDED(mu_);

  // Copies every item (payload, key, priority, times sampled, insertion
  // order) and the counters for a checkpoint. The lock is held only for
  // block copies into buffers allocated and touched beforehand; sorting the
  // rows into insertion order happens after it is released. Blocks on mu_
  // (behind at most one Insert / Sample chunk). Never fails; ResourceExhausted
  // is not caught: a snapshot needs as much memory as the items it copies.
  TableSnapshot Snapshot() const ABSL_LOCKS_EXCLUDED(mu_);

  // Start-up restore of a checkpoint: stores `items` in the given order after
  // those stored before, without the rate limiter and without counting them
  // (RestoreCounters sets the counters last). Keys already held are skipped.
  // Items of a codec other than the table's are converted; compressed ones
  // are checked by decompressing them. InvalidArgument if the column count
  // differs from the signature; DataLoss naming the column and key of an
  // item that does not decompress to its column's size.
  absl::Status RestoreItems(const RestoredItems& items) ABSL_LOCKS_EXCLUDED(mu_);
  // Start-up restore of a checkpoint's shared planes, before the items that
  // name them: `count` planes of `plane_bytes` each, back to back in
  // `bytes`, numbered `ids` by the checkpoint. The table holds them (in its
  // pool when it shares planes of that size, as copies otherwise) until
  // EndPlaneRestore, so that RestoreItems may name them in any chunk.
  // DataLoss for an id given twice.
  absl::Status RestorePlanes(const uint32_t* ids, const char* bytes, int64_t count, int64_t plane_bytes)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Lets go of the planes RestorePlanes held: those no restored item holds
  // leave.
  void EndPlaneRestore() ABSL_LOCKS_EXCLUDED(mu_);
  // Sets the rate limiter's counters and the default priority of a restored
  // checkpoint. DataLoss if inserts - deletes differs from the items held
  // (the checkpoint contradicts itself).
  absl::Status RestoreCounters(double default_priority, int64_t inserts, int64_t samples, int64_t deletes)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Start-up replay of a write-ahead-log record (EncodedInsert::
  // ParseLogRecord): Insert without the rate limiter, deadline or Close
  // (evicting as a full table does). Validates as Insert does
  // (InvalidArgument, nothing stored); converts columns of another codec
  // and checks compressed ones by decompressing them (DataLoss naming the
  // column and key, nothing stored); held keys are skipped.
  absl::Status ReplayInsert(EncodedInsert* record) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // One stored item of a compressed column: its frame, allocated on its own.
  struct StoredItem {
    std::unique_ptr<char[]> bytes;
    uint32_t size = 0;
  };
  struct Column {
    v1::ColumnSpec spec;
    int64_t item_bytes = 0;  // uncompressed
    ColumnCodec codec;
    // Sharing planes: planes per item, and capacity * planes ids (slot s's
    // from s * planes), left uninitialized as `data` is. 0 and null otherwise.
    int64_t planes = 0;
    std::unique_ptr<uint32_t[]> plane_ids;
    // Stored as is: capacity * item_bytes bytes, left uninitialized so that
    // untouched pages of a large table are not committed. Compressed: null.
    std::unique_ptr<char[]> data;
    // Compressed: one per slot (empty for a free one). Stored as is: empty.
    std::vector<StoredItem> items;
  };
  // Compressed items drawn under the lock, decompressed into their rows of
  // the batch after it is released.
  struct DrawnFrames {
    struct Frame {
      int column = 0;
      int row = 0;
      size_t offset = 0;  // in bytes
      uint32_t size = 0;
      uint64_t key = 0;
    };
    std::string bytes;
    std::vector<Frame> frames;
    void clear() {
      bytes.clear();
      frames.clear();
    }
  };

  Table(const v1::TableConfig& config, int64_t capacity, int64_t item_bytes,
        std::vector<Column> columns, RateLimiter limiter, std::unique_ptr<ItemSelector> selector,
        std::unique_ptr<ItemRemover> remover, int32_t max_times_sampled,
        double importance_sampling_exponent);

  // InsertPrepared and Sample without telling the change listener.
  absl::Status InsertUnnotified(const EncodedInsert& request, absl::Time deadline,
                                std::vector<uint64_t>* stored_keys) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status SampleUnnotified(int batch_size, absl::Time deadline, v1::SampleResponse* out)
      ABSL_LOCKS_EXCLUDED(mu_);
  // SampleUnnotified's draws under the lock: uncompressed columns straight
  // into `out`, compressed items' frames into `frames`.
  absl::Status DrawLocked(int batch_size, absl::Time deadline, v1::SampleResponse* out, DrawnFrames* frames)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Decompresses `frames` into their rows of `out`; DataLoss naming the
  // column and key of one that does not decompress.
  absl::Status DecompressFrames(const DrawnFrames& frames, v1::SampleResponse* out) const;
  // The checks ValidateInsert and ReplayInsert share: item count, duplicate
  // keys, priorities (not the columns).
  absl::Status ValidateKeys(const v1::InsertRequest& request) const;
  void NotifyChanged() const {
    if (change_listener_) change_listener_();
  }
  // Readies an empty `out` for `batch_size` items, or checks that a partial
  // batch from an earlier call matches.
  absl::Status PrepareSampleResponse(int batch_size, v1::SampleResponse* out) const;

  // Waits until `num_items` items of `side` may proceed; Cancelled /
  // DeadlineExceeded.
  absl::Status WaitLocked(RateLimiter::Side side, int64_t num_items, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether `num_items` items may be sampled now (a FIFO table also needs
  // that many stored), and why not in words.
  bool CanSampleLocked(int64_t num_items) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string SampleBlockedReasonLocked(int64_t num_items) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores item `index` of the prepared request, evicting the remover's
  // victims if full.
  void StoreLocked(const EncodedInsert& request, int index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A free slot for a new item of `stored_bytes` (as stored), evicting the
  // remover's victims while the table is full or, with max_bytes over
  // compressed columns, while the item does not fit.
  int64_t TakeSlotLocked(int64_t stored_bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The bytes the table holds as stored: stored_bytes_ and the shared planes.
  int64_t StoredBytesLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stored_bytes_ + (planes_ != nullptr ? planes_->bytes() : 0);
  }
  // Appends to plane_scratch_ the ids of the planes of `item`, an item of
  // shared column `column`, each acquired (one more reference). `hashes`:
  // their PlanePool hashes, or null to compute them here.
  void AcquirePlanesLocked(size_t column, const char* item, const uint64_t* hashes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives `slot` the ids in plane_scratch_ (the shared columns' in column
  // order) and empties it.
  void PlacePlanesLocked(int64_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Copies the planes of shared column `column`'s item in `slot` to `to`.
  void CopyPlanesLocked(size_t column, int64_t slot, char* to) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A plane RestorePlanes holds, by the checkpoint's id; null if none.
  const char* RestoredPlaneLocked(uint32_t id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Copies `stored`, an item of compressed column `column`, into `slot`.
  void PutFrameLocked(size_t column, int64_t slot, std::string_view stored) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records that `slot`, its payload copied, now holds `key`.
  void IndexSlotLocked(int64_t slot, uint64_t key, double priority, int32_t times_sampled)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Draws one item into the next row of `out` (its compressed columns into
  // `frames`), removing it if it reached max_times_sampled.
  void SampleOneLocked(v1::SampleResponse* out, DrawnFrames* frames) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Draws `num_items` items into the next rows of `out` (and `frames`), for
  // tables whose items stay after sampling: all draws first, then one
  // gather with the rows prefetched.
  void SampleManyLocked(int64_t num_items, v1::SampleResponse* out, DrawnFrames* frames)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Frees an occupied slot (eviction or max_times_sampled).
  void RemoveLocked(int64_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fills out->importance_weights for its complete batch.
  void SetImportanceWeights(v1::SampleResponse* out) const;
  // Copies slot `slot` into row `row` of the prepared `out`, its compressed
  // columns' frames into `frames`.
  void GatherLocked(int64_t slot, int row, v1::SampleResponse* out, DrawnFrames* frames) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Copies compressed column `c`'s frame of `slot` into `frames` for `row`.
  void DrawFrameLocked(size_t c, int64_t slot, int row, DrawnFrames* frames) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string ClosedMessage() const;
  // Most samples a FIFO table's rate limiter can ever admit at once.
  static int64_t LargestAdmittedBatch(const v1::RateLimiterConfig& config);
  static std::vector<int64_t> ColumnItemBytes(const std::vector<Column>& columns);
  static std::vector<ColumnCodec> ColumnCodecs(const std::vector<Column>& columns);
  static std::vector<int64_t> ColumnPlanes(const std::vector<Column>& columns);

  const std::string name_;
  const v1::Signature signature_;
  const int64_t capacity_;
  const int64_t item_bytes_;
  const std::vector<int64_t> column_item_bytes_;  // per column, signature order
  const std::vector<ColumnCodec> codecs_;          // per column, signature order
  const bool compresses_;                          // some column is compressed
  const bool shares_planes_;                       // some column shares planes
  const std::vector<int64_t> column_planes_;       // per column: planes per item if shared, else 0
  const int64_t shared_plane_bytes_;               // bytes per shared plane; 0 without
  // Bytes per item of the columns stored as is.
  const int64_t plain_item_bytes_;
  // max_bytes when some column is compressed or shares planes (then a bound
  // on StoredBytesLocked(), not on capacity_); 0 otherwise.
  const int64_t max_stored_bytes_;
  const int32_t max_times_sampled_;                // 0: unlimited
  const double importance_sampling_exponent_;     // beta
  const bool takes_whole_batches_;                 // a FIFO queue
  const int64_t limiter_admits_at_most_;           // LargestAdmittedBatch
  const bool has_priorities_;                      // the selector's uses_priorities()
  std::function<void()> change_listener_;          // set before sharing

  mutable absl::Mutex mu_;
  std::vector<Column> columns_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> slot_keys_ ABSL_GUARDED_BY(mu_);  // key of each occupied slot
  KeyIndex key_index_ ABSL_GUARDED_BY(mu_);               // key -> slot, over slot_keys_
  // Of each occupied slot; empty without max_times_sampled.
  std::vector<int32_t> times_sampled_ ABSL_GUARDED_BY(mu_);
  // Insertion number of each slot's item (1, 2, ...), 0 for a free slot:
  // the insertion order a checkpoint keeps. Only kept (keeps_sequence_) when
  // the remover does not know that order itself (the lowest_priority one).
  const bool keeps_sequence_;
  std::vector<uint64_t> slot_sequence_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  // Priority of each occupied slot; empty for a table without priorities.
  std::vector<double> priorities_ ABSL_GUARDED_BY(mu_);
  // One past the highest slot ever used: slots are handed out low first, so
  // a snapshot copies [0, high_water_).
  int64_t high_water_ ABSL_GUARDED_BY(mu_) = 0;
  // Slots freed below high_water_ (a stack); empty while items only arrive
  // or are evicted for new ones, so it costs no memory in a full table.
  std::vector<int64_t> free_slots_ ABSL_GUARDED_BY(mu_);
  int64_t size_ ABSL_GUARDED_BY(mu_) = 0;
  // Payload bytes held, as stored; and per compressed column, its frames'
  // bytes (0 for a column stored as is).
  int64_t stored_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int64_t> frame_bytes_ ABSL_GUARDED_BY(mu_);
  // The distinct planes of the shared columns; null without one.
  std::unique_ptr<PlanePool> planes_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> plane_scratch_ ABSL_GUARDED_BY(mu_);  // AcquirePlanesLocked's ids
  // During a restore (RestorePlanes .. EndPlaneRestore): the checkpoint's
  // plane ids, to the pool's (each holding one reference) or to copies of
  // planes the table does not share.
  absl::flat_hash_map<uint32_t, uint32_t> restored_plane_ids_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint32_t, std::string> restored_plane_copies_ ABSL_GUARDED_BY(mu_);
  int64_t restored_plane_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Priority of items inserted without one: the largest given so far.
  double default_priority_ ABSL_GUARDED_BY(mu_) = 1.0;
  RateLimiter limiter_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ItemSelector> selector_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ItemRemover> remover_ ABSL_GUARDED_BY(mu_);
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
  // Set by SeedSampling; then drawn from instead of gen_.
  std::optional<std::mt19937_64> seeded_gen_ ABSL_GUARDED_BY(mu_);
  absl::BitGenRef Generator() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return seeded_gen_.has_value() ? absl::BitGenRef(*seeded_gen_) : absl::BitGenRef(gen_);
  }
  std::vector<Selection> draws_ ABSL_GUARDED_BY(mu_);  // SampleManyLocked's scratch
  std::vector<char*> gather_to_ ABSL_GUARDED_BY(mu_);  // SampleManyLocked's column destinations
  std::vector<int64_t> update_slots_ ABSL_GUARDED_BY(mu_);      // UpdatePriorities' scratch
  std::vector<double> update_priorities_ ABSL_GUARDED_BY(mu_);  // UpdatePriorities' scratch
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// Builds one empty table per config.tables() (InvalidArgument for a name
// used twice, otherwise as Table::Create).
absl::StatusOr<std::vector<std::unique_ptr<Table>>> CreateTables(const v1::ReplayConfig& config);

}  // namespace rill::replay

#endif  // RILL_REPLAY_TABLE_H_
