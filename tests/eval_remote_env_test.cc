// `rill eval` and `rill render` of a run whose envs are remote: on the env
// server its config's env.remote.command starts (as `rill launch` starts
// it), stopped whatever way they end, or on the one --env_address names;
// and refused at once when nothing serves the envs. Real processes only: a
// short `rill launch` of the tiny Python CartPole run makes the checkpoint
// that every test plays.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/env_server_process.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kPythonEnvConfig[] = "tests/configs/tiny_cartpole_python.textpb";
// Its env.remote.command, which the tests replace.
constexpr char kPythonCommand[] =
    "RILL_PROTO_CACHE=$TEST_TMPDIR/python-protos PYTHONPATH=python:examples/python /usr/bin/python3 -m "
    "rill.env_server --factory=cartpole:make --address={address}";

// A `rill` command run to its end.
struct Finished {
  int exit_code = -1;  // -1: killed, or still running at the timeout
  std::string output;  // stdout and stderr
  absl::Duration took;
};

std::unique_ptr<ChildProcess> StartRill(const std::string& name, const std::vector<std::string>& args,
                                        std::string* log) {
  *log = TempDir("out-" + name) + "/output.log";
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::StartProgram(name, RillBinary(), args, *log);
  EXPECT_TRUE(child.ok()) << child.status();
  return child.ok() ? *std::move(child) : nullptr;
}

int ExitCode(const std::optional<int>& status) {
  return status.has_value() && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

Finished RunRill(const std::string& name, const std::vector<std::string>& args,
                 absl::Duration timeout = absl::Seconds(120)) {
  Finished finished;
  std::string log;
  const absl::Time start = absl::Now();
  std::unique_ptr<ChildProcess> child = StartRill(name, args, &log);
  if (child == nullptr) return finished;
  finished.exit_code = ExitCode(child->WaitExit(timeout));
  finished.took = absl::Now() - start;
  finished.output = ReadFile(log);
  return finished;
}

// The "env server listening on HOST:PORT (pid N)" line a command logged:
// the address its server bound and the server's process group (led by the
// shell that runs the command); {"", 0} when there is none.
std::pair<std::string, pid_t> StartedEnvServer(const std::string& output) {
  std::smatch line;
  if (!std::regex_search(output, line, std::regex("env server listening on (127\\.0\\.0\\.1:[0-9]+) \\(pid ([0-9]+)\\)"))) {
    return {"", 0};
  }
  return {line[1].str(), static_cast<pid_t>(std::stoi(line[2].str()))};
}

// The live (not zombie) processes whose process group is `group`, or whose
// command line holds `needle` when `group` is 0.
std::vector<pid_t> LiveProcesses(pid_t group, const std::string& needle = "") {
  std::vector<pid_t> pids;
  for (const LiveProcess& process : ListLiveProcesses()) {
    if (group != 0 ? process.group == group : process.cmdline.find(needle) != std::string::npos) {
      pids.push_back(process.pid);
    }
  }
  return pids;
}

// The tiny Python CartPole config with `from` replaced by `to`.
std::string PythonEnvConfigWith(const std::string& name, const std::string& from, const std::string& to) {
  const std::string path = ConfigWith(kPythonEnvConfig, name, from, to);
  EXPECT_FALSE(path.empty()) << kPythonEnvConfig << " changed: it holds no " << from;
  return path;
}

class EvalRemoteEnvTest : public ::testing::Test {
 protected:
  // A run of the tiny Python CartPole config, launched once for the suite:
  // its folder holds the config (with env.remote.command) and the
  // learner's checkpoint.
  static void SetUpTestSuite() {
    // Where eval and render write the logs of the servers they start.
    setenv("TMPDIR", getenv("TEST_TMPDIR"), 1);
    run_dir_ = new std::string(TempDir("run"));
    const Finished launch = RunRill("launch", {"launch", std::string("--config=") + kPythonEnvConfig,
                                               "--run_dir=" + *run_dir_, "--max_env_steps=1000"},
                                    absl::Seconds(240));
    ASSERT_EQ(launch.exit_code, 0) << launch.output;
    ASSERT_TRUE(std::filesystem::exists(*run_dir_ + "/config.textpb"));
  }
  static void TearDownTestSuite() { delete run_dir_; }

  const std::string& run_dir() const { return *run_dir_; }

 private:
  static std::string* run_dir_;
};

std::string* EvalRemoteEnvTest::run_dir_ = nullptr;

TEST_F(EvalRemoteEnvTest, EvalStartsTheRunsEnvServerPlaysItsEpisodesThereAndStopsIt) {
  const Finished eval = RunRill("eval", {"eval", "--checkpoint_dir=" + run_dir(), "--episodes=5"});
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_THAT(eval.output, HasSubstr("episode 5: return"));
  EXPECT_THAT(eval.output, HasSubstr("eval: 5 episodes of"));
  EXPECT_THAT(eval.output, HasSubstr("{\"episodes\":5,"));
  // The command's server bound a free port, which the envs dialed.
  const auto [address, group] = StartedEnvServer(eval.output);
  ASSERT_FALSE(address.empty()) << eval.output;
  EXPECT_NE(address, "127.0.0.1:0");
  std::smatch log;
  ASSERT_TRUE(std::regex_search(eval.output, log, std::regex("; log in ([^\n]+)"))) << eval.output;
  EXPECT_THAT(ReadFile(log[1].str()), HasSubstr("stream 1: 5 envs of cartpole:make"));
  EXPECT_THAT(LiveProcesses(group), IsEmpty());
}

TEST_F(EvalRemoteEnvTest, RenderRecordsOnTheEnvServerItStartsAndStopsIt) {
  // The C++ env server, whose CartPole renders (the Python one does not).
  const std::string config = PythonEnvConfigWith(
      "render-config", kPythonCommand, RillBinary() + " env-server --env=CartPole-v1 --address={address}");
  const std::string video = TempDir("render") + "/episode.mp4";
  const Finished render = RunRill("render", {"render", "--checkpoint_dir=" + run_dir(), "--config=" + config,
                                             "--out=" + video, "--size=64x64"});
  ASSERT_EQ(render.exit_code, 0) << render.output;
  EXPECT_THAT(render.output, HasSubstr("render: 1 episodes of"));
  EXPECT_GT(std::filesystem::file_size(video), 0u);
  std::smatch frames;
  ASSERT_TRUE(std::regex_search(render.output, frames, std::regex("\"frames\":([0-9]+)"))) << render.output;
  EXPECT_GT(std::stoi(frames[1].str()), 1) << render.output;
  const auto [address, group] = StartedEnvServer(render.output);
  ASSERT_FALSE(address.empty()) << render.output;
  EXPECT_THAT(LiveProcesses(group), IsEmpty());
}

TEST_F(EvalRemoteEnvTest, EnvAddressPlaysOnARunningServerAndStartsNone) {
  EnvServerProcess server("cartpole:make");
  ASSERT_FALSE(server.address().empty());
  const Finished eval =
      RunRill("eval-address", {"eval", "--checkpoint_dir=" + run_dir(), "--episodes=3", "--env_address=" + server.address()});
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_THAT(eval.output, HasSubstr("{\"episodes\":3,"));
  EXPECT_THAT(eval.output, Not(HasSubstr("env server listening on")));
  EXPECT_THAT(eval.output, Not(HasSubstr("is not a flag of")));
  EXPECT_THAT(server.log(), HasSubstr("3 envs of cartpole:make"));
  // The server is the test's: eval left it running.
  EXPECT_TRUE(server.child().running());
}

TEST_F(EvalRemoteEnvTest, RemoteEnvThatNothingServesIsRefusedAtOnceNamingTheField) {
  const std::string config =
      PythonEnvConfigWith("no-server", absl::StrCat("command: \"", kPythonCommand, "\""), "");
  for (const std::string command : {"eval", "render"}) {
    SCOPED_TRACE(command);
    // Not the endless redial of an empty address: refused, and at once.
    const Finished refused = RunRill("no-server-" + command,
                                     {command, "--checkpoint_dir=" + run_dir(), "--config=" + config},
                                     absl::Seconds(60));
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_LT(refused.took, absl::Seconds(30));
    EXPECT_THAT(refused.output, HasSubstr("config field env.remote.address"));
    EXPECT_THAT(refused.output, Not(HasSubstr("not reachable")));
  }
}

TEST_F(EvalRemoteEnvTest, EnvAddressForAnEnvThatIsNotRemoteIsRefusedNamingTheFlag) {
  const Finished refused =
      RunRill("address-not-remote", {"eval", "--checkpoint_dir=" + run_dir(),
                                     "--config=tests/configs/tiny_cartpole_impala.textpb", "--env_address=127.0.0.1:1"});
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("--env_address=127.0.0.1:1 is set, but the config's env has no remote section"));
}

