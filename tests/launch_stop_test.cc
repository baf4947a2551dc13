// How `rill launch` stops and what it reports at the end (issue 31): SIGTERM
// while it starts stops the start-up and everything started; a running
// launch stops its processes together, promptly; a child that refuses its
// config ends the launch with exit code 2 and the child's words; and the
// summary's counters are the processes' own final counts, restarts of
// `rill inference` processes included.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kTinyConfig[] = "tests/configs/tiny_pendulum.textpb";

// A string field of the flat summary JSON (without escapes); "" if absent.
std::string JsonString(const std::string& json, const std::string& key) {
  std::smatch match;
  if (!std::regex_search(json, match, std::regex("\"" + key + "\": \"([^\"]*)\""))) return "";
  return match[1].str();
}

// The first number `pattern`'s group captures in the file at `path`; -1 if
// it does not match.
double NumberIn(const std::string& path, const std::string& pattern) {
  const std::string text = ReadFile(path);
  std::smatch match;
  if (!std::regex_search(text, match, std::regex(pattern))) return -1;
  return std::stod(match[1].str());
}

// Pids of live processes whose command line mentions `needle`.
std::vector<pid_t> ProcessesMentioning(const std::string& needle) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadFile(entry.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    const bool zombie = ReadFile(entry.path().string() + "/stat").find(") Z ") != std::string::npos;
    if (!zombie && cmdline.find(needle) != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

// tests/configs/tiny_pendulum.textpb with `from` replaced by `to`, in a
// fresh folder.
std::string TinyConfigWith(const std::string& name, const std::string& from, const std::string& to) {
  const std::string path = ConfigWith(kTinyConfig, name, from, to);
  EXPECT_FALSE(path.empty()) << from;
  return path;
}

struct Launched {
  std::unique_ptr<ChildProcess> process;
  std::string run_dir;
  std::string log;
  std::string summary;
  // Every process the launcher started has the run folder in its command
  // line (its --config); the launcher too (--run_dir).
  std::vector<pid_t> Processes() const { return ProcessesMentioning(run_dir + "/"); }
  bool LogHas(const std::string& text) const { return ReadFile(log).find(text) != std::string::npos; }
};

Launched StartLaunch(const std::string& name, const std::string& config, const std::vector<std::string>& extra) {
  Launched launched;
  launched.run_dir = TempDir("run-" + name);
  launched.log = launched.run_dir + "-launch.log";
  launched.summary = launched.run_dir + "/summary.json";
  std::vector<std::string> args = {"launch",         "--config=" + config, "--run_dir=" + launched.run_dir,
                                   "--summary_json=" + launched.summary, "--progress_every=1s", "--plot_python="};
  args.insert(args.end(), extra.begin(), extra.end());
  auto child = ChildProcess::Start(name, RillBinary(), args, launched.log);
  EXPECT_TRUE(child.ok()) << child.status();
  if (child.ok()) launched.process = std::move(*child);
  return launched;
}

// Sends `signal` (SIGTERM, or SIGINT as Ctrl-C does) and waits for the
// launcher to end; how long it took, or nullopt if it did not end within
// `timeout`.
std::optional<absl::Duration> TerminateAndTime(Launched& run, int* status, absl::Duration timeout,
                                               int signal = SIGTERM) {
  const absl::Time signalled = absl::Now();
  run.process->Signal(signal);
  std::optional<int> ended = run.process->WaitExit(timeout);
  if (!ended.has_value()) return std::nullopt;
  *status = *ended;
  const absl::Duration took = absl::Now() - signalled;
  std::printf("%s: launch ended %.2f s after %s\n", run.process->name().c_str(), absl::ToDoubleSeconds(took),
              signal == SIGINT ? "SIGINT (Ctrl-C)" : "SIGTERM");
  return took;
}

bool ExitedWith(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

// Before the fix the launcher went on starting the other 28 actors and the
// evaluator for 32 s, then killed actor 0 after its grace: 63 s in all.
TEST(LaunchStopTest, SigtermWhileStartingThirtyActorsEndsEveryProcessWithinTenSeconds) {
  Launched run = StartLaunch("start-up", kTinyConfig, {"--num_actors=30", "--max_env_steps=0"});
  ASSERT_NE(run.process, nullptr);
  // Two actors are up and the third is starting.
  ASSERT_TRUE(WaitUntil([&] { return run.LogHas("starting actor/2"); }, absl::Seconds(120))) << ReadFile(run.log);
  EXPECT_GE(run.Processes().size(), 5u);  // launcher, replay, learner, 2 actors (and the one starting)
  int status = 0;
  const std::optional<absl::Duration> took = TerminateAndTime(run, &status, absl::Seconds(60));
  ASSERT_TRUE(took.has_value()) << "launch still runs 60 s after SIGTERM:\n" << ReadFile(run.log);
  EXPECT_LT(*took, absl::Seconds(10)) << ReadFile(run.log);
  EXPECT_TRUE(ExitedWith(status, 0)) << ChildProcess::DescribeStatus(status) << "\n" << ReadFile(run.log);
  EXPECT_THAT(run.Processes(), IsEmpty());
  // It stopped starting: the last actor never started (the evaluator
  // starts before the actors, and was stopped with the rest).
  EXPECT_FALSE(std::filesystem::exists(run.run_dir + "/logs/actor-29.log"));
  EXPECT_TRUE(run.LogHas("interrupted while starting")) << ReadFile(run.log);
  const std::string summary = ReadFile(run.summary);
  EXPECT_EQ(JsonString(summary, "final_eval"), "skipped: interrupted") << summary;
  EXPECT_THAT(summary, HasSubstr("\"killed_at_stop\": []"));
}

// Before the fix 8 actors stopped one after another, each draining its
// rate-limited writes while the others went on writing: 34 s. Ctrl-C
// (SIGINT) stops the run as SIGTERM does.
TEST(LaunchStopTest, RunningLaunchWithEightActorsStopsWithinFiveSecondsOfCtrlC) {
  Launched run = StartLaunch("eight", kTinyConfig, {"--num_actors=8", "--max_env_steps=0"});
  ASSERT_NE(run.process, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return run.LogHas("all processes ready"); }, absl::Seconds(120))) << ReadFile(run.log);
  // The learner trains, so the rate limiter holds the actors' writes back,
  // as in a real run.
  const std::regex training("updates [1-9][0-9,]* \\(");
  ASSERT_TRUE(WaitUntil([&] { return std::regex_search(ReadFile(run.log), training); }, absl::Seconds(60)))
      << ReadFile(run.log);
  EXPECT_EQ(run.Processes().size(), 12u);  // launcher, replay, learner, 8 actors, evaluator
  int status = 0;
  const std::optional<absl::Duration> took = TerminateAndTime(run, &status, absl::Seconds(60), SIGINT);
  ASSERT_TRUE(took.has_value()) << "launch still runs 60 s after SIGINT:\n" << ReadFile(run.log);
  EXPECT_LT(*took, absl::Seconds(5)) << ReadFile(run.log);
  EXPECT_TRUE(run.LogHas("interrupted; stopping all processes")) << ReadFile(run.log);
  EXPECT_TRUE(ExitedWith(status, 0)) << ChildProcess::DescribeStatus(status) << "\n" << ReadFile(run.log);
  EXPECT_THAT(run.Processes(), IsEmpty());
  const std::string summary = ReadFile(run.summary);
  // Each stopped on its own (none was killed at the deadline), and with
  // every write it had made acknowledged.
  EXPECT_THAT(summary, HasSubstr("\"killed_at_stop\": []")) << summary;
  EXPECT_EQ(JsonString(summary, "final_eval"), "skipped: interrupted") << summary;
  EXPECT_EQ(JsonNumber(summary, "num_actors"), 8) << summary;
  EXPECT_GT(JsonNumber(summary, "learner_updates"), 0) << summary;
  EXPECT_EQ(JsonNumber(summary, "learner_updates"),
            NumberIn(run.run_dir + "/logs/learner.log", "learner stops after ([0-9]+) updates"))
      << summary;
}

// Eight actors whose inserts wait for samples (each item needs 256 updates
// of the learner, so their last batches would take minutes to be admitted):
// the stop first tells replay to admit every insert, so each actor stores
// its last batches, writes its final metrics and ends on its own.
TEST(LaunchStopTest, ActorsHeldBackByTheRateLimiterFlushTheirLastBatchesAtTheStop) {
  const std::string config = TinyConfigWith("held-back", "samples_per_insert: 32 error_buffer: 3200",
                                            "samples_per_insert: 8192 error_buffer: 16384");
  ASSERT_FALSE(config.empty());
  Launched run = StartLaunch("held-back", config, {"--num_actors=8", "--max_env_steps=0"});
  ASSERT_NE(run.process, nullptr);
  const std::regex training("updates [1-9][0-9,]* \\(");
  ASSERT_TRUE(WaitUntil([&] { return std::regex_search(ReadFile(run.log), training) || !run.process->running(); },
                        absl::Seconds(120)));
  ASSERT_TRUE(run.process->running()) << ReadFile(run.log);
  // Held back: replay says so once an insert has waited a while.
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(run.run_dir + "/logs/replay.log").find("insert blocked") !=
                                     std::string::npos; },
                        absl::Seconds(60)))
      << ReadFile(run.run_dir + "/logs/replay.log");
  int status = 0;
  const std::optional<absl::Duration> took = TerminateAndTime(run, &status, absl::Seconds(60), SIGINT);
  ASSERT_TRUE(took.has_value()) << "launch still runs 60 s after SIGINT:\n" << ReadFile(run.log);
  EXPECT_LT(*took, absl::Seconds(5)) << ReadFile(run.log);
  EXPECT_TRUE(ExitedWith(status, 0)) << ChildProcess::DescribeStatus(status) << "\n" << ReadFile(run.log);
  EXPECT_THAT(ReadFile(run.run_dir + "/logs/replay.log"),
              HasSubstr("the run is stopping: every insert is admitted from now on, past the rate limiter (inserts "
                        "were waiting for samples in transitions)"));
  const std::string summary = ReadFile(run.summary);
  EXPECT_THAT(summary, HasSubstr("\"killed_at_stop\": []")) << summary;
  EXPECT_FALSE(run.LogHas("no final metrics from")) << ReadFile(run.log);
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(std::filesystem::exists(absl::StrCat(run.run_dir, "/final-metrics/actor-", i, ".prom"))) << i;
  }
  EXPECT_THAT(run.Processes(), IsEmpty());
}

