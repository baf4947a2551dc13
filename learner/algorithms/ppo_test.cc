#include "learner/algorithms/ppo.h"

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/algorithms/unroll_testing.h"
#include "learner/algorithms/vtrace.h"
#include "learner/torch_policy.h"
#include "policies/registry.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

PpoOptions Options(const envs::EnvSpec& env, int t) {
  PpoOptions options;
  options.env = env;
  options.hidden = {16};
  options.unroll_length = t;
  options.learning_rate = 3e-3;
  options.epochs = 2;
  options.num_minibatches = 2;
  options.seed = 7;
  return options;
}

std::unique_ptr<Ppo> Make(const PpoOptions& options) {
  absl::StatusOr<std::unique_ptr<Ppo>> ppo = Ppo::Create(options);
  EXPECT_TRUE(ppo.ok()) << ppo.status();
  return ppo.ok() ? *std::move(ppo) : nullptr;
}

torch::Tensor Column(std::vector<float> values) { return torch::tensor(values).view({-1, 1}); }

// Forwarders to unroll_testing.h for this test's algorithm.
Batch ActedBatch(const Ppo& ppo, const envs::EnvSpec& env, int b, int t, uint64_t seed) {
  return ActedUnrolls(*ppo.ExportPolicy(), env, b, t, seed);
}

double Stat(const Ppo& ppo, const std::string& name) { return StatisticValue(ppo.Statistics(), name); }

void ExpectValues(const torch::Tensor& actual, std::vector<float> expected, double tolerance = 1e-5) {
  ASSERT_EQ(actual.numel(), static_cast<int64_t>(expected.size()));
  torch::Tensor flat = actual.reshape(-1).to(torch::kFloat64);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(flat[i].item<double>(), expected[i], tolerance) << "at " << i;
  }
}

// gamma 0.9, lambda 0.8 (gamma lambda = 0.72), three unrolls of T = 3:
//   column 0, inside an episode: deltas 1 + 0.9 * 1.0 - 0.5 = 1.4,
//     0 + 0.9 * 1.5 - 1.0 = 0.35, 2 + 0.9 * 2.0 - 1.5 = 2.3;
//     A_2 = 2.3, A_1 = 0.35 + 0.72 * 2.3 = 2.006, A_0 = 1.4 + 0.72 * 2.006 = 2.84432.
//   column 1, terminated at t = 1: deltas 0.9, 1 - 1 = 0 (nothing bootstrapped), 0.9;
//     A_2 = 0.9, A_1 = 0 (nothing flows back across the end), A_0 = 0.9.
//   column 2, truncated at t = 0 with V(final obs) = 3: delta_0 = 1 + 0.9 * 3 - 1 = 2.7
//     and no carry; A_2 = 0.9, A_1 = 0.9 + 0.72 * 0.9 = 1.548.
TEST(PpoAdvantagesTest, GaeMatchesHandComputedValuesAcrossEpisodeEnds) {
  const torch::Tensor rewards = torch::tensor({1.f, 1.f, 1.f, 0.f, 1.f, 1.f, 2.f, 1.f, 1.f}).view({3, 3});
  const torch::Tensor values = torch::tensor({0.5f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.5f, 1.f, 1.f}).view({3, 3});
  const torch::Tensor bootstrap = torch::tensor({1.f, 1.f, 3.f, 1.5f, 5.f, 1.f, 2.f, 1.f, 1.f}).view({3, 3});
  const torch::Tensor terminated = torch::tensor({0.f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f, 0.f}).view({3, 3});
  const torch::Tensor truncated = torch::tensor({0.f, 0.f, 1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f}).view({3, 3});
  VTraceOptions options;
  options.gamma = 0.9;
  options.lambda = 0.8;
  options.rho_bar = 0.5;  // ignored by GAE
  absl::StatusOr<PpoTargets> targets =
      PpoAdvantages(options, torch::Tensor(), rewards, values, bootstrap, terminated, truncated);
  ASSERT_TRUE(targets.ok()) << targets.status();
  ExpectValues(targets->advantages, {2.84432f, 0.9f, 2.7f, 2.006f, 0.f, 1.548f, 2.3f, 0.9f, 0.9f});
  ExpectValues(targets->returns, {3.34432f, 1.9f, 3.7f, 3.006f, 1.f, 2.548f, 3.8f, 1.9f, 1.9f});
}

