#include "common/process.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "gtest/gtest.h"

namespace rill {
namespace {

// One test, because only the first signal runs the hooks (a second one
// ends the process). It sends itself SIGTERM.
TEST(ShutdownSignalsTest, HooksRunOnceBeforeTheNotificationAndUnregisteredOnesDoNot) {
  absl::Notification& shutdown = InstallShutdownSignals();
  std::atomic<int> health_calls{0};
  std::atomic<bool> notified_when_hook_ran{true};
  std::unique_ptr<ShutdownHook> health = OnShutdownSignal([&] {
    ++health_calls;
    notified_when_hook_ran = shutdown.HasBeenNotified();
  });
  std::atomic<int> dropped_calls{0};
  OnShutdownSignal([&] { ++dropped_calls; }).reset();  // unregistered at once

  ASSERT_FALSE(shutdown.HasBeenNotified());
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  ASSERT_TRUE(shutdown.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(health_calls.load(), 1);
  EXPECT_FALSE(notified_when_hook_ran.load()) << "the hook runs before the main loop is woken";
  EXPECT_EQ(dropped_calls.load(), 0);

  // Registered after the signal: runs at once, on this thread.
  bool late = false;
  std::unique_ptr<ShutdownHook> late_hook = OnShutdownSignal([&] { late = true; });
  EXPECT_TRUE(late);
}

}  // namespace
}  // namespace rill
