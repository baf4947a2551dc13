// DrQ-v2: the augmentation against shifts worked out by hand, the std
// schedule, the TD target, the gradients against an independent autograd
// of the losses as the paper writes them, the exported policy on the
// actors' side and in TorchScript, and checkpoints.
#include "learner/algorithms/drqv2.h"

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/algorithms/checks.h"
#include "learner/algorithms/test_util.h"
#include "learner/torch_policy.h"
#include "learner/torch_torso.h"
#include "policies/registry.h"
#include "policies/spec.h"
#include "policies/torso.h"
#include "torch/script.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

constexpr int kC = 2, kH = 12, kW = 12, kActions = 2;

v1::TorsoLayer Conv(int channels, int kernel, int stride) {
  v1::TorsoLayer layer;
  layer.set_kind(v1::TorsoLayer::CONV);
  layer.set_channels(channels);
  layer.set_kernel(kernel);
  layer.set_stride(stride);
  layer.set_relu(true);
  return layer;
}

DrqV2Options SmallOptions() {
  DrqV2Options options;
  options.env.name = "Images-v0";
  options.env.observation_shape = {kC, kH, kW};
  options.env.observation_type = envs::ObservationType::kUint8;
  options.env.action_low = {-2, -1};
  options.env.action_high = {2, 1};
  options.env.max_episode_steps = 100;
  options.torso = {Conv(4, 3, 2), Conv(4, 3, 1)};  // 12 -> 5 -> 3: 36 features
  options.hidden = {8};
  options.feature_dim = 5;
  options.lr = 1e-3;
  options.std_schedule_updates = 10;
  options.seed = 3;
  return options;
}

TransitionBatch RandomBatch(int64_t b, uint64_t seed) {
  torch::manual_seed(seed);
  TransitionBatch batch;
  batch.obs = torch::randint(0, 256, {b, kC * kH * kW}).to(torch::kFloat32) / 255;
  batch.next_obs = torch::randint(0, 256, {b, kC * kH * kW}).to(torch::kFloat32) / 255;
  batch.action = torch::rand({b, kActions}) * 2 - 1;
  batch.reward = torch::randn({b});
  batch.terminated = (torch::rand({b}) < 0.2).to(torch::kFloat32);
  return batch;
}

TEST(DrqV2Test, ShiftImagesCropsTheReplicatePaddedImageAtTheGivenOffsets) {
  const torch::Tensor image = torch::arange(1, 10, torch::kFloat32).view({1, 1, 3, 3});
  const torch::Tensor images = torch::cat({image, image, image});
  const torch::Tensor offsets = torch::tensor({0, 0, 2, 1, 1, 1}, torch::kInt64).view({3, 2});
  const torch::Tensor shifted = ShiftImages(images, 1, offsets);
  // Padded by 1 with its edges: rows [1 1 2 3 3], [1 1 2 3 3], [4 4 5 6 6],
  // [7 7 8 9 9], [7 7 8 9 9].
  EXPECT_TRUE(torch::equal(shifted[0][0], torch::tensor({1, 1, 2, 1, 1, 2, 4, 4, 5}, torch::kFloat32).view({3, 3})));
  EXPECT_TRUE(torch::equal(shifted[1][0], torch::tensor({4, 5, 6, 7, 8, 9, 7, 8, 9}, torch::kFloat32).view({3, 3})));
  EXPECT_TRUE(torch::equal(shifted[2], image[0])) << "offset (pad, pad) is the image itself";
}

TEST(DrqV2Test, RandomShiftMovesEachSampleOnItsOwnWithinThePad) {
  const int64_t b = 32, pad = 2;
  const torch::Tensor images = torch::rand({b, 1, 6, 6});
  at::Generator generator = at::detail::createCPUGenerator(5);
  const torch::Tensor shifted = RandomShift(images, pad, generator);
  std::set<std::pair<int, int>> seen;
  for (int64_t i = 0; i < b; ++i) {
    bool found = false;
    for (int dy = 0; dy <= 2 * pad && !found; ++dy) {
      for (int dx = 0; dx <= 2 * pad && !found; ++dx) {
        const torch::Tensor offset = torch::tensor({dy, dx}, torch::kInt64).view({1, 2});
        if (torch::equal(ShiftImages(images.narrow(0, i, 1), pad, offset), shifted.narrow(0, i, 1))) {
          found = true;
          seen.insert({dy, dx});
        }
      }
    }
    EXPECT_TRUE(found) << "sample " << i << " is not a shift of at most " << pad << " pixels";
  }
  EXPECT_GT(seen.size(), 5u) << "offsets are drawn per sample";
  EXPECT_TRUE(torch::equal(RandomShift(images, 0, generator), images));
}

