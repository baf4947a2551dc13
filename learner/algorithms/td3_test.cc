#include "learner/algorithms/td3.h"

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/torch_policy.h"
#include "learner/algorithms/test_util.h"
#include "learner/algorithms/spec.h"
#include "learner/networks.h"
#include "policies/registry.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

std::map<std::string, torch::Tensor> Copy(const std::map<std::string, torch::Tensor>& named) {
  std::map<std::string, torch::Tensor> copy;
  for (const auto& [name, t] : named) copy[name] = t.clone();
  return copy;
}

// True when every tensor whose name starts with `prefix` equals its copy in
// `before`.
bool Unchanged(const std::map<std::string, torch::Tensor>& before, const std::map<std::string, torch::Tensor>& after,
               const std::string& prefix) {
  bool any = false;
  for (const auto& [name, t] : after) {
    if (name.rfind(prefix, 0) != 0) continue;
    any = true;
    if (!torch::equal(t, before.at(name))) return false;
  }
  EXPECT_TRUE(any) << "no parameter starts with " << prefix;
  return true;
}

envs::EnvSpec ContinuousEnv(int obs_dim, int act_dim, float bound = 1) {
  envs::EnvSpec env;
  env.name = "Tiny-v0";
  env.observation_shape = {obs_dim};
  env.action_low.assign(act_dim, -bound);
  env.action_high.assign(act_dim, bound);
  env.max_episode_steps = 100;
  return env;
}

// The tiny TD3 the hand computations below use: obs_dim 2, act_dim 1, one
// hidden layer of 2, two critics, gamma 0.9. Learning rates are tiny so that
// the actor loss, computed after the critic step, sees critics changed by at
// most ~1e-6.
//
//   policy:        a  = tanh(0.5 relu(o1))
//   policy_target: a' = tanh(0.5 relu(o1) + 0.25)
//   Q1  = relu(o1) + relu(a)          Q2  = relu(o2) + 2 relu(a)
//   Q1t = relu(o1) + relu(a) + 0.5    Q2t = relu(o2) + 2 relu(a)   (targets)
//
// One transition: s = (1, 2), a = 0.5, r = 1, s' = (2, 1).
Td3Options TinyOptions() {
  Td3Options options;
  options.env = ContinuousEnv(2, 1);
  options.hidden = {2};
  options.gamma = 0.9;
  options.actor_lr = options.critic_lr = 1e-7;
  options.seed = 1;
  return options;
}

std::unique_ptr<Td3> TinyTd3(Td3Options options = TinyOptions()) {
  std::unique_ptr<Td3> td3 = *Td3::Create(options);
  std::map<std::string, torch::Tensor> p = td3->ParametersForTesting();
  for (const std::string net : {"policy", "policy_target"}) {
    Set(p[net + ".layers.0.weight"], {1, 0, 0, 1});
    Set(p[net + ".layers.0.bias"], {0, 0});
    Set(p[net + ".layers.1.weight"], {0.5, 0});
  }
  Set(p["policy.layers.1.bias"], {0});
  Set(p["policy_target.layers.1.bias"], {0.25});
  for (const std::string net : {"critic", "critic_target"}) {
    // Member 1 sees (o1, a), member 2 sees (o2, a).
    Set(p[net + ".layers.0.weight"], {1, 0, 0, 0, 0, 1, /**/ 0, 1, 0, 0, 0, 1});
    Set(p[net + ".layers.0.bias"], {0, 0, 0, 0});
    Set(p[net + ".layers.1.weight"], {1, 1, /**/ 1, 2});
  }
  Set(p["critic.layers.1.bias"], {0, 0});
  Set(p["critic_target.layers.1.bias"], {0.5, 0});
  return td3;
}

TransitionBatch TinyBatch(std::vector<float> terminated = {0}) {
  const int64_t b = static_cast<int64_t>(terminated.size());
  TransitionBatch batch;
  batch.obs = torch::tensor({1.f, 2.f}).repeat({b, 1});
  batch.action = torch::full({b, 1}, 0.5f);
  batch.reward = torch::ones({b});
  batch.terminated = torch::tensor(terminated);
  batch.next_obs = torch::tensor({2.f, 1.f}).repeat({b, 1});
  return batch;
}

absl::Status NoiselessUpdate(Td3& td3, const TransitionBatch& batch) {
  return td3.UpdateWithNoiseForTesting(batch, torch::zeros({batch.obs.size(0), 1}));
}

