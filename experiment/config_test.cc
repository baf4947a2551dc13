#include "experiment/config.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "envs/catalog.h"
#include "items/transition.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::experiment {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(ConfigTest, ShippedPendulumConfigLoadsWithDefaultsFilled) {
  absl::StatusOr<v1::ExperimentConfig> config = LoadExperimentConfig("deploy/configs/pendulum_sac.textpb");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->env().name(), "Pendulum-v1");
  EXPECT_EQ(config->learner().batch_size(), 256);
  ASSERT_TRUE(config->learner().has_sac());
  EXPECT_DOUBLE_EQ(config->learner().sac().target_entropy(), -1.0);
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
      ParseExperimentConfig("env { name: \"Pendulum-v1\" }\nlearner { gamma: oops }\n");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("line 2"));
}

// A mistyped field gets the closest field of its section; a word that is
// no typo of one keeps the section's own hint.
TEST(ConfigTest, AMistypedFieldGetsTheClosestName) {
  for (const auto& [text, hint] : std::vector<std::pair<std::string, std::string>>{
           {"learner { batch_sise: 64 }", "(did you mean 'batch_size'?)"},
           {"learner { sack { } }", "(did you mean 'sac'?)"},
           {"actor { learnng_starts: 5 }", "(did you mean 'learning_starts'?)"},
           {"replay { tables { name: \"t\" max_sise: 9 } }", "(did you mean 'max_size'?)"},
           {"learner { rainbow { } }", "(learner.algorithm is one of: sac"},
       }) {
    absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig("env { name: \"Pendulum-v1\" }\n" + text);
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(config.status().message(), HasSubstr(hint)) << text;
  }
}

TEST(ConfigTest, UnknownEnvironmentIsNotFound) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig("env { name: \"Pong\" }");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("Pendulum-v1"));
}

TEST(ConfigTest, ScriptedAgentsMustBeSomeButNotAllAgentsOfAMultiAgentEnv) {
  EXPECT_TRUE(ParseExperimentConfig(R"(env { name: "PongDuel-v0" } eval { scripted_agents: "player_1" })").ok());
  const std::pair<std::string, std::string> refused[] = {
      {R"(env { name: "PongDuel-v0" } eval { scripted_agents: "player_2" })",
       "has no agent 'player_2'; its agents: player_0, player_1"},
      {R"(env { name: "PongDuel-v0" } eval { scripted_agents: ["player_0", "player_1"] })", "every agent is scripted"},
      {R"(env { name: "CartPole-v1" } eval { scripted_agents: "player_1" })", "CartPole-v1 is no multi-agent env"},
  };
  for (const auto& [text, message] : refused) {
    absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(text);
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(config.status().message(), AllOf(HasSubstr("eval.scripted_agents"), HasSubstr(message))) << text;
  }
}

TEST(ConfigTest, SelfPlayNeedsATwoPlayerGameOfSharedRowsAndFillsItsDefaults) {
  constexpr char kPong[] = R"(env { name: "PongDuel-v0" } learner { ppo {} } )";
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(absl::StrCat(kPong, "self_play {}"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->self_play().pool_size(), 10);
  EXPECT_EQ(config->self_play().snapshot_every(), 20);
  EXPECT_DOUBLE_EQ(config->self_play().latest_probability(), 0.8);
  EXPECT_EQ(config->self_play().eval_opponents(), 3);
  EXPECT_TRUE(config->self_play().eval_sample_past_games());
  config = ParseExperimentConfig(absl::StrCat(kPong, "self_play { eval_sample_past_games: false }"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->self_play().eval_sample_past_games());
  // 0 is a value of the optional fields.
  config = ParseExperimentConfig(absl::StrCat(kPong, "self_play { latest_probability: 0 eval_opponents: 0 }"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->self_play().latest_probability(), 0);
  EXPECT_EQ(config->self_play().eval_opponents(), 0);
  EXPECT_FALSE(ParseExperimentConfig(kPong)->has_self_play());

  const std::pair<std::string, std::string> refused[] = {
      {R"(env { name: "CartPole-v1" } self_play {})", "self_play: CartPole-v1 is no two-player game"},
      {R"(env { name: "CooperativeNavigation-v0" } self_play {})", "CooperativeNavigation-v0 is no two-player game"},
      {absl::StrCat(kPong, "self_play { pool_size: 1001 }"), "self_play.pool_size: 1001 is out of range"},
      {absl::StrCat(kPong, "self_play { snapshot_every: -1 }"), "self_play.snapshot_every: -1 must be >= 1"},
      {absl::StrCat(kPong, "self_play { latest_probability: 1.5 }"), "self_play.latest_probability: 1.5 is out"},
      {absl::StrCat(kPong, "self_play { eval_opponents: 17 }"), "self_play.eval_opponents: 17 is out of range"},
      {absl::StrCat(kPong, "self_play {} topology { inference: CENTRAL }"), "topology.inference CENTRAL"},
      {R"(env { name: "PongDuel-v0" } learner { maddpg {} } self_play {})", "without env.joint_agents"},
      {absl::StrCat(kPong, "network { lstm { size: 16 } } self_play {}"), "network.lstm makes a recurrent one"},
  };
  for (const auto& [text, message] : refused) {
    absl::StatusOr<v1::ExperimentConfig> refusal = ParseExperimentConfig(text);
    EXPECT_EQ(refusal.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(refusal.status().message(), HasSubstr(message)) << text;
  }
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

// The rules a shard applies to its tables (replay/table_config.h) refuse a
// config at start-up in every process, named by its field, instead of only
// when the shard starts.
TEST(ConfigTest, SamplesPerInsertAboveMaxTimesSampledIsRefusedLikeTheShardDoes) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "t" max_size: 100 max_times_sampled: 2
      rate_limiter { samples_per_insert: 3 error_buffer: 10 } } })");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(),
              HasSubstr("config field replay.tables[0].rate_limiter.samples_per_insert: 3 exceeds max_times_sampled 2"));
}

TEST(ConfigTest, MinSizeAboveWhatMaxBytesHoldsIsRefusedLikeTheShardDoes) {
  // Pendulum's transition is 36 bytes: 360 bytes hold 10 items.
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "t" max_size: 100 max_bytes: 360 rate_limiter { min_size_to_sample: 11 } } })");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("replay.tables[0].rate_limiter.min_size_to_sample: 11 exceeds "
                                                   "the table's capacity 10: sampling could never start"));
}

TEST(ConfigTest, PrioritizedAndFifoTablesAreAccepted) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay {
      tables { name: "per" max_size: 100 remover { lowest_priority {} }
               selector { prioritized { priority_exponent: 0.7 importance_sampling_exponent: 0.5 } } }
      tables { name: "queue" max_size: 100 selector { fifo {} } } })");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->replay().tables(0).remover().has_lowest_priority());
  EXPECT_EQ(config->replay().tables(0).selector().prioritized().priority_exponent(), 0.7);
  EXPECT_TRUE(config->replay().tables(1).remover().has_fifo());
  EXPECT_TRUE(config->replay().tables(1).selector().has_fifo());
}