// The learner refuses max_policy_lag without a policy_version column to
// measure it by; the launcher's own checks let it through.
TEST(LaunchStopTest, ChildThatRefusesItsConfigEndsTheLaunchWithExitCodeTwoAndItsMessage) {
  const std::string config = TinyConfigWith("refused", "learner { sac { }", "learner { sac { } max_policy_lag: 3");
  Launched run = StartLaunch("refused", config, {"--max_env_steps=1000"});
  ASSERT_NE(run.process, nullptr);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(status.has_value()) << "launch did not end:\n" << ReadFile(run.log);
  EXPECT_TRUE(ExitedWith(*status, 2)) << ChildProcess::DescribeStatus(*status) << "\n" << ReadFile(run.log);
  const std::string log = ReadFile(run.log);
  EXPECT_THAT(log, HasSubstr("learner refused its flags or config (exit code 2)"));
  EXPECT_THAT(log, HasSubstr("learner.max_policy_lag is set"));  // the learner's own words
  EXPECT_THAT(run.Processes(), IsEmpty());
}

// Before the fix the summary's counters were the last scrape during the run:
// 2,308 updates against the learner's own 2,756 at its stop.
TEST(LaunchStopTest, SummaryAtTheEndHoldsTheLearnersAndReplaysOwnFinalCounts) {
  Launched run = StartLaunch("final-counts", kTinyConfig, {"--max_env_steps=2000"});
  ASSERT_NE(run.process, nullptr);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << ReadFile(run.log);
  ASSERT_TRUE(ExitedWith(*status, 0)) << ChildProcess::DescribeStatus(*status) << "\n" << ReadFile(run.log);
  const std::string summary = ReadFile(run.summary);
  const std::string logs = run.run_dir + "/logs/";
  const double updates = NumberIn(logs + "learner.log", "learner stops after ([0-9]+) updates");
  ASSERT_GT(updates, 0) << ReadFile(logs + "learner.log");
  EXPECT_EQ(JsonNumber(summary, "learner_updates"), updates) << summary;
  const double inserted = NumberIn(logs + "replay.log", "table transitions: [0-9]+ items held, ([0-9]+) inserted");
  ASSERT_GT(inserted, 0) << ReadFile(logs + "replay.log");
  EXPECT_EQ(JsonNumber(summary, "replay_items_inserted"), inserted) << summary;
  // Every step the actors took was written and acknowledged.
  double steps = 0, acknowledged = 0;
  for (const char* actor : {"actor-0.log", "actor-1.log"}) {
    steps += NumberIn(logs + actor, "stops after ([0-9]+) env steps");
    acknowledged += NumberIn(logs + actor, "env steps \\(([0-9]+) items acknowledged");
  }
  EXPECT_EQ(JsonNumber(summary, "env_steps"), 2000) << summary;
  EXPECT_EQ(steps, 2000);
  EXPECT_EQ(acknowledged, inserted);
  EXPECT_EQ(JsonString(summary, "final_eval"), "done") << summary;
  EXPECT_THAT(run.Processes(), IsEmpty());
}

