#include "learner/algorithms/actor_critic.h"

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "envs/observation.h"
#include "gtest/gtest.h"
#include "learner/algorithms/checks.h"
#include "learner/algorithms/unroll_testing.h"
#include "learner/torch_policy.h"
#include "policies/registry.h"
#include "policies/spec.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

torch::Tensor TimeMajor(const torch::Tensor& batch_major) { return batch_major.transpose(0, 1).contiguous(); }

std::unique_ptr<ActorCritic> Recurrent(const envs::EnvSpec& env, int lstm = 6, uint64_t seed = 3) {
  ActorCriticOptions options;
  options.env = env;
  options.hidden = {16};
  options.lstm_size = lstm;
  options.seed = seed;
  absl::StatusOr<std::unique_ptr<ActorCritic>> net = ActorCritic::Create(options, "test");
  EXPECT_TRUE(net.ok()) << net.status();
  return net.ok() ? *std::move(net) : nullptr;
}

// The learner's replay of an unroll is the actor's forward, step by step:
// the unrolls are acted by the exported policy on OpenBLAS (policies/),
// carrying each env's core state and zeroing it where an episode begins,
// and the learner, from the recorded first state alone, gets the same
// logits and log-probabilities at every step, across those boundaries.
TEST(ActorCriticTest, ReplayingAnUnrollGivesTheActorsStepByStepOutputsAcrossEpisodeStarts) {
  for (const envs::EnvSpec& env : {TwoArmSpec(), ContinuousSpec()}) {
    SCOPED_TRACE(env.name);
    std::unique_ptr<ActorCritic> net = Recurrent(env);
    ASSERT_NE(net, nullptr);
    absl::StatusOr<v1::ParameterSet> policy = net->ExportPolicy();
    ASSERT_TRUE(policy.ok()) << policy.status();
    EXPECT_EQ(policy->policy().lstm_size(), 6);
    const int t = 12, b = 5;
    const Batch batch = ActedUnrolls(*policy, env, b, t, /*seed=*/11);
    const torch::Tensor terminated = TimeMajor(batch.column("terminated"));
    const torch::Tensor truncated = TimeMajor(batch.column("truncated"));
    ASSERT_GT((terminated + truncated).sum().item<float>(), 0) << "the unrolls must cross an episode start";
    torch::NoGradGuard no_grad;
    const UnrollOutputs out = net->ForwardUnroll(TimeMajor(batch.column("obs")),
                                                 ActorCritic::EpisodeStarts(terminated, truncated),
                                                 batch.column("core_state"));
    const torch::Tensor head = out.head.narrow(0, 0, t);
    const torch::Tensor log_pi = net->Evaluate(head, TimeMajor(batch.column("action"))).log_prob;
    EXPECT_TRUE(torch::allclose(log_pi, TimeMajor(batch.column("behaviour_log_prob")), 1e-4, 1e-4))
        << (log_pi - TimeMajor(batch.column("behaviour_log_prob"))).abs().max();
    const torch::Tensor actor_head =
        env.discrete ? TimeMajor(batch.column("behaviour_logits"))
                     : torch::cat({TimeMajor(batch.column("behaviour_mean")), TimeMajor(batch.column("behaviour_log_std"))}, 2);
    EXPECT_TRUE(torch::allclose(head, actor_head, 1e-4, 1e-4)) << (head - actor_head).abs().max();
  }
}