TEST(ConfigTest, DefaultSelectorAndRemoverAreWrittenOut) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" } replay { tables { name: "t" max_size: 100 } })");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->replay().tables(0).selector().has_uniform());
  EXPECT_TRUE(config->replay().tables(0).remover().has_fifo());
}

TEST(ConfigTest, LowestPriorityRemoverWithoutPrioritizedSelectorIsRefused) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "t" max_size: 100 remover { lowest_priority {} } } })");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("replay.tables[0].remover"));
  EXPECT_THAT(config.status().message(), HasSubstr("needs selector { prioritized {} }"));
}

TEST(ConfigTest, UnknownSelectorIsRefusedNamingTheField) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "t" max_size: 100 selector { heap {} } } })");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("rill.v1.SelectorConfig\" has no field named \"heap\""));
}

// The string spellings of the closed sets (before they were types) are
// refused at parse time, each with its new spelling.
TEST(ConfigTest, OldStringSpellingsAreRefusedWithTheNewOne) {
  for (const auto& [text, hint] : std::vector<std::pair<std::string, std::string>>{
           {"replay { tables { name: \"t\" max_size: 9 selector: \"prioritized\" } }",
            "write selector { prioritized {} }"},
           {"replay { tables { name: \"t\" max_size: 9 selector: \"heap\" } }", "'heap' is none of them"},
           {"replay { tables { name: \"t\" max_size: 9 remover: \"lowest_priority\" } }",
            "write remover { lowest_priority {} }"},
           {"replay { tables { name: \"t\" max_size: 9\n  priority_exponent: 0.5 } }",
            "write selector { prioritized { priority_exponent: ... } }"},
           {"replay { durability { mode: \"wal\" dir: \"/tmp/x\" } }", "write mode: WAL"},
           {"topology { inference: \"central\" }", "write inference: CENTRAL"},
           {"learner { device: \"cpu\" }", "write device: CPU"},
           {"learner { impala { optimizer: \"adam\" } }", "write optimizer: ADAM"}}) {
    absl::StatusOr<v1::ExperimentConfig> config =
        ParseExperimentConfig(absl::StrCat("env { name: \"CartPole-v1\" }\n", text));
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(config.status().message(), HasSubstr(hint)) << text;
  }
}

TEST(ConfigTest, FifoSelectorSampledMoreThanOnceIsRefused) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "t" max_size: 100 selector { fifo {} } max_times_sampled: 3 } })");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("replay.tables[0].max_times_sampled"));
}

TEST(ConfigTest, PriorityExponentOutOfRangeNamesItsField) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "t" max_size: 100 selector { prioritized { importance_sampling_exponent: 2 } } } })");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(),
              HasSubstr("replay.tables[0].selector.prioritized.importance_sampling_exponent: 2 must be in [0, 1]"));
}

// Where 0 is a value, unset is the default and 0 means 0.
TEST(ConfigTest, ZeroIsAValueWhereItMeansSomething) {
  absl::StatusOr<v1::ExperimentConfig> unset = ParseExperimentConfig("env { name: \"Pendulum-v1\" }");
  ASSERT_TRUE(unset.ok()) << unset.status();
  EXPECT_EQ(unset->actor().learning_starts(), 1000);
  EXPECT_EQ(unset->inference().max_wait_micros(), 2000);
  EXPECT_EQ(unset->learner().checkpoint_every(), 5000);
  absl::StatusOr<v1::ExperimentConfig> zero = ParseExperimentConfig(
      "env { name: \"Pendulum-v1\" } actor { learning_starts: 0 } inference { max_wait_micros: 0 } "
      "learner { checkpoint_every: 0 }");
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_EQ(zero->actor().learning_starts(), 0);
  EXPECT_EQ(zero->inference().max_wait_micros(), 0);
  EXPECT_EQ(zero->learner().checkpoint_every(), 0);
  absl::StatusOr<v1::ExperimentConfig> impala =
      ParseExperimentConfig("env { name: \"CartPole-v1\" } learner { impala {} } actor { learning_starts: 0 }");
  ASSERT_TRUE(impala.ok()) << impala.status();
  EXPECT_EQ(impala->actor().learning_starts(), 0);
}

TEST(ConfigTest, SacOnADiscreteEnvironmentIsRefused) {
  absl::StatusOr<v1::ExperimentConfig> config =
      ParseExperimentConfig("env { name: \"CartPole-v1\" } learner { sac { } }");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("discrete"));
}

// IMPALA and PPO train on each unroll once: a table that samples at random
// would replay stale ones. Their default table is a FIFO queue.
TEST(ConfigTest, AnAlgorithmOfUnrollsOnATableThatIsNotFifoIsRefusedNamingTheSelector) {
  for (const std::string& algorithm : {"impala", "ppo"}) {
    for (const std::string& selector : {"uniform", "prioritized"}) {
      absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(absl::StrCat(
          "env { name: \"CartPole-v1\" } learner { ", algorithm, " {} } replay { tables { name: \"unrolls\" "
          "max_size: 64 selector { ", selector, " {} } } }"));
      ASSERT_TRUE(absl::IsInvalidArgument(config.status())) << algorithm << " " << selector;
      EXPECT_TRUE(absl::StrContains(config.status().message(), "replay.tables[0].selector")) << config.status();
      EXPECT_TRUE(absl::StrContains(config.status().message(), "fifo")) << config.status();
      EXPECT_TRUE(absl::StrContains(config.status().message(), selector)) << config.status();
    }
    EXPECT_TRUE(ParseExperimentConfig(absl::StrCat("env { name: \"CartPole-v1\" } learner { ", algorithm, " {} }")).ok());
  }
  // SAC samples a uniform table as it should.
  const absl::StatusOr<v1::ExperimentConfig> sac = ParseExperimentConfig(
      "env { name: \"Pendulum-v1\" } replay { tables { name: \"t\" max_size: 1000 selector { uniform {} } } }");
  EXPECT_TRUE(sac.ok()) << sac.status();
}

// Off-policy learners get one update per env step unless the table says
// otherwise: without a limiter the actors would outrun the learner.
TEST(ConfigTest, AnOffPolicyTableWithoutALimiterGetsOneUpdatePerEnvStep) {
  absl::StatusOr<v1::ExperimentConfig> config =
      ParseExperimentConfig("env { name: \"Pendulum-v1\" } learner { td3 {} batch_size: 100 }");
  ASSERT_TRUE(config.ok()) << config.status();
  const v1::RateLimiterConfig& limiter = config->replay().tables(0).rate_limiter();
  EXPECT_EQ(limiter.min_size_to_sample(), 1000);  // actor.learning_starts' default, above the batch
  EXPECT_EQ(limiter.samples_per_insert(), 100);
  EXPECT_EQ(limiter.error_buffer(), 5000);
  // A declared table too, its warm-up bounded by its size.
  config = ParseExperimentConfig(
      "env { name: \"CartPole-v1\" } learner { sac_discrete {} batch_size: 64 } actor { learning_starts: 5000 } "
      "replay { tables { name: \"t\" max_size: 2000 } }");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->replay().tables(0).rate_limiter().min_size_to_sample(), 2000);
  EXPECT_EQ(config->replay().tables(0).rate_limiter().samples_per_insert(), 64);
  // `rate_limiter {}` keeps none; a table that bounds its own sampling, and
  // one with its own limiter, keep theirs.
  for (const std::string& table : {"rate_limiter {}", "max_times_sampled: 1", "selector { fifo {} }",
                                   "rate_limiter { min_size_to_sample: 7 samples_per_insert: 2 error_buffer: 9 }"}) {
    config = ParseExperimentConfig(absl::StrCat("env { name: \"Pendulum-v1\" } replay { tables { name: \"t\" "
                                                "max_size: 1000 ", table, " } }"));
    ASSERT_TRUE(config.ok()) << table << ": " << config.status();
    const v1::RateLimiterConfig& kept = config->replay().tables(0).rate_limiter();
    EXPECT_EQ(kept.samples_per_insert(), table.find("samples_per_insert: 2") != std::string::npos ? 2 : 0) << table;
    EXPECT_EQ(kept.min_size_to_sample(), table.find("min_size_to_sample: 7") != std::string::npos ? 7 : 0) << table;
  }
}

