#include "learner/algorithms/dsac_t.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/algorithms/soft_actor_testing.h"
#include "learner/algorithms/test_util.h"
#include "learner/torch_policy.h"
#include "policies/gaussian.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

double Softplus(double x) { return std::log1p(std::exp(x)); }
double Sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// A DSAC-T whose networks ignore their inputs (zero weights), so every
// value is a bias: the policy's mean 0 and log std 0 (std 1); critic 1
// outputs mean 1 and sigma softplus(0), critic 2 mean 2 and softplus(1);
// target critic 1 mean 3 and softplus(0), target critic 2 mean `target2`
// and softplus(2). gamma 0.9, alpha 0.5, one hidden layer of 2, learning
// rates tiny so the critics barely move before the actor's step.
DsacTOptions TinyOptions() {
  DsacTOptions options;
  options.obs_dim = 2;
  options.act_dim = 1;
  options.hidden = {2};
  options.gamma = 0.9;
  options.initial_alpha = 0.5;
  options.actor_lr = options.critic_lr = options.alpha_lr = 1e-7;
  options.policy_delay = 1;
  options.seed = 3;
  return options;
}

std::unique_ptr<DsacT> TinyDsacT(double target2 = 4, DsacTOptions options = TinyOptions()) {
  std::unique_ptr<DsacT> dsac = *DsacT::Create(options);
  std::map<std::string, torch::Tensor> p = dsac->ParametersForTesting();
  for (auto& [name, t] : p) {
    if (name.find(".weight") != std::string::npos) t.zero_();
  }
  Set(p["policy.layers.0.bias"], {0, 0});
  Set(p["policy.layers.1.bias"], {0, 0});
  Set(p["critic.layers.0.bias"], {0, 0, 0, 0});
  Set(p["critic_target.layers.0.bias"], {0, 0, 0, 0});
  Set(p["critic.layers.1.bias"], {1, 0, /**/ 2, 1});
  Set(p["critic_target.layers.1.bias"], {3, 0, /**/ static_cast<float>(target2), 2});
  return dsac;
}

TransitionBatch OneTransition() {
  TransitionBatch batch;
  batch.obs = torch::tensor({{1.f, 2.f}});
  batch.action = torch::tensor({{0.5f}});
  batch.reward = torch::ones({1});
  batch.terminated = torch::zeros({1});
  batch.next_obs = torch::tensor({{2.f, 1.f}});
  return batch;
}

// eps' = 0: a' = tanh(0) = 0 and logp' = -log(1 + 1e-6) - log(2 pi) / 2.
absl::Status TinyUpdate(DsacT& dsac, float return_noise) {
  return dsac.UpdateWithNoiseForTesting(OneTransition(), torch::zeros({1, 1}), torch::zeros({1, 1}),
                                        torch::full({1}, return_noise));
}

const double kNextLogProb = -std::log(1 + 1e-6) - 0.5 * std::log(2 * M_PI);

TEST(DsacTTest, TargetsComeFromTheTargetCriticOfSmallerMean) {
  std::unique_ptr<DsacT> dsac = TinyDsacT();
  ASSERT_TRUE(TinyUpdate(*dsac, -1).ok());
  // Target critic 1 (mean 3 < 4): y_q = 1 + 0.9 (3 - 0.5 logp'),
  // y_z = 1 + 0.9 (3 - 1 * softplus(0) - 0.5 logp').
  EXPECT_NEAR(dsac->LastMeanTargetForTesting()[0].item<double>(), 1 + 0.9 * (3 - 0.5 * kNextLogProb), 1e-5);
  EXPECT_NEAR(dsac->LastSampledTargetForTesting()[0].item<double>(),
              1 + 0.9 * (3 - Softplus(0) - 0.5 * kNextLogProb), 1e-5);

  // Target critic 2 of mean 2.5 is now the smaller; its sigma softplus(2).
  std::unique_ptr<DsacT> other = TinyDsacT(/*target2=*/2.5);
  ASSERT_TRUE(TinyUpdate(*other, -1).ok());
  EXPECT_NEAR(other->LastMeanTargetForTesting()[0].item<double>(), 1 + 0.9 * (2.5 - 0.5 * kNextLogProb), 1e-5);
  EXPECT_NEAR(other->LastSampledTargetForTesting()[0].item<double>(),
              1 + 0.9 * (2.5 - Softplus(2) - 0.5 * kNextLogProb), 1e-5);
}

