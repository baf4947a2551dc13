#include "learner/algorithms/crossq.h"

#include <cmath>
#include <map>
#include <string>
#include <utility>
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

CrossQOptions SmallOptions() {
  CrossQOptions options;
  options.obs_dim = 3;
  options.act_dim = 2;
  options.hidden = {6, 5};
  options.critic_hidden = {7, 4};
  options.seed = 4;
  return options;
}

TransitionBatch RandomBatch(const CrossQOptions& options, int64_t b, uint64_t seed) {
  torch::manual_seed(seed);
  TransitionBatch batch;
  batch.obs = torch::randn({b, options.obs_dim}) * 2 + 1;
  batch.action = torch::rand({b, options.act_dim}) * 2 - 1;
  batch.reward = torch::randn({b});
  batch.terminated = (torch::rand({b}) < 0.3).to(torch::kFloat32);
  batch.next_obs = torch::randn({b, options.obs_dim}) * 2 + 1;
  return batch;
}

// Member `e` of the network `prefix` in `p`, written the plain way: per
// layer, the renorm (with the batch's statistics over the rows of `h` in
// training, as in the warm-up; the running ones otherwise), Linear, and
// ReLU but after the last. [R, out].
torch::Tensor Reference(const std::map<std::string, torch::Tensor>& p, const std::string& prefix, int e,
                        torch::Tensor h, int layers, bool training) {
  for (int l = 0; l < layers; ++l) {
    const std::string name = prefix + ".layers." + std::to_string(l);
    torch::Tensor mean = training ? h.mean(0) : p.at(name + ".running_mean")[e];
    torch::Tensor var = training ? h.var(0, /*unbiased=*/false) : p.at(name + ".running_var")[e];
    h = (h - mean) / (var + 1e-3).sqrt() * p.at(name + ".renorm_scale")[e] + p.at(name + ".renorm_shift")[e];
    h = torch::nn::functional::linear(h, p.at(name + ".weight")[e], p.at(name + ".bias")[e]);
    if (l + 1 < layers) h = torch::relu(h);
  }
  return h;
}

// The tanh-squashed Gaussian of the actor's output `out` with noise `eps`:
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

bool IsStatistic(const std::string& name) { return name.find(".running_") != std::string::npos; }

// Moves every renorm's scale, shift and running statistics off their
// initial values, so that each counts.
void Perturb(CrossQ& crossq) {
  for (auto& [name, t] : crossq.ParametersForTesting()) {
    if (name.find(".renorm_") != std::string::npos || name.find(".running_var") != std::string::npos) {
      t.uniform_(0.5, 1.5);
    } else if (name.find(".running_mean") != std::string::npos) {
      t.uniform_(-1, 1);
    }
  }
}

TEST(CrossQTest, NetworksAreRenormLinearReluPerMemberOutOfTraining) {
  CrossQOptions options = SmallOptions();
  options.num_critics = 3;
  std::unique_ptr<CrossQ> crossq = *CrossQ::Create(options);
  Perturb(*crossq);
  std::map<std::string, torch::Tensor> p = crossq->ParametersForTesting();
  EXPECT_EQ(p.count("critic_target.layers.0.weight"), 0u);  // no target networks
  TransitionBatch batch = RandomBatch(options, 9, 1);
  torch::Tensor q = crossq->CriticsForTesting(batch.obs, batch.action);
  ASSERT_EQ(q.sizes(), (std::vector<int64_t>{3, 9}));
  const torch::Tensor input = torch::cat({batch.obs, batch.action}, 1);
  for (int e = 0; e < 3; ++e) {
    EXPECT_TRUE(torch::allclose(q[e], Reference(p, "critic", e, input, 3, false).squeeze(1), 1e-5, 1e-6)) << e;
  }
  EXPECT_TRUE(
      torch::allclose(crossq->ActorForTesting(batch.obs), Reference(p, "policy", 0, batch.obs, 3, false), 1e-5, 1e-6));
}