// learner.updates_per_env_step (UTD) sizes the default limiter, is read
// back from a table's own, and is refused where it cannot hold.
TEST(ConfigTest, UpdatesPerEnvStepSetsTheLimiterAndAgreesWithATablesOwn) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(
      "env { name: \"Pendulum-v1\" } learner { sac {} batch_size: 128 updates_per_env_step: 20 }");
  ASSERT_TRUE(config.ok()) << config.status();
  const v1::RateLimiterConfig& limiter = config->replay().tables(0).rate_limiter();
  EXPECT_EQ(limiter.samples_per_insert(), 2560);   // 20 batches of 128 per inserted transition
  EXPECT_EQ(limiter.error_buffer(), 50 * 2560);    // 50 env steps of slack
  EXPECT_EQ(limiter.min_size_to_sample(), 1000);
  // Unstated: 1, written out so that config.textpb says what ran.
  config = ParseExperimentConfig("env { name: \"Pendulum-v1\" } learner { sac {} batch_size: 64 }");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->learner().updates_per_env_step(), 1);
  EXPECT_EQ(config->replay().tables(0).rate_limiter().samples_per_insert(), 64);
  // A table's own limiter states the ratio; a stated ratio that agrees is kept.
  const std::string own =
      "env { name: \"Pendulum-v1\" } replay { tables { name: \"t\" max_size: 1000 rate_limiter { "
      "min_size_to_sample: 300 samples_per_insert: 512 error_buffer: 9000 } } } learner { batch_size: 256 ";
  config = ParseExperimentConfig(own + "}");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->learner().has_updates_per_env_step());
  EXPECT_EQ(UpdatesPerEnvStep(*config), 2);
  EXPECT_TRUE(ParseExperimentConfig(own + "updates_per_env_step: 2 }").ok());
  // A finalized config finalized again with another batch (a sweep's
  // setting): the default limiter is sized again, at the same ratio; a
  // table's own is kept as it is.
  config = ParseExperimentConfig("env { name: \"Pendulum-v1\" } learner { batch_size: 64 updates_per_env_step: 3 }");
  ASSERT_TRUE(config.ok()) << config.status();
  config->mutable_learner()->set_batch_size(16);
  config = FinalizeExperimentConfig(*config);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->replay().tables(0).rate_limiter().samples_per_insert(), 48);
  config = ParseExperimentConfig(own + "}");
  config->mutable_learner()->set_batch_size(128);
  config = FinalizeExperimentConfig(*config);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->replay().tables(0).rate_limiter().samples_per_insert(), 512);
  EXPECT_EQ(UpdatesPerEnvStep(*config), 4);
  // Algorithms of unrolls hold no ratio.
  config = ParseExperimentConfig("env { name: \"CartPole-v1\" } learner { ppo {} }");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(UpdatesPerEnvStep(*config).has_value());
  // Refused, by name: a ratio the table's limiter contradicts, one out of
  // range, one for an algorithm of unrolls, one for a table without a limiter.
  for (const auto& [text, why] : std::vector<std::pair<std::string, std::string>>{
           {own + "updates_per_env_step: 4 }", "samples_per_insert 1024"},
           {"env { name: \"Pendulum-v1\" } learner { updates_per_env_step: 0 }", "out of range"},
           {"env { name: \"Pendulum-v1\" } learner { updates_per_env_step: 2000 }", "out of range"},
           {"env { name: \"CartPole-v1\" } learner { ppo {} updates_per_env_step: 2 }", "each unroll once"},
           {"env { name: \"Pendulum-v1\" } learner { updates_per_env_step: 2 } replay { tables { name: \"t\" "
            "max_size: 100 max_times_sampled: 1 } }",
            "bounds its own sampling"},
       }) {
    config = ParseExperimentConfig(text);
    ASSERT_TRUE(absl::IsInvalidArgument(config.status())) << text;
    EXPECT_TRUE(absl::StrContains(config.status().message(), "learner.updates_per_env_step")) << config.status();
    EXPECT_TRUE(absl::StrContains(config.status().message(), why)) << config.status();
  }
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
  v1::Signature signature =
      items::TransitionBuilder::DefaultSignature(*envs::LookupEnvSpec("CartPole-v1"), /*n_step=*/1);
  EXPECT_EQ(signature.columns(1).dtype(), v1::DTYPE_INT64);
  EXPECT_EQ(signature.columns(1).shape_size(), 0);
}

TEST(ConfigTest, EveryShippedConfigLoads) {
  // Run from a folder laid out as the repository root after `bazel build`:
  // the plugin configs name bazel-bin/examples/plugin/lib*.so (every
  // example library this test's data has).
  const std::filesystem::path runfiles = std::filesystem::current_path();
  const std::filesystem::path root = std::filesystem::path(std::getenv("TEST_TMPDIR")) / "root";
  std::filesystem::create_directories(root / "bazel-bin/examples/plugin");
  std::filesystem::create_directory_symlink(runfiles / "deploy", root / "deploy");
  for (const auto& library : std::filesystem::directory_iterator(runfiles / "examples/plugin")) {
    if (library.path().extension() != ".so") continue;
    std::filesystem::create_symlink(library.path(), root / "bazel-bin/examples/plugin" / library.path().filename());
  }
  std::filesystem::current_path(root);
  // Every file in deploy/configs, so a new config is checked without being
  // listed here.
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator("deploy/configs")) {
    if (entry.path().extension() == ".textpb") paths.push_back(entry.path().string());
  }
  EXPECT_GE(paths.size(), 13u);
  for (const std::string& path : paths) {
    absl::StatusOr<v1::ExperimentConfig> config = LoadExperimentConfig(path);
    EXPECT_TRUE(config.ok()) << path << ": " << config.status();
    if (config.ok()) {
      EXPECT_EQ(config->name(), std::filesystem::path(path).stem().string()) << path;
    }
  }
  std::filesystem::current_path(runfiles);
}

TEST(ConfigTest, OldTopLevelSacSectionIsRefusedSayingWhereItMoved) {
  absl::StatusOr<v1::ExperimentConfig> config =
      ParseExperimentConfig("env { name: \"Pendulum-v1\" }\nsac { actor_lr: 1e-3 }\n");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("line 2"));
  EXPECT_THAT(config.status().message(), HasSubstr("learner { sac {"));
}

