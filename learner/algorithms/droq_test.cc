#include "learner/algorithms/droq.h"

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

DroqOptions SmallOptions(double dropout = 0.0) {
  DroqOptions options;
  options.obs_dim = 3;
  options.act_dim = 2;
  options.hidden = {6, 5};
  options.dropout_rate = dropout;
  options.seed = 4;
  return options;
}

TransitionBatch RandomBatch(const DroqOptions& options, int64_t b, uint64_t seed) {
  torch::manual_seed(seed);
  TransitionBatch batch;
  batch.obs = torch::randn({b, options.obs_dim});
  batch.action = torch::rand({b, options.act_dim}) * 2 - 1;
  batch.reward = torch::randn({b});
  batch.terminated = (torch::rand({b}) < 0.3).to(torch::kFloat32);
  batch.next_obs = torch::randn({b, options.obs_dim});
  return batch;
}

// Member `e` of the critics in `p` under `prefix`, written the plain way:
// Linear, LayerNorm with its affine, ReLU per hidden layer (no dropout).
torch::Tensor Member(const std::map<std::string, torch::Tensor>& p, const std::string& prefix, int e,
                     const torch::Tensor& input, int hidden_layers) {
  torch::Tensor h = input;
  for (int l = 0; l <= hidden_layers; ++l) {
    const std::string layer = prefix + ".layers." + std::to_string(l);
    h = torch::nn::functional::linear(h, p.at(layer + ".weight")[e], p.at(layer + ".bias")[e]);
    if (l == hidden_layers) break;
    h = torch::layer_norm(h, {h.size(1)}, p.at(layer + ".norm_scale")[e], p.at(layer + ".norm_shift")[e], 1e-5);
    h = torch::relu(h);
  }
  return h.squeeze(1);
}

// The policy written the obvious way, for autograd (as sac_test's).
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

std::map<std::string, torch::Tensor> Copy(std::map<std::string, torch::Tensor> named) {
  for (auto& [name, t] : named) t = t.clone();
  return named;
}

TEST(DroqTest, CriticsAreLinearLayerNormReluPerMemberInOneBatchedPass) {
  std::unique_ptr<Droq> droq = *Droq::Create(SmallOptions());
  std::map<std::string, torch::Tensor> p = droq->ParametersForTesting();
  // Move the norms off their initial 1 and 0, so that they count.
  for (auto& [name, t] : p) {
    if (name.find("norm_") != std::string::npos) t.uniform_(0.5, 1.5);
  }
  TransitionBatch batch = RandomBatch(SmallOptions(), 9, 1);
  torch::Tensor q = droq->CriticsForTesting(batch.obs, batch.action, /*training=*/false);
  ASSERT_EQ(q.sizes(), (std::vector<int64_t>{2, 9}));
  const torch::Tensor input = torch::cat({batch.obs, batch.action}, 1);
  for (int e = 0; e < 2; ++e) {
    EXPECT_TRUE(torch::allclose(q[e], Member(p, "critic", e, input, 2), 1e-5, 1e-6)) << "member " << e;
  }
}

TEST(DroqTest, DropoutActsInTrainingOnlyAndThePolicyHasNone) {
  std::unique_ptr<Droq> droq = *Droq::Create(SmallOptions(/*dropout=*/0.5));
  TransitionBatch batch = RandomBatch(SmallOptions(), 64, 2);
  torch::Tensor eval_a = droq->CriticsForTesting(batch.obs, batch.action, false);
  torch::Tensor eval_b = droq->CriticsForTesting(batch.obs, batch.action, false);
  torch::Tensor train_a = droq->CriticsForTesting(batch.obs, batch.action, true);
  torch::Tensor train_b = droq->CriticsForTesting(batch.obs, batch.action, true);
  EXPECT_TRUE(torch::equal(eval_a, eval_b));
  EXPECT_FALSE(torch::allclose(train_a, train_b));
  EXPECT_FALSE(torch::allclose(train_a, eval_a));
  // The policy the actors run is SAC's, its parameters the learner's actor.
  rill::v1::ParameterSet exported = *droq->ExportPolicy();
  EXPECT_EQ(exported.policy().kind(), policies::GaussianPolicy::kKind);
  std::unique_ptr<policies::GaussianPolicy> policy = *policies::GaussianPolicy::Create(3, 2, {6, 5}, 1);
  ASSERT_TRUE(policy->LoadParameters(exported).ok());
  std::map<std::string, torch::Tensor> p = droq->ParametersForTesting();
  torch::Tensor out = Mlp(batch.obs, p, "policy", 3, -1);
  EXPECT_TRUE(torch::allclose(Act(*policy, batch.obs, /*deterministic=*/true), out.narrow(1, 0, 2).tanh(), 1e-5,
                              1e-6));
}