TEST_F(EvalRemoteEnvTest, CtrlCWhileTheEnvServerStartsEndsEvalAndKillsTheServer) {
  // A command that never listens: a sleep, with a duration no other process
  // has; eval would wait a minute for it.
  const std::string sleep = "sleep " + std::to_string(200000 + getpid());
  const std::string config = PythonEnvConfigWith("silent", kPythonCommand, sleep + " # {address}");
  std::string log;
  std::unique_ptr<ChildProcess> eval =
      StartRill("eval-interrupted", {"eval", "--checkpoint_dir=" + run_dir(), "--config=" + config}, &log);
  ASSERT_NE(eval, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return !LiveProcesses(0, sleep).empty(); }, absl::Seconds(60))) << ReadFile(log);
  eval->Signal(SIGINT);
  const std::optional<int> status = eval->WaitExit(absl::Seconds(20));
  ASSERT_TRUE(status.has_value()) << ReadFile(log);
  EXPECT_EQ(ExitCode(status), 1) << ReadFile(log);
  EXPECT_THAT(ReadFile(log), HasSubstr("interrupted while the env server started"));
  EXPECT_THAT(LiveProcesses(0, sleep), IsEmpty());
}

TEST_F(EvalRemoteEnvTest, SigtermWhileEvalPlaysEndsItAndStopsItsEnvServer) {
  std::string log;
  std::unique_ptr<ChildProcess> eval =
      StartRill("eval-terminated", {"eval", "--checkpoint_dir=" + run_dir(), "--episodes=1000"}, &log);
  ASSERT_NE(eval, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return !StartedEnvServer(ReadFile(log)).first.empty(); }, absl::Seconds(60)))
      << ReadFile(log);
  eval->Signal(SIGTERM);
  const std::optional<int> status = eval->WaitExit(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << ReadFile(log);
  const std::string output = ReadFile(log);
  EXPECT_EQ(ExitCode(status), 1) << output;
  EXPECT_THAT(output, HasSubstr("interrupted before every episode had ended"));
  EXPECT_THAT(LiveProcesses(StartedEnvServer(output).second), IsEmpty());
}

}  // namespace
}  // namespace rill::testing