// a' at s' = (2, 1): tanh(1 + 0.25) = 0.84828364.
// Q1t(s', a') = 2 + 0.84828364 + 0.5 = 3.34828364,
// Q2t(s', a') = 1 + 2 * 0.84828364 = 2.69656728 (the smaller).
// y = 1 + 0.9 * 2.69656728 = 3.42691055.
constexpr double kTinyNextAction = 0.84828364;
constexpr double kTinyTarget = 3.42691055;

TEST(Td3Test, TdTargetMatchesHandComputation) {
  std::unique_ptr<Td3> td3 = TinyTd3();
  ASSERT_TRUE(NoiselessUpdate(*td3, TinyBatch()).ok());
  EXPECT_NEAR(td3->LastTargetActionForTesting()[0][0].item<double>(), kTinyNextAction, 1e-6);
  EXPECT_NEAR(td3->LastTargetForTesting()[0].item<double>(), kTinyTarget, 1e-5);
}

TEST(Td3Test, TargetTakesTheSmallerCriticPerTransition) {
  std::unique_ptr<Td3> td3 = TinyTd3();
  TransitionBatch batch = TinyBatch({0, 0});
  // Row 1: s' = (0, 3), a' = tanh(0.25) = 0.24491866: Q1t = 0.74491866 is
  // below Q2t = 3.48983732, so y = 1 + 0.9 * 0.74491866 = 1.67042679.
  batch.next_obs = torch::tensor({{2.f, 1.f}, {0.f, 3.f}});
  ASSERT_TRUE(NoiselessUpdate(*td3, batch).ok());
  torch::Tensor target = td3->LastTargetForTesting();
  EXPECT_NEAR(target[0].item<double>(), kTinyTarget, 1e-5);
  EXPECT_NEAR(target[1].item<double>(), 1.67042679, 1e-5);
}

TEST(Td3Test, TerminatedTransitionDoesNotBootstrapButTruncatedOneDoes) {
  std::unique_ptr<Td3> td3 = TinyTd3();
  ASSERT_TRUE(NoiselessUpdate(*td3, TinyBatch({1, 0})).ok());
  torch::Tensor target = td3->LastTargetForTesting();
  EXPECT_FLOAT_EQ(target[0].item<float>(), 1.0f);  // y = r
  EXPECT_NEAR(target[1].item<double>(), kTinyTarget, 1e-5);
}

TEST(Td3Test, DiscountColumnReplacesGammaForNStepItems) {
  std::unique_ptr<Td3> td3 = TinyTd3();
  TransitionBatch batch = TinyBatch({0, 1});
  // An n-step item's factor on the bootstrapped value; 0 after a
  // termination, whatever `terminated` says.
  batch.discount = torch::tensor({0.5f, 0.f});
  ASSERT_TRUE(NoiselessUpdate(*td3, batch).ok());
  torch::Tensor target = td3->LastTargetForTesting();
  EXPECT_NEAR(target[0].item<double>(), 1 + 0.5 * 2.69656728, 1e-5);
  EXPECT_FLOAT_EQ(target[1].item<float>(), 1.0f);
}

TEST(Td3Test, TargetNoiseIsClippedAndTheTargetActionClamped) {
  std::unique_ptr<Td3> td3 = TinyTd3();  // target_noise_clip 0.5
  ASSERT_TRUE(td3->UpdateWithNoiseForTesting(TinyBatch({0, 0, 0}), torch::tensor({{100.f}, {-100.f}, {0.1f}})).ok());
  torch::Tensor next_action = td3->LastTargetActionForTesting();
  // 0.848 + 0.5 clamped to 1; 0.848 - 0.5; 0.848 + 0.1 (inside the clip).
  EXPECT_FLOAT_EQ(next_action[0][0].item<float>(), 1.0f);
  EXPECT_NEAR(next_action[1][0].item<double>(), kTinyNextAction - 0.5, 1e-6);
  EXPECT_NEAR(next_action[2][0].item<double>(), kTinyNextAction + 0.1, 1e-6);
  // a' = 1: Q2t = 1 + 2 = 3 < Q1t = 3.5, y = 1 + 0.9 * 3.
  EXPECT_NEAR(td3->LastTargetForTesting()[0].item<double>(), 3.7, 1e-5);
}