TEST(LaunchStopTest, KilledInferenceServerIsCountedInTheProgressLineAndTheSummary) {
  const std::string config = TinyConfigWith("inference", "topology { num_actors: 2 }",
                                            "topology { num_actors: 2 inference: CENTRAL num_inference_servers: 1 }");
  Launched run = StartLaunch("inference", config, {"--max_env_steps=0"});
  ASSERT_NE(run.process, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return run.LogHas("all processes ready"); }, absl::Seconds(120))) << ReadFile(run.log);
  const std::string inference = " inference --config=" + run.run_dir + "/";
  const std::vector<pid_t> servers = ProcessesMentioning(inference);
  ASSERT_EQ(servers.size(), 1u) << ReadFile(run.log);
  ASSERT_EQ(kill(servers[0], SIGKILL), 0);
  EXPECT_TRUE(WaitUntil([&] { return run.LogHas("inference/0 ended (killed by signal 9"); }, absl::Seconds(30)))
      << ReadFile(run.log);
  EXPECT_TRUE(WaitUntil(
      [&] {
        const std::vector<pid_t> now = ProcessesMentioning(inference);
        return now.size() == 1 && now[0] != servers[0];
      },
      absl::Seconds(30)));
  EXPECT_TRUE(WaitUntil([&] { return run.LogHas("restarts: inference 1"); }, absl::Seconds(30))) << ReadFile(run.log);
  int status = 0;
  ASSERT_TRUE(TerminateAndTime(run, &status, absl::Seconds(60)).has_value()) << ReadFile(run.log);
  EXPECT_TRUE(ExitedWith(status, 0)) << ChildProcess::DescribeStatus(status) << "\n" << ReadFile(run.log);
  const std::string summary = ReadFile(run.summary);
  EXPECT_EQ(JsonNumber(summary, "inference_servers"), 1) << summary;
  EXPECT_EQ(JsonNumber(summary, "inference_restarts"), 1) << summary;
  // The streams to the killed server ended and were reopened (an actor
  // still on its warm-up's random actions had none open).
  EXPECT_GE(JsonNumber(summary, "inference_reconnects"), 1) << summary;
  EXPECT_THAT(run.Processes(), IsEmpty());
}

}  // namespace
}  // namespace rill::testing
