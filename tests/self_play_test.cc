// Self-play's opponent pool across processes: the learner keeps snapshots
// of its versions, an actor plays them on its envs' untrained seats
// (fetched with GetVersion), and a learner stopped with SIGTERM saves the
// pool with its final checkpoint, from which the next one serves the same
// snapshots while the actor goes on playing them. Between policies, each
// policy plays the others' snapshots and keeps a pool of its own.
#include <sys/wait.h>

#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/child_process.h"
#include "common/grpc_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/parameters.grpc.pb.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kConfig[] = "--config=tests/configs/tiny_pong_self_play.textpb";
constexpr char kSnapshotEpisodes[] = "rill_actor_self_play_episodes_total{opponent=\"snapshot\",role=\"actor\"}";

double Sample(const RoleProcess& role, const std::string& series) {
  const MetricSamples samples = role.Metrics();
  const auto found = samples.find(series);
  return found == samples.end() ? 0 : found->second;
}

absl::StatusOr<v1::ParameterUpdate> Call(const RoleProcess& learner, int64_t version) {
  auto stub = v1::ParameterService::NewStub(MakeChannel(learner.address(), 64 << 20));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  v1::ParameterUpdate update;
  grpc::Status status;
  if (version == 0) {
    status = stub->GetParameters(&context, v1::GetParametersRequest(), &update);
  } else {
    v1::GetVersionRequest request;
    request.set_version(version);
    status = stub->GetVersion(&context, request, &update);
  }
  if (!status.ok()) return absl::UnavailableError(status.error_message());
  return update;
}

