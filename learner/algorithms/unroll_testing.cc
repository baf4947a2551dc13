#include "learner/algorithms/unroll_testing.h"

#include <cmath>
#include <memory>
#include <random>

#include "gtest/gtest.h"
#include "learner/torch_policy.h"
#include "policies/registry.h"
#include "torch/torch.h"

namespace rill::learner {

envs::EnvSpec TwoArmSpec() {
  envs::EnvSpec env;
  env.name = "TwoArm";
  env.observation_shape = {3};
  env.discrete = true;
  env.num_actions = 2;
  env.max_episode_steps = 100;
  return env;
}

envs::EnvSpec ContinuousSpec() {
  envs::EnvSpec env;
  env.name = "Line";
  env.observation_shape = {3};
  env.action_low = {-2, -2};
  env.action_high = {2, 2};
  env.max_episode_steps = 100;
  return env;
}

Batch ActedUnrolls(const v1::ParameterSet& parameters, const envs::EnvSpec& env, int b, int t, uint64_t seed) {
  std::unique_ptr<policies::Policy> policy = *policies::PolicyFromParameters(parameters, seed);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  torch::manual_seed(seed);
  std::bernoulli_distribution end(0.1);
  const int64_t d = env.obs_dim();
  torch::Tensor obs = torch::randn({t + 1, b, d});
  torch::Tensor final_obs = torch::zeros({t, b, d});
  torch::Tensor reward = torch::zeros({t, b});
  torch::Tensor terminated = torch::zeros({t, b});
  torch::Tensor truncated = torch::zeros({t, b});
  torch::Tensor log_prob = torch::zeros({t, b});
  std::vector<torch::Tensor> actions, distributions;
  // A recurrent policy starts each unroll from a state of its own (as if
  // it had acted before), carries it, and zeroes it where an episode begins.
  const int state_size = policy->state_size();
  torch::Tensor core_state = 0.5 * torch::randn({b, state_size});
  torch::Tensor state = core_state.clone();
  for (int s = 0; s < t; ++s) {
    if (state_size > 0) {
      if (s > 0) state.mul_((1 - (terminated[s - 1] + truncated[s - 1]).clamp_max(1)).unsqueeze(1));
      policy->set_state(state.data_ptr<float>());
    }
    Behaviour behaviour;
    torch::Tensor action = *ActWithBehaviour(*policy, obs[s].contiguous(), &behaviour);
    actions.push_back(action);
    distributions.push_back(behaviour.distribution);
    log_prob[s] = behaviour.log_prob;
    reward[s] = env.discrete ? action.eq(1).to(torch::kFloat32) : action.select(1, 0).gt(0).to(torch::kFloat32);
    for (int i = 0; i < b; ++i) {
      if (end(rng)) {
        terminated[s][i] = 1;
      } else if (end(rng)) {
        truncated[s][i] = 1;
        final_obs[s][i] = torch::randn({d});
      }
    }
  }
  Batch batch;
  batch.size = b;
  auto batch_major = [](const torch::Tensor& time_major) { return time_major.transpose(0, 1).contiguous(); };
  batch.columns["obs"] = batch_major(obs);
  batch.columns["action"] = batch_major(torch::stack(actions));
  batch.columns["reward"] = batch_major(reward);
  batch.columns["terminated"] = batch_major(terminated);
  batch.columns["truncated"] = batch_major(truncated);
  batch.columns["final_obs"] = batch_major(final_obs);
  batch.columns["behaviour_log_prob"] = batch_major(log_prob);
  if (state_size > 0) batch.columns["core_state"] = core_state;
  torch::Tensor distribution = batch_major(torch::stack(distributions));
  if (env.discrete) {
    batch.columns["behaviour_logits"] = distribution;
  } else {
    const int64_t a = static_cast<int64_t>(env.action_low.size());
    batch.columns["behaviour_mean"] = distribution.narrow(2, 0, a).contiguous();
    batch.columns["behaviour_log_std"] = distribution.narrow(2, a, a).contiguous();
  }
  return batch;
}


double StatisticValue(const std::vector<Statistic>& statistics, const std::string& name) {
  for (const Statistic& s : statistics) {
    if (s.name == name) return s.value;
  }
  ADD_FAILURE() << "no statistic " << name;
  return NAN;
}

}  // namespace rill::learner
