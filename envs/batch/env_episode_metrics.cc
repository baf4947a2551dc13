#include "envs/batch/env_episode_metrics.h"

#include <algorithm>
#include <utility>

namespace rill::envs {

EnvEpisodeMetrics::EnvEpisodeMetrics(std::vector<EnvMetric> metrics, int num_envs)
    : metrics_(std::move(metrics)),
      sums_(static_cast<size_t>(num_envs) * metrics_.size(), 0.0),
      steps_(static_cast<size_t>(num_envs), 0),
      step_values_(metrics_.size(), 0.0) {}

void EnvEpisodeMetrics::StartEpisode(int env) {
  std::fill_n(sums_.begin() + static_cast<size_t>(env) * metrics_.size(), metrics_.size(), 0.0);
  steps_[env] = 0;
}

void EnvEpisodeMetrics::Measure(int env, const MultiAgentEnv& source) {
  if (metrics_.empty()) return;
  source.MeasureStep(step_values_.data());
  double* sums = &sums_[static_cast<size_t>(env) * metrics_.size()];
  for (size_t m = 0; m < metrics_.size(); ++m) sums[m] += step_values_[m];
  ++steps_[env];
}

EnvEpisodeFigures EnvEpisodeMetrics::Figures(int env, int first_row) const {
  EnvEpisodeFigures figures;
  figures.first_row = first_row;
  const double* sums = &sums_[static_cast<size_t>(env) * metrics_.size()];
  for (size_t m = 0; m < metrics_.size(); ++m) {
    const bool mean = metrics_[m].over == EnvMetric::Over::kMean;
    figures.values.push_back(mean ? sums[m] / std::max(1, steps_[env]) : sums[m]);
  }
  return figures;
}

}  // namespace rill::envs
