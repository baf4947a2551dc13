// SlotList: the occupied slots of a table in insertion order, as a doubly
// linked list threaded through two arrays indexed by slot. Appending, taking
// the oldest and unlinking any slot are O(1) and allocate nothing, which is
// what the FIFO selector and the FIFO remover need when items also leave out
// of order (max_times_sampled, a lowest-priority remover).
//
// Not thread-safe: its owner calls it under the table's mutex.
#ifndef RILL_REPLAY_SELECTORS_SLOT_LIST_H_
#define RILL_REPLAY_SELECTORS_SLOT_LIST_H_

#include <cstdint>
#include <vector>

#include "common/logging.h"
#include "replay/selectors/interface.h"

namespace rill::replay {

class SlotList {
 public:
  static constexpr int64_t kNone = -1;

  // Slots are in [0, capacity), capacity <= kMaxSlots.
  explicit SlotList(int64_t capacity) : prev_(capacity, kAbsent), next_(capacity, kAbsent) {}

  // Appends `slot`, which must not be in the list, as the newest.
  void PushBack(int64_t slot) {
    if (contains(slot)) RILL_LOG(FATAL) << "slot " << slot << " added twice";
    prev_[slot] = static_cast<SlotIndex>(tail_);
    next_[slot] = static_cast<SlotIndex>(kNone);
    if (tail_ == kNone) {
      head_ = slot;
    } else {
      next_[tail_] = static_cast<SlotIndex>(slot);
    }
    tail_ = slot;
    ++size_;
  }

  // Unlinks `slot`, which must be in the list.
  void Erase(int64_t slot) {
    if (!contains(slot)) RILL_LOG(FATAL) << "slot " << slot << " removed but not present";
    const int64_t prev = prev_[slot];
    const int64_t next = next_[slot];
    if (prev == kNone) {
      head_ = next;
    } else {
      next_[prev] = static_cast<SlotIndex>(next);
    }
    if (next == kNone) {
      tail_ = prev;
    } else {
      prev_[next] = static_cast<SlotIndex>(prev);
    }
    prev_[slot] = next_[slot] = kAbsent;
    --size_;
  }

  // The oldest slot, or kNone when empty.
  int64_t front() const { return head_; }
  // Appends every slot in the list to `out`, oldest first.
  void AppendInOrder(std::vector<int64_t>* out) const {
    for (int64_t slot = head_; slot != kNone; slot = next_[slot]) out->push_back(slot);
  }
  bool contains(int64_t slot) const { return next_[slot] != kAbsent; }
  int64_t size() const { return size_; }

 private:
  static constexpr SlotIndex kAbsent = -2;
  // 32-bit to halve their memory (selectors/interface.h).
  std::vector<SlotIndex> prev_;  // slot -> older neighbour, kNone, or kAbsent
  std::vector<SlotIndex> next_;  // slot -> newer neighbour, kNone, or kAbsent
  int64_t head_ = kNone;
  int64_t tail_ = kNone;
  int64_t size_ = 0;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_SELECTORS_SLOT_LIST_H_
