#include "replay/client/sampler.h"

#include <functional>
#include <memory>
#include <numeric>
#include <set>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/testing/test_items.h"
#include "replay/testing/test_server.h"

namespace rill::replay {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kStillBlocked = absl::Milliseconds(200);
constexpr absl::Duration kReleased = absl::Seconds(10);

std::unique_ptr<TestShard> StartShard(const v1::TableConfig& config, int port = 0) {
  absl::StatusOr<std::unique_ptr<TestShard>> shard = TestShard::Start(config, port);
  EXPECT_TRUE(shard.ok()) << shard.status();
  return shard.ok() ? *std::move(shard) : nullptr;
}

void Insert(TestShard& shard, const std::vector<uint64_t>& keys) {
  std::vector<uint64_t> stored;
  absl::Status status = shard.table().Insert(TestInsertRequest(keys), absl::Now() + absl::Seconds(10), &stored);
  ASSERT_TRUE(status.ok()) << status;
}

std::unique_ptr<ReplaySampler> MakeSampler(std::vector<std::string> addresses, int batch_size = 4,
                                           int prefetch_batches = 2, const std::string& table = kTestTable,
                                           absl::Duration shard_patience = absl::Milliseconds(20)) {
  SamplerOptions options;
  options.shard_patience = shard_patience;
  options.addresses = std::move(addresses);
  options.table = table;
  options.batch_size = batch_size;
  options.prefetch_batches = prefetch_batches;
  absl::StatusOr<std::unique_ptr<ReplaySampler>> sampler = ReplaySampler::Create(options);
  EXPECT_TRUE(sampler.ok()) << sampler.status();
  return sampler.ok() ? *std::move(sampler) : nullptr;
}

std::vector<uint64_t> Range(uint64_t first, uint64_t end) {
  std::vector<uint64_t> keys(end - first);
  std::iota(keys.begin(), keys.end(), first);
  return keys;
}

TEST(ReplaySamplerTest, NextReturnsWholeBatchesWithTheirItemsBytes) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(100));
  Insert(*shard, {1, 2, 3, 4, 5});
  std::unique_ptr<ReplaySampler> sampler = MakeSampler({shard->address()});
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = sampler->Next(absl::Seconds(10));
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_EQ((*batch)->keys_size(), 4);
    EXPECT_TRUE(RowsMatchKeys(**batch));
  }
}

// The client-side latency of a batch includes the time the shard held its
// request back (here: an empty table), as a dashboard must show it.
TEST(ReplaySamplerTest, ReportsBatchLatencyFromTheCreditThatAskedForIt) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(100));
  SamplerOptions options;
  options.addresses = {shard->address()};
  options.table = kTestTable;
  options.batch_size = 4;
  options.prefetch_batches = 1;
  absl::Mutex mu;
  std::vector<absl::Duration> latencies;
  options.on_batch_latency = [&](absl::Duration latency) {
    absl::MutexLock lock(&mu);
    latencies.push_back(latency);
  };
  absl::StatusOr<std::unique_ptr<ReplaySampler>> sampler = ReplaySampler::Create(options);
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  // The hold starts once the shard has the sampler's request in its queue.
  ASSERT_TRUE(WaitFor([&] { return shard->service().queue(&shard->table())->waiting_samples() == 1; }));
  const absl::Time queued = absl::Now();
  EXPECT_TRUE(absl::IsDeadlineExceeded((*sampler)->Next(absl::Milliseconds(300)).status()));
  const absl::Duration held = absl::Now() - queued;
  Insert(*shard, {1, 2, 3, 4});
  ASSERT_TRUE((*sampler)->Next(kReleased).ok());
  ASSERT_TRUE((*sampler)->Next(kReleased).ok());
  absl::MutexLock lock(&mu);
  ASSERT_GE(latencies.size(), 2u);
  EXPECT_GE(latencies[0], held) << "held while the table was empty";
  EXPECT_LT(latencies[1], latencies[0]) << "data waiting: answered at once";
}

TEST(ReplaySamplerTest, SamplesEveryShard) {
  std::unique_ptr<TestShard> a = StartShard(TestTableConfig(100));
  std::unique_ptr<TestShard> b = StartShard(TestTableConfig(100));
  Insert(*a, {1, 2, 3});
  Insert(*b, {101, 102, 103});
  std::unique_ptr<ReplaySampler> sampler = MakeSampler({a->address(), b->address()});
  bool saw_a = false, saw_b = false;
  for (int i = 0; i < 200 && !(saw_a && saw_b); ++i) {
    int shard = -1;
    absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = sampler->Next(absl::Seconds(10), &shard);
    ASSERT_TRUE(batch.ok()) << batch.status();
    // Every key of a batch is from the shard Next names.
    for (uint64_t key : (*batch)->keys()) {
      ASSERT_EQ(shard, key > 100 ? 1 : 0) << "key " << key;
      (key > 100 ? saw_b : saw_a) = true;
    }
  }
  EXPECT_TRUE(saw_a);
  EXPECT_TRUE(saw_b);
}

