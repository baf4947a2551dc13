// What a Kubernetes pod stop does to each role, with real processes: SIGTERM
// turns health NOT_SERVING first, then the role drains, writes its final
// checkpoint (replay, learner) or flushes its writes (actor) and exits 0;
// the next start resumes from exactly where the stopped one left off, and
// the other roles reconnect to it.
#include <fstream>
#include <regex>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

constexpr char kConfig[] = "--config=tests/configs/tiny_pendulum.textpb";
constexpr absl::Duration kGrace = absl::Seconds(30);  // the manifests' terminationGracePeriodSeconds

std::string FullLog(const RoleProcess& role) { return role.process->LogTail(1 << 20); }

// SIGTERM, and the role must exit 0 on its own within the grace period.
void Terminate(RoleProcess& role) {
  role.process->Signal(SIGTERM);
  const std::optional<int> status = role.process->WaitExit(kGrace);
  ASSERT_TRUE(status.has_value()) << role.process->name() << " still runs " << kGrace << " after SIGTERM";
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << role.process->name() << ": " << ChildProcess::DescribeStatus(*status) << "\n"
      << role.process->LogTail(20);
}

// `first` occurs in `log`, and before `second`.
void ExpectInOrder(const std::string& log, const std::string& first, const std::string& second) {
  const size_t a = log.find(first);
  const size_t b = log.find(second);
  ASSERT_NE(a, std::string::npos) << "no '" << first << "' in\n" << log;
  ASSERT_NE(b, std::string::npos) << "no '" << second << "' in\n" << log;
  EXPECT_LT(a, b) << "'" << first << "' must come before '" << second << "'";
}

int64_t Captured(const std::string& text, const std::string& pattern) {
  std::smatch match;
  if (!std::regex_search(text, match, std::regex(pattern))) {
    ADD_FAILURE() << "no match for /" << pattern << "/ in\n" << text;
    return -1;
  }
  return std::stoll(match[1].str());
}

RoleProcess StartActor(const RoleProcess& replay, const RoleProcess& learner, const std::string& config = kConfig) {
  absl::StatusOr<RoleProcess> actor = StartRole(
      "actor", {"actor", config, "--actor_id=0", "--replay_address=" + replay.address(),
                "--learner_address=" + learner.address()});
  EXPECT_TRUE(actor.ok()) << actor.status();
  return actor.ok() ? std::move(*actor) : RoleProcess();
}

TEST(LifecycleTest, SigtermedLearnerCheckpointsWhereItStoppedAndTheNextOneResumesThere) {
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", kConfig});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const std::string checkpoints = TempDir("learner-sigterm");
  const std::vector<std::string> learner_args = {"learner", kConfig, "--replay_address=" + replay->address(),
                                                 "--checkpoint_dir=" + checkpoints};
  absl::StatusOr<RoleProcess> learner = StartRole("learner", learner_args);
  ASSERT_TRUE(learner.ok()) << learner.status();
  RoleProcess actor = StartActor(*replay, *learner);
  ASSERT_NE(actor.process, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return SumMetric(learner->Metrics(), "rill_learner_updates_total") >= 100; },
                        absl::Seconds(90)))
      << learner->process->LogTail(20);

  Terminate(*learner);
  const std::string log = FullLog(*learner);
  ExpectInOrder(log, "health: NOT_SERVING", "learner stops after");
  const int64_t stopped_at = Captured(log, "learner stops after ([0-9]+) updates");
  const double actor_version = SumMetric(actor.Metrics(), "rill_actor_parameter_version");

  // The periodic checkpoint comes every 500 updates: what the next learner
  // resumes from is the final one, at the very update the first stopped.
  absl::StatusOr<RoleProcess> second =
      StartRole("learner-2", learner_args, "", learner->grpc_port);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Captured(FullLog(*second), "resumed from .* at update ([0-9]+)"), stopped_at);
  // The actor, still running, reconnects to it and takes its newer versions.
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(actor.Metrics(), "rill_actor_parameter_version") > actor_version + 5; },
                        absl::Seconds(60)))
      << "the actor did not follow the restarted learner\n" << actor.process->LogTail(10);
}

// A synchronous PPO run (each actor waits for the version its unrolls
// make): a learner stopped while holding a prefetched batch takes those
// unrolls with it, and the one that resumes waits for new ones. The actor
// waits at most 30 s for the version, then acts on, so both go on.
TEST(LifecycleTest, SynchronousActorGoesOnAcrossALearnerRestart) {
  const std::string path = TempDir("synchronous-config") + "/config.textpb";
  std::ofstream(path) << R"(name: "tiny_cartpole_synchronous"
env { name: "CartPole-v1" }
network { hidden_sizes: 16 }
replay { tables { name: "unrolls" selector { fifo {} } max_size: 16
  rate_limiter { min_size_to_sample: 4 samples_per_insert: 1 error_buffer: 8 } } }
actor { num_envs: 4 insert_batch_items: 4 max_in_flight_batches: 1 }
learner { ppo { unroll_length: 16 epochs: 1 num_minibatches: 1 synchronous: true }
  batch_size: 4 publish_every: 1 prefetch_batches: 1 num_threads: 1 max_policy_lag: 0 }
seed: 7
)";
  const std::string config = "--config=" + path;
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", config});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const std::string checkpoints = TempDir("synchronous-learner");
  const std::vector<std::string> learner_args = {"learner", config, "--replay_address=" + replay->address(),
                                                 "--checkpoint_dir=" + checkpoints};
  absl::StatusOr<RoleProcess> learner = StartRole("learner", learner_args);
  ASSERT_TRUE(learner.ok()) << learner.status();
  RoleProcess actor = StartActor(*replay, *learner, config);
  ASSERT_NE(actor.process, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return SumMetric(learner->Metrics(), "rill_learner_updates_total") >= 20; },
                        absl::Seconds(60)))
      << learner->process->LogTail(20);
  Terminate(*learner);
  const int64_t stopped_at = Captured(FullLog(*learner), "learner stops after ([0-9]+) updates");

  absl::StatusOr<RoleProcess> second = StartRole("learner-2", learner_args, "", learner->grpc_port);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(second->Metrics(), "rill_learner_updates_total") >= stopped_at + 10; },
                        absl::Seconds(90)))
      << "the resumed learner trained no more\n" << second->process->LogTail(10) << actor.process->LogTail(10);
}

