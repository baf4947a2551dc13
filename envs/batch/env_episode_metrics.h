// EnvEpisodeMetrics: the figures of each env's running episode in a batch
// of multi-agent envs (MultiAgentEnv::metrics), added up step by step and
// turned into EnvEpisodeFigures (interface.h) when the episode ends. What
// AgentRowsEnvBatch and JointAgentsEnvBatch share, so both report the
// envs' figures the same way: a kSum metric is the episode's sum, a kMean
// one its sum over the episode's steps divided by their number.
//
// Allocation-free per step once made. Not thread-safe: its batch's step
// loop owns it.
#ifndef RILL_ENVS_BATCH_ENV_EPISODE_METRICS_H_
#define RILL_ENVS_BATCH_ENV_EPISODE_METRICS_H_

#include <vector>

#include "envs/batch/interface.h"
#include "envs/multi_agent/interface.h"
#include "envs/spec.h"

namespace rill::envs {

class EnvEpisodeMetrics {
 public:
  // `metrics` (the envs' own, the same for all) of `num_envs` envs, each
  // at the start of an episode.
  EnvEpisodeMetrics(std::vector<EnvMetric> metrics, int num_envs);

  const std::vector<EnvMetric>& metrics() const { return metrics_; }
  // No metrics: Measure does nothing, and there is nothing to report.
  bool empty() const { return metrics_.empty(); }

  // Env `env` starts a new episode: its sums and steps go back to 0.
  void StartEpisode(int env);
  // Adds `source`'s values for the step it just took (MeasureStep) to env
  // `env`'s episode.
  void Measure(int env, const MultiAgentEnv& source);
  // Env `env`'s episode so far as figures, reported under `first_row` (the
  // env's first row in its batch).
  EnvEpisodeFigures Figures(int env, int first_row) const;

 private:
  std::vector<EnvMetric> metrics_;
  // [num_envs, metrics]: each env's values summed over its episode so
  // far, and the steps in it.
  std::vector<double> sums_;
  std::vector<int> steps_;
  std::vector<double> step_values_;  // [metrics], one step's
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_ENV_EPISODE_METRICS_H_