TEST(CrossQTest, GradientsTargetAndStatisticsMatchTheJointPassWrittenPlainly) {
  CrossQOptions options = SmallOptions();
  options.num_critics = 3;  // the minimum over more than two
  options.policy_delay = 1;
  std::unique_ptr<CrossQ> crossq = *CrossQ::Create(options);
  Perturb(*crossq);
  const int64_t b = 7;
  TransitionBatch batch = RandomBatch(options, b, 11);
  batch.weight = torch::rand({b}) + 0.5;
  torch::Tensor next_noise = torch::randn({b, 2});
  torch::Tensor noise = torch::randn({b, 2});
  std::map<std::string, torch::Tensor> before = Copy(crossq->ParametersForTesting());
  ASSERT_TRUE(crossq->UpdateWithNoiseForTesting(batch, next_noise, noise).ok());
  std::map<std::string, torch::Tensor> after = crossq->ParametersForTesting();
  std::map<std::string, torch::Tensor> grads = crossq->GradientsForTesting();
  const double alpha = std::exp(before["log_alpha"].item<double>());

  // a' from the actor out of training; the critics over (s, a) and (s', a')
  // in one pass with its batch statistics; the target from that pass.
  torch::Tensor joint;
  torch::Tensor next_log_prob;
  {
    torch::NoGradGuard no_grad;
    auto [next_action, log_prob] = Squash(Reference(before, "policy", 0, batch.next_obs, 3, false), next_noise, 2);
    joint = torch::cat({torch::cat({batch.obs, batch.action}, 1), torch::cat({batch.next_obs, next_action}, 1)}, 0);
    next_log_prob = log_prob;
  }
  std::map<std::string, torch::Tensor> leaves = before;
  for (auto& [name, t] : leaves) {
    if (name.rfind("critic.", 0) == 0 && !IsStatistic(name)) t = t.clone().requires_grad_(true);
  }
  std::vector<torch::Tensor> q;
  torch::Tensor q_next_min;
  for (int e = 0; e < 3; ++e) {
    torch::Tensor all = Reference(leaves, "critic", e, joint, 3, true).squeeze(1);
    q.push_back(all.narrow(0, 0, b));
    torch::Tensor next = all.narrow(0, b, b).detach();
    q_next_min = e == 0 ? next : torch::min(q_next_min, next);
  }
  torch::Tensor y = batch.reward + options.gamma * (1 - batch.terminated) * (q_next_min - alpha * next_log_prob);
  EXPECT_TRUE(torch::allclose(crossq->LastTargetForTesting(), y, 1e-5, 1e-6));
  torch::Tensor loss = torch::zeros({});
  for (int e = 0; e < 3; ++e) loss = loss + 0.5 * (batch.weight * (q[e] - y).pow(2)).mean();
  loss.backward();
  for (auto& [name, leaf] : leaves) {
    if (!leaf.requires_grad()) continue;
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-4, 1e-6)) << name;
  }
  // The first renorm's running statistics moved 0.01 of the way to the
  // joint batch's, the same for every member.
  for (int e = 0; e < 3; ++e) {
    EXPECT_TRUE(torch::allclose(after["critic.layers.0.running_mean"][e],
                                0.99 * before["critic.layers.0.running_mean"][e] + 0.01 * joint.mean(0), 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(after["critic.layers.0.running_var"][e],
                                0.99 * before["critic.layers.0.running_var"][e] + 0.01 * joint.var(0), 1e-5, 1e-6));
  }

  // The actor: a training pass on s, through the updated critics out of
  // training, their minimum.
  std::map<std::string, torch::Tensor> actor_leaves = after;
  for (auto& [name, t] : before) {
    if (name.rfind("policy.", 0) == 0) actor_leaves[name] = IsStatistic(name) ? t : t.clone().requires_grad_(true);
  }
  auto [action, log_prob] = Squash(Reference(actor_leaves, "policy", 0, batch.obs, 3, true), noise, 2);
  const torch::Tensor input = torch::cat({batch.obs, action}, 1);
  torch::Tensor q_min = Reference(after, "critic", 0, input, 3, false).squeeze(1);
  for (int e = 1; e < 3; ++e) q_min = torch::min(q_min, Reference(after, "critic", e, input, 3, false).squeeze(1));
  (alpha * log_prob - q_min).mean().backward();
  for (auto& [name, leaf] : actor_leaves) {
    if (name.rfind("policy.", 0) != 0 || IsStatistic(name)) continue;
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-4, 1e-6)) << name;
  }
  EXPECT_TRUE(torch::allclose(after["policy.layers.0.running_mean"][0],
                              0.99 * before["policy.layers.0.running_mean"][0] + 0.01 * batch.obs.mean(0), 1e-5,
                              1e-6));
  EXPECT_NEAR(grads["log_alpha"].item<double>(), -(log_prob.mean().item<double>() - 2.0), 1e-5);
}

