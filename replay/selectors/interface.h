// ItemSelector: how a Table picks the items it samples. A Table stores items
// in numbered slots (0 .. capacity-1) and tells its selector which slots hold
// an item and, for prioritized selectors, with what priority; the selector
// answers "which slot next, and with what probability". Implementations:
// uniform.h, prioritized.h (a sum tree over slots; implements Update) and
// fifo.h (answers the oldest slot). Which item leaves a full table is a
// separate choice, an ItemRemover (replay/removers/interface.h).
//
// Not thread-safe: the owning Table calls it under its own mutex.
#ifndef RILL_REPLAY_SELECTORS_INTERFACE_H_
#define RILL_REPLAY_SELECTORS_INTERFACE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"

namespace rill::replay {

// Selectors and removers keep per-slot bookkeeping as 32-bit indices, which
// halves their memory next to the items. A table has at most kMaxSlots
// slots (134 million items): the table's key index packs a slot in 27 bits.
using SlotIndex = int32_t;
inline constexpr int64_t kMaxSlots = (int64_t{1} << 27) - 2;

struct Selection {
  int64_t slot = -1;
  // Probability with which `slot` was drawn.
  double probability = 0;
};

class ItemSelector {
 public:
  virtual ~ItemSelector() = default;

  // `slot` now holds an item. Never called for a slot that already holds one.
  virtual void Insert(int64_t slot, double priority) = 0;
  // `slot` no longer holds an item.
  virtual void Remove(int64_t slot) = 0;
  // Changes the priority of an occupied slot; Unimplemented for selectors
  // without priorities.
  virtual absl::Status Update(int64_t slot, double priority) = 0;
  // Update for each of slots[0 .. n), which the caller knows to be occupied,
  // with priorities[0 .. n) already checked finite and >= 0. The same as n
  // Update calls, which is what it does unless a selector can do a batch
  // faster; stops at the first error.
  virtual absl::Status UpdateMany(const int64_t* slots, const double* priorities, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      absl::Status status = Update(slots[i], priorities[i]);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }
  // Draws one occupied slot. Only called when size() > 0.
  virtual Selection Sample(absl::BitGenRef gen) = 0;
  // Appends `n` independent draws (with replacement) to `out`: the same as
  // calling Sample n times, which is what it does unless a selector can
  // draw a batch faster. Only called when size() > 0.
  virtual void SampleMany(absl::BitGenRef gen, int64_t n, std::vector<Selection>* out) {
    for (int64_t i = 0; i < n; ++i) out->push_back(Sample(gen));
  }

  virtual int64_t size() const = 0;
  // Whether Update does anything (UpdatePriorities is rejected otherwise).
  virtual bool uses_priorities() const = 0;
  // Whether a sample waits for a whole batch: a queue hands each item out
  // once, oldest first, so the table admits a batch only when it holds all
  // of it (and refuses batches larger than it can ever hold).
  virtual bool takes_whole_batches() const = 0;
  // The config's name for it ("uniform"), reported by TableInfo.
  virtual std::string name() const = 0;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_SELECTORS_INTERFACE_H_