TEST(ConfigTest, AlgorithmDefaultsToTheEnvsActionSpace) {
  absl::StatusOr<v1::ExperimentConfig> pendulum = ParseExperimentConfig("env { name: \"Pendulum-v1\" }");
  ASSERT_TRUE(pendulum.ok()) << pendulum.status();
  EXPECT_TRUE(pendulum->learner().has_sac());
  absl::StatusOr<v1::ExperimentConfig> cartpole = ParseExperimentConfig("env { name: \"CartPole-v1\" }");
  ASSERT_TRUE(cartpole.ok()) << cartpole.status();
  EXPECT_TRUE(cartpole->learner().has_sac_discrete());
  EXPECT_DOUBLE_EQ(cartpole->learner().sac_discrete().target_entropy_fraction(), 0.89);
}

TEST(ConfigTest, UnknownAlgorithmNamesTheFieldAndTheKnownOnes) {
  absl::StatusOr<v1::ExperimentConfig> config =
      ParseExperimentConfig("env { name: \"Pendulum-v1\" }\nlearner { dqn { } }\n");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("dqn"));
  EXPECT_THAT(config.status().message(), HasSubstr("line 2"));
  EXPECT_THAT(config.status().message(), HasSubstr("sac, td3, ddpg, sac_discrete"));
}

TEST(ConfigTest, ContinuousAlgorithmOnADiscreteEnvIsRefusedNamingTheField) {
  for (const char* algorithm : {"td3", "ddpg", "sac"}) {
    absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(
        absl::StrCat("env { name: \"CartPole-v1\" } learner { ", algorithm, " { } }"));
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << algorithm;
    EXPECT_THAT(config.status().message(), HasSubstr(absl::StrCat("learner.", algorithm)));
    EXPECT_THAT(config.status().message(), HasSubstr("continuous"));
  }
}

TEST(ConfigTest, DiscreteAlgorithmOnAContinuousEnvIsRefusedNamingTheField) {
  absl::StatusOr<v1::ExperimentConfig> config =
      ParseExperimentConfig("env { name: \"Pendulum-v1\" } learner { sac_discrete { } }");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("learner.sac_discrete"));
  EXPECT_THAT(config.status().message(), HasSubstr("discrete"));
}

TEST(ConfigTest, ZeroGammaAndTauAreLegalAndUnsetOnesTakeTheDefaults) {
  absl::StatusOr<v1::ExperimentConfig> zero =
      ParseExperimentConfig("env { name: \"Pendulum-v1\" } learner { gamma: 0 tau: 0 td3 { target_noise: 0 } }");
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_EQ(zero->learner().gamma(), 0);
  EXPECT_EQ(zero->learner().tau(), 0);
  EXPECT_EQ(zero->learner().td3().target_noise(), 0);
  absl::StatusOr<v1::ExperimentConfig> unset = ParseExperimentConfig("env { name: \"Pendulum-v1\" } learner { td3 { } }");
  ASSERT_TRUE(unset.ok()) << unset.status();
  EXPECT_DOUBLE_EQ(unset->learner().gamma(), 0.99);
  EXPECT_DOUBLE_EQ(unset->learner().tau(), 0.005);
  EXPECT_DOUBLE_EQ(unset->learner().td3().target_noise(), 0.2);
  EXPECT_EQ(unset->learner().td3().num_critics(), 2);
  EXPECT_EQ(unset->learner().td3().policy_delay(), 2);
}

TEST(ConfigTest, DdpgIsTd3WithOneCriticNoSmoothingAndNoDelay) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig("env { name: \"Pendulum-v1\" } learner { ddpg { } }");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->learner().ddpg().num_critics(), 1);
  EXPECT_EQ(config->learner().ddpg().target_noise(), 0);
  EXPECT_EQ(config->learner().ddpg().policy_delay(), 1);
  EXPECT_DOUBLE_EQ(config->learner().ddpg().exploration_noise(), 0.1);
}

TEST(ConfigTest, OutOfRangeTunablesNameTheirField) {
  for (const auto& [text, field] : std::vector<std::pair<std::string, std::string>>{
           {"learner { gamma: 1.5 }", "learner.gamma"},
           {"learner { tau: -0.1 }", "learner.tau"},
           {"learner { n_step: -2 }", "learner.n_step"},
           {"learner { sac { actor_lr: 0 } }", "learner.sac.actor_lr"},
           {"learner { td3 { policy_delay: 0 } }", "learner.td3.policy_delay"},
           {"learner { td3 { num_critics: 9 } }", "learner.td3.num_critics"},
           {"learner { ddpg { exploration_noise: -1 } }", "learner.ddpg.exploration_noise"},
           {"topology { inference: 7 }", "topology.inference: 7 is unknown (known: ACTOR, CENTRAL)"},
           {"replay { durability { mode: 5 } }", "replay.durability.mode: 5 is unknown"},
           {"learner { device: 9 }", "learner.device: 9 is unknown"},
           {"inference { max_batch: -1 }", "inference.max_batch"},
           {"inference { max_wait_micros: -5 }", "inference.max_wait_micros"}}) {
    absl::StatusOr<v1::ExperimentConfig> config =
        ParseExperimentConfig(absl::StrCat("env { name: \"Pendulum-v1\" } ", text));
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(config.status().message(), HasSubstr(field)) << text;
  }
}

TEST(ConfigTest, InferenceDefaultsToTheActorsAndCentralTakesItsDefaults) {
  absl::StatusOr<v1::ExperimentConfig> local = ParseExperimentConfig("env { name: \"Pendulum-v1\" }");
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(local->topology().inference(), v1::TopologyConfig::ACTOR);
  absl::StatusOr<v1::ExperimentConfig> central =
      ParseExperimentConfig("env { name: \"Pendulum-v1\" } topology { inference: CENTRAL }");
  ASSERT_TRUE(central.ok()) << central.status();
  EXPECT_EQ(central->inference().max_batch(), 0);
  EXPECT_EQ(central->inference().max_wait_micros(), 2000);
  absl::StatusOr<v1::ExperimentConfig> synchronous = ParseExperimentConfig(
      "env { name: \"CartPole-v1\" } learner { impala { synchronous: true } } topology { inference: CENTRAL }");
  EXPECT_EQ(synchronous.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(synchronous.status().message(), HasSubstr("learner.impala.synchronous"));
}

TEST(ConfigTest, PpoTrainsOnUnrollsAndRefusesBadValuesByFieldName) {
  absl::StatusOr<v1::ExperimentConfig> ppo = ParseExperimentConfig(
      "env { name: \"CartPole-v1\" } learner { ppo { unroll_length: 16 } batch_size: 4 }");
  ASSERT_TRUE(ppo.ok()) << ppo.status();
  EXPECT_EQ(ppo->actor().learning_starts(), 0);
  EXPECT_EQ(ppo->replay().tables(0).signature().columns(0).shape(0), 17);  // obs [T + 1, 4]
  for (const auto& [text, field] : std::vector<std::pair<std::string, std::string>>{
           {"learner { ppo { epochs: 0 } }", "learner.ppo.epochs"},
           {"learner { ppo { clip_range: -0.1 } }", "learner.ppo.clip_range"},
           {"learner { ppo { unroll_length: 10 num_minibatches: 7 } batch_size: 2 }", "learner.ppo.num_minibatches"},
           {"learner { ppo { synchronous: true } } topology { inference: CENTRAL }", "learner.ppo.synchronous"},
           {"learner { ppo { synchronous: true } publish_every: 1 batch_size: 64 } topology { num_actors: 2 }",
            "learner.batch_size"},
       }) {
    absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig("env { name: \"CartPole-v1\" } " + text);
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(config.status().message(), HasSubstr(field)) << text;
  }
}

TEST(ConfigTest, NStepAddsADiscountColumnToTheDerivedSignature) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig("env { name: \"Pendulum-v1\" } learner { n_step: 3 }");
  ASSERT_TRUE(config.ok()) << config.status();
  const v1::Signature& signature = config->replay().tables(0).signature();
  ASSERT_EQ(signature.columns_size(), 6);
  EXPECT_EQ(signature.columns(5).name(), "discount");
}

