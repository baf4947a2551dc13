// Actors stepping envs served by the Python env server (env.remote): real
// replay, learner, actor and env server processes on port 0. The actor
// writes transitions of the served env; a misbehaving env is counted
// (rill_actor_env_errors_total), reset and the run goes on; a server killed
// with SIGKILL and started again on its port is reconnected to, and the
// actor goes on writing (nothing in replay is lost); a server whose spaces
// differ from the config's is refused by name; a Python multi-agent env is
// stepped as joint rows.
#include <signal.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/metrics_scrape.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/env_server_process.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;

// An off-policy run on `server`'s envs that acts at random throughout (the
// learner never gets enough to start): the actor's transitions are the
// served env's.
std::string WriteConfig(const EnvServerProcess& server, const std::string& name) {
  const std::string text = absl::StrCat(server.EnvSection(), R"(
network { hidden_sizes: 16 }
replay { tables { name: "transitions" max_size: 100000 rate_limiter { min_size_to_sample: 100000 } } }
actor { num_envs: 4 learning_starts: 10000000 insert_batch_items: 16 max_in_flight_batches: 4 }
learner { sac_discrete { } batch_size: 32 num_threads: 1 }
eval { episodes: 2 }
topology { num_actors: 1 }
)");
  const std::string path = TempDir("remote-" + name) + "/config.textpb";
  std::ofstream(path) << text;
  return path;
}

struct Roles {
  RoleProcess replay;
  RoleProcess learner;
  RoleProcess actor;
};

absl::StatusOr<Roles> StartRun(const std::string& config) {
  ASSIGN_OR_RETURN(RoleProcess replay, StartRole("replay", {"replay", "--config=" + config}));
  ASSIGN_OR_RETURN(RoleProcess learner,
                   StartRole("learner", {"learner", "--config=" + config, "--replay_address=" + replay.address()}));
  ASSIGN_OR_RETURN(RoleProcess actor,
                   StartRole("actor", {"actor", "--config=" + config, "--replay_address=" + replay.address(),
                                       "--learner_address=" + learner.address()}));
  return Roles{std::move(replay), std::move(learner), std::move(actor)};
}

double Inserted(const Roles& run) { return SumMetric(run.replay.Metrics(), "rill_replay_items_inserted_total"); }

TEST(RemoteActorTest, AnActorSurvivesItsEnvServerBeingKilledAndRestarted) {
  auto server = std::make_unique<EnvServerProcess>("cartpole:make");
  ASSERT_FALSE(server->address().empty());
  const int port = server->port();
  absl::StatusOr<Roles> run = StartRun(WriteConfig(*server, "restart"));
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(WaitUntil([&] { return Inserted(*run) >= 400; }, absl::Seconds(60))) << run->actor.process->LogTail(20);

  server->child().Signal(SIGKILL);
  ASSERT_TRUE(server->child().WaitExit(absl::Seconds(10)).has_value());
  EXPECT_TRUE(WaitUntil([&] { return absl::StrContains(run->actor.process->LogTail(50), "retrying in"); },
                        absl::Seconds(30)))
      << run->actor.process->LogTail(20);
  const double before = Inserted(*run);
  server = std::make_unique<EnvServerProcess>("cartpole:make", port);
  ASSERT_EQ(server->port(), port) << server->log();
  EXPECT_TRUE(WaitUntil([&] { return Inserted(*run) >= before + 400; }, absl::Seconds(60))) << run->actor.process->LogTail(30);
  EXPECT_GE(SumMetric(run->actor.Metrics(), "rill_actor_env_errors_total"), 4) << "every env failed once";
  EXPECT_TRUE(run->actor.process->running());
  EXPECT_GE(SumMetric(run->replay.Metrics(), "rill_replay_table_size"), before) << "replay lost nothing";
}

