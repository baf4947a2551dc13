#include "envs/games/beacon.h"

#include <cstring>
#include <vector>

#include "envs/observation.h"
#include "gtest/gtest.h"

namespace rill::envs::games {
namespace {

constexpr int kCells = BeaconEnv::kSize * BeaconEnv::kSize;

TEST(BeaconTest, SpecIsADictOfAnImageAndAVector) {
  const EnvSpec spec = Beacon::Spec();
  ASSERT_EQ(spec.observation_leaves.size(), 2u);
  EXPECT_EQ(spec.observation_leaves[0].name, "image");
  EXPECT_EQ(spec.observation_leaves[1].name, "beacon");
  EXPECT_EQ(spec.observation_shape, (std::vector<int64_t>{1, 7, 7}));
  EXPECT_TRUE(spec.packed_observations());
  EXPECT_EQ(spec.obs_dim(), kCells + 2);
  EXPECT_EQ(spec.obs_bytes(), kCells + 8);
  EXPECT_EQ(spec.stored_width(), kCells + 8);
  EXPECT_FALSE(BeaconImage::Spec().packed_observations());
  EXPECT_EQ(BeaconImage::Spec().obs_bytes(), kCells);
  EXPECT_EQ(BeaconPosition::Spec().obs_dim(), 2);
  EXPECT_TRUE(BeaconPosition::Spec().observation_leaves.empty());
}

TEST(BeaconTest, RowHoldsTheAgentsCellThenTheBeaconsFloats) {
  auto env = *Beacon::Create(0, 7);
  std::vector<uint8_t> row(env->spec().obs_bytes());
  env->ResetRaw(row.data());
  env->SetCellsForTesting(2, 3, 6, 0);
  const float up = 0;
  ASSERT_TRUE(env->StepRaw(&up, row.data()).ok());  // to (2, 2)
  for (int k = 0; k < kCells; ++k) EXPECT_EQ(row[k], k == 2 * 7 + 2 ? 255 : 0) << "cell " << k;
  float beacon[2];
  std::memcpy(beacon, row.data() + kCells, sizeof(beacon));
  EXPECT_FLOAT_EQ(beacon[0], 1.f);
  EXPECT_FLOAT_EQ(beacon[1], 0.f);
  // The networks' floats: the image scaled, the vector as it is.
  std::vector<float> scratch;
  const float* floats = ObservationsAsFloat(env->spec(), row.data(), 1, &scratch);
  EXPECT_FLOAT_EQ(floats[2 * 7 + 2], 1.f);
  EXPECT_FLOAT_EQ(floats[0], 0.f);
  EXPECT_FLOAT_EQ(floats[kCells], 1.f);
  EXPECT_FLOAT_EQ(floats[kCells + 1], 0.f);
}

TEST(BeaconTest, ReachingTheBeaconPaysAndTerminates) {
  auto env = *Beacon::Create(0, 1);
  std::vector<float> obs(env->obs_dim());
  env->Reset(obs.data());
  env->SetCellsForTesting(0, 0, 2, 0);
  const float right = 1, left = 3;
  absl::StatusOr<StepResult> step = env->Step(&left, obs.data());  // the edge: stays
  ASSERT_TRUE(step.ok());
  EXPECT_FLOAT_EQ(step->reward, BeaconEnv::kStepReward);
  EXPECT_EQ(obs[0], 255.f);
  step = env->Step(&right, obs.data());
  EXPECT_FALSE(step->terminated);
  step = env->Step(&right, obs.data());
  EXPECT_TRUE(step->terminated);
  EXPECT_FLOAT_EQ(step->reward, BeaconEnv::kBeaconReward);
  EXPECT_FALSE(env->Step(&right, obs.data()).ok());  // the episode ended
}

TEST(BeaconTest, BadActionsAreNamedAndEpisodesAreCut) {
  auto env = *Beacon::Create(3, 1);
  std::vector<uint8_t> row(env->spec().obs_bytes());
  env->ResetRaw(row.data());
  env->SetCellsForTesting(0, 0, 6, 6);
  const float bad = 4, half = 0.5f, up = 0;
  EXPECT_NE(env->StepRaw(&bad, row.data()).status().message().find("not one of 0 (up)"), std::string::npos);
  EXPECT_FALSE(env->StepRaw(&half, row.data()).ok());
  EXPECT_FALSE(env->StepRaw(&up, row.data())->truncated);
  EXPECT_FALSE(env->StepRaw(&up, row.data())->truncated);
  EXPECT_TRUE(env->StepRaw(&up, row.data())->truncated);
}

TEST(BeaconTest, StartsAreSeededAndNeverOnTheBeacon) {
  auto a = *Beacon::Create(0, 5);
  auto b = *Beacon::Create(0, 5);
  std::vector<uint8_t> ra(a->spec().obs_bytes()), rb(ra.size());
  for (int episode = 0; episode < 200; ++episode) {
    a->ResetRaw(ra.data());
    b->ResetRaw(rb.data());
    EXPECT_EQ(ra, rb);
    // The beacon's cell is not the agent's.
    float beacon[2];
    std::memcpy(beacon, ra.data() + kCells, sizeof(beacon));
    const int cell = static_cast<int>(beacon[1] * 6 + 0.5f) * 7 + static_cast<int>(beacon[0] * 6 + 0.5f);
    EXPECT_EQ(ra[cell], 0);
  }
}

TEST(BeaconTest, ViewsObserveOneLeafEach) {
  auto image = *BeaconImage::Create(0, 3);
  auto position = *BeaconPosition::Create(0, 3);
  std::vector<uint8_t> pixels(image->spec().obs_bytes());
  std::vector<float> vector(2);
  image->ResetRaw(pixels.data());
  position->Reset(vector.data());
  int on = 0;
  for (uint8_t p : pixels) on += p == 255;
  EXPECT_EQ(on, 1);
  EXPECT_GE(vector[0], 0.f);
  EXPECT_LE(vector[0], 1.f);
}

TEST(BeaconTest, CamerasAreTwoImageLeavesOneAfterTheOther) {
  const EnvSpec spec = BeaconCameras::Spec();
  EXPECT_EQ(spec.observation_shape, (std::vector<int64_t>{2, 7, 7}));
  EXPECT_EQ(spec.image_channels(), (std::vector<int32_t>{1, 1}));
  EXPECT_EQ(spec.flat_dim, 0);
  auto env = *BeaconCameras::Create(0, 5);
  std::vector<uint8_t> row(spec.obs_bytes());
  env->ResetRaw(row.data());
  env->SetCellsForTesting(2, 3, 6, 0);
  const float up = 0;
  ASSERT_TRUE(env->StepRaw(&up, row.data()).ok());  // to (2, 2)
  for (int k = 0; k < kCells; ++k) {
    EXPECT_EQ(row[k], k == 2 * 7 + 2 ? 255 : 0) << "agent cell " << k;
    EXPECT_EQ(row[kCells + k], k == 6 ? 255 : 0) << "beacon cell " << k;
  }
  std::vector<float> floats(spec.obs_dim());
  env->Reset(floats.data());
  int on = 0;
  for (float value : floats) on += value == 255.f;
  EXPECT_EQ(on, 2);
}

TEST(BeaconTest, Renders) {
  auto env = *Beacon::Create(0, 3);
  std::vector<uint8_t> row(env->spec().obs_bytes());
  env->ResetRaw(row.data());
  env->SetCellsForTesting(0, 0, 6, 6);
  std::vector<uint8_t> rgb(70 * 70 * 3);
  ASSERT_TRUE(env->Render(70, 70, "default", rgb.data()).ok());
  // The agent (blue) at the top left, the beacon (yellow) at the bottom right.
  auto pixel = [&](int x, int y) { return &rgb[3 * (y * 70 + x)]; };
  EXPECT_GT(pixel(5, 5)[2], 200);
  EXPECT_GT(pixel(65, 65)[0], 200);
  EXPECT_FALSE(env->Render(70, 70, "top", rgb.data()).ok());
}

}  // namespace
}  // namespace rill::envs::games