TEST(DrqV2Test, ExplorationStdMovesLinearlyFromStartToEndThenStays) {
  std::unique_ptr<DrqV2> drq = DrqV2::Create(SmallOptions()).value();
  EXPECT_DOUBLE_EQ(drq->Std(0), 1.0);
  EXPECT_DOUBLE_EQ(drq->Std(5), 0.55);
  EXPECT_DOUBLE_EQ(drq->Std(10), 0.1);
  EXPECT_DOUBLE_EQ(drq->Std(1000), 0.1);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(drq->Update(RandomBatch(8, i)).ok());
  // The published policy carries the std of the schedule at updates().
  EXPECT_DOUBLE_EQ(drq->ExportPolicy()->policy().exploration_noise(), drq->Std(4));
}

// Noise clipped to nothing and no shift: the update is a function of the
// batch alone, which the tests below recompute independently.
DrqV2Options NoiselessOptions() {
  DrqV2Options options = SmallOptions();
  options.std_clip = 0;
  options.pad = 0;
  return options;
}

TEST(DrqV2Test, TargetIsTheRewardPlusTheDiscountedMinimumOfTheTargetCriticsAtTheActorsAction) {
  std::unique_ptr<DrqV2> drq = DrqV2::Create(NoiselessOptions()).value();
  const TransitionBatch batch = RandomBatch(6, 1);
  const torch::Tensor next_features = drq->EncodeForTesting(batch.next_obs);
  const torch::Tensor next_action = drq->ActorForTesting(next_features);
  const torch::Tensor q_next = drq->CriticForTesting(next_features, next_action, /*target=*/true);
  const torch::Tensor expected =
      batch.reward + 0.99 * (1 - batch.terminated) * torch::minimum(q_next[0], q_next[1]);
  ASSERT_TRUE(drq->Update(batch).ok());
  EXPECT_TRUE(torch::allclose(drq->LastTargetForTesting(), expected, 1e-5, 1e-6));
}

TEST(DrqV2Test, RewardScaleScalesTheRewardInTheTargetOnly) {
  DrqV2Options options = NoiselessOptions();
  options.reward_scale = 0.1;
  std::unique_ptr<DrqV2> drq = DrqV2::Create(options).value();
  const TransitionBatch batch = RandomBatch(6, 1);
  const torch::Tensor next_features = drq->EncodeForTesting(batch.next_obs);
  const torch::Tensor q_next =
      drq->CriticForTesting(next_features, drq->ActorForTesting(next_features), /*target=*/true);
  const torch::Tensor expected =
      0.1 * batch.reward + 0.99 * (1 - batch.terminated) * torch::minimum(q_next[0], q_next[1]);
  ASSERT_TRUE(drq->Update(batch).ok());
  EXPECT_TRUE(torch::allclose(drq->LastTargetForTesting(), expected, 1e-5, 1e-6));
  options.reward_scale = 0;
  EXPECT_THAT(DrqV2::Create(options).status().message(), HasSubstr("reward_scale 0 must be finite and > 0"));
}

// The critic as the paper writes it, with autograd, from the named
// parameters `p` (with requires_grad where the test wants gradients).
torch::Tensor PaperCritic(const std::map<std::string, torch::Tensor>& p, const std::string& prefix,
                          const torch::Tensor& h, const torch::Tensor& action, int member) {
  torch::Tensor z = torch::nn::functional::linear(h, p.at(prefix + ".trunk.weight"), p.at(prefix + ".trunk.bias"));
  z = torch::layer_norm(z, {z.size(1)}, p.at(prefix + ".trunk.norm.weight"), p.at(prefix + ".trunk.norm.bias"), 1e-5);
  return Mlp(torch::cat({z.tanh(), action}, 1), p, prefix + "." + std::to_string(member), 2, -1).squeeze(1);
}