TEST(CrossQTest, ActorAndItsStatisticsMoveEveryPolicyDelayUpdates) {
  CrossQOptions options = SmallOptions();
  options.policy_delay = 3;
  std::unique_ptr<CrossQ> crossq = *CrossQ::Create(options);
  std::map<std::string, torch::Tensor> start = Copy(crossq->ParametersForTesting());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(crossq->Update(RandomBatch(options, 16, i)).ok());
  std::map<std::string, torch::Tensor> two = Copy(crossq->ParametersForTesting());
  EXPECT_TRUE(torch::equal(two["policy.layers.0.weight"], start["policy.layers.0.weight"]));
  EXPECT_TRUE(torch::equal(two["policy.layers.0.running_mean"], start["policy.layers.0.running_mean"]));
  EXPECT_FALSE(torch::equal(two["critic.layers.0.weight"], start["critic.layers.0.weight"]));
  EXPECT_FALSE(torch::equal(two["critic.layers.1.running_var"], start["critic.layers.1.running_var"]));
  ASSERT_TRUE(crossq->Update(RandomBatch(options, 16, 2)).ok());
  std::map<std::string, torch::Tensor> three = crossq->ParametersForTesting();
  EXPECT_FALSE(torch::equal(three["policy.layers.0.weight"], two["policy.layers.0.weight"]));
  EXPECT_FALSE(torch::equal(three["policy.layers.0.running_mean"], two["policy.layers.0.running_mean"]));
}

// The actors' policy is SAC's MLP with each renorm folded into the Linear
// layer after it: the same actions as the learner's actor out of training,
// on the actor side's own (BLAS) forward.
TEST(CrossQTest, ExportedPolicyFoldsTheRenormsAndActsAsTheActorOutOfTraining) {
  CrossQOptions options = SmallOptions();
  options.policy_delay = 1;
  options.renorm.momentum = 0.3;
  options.renorm.warmup_steps = 2;
  std::unique_ptr<CrossQ> crossq = *CrossQ::Create(options);
  Perturb(*crossq);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(crossq->Update(RandomBatch(options, 32, i)).ok());
  rill::v1::ParameterSet exported = *crossq->ExportPolicy();
  EXPECT_EQ(exported.policy().kind(), policies::GaussianPolicy::kKind);
  std::unique_ptr<policies::GaussianPolicy> policy = *policies::GaussianPolicy::Create(3, 2, {6, 5}, 1);
  ASSERT_TRUE(policy->LoadParameters(exported).ok());
  const torch::Tensor obs = RandomBatch(options, 50, 99).obs;
  const torch::Tensor mean = crossq->ActorForTesting(obs).narrow(1, 0, 2);
  EXPECT_TRUE(torch::allclose(Act(*policy, obs, /*deterministic=*/true), mean.tanh(), 1e-5, 1e-5));
}

