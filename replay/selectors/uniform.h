// UniformSelector: every stored item is drawn with probability 1 / size.
// Keeps the occupied slots in a dense array plus each slot's position in it,
// so Insert, Remove and Sample are O(1) whatever order items leave in.
// Not thread-safe (see interface.h).
#ifndef RILL_REPLAY_SELECTORS_UNIFORM_H_
#define RILL_REPLAY_SELECTORS_UNIFORM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "replay/selectors/interface.h"

namespace rill::replay {

class UniformSelector final : public ItemSelector {
 public:
  // Slots are in [0, capacity), capacity <= kMaxSlots.
  explicit UniformSelector(int64_t capacity);

  void Insert(int64_t slot, double priority) override;
  void Remove(int64_t slot) override;
  absl::Status Update(int64_t slot, double priority) override;
  Selection Sample(absl::BitGenRef gen) override;
  // One 64-bit draw per item, scaled to [0, size) by multiply-shift (the
  // bias is below size / 2^64, under 2^-32 for any table), instead of a
  // bounded-uniform call each: the draws are the replay lock's hot loop.
  void SampleMany(absl::BitGenRef gen, int64_t n, std::vector<Selection>* out) override;
  int64_t size() const override { return static_cast<int64_t>(slots_.size()); }
  bool uses_priorities() const override { return false; }
  bool takes_whole_batches() const override { return false; }
  static constexpr char kName[] = "uniform";  // SelectorConfig.uniform
  std::string name() const override { return kName; }
  bool contains(int64_t slot) const { return position_[slot] != kAbsent; }

 private:
  static constexpr SlotIndex kAbsent = -1;
  std::vector<SlotIndex> slots_;     // occupied slots, in no particular order
  std::vector<SlotIndex> position_;  // slot -> index in slots_, or kAbsent
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_SELECTORS_UNIFORM_H_