TEST(Td3Test, UpdateDrawsClippedSmoothingNoiseOfTheConfiguredStd) {
  Td3Options options = TinyOptions();
  options.target_noise = 0.2;
  options.target_noise_clip = 0.5;
  std::unique_ptr<Td3> td3 = TinyTd3(options);
  TransitionBatch batch = TinyBatch(std::vector<float>(4000, 0));
  batch.next_obs = torch::tensor({-1.f, 0.f}).repeat({4000, 1});  // a' = tanh(0.25), far from the bounds
  ASSERT_TRUE(td3->Update(batch).ok());
  torch::Tensor noise = td3->LastTargetActionForTesting().squeeze(1) - std::tanh(0.25);
  EXPECT_LE(noise.abs().max().item<double>(), 0.5 + 1e-6);
  EXPECT_NEAR(noise.mean().item<double>(), 0.0, 0.01);
  // N(0, 0.2) clipped at 2.5 std has std 0.1975.
  EXPECT_NEAR(noise.std().item<double>(), 0.1975, 0.008);
}

TEST(Td3Test, ZeroTargetNoiseLeavesTheTargetActionAlone) {
  Td3Options options = TinyOptions();
  options.target_noise = 0;
  std::unique_ptr<Td3> td3 = TinyTd3(options);
  ASSERT_TRUE(td3->Update(TinyBatch()).ok());
  EXPECT_NEAR(td3->LastTargetActionForTesting()[0][0].item<double>(), kTinyNextAction, 1e-6);
  EXPECT_NEAR(td3->LastTargetForTesting()[0].item<double>(), kTinyTarget, 1e-5);
}

TEST(Td3Test, ActorAndTargetsMoveOnlyEveryPolicyDelayUpdates) {
  Td3Options options = TinyOptions();
  options.actor_lr = options.critic_lr = 1e-3;
  options.policy_delay = 2;
  std::unique_ptr<Td3> td3 = TinyTd3(options);
  std::map<std::string, torch::Tensor> before = Copy(td3->ParametersForTesting());
  ASSERT_TRUE(NoiselessUpdate(*td3, TinyBatch()).ok());
  std::map<std::string, torch::Tensor> after_first = Copy(td3->ParametersForTesting());
  EXPECT_FALSE(Unchanged(before, after_first, "critic."));
  EXPECT_TRUE(Unchanged(before, after_first, "policy."));
  EXPECT_TRUE(Unchanged(before, after_first, "policy_target."));
  EXPECT_TRUE(Unchanged(before, after_first, "critic_target."));

  ASSERT_TRUE(NoiselessUpdate(*td3, TinyBatch()).ok());
  std::map<std::string, torch::Tensor> after_second = td3->ParametersForTesting();
  EXPECT_FALSE(Unchanged(after_first, after_second, "critic."));
  EXPECT_FALSE(Unchanged(after_first, after_second, "policy."));
  EXPECT_FALSE(Unchanged(after_first, after_second, "policy_target."));
  EXPECT_FALSE(Unchanged(after_first, after_second, "critic_target."));
  EXPECT_EQ(td3->updates(), 2);
}

TEST(Td3Test, ActorAndTargetsMoveEveryUpdateWithoutDelay) {
  Td3Options options = TinyOptions();
  options.actor_lr = options.critic_lr = 1e-3;
  options.policy_delay = 1;
  std::unique_ptr<Td3> td3 = TinyTd3(options);
  for (int i = 0; i < 2; ++i) {
    std::map<std::string, torch::Tensor> before = Copy(td3->ParametersForTesting());
    ASSERT_TRUE(NoiselessUpdate(*td3, TinyBatch()).ok());
    std::map<std::string, torch::Tensor> after = td3->ParametersForTesting();
    for (const std::string prefix : {"critic.", "policy.", "policy_target.", "critic_target."}) {
      EXPECT_FALSE(Unchanged(before, after, prefix)) << prefix << " after update " << i + 1;
    }
  }
}

TEST(Td3Test, PolyakAveragingMovesBothTargetsByTau) {
  Td3Options options = TinyOptions();
  options.tau = 0.25;
  options.policy_delay = 1;
  options.actor_lr = options.critic_lr = 1e-2;  // so that online and target differ visibly
  std::unique_ptr<Td3> td3 = TinyTd3(options);
  std::map<std::string, torch::Tensor> before = Copy(td3->ParametersForTesting());
  ASSERT_TRUE(NoiselessUpdate(*td3, TinyBatch()).ok());
  std::map<std::string, torch::Tensor> after = td3->ParametersForTesting();
  for (const std::string net : {"policy", "critic"}) {
    for (const std::string name : {".layers.0.weight", ".layers.0.bias", ".layers.1.weight", ".layers.1.bias"}) {
      torch::Tensor expected = 0.25 * after[net + name] + 0.75 * before[net + "_target" + name];
      EXPECT_TRUE(torch::allclose(after[net + "_target" + name], expected, 0, 1e-6)) << net << name;
    }
  }
}