TEST(DroqTest, GradientsMatchAutogradOfTheLosses) {
  DroqOptions options = SmallOptions();
  options.num_critics = 3;  // the target's minimum and the actor's mean over more than two
  std::unique_ptr<Droq> droq = *Droq::Create(options);
  const int64_t b = 7;
  TransitionBatch batch = RandomBatch(options, b, 11);
  batch.weight = torch::rand({b}) + 0.5;
  torch::Tensor next_noise = torch::randn({b, 2});
  torch::Tensor noise = torch::randn({b, 2});
  std::map<std::string, torch::Tensor> before = Copy(droq->ParametersForTesting());
  ASSERT_TRUE(droq->UpdateWithNoiseForTesting(batch, next_noise, noise).ok());
  std::map<std::string, torch::Tensor> after = droq->ParametersForTesting();
  std::map<std::string, torch::Tensor> grads = droq->GradientsForTesting();
  const double alpha = std::exp(before["log_alpha"].item<double>());

  torch::Tensor y;
  {
    torch::NoGradGuard no_grad;
    auto [next_action, next_log_prob] = Policy(batch.next_obs, next_noise, before, 3, 2);
    const torch::Tensor input = torch::cat({batch.next_obs, next_action}, 1);
    torch::Tensor q_min = Member(before, "critic_target", 0, input, 2);
    for (int e = 1; e < 3; ++e) q_min = torch::min(q_min, Member(before, "critic_target", e, input, 2));
    y = batch.reward + options.gamma * (1 - batch.terminated) * (q_min - alpha * next_log_prob);
  }
  EXPECT_TRUE(torch::allclose(droq->LastTargetForTesting(), y, 1e-5, 1e-6));
  std::map<std::string, torch::Tensor> leaves;
  for (auto& [name, t] : before) {
    if (name.rfind("critic.", 0) == 0) leaves[name] = t.clone().requires_grad_(true);
  }
  torch::Tensor loss = torch::zeros({});
  for (int e = 0; e < 3; ++e) {
    torch::Tensor q = Member(leaves, "critic", e, torch::cat({batch.obs, batch.action}, 1), 2);
    loss = loss + 0.5 * (batch.weight * (q - y).pow(2)).mean();
  }
  loss.backward();
  for (auto& [name, leaf] : leaves) {
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-4, 1e-6)) << name;
  }

  // The actor through the updated critics' mean.
  std::map<std::string, torch::Tensor> actor_leaves = after;
  for (auto& [name, t] : before) {
    if (name.rfind("policy.", 0) == 0) actor_leaves[name] = t.clone().requires_grad_(true);
  }
  auto [action, log_prob] = Policy(batch.obs, noise, actor_leaves, 3, 2);
  const torch::Tensor input = torch::cat({batch.obs, action}, 1);
  torch::Tensor q_mean = torch::zeros({b});
  for (int e = 0; e < 3; ++e) q_mean = q_mean + Member(after, "critic", e, input, 2) / 3.0;
  (alpha * log_prob - q_mean).mean().backward();
  for (auto& [name, leaf] : actor_leaves) {
    if (name.rfind("policy.", 0) != 0) continue;
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-4, 1e-6)) << name;
  }
  EXPECT_NEAR(grads["log_alpha"].item<double>(), -(log_prob.mean().item<double>() - 2.0), 1e-5);
}

