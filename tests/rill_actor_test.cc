// `rill actor` runs as rill-actor, the binary beside `rill` linked without
// LibTorch, in both topologies: with a local policy copy (its forward on
// OpenBLAS, loaded from the learner's parameter stream) and with central
// inference (no policy at all). Without rill-actor beside it, `rill actor`
// still runs the actor in-process. Real processes; /proc tells which image
// each runs and how much memory it holds.
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kConfigPath[] = "tests/configs/tiny_pendulum.textpb";
// The bound for an actor running an MLP policy, either topology.
constexpr double kMaxActorRssMb = 60;

// VmRSS of the process, in MB (0 if /proc does not say).
double RssMb(const RoleProcess& role) {
  std::istringstream status(ProcFile(role, "status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    double kb = 0;
    fields >> kb;
    return kb / 1024;
  }
  return 0;
}

// The test config with topology.inference "central" (the learner then hosts
// the InferenceService).
std::string WriteCentralConfig() {
  std::string text = ReadFile(kConfigPath);
  const std::string topology = "topology { num_actors: 2 }";
  const size_t at = text.find(topology);
  EXPECT_NE(at, std::string::npos) << kConfigPath << " changed; update this test";
  if (at == std::string::npos) return "";
  text.replace(at, topology.size(), "topology { num_actors: 1 inference: CENTRAL }");
  const std::string path = TempDir("central-config") + "/central.textpb";
  std::ofstream(path) << text;
  return path;
}

struct Cluster {
  RoleProcess replay;
  RoleProcess learner;
};

absl::StatusOr<Cluster> StartReplayAndLearner(const std::string& config) {
  ASSIGN_OR_RETURN(RoleProcess replay, StartRole("replay", {"replay", "--config=" + config}));
  ASSIGN_OR_RETURN(RoleProcess learner,
                   StartRole("learner", {"learner", "--config=" + config, "--replay_address=" + replay.address(),
                                         "--checkpoint_dir=" + TempDir("ckpt")}));
  return Cluster{std::move(replay), std::move(learner)};
}

// `rill actor --config=CONFIG ARGS...` against the cluster, run by `binary`
// (the runfiles' rill when empty).
absl::StatusOr<RoleProcess> StartActor(const Cluster& cluster, const std::string& name, const std::string& config,
                                       std::vector<std::string> args, const std::string& binary = "") {
  args.insert(args.begin(), {"actor", "--config=" + config, "--replay_address=" + cluster.replay.address(),
                             "--learner_address=" + cluster.learner.address()});
  return StartRole(name, std::move(args), binary);
}

// Waits until `actor` has stepped past learning_starts (200) and acts with
// a version the learner published after training (> 1): its policy, local
// or central, is the learner's.
void ExpectActsWithTrainedVersions(const RoleProcess& actor) {
  EXPECT_TRUE(WaitUntil(
      [&] {
        const MetricSamples metrics = actor.Metrics();
        return SumMetric(metrics, "rill_actor_env_steps_total") > 400 &&
               SumMetric(metrics, "rill_actor_parameter_version") > 1;
      },
      absl::Seconds(60)))
      << "env steps " << SumMetric(actor.Metrics(), "rill_actor_env_steps_total") << ", version "
      << SumMetric(actor.Metrics(), "rill_actor_parameter_version") << "\n"
      << actor.process->LogTail(10);
}

void ExpectCleanStop(RoleProcess& role) {
  const int status = role.process->Stop(absl::Seconds(30));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ChildProcess::DescribeStatus(status);
}

TEST(RillActorTest, LocalPolicyActorRunsWithoutLibTorch) {
  absl::StatusOr<Cluster> cluster = StartReplayAndLearner(kConfigPath);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  absl::StatusOr<RoleProcess> actor = StartActor(*cluster, "actor", kConfigPath, {"--actor_id=0"});
  ASSERT_TRUE(actor.ok()) << actor.status();
  EXPECT_THAT(ExePath(*actor), EndsWith("/rill-actor"));
  EXPECT_THAT(ProcFile(*actor, "maps"), Not(HasSubstr("libtorch")));
  ExpectActsWithTrainedVersions(*actor);
  const double rss = RssMb(*actor);
  EXPECT_GT(rss, 0);
  EXPECT_LE(rss, kMaxActorRssMb) << "actor with a local 32x32 policy";
  std::printf("local-policy actor (rill-actor): %.1f MB resident\n", rss);

  // The evaluator is the same binary with --eval.
  absl::StatusOr<RoleProcess> evaluator = StartActor(*cluster, "evaluator", kConfigPath, {"--eval"});
  ASSERT_TRUE(evaluator.ok()) << evaluator.status();
  EXPECT_THAT(ExePath(*evaluator), EndsWith("/rill-actor"));
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(evaluator->Metrics(), "rill_eval_episodes_total") >= 2; },
                        absl::Seconds(60)))
      << evaluator->process->LogTail(10);
  ExpectCleanStop(*evaluator);
  ExpectCleanStop(*actor);
}

TEST(RillActorTest, CentralInferenceActorRunsWithoutLibTorch) {
  const std::string config = WriteCentralConfig();
  ASSERT_FALSE(config.empty());
  absl::StatusOr<Cluster> cluster = StartReplayAndLearner(config);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  absl::StatusOr<RoleProcess> actor = StartActor(*cluster, "actor", config, {"--actor_id=0"});
  ASSERT_TRUE(actor.ok()) << actor.status();
  EXPECT_THAT(ExePath(*actor), EndsWith("/rill-actor"));
  EXPECT_THAT(ProcFile(*actor, "maps"), Not(HasSubstr("libtorch")));
  ExpectActsWithTrainedVersions(*actor);
  EXPECT_GT(SumMetric(cluster->learner.Metrics(), "rill_inference_requests_total"), 0);
  const double rss = RssMb(*actor);
  EXPECT_GT(rss, 0);
  EXPECT_LE(rss, kMaxActorRssMb) << "actor with central inference";
  std::printf("central-inference actor (rill-actor): %.1f MB resident\n", rss);
  ExpectCleanStop(*actor);
}

TEST(RillActorTest, WithoutRillActorBesideItTheActorRunsInProcess) {
  absl::StatusOr<Cluster> cluster = StartReplayAndLearner(kConfigPath);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const std::string lone = TempDir("lone-rill") + "/rill";
  std::filesystem::copy_file(RillBinary(), lone);
  absl::StatusOr<RoleProcess> actor = StartActor(*cluster, "in-process-actor", kConfigPath, {"--actor_id=0"}, lone);
  ASSERT_TRUE(actor.ok()) << actor.status();
  EXPECT_EQ(ExePath(*actor), lone);
  ExpectActsWithTrainedVersions(*actor);
  ExpectCleanStop(*actor);
}

}  // namespace
}  // namespace rill::testing
