// `rill env-server` as a real child process on 127.0.0.1:0: it prints the
// address it bound, actors' RemoteEnvs step a built-in and a plugin env
// through it, SIGTERM and SIGINT stop it with exit code 0, and an unknown
// env or a library that cannot be loaded is refused with exit code 2.
// Multi-agent envs, the registry's and a plugin's, are served with the
// protocol's multi-agent streams: RemoteMultiAgentEnvs (the actors' client)
// steps them as the same seeded envs step in-process, and `rill launch` of
// a multi-agent PPO config trains on a served one.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/child_process.h"
#include "envs/batch/local_multi_agent_envs.h"
#include "envs/catalog.h"
#include "envs/plugin/plugin_envs.h"
#include "envs/registry.h"
#include "envs/remote/remote_envs.h"
#include "envs/remote/remote_multi_agent_envs.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/config.pb.h"
#include "tests/harness.h"

namespace rill {
namespace {

using ::rill::testing::JsonNumber;
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

std::string Rendezvous() {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/rill/examples/plugin/librendezvous.so");
}

// Steps `remote` and `local` (the same envs, seeded alike) with the same
// actions for `steps` steps, expecting the same observations, rewards,
// flags, live agents and states; returns the envs whose episodes ended.
int ExpectSameSteps(envs::MultiAgentEnvs& remote, envs::MultiAgentEnvs& local, int steps) {
  const size_t cells = static_cast<size_t>(remote.size()) * remote.num_agents();
  struct Buffers {
    explicit Buffers(const envs::MultiAgentEnvs& envs, size_t cells)
        : observations(static_cast<size_t>(envs.size()) * envs.obs_width()),
          final_observations(observations.size()),
          rewards(cells),
          terminated(cells),
          truncated(cells),
          acted(cells),
          ended(envs.size()) {
      out.observations = observations.data();
      out.final_observations = final_observations.data();
      out.rewards = rewards.data();
      out.terminated = terminated.data();
      out.truncated = truncated.data();
      out.acted = acted.data();
      out.episode_ended = ended.data();
      out.failures = &failures;
    }
    std::vector<float> observations, final_observations, rewards;
    std::vector<uint8_t> terminated, truncated, acted, ended;
    std::vector<envs::EnvFailure> failures;
    envs::MultiAgentEnvsOutput out;
  };
  Buffers a(remote, cells), b(local, cells);
  EXPECT_TRUE(remote.Reset(a.observations.data()).ok());
  EXPECT_TRUE(local.Reset(b.observations.data()).ok());
  EXPECT_EQ(a.observations, b.observations) << "first observations";
  const int state_dim = remote.spec().state_dim();
  std::vector<float> state_a(state_dim), state_b(state_dim);
  std::vector<float> actions(static_cast<size_t>(remote.size()) * remote.action_width());
  int ended = 0;
  for (int t = 0; t < steps; ++t) {
    // Every agent acts: a discrete one its index t % n, a Box one a sweep
    // of its bounds.
    for (size_t i = 0; i < actions.size(); ++i) actions[i] = static_cast<float>((t + i) % 3) - 1.f;
    for (int e = 0; e < remote.size(); ++e) {
      for (int k = 0; k < remote.num_agents(); ++k) {
        const envs::EnvSpec& agent = remote.spec().agent_specs[k];
        float& first = actions[static_cast<size_t>(e) * remote.action_width() + remote.action_offset(k)];
        if (agent.discrete) first = static_cast<float>((t + e + k) % agent.num_actions);
      }
    }
    EXPECT_TRUE(remote.Step(remote.size(), actions.data(), a.out).ok());
    EXPECT_TRUE(local.Step(local.size(), actions.data(), b.out).ok());
    EXPECT_EQ(a.observations, b.observations) << "step " << t;
    EXPECT_EQ(a.rewards, b.rewards) << "step " << t;
    EXPECT_EQ(a.terminated, b.terminated) << "step " << t;
    EXPECT_EQ(a.truncated, b.truncated) << "step " << t;
    EXPECT_EQ(a.ended, b.ended) << "step " << t;
    EXPECT_TRUE(a.failures.empty()) << a.failures[0].message;
    for (int e = 0; e < remote.size(); ++e) {
      ended += a.ended[e];
      for (int k = 0; k < remote.num_agents(); ++k) EXPECT_EQ(remote.live(e, k), local.live(e, k));
      if (state_dim == 0) continue;
      remote.State(e, state_a.data());
      local.State(e, state_b.data());
      EXPECT_EQ(state_a, state_b) << "step " << t << " env " << e;
    }
  }
  return ended;
}

// The same envs in this process: env i made by `make` with seed
// base_seed + i + 1, as RemoteMultiAgentEnvs seeds the served ones.
std::unique_ptr<envs::LocalMultiAgentEnvs> InProcess(
    const std::function<absl::StatusOr<std::unique_ptr<envs::MultiAgentEnv>>(uint64_t)>& make, int num_envs,
    uint64_t base_seed) {
  std::vector<std::unique_ptr<envs::MultiAgentEnv>> made;
  for (int i = 0; i < num_envs; ++i) {
    absl::StatusOr<std::unique_ptr<envs::MultiAgentEnv>> env = make(base_seed + i + 1);
    EXPECT_TRUE(env.ok()) << env.status();
    if (!env.ok()) return nullptr;
    made.push_back(*std::move(env));
  }
  absl::StatusOr<std::unique_ptr<envs::LocalMultiAgentEnvs>> local = envs::LocalMultiAgentEnvs::Create(std::move(made));
  EXPECT_TRUE(local.ok()) << local.status();
  return local.ok() ? *std::move(local) : nullptr;
}

TEST(RillEnvServerTest, ServesARegisteredMultiAgentEnvAsTheRegistryStepsIt) {
  const std::string name = "CooperativeNavigation-v0";
  EnvServerChild server = StartEnvServer({"--env=" + name, "--address=127.0.0.1:0"});
  const std::string address = WaitForAddress(server);
  ASSERT_FALSE(address.empty());
  envs::RemoteMultiAgentEnvs::Options options;
  options.address = address;
  options.num_envs = 3;
  options.base_seed = 9;
  options.spec = *envs::LookupMultiAgentSpec(name);
  options.reconnect_seconds = 30;
  absl::StatusOr<std::unique_ptr<envs::RemoteMultiAgentEnvs>> remote = envs::RemoteMultiAgentEnvs::Create(options);
  ASSERT_TRUE(remote.ok()) << remote.status() << server.log();
  std::unique_ptr<envs::LocalMultiAgentEnvs> local =
      InProcess([&](uint64_t seed) { return envs::MakeMultiAgentEnv(name, 0, seed); }, 3, 9);
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(ExpectSameSteps(**remote, *local, 30), 3) << "each env truncated at step 25";
  envs::RgbImage frame;
  EXPECT_TRUE((*remote)->Render(2, 32, 32, "", &frame).ok());
  EXPECT_THAT(server.log(), HasSubstr("serving " + name + " on " + address));
  EXPECT_THAT(server.log(), HasSubstr("env stream 1: 3 envs of " + name));

  const int status = server.process->Stop(absl::Seconds(10));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ChildProcess::DescribeStatus(status) << server.log();
}

TEST(RillEnvServerTest, ServesAPluginsMultiAgentEnvWithItsTimeLimit) {
  EnvServerChild server = StartEnvServer(
      {"--env=Rendezvous-v0", "--plugin=" + Rendezvous(), "--address=127.0.0.1:0", "--max_episode_steps=5"});
  const std::string address = WaitForAddress(server);
  ASSERT_FALSE(address.empty());
  v1::PluginEnvConfig config;
  config.set_library(Rendezvous());
  config.set_id("Rendezvous-v0");
  absl::StatusOr<envs::MultiAgentSpec> spec = envs::PluginMultiAgentSpec(config, 5);
  ASSERT_TRUE(spec.ok()) << spec.status();
  envs::RemoteMultiAgentEnvs::Options options;
  options.address = address;
  options.num_envs = 2;
  options.spec = *spec;
  options.reconnect_seconds = 30;
  absl::StatusOr<std::unique_ptr<envs::RemoteMultiAgentEnvs>> remote = envs::RemoteMultiAgentEnvs::Create(options);
  ASSERT_TRUE(remote.ok()) << remote.status() << server.log();
  std::unique_ptr<envs::LocalMultiAgentEnvs> local =
      InProcess([&](uint64_t seed) { return envs::MakePluginMultiAgentEnv(config, 5, seed); }, 2, 0);
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(ExpectSameSteps(**remote, *local, 12), 4) << "each env truncated at steps 5 and 10";
  server.process->Signal(SIGINT);
  const std::optional<int> status = server.process->WaitExit(absl::Seconds(10));
  ASSERT_TRUE(status.has_value()) << server.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << ChildProcess::DescribeStatus(*status);
}

// deploy/configs/cooperative_navigation_ppo.textpb (3 agents a row each,
// one shared PPO policy) with its env served by `rill env-server`: the
// env section is what the server announces, and `rill launch` runs to its
// budget with every actor's and the evaluator's envs on the server.
TEST(RillEnvServerTest, ALaunchOfAMultiAgentConfigStepsItsEnvsOnTheServer) {
  const std::string name = "CooperativeNavigation-v0";
  EnvServerChild server = StartEnvServer({"--env=" + name, "--address=127.0.0.1:0"});
  const std::string address = WaitForAddress(server);
  ASSERT_FALSE(address.empty());
  absl::StatusOr<std::unique_ptr<envs::RemoteEnvs>> probe =
      envs::RemoteEnvs::Open(address, 1, 0, absl::Seconds(30), envs::RemoteEnvs::Transport::kGrpc);
  ASSERT_TRUE(probe.ok()) << probe.status();
  v1::ExperimentConfig config;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      ReadFile("deploy/configs/cooperative_navigation_ppo.textpb"), &config));
  v1::RemoteEnvConfig* remote = config.mutable_env()->mutable_remote();
  remote->set_address(address);
  *remote->mutable_agents() = (*probe)->agent_spaces();
  for (int64_t d : (*probe)->multi_agent_spec().state_shape) remote->add_state_shape(d);
  probe->reset();
  config.mutable_eval()->set_every_updates(1);
  config.mutable_eval()->set_episodes(2);
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(config, &text));
  const std::string dir = TempDir("multi-agent-launch");
  const std::string config_path = dir + "/config.textpb";
  std::ofstream(config_path) << text;

  const std::string run_dir = dir + "/run";
  const std::string summary_path = dir + "/summary.json";
  const std::string launch_log = dir + "/launch.log";
  absl::StatusOr<std::unique_ptr<ChildProcess>> launch = ChildProcess::StartProgram(
      "launch", RillBinary(),
      {"launch", "--config=" + config_path, "--run_dir=" + run_dir, "--summary_json=" + summary_path,
       "--max_env_steps=1200"},
      launch_log);
  ASSERT_TRUE(launch.ok()) << launch.status();
  const std::optional<int> status = (*launch)->WaitExit(absl::Seconds(200));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << ReadFile(launch_log);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << ReadFile(launch_log) << server.log();
  const std::string summary = ReadFile(summary_path);
  EXPECT_EQ(JsonNumber(summary, "env_steps"), 1200) << summary;
  EXPECT_GT(JsonNumber(summary, "learner_updates"), 0) << summary;
  // Both actors' envs (4 each, 3 agents apiece) were the server's.
  EXPECT_THAT(server.log(), HasSubstr("4 envs of " + name));
  EXPECT_THAT(server.log(), ::testing::Not(HasSubstr("WARNING"))) << "no env failed";
}

}  // namespace
}  // namespace rill
