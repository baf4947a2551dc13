#include "replay/selectors/sum_tree.h"

#include <cstddef>

namespace rill::replay {
namespace {

int64_t RoundUpToFanout(int64_t n) { return (n + SumTree::kFanout - 1) / SumTree::kFanout * SumTree::kFanout; }

// Picks the child, among a block of kFanout, whose interval holds `*value`
// and leaves the remainder in `*value`. Never a child of weight 0: its
// interval is empty. Branch-free (the comparisons vectorize): the child is
// the number of inclusive prefix sums at or below the value.
int64_t ChooseChild(const double* children, double* value) {
  double prefix[SumTree::kFanout];
  double acc = 0;
  for (int64_t c = 0; c < SumTree::kFanout; ++c) {
    acc += children[c];
    prefix[c] = acc;
  }
  int64_t chosen = 0;
  for (int64_t c = 0; c < SumTree::kFanout; ++c) chosen += prefix[c] <= *value ? 1 : 0;
  if (chosen == SumTree::kFanout) {
    // Rounding left `value` at or past the block's sum: the last positive child.
    chosen = SumTree::kFanout - 1;
    while (chosen > 0 && children[chosen] <= 0) --chosen;
    *value = children[chosen];
    return chosen;
  }
  if (chosen > 0) *value -= prefix[chosen - 1];
  return chosen;
}

}  // namespace

SumTree::SumTree(int64_t capacity) : capacity_(capacity) {
  int64_t n = capacity < 1 ? 1 : capacity;
  levels_.emplace_back(RoundUpToFanout(n), 0.0);
  while (n > 1) {
    n = (n + kFanout - 1) / kFanout;
    levels_.emplace_back(RoundUpToFanout(n), 0.0);
  }
}

void SumTree::Set(int64_t slot, double weight) {
  levels_[0][slot] = weight;
  int64_t index = slot;
  for (std::size_t level = 1; level < levels_.size(); ++level) {
    index /= kFanout;
    const double* children = levels_[level - 1].data() + index * kFanout;
    double sum = 0;
    for (int64_t c = 0; c < kFanout; ++c) sum += children[c];
    levels_[level][index] = sum;
  }
}

void SumTree::SetMany(const int64_t* slots, const double* weights, int64_t n) {
  if (n <= 0) return;
  double* leaves = levels_[0].data();
  for (int64_t i = 0; i < n; ++i) __builtin_prefetch(leaves + slots[i], 1);
  for (int64_t i = 0; i < n; ++i) leaves[slots[i]] = weights[i];
  scratch_.assign(slots, slots + n);
  for (std::size_t level = 1; level < levels_.size(); ++level) {
    const double* children = levels_[level - 1].data();
    double* nodes = levels_[level].data();
    for (int64_t& index : scratch_) {
      index /= kFanout;
      __builtin_prefetch(nodes + index, 1);
    }
    // Sibling leaves share a parent: summing it twice is harmless, and on
    // the upper levels, where most indices repeat, skipping adjacent
    // repeats saves the work.
    int64_t previous = -1;
    for (int64_t index : scratch_) {
      if (index == previous) continue;
      previous = index;
      const double* block = children + index * kFanout;
      double sum = 0;
      for (int64_t c = 0; c < kFanout; ++c) sum += block[c];
      nodes[index] = sum;
    }
  }
}

int64_t SumTree::Find(double value) const {
  int64_t index = 0;
  for (std::size_t level = levels_.size() - 1; level > 0; --level) {
    index = index * kFanout + ChooseChild(levels_[level - 1].data() + index * kFanout, &value);
  }
  return index;
}

void SumTree::FindMany(const double* values, int64_t n, int64_t* slots) const {
  std::vector<double> remaining(values, values + n);
  for (int64_t i = 0; i < n; ++i) slots[i] = 0;
  for (std::size_t level = levels_.size() - 1; level > 0; --level) {
    const double* nodes = levels_[level - 1].data();
    for (int64_t i = 0; i < n; ++i) __builtin_prefetch(nodes + slots[i] * kFanout);
    for (int64_t i = 0; i < n; ++i) {
      slots[i] = slots[i] * kFanout + ChooseChild(nodes + slots[i] * kFanout, &remaining[i]);
    }
  }
}

}  // namespace rill::replay
