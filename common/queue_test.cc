#include "common/queue.h"

#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

// Long enough for a thread to reach its wait on a loaded machine; a blocked
// call must still be blocked after it.
constexpr absl::Duration kStillBlocked = absl::Milliseconds(100);
constexpr absl::Duration kReleased = absl::Seconds(10);

TEST(BlockingQueueTest, PopsValuesInPushOrder) {
  BlockingQueue<int> queue(3);
  ASSERT_TRUE(queue.Push(1, absl::ZeroDuration()).ok());
  ASSERT_TRUE(queue.Push(2, absl::ZeroDuration()).ok());
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(*queue.Pop(absl::ZeroDuration()), 1);
  EXPECT_EQ(*queue.Pop(absl::ZeroDuration()), 2);
}

TEST(BlockingQueueTest, MovesOnlyTypes) {
  BlockingQueue<std::unique_ptr<int>> queue(1);
  ASSERT_TRUE(queue.Push(std::make_unique<int>(7), absl::ZeroDuration()).ok());
  absl::StatusOr<std::unique_ptr<int>> value = queue.Pop(absl::ZeroDuration());
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(**value, 7);
}

TEST(BlockingQueueTest, PopOnEmptyQueueTimesOutWithDeadlineExceeded) {
  BlockingQueue<int> queue(1);
  absl::StatusOr<int> value = queue.Pop(absl::Milliseconds(10));
  EXPECT_EQ(value.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(BlockingQueueTest, PushOnFullQueueTimesOutWithDeadlineExceeded) {
  BlockingQueue<int> queue(1);
  ASSERT_TRUE(queue.Push(1, absl::ZeroDuration()).ok());
  EXPECT_EQ(queue.Push(2, absl::Milliseconds(10)).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(queue.size(), 1u);
}

TEST(BlockingQueueTest, PushBlocksUntilAPopMakesRoom) {
  BlockingQueue<int> queue(1);
  ASSERT_TRUE(queue.Push(1, absl::ZeroDuration()).ok());
  absl::Notification pushed;
  absl::Status push_status;
  std::thread producer([&] {
    push_status = queue.Push(2, absl::InfiniteDuration());
    pushed.Notify();
  });
  EXPECT_FALSE(pushed.WaitForNotificationWithTimeout(kStillBlocked));
  EXPECT_EQ(*queue.Pop(absl::ZeroDuration()), 1);
  EXPECT_TRUE(pushed.WaitForNotificationWithTimeout(kReleased));
  producer.join();
  EXPECT_TRUE(push_status.ok());
  EXPECT_EQ(*queue.Pop(absl::ZeroDuration()), 2);
}

TEST(BlockingQueueTest, PopBlocksUntilAPush) {
  BlockingQueue<int> queue(1);
  absl::Notification popped;
  absl::StatusOr<int> value;
  std::thread consumer([&] {
    value = queue.Pop(absl::InfiniteDuration());
    popped.Notify();
  });
  EXPECT_FALSE(popped.WaitForNotificationWithTimeout(kStillBlocked));
  ASSERT_TRUE(queue.Push(5, absl::ZeroDuration()).ok());
  EXPECT_TRUE(popped.WaitForNotificationWithTimeout(kReleased));
  consumer.join();
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 5);
}

TEST(BlockingQueueTest, CloseWakesBlockedPopAndPushWithCancelled) {
  BlockingQueue<int> empty(1);
  BlockingQueue<int> full(1);
  ASSERT_TRUE(full.Push(1, absl::ZeroDuration()).ok());
  absl::Notification pop_done, push_done;
  absl::Status pop_status, push_status;
  std::thread consumer([&] {
    pop_status = empty.Pop(absl::InfiniteDuration()).status();
    pop_done.Notify();
  });
  std::thread producer([&] {
    push_status = full.Push(2, absl::InfiniteDuration());
    push_done.Notify();
  });
  EXPECT_FALSE(pop_done.WaitForNotificationWithTimeout(kStillBlocked));
  EXPECT_FALSE(push_done.HasBeenNotified());
  empty.Close();
  full.Close();
  EXPECT_TRUE(pop_done.WaitForNotificationWithTimeout(kReleased));
  EXPECT_TRUE(push_done.WaitForNotificationWithTimeout(kReleased));
  consumer.join();
  producer.join();
  EXPECT_EQ(pop_status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(push_status.code(), absl::StatusCode::kCancelled);
}

TEST(BlockingQueueTest, ClosedQueueRejectsPushAndPopAtOnce) {
  BlockingQueue<int> queue(2);
  ASSERT_TRUE(queue.Push(1, absl::ZeroDuration()).ok());
  queue.Close();
  EXPECT_TRUE(queue.closed());
  EXPECT_EQ(queue.Push(2, absl::InfiniteDuration()).code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(queue.Pop(absl::InfiniteDuration()).status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace rill
