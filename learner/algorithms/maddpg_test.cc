// MADDPG on joint rows: the critic targets against a hand computation, the
// critic inputs of both critic kinds, the published PerAgentPolicy against
// the learner's own actors, learning on a fixed batch, and checkpoints.
#include "learner/algorithms/maddpg.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envs/catalog.h"
#include "envs/multi_agent/joint.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/algorithms/test_util.h"
#include "learner/algorithms/transitions.h"
#include "policies/per_agent.h"
#include "policies/registry.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Two agents: agent 0 discrete (1 observation, 2 actions, a one-hot),
// agent 1 continuous (1 observation, 1 action in [-2, 2]). The row: 2
// observations, 3 action entries.
MaddpgOptions TinyOptions() {
  MaddpgOptions options;
  options.env.name = "Tiny";
  options.env.joint_agents = 2;
  options.env.observation_shape = {2};
  options.env.action_low = {-1, -1, -2};
  options.env.action_high = {1, 1, 2};
  options.slots = {{.obs_offset = 0, .obs_dim = 1, .action_offset = 0, .action_width = 2, .discrete = true},
                   {.obs_offset = 1, .obs_dim = 1, .action_offset = 2, .action_width = 1, .discrete = false}};
  options.hidden = {1};
  options.gamma = 0.9;
  options.seed = 1;
  return options;
}

// Target networks a hand can follow (hidden width 1, ReLU):
//   agent 0's target actor: logits (relu(s0), 1): action 0 iff s0 > 1;
//   agent 1's target actor: a = tanh(relu(s1));
//   Q'_0 = relu(s0 + s1 + 2 a0 + 3 a1 + a2) + 0.5;
//   Q'_1 = 2 relu(s1 + 2 a2).
void SetTinyTargets(Maddpg& maddpg) {
  std::map<std::string, torch::Tensor> p = maddpg.ParametersForTesting();
  Set(p.at("agent_0.actor_target.layers.0.weight"), {1});
  Set(p.at("agent_0.actor_target.layers.0.bias"), {0});
  Set(p.at("agent_0.actor_target.layers.1.weight"), {1, 0});
  Set(p.at("agent_0.actor_target.layers.1.bias"), {0, 1});
  Set(p.at("agent_1.actor_target.layers.0.weight"), {1});
  Set(p.at("agent_1.actor_target.layers.0.bias"), {0});
  Set(p.at("agent_1.actor_target.layers.1.weight"), {1});
  Set(p.at("agent_1.actor_target.layers.1.bias"), {0});
  Set(p.at("agent_0.critic_target.layers.0.weight"), {1, 1, 2, 3, 1});
  Set(p.at("agent_0.critic_target.layers.0.bias"), {0});
  Set(p.at("agent_0.critic_target.layers.1.weight"), {1});
  Set(p.at("agent_0.critic_target.layers.1.bias"), {0.5});
  Set(p.at("agent_1.critic_target.layers.0.weight"), {0, 1, 0, 0, 2});
  Set(p.at("agent_1.critic_target.layers.0.bias"), {0});
  Set(p.at("agent_1.critic_target.layers.1.weight"), {2});
  Set(p.at("agent_1.critic_target.layers.1.bias"), {0});
}

// Three rows; agent 0 terminated in row 1, agent 1 in row 2.
TransitionBatch TinyBatch() {
  TransitionBatch batch;
  batch.obs = torch::tensor({{0.5f, -0.5f}, {1.f, 0.f}, {-1.f, 2.f}});
  batch.action = torch::tensor({{1.f, 0.f, 0.3f}, {0.f, 1.f, -0.2f}, {1.f, 0.f, 0.9f}});
  batch.reward = torch::tensor({0.f, 1.f, 0.5f});
  batch.terminated = torch::zeros({3});
  batch.next_obs = torch::tensor({{2.f, 0.5f}, {0.5f, 1.f}, {3.f, 0.f}});
  batch.agent_rewards = torch::tensor({{1.f, -1.f}, {0.f, 2.f}, {0.5f, 0.5f}});
  batch.agent_terminated = torch::tensor({{0.f, 0.f}, {1.f, 0.f}, {0.f, 1.f}});
  return batch;
}

