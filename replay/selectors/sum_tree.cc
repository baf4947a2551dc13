#include "replay/selectors/sum_tree.h"

#include <cstddef>

namespace rill::replay {
namespace {

int64_t RoundUpToFanout(int64_t n) { return (n + SumTree::kFanout - 1) / SumTree::kFanout * SumTree::kFanout; }

// Picks the child, among a block of kFanout, whose interval holds `*value`
// and leaves the remainder in `*value`. Never a child of weight 0.
int64_t ChooseChild(const double* children, double* value) {
  int64_t chosen = -1;
  int64_t last_positive = -1;
  for (int64_t c = 0; c < SumTree::kFanout; ++c) {
    if (children[c] <= 0) continue;
    last_positive = c;
    if (*value < children[c]) {
      chosen = c;
      break;
    }
    *value -= children[c];
  }
  // Rounding can leave `value` just past the sum of the children.
  return chosen < 0 ? last_positive : chosen;
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