// APPO's targets are V-trace's: vs as the value targets, and as advantages
// V-trace's policy-gradient advantages without the clipped ratio (the
// PPO ratio weights them instead).
TEST(PpoAdvantagesTest, AppoTargetsAreVTracesWithoutTheRatioWeight) {
  torch::manual_seed(3);
  const int64_t t = 6, b = 5;
  const torch::Tensor log_rhos = torch::randn({t, b});
  const torch::Tensor rewards = torch::randn({t, b});
  const torch::Tensor values = torch::randn({t, b});
  const torch::Tensor bootstrap = torch::randn({t, b});
  const torch::Tensor terminated = torch::rand({t, b}).lt(0.2).to(torch::kFloat32);
  const torch::Tensor truncated = torch::rand({t, b}).lt(0.2).to(torch::kFloat32) * (1 - terminated);
  VTraceOptions options;
  options.gamma = 0.97;
  options.lambda = 0.9;
  options.rho_bar = 1.0;
  options.c_bar = 0.8;
  absl::StatusOr<PpoTargets> appo = PpoAdvantages(options, log_rhos, rewards, values, bootstrap, terminated, truncated);
  absl::StatusOr<VTraceReturns> vtrace = VTrace(options, log_rhos, rewards, values, bootstrap, terminated, truncated);
  ASSERT_TRUE(appo.ok() && vtrace.ok());
  EXPECT_TRUE(torch::allclose(appo->returns, vtrace->vs));
  EXPECT_TRUE(torch::allclose(appo->advantages * vtrace->clipped_rhos, vtrace->pg_advantages, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(appo->clipped_rhos, vtrace->clipped_rhos));
  // On-policy with lambda 1 and unclipped traces both are the bootstrapped
  // returns' advantages (where, inside an episode, the bootstrap value is
  // the next step's value, as in an update).
  options.lambda = 1;
  options.c_bar = 1;
  torch::Tensor next = bootstrap.clone();
  next.narrow(0, 0, t - 1).copy_(torch::where(truncated.narrow(0, 0, t - 1) > 0, bootstrap.narrow(0, 0, t - 1),
                                              values.narrow(0, 1, t - 1)));
  appo = PpoAdvantages(options, torch::zeros({t, b}), rewards, values, next, terminated, truncated);
  absl::StatusOr<PpoTargets> gae = PpoAdvantages(options, torch::Tensor(), rewards, values, next, terminated, truncated);
  ASSERT_TRUE(appo.ok() && gae.ok());
  EXPECT_TRUE(torch::allclose(appo->advantages, gae->advantages, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(appo->returns, gae->returns, 1e-5, 1e-5));
}

// Three rows, clip 0.2:
//   ratio 1.5, A 2:  max(-3, -2.4)   = -2.4 (clipped: no gradient)
//   ratio 0.5, A -1: max(0.5, 0.8)   = 0.8  (clipped: no gradient)
//   ratio 1.1, A 1:  max(-1.1, -1.1) = -1.1 (inside: gradient -ratio A / 3)
// policy = -0.9, clip fraction 2/3. Values (1, 3, 2) from (0.5, 2.9, 2)
// with returns 2: squared errors (1, 1, 0); clipped at 0.2 the first moves
// only to 0.7, (0.7 - 2)^2 = 1.69, so value = 0.5 * 0.5 * 2.69 / 3.
// Entropy bonus -0.01 * mean(0.6, 0.4, 0.5) = -0.005.
TEST(PpoLossTest, ClippedSurrogateValueClippingAndEntropyMatchHandComputedValues) {
  PpoOptions options;
  options.clip_range = 0.2;
  options.value_clip_range = 0.2;
  options.normalize_advantages = false;
  options.value_cost = 0.5;
  options.entropy_cost = 0.01;
  const torch::Tensor log_pi = torch::log(torch::tensor({1.5f, 0.5f, 1.1f})).requires_grad_(true);
  const torch::Tensor values = torch::tensor({1.f, 3.f, 2.f}).requires_grad_(true);
  const PpoLossTerms loss =
      PpoLoss(options, log_pi, torch::zeros({3}), torch::tensor({2.f, -1.f, 1.f}), torch::tensor({0.6f, 0.4f, 0.5f}),
              values, torch::tensor({0.5f, 2.9f, 2.f}), torch::full({3}, 2.f));
  EXPECT_NEAR(loss.policy.item<double>(), -0.9, 1e-6);
  EXPECT_NEAR(loss.value.item<double>(), 0.25 * 2.69 / 3, 1e-6);
  EXPECT_NEAR(loss.entropy.item<double>(), -0.005, 1e-7);
  EXPECT_NEAR(loss.total.item<double>(), -0.9 + 0.25 * 2.69 / 3 - 0.005, 1e-6);
  EXPECT_NEAR(loss.clip_fraction.item<double>(), 2.0 / 3, 1e-6);
  loss.total.backward();
  ExpectValues(log_pi.grad(), {0.f, 0.f, -1.1f / 3});
  // d/dV: the first row's clipped term wins and is constant in V (0);
  // the others 0.25 * 2 (V - R) / 3.
  ExpectValues(values.grad(), {0.f, 0.5f / 3, 0.f});

  options.value_clip_range = 0;
  const PpoLossTerms unclipped = PpoLoss(options, log_pi, torch::zeros({3}), torch::tensor({2.f, -1.f, 1.f}),
                                         torch::tensor({0.6f, 0.4f, 0.5f}), values, torch::tensor({0.5f, 2.9f, 2.f}),
                                         torch::full({3}, 2.f));
  EXPECT_NEAR(unclipped.value.item<double>(), 0.25 * 2 / 3, 1e-6);
}

// A saturated squashed Gaussian gives log-probabilities of -1e5 and less
// that move by thousands with a small step: the loss and its gradient stay
// finite (the log-ratio is bounded), where exp of the raw difference is inf.
TEST(PpoLossTest, LogProbabilitiesFarApartGiveAFiniteLossAndGradient) {
  PpoOptions options;
  options.normalize_advantages = false;
  const torch::Tensor log_pi = torch::tensor({-1.0e5f, -3.0e5f}).requires_grad_(true);
  const torch::Tensor behaviour = torch::tensor({-1.03e5f, -3.0e5f + 5e3f});
  const torch::Tensor values = torch::zeros({2}).requires_grad_(true);
  const PpoLossTerms loss = PpoLoss(options, log_pi, behaviour, torch::tensor({-1.f, 1.f}), torch::zeros({2}), values,
                                    torch::zeros({2}), torch::zeros({2}));
  EXPECT_TRUE(std::isfinite(loss.total.item<double>()));
  // Row 0: A = -1 and a ratio of e^20 (bounded from e^3000): -A r / 2.
  EXPECT_NEAR(loss.policy.item<double>() / (std::exp(20.0) / 2), 1.0, 1e-5);
  loss.total.backward();
  EXPECT_TRUE(torch::isfinite(log_pi.grad()).all().item<bool>());
}

// Advantages (1, 2, 3) normalise to (-1, 0, 1) (unbiased std 1); with every
// ratio 1 the policy loss is -mean(A) = 0 and its gradient -A / 3.
TEST(PpoLossTest, AdvantagesAreNormalisedPerMinibatch) {
  PpoOptions options;
  options.normalize_advantages = true;
  options.entropy_cost = 0;
  const torch::Tensor log_pi = torch::zeros({3}).requires_grad_(true);
  const PpoLossTerms loss = PpoLoss(options, log_pi, torch::zeros({3}), torch::tensor({1.f, 2.f, 3.f}),
                                    torch::zeros({3}), torch::zeros({3}), torch::zeros({3}), torch::zeros({3}));
  EXPECT_NEAR(loss.policy.item<double>(), 0, 1e-6);
  loss.policy.backward();
  ExpectValues(log_pi.grad(), {1.f / 3, 0.f, -1.f / 3}, 1e-6);
}

TEST(PpoMinibatchTest, EachEpochVisitsEveryStepOnceInEqualShuffledMinibatches) {
  at::Generator generator = at::detail::createCPUGenerator(5);
  const std::vector<torch::Tensor> first = MinibatchIndices(12, 3, generator);
  const std::vector<torch::Tensor> second = MinibatchIndices(12, 3, generator);
  for (const auto* epoch : {&first, &second}) {
    ASSERT_EQ(epoch->size(), 3u);
    std::multiset<int64_t> seen;
    for (const torch::Tensor& minibatch : *epoch) {
      EXPECT_EQ(minibatch.numel(), 4);
      for (int64_t i = 0; i < minibatch.numel(); ++i) seen.insert(minibatch[i].item<int64_t>());
    }
    std::multiset<int64_t> all;
    for (int64_t i = 0; i < 12; ++i) all.insert(i);
    EXPECT_EQ(seen, all);
  }
  EXPECT_FALSE(torch::equal(torch::cat(first), torch::cat(second)));  // reshuffled each epoch
  at::Generator again = at::detail::createCPUGenerator(5);
  EXPECT_TRUE(torch::equal(torch::cat(first), torch::cat(MinibatchIndices(12, 3, again))));
}

// 4 unrolls of 3 steps, 2 epochs of 3 minibatches: six Adam steps per batch.
TEST(PpoTest, OneBatchTakesEpochsTimesMinibatchesSteps) {
  PpoOptions options = Options(TwoArmSpec(), 3);
  options.epochs = 2;
  options.num_minibatches = 3;
  std::unique_ptr<Ppo> ppo = Make(options);
  ASSERT_TRUE(ppo->Update(ActedBatch(*ppo, TwoArmSpec(), 4, 3, 1)).ok());
  EXPECT_EQ(ppo->updates(), 1);
  EXPECT_EQ(ppo->optimizer_steps(), 6);
  EXPECT_EQ(ppo->env_steps_learned(), 12);
  EXPECT_EQ(Stat(*ppo, "epochs"), 2);
  // 4 x 3 = 12 steps do not split into 5 minibatches: refused, nothing moves.
  options.num_minibatches = 5;
  std::unique_ptr<Ppo> five = Make(options);
  const torch::Tensor before = five->named_parameters()[0].second.clone();
  EXPECT_THAT(five->Update(ActedBatch(*five, TwoArmSpec(), 4, 3, 1)).message(), HasSubstr("num_minibatches 5"));
  EXPECT_TRUE(torch::equal(before, five->named_parameters()[0].second));
}

TEST(PpoTest, ApproximateKlAboveTargetStopsTheRemainingEpochs) {
  PpoOptions options = Options(TwoArmSpec(), 4);
  options.epochs = 5;
  options.num_minibatches = 2;
  options.learning_rate = 1e-2;
  options.target_kl = 1e-9;  // any step leaves it behind
  std::unique_ptr<Ppo> ppo = Make(options);
  ASSERT_TRUE(ppo->Update(ActedBatch(*ppo, TwoArmSpec(), 4, 4, 2)).ok());
  EXPECT_EQ(Stat(*ppo, "epochs"), 1);
  EXPECT_EQ(ppo->optimizer_steps(), 2);
  EXPECT_GT(Stat(*ppo, "approx_kl"), 0);
}

TEST(PpoTest, ExportedPolicyIsTheLearnersPolicySoOnPolicyRatiosStartAtOne) {
  for (const envs::EnvSpec& env : {TwoArmSpec(), ContinuousSpec()}) {
    PpoOptions options = Options(env, 5);
    options.epochs = 1;
    options.num_minibatches = 1;
    std::unique_ptr<Ppo> ppo = Make(options);
    ASSERT_TRUE(ppo->Update(ActedBatch(*ppo, env, 4, 5, 1)).ok());
    // One minibatch: its ratios are taken before its step.
    EXPECT_NEAR(Stat(*ppo, "kl"), 0.0, 1e-5) << env.name;
    EXPECT_NEAR(Stat(*ppo, "approx_kl"), 0.0, 1e-6) << env.name;
    EXPECT_EQ(Stat(*ppo, "clip_fraction"), 0.0) << env.name;
    EXPECT_EQ(ppo->ExportPolicy()->policy().kind(), env.discrete ? "categorical" : "gaussian");
  }
}

// The log-std rows of `ppo`'s policy head (hidden {16}: policy.layers.1),
// weight [a, 16] and bias [a], as live views.
std::pair<torch::Tensor, torch::Tensor> LogStdRows(const Ppo& ppo, int64_t a) {
  torch::Tensor weight, bias;
  for (const auto& [name, tensor] : ppo.named_parameters()) {
    if (name == "policy.layers.1.weight") weight = tensor.narrow(0, a, a);
    if (name == "policy.layers.1.bias") bias = tensor.narrow(0, a, a);
  }
  EXPECT_TRUE(weight.defined() && bias.defined()) << "no policy.layers.1";
  return {weight, bias};
}

// The log-std the exported policy's actors use for each of `obs`'s rows
// ([N, a], from ActWithBehaviour's distribution: mean then log-std).
torch::Tensor ActorsLogStd(const Ppo& ppo, const torch::Tensor& obs, int64_t a) {
  std::unique_ptr<policies::Policy> policy = *policies::PolicyFromParameters(*ppo.ExportPolicy(), 1);
  policies::PolicyOutput out;
  EXPECT_TRUE(policy->ActWithBehaviour(obs.data_ptr<float>(), obs.size(0), &out).ok());
  return torch::tensor(out.distribution).view({obs.size(0), 2, a}).select(1, 1);
}

// PPO's default Gaussian: the log-std is the head's bias alone, learned (it
// moves from 0) while its weight rows stay 0, and the actors run the
// exported policy with that same log-std for every observation, so
// on-policy ratios still start at 1 after training. An export writes the
// rows as zeros even when a checkpoint left them non-zero.
TEST(PpoTest, StateIndependentLogStdIsOneLearnedVectorTheActorsRunAsIs) {
  const envs::EnvSpec env = ContinuousSpec();
  const int64_t a = 2;
  PpoOptions options = Options(env, 5);
  options.state_independent_log_std = true;
  options.entropy_cost = 0.05;
  std::unique_ptr<Ppo> ppo = Make(options);
  auto [weight, bias] = LogStdRows(*ppo, a);
  EXPECT_TRUE(torch::equal(bias, torch::zeros({a})));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ppo->Update(ActedBatch(*ppo, env, 4, 5, 10 + i)).ok());
  std::tie(weight, bias) = LogStdRows(*ppo, a);
  EXPECT_TRUE(torch::equal(weight, torch::zeros_like(weight))) << weight;
  EXPECT_GT(bias.abs().min().item<double>(), 1e-4) << "the log-std did not learn: " << bias;

  torch::Tensor obs = torch::tensor({0.5f, -1.0f, 2.0f, -3.0f, 0.25f, 1.5f}).view({2, 3});
  torch::Tensor actors = ActorsLogStd(*ppo, obs, a);
  EXPECT_TRUE(torch::allclose(actors, bias.detach().expand({2, a}), 0, 1e-6)) << actors << bias;

  options.epochs = 1;
  options.num_minibatches = 1;
  std::unique_ptr<Ppo> one_step = Make(options);
  std::map<std::string, torch::Tensor> saved;
  for (auto& [name, tensor] : ppo->state().Save()) saved[name] = tensor;
  ASSERT_TRUE(one_step->state().Restore(saved).ok());
  ASSERT_TRUE(one_step->Update(ActedBatch(*one_step, env, 4, 5, 99)).ok());
  EXPECT_NEAR(Stat(*one_step, "kl"), 0.0, 1e-5);
  EXPECT_NEAR(Stat(*one_step, "approx_kl"), 0.0, 1e-6);

  // Rows a state-dependent run's checkpoint would have left non-zero.
  std::tie(weight, bias) = LogStdRows(*ppo, a);
  weight.fill_(0.5);
  actors = ActorsLogStd(*ppo, obs, a);
  EXPECT_TRUE(torch::allclose(actors, bias.detach().expand({2, a}), 0, 1e-6)) << actors << bias;

  // The state-dependent head gives each observation its own log-std.
  options.state_independent_log_std = false;
  std::unique_ptr<Ppo> dependent = Make(options);
  torch::Tensor varying = ActorsLogStd(*dependent, obs, a);
  EXPECT_FALSE(torch::allclose(varying[0], varying[1])) << varying;
}

// Acting on-policy, PPO (GAE) and APPO (V-trace) both learn to prefer the
// rewarded action, discrete and continuous, feed-forward and with an LSTM
// core (whose minibatches are whole unrolls, re-run from their states).
TEST(PpoTest, LearnsTheRewardedActionSynchronousAndAsynchronous) {
  for (int lstm : {0, 8}) {
    for (bool vtrace : {false, true}) {
      for (const envs::EnvSpec& env : {TwoArmSpec(), ContinuousSpec()}) {
        PpoOptions options = Options(env, 5);
        options.gamma = 0;  // the value of a step is its reward
        options.vtrace = vtrace;
        options.entropy_cost = 0;
        options.lstm_size = lstm;
        std::unique_ptr<Ppo> ppo = Make(options);
        for (int i = 0; i < 60; ++i) ASSERT_TRUE(ppo->Update(ActedBatch(*ppo, env, 16, 5, 100 + i)).ok());
        Batch batch = ActedBatch(*ppo, env, 64, 5, 9999);
        EXPECT_GT(batch.columns["reward"].mean().item<double>(), 0.9)
            << env.name << (vtrace ? " appo" : " ppo") << " lstm " << lstm;
      }
    }
  }
}

TEST(PpoTest, RecurrentMinibatchesMustDivideTheUnrolls) {
  PpoOptions options = Options(TwoArmSpec(), 4);
  options.lstm_size = 4;
  options.num_minibatches = 4;
  std::unique_ptr<Ppo> ppo = Make(options);
  // 6 unrolls of 4 steps: 24 steps divide into 4 minibatches, 6 unrolls do not.
  absl::Status status = ppo->Update(ActedBatch(*ppo, TwoArmSpec(), 6, 4, 1));
  EXPECT_THAT(status.message(), HasSubstr("does not divide the batch's 6 unrolls"));
  EXPECT_TRUE(ppo->Update(ActedBatch(*ppo, TwoArmSpec(), 8, 4, 1)).ok());
}

TEST(PpoTest, RestoredStateContinuesIdentically) {
  PpoOptions options = Options(TwoArmSpec(), 4);
  std::unique_ptr<Ppo> a = Make(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a->Update(ActedBatch(*a, TwoArmSpec(), 4, 4, i)).ok());
  std::map<std::string, torch::Tensor> saved;
  for (auto& [name, tensor] : a->state().Save()) saved[name] = tensor;
  options.seed = 99;  // another initialisation and shuffle, overwritten by the restore
  std::unique_ptr<Ppo> b = Make(options);
  ASSERT_TRUE(b->state().Restore(saved).ok());
  EXPECT_EQ(b->updates(), 3);
  EXPECT_EQ(b->optimizer_steps(), a->optimizer_steps());
  Batch batch = ActedBatch(*a, TwoArmSpec(), 4, 4, 50);
  ASSERT_TRUE(a->Update(batch).ok());
  ASSERT_TRUE(b->Update(batch).ok());
  for (size_t i = 0; i < a->named_parameters().size(); ++i) {
    EXPECT_TRUE(torch::allclose(a->named_parameters()[i].second, b->named_parameters()[i].second));
  }
}

TEST(PpoTest, LearningRateDecaysLinearlyOncePerBatch) {
  PpoOptions options = Options(TwoArmSpec(), 5);
  options.lr_decay_env_steps = 80;  // four batches of 4 x 5 steps
  std::unique_ptr<Ppo> ppo = Make(options);
  std::vector<double> rates;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ppo->Update(ActedBatch(*ppo, TwoArmSpec(), 4, 5, i)).ok());
    rates.push_back(Stat(*ppo, "learning_rate"));
  }
  ExpectValues(torch::tensor(rates), {3e-3f, 2.25e-3f, 1.5e-3f, 0.75e-3f}, 1e-9);
}

