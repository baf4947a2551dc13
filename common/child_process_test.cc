#include "common/child_process.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

// `sh -c script` as a child whose output goes to the test's temporary folder.
std::unique_ptr<ChildProcess> StartShell(const std::string& name, const std::string& script) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string log = std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name + ".log";
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::StartProgram(name, "/bin/sh", {"-c", script}, log);
  EXPECT_TRUE(child.ok()) << child.status();
  return child.ok() ? *std::move(child) : nullptr;
}

// Polls the child's log until it says "ready" (its traps are set); false
// after 10 s.
bool WaitUntilReady(const ChildProcess& child) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (child.LogTail(1).find("ready") == std::string::npos) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

bool KilledBy(int status, int signal_number) { return WIFSIGNALED(status) && WTERMSIG(status) == signal_number; }

TEST(ChildProcessTest, WaitAllBlocksUntilEveryChildHasEnded) {
  std::unique_ptr<ChildProcess> quick = StartShell("quick", "exit 0");
  std::unique_ptr<ChildProcess> slow = StartShell("slow", "exec sleep 60");
  ASSERT_NE(quick, nullptr);
  ASSERT_NE(slow, nullptr);
  // Still blocked: the slow one runs.
  EXPECT_FALSE(ChildProcess::WaitAll({quick.get(), slow.get()}, absl::Now() + absl::Milliseconds(300)));
  EXPECT_TRUE(quick->Poll().has_value());
  slow->Signal(SIGTERM);
  // Now released.
  EXPECT_TRUE(ChildProcess::WaitAll({quick.get(), nullptr, slow.get()}, absl::Now() + absl::Seconds(10)));
  EXPECT_TRUE(KilledBy(*slow->Poll(), SIGTERM));
}

TEST(ChildProcessTest, ChildrenSignalledTogetherDrainInParallelUnderOneDeadline) {
  // Each takes a second to stop after SIGTERM.
  std::vector<std::unique_ptr<ChildProcess>> children;
  for (int i = 0; i < 4; ++i) {
    children.push_back(
        StartShell("drain-" + std::to_string(i), "trap 'sleep 1; kill $!; exit 0' TERM; echo ready; sleep 60 & wait"));
    ASSERT_NE(children.back(), nullptr);
    ASSERT_TRUE(WaitUntilReady(*children.back()));
  }
  std::vector<ChildProcess*> all;
  for (auto& child : children) all.push_back(child.get());
  const absl::Time start = absl::Now();
  for (ChildProcess* child : all) child->Signal(SIGTERM);
  EXPECT_TRUE(ChildProcess::WaitAll(all, start + absl::Seconds(10)));
  // One after another they would take 4 s.
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  for (ChildProcess* child : all) EXPECT_TRUE(WIFEXITED(*child->Poll()) && WEXITSTATUS(*child->Poll()) == 0);
}

TEST(ChildProcessTest, KillEndsAChildThatIgnoresSigterm) {
  std::unique_ptr<ChildProcess> stubborn =
      StartShell("stubborn", "trap '' TERM; echo ready; while true; do sleep 1; done");
  ASSERT_NE(stubborn, nullptr);
  ASSERT_TRUE(WaitUntilReady(*stubborn));
  stubborn->Signal(SIGTERM);
  EXPECT_FALSE(ChildProcess::WaitAll({stubborn.get()}, absl::Now() + absl::Milliseconds(500)));
  EXPECT_TRUE(KilledBy(stubborn->Kill(), SIGKILL));
  // Kill of an ended child returns its status again.
  EXPECT_TRUE(KilledBy(stubborn->Kill(), SIGKILL));
}

}  // namespace
}  // namespace rill
