// FifoRemover: evicts the oldest item, in O(1) also when other items left
// out of order before it (sampled max_times_sampled times).
// Not thread-safe (see interface.h).
#ifndef RILL_REPLAY_REMOVERS_FIFO_H_
#define RILL_REPLAY_REMOVERS_FIFO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "replay/removers/interface.h"
#include "replay/selectors/slot_list.h"

namespace rill::replay {

class FifoRemover final : public ItemRemover {
 public:
  // Slots are in [0, capacity).
  explicit FifoRemover(int64_t capacity) : order_(capacity) {}

  void Insert(int64_t slot, double /*priority*/) override { order_.PushBack(slot); }
  void Remove(int64_t slot) override { order_.Erase(slot); }
  void Update(int64_t /*slot*/, double /*priority*/) override {}
  int64_t Victim() const override { return order_.front(); }
  bool keeps_insertion_order() const override { return true; }
  void AppendOldestFirst(std::vector<int64_t>* out) const override { order_.AppendInOrder(out); }
  int64_t size() const override { return order_.size(); }
  static constexpr char kName[] = "fifo";  // RemoverConfig.fifo
  std::string name() const override { return kName; }

 private:
  SlotList order_;  // oldest first
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_REMOVERS_FIFO_H_
