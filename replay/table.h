// Table: one named replay table of a shard. Items have a fixed signature
// (column names, dtypes, per-item shapes); their payload lives in an
// ItemStore (replay/item_store.h: preallocated columnar storage, codecs,
// shared planes), so that storing an item is one memcpy per column and a
// sampled batch is a gather straight into the response's column buffers.
// The table decides what the store holds where, and when: the slots, the
// keys, selection, eviction, priorities, rate limiting and waiting, all
// under its one mutex.
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
// outside the lock; the store keeps each item's frame in an allocation of
// its own, counts the bytes it holds as stored (Info, Stats, max_bytes) and
// decompresses a sampled batch after releasing the lock, so that the lock
// is held only for copies of compressed bytes. With a compressed column,
// max_bytes bounds those bytes (the remover evicts until a new item fits;
// an item larger than max_bytes on its own is still stored, alone) and
// capacity() is max_size.
//
// Columns that share planes (config `share_planes`, plane_pool.h): the
// store keeps, per item, the ids of its planes in a PlanePool that holds
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
#include "replay/item_store.h"
#include "replay/key_index.h"
#include "replay/rate_limiter.h"
#include "replay/removers/interface.h"
#include "replay/selectors/interface.h"
#include "replay/selectors/prioritized.h"
#include "replay/table_snapshot.h"

namespace rill::replay {

// A point-in-time copy of a table's counters, for metrics.
struct TableStats {
  int64_t size = 0;
  int64_t bytes = 0;  // payload as stored: compressed columns compressed
  int64_t items_inserted = 0;
  int64_t items_sampled = 0;
  int64_t items_evicted = 0;
  // Of items_inserted, those stored after ReleaseInserts (the run's stop):
  // past the rate limiter, so not learned from at its ratio.
  int64_t items_inserted_at_stop = 0;
  absl::Duration insert_blocked;
  absl::Duration sample_blocked;
};

class Table {
 public:
  // Most items one Sample may ask for, and most payload bytes one batch may hold.
  static constexpr int kMaxSampleBatchSize = 1 << 20;
  static constexpr int64_t kMaxSampleBytes = int64_t{1} << 30;

  // Unset priority_exponent (alpha) and importance_sampling_exponent (beta).
  static constexpr double kDefaultPriorityExponent = PrioritizedSelector::kDefaultPriorityExponent;
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
  int64_t item_bytes() const { return layout_.item_bytes(); }
  // Per column, signature order: how the table stores it.
  const std::vector<ColumnCodec>& codecs() const { return layout_.codecs(); }

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

  // Admits every insert from now on, past the rate limiter, and wakes the
  // inserts that wait for samples (RateLimiter::ReleaseInserts). Returns
  // whether inserts were held back: one could not be admitted now, one
  // waits, or one waited in the last 2 s (false once released).
  // Idempotent.
  bool ReleaseInserts() ABSL_LOCKS_EXCLUDED(mu_);

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
  Table(const v1::TableConfig& config, int64_t capacity, std::unique_ptr<ItemStore> store, RateLimiter limiter,
        std::unique_ptr<ItemSelector> selector, std::unique_ptr<ItemRemover> remover, int32_t max_times_sampled,
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
  void GatherLocked(int64_t slot, int row, v1::SampleResponse* out, DrawnFrames* frames)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Points gather_to_ at each column's data in `out`.
  void SetGatherTargetsLocked(v1::SampleResponse* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string ClosedMessage() const;
  // Most samples a FIFO table's rate limiter can ever admit at once.
  static int64_t LargestAdmittedBatch(const v1::RateLimiterConfig& config);

  const std::string name_;
  const v1::Signature signature_;
  const int64_t capacity_;
  // The items' payload. Its layout() is immutable and read without mu_
  // (layout_); everything else in it only under mu_.
  const std::unique_ptr<ItemStore> store_ ABSL_PT_GUARDED_BY(mu_);
  const ItemLayout& layout_;
  // max_bytes when some column is compressed or shares planes (then a bound
  // on the store's stored_bytes(), not on capacity_); 0 otherwise.
  const int64_t max_stored_bytes_;
  const int32_t max_times_sampled_;                // 0: unlimited
  const double importance_sampling_exponent_;     // beta
  const bool takes_whole_batches_;                 // a FIFO queue
  const int64_t limiter_admits_at_most_;           // LargestAdmittedBatch
  const bool has_priorities_;                      // the selector's uses_priorities()
  std::function<void()> change_listener_;          // set before sharing

  mutable absl::Mutex mu_;
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
  // Priority of items inserted without one: the largest given so far.
  double default_priority_ ABSL_GUARDED_BY(mu_) = 1.0;
  RateLimiter limiter_ ABSL_GUARDED_BY(mu_);
  // limiter_.inserts() when ReleaseInserts was first called; -1 before.
  int64_t inserts_at_release_ ABSL_GUARDED_BY(mu_) = -1;
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
