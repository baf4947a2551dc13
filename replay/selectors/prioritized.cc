#include "replay/selectors/prioritized.h"

#include <algorithm>
#include <cmath>

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"

namespace rill::replay {

PrioritizedSelector::PrioritizedSelector(int64_t capacity, double priority_exponent)
    : priority_exponent_(priority_exponent), tree_(capacity), occupied_(capacity) {}

double PrioritizedSelector::Weight(double priority) const {
  // pow(0, 0) is 1: alpha = 0 makes every item, zero priority included, equally likely.
  return std::min(std::pow(priority, priority_exponent_), kMaxWeight);
}

void PrioritizedSelector::Insert(int64_t slot, double priority) {
  occupied_.Insert(slot, priority);  // dies on a slot inserted twice
  tree_.Set(slot, Weight(priority));
}

void PrioritizedSelector::Remove(int64_t slot) {
  occupied_.Remove(slot);  // dies on a slot not present
  tree_.Set(slot, 0);
}

absl::Status PrioritizedSelector::Update(int64_t slot, double priority) {
  if (std::isnan(priority) || std::isinf(priority) || priority < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority ", priority, " for slot ", slot, " must be finite and >= 0"));
  }
  if (!occupied_.contains(slot)) {
    return absl::FailedPreconditionError(absl::StrCat("slot ", slot, " holds no item"));
  }
  tree_.Set(slot, Weight(priority));
  return absl::OkStatus();
}

absl::Status PrioritizedSelector::UpdateMany(const int64_t* slots, const double* priorities, int64_t n) {
  weights_.resize(n);
  for (int64_t i = 0; i < n; ++i) weights_[i] = Weight(priorities[i]);
  tree_.SetMany(slots, weights_.data(), n);
  return absl::OkStatus();
}

double PrioritizedSelector::Probability(int64_t slot) const {
  if (!occupied_.contains(slot)) return 0;
  const double total = tree_.total();
  if (total > 0) return tree_.Get(slot) / total;
  return 1.0 / static_cast<double>(size());
}

Selection PrioritizedSelector::Sample(absl::BitGenRef gen) {
  const double total = tree_.total();
  if (!(total > 0)) return occupied_.Sample(gen);
  const int64_t slot = tree_.Find(absl::Uniform<double>(gen, 0.0, total));
  return Selection{slot, tree_.Get(slot) / total};
}

void PrioritizedSelector::SampleMany(absl::BitGenRef gen, int64_t n, std::vector<Selection>* out) {
  const double total = tree_.total();
  if (!(total > 0)) {
    for (int64_t i = 0; i < n; ++i) out->push_back(occupied_.Sample(gen));
    return;
  }
  values_.resize(n);
  slots_.resize(n);
  for (int64_t i = 0; i < n; ++i) values_[i] = absl::Uniform<double>(gen, 0.0, total);
  tree_.FindMany(values_.data(), n, slots_.data());
  for (int64_t i = 0; i < n; ++i) out->push_back(Selection{slots_[i], tree_.Get(slots_[i]) / total});
}

}  // namespace rill::replay
