// FifoSelector: a queue, for on-policy data (IMPALA unrolls). Sample always
// answers the oldest stored item, with probability 1. It does not remove it:
// a table with this selector hands out each item once (max_times_sampled is
// 1, like Reverb's Queue) and takes whole batches at once; see Table.
// Not thread-safe (see interface.h).
#ifndef RILL_REPLAY_SELECTORS_FIFO_H_
#define RILL_REPLAY_SELECTORS_FIFO_H_

#include <cstdint>
#include <string>

#include "replay/selectors/interface.h"
#include "replay/selectors/slot_list.h"

namespace rill::replay {

class FifoSelector final : public ItemSelector {
 public:
  // Slots are in [0, capacity).
  explicit FifoSelector(int64_t capacity) : order_(capacity) {}

  void Insert(int64_t slot, double /*priority*/) override { order_.PushBack(slot); }
  void Remove(int64_t slot) override { order_.Erase(slot); }
  absl::Status Update(int64_t slot, double priority) override;
  Selection Sample(absl::BitGenRef gen) override;
  int64_t size() const override { return order_.size(); }
  bool uses_priorities() const override { return false; }
  bool takes_whole_batches() const override { return true; }
  static constexpr char kName[] = "fifo";  // SelectorConfig.fifo
  std::string name() const override { return kName; }

 private:
  SlotList order_;  // oldest first
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_SELECTORS_FIFO_H_
