// Signs that a run is training on nonsense, which the learner would
// otherwise report only as numbers nobody reads: a loss that is not finite
// or has exploded, a discrete policy whose entropy collapsed before it had
// time to learn anything, and unrolls dropped for a policy lag beyond
// learner.max_policy_lag. Each kind warns once per learner process, in its
// log and in rill_learner_warnings_total{kind}, with what to change.
//
// Not thread-safe: the learner's loop owns it.
#ifndef RILL_LEARNER_TRAINING_HEALTH_H_
#define RILL_LEARNER_TRAINING_HEALTH_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "learner/algorithms/interface.h"

namespace rill::learner {

struct HealthWarning {
  std::string kind;  // "nonfinite_loss", "exploding_loss", "entropy_collapse", "policy_lag"
  std::string message;
};

class TrainingHealth {
 public:
  // `num_actions`: a discrete policy's action count (0 for a continuous
  // one: its entropy has no maximum to compare with). `entropy_cost_field`
  // names the setting that keeps a policy exploring ("learner.impala.
  // entropy_cost"), empty when there is none.
  TrainingHealth(int num_actions, std::string entropy_cost_field)
      : num_actions_(num_actions), entropy_cost_field_(std::move(entropy_cost_field)) {}

  // Losses whose magnitude passes this are exploding (the uniform-table
  // IMPALA run that motivated this reached a baseline loss of 1.9e6).
  static constexpr double kExplodingLoss = 1e6;
  // A policy whose entropy is below this fraction of its maximum, log(n),
  // acts almost deterministically ...
  static constexpr double kCollapsedEntropyFraction = 0.05;
  // ... which before this many updates means it stopped exploring before
  // learning (a run that has learned may well end there).
  static constexpr int64_t kEarlyUpdates = 1000;

  // The figures of one logging interval: the algorithm's statistics after
  // `updates` updates, and the sampled unrolls the interval dropped as
  // stale out of those it sampled. Returns the warnings raised for the
  // first time.
  std::vector<HealthWarning> Observe(int64_t updates, const std::vector<Statistic>& statistics, int64_t stale_items,
                                     int64_t sampled_items, int64_t max_policy_lag);

 private:
  void Raise(const std::string& kind, std::string message, std::vector<HealthWarning>* raised);

  int num_actions_;
  std::string entropy_cost_field_;
  std::set<std::string> raised_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_TRAINING_HEALTH_H_
