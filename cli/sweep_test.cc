#include "cli/sweep.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace rill::cli {
namespace {

TEST(SweepTest, SeedsAreRangesAndListsWithoutRepeats) {
  EXPECT_EQ(*ParseSeeds("1-5"), (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(*ParseSeeds("7"), (std::vector<int64_t>{7}));
  EXPECT_EQ(*ParseSeeds("1,3, 7"), (std::vector<int64_t>{1, 3, 7}));
  EXPECT_EQ(*ParseSeeds("1-3,2,10"), (std::vector<int64_t>{1, 2, 3, 10}));
  for (const char* bad : {"", "a", "5-1", "-3", "1-", "0-100000"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseSeeds(bad).status())) << bad;
  }
  EXPECT_TRUE(absl::StrContains(ParseSeeds("1,x").status().message(), "'x'"));
}

TEST(SweepTest, SettingsMakeEveryCombination) {
  absl::StatusOr<std::vector<SweptSetting>> settings =
      ParseSettings("learner.sac.actor_lr=1e-3,3e-4; learner.batch_size=128,256,512");
  ASSERT_TRUE(settings.ok()) << settings.status();
  ASSERT_EQ(settings->size(), 2u);
  EXPECT_EQ((*settings)[0].path, "learner.sac.actor_lr");
  EXPECT_EQ((*settings)[1].values, (std::vector<std::string>{"128", "256", "512"}));
  const auto grid = Grid(*settings);
  ASSERT_EQ(grid.size(), 6u);
  EXPECT_EQ(CombinationName(grid[0]), "actor_lr=1e-3,batch_size=128");
  EXPECT_EQ(CombinationName(grid[5]), "actor_lr=3e-4,batch_size=512");
  EXPECT_EQ(Grid({}).size(), 1u);
  EXPECT_EQ(CombinationName({}), "default");
  for (const char* bad : {"learner.batch_size", "=1,2", "learner.batch_size=", "Learner.x=1", "a b=1"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseSettings(bad).status())) << bad;
  }
}

TEST(SweepTest, ASettingIsMergedIntoTheConfigOrRefusedNamingIt) {
  v1::ExperimentConfig config;
  config.mutable_env()->set_name("Pendulum-v1");
  config.mutable_learner()->set_batch_size(64);
  config.mutable_learner()->mutable_sac()->set_actor_lr(0.01);
  absl::StatusOr<v1::ExperimentConfig> changed =
      ApplySettings(config, {{"learner.sac.actor_lr", "3e-4"}, {"env.name", "MountainCarContinuous-v0"}});
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_DOUBLE_EQ(changed->learner().sac().actor_lr(), 3e-4);
  EXPECT_EQ(changed->learner().batch_size(), 64);  // untouched
  EXPECT_EQ(changed->env().name(), "MountainCarContinuous-v0");  // a string, quoted for it
  absl::StatusOr<v1::ExperimentConfig> bad = ApplySettings(config, {{"learner.sac.actor_rate", "1"}});
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "learner.sac.actor_rate=1")) << bad.status();
  EXPECT_TRUE(absl::IsInvalidArgument(ApplySettings(config, {{"learner.batch_size", "many"}}).status()));
}

}  // namespace
}  // namespace rill::cli
