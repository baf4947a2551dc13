#include "learner/algorithms/sac_discrete.h"

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "envs/catalog.h"
#include "envs/observation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/torch_policy.h"
#include "learner/algorithms/checks.h"
#include "learner/algorithms/test_util.h"
#include "learner/networks.h"
#include "policies/registry.h"
#include "policies/torso.h"
#include "learner/torch_torso.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

// The tiny SAC-discrete the hand computations below use: obs_dim 2, two
// actions, one hidden layer of 2, gamma 0.9, alpha 0.5. Learning rates are
// tiny so that the actor loss, which is computed after the critic step, sees
// critics changed by at most ~1e-6.
//
//   policy: logits = relu(obs)
//   Q1  = (relu(o1), relu(o2))          Q2  = (relu(o1), relu(o1) + relu(o2))
//   Q1t = (relu(o1) + 0.5, relu(o2))    Q2t = Q2   (targets)
//
// One transition: s = (1, 2), a = 1, r = 1, s' = (2, 1).
SacDiscreteOptions TinyOptions() {
  SacDiscreteOptions options;
  options.obs_dim = 2;
  options.num_actions = 2;
  options.hidden = {2};
  options.gamma = 0.9;
  options.initial_alpha = 0.5;
  options.actor_lr = options.critic_lr = options.alpha_lr = 1e-7;
  options.seed = 1;
  return options;
}

std::unique_ptr<SacDiscrete> TinySacDiscrete(SacDiscreteOptions options = TinyOptions()) {
  std::unique_ptr<SacDiscrete> sac = *SacDiscrete::Create(options);
  std::map<std::string, torch::Tensor> p = sac->ParametersForTesting();
  Set(p["policy.layers.0.weight"], {1, 0, 0, 1});
  Set(p["policy.layers.0.bias"], {0, 0});
  Set(p["policy.layers.1.weight"], {1, 0, 0, 1});
  Set(p["policy.layers.1.bias"], {0, 0});
  for (const std::string net : {"critic", "critic_target"}) {
    Set(p[net + ".layers.0.weight"], {1, 0, 0, 1, /**/ 1, 0, 0, 1});
    Set(p[net + ".layers.0.bias"], {0, 0, 0, 0});
    Set(p[net + ".layers.1.weight"], {1, 0, 0, 1, /**/ 1, 0, 1, 1});
  }
  Set(p["critic.layers.1.bias"], {0, 0, 0, 0});
  Set(p["critic_target.layers.1.bias"], {0.5, 0, 0, 0});
  return sac;
}

TransitionBatch TinyBatch(std::vector<float> terminated = {0}) {
  const int64_t b = static_cast<int64_t>(terminated.size());
  TransitionBatch batch;
  batch.obs = torch::tensor({1.f, 2.f}).repeat({b, 1});
  batch.action = torch::ones({b}, torch::kInt64);
  batch.reward = torch::ones({b});
  batch.terminated = torch::tensor(terminated);
  batch.next_obs = torch::tensor({2.f, 1.f}).repeat({b, 1});
  return batch;
}

// At s' = (2, 1): logits (2, 1), p' = (0.73105858, 0.26894142),
// logp' = (-0.31326169, -1.31326169). Q1t = (2.5, 1), Q2t = (2, 3):
// min = (2, 1), each action's minimum from another critic.
// V(s') = 0.73105858 (2 + 0.5 * 0.31326169) + 0.26894142 (1 + 0.5 * 1.31326169)
//       = 2.02216013, y = 1 + 0.9 V(s') = 2.81994412.
constexpr double kTinyValue = 2.02216013;
constexpr double kTinyTarget = 2.81994412;

TEST(SacDiscreteTest, TdTargetIsTheExpectationOverActions) {
  std::unique_ptr<SacDiscrete> sac = TinySacDiscrete();
  ASSERT_TRUE(sac->Update(TinyBatch()).ok());
  EXPECT_NEAR(sac->LastTargetForTesting()[0].item<double>(), kTinyTarget, 1e-5);
}

TEST(SacDiscreteTest, TerminatedItemDoesNotBootstrapButTruncatedOneDoes) {
  std::unique_ptr<SacDiscrete> sac = TinySacDiscrete();
  // Row 0 ended in a terminal state; row 1 was cut off by a time limit.
  ASSERT_TRUE(sac->Update(TinyBatch({1, 0})).ok());
  torch::Tensor target = sac->LastTargetForTesting();
  EXPECT_FLOAT_EQ(target[0].item<float>(), 1.0f);  // y = r
  EXPECT_NEAR(target[1].item<double>(), kTinyTarget, 1e-5);
}

TEST(SacDiscreteTest, DiscountColumnReplacesTheOneStepRule) {
  std::unique_ptr<SacDiscrete> sac = TinySacDiscrete();
  // n-step items: the discount column rules, whatever `terminated` says.
  TransitionBatch batch = TinyBatch({0, 0, 1});
  batch.discount = torch::tensor({0.5f, 0.f, 0.25f});
  ASSERT_TRUE(sac->Update(batch).ok());
  torch::Tensor target = sac->LastTargetForTesting();
  EXPECT_NEAR(target[0].item<double>(), 1 + 0.5 * kTinyValue, 1e-5);
  EXPECT_FLOAT_EQ(target[1].item<float>(), 1.0f);
  EXPECT_NEAR(target[2].item<double>(), 1 + 0.25 * kTinyValue, 1e-5);
}

Statistic Find(const std::vector<Statistic>& stats, const std::string& name, bool is_loss) {
  for (const Statistic& stat : stats) {
    if (stat.name == name && stat.is_loss == is_loss) return stat;
  }
  ADD_FAILURE() << "no statistic " << name << (is_loss ? " (loss)" : "");
  return {};
}

TEST(SacDiscreteTest, CriticLossMatchesHandComputation) {
  std::unique_ptr<SacDiscrete> sac = TinySacDiscrete();
  ASSERT_TRUE(sac->Update(TinyBatch()).ok());
  // Q1(s, 1) = 2, Q2(s, 1) = 1 + 2 = 3:
  // 0.5 * ((2 - 2.81994412)^2 + (3 - 2.81994412)^2) = 0.35236424.
  std::vector<Statistic> stats = sac->Statistics();
  EXPECT_NEAR(Find(stats, "critic", true).value, 0.35236424, 1e-5);
  EXPECT_NEAR(Find(stats, "q_mean", false).value, 2.5, 1e-6);
}

