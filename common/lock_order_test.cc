#include "common/lock_order.h"

#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

// Takes a then b, then b then a: an inversion the checker reports.
void InvertLockOrder() {
  absl::Mutex a;
  absl::Mutex b;
  {
    absl::MutexLock first(&a);
    absl::MutexLock second(&b);
  }
  {
    absl::MutexLock first(&b);
    absl::MutexLock second(&a);
  }
}

TEST(LockOrderTest, OffInRillsBinariesByDefault) {
  unsetenv("RILL_CHECK_LOCK_ORDER");
  EXPECT_FALSE(ConfigureLockOrderChecking());
  InvertLockOrder();  // would abort with the checker on
}

TEST(LockOrderTest, OnWithTheEnvironmentVariable) {
  setenv("RILL_CHECK_LOCK_ORDER", "1", 1);
  EXPECT_TRUE(ConfigureLockOrderChecking());
  EXPECT_DEATH(InvertLockOrder(), "Potential Mutex deadlock");
  unsetenv("RILL_CHECK_LOCK_ORDER");
  EXPECT_FALSE(ConfigureLockOrderChecking());
}

TEST(LockOrderTest, OnlyTheValueOneTurnsItOn) {
  setenv("RILL_CHECK_LOCK_ORDER", "yes", 1);
  EXPECT_FALSE(ConfigureLockOrderChecking());
  unsetenv("RILL_CHECK_LOCK_ORDER");
}

}  // namespace
}  // namespace rill
