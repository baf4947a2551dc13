#include "learner/algorithms/simbav2.h"

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/algorithms/test_util.h"
#include "learner/torch_policy.h"
#include "policies/registry.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

SimbaV2Options SmallOptions() {
  SimbaV2Options options;
  options.obs_dim = 3;
  options.act_dim = 2;
  options.actor_hidden = 6;
  options.actor_blocks = 1;
  options.critic_hidden = 5;
  options.critic_blocks = 2;
  options.num_atoms = 11;
  options.v_max = 2;
  options.actor_lr = options.critic_lr = options.alpha_lr = 1e-3;
  options.initial_alpha = 0.1;
  options.seed = 4;
  return options;
}

TransitionBatch RandomBatch(const SimbaV2Options& options, int64_t b, uint64_t seed) {
  torch::manual_seed(seed);
  TransitionBatch batch;
  batch.obs = torch::randn({b, options.obs_dim});
  batch.action = torch::rand({b, options.act_dim}) * 2 - 1;
  batch.reward = torch::randn({b});
  batch.terminated = (torch::rand({b}) < 0.3).to(torch::kFloat32);
  batch.next_obs = torch::randn({b, options.obs_dim});
  return batch;
}

torch::Tensor Unit(const torch::Tensor& v) { return torch::nn::functional::normalize(
    v, torch::nn::functional::NormalizeFuncOptions().p(2).dim(-1).eps(1e-8)); }

// Member `e` of the network `prefix` in `p`, written the plain way: [R, out].
torch::Tensor Reference(const std::map<std::string, torch::Tensor>& p, const std::string& prefix, int e,
                        const torch::Tensor& input, int blocks, double shift) {
  auto at = [&](const std::string& name) { return p.at(prefix + "." + name)[e]; };
  namespace F = torch::nn::functional;
  torch::Tensor x = Unit(torch::cat({input, torch::full({input.size(0), 1}, shift)}, 1));
  torch::Tensor h = Unit(F::linear(x, at("embed.weight")) * at("embed.scaler"));
  for (int b = 0; b < blocks; ++b) {
    const std::string block = "blocks." + std::to_string(b) + ".";
    torch::Tensor t = torch::relu(F::linear(h, at(block + "w1")) * at(block + "scaler"));
    t = Unit(F::linear(t, at(block + "w2")));
    h = Unit(h + at(block + "alpha") * (t - h));
  }
  return F::linear(h, at("output.weight")) * at("output.scaler") + at("output.bias");
}

// The tanh-squashed Gaussian of the actor's output with noise `eps`:
// {action, log-probability}.
std::pair<torch::Tensor, torch::Tensor> Squash(const torch::Tensor& out, const torch::Tensor& eps, int act_dim) {
  torch::Tensor mean = out.narrow(1, 0, act_dim);
  torch::Tensor log_std = torch::clamp(out.narrow(1, act_dim, act_dim), -20, 2);
  torch::Tensor action = torch::tanh(mean + log_std.exp() * eps);
  torch::Tensor normal = -eps.pow(2) / 2 - log_std - 0.5 * std::log(2 * M_PI);
  return {action, (normal - torch::log(1 - action.pow(2) + 1e-6)).sum(1)};
}

std::map<std::string, torch::Tensor> Copy(std::map<std::string, torch::Tensor> named) {
  for (auto& [name, t] : named) t = t.clone();
  return named;
}

bool IsWeight(const std::string& name) {
  return name.find(".weight") != std::string::npos || name.find(".w1") != std::string::npos ||
         name.find(".w2") != std::string::npos;
}

