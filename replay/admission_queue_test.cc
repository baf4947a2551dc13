#include "replay/admission_queue.h"

#include <memory>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/testing/test_items.h"

namespace rill::replay {
namespace {

using ::testing::ElementsAre;

// inserts - samples stays within [0, 2] once the table holds one item: the
// third insert waits for a sample, and a sample waits for an insert.
std::unique_ptr<Table> RatioTable() {
  absl::StatusOr<std::unique_ptr<Table>> table =
      Table::Create(TestTableConfig(100, /*min_size_to_sample=*/1, /*samples_per_insert=*/1, /*error_buffer=*/1));
  EXPECT_TRUE(table.ok()) << table.status();
  return *std::move(table);
}

// One queued insert and what became of it.
struct PendingInsert {
  explicit PendingInsert(std::vector<uint64_t> keys) : request(TestInsertRequest(keys)) {}
  void Queue(Table& table, AdmissionQueue& queue) {
    ASSERT_TRUE(table.Prepare(&request, &prepared).ok());
    queue.Insert(this, &prepared, &stored_keys, [this](absl::Status s) {
      status = s;
      done.Notify();
    });
  }
  v1::InsertRequest request;
  EncodedInsert prepared;
  std::vector<uint64_t> stored_keys;
  absl::Status status;
  absl::Notification done;
};

struct PendingSample {
  void Queue(AdmissionQueue& queue, int batch_size) {
    queue.Sample(this, batch_size, &response, [this](absl::Status s) {
      status = s;
      done.Notify();
    });
  }
  v1::SampleResponse response;
  absl::Status status;
  absl::Notification done;
};

TEST(AdmissionQueueTest, InsertBlockedByTheRatioIsReleasedByASample) {
  std::unique_ptr<Table> table = RatioTable();
  AdmissionQueue queue(table.get());
  PendingInsert first({1, 2});
  first.Queue(*table, queue);
  ASSERT_TRUE(first.done.HasBeenNotified());
  ASSERT_TRUE(first.status.ok()) << first.status;

  PendingInsert blocked({3});
  blocked.Queue(*table, queue);
  EXPECT_FALSE(blocked.done.HasBeenNotified());
  EXPECT_EQ(queue.waiting_inserts(), 1);
  EXPECT_TRUE(table->Info().rate_limiter().insert_blocked());

  PendingSample sample;
  sample.Queue(queue, 1);
  ASSERT_TRUE(sample.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(sample.status.ok()) << sample.status;
  ASSERT_TRUE(blocked.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(blocked.status.ok()) << blocked.status;
  EXPECT_THAT(blocked.stored_keys, ElementsAre(3));
  EXPECT_EQ(queue.waiting_inserts(), 0);
}

TEST(AdmissionQueueTest, SampleBlockedOnAnEmptyTableIsReleasedByAnInsert) {
  std::unique_ptr<Table> table = RatioTable();
  AdmissionQueue queue(table.get());
  PendingSample sample;
  sample.Queue(queue, 1);
  EXPECT_FALSE(sample.done.HasBeenNotified());
  EXPECT_EQ(queue.waiting_samples(), 1);

  PendingInsert insert({7});
  insert.Queue(*table, queue);
  ASSERT_TRUE(insert.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(sample.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(sample.status.ok()) << sample.status;
  EXPECT_THAT(sample.response.keys(), ElementsAre(7));
  EXPECT_TRUE(RowsMatchKeys(sample.response));
}

TEST(AdmissionQueueTest, BlockedInsertsAreAdmittedInArrivalOrder) {
  std::unique_ptr<Table> table = RatioTable();
  AdmissionQueue queue(table.get());
  PendingInsert fill({1, 2});
  fill.Queue(*table, queue);
  ASSERT_TRUE(fill.status.ok());
  PendingInsert a({10}), b({11}), c({12});
  a.Queue(*table, queue);
  b.Queue(*table, queue);
  c.Queue(*table, queue);
  EXPECT_EQ(queue.waiting_inserts(), 3);
  // Each sample makes room for exactly one insert: the earliest one waiting.
  PendingInsert* order[] = {&a, &b, &c};
  for (int i = 0; i < 3; ++i) {
    PendingSample sample;
    sample.Queue(queue, 1);
    ASSERT_TRUE(sample.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    ASSERT_TRUE(order[i]->done.WaitForNotificationWithTimeout(absl::Seconds(10))) << "insert " << i;
    for (int j = i + 1; j < 3; ++j) EXPECT_FALSE(order[j]->done.HasBeenNotified()) << j << " overtook " << i;
  }
}

TEST(AdmissionQueueTest, ACancelledInsertLeavesNoTraceAndNeverCompletes) {
  std::unique_ptr<Table> table = RatioTable();
  AdmissionQueue queue(table.get());
  PendingInsert fill({1, 2});
  fill.Queue(*table, queue);
  PendingInsert gone({3}), next({4});
  gone.Queue(*table, queue);
  next.Queue(*table, queue);
  ASSERT_EQ(queue.waiting_inserts(), 2);
  EXPECT_TRUE(queue.Cancel(&gone));
  EXPECT_EQ(queue.waiting_inserts(), 1);
  EXPECT_FALSE(queue.Cancel(&gone));

  PendingSample sample;
  sample.Queue(queue, 1);
  ASSERT_TRUE(next.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(gone.done.HasBeenNotified());
  EXPECT_EQ(queue.waiting_inserts(), 0);
  EXPECT_EQ(table->Info().size(), 3);  // 1, 2 and 4
  EXPECT_FALSE(table->Info().rate_limiter().insert_blocked() && queue.waiting_inserts() > 0);
}

TEST(AdmissionQueueTest, DrainEndsWaitingRequestsAndRefusesBlockedOnes) {
  std::unique_ptr<Table> table = RatioTable();
  AdmissionQueue queue(table.get());
  PendingSample waiting;
  waiting.Queue(queue, 1);
  EXPECT_FALSE(waiting.done.HasBeenNotified());
  queue.Drain(absl::CancelledError("draining"));
  ASSERT_TRUE(waiting.done.HasBeenNotified());
  EXPECT_TRUE(absl::IsCancelled(waiting.status)) << waiting.status;
  EXPECT_EQ(queue.waiting_samples(), 0);
  // What the limiter admits at once still goes through.
  PendingInsert admitted({1});
  admitted.Queue(*table, queue);
  ASSERT_TRUE(admitted.done.HasBeenNotified());
  EXPECT_TRUE(admitted.status.ok()) << admitted.status;
}

TEST(AdmissionQueueTest, QueuedTimeCountsAsBlocked) {
  std::unique_ptr<Table> table = RatioTable();
  AdmissionQueue queue(table.get());
  PendingSample waiting;
  waiting.Queue(queue, 1);
  const double before = table->Info().rate_limiter().sample_blocked_seconds();
  absl::SleepFor(absl::Milliseconds(50));  // time passing is what is measured
  EXPECT_GE(table->Info().rate_limiter().sample_blocked_seconds() - before, 0.04);
  EXPECT_TRUE(queue.Cancel(&waiting));
  const double stopped = table->Info().rate_limiter().sample_blocked_seconds();
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(table->Info().rate_limiter().sample_blocked_seconds(), stopped);
}

TEST(AdmissionQueueTest, AnInsertMadeDirectlyOnTheTableReleasesAQueuedSample) {
  std::unique_ptr<Table> table = RatioTable();
  AdmissionQueue queue(table.get());
  PendingSample sample;
  sample.Queue(queue, 1);
  EXPECT_FALSE(sample.done.HasBeenNotified());
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(TestInsertRequest({9}), absl::Now() + absl::Seconds(10), &stored).ok());
  ASSERT_TRUE(sample.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(sample.status.ok()) << sample.status;
  EXPECT_THAT(sample.response.keys(), ElementsAre(9));
}

TEST(AdmissionQueueTest, ClosingTheTableEndsWaitingRequestsWithCancelled) {
  std::unique_ptr<Table> table = RatioTable();
  AdmissionQueue queue(table.get());
  PendingSample sample;
  sample.Queue(queue, 1);
  EXPECT_FALSE(sample.done.HasBeenNotified());
  table->Close();
  ASSERT_TRUE(sample.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(absl::IsCancelled(sample.status)) << sample.status;
  EXPECT_EQ(queue.waiting_samples(), 0);
}

}  // namespace
}  // namespace rill::replay