TEST(ReplaySamplerTest, NextTimesOutUntilReplayHasData) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(100, /*min_size_to_sample=*/3));
  std::unique_ptr<ReplaySampler> sampler = MakeSampler({shard->address()});
  EXPECT_EQ(sampler->Next(absl::Milliseconds(100)).status().code(), absl::StatusCode::kDeadlineExceeded);
  absl::Notification got;
  absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch;
  std::thread learner([&] {
    batch = sampler->Next(absl::Seconds(30));
    got.Notify();
  });
  Insert(*shard, {1, 2});
  EXPECT_FALSE(got.WaitForNotificationWithTimeout(kStillBlocked));
  Insert(*shard, {3});
  EXPECT_TRUE(got.WaitForNotificationWithTimeout(kReleased));
  learner.join();
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_TRUE(RowsMatchKeys(**batch));
}

// A queue hands out each item once: right after a batch the table is often
// empty, and the batch already delivered must still be taken (IMPALA's
// unroll queue stalled on this).
TEST(ReplaySamplerTest, DeliversEveryBatchOfAQueueThatEachBatchDrains) {
  v1::TableConfig config = TestTableConfig(100);
  config.mutable_selector()->mutable_fifo();
  std::unique_ptr<TestShard> shard = StartShard(config);
  std::unique_ptr<ReplaySampler> sampler = MakeSampler({shard->address()}, /*batch_size=*/4, /*prefetch=*/1);
  for (uint64_t round = 0; round < 5; ++round) {
    Insert(*shard, Range(round * 4 + 1, round * 4 + 5));
    absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = sampler->Next(absl::Seconds(10));
    ASSERT_TRUE(batch.ok()) << "round " << round << ": " << batch.status();
    EXPECT_EQ((*batch)->table_size(), 0);
    std::vector<uint64_t> keys((*batch)->keys().begin(), (*batch)->keys().end());
    EXPECT_EQ(keys, Range(round * 4 + 1, round * 4 + 5));
  }
}

TEST(ReplaySamplerTest, PrefetchIsBoundedWhileTheLearnerDoesNotConsume) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(100));
  Insert(*shard, {1, 2, 3});
  std::unique_ptr<ReplaySampler> sampler = MakeSampler({shard->address()}, /*batch_size=*/4, /*prefetch=*/2);
  ASSERT_TRUE(sampler->Next(absl::Seconds(10)).ok());
  // Time for the threads to fill what they may; nothing is waited for here.
  absl::Notification never;
  never.WaitForNotificationWithTimeout(kStillBlocked);
  // One consumed, two queued, two credits in flight at most.
  EXPECT_LE(shard->table().Info().items_sampled(), (1 + 2 + 2) * 4);
}

TEST(ReplaySamplerTest, ReconnectsAfterAShardRestart) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(100));
  const int port = shard->port();
  Insert(*shard, {1, 2, 3});
  std::unique_ptr<ReplaySampler> sampler = MakeSampler({shard->address()});
  ASSERT_TRUE(sampler->Next(absl::Seconds(10)).ok());
  shard->Stop();
  std::unique_ptr<TestShard> restarted = StartShard(TestTableConfig(100), port);
  ASSERT_NE(restarted, nullptr);
  Insert(*restarted, {201, 202, 203});
  // Batches queued before the restart come first; then the new shard's.
  bool saw_restarted = false;
  for (int i = 0; i < 20 && !saw_restarted; ++i) {
    absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = sampler->Next(absl::Seconds(20));
    ASSERT_TRUE(batch.ok()) << batch.status();
    saw_restarted = (*batch)->keys(0) > 200;
  }
  EXPECT_TRUE(saw_restarted);
  EXPECT_GE(sampler->reconnects(), 1);
}

TEST(ReplaySamplerTest, UnknownTableIsReturnedAsNotFound) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(100));
  std::unique_ptr<ReplaySampler> sampler = MakeSampler({shard->address()}, 4, 2, "nope");
  absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = sampler->Next(absl::Seconds(10));
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(batch.status().message(), HasSubstr("'nope'"));
  EXPECT_EQ(sampler->Next(absl::Seconds(10)).status().code(), absl::StatusCode::kNotFound);
}

TEST(ReplaySamplerTest, CloseWakesABlockedNextWithCancelled) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(100));
  std::unique_ptr<ReplaySampler> sampler = MakeSampler({shard->address()});
  absl::Notification returned;
  absl::Status status;
  std::thread learner([&] {
    status = sampler->Next(absl::Seconds(60)).status();
    returned.Notify();
  });
  EXPECT_FALSE(returned.WaitForNotificationWithTimeout(kStillBlocked));
  sampler->Close();
  EXPECT_TRUE(returned.WaitForNotificationWithTimeout(kReleased));
  learner.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
}