// By hand: a' = row 0: (1, 0, tanh 0.5 = 0.46211716); row 1: (0, 1,
// tanh 1 = 0.76159416); row 2: (1, 0, 0).
// Q'_0 = 5.46211716, 5.76159416, 5.5; Q'_1 = 2.84846864, 5.04637664, 0.
// y_0 = 1 + 0.9 * 5.46211716, 0 (terminated), 0.5 + 0.9 * 5.5;
// y_1 = -1 + 0.9 * 2.84846864, 2 + 0.9 * 5.04637664, 0.5 (terminated).
const std::vector<float> kTinyY0 = {5.91590544f, 0.f, 5.45f};
const std::vector<float> kTinyY1 = {1.56362178f, 6.54173898f, 0.5f};

std::unique_ptr<Maddpg> Make(const MaddpgOptions& options) {
  absl::StatusOr<std::unique_ptr<Maddpg>> maddpg = Maddpg::Create(options);
  EXPECT_TRUE(maddpg.ok()) << maddpg.status();
  return maddpg.ok() ? *std::move(maddpg) : nullptr;
}

void ExpectColumn(const torch::Tensor& y, int k, const std::vector<float>& expected) {
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(y[static_cast<int64_t>(i)][k].item<float>(), expected[i], 1e-5) << "row " << i << " agent " << k;
  }
}

TEST(MaddpgTest, CriticTargetsMatchAHandComputationAndSkipTerminatedAgents) {
  std::unique_ptr<Maddpg> maddpg = Make(TinyOptions());
  ASSERT_NE(maddpg, nullptr);
  SetTinyTargets(*maddpg);
  absl::StatusOr<torch::Tensor> y = maddpg->CriticTargets(TinyBatch());
  ASSERT_TRUE(y.ok()) << y.status();
  ASSERT_THAT(y->sizes(), ElementsAre(3, 2));
  ExpectColumn(*y, 0, kTinyY0);
  ExpectColumn(*y, 1, kTinyY1);
}

TEST(MaddpgTest, NStepDiscountColumnReplacesGamma) {
  std::unique_ptr<Maddpg> maddpg = Make(TinyOptions());
  ASSERT_NE(maddpg, nullptr);
  SetTinyTargets(*maddpg);
  TransitionBatch batch = TinyBatch();
  batch.discount = torch::full({3}, 0.5f);
  absl::StatusOr<torch::Tensor> y = maddpg->CriticTargets(batch);
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectColumn(*y, 0, {1 + 0.5f * 5.46211716f, 0.f, 0.5f + 0.5f * 5.5f});
  ExpectColumn(*y, 1, {-1 + 0.5f * 2.84846864f, 2 + 0.5f * 5.04637664f, 0.5f});
}

TEST(MaddpgTest, CriticLossIsTheMeanSquaredErrorToTheTargets) {
  std::unique_ptr<Maddpg> maddpg = Make(TinyOptions());
  ASSERT_NE(maddpg, nullptr);
  SetTinyTargets(*maddpg);
  const TransitionBatch batch = TinyBatch();
  // The online critics before the step, through the test's own MLP.
  std::map<std::string, torch::Tensor> before;
  for (auto& [name, t] : maddpg->ParametersForTesting()) before[name] = t.clone();
  const torch::Tensor input = torch::cat({batch.obs, batch.action}, 1);
  const torch::Tensor q0 = Mlp(input, before, "agent_0.critic", 2, -1).view({-1});
  const torch::Tensor q1 = Mlp(input, before, "agent_1.critic", 2, -1).view({-1});
  const double loss0 = (q0 - torch::tensor(kTinyY0)).square().mean().item<double>();
  const double loss1 = (q1 - torch::tensor(kTinyY1)).square().mean().item<double>();

  ASSERT_TRUE(maddpg->Update(batch).ok());
  const std::vector<Statistic> stats = maddpg->Statistics();
  ASSERT_EQ(stats[0].name, "critic");
  EXPECT_NEAR(stats[0].value, (loss0 + loss1) / 2, 1e-4);
  EXPECT_EQ(stats[2].name, "q_mean");
  EXPECT_NEAR(stats[2].value, (q0.mean().item<double>() + q1.mean().item<double>()) / 2, 1e-5);
  EXPECT_EQ(maddpg->updates(), 1);
  EXPECT_THAT(maddpg->Priorities().sizes(), ElementsAre(3));
}

