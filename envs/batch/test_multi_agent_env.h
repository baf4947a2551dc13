// LeaveEnv: a scripted multi-agent env for the batch tests. Agent k's
// observation is one float: 100 * (the episode's number + 1) + 10 * k at a
// reset, then 10 * k + the step's number. Agent k's episode ends at step
// lengths[k] (terminated), so agents leave at different steps; each step's
// reward of agent k is k + 1. Discrete, 2 actions; the global state is the
// step's number. Its metrics: "steps" (1 a step, summed) and "step" (the
// step's number, averaged over the episode). Given `widths`, agent k
// observes widths[k] floats instead, the first as above and value j the
// first + j (agents of different observation sizes).
#ifndef RILL_ENVS_BATCH_TEST_MULTI_AGENT_ENV_H_
#define RILL_ENVS_BATCH_TEST_MULTI_AGENT_ENV_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "envs/multi_agent/interface.h"

namespace rill::envs {

class LeaveEnv final : public MultiAgentEnv {
 public:
  static MultiAgentSpec Spec(int num_agents, const std::vector<int>& widths = {}) {
    MultiAgentSpec spec;
    spec.name = "Leave-v0";
    EnvSpec agent;
    agent.name = spec.name;
    agent.observation_shape = {1};
    agent.discrete = true;
    agent.num_actions = 2;
    agent.max_episode_steps = 1000;
    for (int k = 0; k < num_agents; ++k) {
      spec.agents.push_back("agent_" + std::to_string(k));
      spec.agent_specs.push_back(agent);
      if (!widths.empty()) spec.agent_specs.back().observation_shape = {widths[k]};
    }
    spec.state_shape = {1};
    spec.max_episode_steps = 1000;
    return spec;
  }
  explicit LeaveEnv(std::vector<int> lengths, const std::vector<int>& widths = {})
      : MultiAgentEnv(Spec(static_cast<int>(lengths.size()), widths)), lengths_(std::move(lengths)) {}

  void Reset(float* const* obs) override {
    StartEpisode();
    step_ = 0;
    ++episodes_;
    for (int k = 0; k < num_agents(); ++k) Observe(k, 100.f * episodes_ + 10.f * k, obs[k]);
  }
  absl::Status Step(const float* const* actions, float* const* next_obs, StepResult* results) override {
    if (absl::Status checked = CheckStep(actions); !checked.ok()) return checked;
    ++step_;
    for (int k = 0; k < num_agents(); ++k) {
      if (!live(k)) continue;
      Observe(k, 10.f * k + step_, next_obs[k]);
      results[k] = StepResult{static_cast<float>(k + 1), step_ == lengths_[k], false};
    }
    EndStep(results);
    return absl::OkStatus();
  }
  void State(float* state) const override { state[0] = static_cast<float>(step_); }
  std::vector<EnvMetric> metrics() const override {
    return {{"steps", EnvMetric::Over::kSum}, {"step", EnvMetric::Over::kMean}};
  }
  void MeasureStep(double* values) const override {
    values[0] = 1;
    values[1] = step_;
  }

 private:
  void Observe(int k, float first, float* obs) const {
    for (int j = 0; j < spec().agent_specs[k].obs_dim(); ++j) obs[j] = first + static_cast<float>(j);
  }

  std::vector<int> lengths_;
  int step_ = 0;
  int episodes_ = 0;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_TEST_MULTI_AGENT_ENV_H_
