// `rill env-server` as a real child process on 127.0.0.1:0: it prints the
// address it bound, actors' RemoteEnvs step a built-in and a plugin env
// through it, SIGTERM and SIGINT stop it with exit code 0, and an unknown
// env or a library that cannot be loaded is refused with exit code 2.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/child_process.h"
#include "envs/remote/remote_envs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill {
namespace {

using ::rill::testing::ReadFile;
using ::rill::testing::RillBinary;
using ::rill::testing::TempDir;
using ::rill::testing::WaitUntil;
using ::testing::HasSubstr;

constexpr char kListening[] = "listening on ";

// `rill env-server <flags>` with its output in a log file.
struct EnvServerChild {
  std::unique_ptr<ChildProcess> process;
  std::string log_path;
  std::string log() const { return ReadFile(log_path); }
};

EnvServerChild StartEnvServer(const std::vector<std::string>& flags) {
  EnvServerChild child;
  child.log_path = TempDir("env-server") + "/env-server.log";
  std::vector<std::string> args = {"env-server"};
  args.insert(args.end(), flags.begin(), flags.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::StartProgram("env-server", RillBinary(), args, child.log_path);
  EXPECT_TRUE(process.ok()) << process.status();
  if (process.ok()) child.process = *std::move(process);
  return child;
}

// The HOST:PORT of the "listening on HOST:PORT" line, once printed ("" if
// the process ends first or a minute passes).
std::string WaitForAddress(EnvServerChild& child) {
  if (child.process == nullptr) return "";
  const bool printed =
      WaitUntil([&] { return absl::StrContains(child.log(), kListening) || !child.process->running(); },
                absl::Seconds(60));
  const std::string text = child.log();
  const size_t at = text.find(kListening);
  EXPECT_TRUE(printed && at != std::string::npos) << text;
  if (at == std::string::npos) return "";
  const size_t start = at + sizeof(kListening) - 1;
  const size_t end = text.find('\n', start);
  if (end == std::string::npos) return "";
  return text.substr(start, end - start);
}

std::string Hover() { return absl::StrCat(getenv("TEST_SRCDIR"), "/rill/examples/plugin/libhover.so"); }

TEST(RillEnvServerTest, ServesCartPoleToRemoteEnvsAndStopsWithExitCode0OnSigterm) {
  EnvServerChild server = StartEnvServer({"--env=CartPole-v1", "--address=127.0.0.1:0"});
  const std::string address = WaitForAddress(server);
  ASSERT_THAT(address, ::testing::StartsWith("127.0.0.1:"));
  EXPECT_NE(address, "127.0.0.1:0");

  absl::StatusOr<std::unique_ptr<envs::RemoteEnvs>> envs = envs::RemoteEnvs::Open(address, 4, 7, absl::Seconds(30));
  ASSERT_TRUE(envs.ok()) << envs.status() << server.log();
  EXPECT_EQ((*envs)->spec().name, "CartPole-v1");
  EXPECT_TRUE((*envs)->spec().discrete);
  EXPECT_EQ((*envs)->spec().max_episode_steps, 500);
  envs::RemoteStep step;
  const std::vector<float> left(4, 0.f);
  int ends = 0;
  for (int t = 0; t < 100; ++t) {
    ASSERT_TRUE((*envs)->Step(left.data(), &step).ok()) << server.log();
    EXPECT_TRUE(step.errors.empty());
    ends += static_cast<int>(step.final_indices.size());
  }
  EXPECT_GE(ends, 4) << "pushing left, every pole falls within 100 steps";

  const int status = server.process->Stop(absl::Seconds(10));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ChildProcess::DescribeStatus(status) << server.log();
  EXPECT_THAT(server.log(), HasSubstr("shutting down"));
}

TEST(RillEnvServerTest, ServesAPluginEnvWithItsTimeLimitAndStopsOnSigint) {
  EnvServerChild server = StartEnvServer(
      {"--env=Hover-v0", "--plugin=" + Hover(), "--address=127.0.0.1:0", "--max_episode_steps=5"});
  const std::string address = WaitForAddress(server);
  ASSERT_FALSE(address.empty());
  absl::StatusOr<std::unique_ptr<envs::RemoteEnvs>> envs = envs::RemoteEnvs::Open(address, 2, 0, absl::Seconds(30));
  ASSERT_TRUE(envs.ok()) << envs.status() << server.log();
  EXPECT_EQ((*envs)->spec().name, "Hover-v0");
  EXPECT_EQ((*envs)->spec().max_episode_steps, 5);
  envs::RemoteStep step;
  const std::vector<float> throttle(2, 0.5f);
  for (int t = 1; t <= 5; ++t) ASSERT_TRUE((*envs)->Step(throttle.data(), &step).ok());
  EXPECT_EQ(step.final_indices, std::vector<int>({0, 1})) << "truncated by --max_episode_steps";

  server.process->Signal(SIGINT);
  const std::optional<int> status = server.process->WaitExit(absl::Seconds(10));
  ASSERT_TRUE(status.has_value()) << server.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << ChildProcess::DescribeStatus(*status);
}

// Runs `rill env-server <flags>` to its end; its wait status.
int RunToExit(EnvServerChild& child) {
  if (child.process == nullptr) return -1;
  const std::optional<int> status = child.process->WaitExit(absl::Seconds(30));
  EXPECT_TRUE(status.has_value()) << child.log();
  return status.value_or(-1);
}

TEST(RillEnvServerTest, AnUnknownEnvIsRefusedWithExitCode2ListingTheKnownOnes) {
  EnvServerChild server = StartEnvServer({"--env=Nope-v0", "--address=127.0.0.1:0"});
  const int status = RunToExit(server);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << ChildProcess::DescribeStatus(status);
  EXPECT_THAT(server.log(), HasSubstr("unknown environment 'Nope-v0'"));
  EXPECT_THAT(server.log(), HasSubstr("CartPole-v1"));
  EXPECT_THAT(server.log(), ::testing::Not(HasSubstr(kListening)));
}

TEST(RillEnvServerTest, APluginThatCannotBeLoadedIsRefusedWithExitCode2) {
  const std::string missing = TempDir("no-plugin") + "/libmissing.so";
  EnvServerChild server = StartEnvServer({"--env=Hover-v0", "--plugin=" + missing, "--address=127.0.0.1:0"});
  const int status = RunToExit(server);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << ChildProcess::DescribeStatus(status);
  EXPECT_THAT(server.log(), HasSubstr(missing));
}

TEST(RillEnvServerTest, APluginWithoutTheEnvIsRefusedWithExitCode2NamingItsEnvs) {
  EnvServerChild server = StartEnvServer({"--env=Nope-v0", "--plugin=" + Hover(), "--address=127.0.0.1:0"});
  const int status = RunToExit(server);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << ChildProcess::DescribeStatus(status);
  EXPECT_THAT(server.log(), HasSubstr("has no env 'Nope-v0'; it offers: Hover-v0"));
}

// Its streams are single-agent: a multi-agent env, the registry's or a
// plugin's, is refused at start with where such an env runs instead.
TEST(RillEnvServerTest, AMultiAgentEnvIsRefusedNamingWhereItRuns) {
  const std::string rendezvous =
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/rill/examples/plugin/librendezvous.so");
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--env=CooperativeNavigation-v0"},
        std::vector<std::string>{"--env=Rendezvous-v0", "--plugin=" + rendezvous}}) {
    std::vector<std::string> args = flags;
    args.push_back("--address=127.0.0.1:0");
    EnvServerChild server = StartEnvServer(args);
    const int status = RunToExit(server);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << ChildProcess::DescribeStatus(status);
    EXPECT_THAT(server.log(), HasSubstr("is a multi-agent env, and rill env-server serves single-agent envs only"));
    EXPECT_THAT(server.log(), HasSubstr("python3 -m rill.env_server"));
    EXPECT_THAT(server.log(), ::testing::Not(HasSubstr(kListening)));
  }
}

}  // namespace
}  // namespace rill