TEST(PpoTest, BadOptionsAreRefusedByName) {
  PpoOptions options = Options(TwoArmSpec(), 5);
  options.epochs = 0;
  EXPECT_THAT(Ppo::Create(options).status().message(), HasSubstr("epochs"));
  options = Options(TwoArmSpec(), 5);
  options.clip_range = 0;
  EXPECT_THAT(Ppo::Create(options).status().message(), HasSubstr("clip_range"));
  options = Options(TwoArmSpec(), 5);
  options.hidden = {};
  EXPECT_THAT(Ppo::Create(options).status().message(), HasSubstr("ppo: hidden"));
}

// MAPPO: K = 3 agents of one env, each an unroll of the batch, with the
// env's global state (the same for the three at each step).
constexpr int kAgents = 3;
constexpr int kStateDim = 5;

envs::EnvSpec AgentRowSpec() {
  envs::EnvSpec env = TwoArmSpec();
  env.state_dim = kStateDim;
  return env;
}

PpoOptions MappoOptions(int t) {
  PpoOptions options = Options(AgentRowSpec(), t);
  options.centralised_value = true;
  options.num_minibatches = 1;
  return options;
}

Batch WithStates(Batch batch, int t, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor state = torch::randn({1, t + 1, kStateDim}).expand({batch.size, t + 1, kStateDim}).contiguous();
  batch.columns["state"] = state;
  batch.columns["final_state"] =
      (state.narrow(1, 1, t) + 0.5) * batch.column("truncated").unsqueeze(-1);  // zeros unless truncated
  return batch;
}

