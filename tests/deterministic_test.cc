// `rill launch --deterministic` as a user runs it: the same config and seed
// twice give the same episodes, the same final policy (its digest) and the
// same evaluation; another seed gives another run. SAC on transitions with
// a uniform table, and IMPALA on unrolls with a FIFO one; DrQ-v2 on pixels
// of an env in the actor and of the same env served; two policies of a
// multi-agent env, each with its own table and learner state.
#include <sys/wait.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/child_process.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

struct LockstepLaunch {
  int exit_code = -1;
  std::string run_dir, log, summary;
};

LockstepLaunch Launch(const std::string& name, const std::vector<std::string>& extra) {
  LockstepLaunch run;
  run.run_dir = TempDir("deterministic-" + name);
  run.log = run.run_dir + "-launch.log";
  run.summary = run.run_dir + "/summary.json";
  // No --summary_json: the summary is in the run folder anyway.
  std::vector<std::string> args = {"launch", "--deterministic", "--run_dir=" + run.run_dir, "--progress_every=1s",
                                   "--plot_python="};
  args.insert(args.end(), extra.begin(), extra.end());
  auto child = ChildProcess::Start(name, RillBinary(), args, run.log);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return run;
  std::optional<int> status = (*child)->WaitExit(absl::Seconds(240));
  EXPECT_TRUE(status.has_value()) << "launch did not finish:\n" << (*child)->LogTail(20);
  if (status.has_value() && WIFEXITED(*status)) run.exit_code = WEXITSTATUS(*status);
  return run;
}

// A field of the flat summary JSON, as written; "" if absent.
std::string JsonField(const std::string& json, const std::string& key) {
  std::smatch match;
  if (!std::regex_search(json, match, std::regex("\"" + key + "\": (\"[^\"]*\"|[^,}]+)"))) return "";
  return match[1].str();
}

// The lines of a scalar log without their "time" field: what two repeating
// runs must agree on.
std::vector<std::string> WithoutTimes(const std::string& jsonl) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(jsonl, '\n', absl::SkipEmpty())) {
    lines.push_back(std::regex_replace(std::string(line), std::regex("\"time\": ?[0-9.eE+-]+,? ?"), ""));
  }
  return lines;
}

void ExpectRepeats(const std::string& config, const std::string& steps, const std::string& name) {
  const LockstepLaunch first = Launch(name + "-1", {config, steps});
  const LockstepLaunch second = Launch(name + "-2", {config, steps});
  const LockstepLaunch other_seed = Launch(name + "-seed", {config, steps, "--seed=12345"});
  ASSERT_EQ(first.exit_code, 0) << ReadFile(first.log);
  ASSERT_EQ(second.exit_code, 0) << ReadFile(second.log);
  ASSERT_EQ(other_seed.exit_code, 0) << ReadFile(other_seed.log);
  const std::string a = ReadFile(first.summary), b = ReadFile(second.summary), c = ReadFile(other_seed.summary);

  EXPECT_EQ(JsonField(a, "deterministic"), "true") << a;
  const std::string digest = JsonField(a, "policy_digest");
  ASSERT_TRUE(std::regex_match(digest, std::regex("\"[0-9a-f]{16}\""))) << a;
  EXPECT_EQ(JsonField(b, "policy_digest"), digest) << a << "\n" << b;
  EXPECT_NE(JsonField(c, "policy_digest"), digest) << "another seed, the same policy:\n" << c;
  for (const char* same : {"env_steps", "learner_updates", "replay_items_inserted", "eval_return_mean",
                           "eval_parameter_version"}) {
    EXPECT_EQ(JsonField(b, same), JsonField(a, same)) << same << "\n" << a << "\n" << b;
  }
  EXPECT_GT(std::stod(JsonField(a, "learner_updates")), 0) << a;
  EXPECT_EQ(JsonField(a, "final_eval"), "\"done\"") << a;
  EXPECT_NE(JsonField(a, "eval_return_mean"), "null") << a;

  // Every episode of the actor, in order, its return as logged (9
  // significant digits): the envs, the exploration and every version acted
  // by agree all along, not only at the end.
  const std::vector<std::string> episodes = WithoutTimes(ReadFile(first.run_dir + "/metrics/actor-0.jsonl"));
  ASSERT_GE(episodes.size(), 4u) << ReadFile(first.log);
  EXPECT_EQ(WithoutTimes(ReadFile(second.run_dir + "/metrics/actor-0.jsonl")), episodes);
  EXPECT_NE(WithoutTimes(ReadFile(other_seed.run_dir + "/metrics/actor-0.jsonl")), episodes);
  EXPECT_EQ(WithoutTimes(ReadFile(second.run_dir + "/metrics/evaluator.jsonl")),
            WithoutTimes(ReadFile(first.run_dir + "/metrics/evaluator.jsonl")));
}

