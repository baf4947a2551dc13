#include "learner/algorithms/sac.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/torch_policy.h"
#include "learner/algorithms/soft_actor_testing.h"
#include "learner/algorithms/test_util.h"
#include "learner/networks.h"
#include "policies/gaussian.h"

namespace rill::learner {


namespace {

using ::testing::HasSubstr;

// The tiny SAC the hand computations below use: obs_dim 2, act_dim 1, one
// hidden layer of 2, gamma 0.9, alpha 0.5, target entropy -1 (= -act_dim).
// Learning rates are tiny so that the actor loss, which SAC computes after
// the critic step, sees critics changed by at most ~1e-6.
//
//   policy: h = relu(obs), mean = 0.5 h1, log_std = -1 (std = e^-1 = 0.36787944)
//   Q1  = relu(o1) + relu(a)          Q2  = relu(o2) + 2 relu(a)
//   Q1t = relu(o1) + relu(a) + 0.5    Q2t = relu(o2) + 2 relu(a)   (targets)
//
// One transition: s = (1, 2), a = 0.5, r = 1, s' = (2, 1); noise eps' = 0.5
// for a' ~ pi(.|s') and eps = -1 for a ~ pi(.|s).
SacOptions TinyOptions() {
  SacOptions options;
  options.obs_dim = 2;
  options.act_dim = 1;
  options.hidden = {2};
  options.gamma = 0.9;
  options.initial_alpha = 0.5;
  options.actor_lr = options.critic_lr = options.alpha_lr = 1e-7;
  options.seed = 1;
  return options;
}

std::unique_ptr<Sac> TinySac(SacOptions options = TinyOptions()) {
  std::unique_ptr<Sac> sac = *Sac::Create(options);
  std::map<std::string, torch::Tensor> p = sac->ParametersForTesting();
  Set(p["policy.layers.0.weight"], {1, 0, 0, 1});
  Set(p["policy.layers.0.bias"], {0, 0});
  Set(p["policy.layers.1.weight"], {0.5, 0, 0, 0});
  Set(p["policy.layers.1.bias"], {0, -1});
  for (const std::string net : {"critic", "critic_target"}) {
    // Member 1 sees (o1, a), member 2 sees (o2, a).
    Set(p[net + ".layers.0.weight"], {1, 0, 0, 0, 0, 1, /**/ 0, 1, 0, 0, 0, 1});
    Set(p[net + ".layers.0.bias"], {0, 0, 0, 0});
    Set(p[net + ".layers.1.weight"], {1, 1, /**/ 1, 2});
  }
  Set(p["critic.layers.1.bias"], {0, 0});
  Set(p["critic_target.layers.1.bias"], {0.5, 0});
  return sac;
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

absl::Status TinyUpdate(Sac& sac, const TransitionBatch& batch) {
  const int64_t b = batch.obs.size(0);
  return sac.UpdateWithNoiseForTesting(batch, torch::full({b, 1}, 0.5f), torch::full({b, 1}, -1.f));
}

// a' at s' = (2, 1): mean = 0.5 * 2 = 1, u' = 1 + 0.5 * 0.36787944 =
// 1.18393972, a' = tanh(u') = 0.82868986, 1 - a'^2 = 0.31327312.
// logp' = -eps'^2 / 2 - log_std - log(2 pi) / 2 - log(1 - a'^2 + 1e-6)
//       = -0.125 + 1 - 0.91893853 + 1.16067668 = 1.11673815.
// Q1t(s', a') = 2 + 0.82868986 + 0.5 = 3.32868986,
// Q2t(s', a') = 1 + 2 * 0.82868986 = 2.65737971 (the smaller).
// y = 1 + 0.9 * (2.65737971 - 0.5 * 1.11673815) = 1 + 0.9 * 2.09901064
//   = 2.88910957.
constexpr double kTinyTarget = 2.88910957;

TEST(SacTest, TdTargetMatchesHandComputation) {
  std::unique_ptr<Sac> sac = TinySac();
  ASSERT_TRUE(TinyUpdate(*sac, TinyBatch()).ok());
  EXPECT_NEAR(sac->LastTargetForTesting()[0].item<double>(), kTinyTarget, 1e-5);
}

TEST(SacTest, CriticLossMatchesHandComputation) {
  std::unique_ptr<Sac> sac = TinySac();
  ASSERT_TRUE(TinyUpdate(*sac, TinyBatch()).ok());
  // Q1(s, 0.5) = 1 + 0.5 = 1.5, Q2(s, 0.5) = 2 + 1 = 3.
  // 0.5 * ((1.5 - 2.88910957)^2 + (3 - 2.88910957)^2)
  //   = 0.5 * (1.92962541 + 0.01229669) = 0.97096105.
  SacStats stats = sac->LastStats();
  EXPECT_NEAR(stats.critic_loss, 0.97096105, 1e-5);
  EXPECT_NEAR(stats.q_mean, 2.25, 1e-6);
}

TEST(SacTest, TdErrorsAreTheMeanAbsoluteErrorOfTheTwoCritics) {
  std::unique_ptr<Sac> sac = TinySac();
  EXPECT_FALSE(sac->LastTdErrors().defined());
  ASSERT_TRUE(TinyUpdate(*sac, TinyBatch({0, 0})).ok());
  // Q1 = 1.5, Q2 = 3 (as above): (|1.5 - y| + |3 - y|) / 2.
  const double expected = (std::abs(1.5 - kTinyTarget) + std::abs(3 - kTinyTarget)) / 2;
  torch::Tensor td = sac->LastTdErrors();
  ASSERT_EQ(td.sizes(), (std::vector<int64_t>{2}));
  EXPECT_NEAR(td[0].item<double>(), expected, 1e-5);
  EXPECT_NEAR(td[1].item<double>(), expected, 1e-5);
}

TEST(SacTest, ImportanceWeightsScaleEachTransitionsCriticGradient) {
  // Two identical transitions: weights (1, 1) give the unweighted gradient,
  // weights (3, 1) twice it ((3 + 1) / 2), weights (0, 0) none.
  auto critic_grads = [](std::optional<std::vector<float>> weights) {
    std::unique_ptr<Sac> sac = TinySac();
    TransitionBatch batch = TinyBatch({0, 0});
    if (weights) batch.weight = torch::tensor(*weights);
    EXPECT_TRUE(TinyUpdate(*sac, batch).ok());
    std::map<std::string, torch::Tensor> grads = sac->GradientsForTesting();
    return torch::cat({grads["critic.layers.0.weight"].flatten(), grads["critic.layers.1.weight"].flatten(),
                       grads["critic.layers.1.bias"].flatten()});
  };
  const torch::Tensor plain = critic_grads(std::nullopt);
  ASSERT_GT(plain.abs().sum().item<double>(), 0);
  EXPECT_TRUE(torch::allclose(critic_grads(std::vector<float>{1, 1}), plain));
  EXPECT_TRUE(torch::allclose(critic_grads(std::vector<float>{3, 1}), plain * 2));
  EXPECT_EQ(critic_grads(std::vector<float>{0, 0}).abs().sum().item<double>(), 0);
}

TEST(SacTest, UpdateRejectsWeightsOfTheWrongLength) {
  std::unique_ptr<Sac> sac = TinySac();
  TransitionBatch batch = TinyBatch({0, 0});
  batch.weight = torch::ones({3});
  absl::Status status = TinyUpdate(*sac, batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("weight"), std::string::npos) << status.message();
}

TEST(SacTest, ActorLossMatchesHandComputation) {
  std::unique_ptr<Sac> sac = TinySac();
  ASSERT_TRUE(TinyUpdate(*sac, TinyBatch()).ok());
  // a at s = (1, 2): mean = 0.5, u = 0.5 - 0.36787944 = 0.13212056,
  // a = tanh(u) = 0.13135713, 1 - a^2 = 0.98274530.
  // logp = -1 / 2 + 1 - 0.91893853 + 0.01740428 = -0.40153426.
  // min(Q1, Q2)(s, a) = min(1 + a, 2 + 2a) = 1.13135713.
  // actor loss = 0.5 * -0.40153426 - 1.13135713 = -1.33212426.
  SacStats stats = sac->LastStats();
  EXPECT_NEAR(stats.log_prob_mean, -0.40153426, 1e-5);
  EXPECT_NEAR(stats.actor_loss, -1.33212426, 1e-5);
}

TEST(SacTest, TemperatureLossMatchesHandComputation) {
  std::unique_ptr<Sac> sac = TinySac();
  ASSERT_TRUE(TinyUpdate(*sac, TinyBatch()).ok());
  // -log(0.5) * (logp + target_entropy) = 0.69314718 * (-0.40153426 - 1)
  //   = -0.97146952; its gradient in log_alpha is -(logp - 1) = 1.40153426.
  SacStats stats = sac->LastStats();
  EXPECT_NEAR(stats.alpha_loss, -0.97146952, 1e-5);
  EXPECT_NEAR(stats.alpha, 0.5, 1e-7);
  EXPECT_NEAR(sac->GradientsForTesting()["log_alpha"].item<double>(), 1.40153426, 1e-5);
}

TEST(SacTest, TerminatedTransitionDoesNotBootstrapButTruncatedOneDoes) {
  std::unique_ptr<Sac> sac = TinySac();
  // Row 0 ended in a terminal state; row 1 was cut off by a time limit, which
  // the replay stores as terminated = 0.
  ASSERT_TRUE(TinyUpdate(*sac, TinyBatch({1, 0})).ok());
  torch::Tensor target = sac->LastTargetForTesting();
  EXPECT_FLOAT_EQ(target[0].item<float>(), 1.0f);  // y = r
  EXPECT_NEAR(target[1].item<double>(), kTinyTarget, 1e-5);
}

TEST(SacTest, PolyakAveragingMovesTargetsByTau) {
  SacOptions options = TinyOptions();
  options.tau = 0.25;
  options.critic_lr = 1e-2;  // so that online and target differ visibly
  std::unique_ptr<Sac> sac = TinySac(options);
  std::map<std::string, torch::Tensor> before;
  for (auto& [name, t] : sac->ParametersForTesting()) before[name] = t.clone();
  ASSERT_TRUE(TinyUpdate(*sac, TinyBatch()).ok());
  std::map<std::string, torch::Tensor> after = sac->ParametersForTesting();
  for (const std::string name : {"layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"}) {
    torch::Tensor online = after["critic." + name];
    EXPECT_FALSE(torch::equal(online, before["critic." + name])) << name;
    torch::Tensor expected = 0.25 * online + 0.75 * before["critic_target." + name];
    EXPECT_TRUE(torch::allclose(after["critic_target." + name], expected, 0, 1e-6)) << name;
  }
}

double AlphaAfterUpdates(double target_entropy) {
  SacOptions options = TinyOptions();
  options.target_entropy = target_entropy;
  options.alpha_lr = 1e-2;
  std::unique_ptr<Sac> sac = TinySac(options);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(sac->Update(TinyBatch()).ok());
  return std::exp(sac->ParametersForTesting()["log_alpha"].item<double>());
}

TEST(SacTest, TemperatureRisesWhenEntropyIsBelowTarget) {
  // The policy's entropy -logp is about 0.4 here, far below 10.
  EXPECT_GT(AlphaAfterUpdates(10.0), 0.5 * 1.04);
}

TEST(SacTest, TemperatureFallsWhenEntropyIsAboveTarget) {
  EXPECT_LT(AlphaAfterUpdates(-10.0), 0.5 / 1.04);
}

TEST(SacTest, FixedTemperatureStaysPut) {
  SacOptions options = TinyOptions();
  options.fixed_alpha = true;
  options.alpha_lr = 1e-2;
  std::unique_ptr<Sac> sac = TinySac(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sac->Update(TinyBatch()).ok());
  EXPECT_FLOAT_EQ(sac->LastStats().alpha, 0.5f);
}

TransitionBatch RandomBatch(const SacOptions& options, int64_t b, uint64_t seed) {
  torch::manual_seed(seed);
  TransitionBatch batch;
  batch.obs = torch::randn({b, options.obs_dim});
  batch.action = torch::rand({b, options.act_dim}) * 2 - 1;
  batch.reward = torch::randn({b});
  batch.terminated = (torch::rand({b}) < 0.3).to(torch::kFloat32);
  batch.next_obs = torch::randn({b, options.obs_dim});
  return batch;
}

// The gradients SAC computes by hand, against torch autograd on the losses
// written the way SB3 writes them.
struct PolicySample {
  torch::Tensor action, log_prob;
};

PolicySample Policy(const torch::Tensor& obs, const torch::Tensor& eps, const std::map<std::string, torch::Tensor>& p,
                    int layers, int act_dim) {
  torch::Tensor out = Mlp(obs, p, "policy", layers, -1);
  torch::Tensor mean = out.narrow(1, 0, act_dim);
  torch::Tensor log_std = torch::clamp(out.narrow(1, act_dim, act_dim), -20, 2);
  torch::Tensor std_dev = log_std.exp();
  torch::Tensor u = mean + std_dev * eps;
  torch::Tensor action = torch::tanh(u);
  // Normal(mean, std).log_prob(u), then SB3's tanh correction.
  torch::Tensor normal = -(u - mean).pow(2) / (2 * std_dev.pow(2)) - log_std - 0.5 * std::log(2 * M_PI);
  torch::Tensor log_prob = (normal - torch::log(1 - action.pow(2) + 1e-6)).sum(1);
  return {action, log_prob};
}

TEST(SacTest, GradientsMatchAutogradOfTheLosses) {
  SacOptions options;
  options.obs_dim = 3;
  options.act_dim = 2;
  options.hidden = {6, 5};
  options.seed = 4;
  std::unique_ptr<Sac> sac = *Sac::Create(options);
  const int layers = 3;
  TransitionBatch batch = RandomBatch(options, 7, 11);
  torch::Tensor next_noise = torch::randn({7, 2});
  torch::Tensor noise = torch::randn({7, 2});
  std::map<std::string, torch::Tensor> before;
  for (auto& [name, t] : sac->ParametersForTesting()) before[name] = t.clone();
  ASSERT_TRUE(sac->UpdateWithNoiseForTesting(batch, next_noise, noise).ok());
  std::map<std::string, torch::Tensor> after = sac->ParametersForTesting();
  std::map<std::string, torch::Tensor> grads = sac->GradientsForTesting();
  const double alpha = std::exp(before["log_alpha"].item<double>());
  auto critics = [&](const std::map<std::string, torch::Tensor>& p, const std::string& prefix,
                     const torch::Tensor& obs, const torch::Tensor& action) {
    torch::Tensor x = torch::cat({obs, action}, 1);
    return std::make_pair(Mlp(x, p, prefix, layers, 0).squeeze(1), Mlp(x, p, prefix, layers, 1).squeeze(1));
  };

  // Critic loss with the parameters before the update.
  torch::Tensor y;
  {
    torch::NoGradGuard no_grad;
    PolicySample next = Policy(batch.next_obs, next_noise, before, layers, 2);
    auto [q1t, q2t] = critics(before, "critic_target", batch.next_obs, next.action);
    y = batch.reward + options.gamma * (1 - batch.terminated) * (torch::min(q1t, q2t) - alpha * next.log_prob);
  }
  std::map<std::string, torch::Tensor> critic_leaves;
  for (auto& [name, t] : before) {
    if (name.rfind("critic.", 0) == 0) critic_leaves[name] = t.clone().requires_grad_(true);
  }
  auto [q1, q2] = critics(critic_leaves, "critic", batch.obs, batch.action);
  torch::Tensor critic_loss = 0.5 * (torch::mse_loss(q1, y) + torch::mse_loss(q2, y));
  critic_loss.backward();
  for (auto& [name, leaf] : critic_leaves) {
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-4, 1e-6)) << name;
  }

