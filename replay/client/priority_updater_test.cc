#include "replay/client/priority_updater.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/testing/test_items.h"
#include "replay/testing/test_server.h"

namespace rill::replay {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<TestShard> StartPrioritizedShard() {
  v1::TableConfig config = TestTableConfig(100);
  config.mutable_selector()->mutable_prioritized()->set_priority_exponent(1.0);
  absl::StatusOr<std::unique_ptr<TestShard>> shard = TestShard::Start(config, 0);
  EXPECT_TRUE(shard.ok()) << shard.status();
  return shard.ok() ? *std::move(shard) : nullptr;
}

void Insert(TestShard& shard, const std::vector<uint64_t>& keys) {
  std::vector<uint64_t> stored;
  ASSERT_TRUE(shard.table().Insert(TestInsertRequest(keys), absl::Now() + absl::Seconds(10), &stored).ok());
}

// Keys of 200 items drawn from the shard's table.
std::vector<uint64_t> Draw(TestShard& shard) {
  v1::SampleResponse response;
  EXPECT_TRUE(shard.table().Sample(200, absl::Now() + absl::Seconds(10), &response).ok());
  return std::vector<uint64_t>(response.keys().begin(), response.keys().end());
}

std::unique_ptr<PriorityUpdater> MakeUpdater(std::vector<std::string> addresses, int max_pending = 64) {
  PriorityUpdaterOptions options;
  options.addresses = std::move(addresses);
  options.table = kTestTable;
  options.max_pending = max_pending;
  absl::StatusOr<std::unique_ptr<PriorityUpdater>> updater = PriorityUpdater::Create(options);
  EXPECT_TRUE(updater.ok()) << updater.status();
  return updater.ok() ? *std::move(updater) : nullptr;
}

TEST(PriorityUpdaterTest, UpdatesReachTheShardTheyAreSentTo) {
  std::unique_ptr<TestShard> a = StartPrioritizedShard();
  std::unique_ptr<TestShard> b = StartPrioritizedShard();
  Insert(*a, {1, 2, 3});
  Insert(*b, {1, 2, 3});
  std::unique_ptr<PriorityUpdater> updater = MakeUpdater({a->address(), b->address()});
  // On shard b only key 2 keeps a priority.
  ASSERT_TRUE(updater->Enqueue(1, {1, 2, 3}, {0.0, 5.0, 0.0}).ok());
  ASSERT_TRUE(updater->Flush(absl::Seconds(10)).ok());
  EXPECT_THAT(Draw(*b), ::testing::Each(2u));
  std::vector<uint64_t> from_a = Draw(*a);
  EXPECT_TRUE(std::count(from_a.begin(), from_a.end(), 1u) > 0 && std::count(from_a.begin(), from_a.end(), 3u) > 0)
      << "shard a was changed";
  const PriorityUpdaterStats stats = updater->stats();
  EXPECT_EQ(stats.sent, 1);
  EXPECT_EQ(stats.keys_updated, 3);
  EXPECT_EQ(stats.failed, 0);
}

TEST(PriorityUpdaterTest, KeysEvictedMeanwhileAreSkipped) {
  std::unique_ptr<TestShard> a = StartPrioritizedShard();
  Insert(*a, {1, 2});
  std::unique_ptr<PriorityUpdater> updater = MakeUpdater({a->address()});
  ASSERT_TRUE(updater->Enqueue(0, {1, 99}, {1.0, 1.0}).ok());
  ASSERT_TRUE(updater->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(updater->stats().keys_updated, 1);
}

TEST(PriorityUpdaterTest, AnUnreachableShardCountsFailuresAndDropsTheOldestBeyondTheBound) {
  // Nothing listens on the address: every call fails, and the queue stays bounded.
  std::unique_ptr<PriorityUpdater> updater = MakeUpdater({"127.0.0.1:1"}, /*max_pending=*/2);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(updater->Enqueue(0, {1}, {1.0}).ok());
  ASSERT_TRUE(updater->Flush(absl::Seconds(30)).ok());
  const PriorityUpdaterStats stats = updater->stats();
  EXPECT_EQ(stats.sent, 0);
  EXPECT_GE(stats.failed, 1);
  EXPECT_EQ(stats.failed + stats.dropped, 50);
  EXPECT_GE(stats.dropped, 1);
}

TEST(PriorityUpdaterTest, RejectsBadArguments) {
  std::unique_ptr<PriorityUpdater> updater = MakeUpdater({"127.0.0.1:1"});
  EXPECT_THAT(updater->Enqueue(1, {1}, {1.0}).message(), HasSubstr("shard 1 of 1"));
  EXPECT_THAT(updater->Enqueue(0, {1, 2}, {1.0}).message(), HasSubstr("2 keys but 1 priorities"));
  PriorityUpdaterOptions options;
  EXPECT_EQ(PriorityUpdater::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rill::replay