TEST(SacDiscreteTest, ActorAndTemperatureLossesMatchHandComputation) {
  std::unique_ptr<SacDiscrete> sac = TinySacDiscrete();
  ASSERT_TRUE(sac->Update(TinyBatch()).ok());
  // At s = (1, 2): logits (1, 2), p = (0.26894142, 0.73105858),
  // logp = (-1.31326169, -0.31326169); min(Q1, Q2)(s) = (1, 2).
  // f = 0.5 logp - minQ = (-1.65663085, -2.15663085); actor loss = p . f =
  // -2.02216013. Entropy H = 0.58220311, target 0.89 log 2 = 0.61690099:
  // alpha loss = -log_alpha (sum_a p logp + target) = -log(0.5) (target - H)
  //            = 0.69314718 * 0.03469788 = 0.02405074.
  std::vector<Statistic> stats = sac->Statistics();
  EXPECT_NEAR(Find(stats, "actor", true).value, -2.02216013, 1e-5);
  EXPECT_NEAR(Find(stats, "entropy", false).value, 0.58220311, 1e-6);
  EXPECT_NEAR(Find(stats, "alpha", false).value, 0.5, 1e-7);
  EXPECT_NEAR(Find(stats, "alpha", true).value, 0.02405074, 1e-6);
  // d alpha_loss / d log_alpha = H - target.
  EXPECT_NEAR(sac->GradientsForTesting()["log_alpha"].item<double>(), 0.58220311 - 0.61690099, 1e-6);
}

TEST(SacDiscreteTest, StatisticsHaveFixedNamesAndAreZeroBeforeTheFirstUpdate) {
  std::unique_ptr<SacDiscrete> sac = TinySacDiscrete();
  auto names = [](const std::vector<Statistic>& stats) {
    std::vector<std::string> out;
    for (const Statistic& stat : stats) out.push_back(stat.name + (stat.is_loss ? "/loss" : ""));
    return out;
  };
  std::vector<Statistic> before = sac->Statistics();
  for (const Statistic& stat : before) EXPECT_EQ(stat.value, 0) << stat.name;
  ASSERT_TRUE(sac->Update(TinyBatch()).ok());
  EXPECT_THAT(names(sac->Statistics()), ::testing::ElementsAre("critic/loss", "actor/loss", "alpha/loss", "alpha",
                                                               "q_mean", "entropy"));
  EXPECT_EQ(names(before), names(sac->Statistics()));
}

TEST(SacDiscreteTest, PrioritiesAreTheMeanAbsoluteTdErrorOfTheTwoCritics) {
  std::unique_ptr<SacDiscrete> sac = TinySacDiscrete();
  EXPECT_FALSE(sac->Priorities().defined());
  TransitionBatch batch = TinyBatch({0, 1});
  batch.action = torch::tensor({1, 0}, torch::kInt64);
  ASSERT_TRUE(sac->Update(batch).ok());
  torch::Tensor priorities = sac->Priorities();
  ASSERT_EQ(priorities.sizes(), (std::vector<int64_t>{2}));
  EXPECT_EQ(priorities.scalar_type(), torch::kFloat32);
  // Row 0: Q = (2, 3) on action 1, y = 2.81994412. Row 1: Q = (1, 1) on
  // action 0, y = r = 1.
  EXPECT_NEAR(priorities[0].item<double>(), (std::abs(2 - kTinyTarget) + std::abs(3 - kTinyTarget)) / 2, 1e-5);
  EXPECT_NEAR(priorities[1].item<double>(), 0, 1e-6);
}

torch::Tensor CriticGradients(SacDiscrete& sac) {
  std::map<std::string, torch::Tensor> grads = sac.GradientsForTesting();
  return torch::cat({grads["critic.layers.0.weight"].flatten(), grads["critic.layers.0.bias"].flatten(),
                     grads["critic.layers.1.weight"].flatten(), grads["critic.layers.1.bias"].flatten()});
}

TEST(SacDiscreteTest, ImportanceWeightsScaleEachItemsCriticGradient) {
  // Two identical items: weights (1, 1) give the unweighted gradient,
  // weights (3, 1) twice it ((3 + 1) / 2), weights (0, 0) none.
  auto critic_grads = [](std::optional<std::vector<float>> weights) {
    std::unique_ptr<SacDiscrete> sac = TinySacDiscrete();
    TransitionBatch batch = TinyBatch({0, 0});
    if (weights) batch.weight = torch::tensor(*weights);
    EXPECT_TRUE(sac->Update(batch).ok());
    return CriticGradients(*sac);
  };
  const torch::Tensor plain = critic_grads(std::nullopt);
  ASSERT_GT(plain.abs().sum().item<double>(), 0);
  EXPECT_TRUE(torch::allclose(critic_grads(std::vector<float>{1, 1}), plain));
  EXPECT_TRUE(torch::allclose(critic_grads(std::vector<float>{3, 1}), plain * 2));
  EXPECT_EQ(critic_grads(std::vector<float>{0, 0}).abs().sum().item<double>(), 0);
}

TEST(SacDiscreteTest, CriticGradientReachesOnlyTheTakenActionsOutput) {
  std::unique_ptr<SacDiscrete> sac = TinySacDiscrete();
  ASSERT_TRUE(sac->Update(TinyBatch()).ok());  // action 1 only
  std::map<std::string, torch::Tensor> grads = sac->GradientsForTesting();
  torch::Tensor bias = grads["critic.layers.1.bias"];  // [2 critics, 2 actions]
  EXPECT_EQ(bias[0][0].item<float>(), 0);
  EXPECT_EQ(bias[1][0].item<float>(), 0);
  // d loss / d Q_e(s, 1) = Q_e - y: 2 - 2.81994412 and 3 - 2.81994412.
  EXPECT_NEAR(bias[0][1].item<double>(), 2 - kTinyTarget, 1e-5);
  EXPECT_NEAR(bias[1][1].item<double>(), 3 - kTinyTarget, 1e-5);
}

double AlphaAfterUpdates(double target_entropy_fraction) {
  SacDiscreteOptions options = TinyOptions();
  options.target_entropy_fraction = target_entropy_fraction;
  options.alpha_lr = 1e-2;
  std::unique_ptr<SacDiscrete> sac = TinySacDiscrete(options);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(sac->Update(TinyBatch()).ok());
  return std::exp(sac->ParametersForTesting()["log_alpha"].item<double>());
}