  // Actor loss through the critics after their step.
  std::map<std::string, torch::Tensor> actor_leaves = after;
  for (auto& [name, t] : before) {
    if (name.rfind("policy.", 0) == 0) actor_leaves[name] = t.clone().requires_grad_(true);
  }
  PolicySample pi = Policy(batch.obs, noise, actor_leaves, layers, 2);
  auto [q1_pi, q2_pi] = critics(after, "critic", batch.obs, pi.action);
  torch::Tensor actor_loss = (alpha * pi.log_prob - torch::min(q1_pi, q2_pi)).mean();
  actor_loss.backward();
  for (auto& [name, leaf] : actor_leaves) {
    if (name.rfind("policy.", 0) != 0) continue;
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-4, 1e-6)) << name;
  }

  // Temperature: d/dlog_alpha of -mean(log_alpha * (logp + target_entropy)).
  EXPECT_NEAR(grads["log_alpha"].item<double>(), -(pi.log_prob.mean().item<double>() - 2.0), 1e-5);
}

TEST(SacTest, CriticLossFallsOnAFixedRegressionProblem) {
  SacOptions options;
  options.obs_dim = 3;
  options.act_dim = 1;
  options.hidden = {32, 32};
  options.gamma = 0;  // the target is the reward itself
  options.critic_lr = 1e-3;
  std::unique_ptr<Sac> sac = *Sac::Create(options);
  TransitionBatch batch = RandomBatch(options, 128, 3);
  batch.reward = batch.obs.matmul(torch::tensor({1.f, -2.f, 0.5f})) + 0.5 * batch.action.squeeze(1);
  ASSERT_TRUE(sac->Update(batch).ok());
  const double first = sac->LastStats().critic_loss;
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(sac->Update(batch).ok());
  EXPECT_LT(sac->LastStats().critic_loss, 0.1 * first);
}