TEST(DeterministicTest, SacOnPendulumRepeatsBitForBit) {
  ExpectRepeats("--config=tests/configs/tiny_pendulum.textpb", "--max_env_steps=1200", "sac");
}

TEST(DeterministicTest, ImpalaOnCartPoleRepeatsBitForBit) {
  ExpectRepeats("--config=tests/configs/tiny_cartpole_impala.textpb", "--max_env_steps=3000", "impala");
}

// Several policies whose agents observe differently (predator-prey's
// predators 16 floats, its prey 14): each policy's own table, learner
// state and files, and the final evaluation of each policy's agents,
// repeat as the one policy's do.
TEST(DeterministicTest, SeveralPoliciesRepeatBitForBit) {
  const std::string config = "--config=tests/configs/tiny_predator_prey_policies.textpb";
  ExpectRepeats(config, "--max_env_steps=4000", "policies");

  const LockstepLaunch run = Launch("policies-files", {config, "--max_env_steps=4000"});
  ASSERT_EQ(run.exit_code, 0) << ReadFile(run.log);
  EXPECT_NE(ReadFile(run.log).find("the tables and learner states of 2 policies"), std::string::npos)
      << ReadFile(run.log);
  for (const std::string policy : {"predators", "prey"}) {
    // Each policy's own checkpoints and config, as a launched learner
    // keeps them, and its own scalar log.
    const std::string folder = run.run_dir + "/checkpoints/learner/" + policy;
    EXPECT_TRUE(std::filesystem::exists(folder + "/config.textpb")) << folder;
    const std::string scalars = ReadFile(run.run_dir + "/metrics/learner." + policy + ".jsonl");
    std::smatch updates;
    ASSERT_TRUE(std::regex_search(scalars, updates, std::regex("\"updates\": ([0-9]+)"))) << policy << scalars;
    EXPECT_GT(std::stoi(updates[1].str()), 0) << policy << scalars;
  }
  // The prey's own view of the env: its agent's 14 floats.
  EXPECT_NE(ReadFile(run.run_dir + "/checkpoints/learner/prey/config.textpb").find("row_agents: \"agent_0\""),
            std::string::npos)
      << ReadFile(run.run_dir + "/checkpoints/learner/prey/config.textpb");
  // The final round's figures of each policy, and the env's own.
  const std::string evaluation = ReadFile(run.run_dir + "/metrics/evaluator.jsonl");
  EXPECT_NE(evaluation.find("\"policy/predators/return\""), std::string::npos) << evaluation;
  EXPECT_NE(evaluation.find("\"policy/prey/return\""), std::string::npos) << evaluation;
  EXPECT_NE(evaluation.find("\"env/touches\""), std::string::npos) << evaluation;
}

// Self-play between those policies: each env's opponents drawn from the
// other policy's pool, by the actor's seeded picks, repeat as well.
TEST(DeterministicTest, SelfPlayBetweenPoliciesRepeatsBitForBit) {
  ExpectRepeats("--config=tests/configs/tiny_predator_prey_self_play.textpb", "--max_env_steps=8000",
                "policies-self-play");
  const LockstepLaunch run =
      Launch("policies-self-play-picks", {"--config=tests/configs/tiny_predator_prey_self_play.textpb",
                                          "--max_env_steps=8000"});
  ASSERT_EQ(run.exit_code, 0) << ReadFile(run.log);
  std::smatch picks;
  const std::string log = ReadFile(run.log);
  ASSERT_TRUE(std::regex_search(log, picks, std::regex("([0-9]+) against pool snapshots"))) << log;
  EXPECT_GT(std::stoi(picks[1].str()), 0) << log;
}

// `rill env-server` on 127.0.0.1:0 serving `env`; its "listening on"
// address, or "" (a test failure) when it does not print one in a minute.
std::string ServeEnv(const std::string& env, std::unique_ptr<ChildProcess>* server) {
  const std::string log = TempDir("deterministic-env-server") + "/env-server.log";
  absl::StatusOr<std::unique_ptr<ChildProcess>> started = ChildProcess::StartProgram(
      "env-server", RillBinary(), {"env-server", "--env=" + env, "--address=127.0.0.1:0"}, log);
  EXPECT_TRUE(started.ok()) << started.status();
  if (!started.ok()) return "";
  *server = *std::move(started);
  const std::string listening = "listening on ";
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(log).find(listening) != std::string::npos || !(*server)->running(); },
                        absl::Seconds(60)))
      << ReadFile(log);
  const std::string text = ReadFile(log);
  const size_t at = text.find(listening);
  if (at == std::string::npos) return "";
  return text.substr(at + listening.size(), text.find('\n', at) - at - listening.size());
}

