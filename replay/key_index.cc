#include "replay/key_index.h"

#include "common/logging.h"

namespace rill::replay {

KeyIndex::KeyIndex(int64_t capacity, const uint64_t* slot_keys) : slot_keys_(slot_keys) {
  if (capacity < 0 || capacity > kMaxCapacity) RILL_LOG(FATAL) << "KeyIndex capacity " << capacity;
  // The smallest power of two with capacity <= 7/8 of it, at least 8.
  int bits = 3;
  while ((int64_t{1} << bits) * 7 < capacity * 8) ++bits;
  shift_ = 64 - bits;
  mask_ = (uint64_t{1} << bits) - 1;
  buckets_.assign(size_t{1} << bits, 0);
}

int64_t KeyIndex::Find(uint64_t key) const {
  const uint32_t tag = Tag(key);
  for (uint64_t i = Home(key);; i = (i + 1) & mask_) {
    const uint32_t entry = buckets_[i];
    if (entry == 0) return kNotFound;
    if ((entry & ~kSlotMask) != tag) continue;
    const int64_t slot = static_cast<int64_t>(entry & kSlotMask) - 1;
    if (slot_keys_[slot] == key) return slot;
  }
}

void KeyIndex::Insert(int64_t slot) {
  const uint64_t key = slot_keys_[slot];
  uint64_t i = Home(key);
  while (buckets_[i] != 0) i = (i + 1) & mask_;
  buckets_[i] = Tag(key) | static_cast<uint32_t>(slot + 1);
  ++size_;
}

bool KeyIndex::Erase(uint64_t key) {
  const uint32_t tag = Tag(key);
  uint64_t hole = Home(key);
  while (true) {
    const uint32_t entry = buckets_[hole];
    if (entry == 0) return false;
    if ((entry & ~kSlotMask) == tag && slot_keys_[(entry & kSlotMask) - 1] == key) break;
    hole = (hole + 1) & mask_;
  }
  // Shift back every later entry of the run that may move into the hole:
  // one whose home is not cyclically in (hole, j].
  for (uint64_t j = (hole + 1) & mask_; buckets_[j] != 0; j = (j + 1) & mask_) {
    const uint64_t home = Home(slot_keys_[(buckets_[j] & kSlotMask) - 1]);
    const bool home_in_gap = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (home_in_gap) continue;
    buckets_[hole] = buckets_[j];
    hole = j;
  }
  buckets_[hole] = 0;
  --size_;
  return true;
}

}  // namespace rill::replay
