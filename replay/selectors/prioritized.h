// PrioritizedSelector: proportional prioritized replay (Schaul et al. 2016).
// Slot i is drawn with probability P(i) = p_i^alpha / sum_j p_j^alpha, where
// p_i is the priority its writer or the learner gave it and alpha the table's
// priority_exponent (0: uniform, 1: proportional to priority). The weights
// p^alpha live in a SumTree, so Insert, Remove, Update and Sample are
// O(log n). Importance weights are the table's business (they depend on the
// whole batch): Table::Sample derives them from the probabilities returned here.
//
// While every stored item has priority 0 (so no item could be drawn), it
// draws uniformly among the stored items rather than blocking forever.
// A weight p^alpha too large for a double is capped at kMaxWeight, so the
// total stays finite.
//
// Not thread-safe (see interface.h).
#ifndef RILL_REPLAY_SELECTORS_PRIORITIZED_H_
#define RILL_REPLAY_SELECTORS_PRIORITIZED_H_

#include <cstdint>
#include <string>
#include <vector>

#include "replay/selectors/interface.h"
#include "replay/selectors/sum_tree.h"
#include "replay/selectors/uniform.h"

namespace rill::replay {

class PrioritizedSelector final : public ItemSelector {
 public:
  static constexpr double kMaxWeight = 1e250;
  // alpha when selector.prioritized.priority_exponent is unset.
  static constexpr double kDefaultPriorityExponent = 0.6;

  // Slots are in [0, capacity); `priority_exponent` (alpha) is finite and >= 0.
  PrioritizedSelector(int64_t capacity, double priority_exponent);

  // `priority` is finite and >= 0 (the table validates what it is given).
  void Insert(int64_t slot, double priority) override;
  void Remove(int64_t slot) override;
  // InvalidArgument for a NaN, infinite or negative priority; FailedPrecondition
  // for an empty slot. Nothing changes on error.
  absl::Status Update(int64_t slot, double priority) override;
  // One SumTree::SetMany for the whole batch.
  absl::Status UpdateMany(const int64_t* slots, const double* priorities, int64_t n) override;
  Selection Sample(absl::BitGenRef gen) override;
  // Walks the tree for all n draws together (SumTree::FindMany).
  void SampleMany(absl::BitGenRef gen, int64_t n, std::vector<Selection>* out) override;
  int64_t size() const override { return occupied_.size(); }
  bool uses_priorities() const override { return true; }
  bool takes_whole_batches() const override { return false; }
  static constexpr char kName[] = "prioritized";  // SelectorConfig.prioritized
  std::string name() const override { return kName; }

  // The probability with which Sample would draw `slot` now.
  double Probability(int64_t slot) const;
  double priority_exponent() const { return priority_exponent_; }

 private:
  double Weight(double priority) const;

  const double priority_exponent_;
  SumTree tree_;              // slot -> priority^alpha, 0 for empty slots
  UniformSelector occupied_;  // the stored slots, for size and the all-zero case
  std::vector<double> values_;  // SampleMany's scratch
  std::vector<int64_t> slots_;  // SampleMany's scratch
  std::vector<double> weights_;  // UpdateMany's scratch
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_SELECTORS_PRIORITIZED_H_
