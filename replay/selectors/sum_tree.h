// SumTree: non-negative weights over slots [0, capacity) with O(log n) Set
// and Find (the slot whose prefix-sum interval holds a given value), the
// index behind PrioritizedSelector.
//
// It is a kFanout-ary tree rather than a binary one: a node's children are 8
// adjacent doubles, one cache line, so a draw or an update touches
// log8(n) lines instead of log2(n). At a million items that is 7 lines
// instead of 20, which keeps sampling from a large table nearly as fast as
// from a small one (bench/bench_prioritized.cc). Each parent is recomputed
// from its children on every Set, never adjusted by deltas, so the sums do
// not drift however many updates there are.
//
// Not thread-safe: its owner calls it under the table's mutex.
#ifndef RILL_REPLAY_SELECTORS_SUM_TREE_H_
#define RILL_REPLAY_SELECTORS_SUM_TREE_H_

#include <cstdint>
#include <vector>

namespace rill::replay {

class SumTree {
 public:
  static constexpr int64_t kFanout = 8;

  // All weights start at 0.
  explicit SumTree(int64_t capacity);

  // Sets the weight of `slot` (finite, >= 0) and updates its ancestors.
  void Set(int64_t slot, double weight);
  // Set for each of slots[0 .. n) with weights[0 .. n) (a slot listed twice
  // gets its last weight). Leaves first, then the ancestors level by level,
  // each level's nodes prefetched before any is summed, so that the cache
  // misses of a large tree overlap instead of queueing one Set after another.
  void SetMany(const int64_t* slots, const double* weights, int64_t n);
  double Get(int64_t slot) const { return levels_[0][slot]; }
  // Sum of all weights.
  double total() const { return levels_.back()[0]; }
  // The slot s with prefix(s) <= value < prefix(s) + Get(s), where prefix(s)
  // sums the weights of the slots before s. Only slots with a positive weight
  // are returned: a value at or past total() (rounding) gives the last such
  // slot. Requires total() > 0 and value >= 0.
  int64_t Find(double value) const;
  // Find for each of values[0 .. n), into slots[0 .. n). The walks go down
  // the tree together, level by level, with each level's nodes prefetched
  // first, so that the cache misses of a large tree overlap.
  void FindMany(const double* values, int64_t n, int64_t* slots) const;

  int64_t capacity() const { return capacity_; }

 private:
  const int64_t capacity_;
  // levels_[0] holds the weights; levels_[l][i] sums levels_[l-1][i*kFanout ..
  // i*kFanout + kFanout). Every level is padded with zeros to whole child
  // blocks; the last level has one meaningful node, the total.
  std::vector<std::vector<double>> levels_;
  std::vector<int64_t> scratch_;  // SetMany's node indices
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_SELECTORS_SUM_TREE_H_