TEST(DrqV2Test, CriticLossAloneTrainsTheEncoderAndTheCritics) {
  std::unique_ptr<DrqV2> drq = DrqV2::Create(NoiselessOptions()).value();
  const TransitionBatch batch = RandomBatch(6, 2);
  // Copies of the parameters before the update, as leaves.
  std::map<std::string, torch::Tensor> p;
  for (auto& [name, t] : drq->ParametersForTesting()) p[name] = t.clone().requires_grad_(true);
  const torch::Tensor next_features = drq->EncodeForTesting(batch.next_obs);
  const torch::Tensor q_next =
      drq->CriticForTesting(next_features, drq->ActorForTesting(next_features), /*target=*/true);
  const torch::Tensor y = batch.reward + 0.99 * (1 - batch.terminated) * torch::minimum(q_next[0], q_next[1]);
  // The encoder through TorchTorso on the copies.
  TorchTorso torso = TorchTorso::Create(SmallOptions().torso, {kC, kH, kW}).value();
  std::vector<torch::Tensor> encoder;
  for (const policies::TorsoParameter& parameter : torso.Parameters("encoder")) encoder.push_back(p.at(parameter.name));
  const torch::Tensor h = torso.Forward(batch.obs, encoder);
  torch::Tensor loss = torch::zeros({});
  for (int e = 0; e < 2; ++e) loss = loss + (PaperCritic(p, "critic", h, batch.action, e) - y).square().mean();
  loss.backward();

  ASSERT_TRUE(drq->Update(batch).ok());
  const std::map<std::string, torch::Tensor> grads = drq->GradientsForTesting();
  std::vector<torch::Tensor> expected_encoder;
  for (torch::Tensor& t : encoder) expected_encoder.push_back(t.grad().flatten());
  EXPECT_TRUE(torch::allclose(grads.at("encoder"), torch::cat(expected_encoder), 1e-4, 1e-6));
  std::vector<torch::Tensor> expected_critic;
  for (const char* name : {"critic.trunk.weight", "critic.trunk.bias", "critic.trunk.norm.weight", "critic.trunk.norm.bias"}) {
    expected_critic.push_back(p.at(name).grad().flatten());
  }
  for (int e = 0; e < 2; ++e) {
    for (int l = 0; l < 2; ++l) {
      for (const char* kind : {"weight", "bias"}) {
        expected_critic.push_back(p.at(absl::StrCat("critic.", e, ".layers.", l, ".", kind)).grad().flatten());
      }
    }
  }
  EXPECT_TRUE(torch::allclose(grads.at("critic"), torch::cat(expected_critic), 1e-4, 1e-6));
  EXPECT_FALSE(p.at("actor.trunk.weight").grad().defined()) << "the critic loss does not reach the actor";
}

TEST(DrqV2Test, ActorLossGoesThroughTheUpdatedCriticsOnDetachedFeatures) {
  std::unique_ptr<DrqV2> drq = DrqV2::Create(NoiselessOptions()).value();
  const TransitionBatch batch = RandomBatch(6, 3);
  // The encoder and the actor before the update (the actor's step reads the
  // features the critic step's encoder made).
  const torch::Tensor features = drq->EncodeForTesting(batch.obs);
  std::map<std::string, torch::Tensor> actor;
  for (auto& [name, t] : drq->ParametersForTesting()) {
    if (name.rfind("actor.", 0) == 0) actor[name] = t.clone().requires_grad_(true);
  }
  ASSERT_TRUE(drq->Update(batch).ok());
  // The critics after their step, fixed.
  std::map<std::string, torch::Tensor> critic = drq->ParametersForTesting();
  torch::Tensor z = torch::nn::functional::linear(features, actor.at("actor.trunk.weight"), actor.at("actor.trunk.bias"));
  z = torch::layer_norm(z, {5}, actor.at("actor.trunk.norm.weight"), actor.at("actor.trunk.norm.bias"), 1e-5).tanh();
  const torch::Tensor mu = Mlp(z, actor, "actor", 2, -1).tanh();
  const torch::Tensor q = torch::minimum(PaperCritic(critic, "critic", features, mu, 0),
                                         PaperCritic(critic, "critic", features, mu, 1));
  (-q.mean()).backward();
  std::vector<torch::Tensor> expected;
  for (const char* name : {"actor.trunk.weight", "actor.trunk.bias", "actor.trunk.norm.weight",
                           "actor.trunk.norm.bias", "actor.layers.0.weight", "actor.layers.0.bias",
                           "actor.layers.1.weight", "actor.layers.1.bias"}) {
    expected.push_back(actor.at(name).grad().flatten());
  }
  EXPECT_TRUE(torch::allclose(drq->GradientsForTesting().at("actor"), torch::cat(expected), 1e-4, 1e-6));
}

