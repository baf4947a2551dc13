// LowestPriorityRemover: evicts the item with the smallest priority, the
// oldest of them on a tie (so a table whose items all keep the default
// priority behaves like FIFO). An ordered set keyed by (priority, insertion
// sequence) makes Insert, Remove, Update and Victim O(log n).
// Not thread-safe (see interface.h).
#ifndef RILL_REPLAY_REMOVERS_LOWEST_PRIORITY_H_
#define RILL_REPLAY_REMOVERS_LOWEST_PRIORITY_H_

#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "replay/removers/interface.h"

namespace rill::replay {

class LowestPriorityRemover final : public ItemRemover {
 public:
  // Slots are in [0, capacity).
  explicit LowestPriorityRemover(int64_t capacity);

  void Insert(int64_t slot, double priority) override;
  void Remove(int64_t slot) override;
  void Update(int64_t slot, double priority) override;
  int64_t Victim() const override;
  int64_t size() const override { return static_cast<int64_t>(order_.size()); }
  static constexpr char kName[] = "lowest_priority";  // RemoverConfig.lowest_priority
  std::string name() const override { return kName; }

 private:
  // (priority, insertion sequence, slot)
  using Entry = std::tuple<double, uint64_t, int64_t>;
  struct SlotState {
    bool present = false;
    double priority = 0;
    uint64_t sequence = 0;
  };
  Entry EntryOf(int64_t slot) const;

  std::set<Entry> order_;
  std::vector<SlotState> slots_;
  uint64_t next_sequence_ = 0;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_REMOVERS_LOWEST_PRIORITY_H_