// Over states that vary (a constant one has no batch statistics to
// normalise), the reward ignoring them.
TEST(CrossQTest, PolicyLearnsTheBestActionOfAOneStepProblem) {
  CrossQOptions options = OneStepProblemOptions<CrossQOptions>();
  options.critic_hidden = {64, 64};
  std::unique_ptr<CrossQ> crossq = *CrossQ::Create(options);
  EXPECT_NEAR(OneStepProblemAction(*crossq, /*state_noise=*/1), 0.5f, 0.1f);
}

TEST(CrossQTest, RestoredStateReproducesTheNextUpdateExactlyStatisticsIncluded) {
  CrossQOptions options = SmallOptions();
  options.policy_delay = 2;
  options.renorm.warmup_steps = 3;  // the restored pass counts decide renormalisation
  std::unique_ptr<CrossQ> original = *CrossQ::Create(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(original->Update(RandomBatch(options, 8, i)).ok());
  std::map<std::string, torch::Tensor> saved;
  for (auto& [name, t] : original->state().Save()) saved[name] = t;
  options.seed = 9;
  std::unique_ptr<CrossQ> restored = *CrossQ::Create(options);
  ASSERT_TRUE(restored->state().Restore(saved).ok());
  EXPECT_EQ(restored->updates(), 3);
  for (int i = 0; i < 2; ++i) {
    TransitionBatch batch = RandomBatch(options, 8, 42 + i);
    ASSERT_TRUE(original->Update(batch).ok());
    ASSERT_TRUE(restored->Update(batch).ok());
  }
  std::map<std::string, torch::Tensor> a = original->ParametersForTesting();
  std::map<std::string, torch::Tensor> b = restored->ParametersForTesting();
  for (auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b[name])) << name;
}

TEST(CrossQTest, BadBatchesAndOptionsAreRefusedByName) {
  std::unique_ptr<CrossQ> crossq = *CrossQ::Create(SmallOptions());
  torch::Tensor before = crossq->ParametersForTesting()["critic.layers.0.weight"].clone();
  torch::Tensor stats = crossq->ParametersForTesting()["critic.layers.0.running_mean"].clone();
  TransitionBatch batch = RandomBatch(SmallOptions(), 4, 1);
  batch.action = torch::zeros({4, 3});
  EXPECT_THAT(crossq->Update(batch).message(), HasSubstr("action"));
  EXPECT_THAT(crossq->Update(RandomBatch(SmallOptions(), 1, 1)).message(), HasSubstr("batch statistics"));
  batch = RandomBatch(SmallOptions(), 4, 1);
  batch.next_obs = torch::zeros({3, 3});
  EXPECT_THAT(crossq->Update(batch).message(), HasSubstr("next_obs"));
  EXPECT_TRUE(torch::equal(crossq->ParametersForTesting()["critic.layers.0.weight"], before));
  EXPECT_TRUE(torch::equal(crossq->ParametersForTesting()["critic.layers.0.running_mean"], stats));
  EXPECT_EQ(crossq->updates(), 0);
  for (const auto& [change, field] : std::vector<std::pair<void (*)(CrossQOptions&), std::string>>{
           {[](CrossQOptions& o) { o.adam_beta1 = 1; }, "adam_beta1"},
           {[](CrossQOptions& o) { o.num_critics = 0; }, "num_critics"},
           {[](CrossQOptions& o) { o.critic_hidden = {}; }, "critic_hidden"},
           {[](CrossQOptions& o) { o.renorm.momentum = 0; }, "momentum"},
           {[](CrossQOptions& o) { o.renorm.r_max = 0.5; }, "r_max"},
       }) {
    CrossQOptions options = SmallOptions();
    change(options);
    EXPECT_THAT(CrossQ::Create(options).status().message(), HasSubstr(field));
  }
}

}  // namespace
}  // namespace rill::learner