TEST(DsacTTest, SampledReturnNoiseIsClippedAtThreeStandardDeviations) {
  std::unique_ptr<DsacT> dsac = TinyDsacT();
  ASSERT_TRUE(TinyUpdate(*dsac, 5).ok());  // 5 is clipped to 3
  EXPECT_NEAR(dsac->LastSampledTargetForTesting()[0].item<double>(),
              1 + 0.9 * (3 + 3 * Softplus(0) - 0.5 * kNextLogProb), 1e-5);
}

// The critic gradient of dsac_t.h, by hand: the last layer's biases are
// the outputs, so their gradients are d loss / d Q_e and d loss / d raw_e.
// After the first update the moving average b_e is the batch's sigma_e.
void ExpectCriticGradients(float return_noise) {
  std::unique_ptr<DsacT> dsac = TinyDsacT();
  ASSERT_TRUE(TinyUpdate(*dsac, return_noise).ok());
  const double y_q = 1 + 0.9 * (3 - 0.5 * kNextLogProb);
  const double noise = std::clamp<double>(return_noise, -3, 3);
  const double y_z = 1 + 0.9 * (3 + noise * Softplus(0) - 0.5 * kNextLogProb);
  torch::Tensor grads = dsac->GradientsForTesting()["critic.layers.1.bias"];  // [2, 2]
  const double q[2] = {1, 2};
  const double raw[2] = {0, 1};
  for (int e = 0; e < 2; ++e) {
    const double sigma = Softplus(raw[e]);
    const double b = sigma;
    const double w = b * b + 0.1;
    const double clipped = q[e] + std::clamp(y_z - q[e], -3 * b, 3 * b);
    const double d_q = -w * (y_q - q[e]) / (sigma * sigma + 0.1);
    const double d_sigma = -w * ((q[e] - clipped) * (q[e] - clipped) - sigma * sigma) / (sigma * sigma * sigma + 0.1);
    EXPECT_NEAR(grads[e][0].item<double>(), d_q, 1e-4) << "critic " << e << " noise " << return_noise;
    EXPECT_NEAR(grads[e][1].item<double>(), d_sigma * Sigmoid(raw[e]), 1e-4) << "critic " << e << " noise " << return_noise;
  }
  EXPECT_NEAR(dsac->ParametersForTesting()["std_average"][0].item<double>(), Softplus(0), 1e-6);
}

TEST(DsacTTest, CriticGradientsMatchHandComputationWithTheSampledReturnClipped) {
  // y_z - Q_1 = 4.98 is beyond 3 b_1 = 2.08, and y_z - Q_2 beyond 3 b_2 = 3.94.
  ExpectCriticGradients(5);
}

TEST(DsacTTest, CriticGradientsMatchHandComputationWithTheSampledReturnInsideOneBound) {
  // y_z - Q_1 = 2.49 is beyond 2.08; y_z - Q_2 = 1.49 is inside 3.94.
  ExpectCriticGradients(-1);
}

TEST(DsacTTest, StdAverageMovesByItsRateAfterTheFirstUpdate) {
  DsacTOptions options = TinyOptions();
  options.std_average_rate = 0.25;
  std::unique_ptr<DsacT> dsac = TinyDsacT(4, options);
  ASSERT_TRUE(TinyUpdate(*dsac, 0).ok());
  const double first = dsac->ParametersForTesting()["std_average"][0].item<double>();
  EXPECT_NEAR(first, Softplus(0), 1e-6);
  // Pretend the average had drifted to 2: the next update moves it a
  // quarter of the way back to the batch's sigma (barely moved by a 1e-7 step).
  dsac->ParametersForTesting()["std_average"].fill_(2.0);
  ASSERT_TRUE(TinyUpdate(*dsac, 0).ok());
  EXPECT_NEAR(dsac->ParametersForTesting()["std_average"][0].item<double>(), 2 + 0.25 * (Softplus(0) - 2), 1e-5);
}

TransitionBatch RandomBatch(const DsacTOptions& options, int64_t b, uint64_t seed) {
  torch::manual_seed(seed);
  TransitionBatch batch;
  batch.obs = torch::randn({b, options.obs_dim});
  batch.action = torch::rand({b, options.act_dim}) * 2 - 1;
  batch.reward = torch::randn({b});
  batch.terminated = (torch::rand({b}) < 0.3).to(torch::kFloat32);
  batch.next_obs = torch::randn({b, options.obs_dim});
  return batch;
}

