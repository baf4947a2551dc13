// bench_system's pieces that read the machine: a process tree's CPU by
// role, from /proc, of real processes; progress.json's fields; the
// policies' learner logs; the bound.
#include "bench/bench_system.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace rill::bench {
namespace {

TEST(BenchSystemTest, RolesComeFromTheCommandLine) {
  using std::string_literals::operator""s;
  EXPECT_EQ(RoleOfCommandLine("/opt/rill/bin/rill-actor\0--config=x\0"s), "actor");
  EXPECT_EQ(RoleOfCommandLine("bazel-bin/rill-replay\0"s), "replay");
  EXPECT_EQ(RoleOfCommandLine("bazel-bin/rill-actor\0--config=x\0--eval\0"s), "evaluator");
  EXPECT_EQ(RoleOfCommandLine("bazel-bin/rill\0launch\0--config=x\0"s), "launcher");
  EXPECT_EQ(RoleOfCommandLine("/usr/bin/rill\0learner\0--port=0\0"s), "learner");
  EXPECT_EQ(RoleOfCommandLine("/usr/bin/python3\0server.py\0"s), "python3");
  EXPECT_EQ(RoleOfCommandLine("rill\0"s), "rill");
}

TEST(BenchSystemTest, ATreesCpuCountsItsDescendantsAndNothingElse) {
  // A child that spins in a shell loop, then sleeps: its shell's CPU
  // shows under "sh" in its tree and in ours, and nothing of ours in its.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl("/bin/sh", "sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exec sleep 60",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  double spun = 0;
  while (absl::Now() < deadline) {
    spun = ProcessTreeCpuSeconds(child)["sleep"];
    if (spun > 0) break;  // the loop is done, its CPU is the sleep's
    absl::SleepFor(absl::Milliseconds(20));
  }
  const std::map<std::string, double> its = ProcessTreeCpuSeconds(child);
  const std::map<std::string, double> ours = ProcessTreeCpuSeconds(getpid());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_GT(spun, 0.05) << "300,000 shell iterations take more than 50 ms of CPU";
  EXPECT_EQ(its.size(), 1u) << "the child's tree is the child alone";
  ASSERT_TRUE(ours.count("sleep"));
  EXPECT_GE(ours.at("sleep"), spun);
  EXPECT_EQ(ProcessTreeCpuSeconds(999999999).size(), 0u) << "no such process: an empty tree";
}

TEST(BenchSystemTest, ProgressFieldsAreRead) {
  const std::string json =
      "{\"env_steps\": 20000, \"env_errors\": 0, \"learner_updates\": 19050.5, \"wall_seconds\": 99.902, "
      "\"resumes\": 0}\n";
  EXPECT_EQ(ProgressField(json, "env_steps"), 20000);
  EXPECT_EQ(ProgressField(json, "learner_updates"), 19050.5);
  EXPECT_EQ(ProgressField(json, "wall_seconds"), 99.902);
  EXPECT_EQ(ProgressField(json, "resumes"), 0);
  EXPECT_EQ(ProgressField(json, "missing"), -1);
  EXPECT_EQ(ProgressField("{\"env_steps\": x}", "env_steps"), -1);
}

// 2 cores and 4 us of CPU per env step: 500k env steps/s if the cores did
// nothing else; an update of 0.6 ms every 320 env steps (IMPALA's batch of
// 16 unrolls of 20) allows one thread 533k, so the cores bound; at 0.7 ms
// the thread allows 457k and bounds. No updates: the cores.
TEST(BenchSystemTest, TheBoundIsTheCoresOrTheLearnersOneThreadWhicheverIsLower) {
  const Roofline cores = RooflineOf(4e-6, 2, 0.6e-3 / 320);
  EXPECT_NEAR(cores.cores_bound, 500000, 1);
  EXPECT_NEAR(cores.serial_bound, 533333, 1);
  EXPECT_NEAR(cores.bound, 500000, 1);
  EXPECT_EQ(cores.bound_by, "cores");

  const Roofline serial = RooflineOf(4e-6, 2, 0.7e-3 / 320);
  EXPECT_NEAR(serial.serial_bound, 457143, 1);
  EXPECT_NEAR(serial.bound, 457143, 1);
  EXPECT_EQ(serial.bound_by, "learner thread");

  const Roofline no_updates = RooflineOf(4e-6, 2, 0);
  EXPECT_EQ(no_updates.serial_bound, 0);
  EXPECT_NEAR(no_updates.bound, 500000, 1);
  EXPECT_EQ(no_updates.bound_by, "cores");
}

// Each policy's last whole line: a line still being written (no newline)
// is not read, and files that are no learner's are left alone.
TEST(BenchSystemTest, PolicyUpdatesAreEachLearnerLogsLastWholeLine) {
  const std::filesystem::path run = std::filesystem::path(::testing::TempDir()) / "policy-updates";
  std::filesystem::remove_all(run);
  std::filesystem::create_directories(run / "metrics");
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(run / "metrics" / name) << text;
  };
  write("learner.predators.jsonl", "{\"time\": 1, \"updates\": 10}\n{\"time\": 3, \"updates\": 40, \"x\": 1}\n");
  write("learner.prey.jsonl", "{\"time\": 1, \"updates\": 7}\n{\"time\": 2, \"upda");
  write("learner.jsonl", "{\"updates\": 5}\n");
  write("actor-0.jsonl", "{\"updates\": 99}\n");
  write("learner.empty.jsonl", "");
  const std::map<std::string, double> updates = PolicyUpdates(run.string());
  EXPECT_EQ(updates, (std::map<std::string, double>{{"", 5}, {"predators", 40}, {"prey", 7}}));
  EXPECT_TRUE(PolicyUpdates((run / "missing").string()).empty());
}

}  // namespace
}  // namespace rill::bench
