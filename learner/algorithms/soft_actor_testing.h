// A check every soft actor-critic's unit test makes (SAC, DSAC-T, DroQ):
// one state, reward -4 (a - 0.5)^2, no bootstrap, replayed actions over
// the whole range; the best action is 0.5, and the exported policy (the one
// the actors run) must find it.
#ifndef RILL_LEARNER_ALGORITHMS_SOFT_ACTOR_TESTING_H_
#define RILL_LEARNER_ALGORITHMS_SOFT_ACTOR_TESTING_H_

#include <memory>

#include "gtest/gtest.h"
#include "learner/algorithms/transitions.h"
#include "learner/torch_policy.h"
#include "policies/gaussian.h"
#include "policies/registry.h"
#include "torch/torch.h"

namespace rill::learner {

// Options of the one-step problem: one observation and one action, two
// hidden layers of 32, gamma 0, Adam at 3e-3, seed 2.
template <typename Options>
Options OneStepProblemOptions() {
  Options options;
  options.obs_dim = 1;
  options.act_dim = 1;
  options.hidden = {32, 32};
  options.gamma = 0;
  options.actor_lr = options.critic_lr = 3e-3;
  options.seed = 2;
  return options;
}

// 600 updates of 64 transitions, then the exported policy's deterministic
// action at the state (NaN if an update or the export fails, which fails
// the test too). With `state_noise`, the observations are 1 plus that much
// standard-normal noise the reward ignores (states a batch's statistics
// can normalise).
template <typename Algorithm>
float OneStepProblemAction(Algorithm& algorithm, float state_noise = 0) {
  torch::manual_seed(0);
  for (int i = 0; i < 600; ++i) {
    TransitionBatch batch;
    batch.obs = torch::ones({64, 1}) + state_noise * torch::randn({64, 1});
    batch.action = torch::rand({64, 1}) * 2 - 1;
    batch.reward = -4 * (batch.action.squeeze(1) - 0.5).square();
    batch.terminated = torch::ones({64});
    batch.next_obs = batch.obs.clone();
    absl::Status updated = algorithm.Update(batch);
    EXPECT_TRUE(updated.ok()) << updated;
    if (!updated.ok()) return NAN;
  }
  // The policy the export describes (its kind, sizes and activation), as
  // an actor builds it.
  absl::StatusOr<v1::ParameterSet> exported = algorithm.ExportPolicy();
  EXPECT_TRUE(exported.ok()) << exported.status();
  if (!exported.ok()) return NAN;
  EXPECT_EQ(exported->policy().kind(), policies::GaussianPolicy::kKind);
  absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::PolicyFromParameters(*exported, 0);
  EXPECT_TRUE(policy.ok()) << policy.status();
  if (!policy.ok()) return NAN;
  return Act(**policy, torch::ones({1, 1}), /*deterministic=*/true).item<float>();
}

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_SOFT_ACTOR_TESTING_H_