TEST(DroqTest, ActorStepsEveryPolicyDelayUpdatesAndTargetsEveryUpdate) {
  DroqOptions options = SmallOptions(0.01);
  options.policy_delay = 3;
  std::unique_ptr<Droq> droq = *Droq::Create(options);
  std::map<std::string, torch::Tensor> start = Copy(droq->ParametersForTesting());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(droq->Update(RandomBatch(options, 16, i)).ok());
  std::map<std::string, torch::Tensor> two = Copy(droq->ParametersForTesting());
  EXPECT_TRUE(torch::equal(two["policy.layers.0.weight"], start["policy.layers.0.weight"]));
  EXPECT_FALSE(torch::equal(two["critic_target.layers.0.weight"], start["critic_target.layers.0.weight"]));
  ASSERT_TRUE(droq->Update(RandomBatch(options, 16, 2)).ok());
  EXPECT_FALSE(torch::equal(droq->ParametersForTesting()["policy.layers.0.weight"], two["policy.layers.0.weight"]));
}

TEST(DroqTest, PolicyLearnsTheBestActionOfAOneStepProblem) {
  std::unique_ptr<Droq> droq = *Droq::Create(OneStepProblemOptions<DroqOptions>());
  EXPECT_NEAR(OneStepProblemAction(*droq), 0.5f, 0.1f);
  EXPECT_GT(droq->LastStats().q_spread, 0);
}

TEST(DroqTest, RestoredStateReproducesTheNextUpdateExactlyDropoutMasksIncluded) {
  DroqOptions options = SmallOptions(0.1);
  std::unique_ptr<Droq> original = *Droq::Create(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(original->Update(RandomBatch(options, 8, i)).ok());
  std::map<std::string, torch::Tensor> saved;
  for (auto& [name, t] : original->state().Save()) saved[name] = t;
  options.seed = 9;
  std::unique_ptr<Droq> restored = *Droq::Create(options);
  ASSERT_TRUE(restored->state().Restore(saved).ok());
  EXPECT_EQ(restored->updates(), 3);
  TransitionBatch batch = RandomBatch(options, 8, 42);
  ASSERT_TRUE(original->Update(batch).ok());
  ASSERT_TRUE(restored->Update(batch).ok());
  std::map<std::string, torch::Tensor> a = original->ParametersForTesting();
  std::map<std::string, torch::Tensor> b = restored->ParametersForTesting();
  for (auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b[name])) << name;
}

TEST(DroqTest, BadBatchesAndOptionsAreRefusedByName) {
  std::unique_ptr<Droq> droq = *Droq::Create(SmallOptions());
  torch::Tensor before = droq->ParametersForTesting()["critic.layers.0.weight"].clone();
  TransitionBatch batch = RandomBatch(SmallOptions(), 4, 1);
  batch.action = torch::zeros({4, 3});
  EXPECT_THAT(droq->Update(batch).message(), HasSubstr("action"));
  batch = RandomBatch(SmallOptions(), 4, 1);
  batch.next_obs = torch::zeros({3, 3});
  EXPECT_THAT(droq->Update(batch).message(), HasSubstr("next_obs"));
  EXPECT_TRUE(torch::equal(droq->ParametersForTesting()["critic.layers.0.weight"], before));
  EXPECT_EQ(droq->updates(), 0);
  DroqOptions options = SmallOptions();
  options.dropout_rate = 1;
  EXPECT_THAT(Droq::Create(options).status().message(), HasSubstr("dropout_rate"));
  options = SmallOptions();
  options.num_critics = 0;
  EXPECT_THAT(Droq::Create(options).status().message(), HasSubstr("num_critics"));
}

}  // namespace
}  // namespace rill::learner