TEST(MaddpgTest, EveryActorStepsAndTheTargetsFollowByPolyak) {
  MaddpgOptions options = TinyOptions();
  options.hidden = {8};
  options.tau = 0.25;
  std::unique_ptr<Maddpg> maddpg = Make(options);
  ASSERT_NE(maddpg, nullptr);
  std::map<std::string, torch::Tensor> before;
  for (auto& [name, t] : maddpg->ParametersForTesting()) before[name] = t.clone();
  ASSERT_TRUE(maddpg->Update(TinyBatch()).ok());
  std::map<std::string, torch::Tensor> after = maddpg->ParametersForTesting();
  for (const std::string& agent : {"agent_0", "agent_1"}) {
    for (const std::string& net : {".actor", ".critic"}) {
      const std::string online = agent + net + ".layers.1.weight";
      const std::string target = agent + net + "_target.layers.1.weight";
      EXPECT_FALSE(torch::equal(before.at(online), after.at(online))) << online << " did not step";
      // target' = 0.75 target + 0.25 online'.
      EXPECT_TRUE(torch::allclose(after.at(target), 0.75 * before.at(target) + 0.25 * after.at(online), 1e-6, 1e-6))
          << target;
    }
  }
  EXPECT_NE(maddpg->Statistics()[1].value, 0);  // the actors' loss
}

TEST(MaddpgTest, ImportanceWeightsScaleTheCriticLoss) {
  std::unique_ptr<Maddpg> plain = Make(TinyOptions());
  std::unique_ptr<Maddpg> weighted = Make(TinyOptions());
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(weighted, nullptr);
  TransitionBatch batch = TinyBatch();
  ASSERT_TRUE(plain->Update(batch).ok());
  batch.weight = torch::full({3}, 2.f);
  ASSERT_TRUE(weighted->Update(batch).ok());
  EXPECT_NEAR(weighted->Statistics()[0].value, 2 * plain->Statistics()[0].value, 1e-5);
}

TEST(MaddpgTest, CentralisedCriticsSeeTheWholeRowAndOwnCriticsTheirAgentsSlice) {
  std::unique_ptr<Maddpg> centralised = Make(TinyOptions());
  ASSERT_NE(centralised, nullptr);
  EXPECT_EQ(centralised->CriticInputWidth(0), 5);
  EXPECT_EQ(centralised->CriticInputWidth(1), 5);
  MaddpgOptions options = TinyOptions();
  options.critic = v1::MaddpgConfig::OWN;
  std::unique_ptr<Maddpg> own = Make(options);
  ASSERT_NE(own, nullptr);
  EXPECT_EQ(own->CriticInputWidth(0), 3);
  EXPECT_EQ(own->CriticInputWidth(1), 2);
  EXPECT_THAT(own->ParametersForTesting().at("agent_1.critic.layers.0.weight").sizes(), ElementsAre(1, 2));
  EXPECT_TRUE(own->Update(TinyBatch()).ok());
}

// The joint row of a catalogued multi-agent env.
MaddpgOptions EnvOptions(const std::string& env_name) {
  const envs::MultiAgentSpec spec = envs::LookupMultiAgentSpec(env_name).value();
  MaddpgOptions options;
  options.env = envs::JointSpec(spec).value();
  options.slots = envs::JointLayout(spec);
  options.hidden = {16, 16};
  options.seed = 3;
  return options;
}

TEST(MaddpgTest, RealLayoutsGiveEachAgentItsObservationAndTheCriticsTheRow) {
  const MaddpgOptions options = EnvOptions("PredatorPrey-v0");
  std::unique_ptr<Maddpg> maddpg = Make(options);
  ASSERT_NE(maddpg, nullptr);
  const int64_t row = options.env.obs_dim() + options.env.action_dim();
  std::map<std::string, torch::Tensor> p = maddpg->ParametersForTesting();
  for (int k = 0; k < maddpg->num_agents(); ++k) {
    EXPECT_EQ(maddpg->CriticInputWidth(k), row) << "agent " << k;
    EXPECT_EQ(p.at(absl::StrCat("agent_", k, ".actor.layers.0.weight")).size(1), options.slots[k].obs_dim);
  }
  // Heterogeneous agents: predators and prey observe differently.
  EXPECT_NE(options.slots.front().obs_dim, options.slots.back().obs_dim);
}

