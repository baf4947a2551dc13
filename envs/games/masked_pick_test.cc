#include "envs/games/masked_pick.h"

#include <algorithm>
#include <array>
#include <functional>
#include <vector>

#include "envs/action_mask.h"
#include "gtest/gtest.h"

namespace rill::envs::games {
namespace {

using Obs = std::array<float, 2 * MaskedPick::kItems>;

TEST(MaskedPickTest, ResetOffersSixPickableItemsAndAValidMask) {
  std::unique_ptr<MaskedPick> env = *MaskedPick::Create(0, 3);
  for (int episode = 0; episode < 50; ++episode) {
    Obs obs;
    env->Reset(obs.data());
    EXPECT_TRUE(CheckActionMask(env->spec(), obs.data()).ok());
    EXPECT_EQ(CountAllowed(env->spec(), obs.data()), MaskedPick::kPickable);
    for (int k = 0; k < MaskedPick::kItems; ++k) {
      EXPECT_GE(obs[k], 0.f);
      EXPECT_LT(obs[k], 1.f);
    }
  }
}

TEST(MaskedPickTest, PickingTheBestFourPaysTheirValuesThenEnds) {
  std::unique_ptr<MaskedPick> env = *MaskedPick::Create(0, 11);
  Obs obs;
  env->Reset(obs.data());
  std::vector<float> pickable;
  for (int k = 0; k < MaskedPick::kItems; ++k) {
    if (obs[MaskedPick::kItems + k] == 1) pickable.push_back(obs[k]);
  }
  std::sort(pickable.begin(), pickable.end(), std::greater<float>());
  double total = 0;
  for (int pick = 0; pick < MaskedPick::kPicks; ++pick) {
    int best = -1;
    for (int k = 0; k < MaskedPick::kItems; ++k) {
      if (obs[MaskedPick::kItems + k] == 1 && (best < 0 || obs[k] > obs[best])) best = k;
    }
    const float action = static_cast<float>(best);
    const StepResult result = *env->Step(&action, obs.data());
    total += result.reward;
    EXPECT_EQ(obs[best], 0.f);
    EXPECT_EQ(obs[MaskedPick::kItems + best], 0.f) << "a picked item is masked";
    EXPECT_EQ(result.terminated, pick + 1 == MaskedPick::kPicks);
    EXPECT_FALSE(result.truncated);
  }
  EXPECT_NEAR(total, pickable[0] + pickable[1] + pickable[2] + pickable[3], 1e-5);
}

TEST(MaskedPickTest, AForbiddenPickPaysMinusOneAndEndsTheEpisode) {
  std::unique_ptr<MaskedPick> env = *MaskedPick::Create(0, 5);
  Obs obs;
  env->Reset(obs.data());
  int forbidden = 0;
  while (obs[MaskedPick::kItems + forbidden] == 1) ++forbidden;
  const float action = static_cast<float>(forbidden);
  const StepResult result = *env->Step(&action, obs.data());
  EXPECT_EQ(result.reward, MaskedPick::kForbiddenReward);
  EXPECT_TRUE(result.terminated);
  EXPECT_EQ(env->Step(&action, obs.data()).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(MaskedPickTest, RefusesAnIndexThatIsNoItem) {
  std::unique_ptr<MaskedPick> env = *MaskedPick::Create(0, 5);
  Obs obs;
  env->Reset(obs.data());
  for (float action : {-1.f, 8.f, 2.5f}) {
    EXPECT_EQ(env->Step(&action, obs.data()).status().code(), absl::StatusCode::kInvalidArgument) << action;
  }
}

TEST(MaskedPickTest, TheSameSeedGivesTheSameEpisodes) {
  std::unique_ptr<MaskedPick> a = *MaskedPick::Create(0, 42), b = *MaskedPick::Create(0, 42);
  Obs x, y;
  for (int episode = 0; episode < 5; ++episode) {
    a->Reset(x.data());
    b->Reset(y.data());
    EXPECT_EQ(x, y);
  }
}

TEST(MaskedPickTest, RendersPickableItemsGreen) {
  std::unique_ptr<MaskedPick> env = *MaskedPick::Create(0, 5);
  Obs obs;
  env->Reset(obs.data());
  const int width = 80, height = 40;
  std::vector<uint8_t> rgb(width * height * 3);
  ASSERT_TRUE(env->Render(width, height, "default", rgb.data()).ok());
  // The bottom row, at each item's centre column.
  for (int k = 0; k < MaskedPick::kItems; ++k) {
    const uint8_t* pixel = &rgb[((height - 1) * width + k * 10 + 5) * 3];
    EXPECT_EQ(pixel[1] == 200, obs[MaskedPick::kItems + k] == 1) << "item " << k;
  }
  EXPECT_FALSE(env->Render(width, height, "top", rgb.data()).ok());
}

}  // namespace
}  // namespace rill::envs::games