TEST(SimbaV2Test, NetworksMatchTheHypersphericalForwardWrittenPlainly) {
  const SimbaV2Options options = SmallOptions();
  std::unique_ptr<SimbaV2> simba = *SimbaV2::Create(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(simba->Update(RandomBatch(options, 16, i)).ok());  // off the init
  const std::map<std::string, torch::Tensor> p = simba->ParametersForTesting();
  const TransitionBatch batch = RandomBatch(options, 9, 50);
  EXPECT_TRUE(torch::allclose(simba->ActorForTesting(batch.obs), Reference(p, "policy", 0, batch.obs, 1, 3.0),
                              1e-5, 1e-5));
  const torch::Tensor critics = simba->CriticsForTesting(batch.obs, batch.action);
  ASSERT_EQ(critics.sizes(), (std::vector<int64_t>{2, 9, 11}));
  for (int e = 0; e < 2; ++e) {
    const torch::Tensor expected = Reference(p, "critic", e, torch::cat({batch.obs, batch.action}, 1), 2, 3.0);
    EXPECT_TRUE(torch::allclose(critics[e], expected, 1e-5, 1e-5)) << "critic " << e;
  }
}

TEST(SimbaV2Test, EveryWeightRowStaysOnTheUnitSphereAfterAStep) {
  const SimbaV2Options options = SmallOptions();
  std::unique_ptr<SimbaV2> simba = *SimbaV2::Create(options);
  const std::map<std::string, torch::Tensor> before = Copy(simba->ParametersForTesting());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(simba->Update(RandomBatch(options, 16, i)).ok());
  int weights = 0;
  for (const auto& [name, t] : simba->ParametersForTesting()) {
    if (!IsWeight(name)) continue;
    ++weights;
    EXPECT_FALSE(torch::equal(t, before.at(name))) << name << " did not move";
    const torch::Tensor norms = t.norm(2, {-1});
    EXPECT_TRUE(torch::allclose(norms, torch::ones_like(norms), 1e-5, 1e-5)) << name;
  }
  EXPECT_EQ(weights, 4 + 6 + 6);  // the actor's; the critics' and their targets'
}

TEST(SimbaV2Test, ProjectionOntoAtomsSplitsEachMassBetweenItsNeighbours) {
  // Atoms -2, -1, 0, 1, 2.
  const torch::Tensor probs = torch::tensor({{0.1f, 0.2f, 0.3f, 0.25f, 0.15f}});
  const torch::Tensor values = torch::tensor({{-3.f, -0.5f, 0.25f, 1.f, 5.f}});
  // -3 clamps to -2; -0.5 halves between -1 and 0; 0.25 puts 3/4 on 0 and
  // 1/4 on 1; 1 lands on 1; 5 clamps to 2.
  const torch::Tensor expected = torch::tensor({{0.1f, 0.1f, 0.1f + 0.225f, 0.075f + 0.25f, 0.15f}});
  EXPECT_TRUE(torch::allclose(ProjectOntoAtoms(probs, values, 2.0), expected, 1e-6, 1e-6))
      << ProjectOntoAtoms(probs, values, 2.0);
}

TEST(SimbaV2Test, TargetIsTheLowerCriticsDistributionMovedByTheScaledRewardAndProjected) {
  SimbaV2Options options = SmallOptions();
  options.gamma = 0.9;
  std::unique_ptr<SimbaV2> simba = *SimbaV2::Create(options);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(simba->Update(RandomBatch(options, 16, i)).ok());  // targets apart
  const std::map<std::string, torch::Tensor> p = Copy(simba->ParametersForTesting());
  const double scale_before = simba->RewardScale();
  TransitionBatch batch = RandomBatch(options, 12, 7);
  batch.reward[3] = 40;  // a new largest reward: the scale grows with this update
  const torch::Tensor next_noise = torch::randn({12, 2}), noise = torch::randn({12, 2});
  ASSERT_TRUE(simba->UpdateWithNoiseForTesting(batch, next_noise, noise).ok());

  const double scale = 40 / ((1 - 0.9) * 2);
  EXPECT_GT(scale, scale_before);
  EXPECT_NEAR(simba->RewardScale(), scale, 1e-4);
  auto [next_action, next_log_prob] = Squash(Reference(p, "policy", 0, batch.next_obs, 1, 3.0), next_noise, 2);
  const torch::Tensor atoms = torch::linspace(-2, 2, 11);
  const torch::Tensor alpha = p.at("log_alpha").exp();
  torch::Tensor expected = torch::empty({12, 11});
  for (int64_t i = 0; i < 12; ++i) {
    const torch::Tensor input = torch::cat({batch.next_obs[i], next_action[i]}).unsqueeze(0);
    const torch::Tensor p0 = Reference(p, "target_critic", 0, input, 2, 3.0).softmax(1)[0];
    const torch::Tensor p1 = Reference(p, "target_critic", 1, input, 2, 3.0).softmax(1)[0];
    const torch::Tensor lower = ((p0 * atoms).sum().item<float>() <= (p1 * atoms).sum().item<float>()) ? p0 : p1;
    const double discount = 0.9 * (1 - batch.terminated[i].item<float>());
    const torch::Tensor moved = batch.reward[i] / scale + discount * (atoms - alpha * next_log_prob[i]);
    expected[i] = ProjectOntoAtoms(lower.unsqueeze(0), moved.unsqueeze(0), 2.0)[0];
  }
  EXPECT_TRUE(torch::allclose(simba->LastTargetForTesting(), expected, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(simba->LastTargetForTesting().sum(1), torch::ones({12}), 1e-5, 1e-5));
}

TEST(SimbaV2Test, RewardScaleKeepsTheLargestRewardSeenWithinTheAtomsBound) {
  SimbaV2Options options = SmallOptions();
  options.n_step = 3;
  std::unique_ptr<SimbaV2> simba = *SimbaV2::Create(options);
  EXPECT_EQ(simba->RewardScale(), 1.0);
  const double bound = (1 - std::pow(0.99, 3)) * 2;  // (1 - gamma^n) v_max
  TransitionBatch batch = RandomBatch(options, 8, 1);
  batch.reward = torch::tensor({0.5f, -3.f, 1.f, 0.f, 0.f, 0.f, 0.f, 2.f});
  ASSERT_TRUE(simba->Update(batch).ok());
  EXPECT_NEAR(simba->RewardScale(), 3 / bound, 1e-3);
  batch.reward = torch::full({8}, 0.25f);
  ASSERT_TRUE(simba->Update(batch).ok());
  EXPECT_NEAR(simba->RewardScale(), 3 / bound, 1e-3) << "smaller rewards keep the scale";
  // A return of the largest reward forever stays within the atoms.
  EXPECT_LE(3 / (1 - std::pow(0.99, 3)) / simba->RewardScale(), options.v_max + 1e-6);
}

TEST(SimbaV2Test, LearningRatesFallLinearlyToTheirFinalFraction) {
  SimbaV2Options options = SmallOptions();
  options.actor_lr = 4e-4;
  options.critic_lr = 2e-4;
  options.final_lr_fraction = 0.5;
  options.lr_decay_updates = 4;
  std::unique_ptr<SimbaV2> simba = *SimbaV2::Create(options);
  EXPECT_DOUBLE_EQ(simba->ActorLr(), 4e-4);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(simba->Update(RandomBatch(options, 8, i)).ok());
  EXPECT_DOUBLE_EQ(simba->ActorLr(), 3e-4);
  EXPECT_DOUBLE_EQ(simba->CriticLr(), 1.5e-4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(simba->Update(RandomBatch(options, 8, i)).ok());
  EXPECT_DOUBLE_EQ(simba->ActorLr(), 2e-4);
  EXPECT_DOUBLE_EQ(simba->CriticLr(), 1e-4);
}

TEST(SimbaV2Test, RestoredStateReproducesTheNextUpdatesExactly) {
  const SimbaV2Options options = SmallOptions();
  std::unique_ptr<SimbaV2> original = *SimbaV2::Create(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(original->Update(RandomBatch(options, 8, i)).ok());
  std::map<std::string, torch::Tensor> saved;
  for (auto& [name, t] : original->state().Save()) saved[name] = t;
  SimbaV2Options other = options;
  other.seed = 9;
  std::unique_ptr<SimbaV2> restored = *SimbaV2::Create(other);
  ASSERT_TRUE(restored->state().Restore(saved).ok());
  EXPECT_EQ(restored->updates(), 3);
  EXPECT_EQ(restored->ActorLr(), original->ActorLr());
  for (int i = 0; i < 2; ++i) {
    TransitionBatch batch = RandomBatch(options, 8, 42 + i);
    batch.reward = batch.reward * (3 + i);  // the scale moves too
    ASSERT_TRUE(original->Update(batch).ok());
    ASSERT_TRUE(restored->Update(batch).ok());
  }
  EXPECT_EQ(restored->RewardScale(), original->RewardScale());
  std::map<std::string, torch::Tensor> a = original->ParametersForTesting();
  std::map<std::string, torch::Tensor> b = restored->ParametersForTesting();
  for (auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b[name])) << name;
}

// The actors' policy (policies/gaussian.h on a hyperspherical spec) acts
// as the learner's actor.
TEST(SimbaV2Test, ExportedPolicyActsAsTheLearnersActor) {
  const SimbaV2Options options = SmallOptions();
  std::unique_ptr<SimbaV2> simba = *SimbaV2::Create(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(simba->Update(RandomBatch(options, 16, i)).ok());
  const v1::ParameterSet exported = *simba->ExportPolicy();
  EXPECT_EQ(exported.policy().kind(), "gaussian");
  EXPECT_EQ(exported.policy().hyperspherical().blocks(), 1);
  std::unique_ptr<policies::Policy> policy = *policies::PolicyFromParameters(exported, /*seed=*/1);
  const torch::Tensor obs = RandomBatch(options, 50, 99).obs;
  const torch::Tensor mean = simba->ActorForTesting(obs).narrow(1, 0, 2);
  EXPECT_TRUE(torch::allclose(Act(*policy, obs, /*deterministic=*/true), mean.tanh(), 1e-5, 1e-5));
}

// One state, reward -4 (a - 0.5)^2, no bootstrap: the exported policy finds
// the best action, 0.5.
TEST(SimbaV2Test, PolicyLearnsTheBestActionOfAOneStepProblem) {
  SimbaV2Options options;
  options.obs_dim = 1;
  options.act_dim = 1;
  options.actor_hidden = 32;
  options.critic_hidden = 32;
  options.critic_blocks = 1;
  options.gamma = 0;
  options.actor_lr = options.critic_lr = 3e-3;
  options.alpha_lr = 3e-3;
  options.seed = 2;
  std::unique_ptr<SimbaV2> simba = *SimbaV2::Create(options);
  torch::manual_seed(0);
  for (int i = 0; i < 600; ++i) {
    TransitionBatch batch;
    batch.obs = torch::ones({64, 1});
    batch.action = torch::rand({64, 1}) * 2 - 1;
    batch.reward = -4 * (batch.action.squeeze(1) - 0.5).square();
    batch.terminated = torch::ones({64});
    batch.next_obs = batch.obs.clone();
    ASSERT_TRUE(simba->Update(batch).ok());
  }
  std::unique_ptr<policies::Policy> policy = *policies::PolicyFromParameters(*simba->ExportPolicy(), 0);
  EXPECT_NEAR(Act(*policy, torch::ones({1, 1}), /*deterministic=*/true).item<float>(), 0.5f, 0.1f);
}

TEST(SimbaV2Test, BadBatchesAndOptionsAreRefusedByName) {
  std::unique_ptr<SimbaV2> simba = *SimbaV2::Create(SmallOptions());
  torch::Tensor before = simba->ParametersForTesting()["critic.embed.weight"].clone();
  TransitionBatch batch = RandomBatch(SmallOptions(), 4, 1);
  batch.action = torch::zeros({4, 3});
  EXPECT_THAT(simba->Update(batch).message(), HasSubstr("action"));
  batch = RandomBatch(SmallOptions(), 4, 1);
  batch.next_obs = torch::zeros({3, 3});
  EXPECT_THAT(simba->Update(batch).message(), HasSubstr("next_obs"));
  EXPECT_TRUE(torch::equal(simba->ParametersForTesting()["critic.embed.weight"], before));
  EXPECT_EQ(simba->updates(), 0);
  for (const auto& [change, field] : std::vector<std::pair<void (*)(SimbaV2Options&), std::string>>{
           {[](SimbaV2Options& o) { o.num_atoms = 1; }, "num_atoms"},
           {[](SimbaV2Options& o) { o.v_max = 0; }, "v_max"},
           {[](SimbaV2Options& o) { o.critic_blocks = -1; }, "critic_blocks"},
           {[](SimbaV2Options& o) { o.critic_hidden = 0; }, "critic_hidden"},
           {[](SimbaV2Options& o) { o.final_lr_fraction = 0; }, "final_lr_fraction"},
           {[](SimbaV2Options& o) { o.lr_decay_updates = 0; }, "lr_decay_updates"},
           {[](SimbaV2Options& o) { o.gamma = 1; }, "gamma"},
           {[](SimbaV2Options& o) { o.shift = -1; }, "shift"},
       }) {
    SimbaV2Options options = SmallOptions();
    change(options);
    EXPECT_THAT(SimbaV2::Create(options).status().message(), HasSubstr(field)) << field;
  }
}

}  // namespace
}  // namespace rill::learner
