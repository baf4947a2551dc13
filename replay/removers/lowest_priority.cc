#include "replay/removers/lowest_priority.h"

#include "common/logging.h"

namespace rill::replay {

LowestPriorityRemover::LowestPriorityRemover(int64_t capacity) : slots_(capacity) {}

LowestPriorityRemover::Entry LowestPriorityRemover::EntryOf(int64_t slot) const {
  return Entry{slots_[slot].priority, slots_[slot].sequence, slot};
}

void LowestPriorityRemover::Insert(int64_t slot, double priority) {
  if (slots_[slot].present) RILL_LOG(FATAL) << "slot " << slot << " inserted twice";
  slots_[slot] = SlotState{true, priority, next_sequence_++};
  order_.insert(EntryOf(slot));
}

void LowestPriorityRemover::Remove(int64_t slot) {
  if (!slots_[slot].present) RILL_LOG(FATAL) << "slot " << slot << " removed but not present";
  order_.erase(EntryOf(slot));
  slots_[slot].present = false;
}

void LowestPriorityRemover::Update(int64_t slot, double priority) {
  if (!slots_[slot].present) RILL_LOG(FATAL) << "slot " << slot << " updated but not present";
  order_.erase(EntryOf(slot));
  slots_[slot].priority = priority;
  order_.insert(EntryOf(slot));
}

int64_t LowestPriorityRemover::Victim() const { return std::get<2>(*order_.begin()); }

}  // namespace rill::replay
