// Two `rill learner` processes as data-parallel ranks of one run: rank 0
// hosts the group's store on a free port, rank 1 joins it; both sample the
// same replay shard and average their gradients, rank 0 alone publishes
// and checkpoints, and an actor trains on rank 0's versions. kill -9 of
// rank 1 makes rank 0 fail at its next allreduce, naming rank 1.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <optional>
#include <regex>
#include <string>

#include "common/child_process.h"
#include "common/metrics_scrape.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

constexpr char kConfig[] = "--config=tests/configs/tiny_pendulum.textpb";

// The first number the log at `path` prints after `pattern` (a regex with
// one group), once it does; nullopt after `timeout`.
std::optional<int> WaitForNumber(const std::string& path, const std::string& pattern, absl::Duration timeout) {
  std::optional<int> found;
  const std::regex re(pattern);
  WaitUntil(
      [&] {
        std::smatch match;
        const std::string log = ReadFile(path);
        if (std::regex_search(log, match, re)) found = std::stoi(match[1].str());
        return found.has_value();
      },
      timeout);
  return found;
}

TEST(LearnerRanksTest, TwoRanksTrainTogetherAndRankZeroAloneServesAndCheckpoints) {
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", kConfig});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const std::string dir = TempDir("ranks");
  const std::string rank0_log = dir + "/rank0.log";
  // Rank 0 is ready only once the group has formed: started without
  // waiting, its store's port read from its log.
  absl::StatusOr<std::unique_ptr<ChildProcess>> rank0 = ChildProcess::Start(
      "rank0", RillBinary(),
      {"learner", kConfig, "--replay_address=" + replay->address(), "--world_size=2", "--rank=0",
       "--store=127.0.0.1:0", "--host=127.0.0.1", "--port=0", "--metrics_port=0", "--checkpoint_dir=" + dir + "/ckpt"},
      rank0_log);
  ASSERT_TRUE(rank0.ok()) << rank0.status();
  const std::optional<int> store =
      WaitForNumber(rank0_log, "learner group store listening on port ([0-9]+)", absl::Seconds(60));
  ASSERT_TRUE(store.has_value()) << ReadFile(rank0_log);
  absl::StatusOr<RoleProcess> rank1 =
      StartRole("rank1", {"learner", kConfig, "--replay_address=" + replay->address(), "--world_size=2", "--rank=1",
                          "--store=127.0.0.1:" + std::to_string(*store)});
  ASSERT_TRUE(rank1.ok()) << rank1.status() << "\n" << ReadFile(rank0_log);
  const std::optional<int> grpc = WaitForNumber(rank0_log, "parameter service on port ([0-9]+)", absl::Seconds(60));
  const std::optional<int> metrics = WaitForNumber(rank0_log, "metrics on port ([0-9]+)", absl::Seconds(5));
  ASSERT_TRUE(grpc.has_value() && metrics.has_value()) << ReadFile(rank0_log);
  const auto rank0_metrics = [&] {
    absl::StatusOr<MetricSamples> samples = ScrapeMetrics("127.0.0.1", *metrics, absl::Seconds(5));
    return samples.ok() ? *samples : MetricSamples{};
  };

  absl::StatusOr<RoleProcess> actor =
      StartRole("actor", {"actor", kConfig, "--actor_id=0", "--replay_address=" + replay->address(),
                          "--learner_address=127.0.0.1:" + std::to_string(*grpc)});
  ASSERT_TRUE(actor.ok()) << actor.status();

  // Both ranks update, in step: every update of one is an allreduce with the other.
  ASSERT_TRUE(WaitUntil([&] { return SumMetric(rank1->Metrics(), "rill_learner_updates_total") >= 200; },
                        absl::Seconds(120)))
      << ReadFile(rank0_log);
  const MetricSamples zero = rank0_metrics(), one = rank1->Metrics();
  EXPECT_GE(SumMetric(zero, "rill_learner_updates_total"), 200);
  EXPECT_EQ(SumMetric(zero, "rill_learner_group_ranks"), 2);
  // The allreduce figures, exported at each 2 s log interval.
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(rank1->Metrics(), "rill_learner_allreduce_bytes_total") > 0; },
                        absl::Seconds(30)));
  // The first export may predate the 200th update on a loaded machine: wait
  // for the export that counts them.
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(rank1->Metrics(), "rill_learner_allreduces_total") >= 200; },
                        absl::Seconds(30)));
  EXPECT_GE(SumMetric(rank1->Metrics(), "rill_learner_allreduces_total"), 200);
  // Rank 0 publishes (the actor acts with its versions); rank 1 does not.
  EXPECT_GT(SumMetric(zero, "rill_learner_parameter_version"), 100);
  EXPECT_EQ(SumMetric(one, "rill_learner_parameter_version"), 0);
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(actor->Metrics(), "rill_actor_parameter_version") > 100; },
                        absl::Seconds(30)));
  // tiny_pendulum checkpoints every 500 updates: rank 0's folder only.
  EXPECT_TRUE(WaitUntil([&] { return std::filesystem::exists(dir + "/ckpt/latest"); }, absl::Seconds(120)))
      << ReadFile(rank0_log);

  // Rank 1 dies without a word: rank 0 fails at its next allreduce, and
  // says which rank has gone.
  rank1->process->Signal(SIGKILL);
  std::optional<int> status = (*rank0)->WaitExit(absl::Seconds(90));
  ASSERT_TRUE(status.has_value()) << "rank 0 still runs 90 s after rank 1 died:\n" << ReadFile(rank0_log);
  EXPECT_FALSE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << ReadFile(rank0_log);
  EXPECT_NE(ReadFile(rank0_log).find("rank 1 has gone"), std::string::npos) << ReadFile(rank0_log);
}

TEST(LearnerRanksTest, ASynchronousRunIsRefusedWithMoreThanOneLearner) {
  const std::string config = ConfigWith("deploy/configs/cartpole_a3c.textpb", "a3c-ranks", "topology {",
                                        "topology {\n  num_learners: 2");
  ASSERT_FALSE(config.empty());
  const std::string log = TempDir("a3c-ranks") + "/learner.log";
  absl::StatusOr<std::unique_ptr<ChildProcess>> learner =
      ChildProcess::Start("a3c", RillBinary(), {"learner", "--config=" + config, "--replay_address=127.0.0.1:1"}, log);
  ASSERT_TRUE(learner.ok()) << learner.status();
  std::optional<int> status = (*learner)->WaitExit(absl::Seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << ReadFile(log);
  EXPECT_NE(ReadFile(log).find("topology.num_learners 2"), std::string::npos) << ReadFile(log);
}

}  // namespace
}  // namespace rill::testing