// The published parameters run as a PerAgentPolicy whose deterministic
// actions are the learner's.
void ExpectPublishedPolicyActsAsTheLearner(const MaddpgOptions& options) {
  std::unique_ptr<Maddpg> maddpg = Make(options);
  ASSERT_NE(maddpg, nullptr);
  absl::StatusOr<v1::ParameterSet> params = maddpg->ExportPolicy();
  ASSERT_TRUE(params.ok()) << params.status();
  absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::PolicyFromParameters(*params, 1);
  ASSERT_TRUE(policy.ok()) << policy.status();
  constexpr int64_t kBatch = 32;
  torch::manual_seed(7);
  const torch::Tensor obs = torch::randn({kBatch, options.env.obs_dim()});
  policies::PolicyOutput out;
  (*policy)->Act(obs.contiguous().data_ptr<float>(), kBatch, /*deterministic=*/true, &out);
  const torch::Tensor published = torch::from_blob(out.actions.data(), {kBatch, options.env.action_dim()}).clone();
  const torch::Tensor learner = maddpg->DeterministicActions(obs);
  EXPECT_TRUE(torch::allclose(published, learner, 1e-5, 1e-5)) << published << learner;
}

TEST(MaddpgTest, PublishedPolicyActsAsTheLearnersActorsOnHeterogeneousAgents) {
  ExpectPublishedPolicyActsAsTheLearner(EnvOptions("PredatorPrey-v0"));
  ExpectPublishedPolicyActsAsTheLearner(EnvOptions("CooperativeNavigation-v0"));
  MaddpgOptions tiny = TinyOptions();
  tiny.hidden = {8};
  ExpectPublishedPolicyActsAsTheLearner(tiny);
}

// TinyOptions with agent 0's observation ending in its action mask: it
// observes [value, allow 0, allow 1].
MaddpgOptions MaskedTinyOptions() {
  MaddpgOptions options = TinyOptions();
  options.env.observation_shape = {4};
  options.slots[0].obs_dim = 3;
  options.slots[0].masked = true;
  options.slots[1].obs_offset = 3;
  return options;
}

TEST(MaddpgTest, AMaskedAgentActsLearnsAndIsPublishedWithinItsMask) {
  MaddpgOptions options = MaskedTinyOptions();
  options.hidden = {8};
  std::unique_ptr<Maddpg> maddpg = Make(options);
  ASSERT_NE(maddpg, nullptr);
  // Rows forbidding action 1, then action 0: the argmax is the allowed one
  // whatever the network prefers.
  torch::manual_seed(3);
  torch::Tensor obs = torch::randn({16, 4});
  obs.narrow(1, 1, 2).copy_(torch::tensor({1.f, 0.f}).repeat({16, 1}));
  obs.narrow(0, 8, 8).narrow(1, 1, 2).copy_(torch::tensor({0.f, 1.f}).repeat({8, 1}));
  const torch::Tensor actions = maddpg->DeterministicActions(obs);
  for (int64_t i = 0; i < 16; ++i) {
    EXPECT_EQ(actions[i][0].item<float>(), i < 8 ? 1.f : 0.f) << "row " << i;
    EXPECT_EQ(actions[i][1].item<float>(), i < 8 ? 0.f : 1.f) << "row " << i;
  }
  // The published policy masks as the learner does (the BLAS actors', on
  // random observations and so random masks).
  ExpectPublishedPolicyActsAsTheLearner(options);
  const v1::ParameterSet params = maddpg->ExportPolicy().value();
  EXPECT_TRUE(params.policy().agents(0).action_mask());
  EXPECT_FALSE(params.policy().agents(1).action_mask());
  // Updates run (the Gumbel-softmax over the masked logits).
  TransitionBatch batch;
  batch.obs = obs;
  batch.action = torch::cat({actions.narrow(1, 0, 2), torch::zeros({16, 1})}, 1);
  batch.reward = torch::zeros({16});
  batch.terminated = torch::zeros({16});
  batch.next_obs = obs.flip(0).contiguous();
  batch.agent_rewards = torch::ones({16, 2});
  batch.agent_terminated = torch::zeros({16, 2});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(maddpg->Update(batch).ok());
  // A mask on a continuous agent, or one as long as its observation, is
  // refused naming the slot.
  MaddpgOptions continuous = MaskedTinyOptions();
  continuous.slots[1].masked = true;
  absl::StatusOr<std::unique_ptr<Maddpg>> refused = Maddpg::Create(continuous);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("slots[1]: an action mask needs a discrete agent"));
}