Batch Slice(const Batch& batch, int64_t k) {
  Batch one;
  one.size = 1;
  for (const auto& [name, column] : batch.columns) one.columns[name] = column.narrow(0, k, 1).contiguous();
  return one;
}

// The loss is a mean over the minibatch's rows, so the gradient of the
// shared parameters (the policy network and the state value) over the K
// agents' rows is the sum of each row's gradient over the rows: for equal
// unrolls, the mean of the agents' own gradients. Nothing couples the
// agents but that sum (each unroll's targets are its own) -- except the
// per-minibatch advantage normalisation, whose mean and std are the whole
// minibatch's: with it on, an agent's rows weigh in with statistics of
// every agent's, and the agents' own gradients no longer add up to it.
TEST(MappoTest, SharedGradientOverTheAgentsRowsIsTheSumOfThePerRowGradients) {
  const int t = 6;
  for (const bool normalize : {false, true}) {
    PpoOptions options = MappoOptions(t);
    options.normalize_advantages = normalize;
    std::unique_ptr<Ppo> ppo = Make(options);
    ASSERT_NE(ppo, nullptr);
    const Batch batch = WithStates(ActedBatch(*ppo, AgentRowSpec(), kAgents, t, 11), t, 12);
    absl::StatusOr<torch::Tensor> joint = ppo->Gradient(batch);
    ASSERT_TRUE(joint.ok()) << joint.status();
    torch::Tensor summed = torch::zeros_like(*joint);
    for (int k = 0; k < kAgents; ++k) summed += ppo->Gradient(Slice(batch, k)).value() / kAgents;
    const double error = (*joint - summed).abs().max().item<double>();
    const double scale = joint->abs().max().item<double>();
    ASSERT_GT(scale, 1e-4);
    if (normalize) {
      EXPECT_GT(error, 1e-3 * scale) << "per-agent normalisation would not be the minibatch's";
    } else {
      EXPECT_LT(error, 1e-5 * scale) << "the shared gradient is the sum over the agents' rows";
    }
  }
}