TEST(DrqV2Test, TargetCriticsMoveByTau) {
  DrqV2Options options = NoiselessOptions();
  options.tau = 0.25;
  std::unique_ptr<DrqV2> drq = DrqV2::Create(options).value();
  const torch::Tensor before = drq->ParametersForTesting().at("critic_target.trunk.weight").clone();
  ASSERT_TRUE(drq->Update(RandomBatch(4, 4)).ok());
  std::map<std::string, torch::Tensor> p = drq->ParametersForTesting();
  EXPECT_TRUE(torch::allclose(p.at("critic_target.trunk.weight"), 0.75 * before + 0.25 * p.at("critic.trunk.weight"),
                              1e-6, 1e-7));
}

TEST(DrqV2Test, ExportedPolicyActsOnTheActorsSideAndInTorchScriptAsTheLearnerComputes) {
  std::unique_ptr<DrqV2> drq = DrqV2::Create(SmallOptions()).value();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(drq->Update(RandomBatch(8, 10 + i)).ok());
  absl::StatusOr<v1::ParameterSet> set = drq->ExportPolicy();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->policy().trunk_size(), 5);
  EXPECT_EQ(set->policy().torso_size(), 2);
  absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::PolicyFromParameters(*set, 1);
  ASSERT_TRUE(policy.ok()) << policy.status();

  const int64_t b = 4;
  torch::manual_seed(9);
  const torch::Tensor bytes = torch::randint(0, 256, {b, kC, kH, kW}, torch::kUInt8);
  const torch::Tensor scaled = bytes.to(torch::kFloat32).view({b, -1}) * static_cast<float>(1.0 / 255);
  const torch::Tensor expected = drq->ActorForTesting(drq->EncodeForTesting(scaled));
  // The actors' BLAS forward, fed the scaled floats as LockstepEnvs does.
  std::vector<float> obs(scaled.data_ptr<float>(), scaled.data_ptr<float>() + scaled.numel());
  policies::PolicyOutput out;
  (*policy)->Act(obs.data(), b, /*deterministic=*/true, &out);
  const torch::Tensor actions = torch::from_blob(out.actions.data(), {b, kActions}, torch::kFloat32).clone();
  EXPECT_TRUE(torch::allclose(actions, expected, 1e-4, 1e-5)) << actions << "\n" << expected;
  // TorchScript on uint8 [B, C, H, W], in env units: low + (a + 1) / 2 *
  // (high - low), bounds [-2, 2] and [-1, 1].
  const torch::Tensor scale = torch::tensor({2.0f, 1.0f});
  absl::StatusOr<torch::jit::Module> module = ToTorchScript(**policy);
  ASSERT_TRUE(module.ok()) << module.status();
  const torch::Tensor scripted = module->forward({bytes}).toTensor();
  EXPECT_TRUE(torch::allclose(scripted, expected * scale, 1e-4, 1e-5)) << scripted << "\n" << expected * scale;
}