TEST(SacDiscreteTest, TemperatureFallsWhenEntropyIsAboveTarget) {
  // The policy's entropy at s is 0.58, far above 0.1 log 2 = 0.069.
  EXPECT_LT(AlphaAfterUpdates(0.1), 0.5 / 1.04);
}

TEST(SacDiscreteTest, TemperatureRisesWhenEntropyIsBelowTarget) {
  // ... and below log 2 = 0.69.
  EXPECT_GT(AlphaAfterUpdates(1.0), 0.5 * 1.04);
}

TEST(SacDiscreteTest, FixedTemperatureStaysPut) {
  SacDiscreteOptions options = TinyOptions();
  options.fixed_alpha = true;
  options.alpha_lr = 1e-2;
  std::unique_ptr<SacDiscrete> sac = TinySacDiscrete(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sac->Update(TinyBatch()).ok());
  EXPECT_FLOAT_EQ(sac->ParametersForTesting()["log_alpha"].item<float>(), std::log(0.5f));
}

TEST(SacDiscreteTest, PolyakAveragingMovesTargetsByTau) {
  SacDiscreteOptions options = TinyOptions();
  options.tau = 0.25;
  options.critic_lr = 1e-2;  // so that online and target differ visibly
  std::unique_ptr<SacDiscrete> sac = TinySacDiscrete(options);
  std::map<std::string, torch::Tensor> before;
  for (auto& [name, t] : sac->ParametersForTesting()) before[name] = t.clone();
  ASSERT_TRUE(sac->Update(TinyBatch()).ok());
  std::map<std::string, torch::Tensor> after = sac->ParametersForTesting();
  for (const std::string name : {"layers.0.weight", "layers.1.weight", "layers.1.bias"}) {
    torch::Tensor online = after["critic." + name];
    EXPECT_FALSE(torch::equal(online, before["critic." + name])) << name;
    torch::Tensor expected = 0.25 * online + 0.75 * before["critic_target." + name];
    EXPECT_TRUE(torch::allclose(after["critic_target." + name], expected, 0, 1e-6)) << name;
  }
}

// ---- Against torch autograd on the losses written out directly.

TransitionBatch RandomBatch(const SacDiscreteOptions& options, int64_t b, uint64_t seed) {
  torch::manual_seed(seed);
  TransitionBatch batch;
  batch.obs = torch::randn({b, options.obs_dim});
  batch.action = torch::randint(options.num_actions, {b}, torch::kInt64);
  batch.reward = torch::randn({b});
  batch.terminated = (torch::rand({b}) < 0.3).to(torch::kFloat32);
  batch.next_obs = torch::randn({b, options.obs_dim});
  return batch;
}

TEST(SacDiscreteTest, GradientsMatchAutogradOfTheLosses) {
  SacDiscreteOptions options;
  options.obs_dim = 3;
  options.num_actions = 4;
  options.hidden = {6, 5};
  options.initial_alpha = 0.3;
  options.seed = 4;
  std::unique_ptr<SacDiscrete> sac = *SacDiscrete::Create(options);
  const int layers = 3;
  TransitionBatch batch = RandomBatch(options, 7, 11);
  batch.weight = torch::rand({7}) + 0.5;
  std::map<std::string, torch::Tensor> before;
  for (auto& [name, t] : sac->ParametersForTesting()) before[name] = t.clone();
  ASSERT_TRUE(sac->Update(batch).ok());
  std::map<std::string, torch::Tensor> after = sac->ParametersForTesting();
  std::map<std::string, torch::Tensor> grads = sac->GradientsForTesting();
  const double alpha = 0.3;

  // Critic loss with the parameters before the update.
  torch::Tensor y;
  {
    torch::NoGradGuard no_grad;
    torch::Tensor next_logits = Mlp(batch.next_obs, before, "policy", layers, -1);
    torch::Tensor next_p = torch::softmax(next_logits, 1);
    torch::Tensor next_log_p = torch::log_softmax(next_logits, 1);
    torch::Tensor min_qt = torch::min(Mlp(batch.next_obs, before, "critic_target", layers, 0),
                                      Mlp(batch.next_obs, before, "critic_target", layers, 1));
    torch::Tensor value = (next_p * (min_qt - alpha * next_log_p)).sum(1);
    y = batch.reward + options.gamma * (1 - batch.terminated) * value;
  }
  EXPECT_TRUE(torch::allclose(sac->LastTargetForTesting(), y, 1e-5, 1e-6));
  std::map<std::string, torch::Tensor> critic_leaves;
  for (auto& [name, t] : before) {
    if (name.rfind("critic.", 0) == 0) critic_leaves[name] = t.clone().requires_grad_(true);
  }
  torch::Tensor taken = batch.action.view({-1, 1});
  torch::Tensor q1 = Mlp(batch.obs, critic_leaves, "critic", layers, 0).gather(1, taken).squeeze(1);
  torch::Tensor q2 = Mlp(batch.obs, critic_leaves, "critic", layers, 1).gather(1, taken).squeeze(1);
  torch::Tensor critic_loss =
      0.5 * ((batch.weight * (q1 - y).square()).mean() + (batch.weight * (q2 - y).square()).mean());
  critic_loss.backward();
  for (auto& [name, leaf] : critic_leaves) {
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-4, 1e-6)) << name;
  }

  // Actor loss through the critics after their step.
  std::map<std::string, torch::Tensor> actor_leaves;
  for (auto& [name, t] : before) {
    if (name.rfind("policy.", 0) == 0) actor_leaves[name] = t.clone().requires_grad_(true);
  }
  torch::Tensor logits = Mlp(batch.obs, actor_leaves, "policy", layers, -1);
  torch::Tensor p = torch::softmax(logits, 1);
  torch::Tensor log_p = torch::log_softmax(logits, 1);
  torch::Tensor min_q = torch::min(Mlp(batch.obs, after, "critic", layers, 0), Mlp(batch.obs, after, "critic", layers, 1));
  torch::Tensor actor_loss = (p * (alpha * log_p - min_q)).sum(1).mean();
  actor_loss.backward();
  for (auto& [name, leaf] : actor_leaves) {
    ASSERT_GT(leaf.grad().abs().sum().item<double>(), 0) << name;
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-4, 1e-6)) << name;
  }

  // Temperature: d/dlog_alpha of -mean(log_alpha * (sum_a p logp + target)).
  const double neg_entropy = (p * log_p).sum(1).mean().item<double>();
  EXPECT_NEAR(grads["log_alpha"].item<double>(), -(neg_entropy + 0.89 * std::log(4.0)), 1e-5);
}