// The value is the state value's alone: the policy network's value head
// gets no gradient, the state value does, and V follows the state column,
// not the agents' observations.
TEST(MappoTest, ValueIsASeparateNetworkOnTheGlobalState) {
  const int t = 6;
  std::unique_ptr<Ppo> ppo = Make(MappoOptions(t));
  ASSERT_NE(ppo, nullptr);
  ASSERT_NE(ppo->state_value(), nullptr);
  const Batch batch = WithStates(ActedBatch(*ppo, AgentRowSpec(), kAgents, t, 11), t, 12);
  torch::Tensor gradient = ppo->Gradient(batch).value();
  int64_t policy_size = 0;
  for (const auto& [name, p] : ppo->named_parameters()) policy_size += p.numel();
  ASSERT_EQ(gradient.numel(), policy_size + ppo->state_value()->data().numel());
  const float* base = ppo->named_parameters()[0].second.data_ptr<float>();
  for (const auto& [name, p] : ppo->named_parameters()) {
    if (name.rfind("baseline", 0) != 0) continue;
    const int64_t offset = p.data_ptr<float>() - base;
    EXPECT_EQ(gradient.narrow(0, offset, p.numel()).abs().max().item<float>(), 0.f) << name;
  }
  EXPECT_GT(gradient.narrow(0, policy_size, gradient.numel() - policy_size).abs().max().item<float>(), 0.f);
  EXPECT_EQ(ppo->state_value()->Forward(batch.column("state").reshape({-1, kStateDim})).numel(),
            kAgents * (t + 1));
  // Training on the batch moves the state value (its checkpointed buffers).
  const torch::Tensor before = ppo->state_value()->data().clone();
  ASSERT_TRUE(ppo->Update(batch).ok());
  EXPECT_FALSE(torch::equal(before, ppo->state_value()->data()));
  EXPECT_FALSE(std::isnan(Stat(*ppo, "value")));
}

TEST(MappoTest, StateColumnsAreRequiredAndAnEnvWithoutAStateIsRefused) {
  const int t = 4;
  std::unique_ptr<Ppo> ppo = Make(MappoOptions(t));
  ASSERT_NE(ppo, nullptr);
  std::set<std::string> names;
  for (const ColumnRequirement& column : ppo->Columns()) names.insert(column.name);
  EXPECT_TRUE(names.count("state") && names.count("final_state"));
  Batch batch = ActedBatch(*ppo, AgentRowSpec(), 2, t, 3);
  EXPECT_THAT(ppo->Update(batch).message(), HasSubstr("state"));
  PpoOptions stateless = MappoOptions(t);
  stateless.env = TwoArmSpec();
  EXPECT_THAT(Ppo::Create(stateless).status().message(), HasSubstr("centralised_value"));
}

}  // namespace
}  // namespace rill::learner
