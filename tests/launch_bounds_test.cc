// `rill launch` with configs that used to crash or hang a run (issue 31):
// each is refused at start-up, promptly, with exit code 2 and a message
// naming the config field, before any process is started. And a child
// that fails the same way twice right after starting is not restarted into
// the same failure again: the run stops with its message.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/config.pb.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTinyConfig[] = "tests/configs/tiny_pendulum.textpb";

// tests/configs/tiny_pendulum.textpb with `change` merged in (after
// clearing network.hidden_sizes when `clear_hidden_sizes`), written to a
// fresh folder.
std::string WriteChangedConfig(const std::string& name, const std::string& change, bool clear_hidden_sizes = false) {
  v1::ExperimentConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(ReadFile(kTinyConfig), &config));
  if (clear_hidden_sizes) config.mutable_network()->clear_hidden_sizes();
  EXPECT_TRUE(google::protobuf::TextFormat::MergeFromString(change, &config)) << change;
  std::string text;
  EXPECT_TRUE(google::protobuf::TextFormat::PrintToString(config, &text));
  const std::string path = TempDir("config-" + name) + "/config.textpb";
  std::ofstream(path) << text;
  return path;
}

// The live (not zombie) processes whose command line holds every one of
// `needles`.
std::vector<pid_t> LivePidsWith(const std::vector<std::string>& needles) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadFile(entry.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    cmdline += ' ';
    const bool all = std::all_of(needles.begin(), needles.end(),
                                 [&](const std::string& needle) { return cmdline.find(needle) != std::string::npos; });
    if (all && ReadFile(entry.path().string() + "/stat").find(") Z ") == std::string::npos) {
      pids.push_back(std::stoi(pid));
    }
  }
  return pids;
}

struct Exit {
  bool exited = false;  // within the timeout
  int status = 0;
  std::string log;
  std::string run_dir;
};