TEST(Td3Test, StatisticsAndPrioritiesMatchHandComputation) {
  std::unique_ptr<Td3> td3 = TinyTd3();
  std::vector<Statistic> stats = td3->Statistics();
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_FALSE(td3->Priorities().defined());
  Td3Options options = TinyOptions();
  options.policy_delay = 1;
  td3 = TinyTd3(options);
  ASSERT_TRUE(NoiselessUpdate(*td3, TinyBatch({0, 0})).ok());
  stats = td3->Statistics();
  ASSERT_EQ(stats.size(), 3u);
  // Q1(s, 0.5) = 1.5, Q2(s, 0.5) = 3: (1.5 - y)^2 + (3 - y)^2 = 3.89523689.
  EXPECT_EQ(stats[0].name, "critic");
  EXPECT_TRUE(stats[0].is_loss);
  EXPECT_NEAR(stats[0].value, 3.89523689, 1e-4);
  // a = tanh(0.5) = 0.46211716, -Q1(s, a) = -(1 + a).
  EXPECT_EQ(stats[1].name, "actor");
  EXPECT_TRUE(stats[1].is_loss);
  EXPECT_NEAR(stats[1].value, -1.46211716, 1e-5);
  EXPECT_EQ(stats[2].name, "q_mean");
  EXPECT_FALSE(stats[2].is_loss);
  EXPECT_NEAR(stats[2].value, 2.25, 1e-6);
  // (|1.5 - y| + |3 - y|) / 2.
  torch::Tensor priorities = td3->Priorities();
  ASSERT_EQ(priorities.sizes(), (std::vector<int64_t>{2}));
  EXPECT_NEAR(priorities[0].item<double>(), 1.17691055, 1e-5);
  EXPECT_NEAR(priorities[1].item<double>(), 1.17691055, 1e-5);
}

TEST(Td3Test, ActorLossStatisticKeepsTheLastActorStep) {
  std::unique_ptr<Td3> td3 = TinyTd3();  // policy_delay 2
  ASSERT_TRUE(NoiselessUpdate(*td3, TinyBatch()).ok());
  EXPECT_EQ(td3->Statistics()[1].value, 0);  // no actor step yet
  ASSERT_TRUE(NoiselessUpdate(*td3, TinyBatch()).ok());
  const double actor_loss = td3->Statistics()[1].value;
  EXPECT_NEAR(actor_loss, -1.46211716, 1e-5);
  ASSERT_TRUE(NoiselessUpdate(*td3, TinyBatch()).ok());
  EXPECT_EQ(td3->Statistics()[1].value, actor_loss);
}

TEST(Td3Test, ImportanceWeightsScaleEachTransitionsCriticGradient) {
  // Two identical transitions: weights (1, 1) give the unweighted gradient,
  // weights (3, 1) twice it ((3 + 1) / 2), weights (0, 0) none.
  auto critic_grads = [](std::optional<std::vector<float>> weights) {
    std::unique_ptr<Td3> td3 = TinyTd3();
    TransitionBatch batch = TinyBatch({0, 0});
    if (weights) batch.weight = torch::tensor(*weights);
    EXPECT_TRUE(NoiselessUpdate(*td3, batch).ok());
    std::map<std::string, torch::Tensor> grads = td3->GradientsForTesting();
    return torch::cat({grads["critic.layers.0.weight"].flatten(), grads["critic.layers.1.weight"].flatten(),
                       grads["critic.layers.1.bias"].flatten()});
  };
  const torch::Tensor plain = critic_grads(std::nullopt);
  ASSERT_GT(plain.abs().sum().item<double>(), 0);
  EXPECT_TRUE(torch::allclose(critic_grads(std::vector<float>{1, 1}), plain));
  EXPECT_TRUE(torch::allclose(critic_grads(std::vector<float>{3, 1}), plain * 2));
  EXPECT_EQ(critic_grads(std::vector<float>{0, 0}).abs().sum().item<double>(), 0);
}

