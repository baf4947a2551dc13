// FifoRingRemover: evicts the oldest item, for tables whose items leave ONLY
// as the oldest (no max_times_sampled): then the stored slots, in insertion
// order, are a ring, kept as one 32-bit slot number per item instead of the
// two links of FifoRemover. That is 4 bytes per item less next to items of a
// few hundred bytes (the resident-memory budget of bench replay's memory
// section). Table::Create picks it for remover "fifo" when it applies.
//
// Not thread-safe (see interface.h).
#ifndef RILL_REPLAY_REMOVERS_FIFO_RING_H_
#define RILL_REPLAY_REMOVERS_FIFO_RING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/logging.h"
#include "replay/removers/fifo.h"
#include "replay/removers/interface.h"
#include "replay/selectors/interface.h"

namespace rill::replay {

class FifoRingRemover final : public ItemRemover {
 public:
  // Slots are in [0, capacity), capacity <= kMaxSlots.
  explicit FifoRingRemover(int64_t capacity) : ring_(capacity < 1 ? 1 : capacity) {}

  void Insert(int64_t slot, double /*priority*/) override {
    const int64_t capacity = static_cast<int64_t>(ring_.size());
    if (size_ == capacity) RILL_LOG(FATAL) << "FifoRingRemover: insert into a full ring";
    ring_[(head_ + size_) % capacity] = static_cast<SlotIndex>(slot);
    ++size_;
  }
  // Only the oldest slot may leave: anything else breaks the ring.
  void Remove(int64_t slot) override {
    if (size_ == 0 || ring_[head_] != slot) {
      RILL_LOG(FATAL) << "FifoRingRemover: slot " << slot << " removed but the oldest is "
                      << (size_ == 0 ? -1 : ring_[head_]);
    }
    head_ = (head_ + 1) % static_cast<int64_t>(ring_.size());
    --size_;
  }
  void Update(int64_t /*slot*/, double /*priority*/) override {}
  int64_t Victim() const override { return ring_[head_]; }
  bool keeps_insertion_order() const override { return true; }
  void AppendOldestFirst(std::vector<int64_t>* out) const override {
    const int64_t capacity = static_cast<int64_t>(ring_.size());
    for (int64_t i = 0; i < size_; ++i) out->push_back(ring_[(head_ + i) % capacity]);
  }
  int64_t size() const override { return size_; }
  std::string name() const override { return FifoRemover::kName; }  // the same config: remover fifo

 private:
  std::vector<SlotIndex> ring_;  // ring_[head_ .. head_ + size_) mod capacity, oldest first
  int64_t head_ = 0;
  int64_t size_ = 0;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_REMOVERS_FIFO_RING_H_