TEST(ConfigTest, AReplayOnlySignatureIsLeftToTheRolesThatReadIt) {
  // A shard serves any signature; the actor and learner refuse one they
  // cannot fill or read (tests/bad_input_test.cc).
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "t" max_size: 100 signature {
      columns { name: "frames" dtype: DTYPE_UINT8 shape: 84 shape: 84 } } } })");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->replay().tables(0).signature().columns(0).name(), "frames");
}

// A remote env section with the given `remote { ... }` fields before its
// spaces (CartPole's, as `rill envs --remote` prints them).
std::string RemoteEnvConfig(const std::string& fields) {
  return absl::StrCat("env { remote { ", fields, R"(
    observation_space { box { shape: 4 dtype: DTYPE_FLOAT32 low: [-4.8, -inf, -0.42, -inf] high: [4.8, inf, 0.42, inf] } }
    action_space { discrete { n: 2 } } } }
    learner { impala { } })");
}

TEST(ConfigTest, RemoteEnvWithNeitherAddressNorCommandNamesTheAddress) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(RemoteEnvConfig(""));
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("env.remote.address"));
  EXPECT_THAT(config.status().message(), HasSubstr("is required"));
}

TEST(ConfigTest, RemoteEnvCommandWithoutAnAddressMustSayWhereTheAddressGoes) {
  absl::StatusOr<v1::ExperimentConfig> config =
      ParseExperimentConfig(RemoteEnvConfig(R"(command: "python3 -m rill.env_server --factory=cartpole:make")"));
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("env.remote.command"));
  EXPECT_THAT(config.status().message(), HasSubstr("{address}"));
}

TEST(ConfigTest, RemoteEnvCommandNeedsNoAddressWhenItTakesOne) {
  absl::StatusOr<v1::ExperimentConfig> with_placeholder = ParseExperimentConfig(
      RemoteEnvConfig(R"(command: "python3 -m rill.env_server --factory=cartpole:make --address={address}")"));
  ASSERT_TRUE(with_placeholder.ok()) << with_placeholder.status();
  EXPECT_TRUE(with_placeholder->env().remote().address().empty());
  // With a fixed address the command may spell it out itself.
  absl::StatusOr<v1::ExperimentConfig> fixed = ParseExperimentConfig(RemoteEnvConfig(
      R"(address: "127.0.0.1:50060" command: "python3 -m rill.env_server --address=127.0.0.1:50060")"));
  EXPECT_TRUE(fixed.ok()) << fixed.status();
}

// A remote env whose config states no spaces: they come from the source
// the reader passes (`rill launch` asks the env server), before the config
// is finalized; a config that states them is not asked for them.
TEST(ConfigTest, ARemoteEnvsSpacesLeftOutComeFromTheEnvAskedForThem) {
  const std::string without = R"(env { remote { address: "127.0.0.1:1" } } learner { sac { } })";
  absl::StatusOr<v1::ExperimentConfig> unasked = ParseExperimentConfig(without);
  EXPECT_EQ(unasked.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unasked.status().message(), HasSubstr("needs observation_space and action_space"));
  int asked = 0;
  const EnvSpacesSource ask = [&](v1::EnvConfig& env) {
    ++asked;
    v1::BoxSpace* observation = env.mutable_remote()->mutable_observation_space()->mutable_box();
    observation->add_shape(3);
    observation->set_dtype(v1::DTYPE_FLOAT32);
    v1::BoxSpace* action = env.mutable_remote()->mutable_action_space()->mutable_box();
    action->add_shape(1);
    action->set_dtype(v1::DTYPE_FLOAT32);
    action->add_low(-2);
    action->add_high(2);
    return absl::OkStatus();
  };
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(without, ask);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(asked, 1);
  EXPECT_THAT(config->replay().tables(0).signature().columns(0).shape(), ::testing::ElementsAre(3));
  // Stated: not asked.
  ASSERT_TRUE(ParseExperimentConfig(RemoteEnvConfig(R"(address: "127.0.0.1:1")"), ask).ok());
  EXPECT_EQ(asked, 1);
  // The source's refusal is the parse's.
  const EnvSpacesSource refuse = [](v1::EnvConfig&) { return absl::UnavailableError("env.remote: nobody home"); };
  EXPECT_EQ(ParseExperimentConfig(without, refuse).status(), absl::UnavailableError("env.remote: nobody home"));
  // One space without the other is a mistake, not a request.
  absl::StatusOr<v1::ExperimentConfig> half = ParseExperimentConfig(R"(env { remote { address: "127.0.0.1:1"
      action_space { discrete { n: 2 } } } } learner { impala { } })", ask);
  EXPECT_THAT(half.status().message(), HasSubstr("sets only one of observation_space and action_space"));
}

TEST(ConfigTest, RemoteScalarObservationsAreOneValueAndBoundsBroadcast) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(R"(env { remote { address: "127.0.0.1:1"
    observation_space { box { dtype: DTYPE_FLOAT32 low: -2 high: 2 } }
    action_space { box { shape: [2, 2] dtype: DTYPE_FLOAT32 low: -1 high: [1, 2, 3, 4] } } } }
    learner { sac { } })");
  ASSERT_TRUE(config.ok()) << config.status();
  const v1::Signature& signature = config->replay().tables(0).signature();
  ASSERT_EQ(signature.columns(0).name(), "obs");
  EXPECT_THAT(signature.columns(0).shape(), ::testing::ElementsAre(1));
  absl::StatusOr<envs::EnvSpec> spec = envs::ConfiguredEnvSpec(config->env());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->action_low, ::testing::ElementsAre(-1, -1, -1, -1));
  EXPECT_THAT(spec->action_high, ::testing::ElementsAre(1, 2, 3, 4));
}

