// Actors stepping envs from a plugin library (env.plugin): real replay,
// learner and actor processes on port 0, loading the misbehaving test
// library (envs/plugin/testdata/faulty_plugin.c). A step the library fails
// is counted (rill_actor_env_errors_total), logged with the library's
// message, the env is reset and the run goes on; a library that cannot be
// loaded stops the process at start, naming the file.
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/metrics_scrape.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;

std::string FaultyLibrary() {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/rill/envs/plugin/testdata/libfaulty_plugin.so");
}

// An off-policy run on `library`'s env `id` that acts at random throughout.
std::string WriteConfig(const std::string& library, const std::string& id, const std::string& name) {
  const std::string text = absl::StrCat("env { plugin { library: \"", library, "\" id: \"", id, "\" } }", R"(
network { hidden_sizes: 16 }
replay { tables { name: "transitions" max_size: 100000 rate_limiter { min_size_to_sample: 100000 } } }
actor { num_envs: 4 learning_starts: 10000000 insert_batch_items: 16 max_in_flight_batches: 4 }
learner { sac_discrete { } batch_size: 32 num_threads: 1 }
eval { episodes: 2 }
topology { num_actors: 1 }
)");
  const std::string path = TempDir("plugin-" + name) + "/config.textpb";
  std::ofstream(path) << text;
  return path;
}

TEST(PluginActorTest, AFailingPluginEnvIsCountedResetAndTheRunGoesOn) {
  // Lever-v0: lever 1 (half of the random actions) fails the step.
  const std::string config = WriteConfig(FaultyLibrary(), "Lever-v0", "lever");
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", "--config=" + config});
  ASSERT_TRUE(replay.ok()) << replay.status();
  absl::StatusOr<RoleProcess> learner =
      StartRole("learner", {"learner", "--config=" + config, "--replay_address=" + replay->address()});
  ASSERT_TRUE(learner.ok()) << learner.status();
  absl::StatusOr<RoleProcess> actor =
      StartRole("actor", {"actor", "--config=" + config, "--replay_address=" + replay->address(),
                          "--learner_address=" + learner->address()});
  ASSERT_TRUE(actor.ok()) << actor.status();
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(actor->Metrics(), "rill_actor_env_errors_total") >= 40; },
                        absl::Seconds(60)))
      << actor->process->LogTail(20);
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(replay->Metrics(), "rill_replay_items_inserted_total") >= 64; },
                        absl::Seconds(60)))
      << actor->process->LogTail(20);
  EXPECT_THAT(actor->process->LogTail(200), HasSubstr("lever 1 is broken"));
  EXPECT_TRUE(actor->process->running());
}

TEST(PluginActorTest, ALibraryThatCannotBeLoadedStopsTheActorNamingIt) {
  const std::string config = WriteConfig("/nonexistent/libgone.so", "Gone-v0", "missing");
  absl::StatusOr<std::unique_ptr<ChildProcess>> actor = ChildProcess::Start(
      "actor", RillBinary(), {"actor", "--config=" + config, "--replay_address=127.0.0.1:1", "--metrics_port=-1"},
      TempDir("plugin-missing-actor") + "/actor.log");
  ASSERT_TRUE(actor.ok()) << actor.status();
  ASSERT_TRUE((*actor)->WaitExit(absl::Seconds(60)).has_value());
  EXPECT_THAT((*actor)->LogTail(10), HasSubstr("env plugin /nonexistent/libgone.so: no such file"));
}

}  // namespace
}  // namespace rill::testing