// The policy of dsac_t.h written the obvious way, for autograd.
std::pair<torch::Tensor, torch::Tensor> Policy(const torch::Tensor& obs, const torch::Tensor& eps,
                                               const std::map<std::string, torch::Tensor>& p, int layers,
                                               int act_dim) {
  torch::Tensor out = Mlp(obs, p, "policy", layers, -1);
  torch::Tensor mean = out.narrow(1, 0, act_dim);
  torch::Tensor log_std = torch::clamp(out.narrow(1, act_dim, act_dim), -20, 2);
  torch::Tensor u = mean + log_std.exp() * eps;
  torch::Tensor action = torch::tanh(u);
  torch::Tensor normal = -(u - mean).pow(2) / (2 * log_std.exp().pow(2)) - log_std - 0.5 * std::log(2 * M_PI);
  return {action, (normal - torch::log(1 - action.pow(2) + 1e-6)).sum(1)};
}

TEST(DsacTTest, GradientsMatchAutogradOfThePapersSurrogateLosses) {
  DsacTOptions options;
  options.obs_dim = 3;
  options.act_dim = 2;
  options.hidden = {6, 5};
  options.policy_delay = 1;
  options.seed = 4;
  std::unique_ptr<DsacT> dsac = *DsacT::Create(options);
  const int layers = 3;
  const int64_t b = 7;
  TransitionBatch batch = RandomBatch(options, b, 11);
  batch.weight = torch::rand({b}) + 0.5;
  torch::Tensor next_noise = torch::randn({b, 2});
  torch::Tensor noise = torch::randn({b, 2});
  torch::Tensor return_noise = torch::randn({b}) * 2;
  std::map<std::string, torch::Tensor> before;
  for (auto& [name, t] : dsac->ParametersForTesting()) before[name] = t.clone();
  ASSERT_TRUE(dsac->UpdateWithNoiseForTesting(batch, next_noise, noise, return_noise).ok());
  std::map<std::string, torch::Tensor> after = dsac->ParametersForTesting();
  std::map<std::string, torch::Tensor> grads = dsac->GradientsForTesting();
  const double alpha = std::exp(before["log_alpha"].item<double>());
  auto critic = [&](const std::map<std::string, torch::Tensor>& p, const std::string& prefix, int member,
                    const torch::Tensor& obs, const torch::Tensor& action) {
    torch::Tensor out = Mlp(torch::cat({obs, action}, 1), p, prefix, layers, member);
    return std::make_pair(out.select(1, 0), torch::softplus(out.select(1, 1)));
  };

  torch::Tensor y_q, y_z;
  {
    torch::NoGradGuard no_grad;
    auto [next_action, next_log_prob] = Policy(batch.next_obs, next_noise, before, layers, 2);
    auto [m1, s1] = critic(before, "critic_target", 0, batch.next_obs, next_action);
    auto [m2, s2] = critic(before, "critic_target", 1, batch.next_obs, next_action);
    torch::Tensor pick1 = m1 <= m2;
    torch::Tensor mean = torch::where(pick1, m1, m2);
    torch::Tensor z = mean + torch::clamp(return_noise, -3, 3) * torch::where(pick1, s1, s2);
    torch::Tensor gamma = options.gamma * (1 - batch.terminated);
    y_q = batch.reward + gamma * (mean - alpha * next_log_prob);
    y_z = batch.reward + gamma * (z - alpha * next_log_prob);
  }
  std::map<std::string, torch::Tensor> critic_leaves;
  for (auto& [name, t] : before) {
    if (name.rfind("critic.", 0) == 0) critic_leaves[name] = t.clone().requires_grad_(true);
  }
  torch::Tensor loss = torch::zeros({});
  for (int e = 0; e < 2; ++e) {
    auto [q, sigma] = critic(critic_leaves, "critic", e, batch.obs, batch.action);
    torch::Tensor s = sigma.detach();
    torch::Tensor average = s.mean();  // the first update's moving average
    torch::Tensor bound = 3 * average;
    torch::Tensor clipped = q.detach() + torch::max(torch::min(y_z - q.detach(), bound), -bound);
    torch::Tensor per_item = -(y_q - q.detach()) / (s.pow(2) + 0.1) * q -
                             ((q.detach() - clipped).pow(2) - s.pow(2)) / (s.pow(3) + 0.1) * sigma;
    loss = loss + (average.pow(2) + 0.1) * (batch.weight * per_item).mean();
  }
  loss.backward();
  for (auto& [name, leaf] : critic_leaves) {
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-4, 1e-6)) << name;
  }

  // The actor through the updated critics' means.
  std::map<std::string, torch::Tensor> actor_leaves = after;
  for (auto& [name, t] : before) {
    if (name.rfind("policy.", 0) == 0) actor_leaves[name] = t.clone().requires_grad_(true);
  }
  auto [pi_action, pi_log_prob] = Policy(batch.obs, noise, actor_leaves, layers, 2);
  torch::Tensor q1 = critic(after, "critic", 0, batch.obs, pi_action).first;
  torch::Tensor q2 = critic(after, "critic", 1, batch.obs, pi_action).first;
  (alpha * pi_log_prob - torch::min(q1, q2)).mean().backward();
  for (auto& [name, leaf] : actor_leaves) {
    if (name.rfind("policy.", 0) != 0) continue;
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-4, 1e-6)) << name;
  }
  EXPECT_NEAR(grads["log_alpha"].item<double>(), -(pi_log_prob.mean().item<double>() - 2.0), 1e-5);
}