// Pixels beside proprioception: a Dict observation of the [2, 12, 12]
// image and 3 float32 flat leaves, trained from packed rows (the image
// shifted, the flat leaves not). The flat leaves pass beside the trunk
// into the actor and the critics; the exported policy (flat_dim 3) acts on
// the actors' side and in TorchScript (obs, flat) as the learner computes.
TEST(DrqV2Test, ADictObservationsFlatLeavesPassBesideTheTrunk) {
  DrqV2Options options = SmallOptions();
  options.env.observation_leaves = {{"camera", {kC, kH, kW}, envs::ObservationType::kUint8},
                                    {"joints", {3}, envs::ObservationType::kFloat32}};
  options.env.flat_dim = 3;
  std::unique_ptr<DrqV2> drq = DrqV2::Create(options).value();
  const int64_t image = kC * kH * kW;
  EXPECT_EQ(drq->Columns()[0].shape, (std::vector<int64_t>{image + 12})) << "a packed row's bytes";
  auto packed = [&](int64_t b) {
    torch::Tensor rows = torch::randint(0, 256, {b, image + 12}).to(torch::kUInt8);
    const torch::Tensor joints = torch::randn({b, 3});
    for (int64_t r = 0; r < b; ++r) std::memcpy(rows[r].data_ptr<uint8_t>() + image, joints[r].data_ptr<float>(), 12);
    return rows;
  };
  torch::manual_seed(4);
  for (int i = 0; i < 3; ++i) {
    Batch batch;
    batch.size = 8;
    batch.columns = {{"obs", packed(8)}, {"action", torch::rand({8, kActions}) * 2 - 1},
                     {"reward", torch::randn({8})}, {"terminated", torch::zeros({8})}, {"next_obs", packed(8)}};
    ASSERT_TRUE(drq->Update(batch).ok());
  }
  absl::StatusOr<v1::ParameterSet> set = drq->ExportPolicy();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->policy().flat_dim(), 3);
  EXPECT_EQ(set->policy().trunk_size(), 5);
  absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::PolicyFromParameters(*set, 1);
  ASSERT_TRUE(policy.ok()) << policy.status();

  const int64_t b = 4;
  const torch::Tensor rows = packed(b);
  const torch::Tensor floats = FloatObservations(rows, 3);
  const torch::Tensor expected = drq->ActorForTesting(drq->EncodeForTesting(floats));
  policies::PolicyOutput out;
  (*policy)->Act(floats.contiguous().data_ptr<float>(), b, /*deterministic=*/true, &out);
  const torch::Tensor actions = torch::from_blob(out.actions.data(), {b, kActions}, torch::kFloat32).clone();
  EXPECT_TRUE(torch::allclose(actions, expected, 1e-4, 1e-5)) << actions << "\n" << expected;
  // The flat leaves move the action.
  torch::Tensor moved = floats.clone();
  moved.narrow(1, image, 3).mul_(-4);
  EXPECT_FALSE(torch::allclose(drq->ActorForTesting(drq->EncodeForTesting(moved)), expected, 1e-6, 1e-6));
  // TorchScript: forward(obs uint8 [B, C, H, W], flat [B, 3]), in env units.
  absl::StatusOr<torch::jit::Module> module = ToTorchScript(**policy);
  ASSERT_TRUE(module.ok()) << module.status();
  const torch::Tensor bytes = rows.narrow(1, 0, image).reshape({b, kC, kH, kW});
  const torch::Tensor scripted = module->forward({bytes, floats.narrow(1, image, 3).contiguous()}).toTensor();
  EXPECT_TRUE(torch::allclose(scripted, expected * torch::tensor({2.0f, 1.0f}), 1e-4, 1e-5)) << scripted;
}

TEST(DrqV2Test, RestoredTrainingStateReproducesTheNextUpdateExactly) {
  std::unique_ptr<DrqV2> original = DrqV2::Create(SmallOptions()).value();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(original->Update(RandomBatch(8, 20 + i)).ok());
  std::map<std::string, torch::Tensor> saved;
  for (auto& [name, t] : original->state().Save()) saved[name] = t.clone();
  EXPECT_THAT(original->state().names(),
              ::testing::IsSupersetOf({"encoder", "actor", "critic", "critic_target", "updates", "generator"}));
  DrqV2Options other = SmallOptions();
  other.seed = 8;
  std::unique_ptr<DrqV2> restored = DrqV2::Create(other).value();
  ASSERT_TRUE(restored->state().Restore(saved).ok());
  const TransitionBatch batch = RandomBatch(8, 30);
  ASSERT_TRUE(original->Update(batch).ok());
  ASSERT_TRUE(restored->Update(batch).ok());
  for (auto& [name, t] : original->ParametersForTesting()) {
    EXPECT_TRUE(torch::equal(t, restored->ParametersForTesting().at(name))) << name;
  }
  EXPECT_EQ(restored->updates(), 3);
}

TEST(DrqV2Test, WrongShapesAndSettingsAreRefusedByName) {
  std::unique_ptr<DrqV2> drq = DrqV2::Create(SmallOptions()).value();
  TransitionBatch batch = RandomBatch(4, 5);
  batch.action = torch::zeros({4, 3});
  absl::Status status = drq->Update(batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("action"));
  EXPECT_EQ(drq->updates(), 0);

  DrqV2Options flat = SmallOptions();
  flat.env.observation_shape = {3};
  EXPECT_THAT(DrqV2::Create(flat).status().message(), HasSubstr("learns from images"));
  DrqV2Options no_torso = SmallOptions();
  no_torso.torso.clear();
  EXPECT_THAT(DrqV2::Create(no_torso).status().message(), HasSubstr("network.torso"));
  DrqV2Options pad = SmallOptions();
  pad.pad = 17;
  EXPECT_THAT(DrqV2::Create(pad).status().message(), HasSubstr("pad 17"));
}

}  // namespace
}  // namespace rill::learner
