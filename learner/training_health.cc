#include "learner/training_health.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rill::learner {

void TrainingHealth::Raise(const std::string& kind, std::string message, std::vector<HealthWarning>* raised) {
  if (!raised_.insert(kind).second) return;
  raised->push_back(HealthWarning{kind, std::move(message)});
}

std::vector<HealthWarning> TrainingHealth::Observe(int64_t updates, const std::vector<Statistic>& statistics,
                                                   int64_t stale_items, int64_t sampled_items,
                                                   int64_t max_policy_lag) {
  std::vector<HealthWarning> raised;
  for (const Statistic& statistic : statistics) {
    if (statistic.is_loss && !std::isfinite(statistic.value)) {
      Raise("nonfinite_loss",
            absl::StrFormat("the %s loss is %g after %d updates: the networks hold NaN or infinity and learn nothing "
                            "from here; lower the learning rate or look for non-finite rewards or observations",
                            statistic.name, statistic.value, updates),
            &raised);
    } else if (statistic.is_loss && std::abs(statistic.value) > kExplodingLoss) {
      Raise("exploding_loss",
            absl::StrFormat("the %s loss is %.3g after %d updates: it has exploded (rewards far from unit scale, "
                            "a learning rate too high, or a table replaying stale data); see its other statistics",
                            statistic.name, statistic.value, updates),
            &raised);
    }
    // The policy's own entropy (not its loss term): "policy_entropy" for
    // IMPALA and PPO, "entropy" for SAC-discrete.
    const bool entropy = !statistic.is_loss && (statistic.name == "policy_entropy" || statistic.name == "entropy");
    if (entropy && num_actions_ > 1 && updates <= kEarlyUpdates && std::isfinite(statistic.value)) {
      const double maximum = std::log(static_cast<double>(num_actions_));
      if (statistic.value < kCollapsedEntropyFraction * maximum) {
        Raise("entropy_collapse",
              absl::StrFormat("the policy's entropy fell to %.3g (%.1f%% of its maximum log(%d) = %.3g) after only %d "
                              "updates: it acts almost deterministically before it has learned, and stops "
                              "exploring%s",
                              statistic.value, 100 * statistic.value / maximum, num_actions_, maximum, updates,
                              entropy_cost_field_.empty() ? "" : absl::StrCat("; raise ", entropy_cost_field_)),
              &raised);
      }
    }
  }
  if (stale_items > 0 && sampled_items > 0 && 2 * stale_items >= sampled_items) {
    Raise("policy_lag",
          absl::StrFormat("%d of %d sampled unrolls were older than learner.max_policy_lag (%d updates) and were "
                          "dropped: the actors run ahead of the learner (fewer actors, a rate limiter with a "
                          "smaller error_buffer, or a larger max_policy_lag)",
                          stale_items, sampled_items, max_policy_lag),
          &raised);
  }
  return raised;
}

}  // namespace rill::learner