// The gradients TD3 computes by hand, against torch autograd on the losses
// written the way SB3 writes them.
TEST(Td3Test, GradientsMatchAutogradOfTheLosses) {
  Td3Options options;
  options.env = ContinuousEnv(3, 2);
  options.hidden = {6, 5};
  options.num_critics = 3;
  options.policy_delay = 1;
  options.target_noise_clip = 0.3;
  options.seed = 4;
  std::unique_ptr<Td3> td3 = *Td3::Create(options);
  const int layers = 3;
  const int64_t b = 7;
  torch::manual_seed(11);
  TransitionBatch batch;
  batch.obs = torch::randn({b, 3});
  batch.action = torch::rand({b, 2}) * 2 - 1;
  batch.reward = torch::randn({b});
  batch.terminated = (torch::rand({b}) < 0.3).to(torch::kFloat32);
  batch.next_obs = torch::randn({b, 3});
  batch.weight = torch::rand({b}) + 0.5;
  torch::Tensor noise = torch::randn({b, 2}) * 0.4;  // some beyond the clip
  std::map<std::string, torch::Tensor> before = Copy(td3->ParametersForTesting());
  ASSERT_TRUE(td3->UpdateWithNoiseForTesting(batch, noise).ok());
  std::map<std::string, torch::Tensor> after = td3->ParametersForTesting();
  std::map<std::string, torch::Tensor> grads = td3->GradientsForTesting();

  // Critic loss with the parameters before the update.
  torch::Tensor y;
  {
    torch::NoGradGuard no_grad;
    torch::Tensor next_action =
        (torch::tanh(Mlp(batch.next_obs, before, "policy_target", layers, -1)) + noise.clamp(-0.3, 0.3)).clamp(-1, 1);
    torch::Tensor x = torch::cat({batch.next_obs, next_action}, 1);
    torch::Tensor min_qt = Mlp(x, before, "critic_target", layers, 0);
    for (int e = 1; e < 3; ++e) min_qt = torch::min(min_qt, Mlp(x, before, "critic_target", layers, e));
    y = batch.reward + options.gamma * (1 - batch.terminated) * min_qt.squeeze(1);
  }
  EXPECT_TRUE(torch::allclose(td3->LastTargetForTesting(), y, 1e-5, 1e-6));
  std::map<std::string, torch::Tensor> critic_leaves;
  for (auto& [name, t] : before) {
    if (name.rfind("critic.", 0) == 0) critic_leaves[name] = t.clone().requires_grad_(true);
  }
  torch::Tensor x = torch::cat({batch.obs, batch.action}, 1);
  torch::Tensor critic_loss = torch::zeros({});
  for (int e = 0; e < 3; ++e) {
    torch::Tensor q = Mlp(x, critic_leaves, "critic", layers, e).squeeze(1);
    critic_loss = critic_loss + (batch.weight * (q - y).square()).mean();
  }
  critic_loss.backward();
  ASSERT_EQ(critic_leaves.size(), 6u);
  for (auto& [name, leaf] : critic_leaves) {
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-4, 1e-6)) << name;
  }

  // Actor loss through critic 1 after its step.
  std::map<std::string, torch::Tensor> actor_leaves;
  for (auto& [name, t] : before) {
    if (name.rfind("policy.", 0) == 0) actor_leaves[name] = t.clone().requires_grad_(true);
  }
  torch::Tensor pi = torch::tanh(Mlp(batch.obs, actor_leaves, "policy", layers, -1));
  torch::Tensor actor_loss = -Mlp(torch::cat({batch.obs, pi}, 1), after, "critic", layers, 0).mean();
  actor_loss.backward();
  ASSERT_EQ(actor_leaves.size(), 6u);
  for (auto& [name, leaf] : actor_leaves) {
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-4, 1e-6)) << name;
  }
  EXPECT_NEAR(td3->Statistics()[1].value, actor_loss.item<double>(), 1e-5);
}

AlgorithmContext FinalizedContext(v1::LearnerConfig learner, const envs::EnvSpec& env) {
  EXPECT_TRUE(FinalizeLearnerConfig(learner, env).ok());
  AlgorithmContext context;
  *context.config.mutable_learner() = learner;
  context.config.mutable_network()->add_hidden_sizes(2);
  context.env = env;
  context.seed = 3;
  return context;
}