TEST(MaddpgTest, PublishedSpecIsPerAgentWithEachAgentsKindSizesAndBounds) {
  MaddpgOptions options = TinyOptions();
  options.hidden = {4, 3};
  options.exploration_noise = 0.2;
  std::unique_ptr<Maddpg> maddpg = Make(options);
  ASSERT_NE(maddpg, nullptr);
  const v1::ParameterSet params = maddpg->ExportPolicy().value();
  const v1::PolicySpec& spec = params.policy();
  EXPECT_EQ(spec.kind(), "per_agent");
  EXPECT_EQ(spec.obs_dim(), 2);
  EXPECT_EQ(spec.action_dim(), 3);
  EXPECT_THAT(spec.action_low(), ElementsAre(-1, -1, -2));
  ASSERT_EQ(spec.agents_size(), 2);
  EXPECT_EQ(spec.agents(0).kind(), "categorical");
  EXPECT_EQ(spec.agents(0).action_dim(), 2);
  EXPECT_EQ(spec.agents(0).action_low_size(), 0);
  EXPECT_EQ(spec.agents(1).kind(), "deterministic");
  EXPECT_THAT(spec.agents(1).hidden_sizes(), ElementsAre(4, 3));
  EXPECT_THAT(spec.agents(1).action_high(), ElementsAre(2));
  EXPECT_DOUBLE_EQ(spec.agents(1).exploration_noise(), 0.2);
  std::vector<std::string> names;
  for (const v1::NamedTensor& t : params.tensors()) names.push_back(t.name());
  EXPECT_THAT(names, ElementsAre("agent_0.policy.layers.0.weight", "agent_0.policy.layers.0.bias",
                                 "agent_0.policy.layers.1.weight", "agent_0.policy.layers.1.bias",
                                 "agent_0.policy.layers.2.weight", "agent_0.policy.layers.2.bias",
                                 "agent_1.policy.layers.0.weight", "agent_1.policy.layers.0.bias",
                                 "agent_1.policy.layers.1.weight", "agent_1.policy.layers.1.bias",
                                 "agent_1.policy.layers.2.weight", "agent_1.policy.layers.2.bias"));
}

TEST(MaddpgTest, UpdatesOnAFixedBatchLowerTheCriticLoss) {
  MaddpgOptions options = TinyOptions();
  options.hidden = {16, 16};
  std::unique_ptr<Maddpg> maddpg = Make(options);
  ASSERT_NE(maddpg, nullptr);
  TransitionBatch batch = TinyBatch();
  batch.agent_terminated = torch::ones({3, 2});  // fixed targets: y = the agents' rewards
  ASSERT_TRUE(maddpg->Update(batch).ok());
  const double first = maddpg->Statistics()[0].value;
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(maddpg->Update(batch).ok());
  const double last = maddpg->Statistics()[0].value;
  EXPECT_LT(last, 0.1 * first) << "first " << first << ", last " << last;
}

TEST(MaddpgTest, RestoredStateReproducesTheNextUpdatesExactly) {
  MaddpgOptions options = TinyOptions();
  options.hidden = {8};
  std::unique_ptr<Maddpg> original = Make(options);
  ASSERT_NE(original, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(original->Update(TinyBatch()).ok());
  const std::vector<std::pair<std::string, torch::Tensor>> saved = original->state().Save();

  options.seed = 9;  // other weights and Gumbel noise: Restore must replace both
  std::unique_ptr<Maddpg> restored = Make(options);
  ASSERT_NE(restored, nullptr);
  ASSERT_TRUE(restored->state().Restore(std::map<std::string, torch::Tensor>(saved.begin(), saved.end())).ok());
  EXPECT_EQ(restored->updates(), 3);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(original->Update(TinyBatch()).ok());
    ASSERT_TRUE(restored->Update(TinyBatch()).ok());
    std::map<std::string, torch::Tensor> b = restored->ParametersForTesting();
    for (auto& [name, t] : original->ParametersForTesting()) {
      EXPECT_TRUE(torch::equal(t, b.at(name))) << name << " after update " << 4 + i;
    }
  }
  EXPECT_THAT(original->state().names(), ::testing::Contains("agent_1.critic_adam.exp_avg"));
}