// ---- Learning.

TEST(SacDiscreteTest, PolicyLearnsTheBestActionOfAOneStepProblem) {
  // Three states (one-hot), reward 1 for the action matching the state, 0
  // otherwise; no bootstrap. The argmax must pick the matching action.
  SacDiscreteOptions options;
  options.obs_dim = 3;
  options.num_actions = 3;
  options.hidden = {32, 32};
  options.gamma = 0.99;
  options.actor_lr = options.critic_lr = 3e-3;
  options.seed = 2;
  std::unique_ptr<SacDiscrete> sac = *SacDiscrete::Create(options);
  torch::manual_seed(0);
  for (int i = 0; i < 400; ++i) {
    TransitionBatch batch;
    torch::Tensor state = torch::randint(3, {64}, torch::kInt64);
    batch.obs = torch::one_hot(state, 3).to(torch::kFloat32);
    batch.action = torch::randint(3, {64}, torch::kInt64);  // replay covers every action
    batch.reward = batch.action.eq(state).to(torch::kFloat32);
    batch.terminated = torch::ones({64});
    batch.next_obs = batch.obs;
    ASSERT_TRUE(sac->Update(batch).ok());
  }
  std::unique_ptr<policies::Policy> policy = *policies::PolicyFromParameters(*sac->ExportPolicy(), 0);
  torch::Tensor actions = Act(*policy, torch::eye(3), /*deterministic=*/true);
  EXPECT_TRUE(torch::equal(actions, torch::arange(3, torch::kInt64))) << actions;
  EXPECT_NEAR(sac->Statistics()[4].value, 1.0 / 3, 0.1);  // q_mean: E[r] under the uniform replay
}

// The same problem with an action mask after the state (obs_dim 6): in
// half the transitions the matching action is forbidden, and the replay
// holds only allowed actions, as masked actors write it. The policy learns
// the matching action where it is allowed and never puts probability on a
// forbidden one; the temperature, aimed at each state's own entropy, stays
// a number.
TEST(SacDiscreteTest, MaskedPolicyLearnsTheBestAllowedActionAndNeverAForbiddenOne) {
  SacDiscreteOptions options;
  options.obs_dim = 6;
  options.num_actions = 3;
  options.action_mask = true;
  options.hidden = {32, 32};
  options.actor_lr = options.critic_lr = 3e-3;
  options.seed = 2;
  std::unique_ptr<SacDiscrete> sac = *SacDiscrete::Create(options);
  torch::manual_seed(0);
  auto masked_obs = [](const torch::Tensor& state, const torch::Tensor& forbid_match) {
    torch::Tensor one_hot = torch::one_hot(state, 3).to(torch::kFloat32);
    torch::Tensor mask = 1 - one_hot * forbid_match.unsqueeze(1);
    return torch::cat({one_hot, mask}, 1);
  };
  for (int i = 0; i < 400; ++i) {
    TransitionBatch batch;
    torch::Tensor state = torch::randint(3, {64}, torch::kInt64);
    torch::Tensor forbid = torch::randint(2, {64}).to(torch::kFloat32);
    batch.obs = masked_obs(state, forbid);
    // A uniform allowed action: the matching one only where it is allowed.
    torch::Tensor action = torch::randint(3, {64}, torch::kInt64);
    action = torch::where(forbid.gt(0) & action.eq(state), (action + 1) % 3, action);
    batch.action = action;
    batch.reward = action.eq(state).to(torch::kFloat32);
    batch.terminated = torch::ones({64});
    batch.next_obs = batch.obs;
    ASSERT_TRUE(sac->Update(batch).ok());
  }
  v1::ParameterSet exported = *sac->ExportPolicy();
  EXPECT_TRUE(exported.policy().action_mask());
  std::unique_ptr<policies::Policy> policy = *policies::PolicyFromParameters(exported, 0);
  const torch::Tensor states = torch::arange(3, torch::kInt64);
  EXPECT_TRUE(torch::equal(Act(*policy, masked_obs(states, torch::zeros({3})), /*deterministic=*/true), states));
  for (int round = 0; round < 20; ++round) {
    torch::Tensor sampled = Act(*policy, masked_obs(states, torch::ones({3})), /*deterministic=*/false);
    EXPECT_FALSE(sampled.eq(states).any().item<bool>()) << "a forbidden action was drawn: " << sampled;
  }
  for (const Statistic& stat : sac->Statistics()) EXPECT_TRUE(std::isfinite(stat.value)) << stat.name;
}

// Where every state allows one action, its entropy is 0 and so is its
// target (the fraction of log 1): the temperature has nothing to chase
// and stays where it is, and its loss reads 0. Against log(num_actions)'s
// fraction it would rise every update.
TEST(SacDiscreteTest, MaskedTemperatureAimsAtEachStatesOwnEntropy) {
  SacDiscreteOptions options;
  options.obs_dim = 6;
  options.num_actions = 3;
  options.action_mask = true;
  options.hidden = {16};
  options.initial_alpha = 0.5;
  options.alpha_lr = 1e-2;
  std::unique_ptr<SacDiscrete> sac = *SacDiscrete::Create(options);
  torch::manual_seed(4);
  for (int i = 0; i < 20; ++i) {
    TransitionBatch batch;
    torch::Tensor action = torch::randint(3, {32}, torch::kInt64);
    batch.obs = torch::cat({torch::randn({32, 3}), torch::one_hot(action, 3).to(torch::kFloat32)}, 1);
    batch.action = action;
    batch.reward = torch::rand({32});
    batch.terminated = torch::zeros({32});
    batch.next_obs = batch.obs.flip(0);
    ASSERT_TRUE(sac->Update(batch).ok());
  }
  EXPECT_NEAR(Find(sac->Statistics(), "alpha", /*is_loss=*/false).value, 0.5, 1e-5);
  EXPECT_NEAR(Find(sac->Statistics(), "alpha", /*is_loss=*/true).value, 0, 1e-5);
  EXPECT_NEAR(Find(sac->Statistics(), "entropy", /*is_loss=*/false).value, 0, 1e-5);
}

