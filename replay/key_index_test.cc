#include "replay/key_index.h"

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "gtest/gtest.h"

namespace rill::replay {
namespace {

// A table's slots and keys, with an index over them and a reference map.
class Slots {
 public:
  explicit Slots(int64_t capacity) : keys_(capacity), index_(capacity, keys_.data()) {
    for (int64_t s = capacity - 1; s >= 0; --s) free_.push_back(s);
  }
  bool Put(uint64_t key) {
    if (free_.empty() || reference_.count(key)) return false;
    const int64_t slot = free_.back();
    free_.pop_back();
    keys_[slot] = key;
    index_.Insert(slot);
    reference_[key] = slot;
    return true;
  }
  void Remove(uint64_t key) {
    const int64_t slot = reference_.at(key);
    ASSERT_TRUE(index_.Erase(key));
    keys_[slot] = 0xdeadbeef;  // the table overwrites the slot's key later
    reference_.erase(key);
    free_.push_back(slot);
  }
  void ExpectAgrees(const std::vector<uint64_t>& probes) const {
    ASSERT_EQ(index_.size(), static_cast<int64_t>(reference_.size()));
    for (const auto& [key, slot] : reference_) ASSERT_EQ(index_.Find(key), slot) << "key " << key;
    for (uint64_t key : probes) {
      if (!reference_.count(key)) {
        ASSERT_EQ(index_.Find(key), KeyIndex::kNotFound) << "key " << key;
      }
    }
  }
  const std::unordered_map<uint64_t, int64_t>& reference() const { return reference_; }
  KeyIndex& index() { return index_; }

 private:
  std::vector<uint64_t> keys_;
  KeyIndex index_;
  std::vector<int64_t> free_;
  std::unordered_map<uint64_t, int64_t> reference_;
};

TEST(KeyIndexTest, FindsWhatWasInsertedAndNothingElse) {
  Slots slots(100);
  for (uint64_t key = 1; key <= 100; ++key) ASSERT_TRUE(slots.Put(key << 40 | key));
  std::vector<uint64_t> absent;
  for (uint64_t key = 101; key <= 300; ++key) absent.push_back(key << 40 | key);
  slots.ExpectAgrees(absent);
}

TEST(KeyIndexTest, EraseReturnsWhetherTheKeyWasThere) {
  Slots slots(8);
  ASSERT_TRUE(slots.Put(42));
  EXPECT_FALSE(slots.index().Erase(43));
  slots.Remove(42);
  EXPECT_FALSE(slots.index().Erase(42));
  EXPECT_EQ(slots.index().Find(42), KeyIndex::kNotFound);
}

TEST(KeyIndexTest, StaysExactThroughRandomChurnAtFullLoad) {
  // Small key ranges force long probe runs that wrap around the array, and
  // every erase shifts entries back across them.
  for (int64_t capacity : {1, 3, 8, 13, 100, 1000}) {
    Slots slots(capacity);
    std::mt19937_64 gen(capacity);
    std::uniform_int_distribution<uint64_t> key_of(1, static_cast<uint64_t>(capacity) * 3);
    std::vector<uint64_t> probes;
    for (int op = 0; op < 20000; ++op) {
      const uint64_t key = key_of(gen) * 0x100000001ull;
      probes.push_back(key);
      if (slots.reference().count(key)) {
        slots.Remove(key);
      } else {
        slots.Put(key);  // refused when full
      }
      if (op % 997 == 0) slots.ExpectAgrees(probes);
    }
    slots.ExpectAgrees(probes);
  }
}

TEST(KeyIndexTest, UsesFourBytesPerBucketAndFewerThanSixteenSeventhsBucketsPerKey) {
  // The bucket count is the power of two just above 8/7 of the capacity.
  std::vector<uint64_t> keys(1000000);
  KeyIndex index(1000000, keys.data());
  EXPECT_EQ(index.memory_bytes(), 4 * (int64_t{1} << 21));
  EXPECT_LT(index.memory_bytes(), int64_t{4} * 1000000 * 16 / 7);
  EXPECT_GE(index.memory_bytes() * 7 / 8 / 4, 1000000);  // load factor at most 7/8
}

}  // namespace
}  // namespace rill::replay
