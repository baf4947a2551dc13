#include "envs/mujoco/model.h"

#include <string>

#include "envs/mujoco/assets.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(MujocoAssetsTest, EveryTaskModelIsEmbedded) {
  EXPECT_THAT(MujocoAssetNames(),
              ElementsAre("ant.xml", "half_cheetah.xml", "hopper.xml", "humanoid.xml", "walker2d.xml"));
  absl::StatusOr<absl::string_view> hopper = FindMujocoAsset("hopper.xml");
  ASSERT_TRUE(hopper.ok()) << hopper.status();
  EXPECT_THAT(std::string(*hopper), HasSubstr("<mujoco model=\"hopper\">"));
}

TEST(MujocoAssetsTest, UnknownAssetIsNotFoundAndListsTheEmbeddedOnes) {
  absl::StatusOr<absl::string_view> missing = FindMujocoAsset("swimmer.xml");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("half_cheetah.xml"));
}

TEST(SharedMujocoModelTest, CompilesOnceAndHandsOutTheSameModel) {
  auto first = SharedMujocoModel("ant.xml");
  auto second = SharedMujocoModel("ant.xml");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->get(), second->get());
  EXPECT_EQ((*first)->get(), (*second)->get());
}

TEST(SharedMujocoModelTest, EveryEmbeddedAssetCompiles) {
  for (const std::string& name : MujocoAssetNames()) {
    auto model = SharedMujocoModel(name);
    EXPECT_TRUE(model.ok()) << name << ": " << model.status();
  }
}

TEST(MujocoModelTest, BrokenXmlIsInvalidArgumentWithMuJoCosMessage) {
  auto model = MujocoModel::FromXml("broken.xml", "<mujoco><worldbody><body><geom type=\"nonsense\"/>");
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("broken.xml"));
}

TEST(MujocoModelTest, CompilesAMinimalModelFromText) {
  auto model = MujocoModel::FromXml(
      "ball.xml", "<mujoco><worldbody><body><freejoint/><geom type=\"sphere\" size=\"0.1\" mass=\"2\"/></body>"
                  "</worldbody></mujoco>");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->get()->nq, 7);
  EXPECT_DOUBLE_EQ((*model)->get()->body_mass[1], 2.0);
}

}  // namespace
}  // namespace rill::envs
