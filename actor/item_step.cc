#include "actor/item_step.h"

namespace rill::actor {

items::Step ItemStep(const LockstepEnvs& envs, int row, const EnvOutcome& outcome, const uint8_t* next_obs,
                     const uint8_t* final_obs, int64_t version) {
  const envs::StepResult& result = outcome.result;
  items::Step step;
  step.obs = envs.obs_row(row);
  step.action = envs.spec().discrete ? nullptr : envs.action_row(row);
  step.action_index = envs.action_index(row);
  step.reward = result.reward;
  // Only a true terminal state stops bootstrapping; a time limit does not.
  step.terminated = result.terminated;
  step.truncated = result.truncated;
  // The env went on from the next episode's first observation (in
  // next_obs); the builder still sees the real last one.
  step.final_obs = result.terminated || result.truncated ? final_obs : next_obs;
  step.next_obs = next_obs;
  step.agent_rewards = envs.agent_rewards_row(row);  // null unless joint
  step.agent_terminated = envs.agent_terminated_row(row);
  step.log_prob = envs.log_prob(row);
  step.distribution = envs.distribution_row(row);
  step.version = version;
  if (envs.core_state_size() > 0) step.core_state = envs.core_state_row(row);
  if (envs.tracks_states()) {
    step.state = envs.state_row(row);
    step.next_state = envs.next_state_row(row);
    step.final_state = envs.final_state_row(row);
  }
  return step;
}

}  // namespace rill::actor