TEST(SelfPlayTest, ActorsPlayPoolSnapshotsAndAResumedLearnerServesTheSamePool) {
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", kConfig});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const std::string checkpoints = TempDir("self-play-learner");
  const std::vector<std::string> learner_args = {"learner", kConfig, "--replay_address=" + replay->address(),
                                                 "--checkpoint_dir=" + checkpoints};
  absl::StatusOr<RoleProcess> learner = StartRole("learner", learner_args);
  ASSERT_TRUE(learner.ok()) << learner.status();
  absl::StatusOr<RoleProcess> actor =
      StartRole("actor", {"actor", kConfig, "--actor_id=0", "--replay_address=" + replay->address(),
                          "--learner_address=" + learner->address()});
  ASSERT_TRUE(actor.ok()) << actor.status();

  // Half the episodes meet a snapshot once the pool has one; the pool
  // grows by one every 2 updates, up to 3.
  auto pool_size = [&] {
    absl::StatusOr<v1::ParameterUpdate> latest = Call(*learner, 0);
    return latest.ok() ? latest->pool_versions_size() : 0;
  };
  ASSERT_TRUE(WaitUntil([&] { return Sample(*actor, kSnapshotEpisodes) >= 8 && pool_size() >= 2; },
                        absl::Seconds(120)))
      << actor->process->LogTail(20) << learner->process->LogTail(10);
  EXPECT_LE(pool_size(), 3) << "self_play.pool_size";

  learner->process->Signal(SIGTERM);
  const std::optional<int> status = learner->process->WaitExit(absl::Seconds(30));
  ASSERT_TRUE(status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << learner->process->LogTail(20);
  v1::ParameterPool saved;
  ASSERT_TRUE(saved.ParseFromString(ReadFile(checkpoints + "/latest/pool.pb"))) << "no pool beside the checkpoint";
  ASSERT_GE(saved.snapshots_size(), 2);
  std::vector<int64_t> versions;
  for (const v1::ParameterUpdate& snapshot : saved.snapshots()) versions.push_back(snapshot.version());

  const double snapshot_episodes = Sample(*actor, kSnapshotEpisodes);
  // Replay paused while the new learner starts and is asked: it can make
  // no update meanwhile, so its pool is still the saved one (a snapshot
  // every 2 updates would soon push the newest saved one out of a pool of
  // 3). A pause of seconds stays within the streams' keepalive.
  replay->process->Signal(SIGSTOP);
  absl::StatusOr<RoleProcess> second = StartRole("learner-2", learner_args, "", learner->grpc_port);
  if (!second.ok()) replay->process->Signal(SIGCONT);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(second->process->LogTail(1 << 20),
              HasSubstr(absl::StrCat("self-play: resumed the opponent pool of versions ", absl::StrJoin(versions, ", "))));
  // The newest saved snapshot is served as it was saved.
  const v1::ParameterUpdate& newest = saved.snapshots(saved.snapshots_size() - 1);
  absl::StatusOr<v1::ParameterUpdate> served = Call(*second, newest.version());
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(served->blob(), newest.blob());
  EXPECT_EQ(served->learner_updates(), newest.learner_updates());
  replay->process->Signal(SIGCONT);
  // The actor, still running, follows the new learner and plays its pool.
  EXPECT_TRUE(WaitUntil([&] { return Sample(*actor, kSnapshotEpisodes) >= snapshot_episodes + 8; },
                        absl::Seconds(120)))
      << actor->process->LogTail(20);
}

// Self-play between policies, as a user launches it: predator-prey's
// predators and prey each train in half the envs against the other's
// newest version or one of its pool snapshots, and each policy's learner
// keeps and saves a pool of its own, which a resumed run plays on.
TEST(SelfPlayTest, PoliciesEachPlayTheOthersSnapshotsAndKeepPoolsOfTheirOwn) {
  const std::string run_dir = TempDir("self-play-policies");
  absl::StatusOr<std::unique_ptr<ChildProcess>> launch = ChildProcess::Start(
      "launch", RillBinary(),
      {"launch", "--config=tests/configs/tiny_predator_prey_self_play.textpb", "--run_dir=" + run_dir,
       "--max_env_steps=60000", "--plot_python="},
      run_dir + "-launch.log");
  ASSERT_TRUE(launch.ok()) << launch.status();
  const std::optional<int> status = (*launch)->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*launch)->LogTail(30);

  // Some episodes met a snapshot, some the newest versions.
  const std::string actor = ReadFile(run_dir + "/final-metrics/actor-0.prom");
  for (const std::string opponent : {"snapshot", "newest"}) {
    const std::string series =
        absl::StrCat("rill_actor_self_play_episodes_total{opponent=\"", opponent, "\",role=\"actor\"} ");
    const size_t at = actor.find(series);
    ASSERT_NE(at, std::string::npos) << series << "\n" << actor;
    EXPECT_GT(std::stod(actor.substr(at + series.size())), 0) << series;
  }
  std::vector<std::string> pools;
  for (const std::string policy : {"predators", "prey"}) {
    SCOPED_TRACE(policy);
    v1::ParameterPool saved;
    ASSERT_TRUE(saved.ParseFromString(ReadFile(run_dir + "/checkpoints/learner/" + policy + "/latest/pool.pb")))
        << "no pool beside the policy's checkpoint";
    EXPECT_GE(saved.snapshots_size(), 1);
    EXPECT_LE(saved.snapshots_size(), 3) << "self_play.pool_size";
    std::vector<int64_t> versions;
    for (const v1::ParameterUpdate& snapshot : saved.snapshots()) versions.push_back(snapshot.version());
    pools.push_back(absl::StrJoin(versions, ", "));
  }
  // The evaluator plays both policies' newest and reports each.
  const std::string evaluations = ReadFile(run_dir + "/metrics/evaluator.jsonl");
  EXPECT_THAT(evaluations, HasSubstr("\"policy/predators/return\""));
  EXPECT_THAT(evaluations, HasSubstr("\"policy/prey/return\""));

  // Resumed, each policy's learner plays on against the pool it saved.
  absl::StatusOr<std::unique_ptr<ChildProcess>> resumed = ChildProcess::Start(
      "resume", RillBinary(), {"launch", "--resume=" + run_dir, "--max_env_steps=90000", "--plot_python="},
      run_dir + "-resume.log");
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  const std::optional<int> resumed_status = (*resumed)->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(resumed_status.has_value() && WIFEXITED(*resumed_status) && WEXITSTATUS(*resumed_status) == 0)
      << (*resumed)->LogTail(30);
  const std::string learner_log = ReadFile(run_dir + "/logs/learner.log");
  for (const std::string& pool : pools) {
    EXPECT_THAT(learner_log, HasSubstr("self-play: resumed the opponent pool of versions " + pool)) << learner_log;
  }
}

}  // namespace
}  // namespace rill::testing