TEST(SacTest, PolicyLearnsTheBestActionOfAOneStepProblem) {
  std::unique_ptr<Sac> sac = *Sac::Create(OneStepProblemOptions<SacOptions>());
  EXPECT_NEAR(OneStepProblemAction(*sac), 0.5f, 0.1f);
}

std::string TempDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/sac_test_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(SacTest, SaveThenLoadReproducesTheNextUpdateExactly) {
  SacOptions options;
  options.obs_dim = 4;
  options.act_dim = 2;
  options.hidden = {16, 16};
  options.seed = 5;
  std::unique_ptr<Sac> original = *Sac::Create(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(original->Update(RandomBatch(options, 8, i)).ok());
  const std::string dir = TempDir("reproduce");
  ASSERT_TRUE(original->Save(dir).ok());

  options.seed = 6;  // different initial weights and noise: Load must replace both
  std::unique_ptr<Sac> restored = *Sac::Create(options);
  ASSERT_TRUE(restored->Load(dir).ok());
  EXPECT_EQ(restored->updates(), 3);

  TransitionBatch batch = RandomBatch(options, 8, 42);
  ASSERT_TRUE(original->Update(batch).ok());
  ASSERT_TRUE(restored->Update(batch).ok());
  std::map<std::string, torch::Tensor> a = original->ParametersForTesting();
  std::map<std::string, torch::Tensor> b = restored->ParametersForTesting();
  for (auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b[name])) << name;
  EXPECT_EQ(original->LastStats().critic_loss, restored->LastStats().critic_loss);
}