TEST(LifecycleTest, SigtermedActorFlushesEveryStepItTookIntoReplay) {
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", kConfig});
  ASSERT_TRUE(replay.ok()) << replay.status();
  absl::StatusOr<RoleProcess> learner =
      StartRole("learner", {"learner", kConfig, "--replay_address=" + replay->address()});
  ASSERT_TRUE(learner.ok()) << learner.status();
  RoleProcess actor = StartActor(*replay, *learner);
  ASSERT_NE(actor.process, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return SumMetric(replay->Metrics(), "rill_replay_items_inserted_total") >= 500; },
                        absl::Seconds(60)));

  Terminate(actor);
  const std::string log = FullLog(actor);
  const int64_t steps = Captured(log, "stops after ([0-9]+) env steps");
  const int64_t acked = Captured(log, "env steps \\(([0-9]+) items acknowledged by replay\\)");
  // One transition per env step (n_step 1), partial ones flushed at the stop.
  EXPECT_EQ(acked, steps);
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(replay->Metrics(), "rill_replay_items_inserted_total") == acked; },
                        absl::Seconds(10)))
      << "replay holds " << SumMetric(replay->Metrics(), "rill_replay_items_inserted_total") << " items, the actor had "
      << acked << " acknowledged";
}

// tiny_pendulum with a durable replay table (a checkpoint only when the
// shard stops: the interval is an hour).
std::string DurableConfig(const std::string& dir) {
  const std::string path = TempDir("durable-config") + "/config.textpb";
  std::ofstream(path) << absl::StrCat(R"(name: "tiny_pendulum_durable"
env { name: "Pendulum-v1" }
network { hidden_sizes: 32 hidden_sizes: 32 }
replay {
  tables {
    name: "transitions"
    max_size: 100000
    rate_limiter { min_size_to_sample: 200 samples_per_insert: 32 error_buffer: 3200 }
  }
  durability { mode: CHECKPOINT dir: ")", dir, R"(" checkpoint_interval_seconds: 3600 }
}
actor { num_envs: 2 learning_starts: 200 insert_batch_items: 16 max_in_flight_batches: 4 }
learner { sac { } batch_size: 32 publish_every: 5 prefetch_batches: 2 num_threads: 1 }
seed: 7
)");
  return "--config=" + path;
}

TEST(LifecycleTest, SigtermedReplayShardKeepsEveryAcknowledgedItemAcrossItsRestartUnderALiveActor) {
  const std::string config = DurableConfig(TempDir("replay-sigterm"));
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", config});
  ASSERT_TRUE(replay.ok()) << replay.status();
  absl::StatusOr<RoleProcess> learner =
      StartRole("learner", {"learner", config, "--replay_address=" + replay->address()});
  ASSERT_TRUE(learner.ok()) << learner.status();
  RoleProcess actor = StartActor(*replay, *learner, config);
  ASSERT_NE(actor.process, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return SumMetric(replay->Metrics(), "rill_replay_items_inserted_total") >= 500; },
                        absl::Seconds(60)));

  Terminate(*replay);
  const std::string log = FullLog(*replay);
  ExpectInOrder(log, "health: NOT_SERVING", "final checkpoint");
  const int64_t checkpointed = Captured(log, "final checkpoint '.*': ([0-9]+) items");
  EXPECT_GE(checkpointed, 500);

  absl::StatusOr<RoleProcess> second = StartRole("replay-2", {"replay", config}, "", replay->grpc_port);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Captured(FullLog(*second), "restored checkpoint '.*': ([0-9]+) items"), checkpointed);
  // The actor, still running, resends what the first shard had not
  // acknowledged and writes on; the learner samples the restarted shard.
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(second->Metrics(), "rill_replay_items_inserted_total") >= 200; },
                        absl::Seconds(60)))
      << actor.process->LogTail(10);
  const double updates = SumMetric(learner->Metrics(), "rill_learner_updates_total");
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(learner->Metrics(), "rill_learner_updates_total") > updates + 20; },
                        absl::Seconds(60)))
      << learner->process->LogTail(10);

  // Every item the actor had acknowledged is in the restarted shard, once.
  Terminate(actor);
  const int64_t acked = Captured(FullLog(actor), "env steps \\(([0-9]+) items acknowledged by replay\\)");
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(second->Metrics(), "rill_replay_table_size") == acked; },
                        absl::Seconds(10)))
      << "the restarted shard holds " << SumMetric(second->Metrics(), "rill_replay_table_size") << " items, the actor had "
      << acked << " acknowledged";
}

}  // namespace
}  // namespace rill::testing