// One rule for a box's bounds, observations and actions alike (one value,
// or one per element): the config's field is named, not the env server.
TEST(ConfigTest, RemoteBoxBoundsOfTheWrongLengthAreRefusedNamingTheConfigField) {
  const std::pair<std::string, std::string> cases[] = {
      {R"(remote { address: "127.0.0.1:1"
          observation_space { box { shape: 4 dtype: DTYPE_FLOAT32 low: -inf high: inf } }
          action_space { box { shape: 2 dtype: DTYPE_FLOAT32 low: [-1, -1, -1] high: 1 } } })",
       "config field env.remote.action_space.box.low: 3 values for shape [2]; a box bound is one value for every "
       "element or one value per element (2)"},
      {R"(remote { address: "127.0.0.1:1"
          observation_space { box { shape: 4 dtype: DTYPE_FLOAT32 low: [-1, -1] high: [1, 1] } }
          action_space { discrete { n: 2 } } })",
       "config field env.remote.observation_space.box.low: 2 values for shape [4]"},
      {R"(remote { address: "127.0.0.1:1"
          agents { name: "a" observation_space { box { shape: 2 dtype: DTYPE_FLOAT32 } }
                   action_space { box { shape: 1 dtype: DTYPE_FLOAT32 low: -1 high: 1 } } }
          agents { name: "b" observation_space { box { shape: 2 dtype: DTYPE_FLOAT32 } }
                   action_space { box { shape: 1 dtype: DTYPE_FLOAT32 low: -1 high: [1, 1] } } } })",
       "config field env.remote.agents[1].action_space.box.high: 2 values for shape [1]"},
  };
  for (const auto& [remote, expected] : cases) {
    absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(absl::StrCat("env { ", remote, " }"));
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << remote;
    EXPECT_THAT(config.status().message(), HasSubstr(expected)) << remote;
    EXPECT_THAT(config.status().message(), ::testing::Not(HasSubstr("env server"))) << remote;
  }
}

TEST(ConfigTest, RemoteImagesGetUint8ColumnsAndRefuseObservationNormalisation) {
  constexpr char kImages[] = R"(env { remote { address: "127.0.0.1:1"
    observation_space { box { shape: [3, 8, 8] dtype: DTYPE_UINT8 } }
    action_space { discrete { n: 4 } } } })";
  absl::StatusOr<v1::ExperimentConfig> config =
      ParseExperimentConfig(absl::StrCat(kImages, " learner { sac_discrete { } }"));
  ASSERT_TRUE(config.ok()) << config.status();
  const v1::Signature& signature = config->replay().tables(0).signature();
  ASSERT_EQ(signature.columns(0).name(), "obs");
  EXPECT_EQ(signature.columns(0).dtype(), v1::DTYPE_UINT8);
  EXPECT_EQ(signature.columns(0).shape(0), 192);
  absl::StatusOr<v1::ExperimentConfig> normalized = ParseExperimentConfig(
      absl::StrCat(kImages, " learner { sac_discrete { } normalize_observations: true }"));
  EXPECT_EQ(normalized.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(normalized.status().message(),
              AllOf(HasSubstr("learner.normalize_observations"), HasSubstr("observes uint8 [3, 8, 8]")));
}

TEST(ConfigTest, FrameStackStacksAnImageEnvAndIsRefusedByNameForAnyOther) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(
      R"(env { name: "MinAtar/Breakout-v1" frame_stack: 4 } learner { sac_discrete { } })");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<envs::EnvSpec> spec = envs::ConfiguredEnvSpec(config->env());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->observation_shape, ::testing::ElementsAre(16, 10, 10));
  const v1::Signature& signature = config->replay().tables(0).signature();
  EXPECT_EQ(signature.columns(0).dtype(), v1::DTYPE_UINT8);
  EXPECT_EQ(signature.columns(0).shape(0), 16 * 10 * 10);
  // The stacked observations share planes (each 10x10 channel stored once).
  const v1::TableConfig& table = config->replay().tables(0);
  ASSERT_EQ(table.compression_size(), 2);
  for (const v1::TableConfig::ColumnCompression& entry : table.compression()) {
    EXPECT_TRUE(entry.column() == "obs" || entry.column() == "next_obs") << entry.column();
    EXPECT_TRUE(entry.share_planes());
    EXPECT_EQ(entry.plane_size(), 100);
  }
  // A column the config lists keeps what it says; finalizing twice changes nothing.
  absl::StatusOr<v1::ExperimentConfig> kept = ParseExperimentConfig(
      R"(env { name: "MinAtar/Breakout-v1" frame_stack: 4 } learner { sac_discrete { } }
         replay { tables { name: "transitions" max_size: 1000 compression { column: "obs" } } })");
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_EQ(kept->replay().tables(0).compression_size(), 2);
  EXPECT_FALSE(kept->replay().tables(0).compression(0).share_planes());
  EXPECT_EQ(kept->replay().tables(0).compression(1).column(), "next_obs");
  absl::StatusOr<v1::ExperimentConfig> again = FinalizeExperimentConfig(*kept);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->replay().tables(0).DebugString(), kept->replay().tables(0).DebugString());
  const std::pair<std::string, std::string> refused[] = {
      {R"(env { name: "CartPole-v1" frame_stack: 4 })", "CartPole-v1 observes float32 [4]"},
      {R"(env { name: "MinAtar/Breakout-v1" frame_stack: 17 })", "out of range 0..16"},
      {R"(env { name: "MinAtar/Breakout-v1" frame_stack: -1 })", "out of range 0..16"},
      {R"(env { frame_stack: 2 remote { address: "127.0.0.1:1"
         observation_space { box { shape: [64] dtype: DTYPE_UINT8 } } action_space { discrete { n: 4 } } } })",
       "observes uint8 [64]"},
  };
  for (const auto& [text, expected] : refused) {
    absl::StatusOr<v1::ExperimentConfig> bad = ParseExperimentConfig(text);
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(bad.status().message(), AllOf(HasSubstr("config field env.frame_stack"), HasSubstr(expected))) << text;
  }
}

std::string HoverLibrary() { return absl::StrCat(std::getenv("TEST_SRCDIR"), "/rill/examples/plugin/libhover.so"); }

TEST(ConfigTest, PluginEnvTakesItsSpacesFromTheLibrary) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(
      absl::StrCat("env { plugin { library: \"", HoverLibrary(), "\" id: \"Hover-v0\" } }"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->env().name(), "Hover-v0");
  EXPECT_TRUE(config->learner().has_sac()) << "a Box action picks SAC";
  absl::StatusOr<envs::EnvSpec> spec = envs::ConfiguredEnvSpec(config->env());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->obs_dim(), 3);
}