TEST(DsacTTest, ActorTemperatureAndTargetsMoveEveryPolicyDelayUpdates) {
  DsacTOptions options;
  options.obs_dim = 3;
  options.act_dim = 1;
  options.hidden = {8};
  options.policy_delay = 2;
  std::unique_ptr<DsacT> dsac = *DsacT::Create(options);
  auto snapshot = [&] {
    std::map<std::string, torch::Tensor> copy;
    for (auto& [name, t] : dsac->ParametersForTesting()) copy[name] = t.clone();
    return copy;
  };
  std::map<std::string, torch::Tensor> start = snapshot();
  ASSERT_TRUE(dsac->Update(RandomBatch(options, 16, 1)).ok());
  std::map<std::string, torch::Tensor> one = snapshot();
  EXPECT_FALSE(torch::equal(one["critic.layers.0.weight"], start["critic.layers.0.weight"]));
  EXPECT_TRUE(torch::equal(one["policy.layers.0.weight"], start["policy.layers.0.weight"]));
  EXPECT_TRUE(torch::equal(one["log_alpha"], start["log_alpha"]));
  EXPECT_TRUE(torch::equal(one["critic_target.layers.0.weight"], start["critic_target.layers.0.weight"]));
  ASSERT_TRUE(dsac->Update(RandomBatch(options, 16, 2)).ok());
  std::map<std::string, torch::Tensor> two = snapshot();
  EXPECT_FALSE(torch::equal(two["policy.layers.0.weight"], one["policy.layers.0.weight"]));
  EXPECT_FALSE(torch::equal(two["log_alpha"], one["log_alpha"]));
  EXPECT_TRUE(torch::allclose(two["critic_target.layers.0.weight"],
                              start["critic_target.layers.0.weight"].lerp(two["critic.layers.0.weight"], 0.005)));
}

TEST(DsacTTest, CriticLearnsTheMeanAndSpreadOfANoisyReturn) {
  // One-step returns r ~ N(0.5, 1) whatever the action: Q -> 0.5, sigma -> 1.
  DsacTOptions options;
  options.obs_dim = 1;
  options.act_dim = 1;
  options.hidden = {16};
  options.gamma = 0;
  options.critic_lr = 3e-3;
  options.std_average_rate = 0.05;
  options.seed = 7;
  std::unique_ptr<DsacT> dsac = *DsacT::Create(options);
  torch::manual_seed(0);
  for (int i = 0; i < 800; ++i) {
    TransitionBatch batch;
    batch.obs = torch::ones({128, 1});
    batch.action = torch::rand({128, 1}) * 2 - 1;
    batch.reward = 0.5 + torch::randn({128});
    batch.terminated = torch::ones({128});
    batch.next_obs = torch::ones({128, 1});
    ASSERT_TRUE(dsac->Update(batch).ok());
  }
  const DsacTStats stats = dsac->LastStats();
  EXPECT_NEAR(stats.q_mean, 0.5, 0.15);
  EXPECT_NEAR(stats.q_std, 1.0, 0.15);
  EXPECT_NEAR(stats.std_average, 1.0, 0.15);
}