// Where an episode begins inside the unroll, nothing before it reaches the
// steps after it; before it, the recorded state does.
TEST(ActorCriticTest, AnEpisodeStartCutsTheUnrollFromItsFirstState) {
  std::unique_ptr<ActorCritic> net = Recurrent(TwoArmSpec());
  ASSERT_NE(net, nullptr);
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  const torch::Tensor obs = torch::randn({6, 2, 3});
  torch::Tensor starts = torch::zeros({6, 2});
  starts[3][1] = 1;
  const torch::Tensor state = torch::randn({2, 12});
  torch::Tensor other_state = state.clone();
  other_state[1] = torch::randn({12});
  const UnrollOutputs a = net->ForwardUnroll(obs, starts, state);
  const UnrollOutputs b = net->ForwardUnroll(obs, starts, other_state);
  for (int64_t t = 0; t < 6; ++t) {
    EXPECT_TRUE(torch::equal(a.head[t][0], b.head[t][0])) << "env 0 kept its state, t " << t;
    EXPECT_EQ(torch::equal(a.head[t][1], b.head[t][1]), t >= 3) << "env 1, t " << t;
  }
  // The same steps from a zero state at the start give env 1's outputs
  // from t = 3 on.
  const UnrollOutputs fresh = net->ForwardUnroll(obs.narrow(0, 3, 3), torch::zeros({3, 2}), torch::zeros({2, 12}));
  EXPECT_TRUE(torch::allclose(fresh.head.select(1, 1), a.head.narrow(0, 3, 3).select(1, 1), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(fresh.value.select(1, 1), a.value.narrow(0, 3, 3).select(1, 1), 1e-6, 1e-6));
  // states[t] is the state after step t: going on from it gives step t + 1.
  const UnrollOutputs next = net->ForwardUnroll(obs.narrow(0, 2, 1), torch::zeros({1, 2}), a.states[1]);
  EXPECT_TRUE(torch::allclose(next.head[0][0], a.head[2][0], 1e-6, 1e-6));
}

// After a truncation the bootstrap value is V of the real final
// observation, evaluated from the state the truncated step left (as if the
// episode had gone on), not from a reset one.
TEST(ActorCriticTest, TruncationBootstrapsFromTheStateTheTruncatedStepLeft) {
  std::unique_ptr<ActorCritic> net = Recurrent(TwoArmSpec());
  ASSERT_NE(net, nullptr);
  torch::NoGradGuard no_grad;
  torch::manual_seed(7);
  const int64_t t = 4;
  const torch::Tensor obs = torch::randn({t + 1, 2, 3});
  const torch::Tensor final_obs = torch::randn({t, 2, 3});
  torch::Tensor truncated = torch::zeros({t, 2});
  truncated[1][0] = 1;
  const torch::Tensor terminated = torch::zeros({t, 2});
  const torch::Tensor state = torch::randn({2, 12});
  const UnrollOutputs out = net->ForwardUnroll(obs, ActorCritic::EpisodeStarts(terminated, truncated), state);
  const torch::Tensor zero = torch::zeros({});
  const torch::Tensor bootstrap = net->BootstrapValues(out.value.narrow(0, 1, t), truncated, final_obs, zero,
                                                       zero + 1, out.states);
  // The episode as if it had gone on: obs[0], obs[1], final_obs[1].
  torch::Tensor continued = torch::stack({obs[0][0], obs[1][0], final_obs[1][0]}).unsqueeze(1);
  const UnrollOutputs on = net->ForwardUnroll(continued, torch::zeros({3, 1}), state.narrow(0, 0, 1));
  EXPECT_NEAR(bootstrap[1][0].item<float>(), on.value[2][0].item<float>(), 1e-5);
  // Elsewhere: V(x_{t+1}) as computed.
  EXPECT_TRUE(torch::equal(bootstrap[2], out.value[3]));
  EXPECT_TRUE(torch::equal(bootstrap[1][1], out.value[2][1]));
}

// With an action mask (the observation's last num_actions elements), the
// head's forbidden logits are policies::kMaskedLogit, as the actors'
// policy records them, for feed-forward and recurrent nets alike: IMPALA
// and PPO read log-probabilities and entropies over the allowed actions.
TEST(ActorCriticTest, MaskedHeadsGiveForbiddenActionsNoProbabilityAsTheActorsPolicyDoes) {
  envs::EnvSpec env;
  env.name = "Masked-v0";
  env.observation_shape = {6};
  env.discrete = true;
  env.num_actions = 3;
  env.action_mask = true;
  for (int lstm : {0, 6}) {
    SCOPED_TRACE(lstm);
    std::unique_ptr<ActorCritic> net = Recurrent(env, lstm);
    ASSERT_NE(net, nullptr);
    torch::NoGradGuard no_grad;
    torch::manual_seed(3);
    torch::Tensor obs = torch::randn({4, 2, 6});
    obs.narrow(2, 3, 3).copy_(torch::tensor({1.f, 0.f, 1.f}));
    const UnrollOutputs out = net->ForwardUnroll(obs, torch::zeros({4, 2}), torch::zeros({2, 2 * lstm}));
    EXPECT_TRUE(out.head.select(2, 1).eq(policies::kMaskedLogit).all().item<bool>());
    EXPECT_TRUE(out.head.select(2, 0).gt(policies::kMaskedLogit).all().item<bool>());
    const PolicyTerms terms = net->Evaluate(out.head, torch::zeros({4, 2}, torch::kInt64));
    EXPECT_TRUE(torch::isfinite(terms.log_prob).all().item<bool>());
    EXPECT_TRUE(terms.entropy.le(std::log(2.0) + 1e-5).all().item<bool>()) << "two actions allowed";
    absl::StatusOr<v1::ParameterSet> policy = net->ExportPolicy();
    ASSERT_TRUE(policy.ok()) << policy.status();
    EXPECT_TRUE(policy->policy().action_mask());
    if (lstm == 0) {
      // The actors' policy on the same observations: the same masked logits.
      std::unique_ptr<policies::Policy> actor = *policies::PolicyFromParameters(*policy, 1);
      Behaviour behaviour;
      ASSERT_TRUE(ActWithBehaviour(*actor, obs.view({8, 6}), &behaviour).ok());
      EXPECT_TRUE(torch::allclose(behaviour.distribution, out.head.view({8, 3}), 1e-4, 1e-4));
    }
  }
}

// A network on `env` (an image, perhaps beside flat leaves): one conv
// layer of 4 3x3 filters, then 16 hidden units.
ActorCriticOptions SmallTorsoOptions(const envs::EnvSpec& env, uint64_t seed) {
  ActorCriticOptions options;
  options.env = env;
  options.hidden = {16};
  v1::TorsoLayer conv;
  conv.set_kind(v1::TorsoLayer::CONV);
  conv.set_channels(4);
  conv.set_kernel(3);
  conv.set_stride(1);
  conv.set_relu(true);
  options.torso = {conv};
  options.seed = seed;
  return options;
}

// A Dict observation of a uint8 image and flat float32 leaves, stored as
// packed rows: the learner reads a row as the actors do (the image / 255,
// then the floats), runs its torso on the image with the flat leaves
// beside the features, and gets the actors' BLAS policy's logits; the flat
// leaves move them.
TEST(ActorCriticTest, ADictObservationsImageAndFlatLeavesReachTheHeadsAsTheActorsPolicyReadsThem) {
  envs::EnvSpec env;
  env.name = "Dict-v0";
  env.observation_leaves = {{"image", {1, 4, 4}, envs::ObservationType::kUint8},
                            {"goal", {2}, envs::ObservationType::kFloat32}};
  env.observation_shape = {1, 4, 4};
  env.observation_type = envs::ObservationType::kUint8;
  env.flat_dim = 2;
  env.discrete = true;
  env.num_actions = 3;
  absl::StatusOr<std::unique_ptr<ActorCritic>> net = ActorCritic::Create(SmallTorsoOptions(env, 5), "test");
  ASSERT_TRUE(net.ok()) << net.status();
  for (const ColumnRequirement& column : (*net)->UnrollColumns(4)) {
    if (column.name == "obs") {
      EXPECT_EQ(column.shape, (std::vector<int64_t>{5, 16 + 8})) << "a row's bytes";
    }
  }
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  const int rows = 6;
  // Packed rows: 16 pixels, then two float32s' bytes.
  torch::Tensor packed = torch::randint(0, 256, {rows, 24}).to(torch::kUInt8);
  const torch::Tensor goals = 3 * torch::randn({rows, 2});
  for (int r = 0; r < rows; ++r) std::memcpy(packed[r].data_ptr<uint8_t>() + 16, goals[r].data_ptr<float>(), 8);
  const torch::Tensor floats = FloatObservations(packed, env.flat_dim);
  ASSERT_EQ(floats.sizes(), (std::vector<int64_t>{rows, 18}));
  EXPECT_TRUE(torch::equal(floats.narrow(1, 16, 2), goals));
  EXPECT_TRUE(torch::allclose(floats.narrow(1, 0, 16), packed.narrow(1, 0, 16).to(torch::kFloat32) / 255.0));
  // The actors' own reading of the same bytes (envs/observation.h).
  std::vector<float> scratch;
  const float* actor_floats = envs::ObservationsAsFloat(env, packed.data_ptr<uint8_t>(), rows, &scratch);
  EXPECT_TRUE(torch::equal(torch::from_blob(const_cast<float*>(actor_floats), {rows, 18}), floats));

  const torch::Tensor head = (*net)->Forward(floats).first;
  absl::StatusOr<v1::ParameterSet> policy = (*net)->ExportPolicy();
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->policy().flat_dim(), 2);
  std::unique_ptr<policies::Policy> actor = *policies::PolicyFromParameters(*policy, 1);
  Behaviour behaviour;
  ASSERT_TRUE(ActWithBehaviour(*actor, floats, &behaviour).ok());
  EXPECT_TRUE(torch::allclose(behaviour.distribution, head, 1e-5, 1e-6))
      << "largest difference " << (behaviour.distribution - head).abs().max().item<float>();
  // Other goals, the same images: other logits, on both sides alike.
  torch::Tensor moved = floats.clone();
  moved.narrow(1, 16, 2).mul_(-1);
  const torch::Tensor moved_head = (*net)->Forward(moved).first;
  EXPECT_FALSE(torch::allclose(moved_head, head, 1e-7, 1e-7));
  ASSERT_TRUE(ActWithBehaviour(*actor, moved, &behaviour).ok());
  EXPECT_TRUE(torch::allclose(behaviour.distribution, moved_head, 1e-5, 1e-6));
}