TEST(Td3Test, DdpgFromConfigIsOneCriticWithoutSmoothingOrDelay) {
  v1::LearnerConfig learner;
  learner.mutable_ddpg();
  learner.set_gamma(0.9);
  std::unique_ptr<Algorithm> algorithm = *Td3::FromConfig(FinalizedContext(learner, ContinuousEnv(2, 1)));
  EXPECT_EQ(algorithm->name(), "ddpg");
  Td3& ddpg = dynamic_cast<Td3&>(*algorithm);
  EXPECT_EQ(ddpg.options().num_critics, 1);
  EXPECT_EQ(ddpg.options().target_noise, 0);
  EXPECT_EQ(ddpg.options().policy_delay, 1);
  EXPECT_DOUBLE_EQ(ddpg.options().gamma, 0.9);

  // The tiny networks with critic 1 alone: Q = relu(o1) + relu(a) (+ 0.5
  // for the target).
  std::map<std::string, torch::Tensor> p = ddpg.ParametersForTesting();
  for (const std::string net : {"policy", "policy_target"}) {
    Set(p[net + ".layers.0.weight"], {1, 0, 0, 1});
    Set(p[net + ".layers.0.bias"], {0, 0});
    Set(p[net + ".layers.1.weight"], {0.5, 0});
  }
  Set(p["policy.layers.1.bias"], {0});
  Set(p["policy_target.layers.1.bias"], {0.25});
  for (const std::string net : {"critic", "critic_target"}) {
    Set(p[net + ".layers.0.weight"], {1, 0, 0, 0, 0, 1});
    Set(p[net + ".layers.0.bias"], {0, 0});
    Set(p[net + ".layers.1.weight"], {1, 1});
  }
  Set(p["critic.layers.1.bias"], {0});
  Set(p["critic_target.layers.1.bias"], {0.5});
  std::map<std::string, torch::Tensor> before = Copy(p);

  TransitionBatch batch = TinyBatch();
  Batch sampled;
  sampled.columns = {{"obs", batch.obs},
                     {"action", batch.action},
                     {"reward", batch.reward},
                     {"terminated", batch.terminated},
                     {"next_obs", batch.next_obs}};
  sampled.size = 1;
  ASSERT_TRUE(algorithm->Update(sampled).ok());
  // No noise drawn: a' = 0.84828364; y = 1 + 0.9 * (2 + a' + 0.5).
  EXPECT_NEAR(ddpg.LastTargetActionForTesting()[0][0].item<double>(), kTinyNextAction, 1e-6);
  EXPECT_NEAR(ddpg.LastTargetForTesting()[0].item<double>(), 4.01345528, 1e-5);
  std::map<std::string, torch::Tensor> after = ddpg.ParametersForTesting();
  EXPECT_FALSE(Unchanged(before, after, "policy."));
  EXPECT_FALSE(Unchanged(before, after, "policy_target."));
  EXPECT_FALSE(Unchanged(before, after, "critic_target."));
}

TEST(Td3Test, Td3FromConfigTakesTheTd3Defaults) {
  v1::LearnerConfig learner;
  learner.mutable_td3();
  std::unique_ptr<Algorithm> algorithm = *Td3::FromConfig(FinalizedContext(learner, ContinuousEnv(3, 2, 2)));
  EXPECT_EQ(algorithm->name(), "td3");
  const Td3Options& options = dynamic_cast<Td3&>(*algorithm).options();
  EXPECT_EQ(options.num_critics, 2);
  EXPECT_DOUBLE_EQ(options.target_noise, 0.2);
  EXPECT_DOUBLE_EQ(options.target_noise_clip, 0.5);
  EXPECT_EQ(options.policy_delay, 2);
  EXPECT_DOUBLE_EQ(options.tau, 0.005);
  EXPECT_THAT(options.hidden, ::testing::ElementsAre(2));
  std::vector<ColumnRequirement> columns = algorithm->Columns();
  std::vector<ColumnRequirement> expected = TransitionColumns(ContinuousEnv(3, 2, 2));
  ASSERT_EQ(columns.size(), expected.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    EXPECT_EQ(columns[i].name, expected[i].name);
    EXPECT_EQ(columns[i].shape, expected[i].shape);
    EXPECT_EQ(columns[i].optional, expected[i].optional);
  }
}

TEST(Td3Test, FromConfigRejectsADiscreteEnv) {
  AlgorithmContext context;
  context.config.mutable_learner()->mutable_td3();
  context.env.name = "CartPole-v1";
  context.env.observation_shape = {4};
  context.env.discrete = true;
  context.env.num_actions = 2;
  absl::StatusOr<std::unique_ptr<Algorithm>> algorithm = Td3::FromConfig(context);
  EXPECT_EQ(algorithm.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(algorithm.status().message(), HasSubstr("continuous"));
}

TEST(Td3Test, UpdateRejectsAMissingColumnNamingItAndChangesNothing) {
  std::unique_ptr<Td3> td3 = TinyTd3();
  std::map<std::string, torch::Tensor> before = Copy(td3->ParametersForTesting());
  TransitionBatch batch = TinyBatch();
  Batch sampled;
  sampled.columns = {
      {"obs", batch.obs}, {"action", batch.action}, {"reward", batch.reward}, {"terminated", batch.terminated}};
  absl::Status status = td3->Update(sampled);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("next_obs"));
  EXPECT_EQ(td3->updates(), 0);
  EXPECT_TRUE(Unchanged(before, td3->ParametersForTesting(), ""));
}