TEST(ReplaySamplerTest, PicksShardsInProportionToTheirTableSizes) {
  std::unique_ptr<TestShard> small = StartShard(TestTableConfig(10000));
  std::unique_ptr<TestShard> large = StartShard(TestTableConfig(10000));
  Insert(*small, Range(0, 1000));
  Insert(*large, Range(100000, 103000));
  // A long patience: on a loaded machine a shard's next batch may take a
  // while, and skipping it would skew the proportions this test measures.
  std::unique_ptr<ReplaySampler> sampler =
      MakeSampler({small->address(), large->address()}, 4, 4, kTestTable, absl::Seconds(10));
  // Until a shard's first batch its size is unknown and it is not picked:
  // measure from the moment both are known.
  ASSERT_TRUE(WaitFor([&] {
    std::vector<SamplerShardStats> stats = sampler->shard_stats();
    return stats[0].table_size > 0 && stats[1].table_size > 0;
  }));
  constexpr int kBatches = 4000;
  int from_large = 0;
  for (int i = 0; i < kBatches; ++i) {
    absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = sampler->Next(absl::Seconds(10));
    ASSERT_TRUE(batch.ok()) << batch.status();
    if ((*batch)->keys(0) >= 100000) ++from_large;
  }
  // Expected 3000 / 4000 = 0.75; one standard deviation is 0.007.
  const double share = static_cast<double>(from_large) / kBatches;
  std::printf("{\"large_shard_share\": %.4f, \"expected\": 0.75, \"batches\": %d}\n", share, kBatches);
  EXPECT_NEAR(share, 0.75, 0.04);
  std::vector<SamplerShardStats> stats = sampler->shard_stats();
  EXPECT_EQ(stats[0].table_size, 1000);
  EXPECT_EQ(stats[1].table_size, 3000);
  EXPECT_EQ(stats[0].batches + stats[1].batches, kBatches);
}

TEST(ReplaySamplerTest, KeepsDeliveringWhileAShardIsDownAndSamplesItAgainOnceItIsBack) {
  std::unique_ptr<TestShard> a = StartShard(TestTableConfig(100));
  std::unique_ptr<TestShard> b = StartShard(TestTableConfig(100));
  const int port_a = a->port();
  Insert(*a, {1, 2, 3});
  Insert(*b, {101, 102, 103});
  std::unique_ptr<ReplaySampler> sampler = MakeSampler({a->address(), b->address()});
  EXPECT_EQ(sampler->shards_up(), 2);
  ASSERT_TRUE(sampler->Next(absl::Seconds(10)).ok());

  a->Stop();
  // Batches queued from A are used up; then A's thread sees its stream end.
  for (int i = 0; i < 1000 && sampler->shards_up() == 2; ++i) {
    ASSERT_TRUE(sampler->Next(absl::Seconds(5)).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return sampler->shards_up() == 1; })) << "shard 0 not seen down";
  EXPECT_FALSE(sampler->shard_stats()[0].up);
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = sampler->Next(absl::Seconds(5));
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_GT((*batch)->keys(0), 100u) << "a batch from the down shard";
  }

  std::unique_ptr<TestShard> restarted = StartShard(TestTableConfig(100), port_a);
  ASSERT_NE(restarted, nullptr);
  Insert(*restarted, {201, 202, 203});
  ASSERT_TRUE(WaitFor([&] { return sampler->shards_up() == 2; })) << "shard 0 not seen back";
  bool saw_restarted = false;
  for (const absl::Time until = absl::Now() + absl::Seconds(30); absl::Now() < until && !saw_restarted;) {
    absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = sampler->Next(absl::Seconds(5));
    ASSERT_TRUE(batch.ok()) << batch.status();
    saw_restarted = (*batch)->keys(0) > 200;
  }
  EXPECT_TRUE(saw_restarted);
  EXPECT_EQ(sampler->shard_stats()[0].downs, 1);
}

TEST(ReplaySamplerTest, ARateLimitedShardDoesNotStallTheOthers) {
  // Shard A allows a few samples for its 20 inserts, then holds samples back
  // for good; it is much larger than B, so it is picked nine times in ten.
  std::unique_ptr<TestShard> a = StartShard(TestTableConfig(1000, 1, /*samples_per_insert=*/0.5, 10));
  std::unique_ptr<TestShard> b = StartShard(TestTableConfig(1000));
  Insert(*a, Range(0, 20));
  Insert(*b, Range(500, 504));
  std::unique_ptr<ReplaySampler> sampler = MakeSampler({a->address(), b->address()});
  int from_b = 0;
  for (int i = 0; i < 200; ++i) {
    // Each Next would time out if a pick of A waited for A.
    absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = sampler->Next(absl::Seconds(2));
    ASSERT_TRUE(batch.ok()) << "batch " << i << ": " << batch.status();
    if ((*batch)->keys(0) >= 500) ++from_b;
  }
  EXPECT_GE(from_b, 200 - static_cast<int>(a->table().Info().items_sampled() / 4));
  EXPECT_TRUE(a->table().Info().rate_limiter().sample_blocked());
}

TEST(ReplaySamplerTest, CreateRejectsBadOptions) {
  SamplerOptions options;
  options.table = kTestTable;
  EXPECT_THAT(ReplaySampler::Create(options).status().message(), HasSubstr("addresses"));
  options.addresses = {"127.0.0.1:1"};
  options.batch_size = 0;
  EXPECT_THAT(ReplaySampler::Create(options).status().message(), HasSubstr("batch_size"));
}

}  // namespace
}  // namespace rill::replay