TEST(SacDiscreteTest, CriticsLearnDiscountedReturnsOfAChain) {
  // A chain 0 -> 1 -> 2 -> end with reward 1 per step and a single action
  // (both actions do the same): Q = 1 + gamma + gamma^2 at state 0 with gamma
  // 0.5, i.e. 1.75, 1.5, 1. Entropy terms vanish with alpha fixed tiny.
  SacDiscreteOptions options;
  options.obs_dim = 3;
  options.num_actions = 2;
  options.hidden = {32};
  options.gamma = 0.5;
  options.tau = 0.1;
  options.critic_lr = 1e-2;
  options.initial_alpha = 1e-6;
  options.fixed_alpha = true;
  std::unique_ptr<SacDiscrete> sac = *SacDiscrete::Create(options);
  TransitionBatch batch;
  batch.obs = torch::eye(3).repeat({2, 1});
  batch.action = torch::tensor({0, 0, 0, 1, 1, 1}, torch::kInt64);
  batch.reward = torch::ones({6});
  batch.terminated = torch::tensor({0.f, 0.f, 1.f, 0.f, 0.f, 1.f});
  batch.next_obs = torch::cat({torch::eye(3).narrow(0, 1, 2), torch::zeros({1, 3})}).repeat({2, 1});
  for (int i = 0; i < 1500; ++i) ASSERT_TRUE(sac->Update(batch).ok());
  torch::Tensor target = sac->LastTargetForTesting();
  EXPECT_NEAR(target[0].item<double>(), 1.75, 0.03);
  EXPECT_NEAR(target[1].item<double>(), 1.5, 0.03);
  EXPECT_NEAR(target[2].item<double>(), 1.0, 1e-6);
}

// ---- Checkpoints and export.

TEST(SacDiscreteTest, RestoredTrainingStateReproducesTheNextUpdateExactly) {
  SacDiscreteOptions options;
  options.obs_dim = 4;
  options.num_actions = 3;
  options.hidden = {16, 16};
  options.seed = 5;
  std::unique_ptr<SacDiscrete> original = *SacDiscrete::Create(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(original->Update(RandomBatch(options, 8, i)).ok());
  std::map<std::string, torch::Tensor> saved;
  for (auto& [name, t] : original->state().Save()) saved[name] = t;
  EXPECT_THAT(original->state().names(), ::testing::IsSupersetOf({"policy", "critic", "critic_target", "log_alpha",
                                                                  "policy_adam.exp_avg", "critic_adam.step",
                                                                  "alpha_adam.exp_avg_sq", "updates"}));

  options.seed = 6;  // other initial weights: Restore must replace them
  std::unique_ptr<SacDiscrete> restored = *SacDiscrete::Create(options);
  ASSERT_TRUE(restored->state().Restore(saved).ok());
  EXPECT_EQ(restored->updates(), 3);

  TransitionBatch batch = RandomBatch(options, 8, 42);
  ASSERT_TRUE(original->Update(batch).ok());
  ASSERT_TRUE(restored->Update(batch).ok());
  std::map<std::string, torch::Tensor> a = original->ParametersForTesting();
  std::map<std::string, torch::Tensor> b = restored->ParametersForTesting();
  for (auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b[name])) << name;
  EXPECT_EQ(original->Statistics()[0].value, restored->Statistics()[0].value);
}

TEST(SacDiscreteTest, RestoreRejectsAnotherNetworkSizeAndChangesNothing) {
  std::unique_ptr<SacDiscrete> small = *SacDiscrete::Create(TinyOptions());
  std::map<std::string, torch::Tensor> saved;
  for (auto& [name, t] : small->state().Save()) saved[name] = t;
  SacDiscreteOptions options = TinyOptions();
  options.hidden = {3};
  std::unique_ptr<SacDiscrete> other = *SacDiscrete::Create(options);
  torch::Tensor before = other->ParametersForTesting()["critic.layers.0.weight"].clone();
  absl::Status status = other->state().Restore(saved);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("policy"));
  EXPECT_TRUE(torch::equal(other->ParametersForTesting()["critic.layers.0.weight"], before));
}

TEST(SacDiscreteTest, ExportedPolicyIsACategoricalPolicyWhoseArgmaxMatchesThePolicyNetwork) {
  SacDiscreteOptions options;
  options.obs_dim = 5;
  options.num_actions = 4;
  options.hidden = {8, 8};
  std::unique_ptr<SacDiscrete> sac = *SacDiscrete::Create(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sac->Update(RandomBatch(options, 16, i)).ok());
  v1::ParameterSet exported = *sac->ExportPolicy();
  EXPECT_EQ(exported.policy().kind(), "categorical");
  EXPECT_EQ(exported.policy().obs_dim(), 5);
  EXPECT_EQ(exported.policy().action_dim(), 4);
  EXPECT_THAT(exported.policy().hidden_sizes(), ::testing::ElementsAre(8, 8));
  absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::PolicyFromParameters(exported, 3);
  ASSERT_TRUE(policy.ok()) << policy.status();
  torch::manual_seed(9);
  torch::Tensor obs = torch::randn({64, 5});
  torch::Tensor expected = Mlp(obs, sac->ParametersForTesting(), "policy", 3, -1).argmax(1);
  EXPECT_TRUE(torch::equal(Act(**policy, obs, /*deterministic=*/true), expected));
}

// ---- Bad input.

TEST(SacDiscreteTest, UpdateRejectsABatchWithoutTheActionColumn) {
  std::unique_ptr<SacDiscrete> sac = TinySacDiscrete();
  TransitionBatch view = TinyBatch();
  Batch batch;
  batch.columns = {{"obs", view.obs}, {"reward", view.reward}, {"terminated", view.terminated},
                   {"next_obs", view.next_obs}};
  batch.size = 1;
  absl::Status status = sac->Update(batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("action"));
  EXPECT_EQ(sac->updates(), 0);
  batch.columns["action"] = view.action;
  EXPECT_TRUE(sac->Update(batch).ok());
  EXPECT_EQ(sac->updates(), 1);
}

