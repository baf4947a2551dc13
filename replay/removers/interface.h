// ItemRemover: which item a full Table evicts to make room for a new one.
// Like an ItemSelector it is told which slots hold an item and with what
// priority, and answers one question: "which slot goes next". The table
// removes that slot from the selector and the remover alike. Implementations:
// fifo.h (oldest first), fifo_ring.h (oldest first, for tables whose items
// leave only that way) and lowest_priority.h (smallest priority first).
//
// Not thread-safe: the owning Table calls it under its own mutex.
#ifndef RILL_REPLAY_REMOVERS_INTERFACE_H_
#define RILL_REPLAY_REMOVERS_INTERFACE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace rill::replay {

class ItemRemover {
 public:
  virtual ~ItemRemover() = default;

  // `slot` now holds an item with `priority`. Never called for a slot that
  // already holds one.
  virtual void Insert(int64_t slot, double priority) = 0;
  // `slot` no longer holds an item (evicted, or sampled max_times_sampled times).
  virtual void Remove(int64_t slot) = 0;
  // The priority of an occupied slot changed (ignored by removers that do
  // not look at priorities).
  virtual void Update(int64_t slot, double priority) = 0;
  // The slot to evict next. Only called when size() > 0.
  virtual int64_t Victim() const = 0;

  // Whether AppendOldestFirst lists the slots in insertion order: a table
  // whose remover does needs no insertion numbers of its own for checkpoints.
  virtual bool keeps_insertion_order() const { return false; }
  // Appends every occupied slot to `out`, oldest first, when
  // keeps_insertion_order(); otherwise appends nothing.
  virtual void AppendOldestFirst(std::vector<int64_t>* /*out*/) const {}

  virtual int64_t size() const = 0;
  // The config's name for it ("fifo").
  virtual std::string name() const = 0;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_REMOVERS_INTERFACE_H_