TEST(DsacTTest, PolicyLearnsTheBestActionOfAOneStepProblem) {
  DsacTOptions options = OneStepProblemOptions<DsacTOptions>();
  options.policy_delay = 1;
  std::unique_ptr<DsacT> dsac = *DsacT::Create(options);
  EXPECT_NEAR(OneStepProblemAction(*dsac), 0.5f, 0.1f);
}

// GELU hidden layers (the paper's, network.activation's default for
// dsac_t) learn it too, and the export says GELU, so the actors' policy is
// the trained one.
TEST(DsacTTest, GeluNetworksLearnTheBestActionAndExportTheirActivation) {
  DsacTOptions options = OneStepProblemOptions<DsacTOptions>();
  options.policy_delay = 1;
  options.activation = v1::GELU;
  std::unique_ptr<DsacT> dsac = *DsacT::Create(options);
  EXPECT_NEAR(OneStepProblemAction(*dsac), 0.5f, 0.1f);
  EXPECT_EQ(dsac->ExportPolicy()->policy().activation(), v1::GELU);
}

TEST(DsacTTest, RestoredStateReproducesTheNextUpdateExactly) {
  DsacTOptions options;
  options.obs_dim = 4;
  options.act_dim = 2;
  options.hidden = {16, 16};
  options.seed = 5;
  std::unique_ptr<DsacT> original = *DsacT::Create(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(original->Update(RandomBatch(options, 8, i)).ok());
  std::map<std::string, torch::Tensor> saved;
  for (auto& [name, t] : original->state().Save()) saved[name] = t;
  options.seed = 6;  // other weights and noise: the restore must replace both
  std::unique_ptr<DsacT> restored = *DsacT::Create(options);
  ASSERT_TRUE(restored->state().Restore(saved).ok());
  EXPECT_EQ(restored->updates(), 3);
  TransitionBatch batch = RandomBatch(options, 8, 42);
  ASSERT_TRUE(original->Update(batch).ok());
  ASSERT_TRUE(restored->Update(batch).ok());
  std::map<std::string, torch::Tensor> a = original->ParametersForTesting();
  std::map<std::string, torch::Tensor> b = restored->ParametersForTesting();
  for (auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b[name])) << name;
}

TEST(DsacTTest, UpdateRefusesBadBatchesByFieldAndChangesNothing) {
  std::unique_ptr<DsacT> dsac = *DsacT::Create(TinyOptions());
  torch::Tensor before = dsac->ParametersForTesting()["critic.layers.0.weight"].clone();
  TransitionBatch batch = OneTransition();
  batch.action = torch::zeros({1, 2});
  absl::Status status = dsac->Update(batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("action"));
  batch = OneTransition();
  batch.reward = torch::ones({1}, torch::kFloat64);
  EXPECT_THAT(dsac->Update(batch).message(), HasSubstr("reward"));
  EXPECT_THAT(dsac->UpdateWithNoiseForTesting(OneTransition(), torch::zeros({1, 1}), torch::zeros({1, 1}),
                                              torch::zeros({2}))
                  .message(),
              HasSubstr("return_noise"));
  EXPECT_TRUE(torch::equal(dsac->ParametersForTesting()["critic.layers.0.weight"], before));
  EXPECT_EQ(dsac->updates(), 0);
}

TEST(DsacTTest, CreateRefusesBadOptions) {
  DsacTOptions options = TinyOptions();
  options.policy_delay = 0;
  EXPECT_THAT(DsacT::Create(options).status().message(), HasSubstr("policy_delay"));
  options = TinyOptions();
  options.td_clip_stds = 0;
  EXPECT_THAT(DsacT::Create(options).status().message(), HasSubstr("td_clip_stds"));
  options = TinyOptions();
  options.hidden = {};
  EXPECT_EQ(DsacT::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DsacTTest, ExportedPolicyIsSacsGaussianPolicy) {
  std::unique_ptr<DsacT> dsac = TinyDsacT();
  rill::v1::ParameterSet exported = *dsac->ExportPolicy();
  EXPECT_EQ(exported.policy().kind(), policies::GaussianPolicy::kKind);
  std::unique_ptr<policies::GaussianPolicy> policy = *policies::GaussianPolicy::Create(2, 1, {2}, 9);
  ASSERT_TRUE(policy->LoadParameters(exported).ok());
  // Mean 0: the deterministic action is tanh(0) = 0.
  EXPECT_NEAR(Act(*policy, torch::tensor({{1.f, 2.f}}), true).item<float>(), 0.f, 1e-7);
}

}  // namespace
}  // namespace rill::learner
