// Real replay, learner, actor and evaluator processes on loopback: items flow
// from actors into replay, the learner trains on them, and the parameter
// versions it publishes reach the actors and the evaluator.
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

constexpr char kConfig[] = "--config=tests/configs/tiny_pendulum.textpb";

TEST(PipelineTest, ItemsFlowAndParameterVersionsReachTheActors) {
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", kConfig});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const std::string checkpoints = TempDir("pipeline-checkpoints");
  absl::StatusOr<RoleProcess> learner = StartRole(
      "learner", {"learner", kConfig, "--replay_address=" + replay->address(), "--checkpoint_dir=" + checkpoints});
  ASSERT_TRUE(learner.ok()) << learner.status();
  std::vector<RoleProcess> actors;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<RoleProcess> actor =
        StartRole("actor" + std::to_string(i), {"actor", kConfig, "--actor_id=" + std::to_string(i),
                                                "--replay_address=" + replay->address(),
                                                "--learner_address=" + learner->address()});
    ASSERT_TRUE(actor.ok()) << actor.status();
    actors.push_back(std::move(*actor));
  }
  absl::StatusOr<RoleProcess> evaluator = StartRole(
      "evaluator", {"actor", kConfig, "--eval", "--replay_address=" + replay->address(),
                    "--learner_address=" + learner->address()});
  ASSERT_TRUE(evaluator.ok()) << evaluator.status();

  EXPECT_TRUE(WaitUntil([&] { return SumMetric(replay->Metrics(), "rill_replay_items_inserted_total") >= 1000; },
                        absl::Seconds(60)))
      << "replay did not receive 1000 items";
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(learner->Metrics(), "rill_learner_updates_total") >= 100; },
                        absl::Seconds(60)))
      << "the learner did not make 100 updates";
  // Version 1 is the untrained policy; a higher version was trained on replay data.
  for (size_t i = 0; i < actors.size(); ++i) {
    EXPECT_TRUE(WaitUntil([&] { return SumMetric(actors[i].Metrics(), "rill_actor_parameter_version") > 50; },
                          absl::Seconds(60)))
        << "actor " << i << " did not receive a trained parameter version";
  }
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(evaluator->Metrics(), "rill_eval_rounds_total") >= 1; },
                        absl::Seconds(60)))
      << "the evaluator finished no round";
  EXPECT_GT(SumMetric(actors[0].Metrics(), "rill_actor_env_steps_total"), 0);
  EXPECT_GT(SumMetric(replay->Metrics(), "rill_replay_items_sampled_total"), 0);
  // Episode statistics: every Pendulum-v1 episode ends at its 200-step
  // time limit, in training and in evaluation.
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(actors[0].Metrics(), "rill_actor_episodes_total") >= 1; },
                        absl::Seconds(60)))
      << "actor 0 finished no episode";
  EXPECT_EQ(SumMetric(actors[0].Metrics(), "rill_actor_episode_length"), 200);
  EXPECT_LT(SumMetric(actors[0].Metrics(), "rill_actor_episode_return"), 0);  // Pendulum's costs
  EXPECT_EQ(SumMetric(evaluator->Metrics(), "rill_eval_episode_length_mean"), 200);

  // A graceful stop: every process exits 0, the learner leaves a checkpoint.
  for (RoleProcess* role : {&actors[0], &actors[1], &*evaluator, &*learner, &*replay}) {
    const int status = role->process->Stop(absl::Seconds(30));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << role->process->name() << ": " << ChildProcess::DescribeStatus(status) << "\n"
        << role->process->LogTail(10);
  }
  EXPECT_TRUE(std::filesystem::exists(checkpoints + "/latest"));
  EXPECT_TRUE(std::filesystem::exists(checkpoints + "/config.textpb"));
  // The actor's last summary of its finished episodes, and the evaluator's
  // rounds, are in their logs.
  EXPECT_THAT(actors[0].process->LogTail(5), ::testing::HasSubstr("length mean 200.0"));
  EXPECT_THAT(evaluator->process->LogTail(20), ::testing::ContainsRegex("mean return -?[0-9.]+ \\(min"));
}