TEST(Td3Test, UpdateRejectsWrongShapesAndDtypesNamingTheColumn) {
  std::unique_ptr<Td3> td3 = TinyTd3();
  std::map<std::string, torch::Tensor> before = Copy(td3->ParametersForTesting());
  std::vector<std::pair<std::string, TransitionBatch>> cases(5, {"", TinyBatch()});
  cases[0].first = "action";
  cases[0].second.action = torch::zeros({1, 2});
  cases[1].first = "reward";
  cases[1].second.reward = cases[1].second.reward.to(torch::kFloat64);
  cases[2].first = "terminated";
  cases[2].second.terminated = torch::zeros({3});
  cases[3].first = "discount";
  cases[3].second.discount = torch::ones({1, 1});
  cases[4].first = "weight";
  cases[4].second.weight = torch::ones({2});
  for (const auto& [column, batch] : cases) {
    absl::Status status = td3->Update(batch);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << column;
    EXPECT_THAT(status.message(), HasSubstr("batch." + column));
  }
  EXPECT_EQ(td3->updates(), 0);
  EXPECT_TRUE(Unchanged(before, td3->ParametersForTesting(), ""));
}

TransitionBatch RandomBatch(int obs_dim, int act_dim, int64_t b, uint64_t seed) {
  torch::manual_seed(seed);
  TransitionBatch batch;
  batch.obs = torch::randn({b, obs_dim});
  batch.action = torch::rand({b, act_dim}) * 2 - 1;
  batch.reward = torch::randn({b});
  batch.terminated = (torch::rand({b}) < 0.3).to(torch::kFloat32);
  batch.next_obs = torch::randn({b, obs_dim});
  return batch;
}

TEST(Td3Test, RestoredStateReproducesTheNextUpdatesExactly) {
  Td3Options options;
  options.env = ContinuousEnv(4, 2);
  options.hidden = {16, 16};
  options.seed = 5;
  std::unique_ptr<Td3> original = *Td3::Create(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(original->Update(RandomBatch(4, 2, 8, i)).ok());
  std::vector<std::pair<std::string, torch::Tensor>> saved = original->state().Save();

  options.seed = 6;  // different initial weights and noise: Restore must replace both
  std::unique_ptr<Td3> restored = *Td3::Create(options);
  ASSERT_TRUE(restored->state().Restore(std::map<std::string, torch::Tensor>(saved.begin(), saved.end())).ok());
  EXPECT_EQ(restored->updates(), 3);

  // Update 4 steps the actor (policy_delay 2), update 5 does not.
  for (int i = 0; i < 2; ++i) {
    TransitionBatch batch = RandomBatch(4, 2, 8, 42 + i);
    ASSERT_TRUE(original->Update(batch).ok());
    ASSERT_TRUE(restored->Update(batch).ok());
    std::map<std::string, torch::Tensor> a = original->ParametersForTesting();
    std::map<std::string, torch::Tensor> b = restored->ParametersForTesting();
    for (auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b[name])) << name << " after update " << 4 + i;
    EXPECT_EQ(original->Statistics()[0].value, restored->Statistics()[0].value);
  }
}

TEST(Td3Test, StateNamesEveryNetworkOptimizerAndCounter) {
  std::unique_ptr<Td3> td3 = TinyTd3();
  EXPECT_THAT(td3->state().names(),
              ::testing::ElementsAre("actor", "actor_target", "critic", "critic_target", "actor_adam.exp_avg",
                                     "actor_adam.exp_avg_sq", "actor_adam.step", "critic_adam.exp_avg",
                                     "critic_adam.exp_avg_sq", "critic_adam.step", "updates", "generator"));
}

