// AdmissionQueue: the callers of one table that the rate limiter holds back,
// queued instead of each holding a thread. The replay service's callback
// reactors hand it each insert request and each sample batch with a
// completion callback; the queue stores / draws them through Table's
// non-blocking attempts (a deadline in the past: what the limiter admits now,
// the rest on a later attempt) and calls back once a request is complete or
// has failed.
//
// Order: each side (inserts, samples) is served in arrival order. Only the
// head of a side is attempted, so a later request never overtakes an earlier
// one that is still blocked, and blocked writers are admitted first come,
// first served (the sync service admitted them in whatever order the
// limiter's condition variable woke them).
//
// Wake-ups: the queue is the table's change listener (Table::
// SetChangeListener): after any insert, sample, restore or Close — its own
// attempts or a direct call on the table — it re-attempts the waiting heads.
// No timer and no polling. Deadlines are the calls' own: gRPC cancels a call
// whose deadline passes, and its reactor then Cancel()s its entry.
//
// Who runs attempts: the thread that enqueues or cancels pumps the queue
// until no side makes progress; a thread arriving while another pumps leaves
// the work to it (the pumper loops once more), so attempts on one table run
// one at a time and in order. The pumper runs the completed entries'
// callbacks after it stopped pumping, so that another thread can attempt
// meanwhile: one busy stream's thread does not end up running every
// stream's callbacks (their serialization and writes) alone.
//
// Blocked time: while a side's head is blocked the side counts as blocked in
// the table's stats (Table::SetWaiting), as a blocked Table::Insert does.
//
// Thread-safety: thread-safe. Callbacks run on the thread whose attempt
// completed them, never with the queue's mutex held; they must not block.
// Callbacks of different entries may run at the same time on different
// threads. A caller must not hold
// a lock that a callback takes while it calls Insert / Sample / Cancel.
#ifndef RILL_REPLAY_ADMISSION_QUEUE_H_
#define RILL_REPLAY_ADMISSION_QUEUE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "proto/replay.pb.h"
#include "replay/encoded_insert.h"
#include "replay/rate_limiter.h"
#include "replay/table.h"

namespace rill::replay {

class AdmissionQueue {
 public:
  using Done = std::function<void(absl::Status)>;

  // `table` outlives the queue; the queue becomes its change listener
  // (call before the table is shared between threads).
  explicit AdmissionQueue(Table* table);
  // Ends waiting entries (their callbacks run with Cancelled) and stops
  // listening to the table.
  ~AdmissionQueue();

  AdmissionQueue(const AdmissionQueue&) = delete;
  AdmissionQueue& operator=(const AdmissionQueue&) = delete;

  // Queues `request`, which Table::Prepare readied for the table, for storing;
  // `owner` names the entry for Cancel (one entry per owner at a time).
  // `done` is called once: Ok with `stored_keys` listing the request's keys
  // (as Table::Insert fills it), or the table's error (Cancelled after
  // Table::Close), or
  // the status given to Drain / Close. `request` and `stored_keys` stay
  // owned by the caller and must live until `done` runs or Cancel returns.
  // `done` may run before Insert returns, on this thread.
  void Insert(const void* owner, const EncodedInsert* request, std::vector<uint64_t>* stored_keys, Done done)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Queues one batch of `batch_size` items drawn into `out` (empty); the
  // rest as Insert says, with Table::Sample's errors.
  void Sample(const void* owner, int batch_size, v1::SampleResponse* out, Done done) ABSL_LOCKS_EXCLUDED(mu_);

  // Removes `owner`'s entry. True: it was still queued and its callback will
  // never run. False: there was none, or it completed and its callback has
  // run or is about to run. Waits for an attempt in progress on that entry
  // (one non-blocking table call), so that afterwards the queue no longer
  // touches the entry's buffers.
  bool Cancel(const void* owner) ABSL_LOCKS_EXCLUDED(mu_);

  // From now on a request that cannot complete at once ends with `status`
  // instead of waiting, waiting ones included (the shard is draining).
  void Drain(absl::Status status) ABSL_LOCKS_EXCLUDED(mu_);

  // Entries waiting per side (the head included), for tests and Info.
  int64_t waiting_inserts() const ABSL_LOCKS_EXCLUDED(mu_);
  int64_t waiting_samples() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    const void* owner = nullptr;
    // Insert side.
    const EncodedInsert* request = nullptr;
    std::vector<uint64_t>* stored_keys = nullptr;
    // Sample side.
    int batch_size = 0;
    v1::SampleResponse* out = nullptr;
    Done done;
    // Items stored / drawn by the last attempt: progress shows as growth.
    int64_t progress = 0;
  };
  using Side = RateLimiter::Side;
  struct Completion {
    Done done;
    absl::Status status;
  };

  void Enqueue(Side side, std::unique_ptr<Entry> entry) ABSL_LOCKS_EXCLUDED(mu_);
  // The table's change listener: pumps, unless this thread is the one
  // pumping (its own attempt changed the table; it looks again anyway).
  void OnTableChanged() ABSL_LOCKS_EXCLUDED(mu_);
  // Attempts heads until neither side progresses; runs the callbacks.
  void Pump() ABSL_LOCKS_EXCLUDED(mu_);
  // Takes the pumper's role; false (and the pumper loops once more) if
  // another thread has it.
  bool BecomePumper() ABSL_LOCKS_EXCLUDED(mu_);
  // One attempt at `side`'s head; true if it stored / drew anything or
  // completed. Appends the completed entry's callback to `completions`.
  bool Step(Side side, std::vector<Completion>* completions) ABSL_LOCKS_EXCLUDED(mu_);
  std::deque<std::unique_ptr<Entry>>& queue(Side side) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return side == Side::kInsert ? inserts_ : samples_;
  }
  // Ends the side's blocked time if it had begun and the side is now empty.
  void UpdateWaitingLocked(Side side) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Table* const table_;

  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<Entry>> inserts_ ABSL_GUARDED_BY(mu_);
  std::deque<std::unique_ptr<Entry>> samples_ ABSL_GUARDED_BY(mu_);
  // The entry a pumping thread is attempting, outside mu_ (a head).
  const Entry* attempting_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool pumping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread::id pumper_ ABSL_GUARDED_BY(mu_);  // while pumping_
  bool pump_again_ ABSL_GUARDED_BY(mu_) = false;  // work arrived while pumping
  bool insert_waiting_ ABSL_GUARDED_BY(mu_) = false;  // Table::SetWaiting(kInsert, true) in effect
  bool sample_waiting_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status drain_status_ ABSL_GUARDED_BY(mu_);  // ok unless draining
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_ADMISSION_QUEUE_H_