TEST(MaddpgTest, UpdateRefusesABatchWithoutTheAgentsColumns) {
  std::unique_ptr<Maddpg> maddpg = Make(TinyOptions());
  ASSERT_NE(maddpg, nullptr);
  TransitionBatch batch = TinyBatch();
  batch.agent_terminated = torch::Tensor();
  absl::Status status = maddpg->Update(batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("agent_terminated"));
  batch = TinyBatch();
  batch.agent_rewards = torch::zeros({3, 3});
  EXPECT_THAT(std::string(maddpg->Update(batch).message()), HasSubstr("agent_rewards"));
  EXPECT_EQ(maddpg->updates(), 0);
}

TEST(MaddpgTest, ColumnsAddTheAgentsRewardsAndTerminations) {
  std::unique_ptr<Maddpg> maddpg = Make(TinyOptions());
  ASSERT_NE(maddpg, nullptr);
  std::vector<std::string> names;
  for (const ColumnRequirement& column : maddpg->Columns()) names.push_back(column.name);
  EXPECT_THAT(names, ElementsAre("obs", "action", "reward", "terminated", "next_obs", "discount", "agent_rewards",
                                 "agent_terminated"));
  EXPECT_THAT(maddpg->Columns().back().shape, ElementsAre(2));
  EXPECT_EQ(maddpg->name(), "maddpg");
}

TEST(MaddpgTest, FromConfigReadsTheSectionAndTheEnvsLayout) {
  AlgorithmContext context;
  context.config.mutable_env()->set_name("PredatorPrey-v0");
  context.config.mutable_env()->set_joint_agents(true);
  context.config.mutable_network()->add_hidden_sizes(32);
  v1::LearnerConfig& learner = *context.config.mutable_learner();
  learner.set_gamma(0.95);
  learner.set_tau(0.01);
  v1::MaddpgConfig& section = *learner.mutable_maddpg();
  section.set_actor_lr(0.01);
  section.set_critic_lr(0.01);
  section.set_critic(v1::MaddpgConfig::OWN);
  section.set_gumbel_temperature(1.0);
  section.set_policy_regularization(1e-3);
  section.set_max_grad_norm(0.5);
  section.set_exploration_noise(0.1);
  context.env = envs::JointSpec(envs::LookupMultiAgentSpec("PredatorPrey-v0").value()).value();
  absl::StatusOr<std::unique_ptr<Algorithm>> algorithm = Maddpg::FromConfig(context);
  ASSERT_TRUE(algorithm.ok()) << algorithm.status();
  const auto& maddpg = static_cast<const Maddpg&>(**algorithm);
  EXPECT_EQ(maddpg.num_agents(), context.env.joint_agents);
  EXPECT_THAT(maddpg.options().hidden, ElementsAre(32));
  EXPECT_EQ(maddpg.options().critic, v1::MaddpgConfig::OWN);
  EXPECT_DOUBLE_EQ(maddpg.options().gamma, 0.95);

  context.env.joint_agents = 0;
  EXPECT_THAT(std::string(Maddpg::FromConfig(context).status().message()), HasSubstr("env.joint_agents"));
}

TEST(MaddpgTest, CreateRefusesSlotsThatDoNotTileTheRowAndBadHyperparameters) {
  MaddpgOptions options = TinyOptions();
  options.slots[1].obs_offset = 0;
  EXPECT_THAT(std::string(Maddpg::Create(options).status().message()), HasSubstr("slots[1]"));
  options = TinyOptions();
  options.env.observation_shape = {3};
  EXPECT_THAT(std::string(Maddpg::Create(options).status().message()), HasSubstr("obs_dim"));
  options = TinyOptions();
  options.gumbel_temperature = 0;
  EXPECT_THAT(std::string(Maddpg::Create(options).status().message()), HasSubstr("gumbel_temperature"));
  options = TinyOptions();
  options.tau = 1.5;
  EXPECT_THAT(std::string(Maddpg::Create(options).status().message()), HasSubstr("tau"));
}

}  // namespace
}  // namespace rill::learner