TEST(SacDiscreteTest, Uint8ImageColumnsTrainAsTheirFloatsOver255) {
  SacDiscreteOptions options = TinyOptions();
  options.observation_type = envs::ObservationType::kUint8;
  const std::vector<ColumnRequirement> columns = TinySacDiscrete(options)->Columns();
  ASSERT_EQ(columns[0].name, "obs");
  EXPECT_EQ(columns[0].dtype, v1::DTYPE_UINT8);
  ASSERT_EQ(columns[4].name, "next_obs");
  EXPECT_EQ(columns[4].dtype, v1::DTYPE_UINT8);

  // The same transitions as bytes and as the floats the actors see.
  const torch::Tensor pixels = torch::tensor({{51, 255}, {0, 128}}, torch::kUInt8);
  const torch::Tensor next_pixels = torch::tensor({{255, 3}, {77, 1}}, torch::kUInt8);
  auto batch_of = [](const torch::Tensor& obs, const torch::Tensor& next_obs) {
    Batch batch;
    batch.size = 2;
    batch.columns = {{"obs", obs}, {"action", torch::tensor({1, 0}, torch::kInt64)},
                     {"reward", torch::tensor({1.f, 0.f})}, {"terminated", torch::zeros({2})},
                     {"next_obs", next_obs}};
    return batch;
  };
  std::vector<float> scaled(4);
  const std::vector<uint8_t> bytes = {51, 255, 0, 128};
  envs::EnvSpec image;
  image.observation_shape = {2};
  image.observation_type = envs::ObservationType::kUint8;
  std::vector<float> scratch;
  const float* actor_view = envs::ObservationsAsFloat(image, bytes.data(), 2, &scratch);
  EXPECT_TRUE(torch::equal(FloatObservations(pixels), torch::from_blob(const_cast<float*>(actor_view), {2, 2})))
      << "the learner scales pixels as the actors do, bit for bit";

  std::unique_ptr<SacDiscrete> from_bytes = TinySacDiscrete(options);
  std::unique_ptr<SacDiscrete> from_floats = TinySacDiscrete();
  ASSERT_TRUE(from_bytes->Update(batch_of(pixels, next_pixels)).ok());
  ASSERT_TRUE(from_floats
                  ->Update(batch_of(pixels.to(torch::kFloat32) * envs::kUint8ObservationScale,
                                    next_pixels.to(torch::kFloat32) * envs::kUint8ObservationScale))
                  .ok());
  std::map<std::string, torch::Tensor> expected = from_floats->ParametersForTesting();
  for (auto& [name, t] : from_bytes->ParametersForTesting()) EXPECT_TRUE(torch::equal(t, expected[name])) << name;
}

void ExpectRejectedNaming(const TransitionBatch& batch, const std::string& field) {
  std::unique_ptr<SacDiscrete> sac = TinySacDiscrete();
  std::map<std::string, torch::Tensor> before;
  for (auto& [name, t] : sac->ParametersForTesting()) before[name] = t.clone();
  absl::Status status = sac->Update(batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(field));
  EXPECT_EQ(sac->updates(), 0);
  for (auto& [name, t] : sac->ParametersForTesting()) EXPECT_TRUE(torch::equal(t, before[name])) << name;
}

TEST(SacDiscreteTest, UpdateRejectsAFloatActionColumn) {
  TransitionBatch batch = TinyBatch();
  batch.action = torch::ones({1});
  ExpectRejectedNaming(batch, "batch.action");
}

TEST(SacDiscreteTest, UpdateRejectsActionIndicesOutOfRange) {
  TransitionBatch batch = TinyBatch({0, 0});
  batch.action = torch::tensor({0, 2}, torch::kInt64);
  ExpectRejectedNaming(batch, "batch.action");
  batch.action = torch::tensor({-1, 1}, torch::kInt64);
  ExpectRejectedNaming(batch, "batch.action");
}

TEST(SacDiscreteTest, UpdateRejectsAnActionColumnWithAnItemDimension) {
  TransitionBatch batch = TinyBatch();
  batch.action = torch::ones({1, 1}, torch::kInt64);
  ExpectRejectedNaming(batch, "batch.action");
}

TEST(SacDiscreteTest, UpdateRejectsMismatchedOptionalColumns) {
  TransitionBatch batch = TinyBatch({0, 0});
  batch.weight = torch::ones({3});
  ExpectRejectedNaming(batch, "batch.weight");
  batch = TinyBatch({0, 0});
  batch.discount = torch::ones({2}, torch::kFloat64);
  ExpectRejectedNaming(batch, "batch.discount");
}

TEST(SacDiscreteTest, UpdateRejectsWrongObservationWidth) {
  TransitionBatch batch = TinyBatch();
  batch.next_obs = torch::zeros({1, 3});
  ExpectRejectedNaming(batch, "batch.next_obs");
}

// ---- Construction.

v1::ExperimentConfig DiscreteConfig() {
  v1::ExperimentConfig config;
  config.mutable_network()->add_hidden_sizes(16);
  config.mutable_network()->add_hidden_sizes(16);
  v1::LearnerConfig& learner = *config.mutable_learner();
  learner.set_gamma(0.95);
  learner.set_tau(0.01);
  v1::SacDiscreteConfig& sac = *learner.mutable_sac_discrete();
  sac.set_actor_lr(1e-3);
  sac.set_critic_lr(2e-3);
  sac.set_alpha_lr(3e-3);
  sac.set_initial_alpha(0.2);
  sac.set_target_entropy_fraction(0.5);
  return config;
}

envs::EnvSpec CartPoleLikeEnv() { return *envs::LookupEnvSpec("CartPole-v1"); }