TEST(PipelineTest, LearnerSendsPrioritiesBackToAPrioritizedTable) {
  constexpr char kPrioritized[] = "--config=tests/configs/tiny_pendulum_prioritized.textpb";
  absl::StatusOr<RoleProcess> replay = StartRole("replay-prio", {"replay", kPrioritized});
  ASSERT_TRUE(replay.ok()) << replay.status();
  absl::StatusOr<RoleProcess> learner =
      StartRole("learner-prio", {"learner", kPrioritized, "--replay_address=" + replay->address()});
  ASSERT_TRUE(learner.ok()) << learner.status();
  absl::StatusOr<RoleProcess> actor =
      StartRole("actor-prio", {"actor", kPrioritized, "--actor_id=0", "--replay_address=" + replay->address(),
                               "--learner_address=" + learner->address()});
  ASSERT_TRUE(actor.ok()) << actor.status();

  // Every update sends one UpdatePriorities call; the shard answers them all.
  const std::string served = "rill_replay_rpc_seconds_count{method=\"UpdatePriorities\"}";
  EXPECT_TRUE(WaitUntil(
      [&] {
        const MetricSamples metrics = replay->Metrics();
        return metrics.count(served) > 0 && metrics.at(served) >= 50;
      },
      absl::Seconds(60)))
      << "the shard did not receive 50 priority updates";
  EXPECT_TRUE(WaitUntil(
      [&] {
        const MetricSamples metrics = learner->Metrics();
        const std::string sent = "rill_learner_priority_updates{result=\"sent\"}";
        return metrics.count(sent) > 0 && metrics.at(sent) > 0;
      },
      absl::Seconds(30)))
      << "the learner reports no priority update sent";
  const MetricSamples metrics = learner->Metrics();
  EXPECT_EQ(metrics.at("rill_learner_priority_updates{result=\"failed\"}"), 0);
  for (RoleProcess* role : {&*actor, &*learner, &*replay}) {
    const int status = role->process->Stop(absl::Seconds(30));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << role->process->name() << ": " << ChildProcess::DescribeStatus(status) << "\n"
        << role->process->LogTail(10);
  }
}

TEST(PipelineTest, RestartedLearnerResumesFromItsCheckpoint) {
  absl::StatusOr<RoleProcess> replay = StartRole("replay2", {"replay", kConfig});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const std::string checkpoints = TempDir("resume-checkpoints");
  const std::vector<std::string> learner_args = {"learner", kConfig, "--replay_address=" + replay->address(),
                                                 "--checkpoint_dir=" + checkpoints};
  absl::StatusOr<RoleProcess> learner = StartRole("learner2", learner_args);
  ASSERT_TRUE(learner.ok()) << learner.status();
  absl::StatusOr<RoleProcess> actor = StartRole(
      "actor2", {"actor", kConfig, "--replay_address=" + replay->address(), "--learner_address=" + learner->address()});
  ASSERT_TRUE(actor.ok()) << actor.status();
  ASSERT_TRUE(WaitUntil([&] { return SumMetric(learner->Metrics(), "rill_learner_updates_total") >= 60; },
                        absl::Seconds(60)));
  const int status = learner->process->Stop(absl::Seconds(30));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << learner->process->LogTail(10);

  absl::StatusOr<RoleProcess> resumed = StartRole("learner2b", learner_args);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  // Its first published version carries on from the saved update count.
  double version = 0;
  ASSERT_TRUE(WaitUntil([&] { return (version = SumMetric(resumed->Metrics(), "rill_learner_parameter_version")) > 0; },
                        absl::Seconds(30)));
  EXPECT_GE(version, 61);
}

}  // namespace
}  // namespace rill::testing