TEST(RemoteActorTest, AMisbehavingEnvIsCountedResetAndTheRunGoesOn) {
  EnvServerProcess server("test_envs:raises_in_step");  // raises at the 3rd step of every episode
  ASSERT_FALSE(server.address().empty());
  absl::StatusOr<Roles> run = StartRun(WriteConfig(server, "raises"));
  ASSERT_TRUE(run.ok()) << run.status();
  // Each episode gives 2 steps and then fails: the first transitions of
  // every episode are still written (n_step 1), the failed steps are not.
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(run->actor.Metrics(), "rill_actor_env_errors_total") >= 40; },
                        absl::Seconds(60)))
      << run->actor.process->LogTail(20);
  EXPECT_TRUE(WaitUntil([&] { return Inserted(*run) >= 64; }, absl::Seconds(60))) << run->actor.process->LogTail(20);
  EXPECT_THAT(run->actor.process->LogTail(200), HasSubstr("step: step raised RuntimeError: the simulator diverged"));
  EXPECT_TRUE(run->actor.process->running());
}

// A Python multi-agent env of two different agents (examples/python/
// pursuit.py), its section from `rill envs --remote` (agents, state and
// env.joint_agents), stepped by an actor as MADDPG's joint rows: the actor
// writes transitions, the agent that leaves when caught included.
TEST(RemoteActorTest, AnActorStepsAPythonMultiAgentEnvAsJointRows) {
  EnvServerProcess server("pursuit:make");
  ASSERT_FALSE(server.address().empty()) << server.log();
  const std::string section = server.EnvSection();
  EXPECT_THAT(section, HasSubstr("name: \"runner\""));
  EXPECT_THAT(section, HasSubstr("state_shape: 3"));
  EXPECT_THAT(section, HasSubstr("joint_agents: true"));
  const std::string path = TempDir("remote-pursuit") + "/config.textpb";
  std::ofstream(path) << section << R"(
network { hidden_sizes: 16 }
replay { tables { name: "transitions" max_size: 100000 rate_limiter { min_size_to_sample: 100000 } } }
actor { num_envs: 4 learning_starts: 10000000 insert_batch_items: 16 max_in_flight_batches: 4 }
learner { maddpg { } batch_size: 32 num_threads: 1 }
eval { episodes: 2 }
topology { num_actors: 1 }
)";
  absl::StatusOr<Roles> run = StartRun(path);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(WaitUntil([&] { return Inserted(*run) >= 400; }, absl::Seconds(90))) << run->actor.process->LogTail(20);
  EXPECT_EQ(SumMetric(run->actor.Metrics(), "rill_actor_env_errors_total"), 0) << run->actor.process->LogTail(20);
  EXPECT_TRUE(run->actor.process->running());
}

TEST(RemoteActorTest, AServerWhoseSpacesDifferFromTheConfigIsRefusedByName) {
  EnvServerProcess cartpole("cartpole:make");
  EnvServerProcess counter("test_envs:counter");  // a (2,) observation, Discrete(3)
  ASSERT_FALSE(counter.address().empty());
  std::string text = cartpole.EnvSection();  // CartPole's spaces ...
  const std::string address = absl::StrCat("address: \"", cartpole.address(), "\"");
  text.replace(text.find(address), address.size(), absl::StrCat("address: \"", counter.address(), "\""));  // ... at the counter's server
  const std::string path = TempDir("remote-mismatch") + "/config.textpb";
  std::ofstream(path) << text << "topology { num_actors: 1 }\n";
  absl::StatusOr<std::unique_ptr<ChildProcess>> actor = ChildProcess::Start(
      "actor", RillBinary(), {"actor", "--config=" + path, "--replay_address=127.0.0.1:1", "--metrics_port=-1"},
      TempDir("remote-mismatch-actor") + "/actor.log");
  ASSERT_TRUE(actor.ok()) << actor.status();
  ASSERT_TRUE((*actor)->WaitExit(absl::Seconds(60)).has_value());
  EXPECT_THAT((*actor)->LogTail(10), HasSubstr("announces observations float32 [2], the config says float32 [4]"));
}

}  // namespace
}  // namespace rill::testing