TEST(SacDiscreteTest, FromConfigReadsTheLearnerSectionAndTheEnv) {
  AlgorithmContext context;
  context.config = DiscreteConfig();
  context.env = CartPoleLikeEnv();
  absl::StatusOr<std::unique_ptr<Algorithm>> algorithm = SacDiscrete::FromConfig(context);
  ASSERT_TRUE(algorithm.ok()) << algorithm.status();
  EXPECT_EQ((*algorithm)->name(), "sac_discrete");
  const SacDiscreteOptions& options = static_cast<SacDiscrete&>(**algorithm).options();
  EXPECT_EQ(options.obs_dim, 4);
  EXPECT_EQ(options.num_actions, 2);
  EXPECT_THAT(options.hidden, ::testing::ElementsAre(16, 16));
  EXPECT_EQ(options.gamma, 0.95);
  EXPECT_EQ(options.tau, 0.01);
  EXPECT_EQ(options.actor_lr, 1e-3);
  EXPECT_EQ(options.critic_lr, 2e-3);
  EXPECT_EQ(options.alpha_lr, 3e-3);
  EXPECT_EQ(options.initial_alpha, 0.2);
  EXPECT_NEAR(static_cast<SacDiscrete&>(**algorithm).target_entropy(), 0.5 * std::log(2.0), 1e-12);
  std::vector<ColumnRequirement> columns = (*algorithm)->Columns();
  ASSERT_EQ(columns.size(), 6u);
  EXPECT_EQ(columns[1].name, "action");
  EXPECT_EQ(columns[1].dtype, v1::DTYPE_INT64);
  EXPECT_TRUE(columns[1].shape.empty());
}