// Runs `rill launch` with a short step budget and waits for it to end.
Exit RunLaunch(const std::string& name, const std::vector<std::string>& extra, absl::Duration timeout) {
  Exit result;
  result.run_dir = TempDir("run-" + name);
  const std::string log = result.run_dir + "-launch.log";
  std::vector<std::string> args = {"launch", "--run_dir=" + result.run_dir, "--max_env_steps=2000",
                                   "--progress_every=1s", "--plot_python="};
  args.insert(args.end(), extra.begin(), extra.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> launch = ChildProcess::Start(name, RillBinary(), args, log);
  EXPECT_TRUE(launch.ok()) << launch.status();
  if (!launch.ok()) return result;
  std::optional<int> status = (*launch)->WaitExit(timeout);
  result.exited = status.has_value();
  if (status.has_value()) result.status = *status;
  result.log = ReadFile(log);
  return result;
}

TEST(LaunchBoundsTest, ConfigsThatCrashedOrHungARunAreRefusedAtStartUpNamingTheField) {
  struct Case {
    const char* name;
    const char* change;
    bool clear_hidden_sizes;
    const char* field;
  };
  const Case cases[] = {
      // The evaluator and the learner aborted with std::bad_alloc.
      {"episodes", "eval { episodes: 2147483647 }", false, "config field eval.episodes"},
      {"prefetch", "learner { prefetch_batches: 2147483647 }", false, "config field learner.prefetch_batches"},
      // Hung: no insert was ever acknowledged.
      {"group-commit", "replay { durability { mode: WAL dir: \"wal\" group_commit_micros: 2147483647 } }", false,
       "config field replay.durability.group_commit_micros"},
      // Hung starting actors, one after another.
      {"actors", "topology { num_actors: 100000 }", false, "config field topology.num_actors"},
      // Failed without naming the field.
      {"batch", "learner { batch_size: 2147483647 }", false, "config field learner.batch_size"},
      {"message", "replay { max_message_bytes: 1 }", false, "config field replay.max_message_bytes"},
      {"widths", "network { hidden_sizes: [65536, 65536] }", true, "config field network.hidden_sizes"},
      {"threads", "learner { num_threads: 2147483647 }", false, "config field learner.num_threads"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.change);
    const absl::Time start = absl::Now();
    const Exit exit = RunLaunch(c.name, {"--config=" + WriteChangedConfig(c.name, c.change, c.clear_hidden_sizes)},
                                absl::Seconds(60));
    ASSERT_TRUE(exit.exited) << "launch did not end within 60 s:\n" << exit.log;
    EXPECT_LT(absl::Now() - start, absl::Seconds(30)) << "refused, but not promptly";
    EXPECT_TRUE(WIFEXITED(exit.status) && WEXITSTATUS(exit.status) == 2)
        << ChildProcess::DescribeStatus(exit.status) << "\n" << exit.log;
    EXPECT_THAT(exit.log, HasSubstr(c.field));
    // Refused before any process was started.
    EXPECT_FALSE(std::filesystem::exists(exit.run_dir + "/logs/replay.log")) << exit.log;
  }
}

TEST(LaunchBoundsTest, NumActorsFlagBeyondWhatThisMachineHoldsIsRefusedNamingTheField) {
  const Exit exit =
      RunLaunch("actors-flag", {std::string("--config=") + kTinyConfig, "--num_actors=100000"}, absl::Seconds(60));
  ASSERT_TRUE(exit.exited) << "launch did not end within 60 s:\n" << exit.log;
  EXPECT_TRUE(WIFEXITED(exit.status) && WEXITSTATUS(exit.status) == 2)
      << ChildProcess::DescribeStatus(exit.status) << "\n" << exit.log;
  EXPECT_THAT(exit.log, HasSubstr("config field topology.num_actors: "));
  EXPECT_THAT(exit.log, HasSubstr("100000 actors and the evaluator"));
  EXPECT_THAT(exit.log, HasSubstr("this machine"));
  EXPECT_FALSE(std::filesystem::exists(exit.run_dir + "/logs/replay.log")) << exit.log;
}

// Times `needle` occurs in `text`.
int Count(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

// The launcher restarts a learner that ended; one that ends right after
// starting, twice the same way, it stops restarting: the run ends with the
// learner's status and log instead of restarting it until
// --max_learner_restarts (5) are spent.
TEST(LaunchBoundsTest, ChildThatFailsTheSameWayTwiceRightAfterStartingIsNotRestartedAgain) {
  const std::string run_dir = TempDir("run-start-up");
  const std::string log = run_dir + "-launch.log";
  absl::StatusOr<std::unique_ptr<ChildProcess>> launch = ChildProcess::Start(
      "start-up", RillBinary(),
      {"launch", std::string("--config=") + kTinyConfig, "--run_dir=" + run_dir, "--max_env_steps=0",
       "--progress_every=1s", "--plot_python="},
      log);
  ASSERT_TRUE(launch.ok()) << launch.status();
  const std::string learner_log = run_dir + "/logs/learner.log";
  const std::string ready_line = "parameter service on port";
  // Kill each incarnation of the learner a second after it is ready (the
  // launcher has checked its health by then), until the launcher gives up.
  // The first kill may land after the start-up window (the launcher starts
  // the actors and the evaluator first); at most 4 kills stay below the 5
  // restarts allowed.
  std::optional<int> status;
  for (int kills = 0; kills < 4 && !status.has_value(); ++kills) {
    ASSERT_TRUE(WaitUntil([&] { return Count(ReadFile(learner_log), ready_line) > kills; }, absl::Seconds(120)))
        << ReadFile(log);
    absl::SleepFor(absl::Seconds(1));
    std::vector<pid_t> learners = LivePidsWith({"--checkpoint_dir=" + run_dir + "/checkpoints/learner"});
    ASSERT_EQ(learners.size(), 1u) << ReadFile(log);
    ASSERT_EQ(kill(learners[0], SIGKILL), 0);
    // Restarted (the launcher says so), or the run ended.
    ASSERT_TRUE(WaitUntil(
        [&] {
          status = (*launch)->Poll();
          // (The printed line, not the log line that also says it.)
          return status.has_value() || Count(ReadFile(log), "; restarting it on port") > kills;
        },
        absl::Seconds(60)))
        << ReadFile(log);
  }
  if (!status.has_value()) status = (*launch)->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(status.has_value()) << "launch did not end:\n" << ReadFile(log);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << ChildProcess::DescribeStatus(*status);
  const std::string text = ReadFile(log);
  EXPECT_THAT(text, HasSubstr("learner failed the same way twice right after starting (killed by signal 9"));
  EXPECT_THAT(text, Not(HasSubstr("ended 6 times")));
}

// A role that runs out of restarts ends the run with a message naming the
// flag that allows more: with --max_actor_restarts=0, the first time an
// actor is killed.
TEST(LaunchBoundsTest, RunOutOfRestartsNamesTheFlagThatAllowsMore) {
  const std::string run_dir = TempDir("run-out-of-restarts");
  const std::string log = run_dir + "-launch.log";
  absl::StatusOr<std::unique_ptr<ChildProcess>> launch = ChildProcess::Start(
      "out-of-restarts", RillBinary(),
      {"launch", std::string("--config=") + kTinyConfig, "--run_dir=" + run_dir, "--max_env_steps=100000000",
       "--progress_every=1s", "--plot_python=", "--max_actor_restarts=0"},
      log);
  ASSERT_TRUE(launch.ok()) << launch.status();
  // Actor 0 has stepped its env (the progress line counts its steps) well
  // after its start: its end is no start-up failure.
  ASSERT_TRUE(WaitUntil([&] { return Count(ReadFile(log), "env steps") >= 3; }, absl::Seconds(120))) << ReadFile(log);
  std::vector<pid_t> actors = LivePidsWith({"--run_dir=" + run_dir, "--actor_id=0 "});
  if (actors.empty()) actors = LivePidsWith({run_dir, "--actor_id=0 "});
  std::vector<pid_t> evaluators = LivePidsWith({run_dir, "--actor_id=0 ", "--eval"});
  for (pid_t evaluator : evaluators) actors.erase(std::remove(actors.begin(), actors.end(), evaluator), actors.end());
  ASSERT_EQ(actors.size(), 1u) << ReadFile(log);
  ASSERT_EQ(kill(actors[0], SIGKILL), 0);
  const std::optional<int> status = (*launch)->WaitExit(absl::Seconds(90));
  ASSERT_TRUE(status.has_value()) << "launch did not end:\n" << ReadFile(log);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << ChildProcess::DescribeStatus(*status);
  EXPECT_THAT(ReadFile(log), HasSubstr("actor/0 crashed 1 times (--max_actor_restarts=0); last: killed by signal 9"));
}

}  // namespace
}  // namespace rill::testing