TEST(SacTest, SaveReplacesAnOlderCheckpoint) {
  SacOptions options = TinyOptions();
  std::unique_ptr<Sac> sac = *Sac::Create(options);
  const std::string dir = TempDir("replace");
  ASSERT_TRUE(sac->Save(dir).ok());
  ASSERT_TRUE(sac->Update(TinyBatch()).ok());
  ASSERT_TRUE(sac->Save(dir).ok());
  std::unique_ptr<Sac> restored = *Sac::Create(options);
  ASSERT_TRUE(restored->Load(dir).ok());
  EXPECT_EQ(restored->updates(), 1);
  EXPECT_FALSE(std::filesystem::exists(dir + ".saving"));
  EXPECT_FALSE(std::filesystem::exists(dir + ".previous"));
}

TEST(SacTest, LoadFromMissingFolderIsNotFound) {
  std::unique_ptr<Sac> sac = *Sac::Create(TinyOptions());
  EXPECT_EQ(sac->Load(TempDir("missing")).code(), absl::StatusCode::kNotFound);
}

TEST(SacTest, LoadWithOtherShapesIsInvalidArgumentAndChangesNothing) {
  SacOptions options = TinyOptions();
  std::unique_ptr<Sac> small = *Sac::Create(options);
  const std::string dir = TempDir("shapes");
  ASSERT_TRUE(small->Save(dir).ok());
  options.hidden = {3};
  std::unique_ptr<Sac> other = *Sac::Create(options);
  torch::Tensor before = other->ParametersForTesting()["critic.layers.0.weight"].clone();
  absl::Status status = other->Load(dir);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("actor"));
  EXPECT_TRUE(torch::equal(other->ParametersForTesting()["critic.layers.0.weight"], before));
}

