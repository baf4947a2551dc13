#include "cli/config_settings.h"

#include <vector>

#include "absl/strings/match.h"
#include "experiment/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::ExperimentConfig Pendulum() {
  absl::StatusOr<v1::ExperimentConfig> config =
      experiment::ParseExperimentConfig("env { name: \"Pendulum-v1\" } network { hidden_sizes: 256 hidden_sizes: 256 }");
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

TEST(ConfigSettingsTest, AMistypedPathGetsTheClosestFieldAndASectionIsNoValue) {
  const v1::ExperimentConfig config = Pendulum();
  EXPECT_THAT(ApplySettings(config, {{"learner.sac.actr_lr", "1"}}).status().message(),
              HasSubstr("learner.sac has no field actr_lr (did you mean 'actor_lr'?)"));
  EXPECT_THAT(ApplySettings(config, {{"lerner.batch_size", "64"}}).status().message(),
              HasSubstr("the config has no field lerner (did you mean 'learner'?)"));
  EXPECT_THAT(ApplySettings(config, {{"learner.sac", "1"}}).status().message(), HasSubstr("is a section"));
  EXPECT_THAT(ApplySettings(config, {{"learner.batch_size.x", "1"}}).status().message(),
              HasSubstr("learner.batch_size is a value"));
}

TEST(ConfigSettingsTest, ARepeatedFieldIsReplacedByOneValueOrAList) {
  const v1::ExperimentConfig config = Pendulum();
  absl::StatusOr<v1::ExperimentConfig> list = ApplySettings(config, {{"network.hidden_sizes", "[64 32]"}});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(list->network().hidden_sizes(), ElementsAre(64, 32));
  absl::StatusOr<v1::ExperimentConfig> one = ApplySettings(config, {{"network.hidden_sizes", "128"}});
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_THAT(one->network().hidden_sizes(), ElementsAre(128));
}

TEST(ConfigSettingsTest, ALaunchTakesOneValuePerPathAndFinalizesTheResult) {
  const v1::ExperimentConfig config = Pendulum();
  absl::StatusOr<v1::ExperimentConfig> changed =
      ApplyLaunchSettings(config, "learner.batch_size=64; learner.sac.actor_lr=1e-3; topology.num_actors=3");
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->learner().batch_size(), 64);
  EXPECT_DOUBLE_EQ(changed->learner().sac().actor_lr(), 1e-3);
  EXPECT_EQ(changed->topology().num_actors(), 3);
  // Finalized again: the default rate limiter follows the new batch size.
  EXPECT_DOUBLE_EQ(changed->replay().tables(0).rate_limiter().samples_per_insert(), 64);
  EXPECT_EQ(ApplyLaunchSettings(config, "")->learner().batch_size(), config.learner().batch_size());
  EXPECT_THAT(ApplyLaunchSettings(config, "learner.batch_size=64,128").status().message(),
              HasSubstr("learner.batch_size has 2 values (64,128); one run takes one: `rill sweep` runs each"));
  EXPECT_THAT(ApplyLaunchSettings(config, "learner.batch_size=-5").status().message(),
              HasSubstr("learner.batch_size"));
  EXPECT_THAT(ApplyLaunchSettings(config, "learner.batch_size").status().message(), HasSubstr("is not PATH=V1"));
}

}  // namespace
}  // namespace rill::cli