TEST(SacDiscreteTest, FromConfigRejectsAContinuousEnv) {
  AlgorithmContext context;
  context.config = DiscreteConfig();
  context.env.name = "Pendulum-v1";
  context.env.observation_shape = {3};
  context.env.action_low = {-2};
  context.env.action_high = {2};
  absl::StatusOr<std::unique_ptr<Algorithm>> algorithm = SacDiscrete::FromConfig(context);
  EXPECT_EQ(algorithm.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(algorithm.status().message(), HasSubstr("discrete"));
  EXPECT_THAT(algorithm.status().message(), HasSubstr("Pendulum-v1"));
}

TEST(SacDiscreteTest, CreateRejectsBadOptions) {
  SacDiscreteOptions options = TinyOptions();
  options.num_actions = 0;
  EXPECT_EQ(SacDiscrete::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = TinyOptions();
  options.target_entropy_fraction = 0;
  EXPECT_EQ(SacDiscrete::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = TinyOptions();
  options.hidden = {};
  EXPECT_EQ(SacDiscrete::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = TinyOptions();
  options.critic_lr = 0;
  EXPECT_EQ(SacDiscrete::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SacDiscreteTest, UpdateMatmulFlopsCountsEveryMatmul) {
  SacDiscreteOptions options;
  options.obs_dim = 2;
  options.num_actions = 2;
  options.hidden = {3};
  std::unique_ptr<SacDiscrete> sac = *SacDiscrete::Create(options);
  // Networks 2 -> 3 -> 2 (12 multiply-adds per row), batch 4; 2*M*N*K per matmul:
  //   policy forward on 8 rows: 2*8*12                              = 192
  //   target critics forward: 2 members * 2*4*12                    = 192
  //   critics forward, their weight gradients: 192 + 192            = 384
  //   critic input gradient of layer 1: 2 members * 2*4*3*2         =  96
  //   updated critics forward                                       = 192
  //   policy weight gradients on 4 rows: 2*4*12                     =  96
  //   policy input gradient of layer 1: 2*4*3*2                     =  48
  EXPECT_EQ(sac->UpdateMatmulFlops(4), 1200);
}

// ---- A convolutional torso (image observations).

SacDiscreteOptions ImageOptions() {
  SacDiscreteOptions options;
  options.observation_shape = {4, 10, 10};
  options.obs_dim = 400;
  options.observation_type = envs::ObservationType::kUint8;
  options.num_actions = 3;
  options.hidden = {16};
  options.torso = policies::MinAtarCnnLayers();
  options.seed = 3;
  return options;
}

TransitionBatch ImageBatch(int64_t b, uint64_t seed) {
  torch::manual_seed(seed);
  TransitionBatch batch;
  batch.obs = (torch::rand({b, 400}) < 0.2).to(torch::kFloat32);
  batch.action = torch::randint(3, {b}, torch::kInt64);
  batch.reward = torch::randn({b});
  batch.terminated = torch::zeros({b});
  batch.next_obs = (torch::rand({b, 400}) < 0.2).to(torch::kFloat32);
  return batch;
}

// The critic loss trains the shared encoder: its first Adam step moves
// every parameter against the sign of d critic_loss / d parameter, computed
// here by autograd through the torso and the critics as they were before
// the step; the target encoder moves by tau towards it.
TEST(SacDiscreteTest, ConvTorsoIsTrainedByTheCriticLoss) {
  SacDiscreteOptions options = ImageOptions();
  std::unique_ptr<SacDiscrete> sac = *SacDiscrete::Create(options);
  std::map<std::string, torch::Tensor> before;
  for (auto& [name, t] : sac->ParametersForTesting()) before[name] = t.clone();
  const TransitionBatch batch = ImageBatch(8, 1);
  ASSERT_TRUE(sac->Update(batch).ok());
  std::map<std::string, torch::Tensor> after = sac->ParametersForTesting();

  const TorchTorso torso = *TorchTorso::Create(options.torso, {4, 10, 10});
  torch::Tensor encoder = before["encoder"].clone().requires_grad_(true);
  std::vector<torch::Tensor> views;
  int64_t offset = 0;
  for (const policies::TorsoParameter& p : torso.Parameters("policy")) {
    int64_t size = 1;
    for (int64_t d : p.shape) size *= d;
    views.push_back(encoder.narrow(0, offset, size).view(p.shape));
    offset += size;
  }
  torch::Tensor h = torso.Forward(batch.obs, views);  // [B, F]
  const torch::Tensor w0 = before["critic.layers.0.weight"], b0 = before["critic.layers.0.bias"];
  const torch::Tensor w1 = before["critic.layers.1.weight"], b1 = before["critic.layers.1.bias"];
  torch::Tensor loss = torch::zeros({});
  const torch::Tensor target = sac->LastTargetForTesting();
  for (int64_t e = 0; e < 2; ++e) {
    torch::Tensor z = torch::relu(torch::addmm(b0[e].view({1, -1}), h, w0[e].t()));
    torch::Tensor q = torch::addmm(b1[e].view({1, -1}), z, w1[e].t()).gather(1, batch.action.view({-1, 1})).view(-1);
    loss = loss + 0.5 * (q - target).square().mean();
  }
  const torch::Tensor grad = torch::autograd::grad({loss}, {encoder})[0];
  const torch::Tensor moved = after["encoder"] - before["encoder"];
  const torch::Tensor clear = grad.abs() > 1e-6;
  ASSERT_GT(clear.sum().item<int64_t>(), 100);
  EXPECT_TRUE(torch::equal(moved.sign().masked_select(clear), grad.neg().sign().masked_select(clear)));
  EXPECT_TRUE(torch::allclose(after["encoder_target"],
                              before["encoder_target"] + options.tau * (after["encoder"] - before["encoder_target"]),
                              1e-5, 1e-6));
  EXPECT_FALSE(torch::equal(after["encoder_target"], before["encoder_target"]));
}

// The exported policy is the encoder and the policy MLP, as a categorical
// image policy the actors load; a restored training state (encoder, its
// target and its Adam state included) reproduces the next update exactly.
TEST(SacDiscreteTest, ConvTorsoIsExportedWithThePolicyAndCheckpointed) {
  SacDiscreteOptions options = ImageOptions();
  std::unique_ptr<SacDiscrete> original = *SacDiscrete::Create(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(original->Update(ImageBatch(8, i)).ok());
  const v1::ParameterSet exported = *original->ExportPolicy();
  EXPECT_EQ(exported.tensors(0).name(), "policy.torso.0.weight");
  EXPECT_EQ(exported.policy().torso_size(), 1);
  EXPECT_EQ(exported.policy().observation_dtype(), v1::DTYPE_UINT8);
  absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::PolicyFromParameters(exported, 1);
  ASSERT_TRUE(policy.ok()) << policy.status();

  std::map<std::string, torch::Tensor> saved;
  for (auto& [name, t] : original->state().Save()) saved[name] = t;
  EXPECT_THAT(original->state().names(),
              ::testing::IsSupersetOf({"encoder", "encoder_target", "encoder_adam.exp_avg", "encoder_adam.step"}));
  options.seed = 9;
  std::unique_ptr<SacDiscrete> restored = *SacDiscrete::Create(options);
  ASSERT_TRUE(restored->state().Restore(saved).ok());
  const TransitionBatch batch = ImageBatch(8, 42);
  ASSERT_TRUE(original->Update(batch).ok());
  ASSERT_TRUE(restored->Update(batch).ok());
  std::map<std::string, torch::Tensor> a = original->ParametersForTesting();
  std::map<std::string, torch::Tensor> b = restored->ParametersForTesting();
  for (auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b[name])) << name;
}

// A Dict observation (a uint8 [1, 5, 5] image and 3 float32 flat leaves,
// the last 2 of them the mask): packed rows train, the torso runs on the
// image with the flat leaves beside its features, and the exported policy
// (flat_dim 3, masked) picks what the learner's policy network does.
TEST(SacDiscreteTest, ADictObservationsFlatLeavesSitBesideTheTorsosFeatures) {
  SacDiscreteOptions options;
  options.observation_shape = {1, 5, 5};
  options.flat_dim = 3;
  options.obs_dim = 25 + 3;
  options.observation_type = envs::ObservationType::kUint8;
  options.num_actions = 2;
  options.action_mask = true;
  options.hidden = {16};
  options.torso = policies::MinAtarCnnLayers();
  options.seed = 4;
  absl::StatusOr<std::unique_ptr<SacDiscrete>> sac = SacDiscrete::Create(options);
  ASSERT_TRUE(sac.ok()) << sac.status();
  const std::vector<ColumnRequirement> columns = (*sac)->Columns();
  ASSERT_EQ(columns[0].name, "obs");
  EXPECT_EQ(columns[0].dtype, v1::DTYPE_UINT8);
  EXPECT_EQ(columns[0].shape, (std::vector<int64_t>{25 + 12})) << "a packed row's bytes";
  // Packed rows: 25 pixels, then (goal, mask_0, mask_1) as float32 bytes.
  auto rows = [](int64_t b, uint64_t seed) {
    torch::manual_seed(seed);
    torch::Tensor packed = torch::randint(0, 256, {b, 37}).to(torch::kUInt8);
    const torch::Tensor flat = torch::stack({torch::randn({b}), torch::ones({b}), (torch::rand({b}) < 0.5).to(torch::kFloat32)}, 1);
    for (int64_t r = 0; r < b; ++r) std::memcpy(packed[r].data_ptr<uint8_t>() + 25, flat[r].data_ptr<float>(), 12);
    return packed;
  };
  for (int i = 0; i < 3; ++i) {
    Batch batch;
    batch.size = 8;
    batch.columns = {{"obs", rows(8, i)}, {"action", torch::zeros({8}, torch::kInt64)},
                     {"reward", torch::randn({8})}, {"terminated", torch::zeros({8})},
                     {"next_obs", rows(8, 100 + i)}};
    ASSERT_TRUE((*sac)->Update(batch).ok());
  }
  EXPECT_EQ((*sac)->updates(), 3);

  const v1::ParameterSet exported = *(*sac)->ExportPolicy();
  EXPECT_EQ(exported.policy().flat_dim(), 3);
  EXPECT_EQ(exported.policy().obs_dim(), 28);
  EXPECT_TRUE(exported.policy().action_mask());
  absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::PolicyFromParameters(exported, 1);
  ASSERT_TRUE(policy.ok()) << policy.status();
  // The learner's policy network on the same floats: the torso on the
  // image (its encoder), the flat leaves beside, then the MLP; masked.
  const torch::Tensor obs = FloatObservations(rows(64, 7), 3);
  std::map<std::string, torch::Tensor> p = (*sac)->ParametersForTesting();
  TorchTorso torso = *TorchTorso::Create(options.torso, {1, 5, 5});
  const torch::Tensor features =
      torch::cat({torso.Forward(obs.narrow(1, 0, 25), torso.Views(p["encoder"])), obs.narrow(1, 25, 3)}, 1);
  const torch::Tensor logits = Mlp(features, p, "policy", 2, -1);
  const torch::Tensor allowed = obs.narrow(1, 26, 2) > 0;
  const torch::Tensor expected = logits.masked_fill(allowed.logical_not(), -1e30).argmax(1);
  EXPECT_TRUE(torch::equal(Act(**policy, obs, /*deterministic=*/true), expected));
  // The flat leaves move the logits.
  torch::Tensor moved = features.clone();
  moved.narrow(1, features.size(1) - 3, 1).mul_(-5);
  EXPECT_FALSE(torch::allclose(Mlp(moved, p, "policy", 2, -1), logits));
}

}  // namespace
}  // namespace rill::learner