TEST(SacTest, ExportedPolicyLoadsIntoGaussianPolicyWithIdenticalActions) {
  std::unique_ptr<Sac> sac = TinySac();
  std::unique_ptr<policies::GaussianPolicy> policy = *policies::GaussianPolicy::Create(2, 1, {2}, /*seed=*/9);
  ASSERT_TRUE(policy->LoadParameters(*sac->ExportPolicy()).ok());
  // The tiny policy's mean at obs (1, 2) is 0.5 h1 = 0.5; at (3, -1) it is
  // 1.5: deterministic actions tanh(0.5) = 0.46211716, tanh(1.5) = 0.90514825.
  torch::Tensor actions = Act(*policy, torch::tensor({{1.f, 2.f}, {3.f, -1.f}}), /*deterministic=*/true);
  EXPECT_NEAR(actions[0][0].item<float>(), 0.46211716f, 1e-6);
  EXPECT_NEAR(actions[1][0].item<float>(), 0.90514825f, 1e-6);
}

TEST(SacTest, ExportedPolicyMatchesTheLearnersPolicyAfterTraining) {
  SacOptions options;
  options.obs_dim = 5;
  options.act_dim = 3;
  options.hidden = {8, 8};
  std::unique_ptr<Sac> sac = *Sac::Create(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sac->Update(RandomBatch(options, 16, i)).ok());
  rill::v1::ParameterSet exported = *sac->ExportPolicy();
  std::unique_ptr<policies::GaussianPolicy> a = *policies::GaussianPolicy::Create(5, 3, {8, 8}, 1);
  std::unique_ptr<policies::GaussianPolicy> b = *policies::GaussianPolicy::Create(5, 3, {8, 8}, 2);
  ASSERT_TRUE(a->LoadParameters(exported).ok());
  ASSERT_TRUE(b->LoadParameters(exported).ok());
  torch::Tensor obs = torch::randn({4, 5});
  EXPECT_TRUE(torch::equal(Act(*a, obs, true), Act(*b, obs, true)));
  // And it is the learner's current policy, tensor for tensor.
  std::map<std::string, torch::Tensor> params = sac->ParametersForTesting();
  rill::v1::ParameterSet reexported = *a->ExportParameters();
  EXPECT_EQ(reexported.SerializeAsString(), exported.SerializeAsString());
  EXPECT_EQ(exported.tensors(0).name(), "policy.layers.0.weight");
  EXPECT_TRUE(torch::equal(params["policy.layers.0.weight"],
                           torch::from_blob(const_cast<char*>(exported.tensors(0).tensor().data().data()), {8, 5})));
}