TEST(Td3Test, ExportedPolicyLoadsIntoADeterministicPolicyActingAsTheActor) {
  Td3Options options = TinyOptions();
  options.env = ContinuousEnv(2, 1, /*bound=*/2);
  options.exploration_noise = 0.3;
  std::unique_ptr<Td3> td3 = TinyTd3(options);
  absl::StatusOr<v1::ParameterSet> exported = td3->ExportPolicy();
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_EQ(exported->policy().kind(), "deterministic");
  EXPECT_DOUBLE_EQ(exported->policy().exploration_noise(), 0.3);
  EXPECT_THAT(exported->policy().action_high(), ::testing::ElementsAre(2));
  absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::PolicyFromParameters(*exported, /*seed=*/9);
  ASSERT_TRUE(policy.ok()) << policy.status();
  // The tiny actor: a = tanh(0.5 relu(o1)): tanh(0.5) = 0.46211716 at
  // (1, 2), tanh(1.5) = 0.90514825 at (3, -1).
  torch::Tensor actions = Act(**policy, torch::tensor({{1.f, 2.f}, {3.f, -1.f}}), /*deterministic=*/true);
  EXPECT_NEAR(actions[0][0].item<float>(), 0.46211716f, 1e-6);
  EXPECT_NEAR(actions[1][0].item<float>(), 0.90514825f, 1e-6);
}

TEST(Td3Test, PolicyLearnsTheBestActionOfAOneStepProblem) {
  // One state, reward -4 (a - 0.5)^2, no bootstrap: the best action is 0.5.
  Td3Options options;
  options.env = ContinuousEnv(1, 1);
  options.hidden = {32, 32};
  options.gamma = 0;
  options.actor_lr = options.critic_lr = 3e-3;
  options.seed = 2;
  std::unique_ptr<Td3> td3 = *Td3::Create(options);
  torch::manual_seed(0);
  for (int i = 0; i < 600; ++i) {
    TransitionBatch batch;
    batch.obs = torch::ones({64, 1});
    batch.action = torch::rand({64, 1}) * 2 - 1;  // replay covers the whole action range
    batch.reward = -4 * (batch.action.squeeze(1) - 0.5).square();
    batch.terminated = torch::ones({64});
    batch.next_obs = torch::ones({64, 1});
    ASSERT_TRUE(td3->Update(batch).ok());
  }
  std::unique_ptr<policies::Policy> policy = *policies::PolicyFromParameters(*td3->ExportPolicy(), 0);
  EXPECT_NEAR(Act(*policy, torch::ones({1, 1}), /*deterministic=*/true).item<float>(), 0.5f, 0.1f);
}

TEST(Td3Test, CreateRejectsBadOptions) {
  auto code = [](void (*spoil)(Td3Options&)) {
    Td3Options options = TinyOptions();
    spoil(options);
    return Td3::Create(options).status().code();
  };
  EXPECT_EQ(code([](Td3Options& o) { o.env.observation_shape = {0}; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](Td3Options& o) { o.env.action_high.push_back(1); }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](Td3Options& o) { o.env.discrete = true; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](Td3Options& o) { o.hidden = {}; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](Td3Options& o) { o.num_critics = 0; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](Td3Options& o) { o.num_critics = 9; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](Td3Options& o) { o.policy_delay = 0; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](Td3Options& o) { o.target_noise = -0.1; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](Td3Options& o) { o.tau = 1.5; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](Td3Options& o) { o.name = "sac"; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](Td3Options& o) { o.tau = 0; }), absl::StatusCode::kOk);  // frozen targets are legal
}

TEST(Td3Test, UpdateMatmulFlopsCountsEveryMatmulWithTheActorStepAveraged) {
  Td3Options options;
  options.env = ContinuousEnv(2, 1);
  options.hidden = {3};
  options.policy_delay = 2;
  std::unique_ptr<Td3> td3 = *Td3::Create(options);
  // Actor 2 -> 3 -> 1, two critics 3 -> 3 -> 1, batch 4; 2*M*N*K per matmul.
  // Every update:
  //   target actor forward: 2*4*(2*3 + 3*1)                       =  72
  //   target critics forward: 2 members * 2*4*(3*3 + 3*1)         = 192
  //   critics forward, their weight gradients: 192 + 192          = 384
  //   critic input gradient of layer 1: 2 * 2*4*3*1               =  48
  // Every second update (312 / 2 = 156):
  //   actor forward                                               =  72
  //   critic 1 forward on the policy's actions                    =  96
  //   its input gradients: layer 1 (24) + action column (24)      =  48
  //   actor weight gradients                                      =  72
  //   actor input gradient of layer 1: 2*4*3*1                    =  24
  EXPECT_EQ(td3->UpdateMatmulFlops(4), 696 + 156);
}

}  // namespace
}  // namespace rill::learner