TEST(ConfigTest, PluginEnvProblemsNameTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {"env { plugin { id: \"Hover-v0\" } }", "env.plugin.library"},
      {absl::StrCat("env { plugin { library: \"", HoverLibrary(), "\" } }"), "env.plugin.id"},
      {"env { plugin { library: \"/nonexistent/libx.so\" id: \"X-v0\" } }",
       "config field env.plugin: env plugin /nonexistent/libx.so: no such file"},
      {absl::StrCat("env { plugin { library: \"", HoverLibrary(), "\" id: \"Hovr-v0\" } }"), "it offers: Hover-v0"},
      {absl::StrCat("env { plugin { library: \"", HoverLibrary(),
                    "\" id: \"Hover-v0\" } remote { address: \"127.0.0.1:1\" } }"),
       "sets both remote and plugin"},
  };
  for (const auto& [text, expected] : cases) {
    absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(text);
    EXPECT_FALSE(config.ok()) << text;
    EXPECT_THAT(config.status().message(), HasSubstr(expected)) << text;
  }
  // A remote env takes both as a local one does (its server steps chosen
  // envs and draws the frames: proto/env.proto, "Row control").
  absl::StatusOr<v1::ExperimentConfig> remote = ParseExperimentConfig(
      "env { pixels { } action_repeat: 2 remote { address: \"127.0.0.1:1\" observation_space { box { shape: 4 "
      "dtype: DTYPE_FLOAT32 low: [-4.8, -inf, -0.42, -inf] high: [4.8, inf, 0.42, inf] } } action_space { discrete { "
      "n: 2 } } } } learner { impala { } }");
  EXPECT_TRUE(remote.ok()) << remote.status();
}

// A torso preset expands into its layers and its usual head, and a config
// already finalized (as a launcher hands it to its children) finalizes to
// itself.
TEST(ConfigTest, TorsoPresetExpandsIntoLayersAndHeadAndRefinalizesUnchanged) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(
      "env { name: \"MinAtar/Breakout-v1\" } network { torso: MINATAR_CNN } learner { impala {} }");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->network().torso_layers_size(), 1);
  EXPECT_EQ(config->network().torso_layers(0).kind(), v1::TorsoLayer::CONV);
  EXPECT_EQ(config->network().torso_layers(0).channels(), 16);
  ASSERT_EQ(config->network().hidden_sizes_size(), 1);
  EXPECT_EQ(config->network().hidden_sizes(0), 128);
  absl::StatusOr<v1::ExperimentConfig> again = FinalizeExperimentConfig(*config);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), config->SerializeAsString());

  absl::StatusOr<v1::ExperimentConfig> custom = ParseExperimentConfig(
      "env { name: \"MinAtar/Breakout-v1\" } learner { impala {} } network { torso: CUSTOM "
      "torso_layers { kind: CONV channels: 8 kernel: 3 stride: 2 relu: true } hidden_sizes: 32 }");
  ASSERT_TRUE(custom.ok()) << custom.status();
  EXPECT_EQ(custom->network().torso_layers_size(), 1);
  EXPECT_EQ(custom->network().hidden_sizes(0), 32);

  // SAC-discrete trains one too (IMPALA and SAC-discrete do; SAC, TD3 and
  // DDPG would refuse network.torso by name, but no built-in image env has
  // continuous actions).
  EXPECT_TRUE(ParseExperimentConfig("env { name: \"MinAtar/Breakout-v1\" } network { torso: MINATAR_CNN } "
                                    "learner { sac_discrete {} }")
                  .ok());
}

// A Dict observation (Beacon-v0: a uint8 image and a float32 vector):
// PPO, IMPALA and SAC-discrete train on its packed rows, whose replay
// columns are the rows' bytes, with or without a torso. (DrQ-v2 does too,
// on continuous actions; an algorithm without a torso of its own is refused
// by name with those that can: finalize_network.cc's AlgorithmsThat.)
TEST(ConfigTest, DictObservationsTrainWithTheAlgorithmsThatReadThem) {
  for (const char* algorithm : {"ppo", "impala", "sac_discrete"}) {
    for (const char* network : {"network { torso: MINATAR_CNN }", ""}) {
      SCOPED_TRACE(absl::StrCat(algorithm, " ", network));
      absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(absl::StrCat(
          "env { name: \"Beacon-v0\" } ", network, " learner { ", algorithm, " {} }"));
      ASSERT_TRUE(config.ok()) << config.status();
      const v1::ColumnSpec& obs = config->replay().tables(0).signature().columns(0);
      EXPECT_EQ(obs.name(), "obs");
      EXPECT_EQ(obs.dtype(), v1::DTYPE_UINT8);
      EXPECT_EQ(obs.shape(obs.shape_size() - 1), 49 + 8) << "the image's bytes, then two float32s'";
    }
  }
}

// An edit of the config as given (`rill launch --set`) comes before
// finalization: another env sizes the replay signature as if the text had
// named it, and an edit's refusal is the parse's.
TEST(ConfigTest, AnEditOfTheConfigAsGivenIsFinalizedAsIfTheTextSaidIt) {
  const std::string text = "env { name: \"Beacon-v0\" } network { torso: MINATAR_CNN } learner { ppo {} }";
  absl::StatusOr<v1::ExperimentConfig> image = ParseExperimentConfig(text, nullptr, [](v1::ExperimentConfig& given) {
    given.mutable_env()->set_name("BeaconImage-v0");
    return absl::OkStatus();
  });
  ASSERT_TRUE(image.ok()) << image.status();
  const v1::ColumnSpec& obs = image->replay().tables(0).signature().columns(0);
  EXPECT_EQ(obs.shape(obs.shape_size() - 1), 49) << "the image's bytes alone";
  absl::StatusOr<v1::ExperimentConfig> refused = ParseExperimentConfig(
      text, nullptr, [](v1::ExperimentConfig&) { return absl::InvalidArgumentError("--set: nope"); });
  EXPECT_EQ(refused.status().message(), "--set: nope");
}

// A recurrent core: the default unroll table records its state, and what
// cannot train one, an absurd size, or PPO minibatches that split unrolls
// are refused by name.
TEST(ConfigTest, LstmCoreAddsTheCoreStateColumnAndItsProblemsNameTheField) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(
      "env { name: \"CartPoleNoVelocity-v1\" } network { hidden_sizes: 32 lstm { size: 16 } } "
      "learner { ppo { unroll_length: 8 num_minibatches: 2 } batch_size: 4 }");
  ASSERT_TRUE(config.ok()) << config.status();
  const v1::Signature& signature = config->replay().tables(0).signature();
  const v1::ColumnSpec& last = signature.columns(signature.columns_size() - 1);
  EXPECT_EQ(last.name(), "core_state");
  EXPECT_THAT(last.shape(), ::testing::ElementsAre(32));
  absl::StatusOr<v1::ExperimentConfig> again = FinalizeExperimentConfig(*config);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), config->SerializeAsString());

  const std::pair<std::string, std::string> cases[] = {
      {"env { name: \"CartPole-v1\" } network { lstm { size: 16 } } learner { sac_discrete {} }",
       "config field network.lstm: sac_discrete does not train a recurrent core (impala, ppo do)"},
      {"env { name: \"CartPole-v1\" } network { lstm { size: 0 } } learner { impala {} }",
       "config field network.lstm.size: 0 is out of range: must be in 1..4096"},
      {"env { name: \"CartPole-v1\" } network { lstm { size: 5000 } } learner { impala {} }",
       "network.lstm.size: 5000 is out of range"},
      {"env { name: \"CartPole-v1\" } network { lstm { size: 16 } } "
       "learner { ppo { unroll_length: 8 num_minibatches: 4 } batch_size: 6 }",
       "config field learner.ppo.num_minibatches: 4 does not divide learner.batch_size 6"},
  };
  for (const auto& [text, message] : cases) {
    absl::StatusOr<v1::ExperimentConfig> refused = ParseExperimentConfig(text);
    EXPECT_FALSE(refused.ok()) << text;
    EXPECT_THAT(refused.status().message(), HasSubstr(message)) << text;
  }
}