TEST(SacTest, UpdateRejectsWrongActionShapeNamingTheField) {
  std::unique_ptr<Sac> sac = *Sac::Create(TinyOptions());
  TransitionBatch batch = TinyBatch();
  batch.action = torch::zeros({1, 2});
  absl::Status status = sac->Update(batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("batch.action"));
  EXPECT_EQ(sac->updates(), 0);
}

TEST(SacTest, UpdateRejectsWrongDtypeNamingTheField) {
  std::unique_ptr<Sac> sac = *Sac::Create(TinyOptions());
  TransitionBatch batch = TinyBatch();
  batch.reward = batch.reward.to(torch::kFloat64);
  absl::Status status = sac->Update(batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("batch.reward"));
}

TEST(SacTest, UpdateRejectsMismatchedBatchSizesNamingTheField) {
  std::unique_ptr<Sac> sac = *Sac::Create(TinyOptions());
  TransitionBatch batch = TinyBatch();
  batch.terminated = torch::zeros({3});
  absl::Status status = sac->Update(batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("batch.terminated"));
}

TEST(SacTest, UpdateRejectsMissingObservations) {
  std::unique_ptr<Sac> sac = *Sac::Create(TinyOptions());
  TransitionBatch batch = TinyBatch();
  batch.obs = torch::Tensor();
  absl::Status status = sac->Update(batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("batch.obs"));
}

TEST(SacTest, CreateRejectsBadOptions) {
  SacOptions options = TinyOptions();
  options.act_dim = 0;
  EXPECT_EQ(Sac::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = TinyOptions();
  options.hidden = {0};
  EXPECT_EQ(Sac::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = TinyOptions();
  options.hidden = {};
  EXPECT_EQ(Sac::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SacTest, UpdateMatmulFlopsCountsEveryMatmul) {
  SacOptions options;
  options.obs_dim = 2;
  options.act_dim = 1;
  options.hidden = {3};
  // Actor 2 -> 3 -> 2, critic 3 -> 3 -> 1, batch 4; 2*M*N*K per matmul:
  //   actor forward on 8 rows: 2*8*(2*3 + 3*2)                    = 192
  //   target critics forward: 2 members * 2*4*(3*3 + 3*1)         = 192
  //   critics forward, their weight gradients: 192 + 192          = 384
  //   critic input gradient of layer 1: 2 * 2*4*3*1               =  48
  //   critics forward on the policy's actions                     = 192
  //   their input gradients: layer 1 (48) + action column (48)    =  96
  //   actor weight gradients on 4 rows: 2*4*(2*3 + 3*2)           =  96
  //   actor input gradient of layer 1: 2*4*3*2                    =  48
  EXPECT_EQ(Sac::UpdateMatmulFlops(options, 4), 1248);
}

}  // namespace
}  // namespace rill::learner