// Action repeat and pixels are batch wrappers, the same for every kind of
// env: DrQ-v2 on Pendulum's frames learns the same policy, step for step,
// whether Pendulum runs in the actor or on `rill env-server` (which steps
// only the envs still inside a repeat and draws each frame before an ended
// episode's reset).
TEST(DeterministicTest, PixelsOfAServedEnvRepeatTheLocalRunBitForBit) {
  std::unique_ptr<ChildProcess> server;
  const std::string address = ServeEnv("Pendulum-v1", &server);
  ASSERT_FALSE(address.empty());
  const std::string served = ConfigWith("deploy/configs/pendulum_pixels_drqv2_remote.textpb", "deterministic-served",
                                        "command: \"bazel-bin/rill env-server --env=Pendulum-v1 --address={address}\"",
                                        "address: \"" + address + "\"");
  ASSERT_FALSE(served.empty());
  const std::string steps = "--max_env_steps=1150";
  const LockstepLaunch local = Launch("pixels-local", {"--config=deploy/configs/pendulum_pixels_drqv2.textpb", steps});
  const LockstepLaunch remote = Launch("pixels-served", {"--config=" + served, steps});
  ASSERT_EQ(local.exit_code, 0) << ReadFile(local.log);
  ASSERT_EQ(remote.exit_code, 0) << ReadFile(remote.log);
  const std::string a = ReadFile(local.summary), b = ReadFile(remote.summary);
  EXPECT_GT(std::stod(JsonField(a, "learner_updates")), 0) << a;
  for (const char* same : {"policy_digest", "env_steps", "learner_updates", "eval_return_mean"}) {
    EXPECT_EQ(JsonField(b, same), JsonField(a, same)) << same << "\n" << a << "\n" << b;
  }
  // 11 episodes of 100 agent steps: the episode ends (the time limit, in
  // the middle of no repeat) and their returns agree too.
  const std::vector<std::string> episodes = WithoutTimes(ReadFile(local.run_dir + "/metrics/actor-0.jsonl"));
  ASSERT_GE(episodes.size(), 10u) << ReadFile(local.log);
  EXPECT_EQ(WithoutTimes(ReadFile(remote.run_dir + "/metrics/actor-0.jsonl")), episodes);
}

// Plots are drawn as for any run, though a lock-step run starts no process
// and so writes no process logs (plot.log goes in logs/ all the same).
TEST(DeterministicTest, DrawsTheRunsPlots) {
  const LockstepLaunch run = Launch("plots", {"--config=tests/configs/tiny_pendulum.textpb", "--max_env_steps=300",
                                              "--plot_python=/usr/bin/python3"});
  ASSERT_EQ(run.exit_code, 0) << ReadFile(run.log);
  const std::string summary = ReadFile(run.summary);
  EXPECT_NE(summary.find("/plots/eval_return_by_env_steps.png"), std::string::npos) << summary << ReadFile(run.log);
  EXPECT_TRUE(std::filesystem::exists(run.run_dir + "/plots/eval_return_by_env_steps.png")) << ReadFile(run.log);
  EXPECT_EQ(ReadFile(run.log).find("no plots"), std::string::npos) << ReadFile(run.log);
}

TEST(DeterministicTest, RefusesWhatALockStepRunCannotRepeat) {
  const std::string cuda = ConfigWith("tests/configs/tiny_pendulum.textpb", "deterministic-cuda", "learner {",
                                      "learner { device: CUDA");
  ASSERT_FALSE(cuda.empty());
  const LockstepLaunch on_cuda = Launch("cuda", {"--config=" + cuda, "--max_env_steps=100"});
  EXPECT_EQ(on_cuda.exit_code, 2) << ReadFile(on_cuda.log);
  EXPECT_NE(ReadFile(on_cuda.log).find("learner.device is CUDA"), std::string::npos) << ReadFile(on_cuda.log);

  const LockstepLaunch resumed = Launch("resume", {"--config=tests/configs/tiny_pendulum.textpb", "--resume=/nonexistent"});
  EXPECT_EQ(resumed.exit_code, 2) << ReadFile(resumed.log);
  EXPECT_NE(ReadFile(resumed.log).find("a deterministic run starts from scratch"), std::string::npos)
      << ReadFile(resumed.log);

  const LockstepLaunch unbounded = Launch("unbounded", {"--config=tests/configs/tiny_pendulum.textpb", "--max_env_steps=0"});
  EXPECT_EQ(unbounded.exit_code, 2) << ReadFile(unbounded.log);
  EXPECT_NE(ReadFile(unbounded.log).find("needs a step budget"), std::string::npos) << ReadFile(unbounded.log);
}

}  // namespace
}  // namespace rill::testing
