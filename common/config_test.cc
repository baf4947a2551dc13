#include "common/config.h"

#include <cstdio>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

using ::testing::HasSubstr;

TEST(ConfigTest, ShippedPendulumConfigLoadsWithDefaultsFilled) {
  absl::StatusOr<v1::ExperimentConfig> config = LoadExperimentConfig("deploy/configs/pendulum_sac.textpb");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->env().name(), "Pendulum-v1");
  EXPECT_EQ(config->sac().batch_size(), 256);
  EXPECT_DOUBLE_EQ(config->sac().target_entropy(), -1.0);
  ASSERT_EQ(config->replay().tables_size(), 1);
  const v1::Signature& signature = config->replay().tables(0).signature();
  ASSERT_EQ(signature.columns_size(), 5);
  EXPECT_EQ(signature.columns(0).name(), "obs");
  EXPECT_EQ(signature.columns(0).shape(0), 3);
  EXPECT_EQ(signature.columns(1).name(), "action");
  EXPECT_EQ(signature.columns(1).shape(0), 1);
}

TEST(ConfigTest, EmptyConfigNamesTheMissingEnvironment) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig("");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("env.name"));
}

TEST(ConfigTest, ParseErrorNamesTheLine) {
  absl::StatusOr<v1::ExperimentConfig> config =
      ParseExperimentConfig("env { name: \"Pendulum-v1\" }\nsac { gamma: oops }\n");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("line 2"));
}

TEST(ConfigTest, UnknownEnvironmentIsNotFound) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig("env { name: \"Pong\" }");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("Pendulum-v1"));
}

TEST(ConfigTest, RateLimiterThatCanDeadlockIsRefused) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "t" max_size: 100
      rate_limiter { min_size_to_sample: 10 samples_per_insert: 256 error_buffer: 10 } } })");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("deadlock"));
}

TEST(ConfigTest, MinSizeAboveMaxSizeIsRefused) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "t" max_size: 100 rate_limiter { min_size_to_sample: 101 } } })");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("min_size_to_sample"));
}

TEST(ConfigTest, PrioritizedAndFifoTablesAreAccepted) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay {
      tables { name: "per" max_size: 100 selector: "prioritized" remover: "lowest_priority"
               priority_exponent: 0.7 importance_sampling_exponent: 0.5 }
      tables { name: "queue" max_size: 100 selector: "fifo" } })");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->replay().tables(0).remover(), "lowest_priority");
  EXPECT_EQ(config->replay().tables(1).remover(), "fifo");
}

TEST(ConfigTest, LowestPriorityRemoverWithoutPrioritizedSelectorIsRefused) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "t" max_size: 100 remover: "lowest_priority" } })");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("replay.tables[0].remover"));
  EXPECT_THAT(config.status().message(), HasSubstr("needs selector 'prioritized'"));
}

TEST(ConfigTest, UnknownSelectorIsRefusedNamingTheField) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "t" max_size: 100 selector: "heap" } })");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("replay.tables[0].selector: 'heap'"));
}

TEST(ConfigTest, FifoSelectorSampledMoreThanOnceIsRefused) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "t" max_size: 100 selector: "fifo" max_times_sampled: 3 } })");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("replay.tables[0].max_times_sampled"));
}

TEST(ConfigTest, PriorityExponentOnAUniformTableIsRefused) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "t" max_size: 100 priority_exponent: 0.5 } })");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("replay.tables[0].priority_exponent"));
}

TEST(ConfigTest, SacOnADiscreteEnvironmentIsRefused) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig("env { name: \"CartPole-v1\" }");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("discrete"));
}

TEST(ConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadExperimentConfig("/nonexistent/x.textpb").status().code(), absl::StatusCode::kNotFound);
}

TEST(ConfigTest, WrittenConfigReadsBackTheSame) {
  absl::StatusOr<v1::ExperimentConfig> config = LoadExperimentConfig("deploy/configs/pendulum_sac.textpb");
  ASSERT_TRUE(config.ok());
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/written.textpb";
  ASSERT_TRUE(WriteExperimentConfig(*config, path).ok());
  absl::StatusOr<v1::ExperimentConfig> back = LoadExperimentConfig(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), config->SerializeAsString());
}

TEST(ConfigTest, DiscreteTransitionSignatureStoresIntegerActions) {
  v1::Signature signature = TransitionSignature(EnvSpaces{4, 2, true});
  EXPECT_EQ(signature.columns(1).dtype(), v1::DTYPE_INT64);
  EXPECT_EQ(signature.columns(1).shape_size(), 0);
}

}  // namespace
}  // namespace rill