// network.activation: unset takes the algorithm's (DSAC-T's paper uses
// GELU), a stated one stays, and an algorithm or network that cannot train
// GELU layers refuses it by name.
TEST(ConfigTest, ActivationDefaultsPerAlgorithmAndGeluIsRefusedWhereItIsNotTrained) {
  const std::pair<std::string, v1::Activation> defaults[] = {
      {"env { name: \"Pendulum-v1\" } learner { dsac_t {} }", v1::GELU},
      {"env { name: \"Pendulum-v1\" } learner { sac {} }", v1::RELU},
      {"env { name: \"Pendulum-v1\" } learner { td3 {} }", v1::RELU},
      {"env { name: \"Pendulum-v1\" } network { activation: RELU } learner { dsac_t {} }", v1::RELU},
      {"env { name: \"Pendulum-v1\" } network { activation: GELU } learner { sac {} }", v1::GELU},
  };
  for (const auto& [text, activation] : defaults) {
    absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(text);
    ASSERT_TRUE(config.ok()) << text << ": " << config.status();
    EXPECT_EQ(config->network().activation(), activation) << text;
    absl::StatusOr<v1::ExperimentConfig> again = FinalizeExperimentConfig(*config);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->SerializeAsString(), config->SerializeAsString()) << text;
  }
  const std::pair<std::string, std::string> refused[] = {
      {"env { name: \"Pendulum-v1\" } network { activation: GELU } learner { td3 {} }",
       "config field network.activation: GELU: td3 trains ReLU networks only (sac, dsac_t train GELU ones)"},
      {"env { name: \"CartPole-v1\" } network { activation: GELU } learner { ppo {} }",
       "GELU: ppo trains ReLU networks only"},
      {"env { name: \"Pendulum-v1\" } network { activation: 9 } learner { sac {} }",
       "config field network.activation: 9 is unknown (known: RELU, GELU; unset: the algorithm's)"},
  };
  for (const auto& [text, message] : refused) {
    absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(text);
    EXPECT_FALSE(config.ok()) << text;
    EXPECT_THAT(config.status().message(), HasSubstr(message)) << text;
  }
}

TEST(ConfigTest, TorsoProblemsNameTheFieldAndTheLayer) {
  const std::pair<std::string, std::string> cases[] = {
      // Nature's second conv (4x4) would see MinAtar's 10x10 grid as 1x1.
      {"env { name: \"MinAtar/Breakout-v1\" } network { torso: NATURE_CNN } learner { impala {} }",
       "config field network.torso: NATURE_CNN on env MinAtar/Breakout-v1's [4, 10, 10] observations: torso "
       "layer 1 (conv 64 4x4 stride 2 + relu) on [32, 1, 1]"},
      {"env { name: \"CartPole-v1\" } network { torso: MINATAR_CNN } learner { impala {} }",
       "MINATAR_CNN needs image observations [C, H, W]; env CartPole-v1 observes [4]"},
      {"env { name: \"MinAtar/Breakout-v1\" } network { torso: CUSTOM } learner { impala {} }",
       "config field network.torso_layers: torso: CUSTOM needs layers"},
      {"env { name: \"MinAtar/Breakout-v1\" } learner { impala {} } network { torso: MINATAR_CNN "
       "torso_layers { kind: RELU } }",
       "network.torso_layers: is read with torso: CUSTOM only"},
      {"env { name: \"MinAtar/Breakout-v1\" } learner { impala {} } network { torso: CUSTOM "
       "torso_layers { kind: CONV channels: 0 kernel: 3 } }",
       "torso layer 0 (conv 0 3x3 stride 1) on [4, 10, 10]: channels 0 is out of range"},
  };
  for (const auto& [text, expected] : cases) {
    absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(text);
    EXPECT_FALSE(config.ok()) << text;
    EXPECT_THAT(config.status().message(), HasSubstr(expected)) << text;
  }
}

// env.pixels and env.action_repeat: a state env observed through its
// renderer, the spec every process derives from the config; DrQ-v2 learns
// from it, with the paper's encoder preset and defaults.
TEST(ConfigTest, PixelsOfAStateEnvGiveDrqV2ItsImagesAndThePapersDefaults) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(
      "env { name: \"Pendulum-v1\" action_repeat: 2 pixels { } frame_stack: 3 } network { torso: DRQV2_ENCODER } "
      "learner { drqv2 { } } replay { tables { name: \"transitions\" max_size: 10000 } }");
  ASSERT_TRUE(config.ok()) << config.status();
  // 84x84 RGB, 3 frames: 9 x 84 x 84 bytes in the replay table.
  const v1::ColumnSpec* obs = nullptr;
  for (const v1::ColumnSpec& column : config->replay().tables(0).signature().columns()) {
    if (column.name() == "obs") obs = &column;
  }
  ASSERT_NE(obs, nullptr);
  EXPECT_EQ(obs->dtype(), v1::DTYPE_UINT8);
  EXPECT_THAT(obs->shape(), ::testing::ElementsAre(9 * 84 * 84));
  EXPECT_EQ(config->network().torso_layers_size(), 4);
  EXPECT_THAT(config->network().hidden_sizes(), ::testing::ElementsAre(1024, 1024));
  EXPECT_EQ(config->learner().drqv2().feature_dim(), 50);
  EXPECT_DOUBLE_EQ(config->learner().drqv2().std_clip(), 0.3);
  EXPECT_DOUBLE_EQ(config->learner().tau(), 0.01);
  EXPECT_EQ(config->learner().n_step(), 3);
  absl::StatusOr<v1::ExperimentConfig> again = FinalizeExperimentConfig(*config);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), config->SerializeAsString());
}

TEST(ConfigTest, PixelsActionRepeatAndDrqV2ProblemsNameTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {"env { name: \"Pendulum-v1\" pixels { width: 2000 } }",
       "config field env.pixels: frames of 2000x84 pixels: width and height must lie in 1..1024"},
      {"env { name: \"Pendulum-v1\" action_repeat: 100 }",
       "config field env.action_repeat: repeating each action 100 times: out of range 0..64"},
      {"env { name: \"Pendulum-v1\" } learner { drqv2 { } }",
       "config field learner.drqv2: drqv2 learns from images [C, H, W]; env Pendulum-v1 observes [3]"},
      {"env { name: \"Pendulum-v1\" pixels { } } learner { drqv2 { } }",
       "config field network.torso: drqv2 learns through a convolutional encoder"},
      {"env { name: \"Pendulum-v1\" pixels { } } network { torso: DRQV2_ENCODER } learner { drqv2 { pad: 20 } }",
       "config field learner.drqv2.pad: 20 is out of range"},
  };
  for (const auto& [text, expected] : cases) {
    absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(text);
    EXPECT_FALSE(config.ok()) << text;
    EXPECT_THAT(config.status().message(), HasSubstr(expected)) << text;
  }
}

}  // namespace
}  // namespace rill::experiment