// Two image leaves of one size (a row holds them as one [3, 4, 4] image)
// and a flat leaf: each image gets a torso of its own, named apart, and
// the actors' BLAS policy reads the same rows to the same logits.
TEST(ActorCriticTest, EachImageLeafHasATorsoOfItsOwnOnBothSides) {
  envs::EnvSpec env;
  env.name = "TwoCameras-v0";
  env.observation_leaves = {{"rgb", {1, 4, 4}, envs::ObservationType::kUint8},
                            {"depth", {2, 4, 4}, envs::ObservationType::kUint8},
                            {"goal", {2}, envs::ObservationType::kFloat32}};
  env.observation_shape = {3, 4, 4};
  env.observation_type = envs::ObservationType::kUint8;
  env.flat_dim = 2;
  env.discrete = true;
  env.num_actions = 3;
  absl::StatusOr<std::unique_ptr<ActorCritic>> net = ActorCritic::Create(SmallTorsoOptions(env, 7), "test");
  ASSERT_TRUE(net.ok()) << net.status();
  absl::StatusOr<v1::ParameterSet> policy = (*net)->ExportPolicy();
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_THAT(policy->policy().image_channels(), ::testing::ElementsAre(1, 2));
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const v1::NamedTensor& tensor : policy->tensors()) {
    shapes[tensor.name()] = {tensor.tensor().shape().begin(), tensor.tensor().shape().end()};
  }
  EXPECT_EQ(shapes["policy.torso.0.weight"], (std::vector<int64_t>{4, 1, 3, 3}));
  EXPECT_EQ(shapes["policy.image1.torso.0.weight"], (std::vector<int64_t>{4, 2, 3, 3}));
  // Two torsos of 4 x 2 x 2 features each, then the goal.
  EXPECT_EQ(shapes["policy.layers.0.weight"], (std::vector<int64_t>{16, 2 * 16 + 2}));

  torch::NoGradGuard no_grad;
  torch::manual_seed(7);
  const int rows = 5;
  torch::Tensor floats = torch::cat({torch::rand({rows, 48}), torch::randn({rows, 2})}, 1);
  const torch::Tensor head = (*net)->Forward(floats).first;
  std::unique_ptr<policies::Policy> actor = *policies::PolicyFromParameters(*policy, 1);
  Behaviour behaviour;
  ASSERT_TRUE(ActWithBehaviour(*actor, floats, &behaviour).ok());
  EXPECT_TRUE(torch::allclose(behaviour.distribution, head, 1e-5, 1e-6))
      << "largest difference " << (behaviour.distribution - head).abs().max().item<float>();
  // The depth leaf alone changed: other logits, on both sides alike.
  torch::Tensor moved = floats.clone();
  moved.narrow(1, 16, 32).mul_(0.5);
  const torch::Tensor moved_head = (*net)->Forward(moved).first;
  EXPECT_FALSE(torch::allclose(moved_head, head, 1e-7, 1e-7));
  ASSERT_TRUE(ActWithBehaviour(*actor, moved, &behaviour).ok());
  EXPECT_TRUE(torch::allclose(behaviour.distribution, moved_head, 1e-5, 1e-6));
}

TEST(ActorCriticTest, RecurrentNetworksNeedTheCoreStateColumnAndARangeOfUnits) {
  std::unique_ptr<ActorCritic> net = Recurrent(TwoArmSpec());
  ASSERT_NE(net, nullptr);
  bool listed = false;
  for (const ColumnRequirement& column : net->UnrollColumns(5)) {
    if (column.name == "core_state") listed = column.shape == std::vector<int64_t>{12};
  }
  EXPECT_TRUE(listed);
  const Batch batch = ActedUnrolls(*net->ExportPolicy(), TwoArmSpec(), 2, 5, 1);
  Batch without = batch;
  without.columns.erase("core_state");
  EXPECT_THAT(net->CheckUnrollBatch(without, 5).message(), HasSubstr("core_state"));
  EXPECT_TRUE(net->CheckUnrollBatch(batch, 5).ok()) << net->CheckUnrollBatch(batch, 5);

  ActorCriticOptions options;
  options.env = TwoArmSpec();
  options.hidden = {8};
  options.lstm_size = 5000;
  EXPECT_THAT(ActorCritic::Create(options, "impala").status().message(), HasSubstr("impala: lstm_size 5000"));
}

}  // namespace
}  // namespace rill::learner
