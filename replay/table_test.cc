#include "replay/table.h"

#include <cmath>
#include <functional>
#include <map>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/test_items.h"

namespace rill::replay {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kStillBlocked = absl::Milliseconds(100);
constexpr absl::Duration kReleased = absl::Seconds(10);

v1::TableConfig MakeConfig(int64_t max_size, int64_t min_size = 1, double spi = 0, double error_buffer = 0) {
  return TestTableConfig(max_size, min_size, spi, error_buffer);
}

std::unique_ptr<Table> MakeTable(const v1::TableConfig& config) {
  absl::StatusOr<std::unique_ptr<Table>> table = Table::Create(config);
  EXPECT_TRUE(table.ok()) << table.status();
  return *std::move(table);
}

v1::InsertRequest MakeRequest(const std::vector<uint64_t>& keys) { return TestInsertRequest(keys); }

absl::Time Soon() { return absl::Now() + absl::Milliseconds(50); }
absl::Time Later() { return absl::Now() + absl::Seconds(30); }

TEST(TableTest, InsertStoresItemsAndSampleReturnsTheirBytes) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2, 3}), Later(), &stored).ok());
  EXPECT_THAT(stored, ElementsAre(1, 2, 3));
  v1::SampleResponse response;
  ASSERT_TRUE(table->Sample(8, Later(), &response).ok());
  EXPECT_EQ(response.table(), "transitions");
  EXPECT_EQ(response.keys_size(), 8);
  EXPECT_EQ(response.table_size(), 3);
  EXPECT_THAT(response.columns(0).shape(), ElementsAre(8, 2));
  EXPECT_THAT(response.columns(1).shape(), ElementsAre(8));
  EXPECT_TRUE(RowsMatchKeys(response));
  for (double p : response.probabilities()) EXPECT_DOUBLE_EQ(p, 1.0 / 3);
}

TEST(TableTest, EvictsOldestItemsFirstAtMaxSize) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(3));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2}), Later(), &stored).ok());
  ASSERT_TRUE(table->Insert(MakeRequest({3, 4, 5}), Later(), &stored).ok());
  v1::TableInfo info = table->Info();
  EXPECT_EQ(info.size(), 3);
  EXPECT_EQ(info.items_inserted(), 5);
  EXPECT_EQ(info.items_evicted(), 2);
  EXPECT_EQ(info.bytes(), 3 * (2 * 4 + 8));
  v1::SampleResponse response;
  ASSERT_TRUE(table->Sample(300, Later(), &response).ok());
  std::map<uint64_t, int> counts;
  for (uint64_t key : response.keys()) ++counts[key];
  EXPECT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts.count(1) + counts.count(2), 0u) << "evicted items were sampled";
  EXPECT_TRUE(RowsMatchKeys(response));
  // An evicted key is a new item again.
  ASSERT_TRUE(table->Insert(MakeRequest({1}), Later(), &stored).ok());
  EXPECT_EQ(table->Info().items_evicted(), 3);
}

TEST(TableTest, SamplesItemsUniformly) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(100));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}), Later(), &stored).ok());
  std::map<uint64_t, int> counts;
  for (int batch = 0; batch < 10; ++batch) {
    v1::SampleResponse response;
    ASSERT_TRUE(table->Sample(1000, Later(), &response).ok());
    for (uint64_t key : response.keys()) ++counts[key];
  }
  ASSERT_EQ(counts.size(), 10u);
  // 10000 draws, 1000 expected per item, standard deviation ~30.
  for (const auto& [key, count] : counts) {
    EXPECT_GT(count, 850) << "key " << key;
    EXPECT_LT(count, 1150) << "key " << key;
  }
}

TEST(TableTest, RetriedKeysAreStoredOnceAndAcknowledgedAgain) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2}), Later(), &stored).ok());
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2, 3}), Later(), &stored).ok());
  EXPECT_THAT(stored, ElementsAre(1, 2, 3));
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2}), Later(), &stored).ok());
  EXPECT_THAT(stored, ElementsAre(1, 2));
  EXPECT_EQ(table->Info().size(), 3);
  EXPECT_EQ(table->Info().items_inserted(), 3);
}

struct BadInsert {
  std::string name;
  std::function<void(v1::InsertRequest*)> mutate;
  std::string expected_message;
};

TEST(TableTest, RejectsEveryBadInsertWithInvalidArgumentAndLosesNothing) {
  const std::vector<BadInsert> cases = {
      {"missing column", [](v1::InsertRequest* r) { r->mutable_columns()->RemoveLast(); },
       "1 columns but the signature has 2 (obs, action)"},
      {"extra column", [](v1::InsertRequest* r) { *r->add_columns() = r->columns(1); },
       "3 columns but the signature has 2"},
      {"swapped columns", [](v1::InsertRequest* r) { r->mutable_columns()->SwapElements(0, 1); },
       "column 'obs': dtype DTYPE_INT64"},
      {"wrong dtype", [](v1::InsertRequest* r) { r->mutable_columns(1)->set_dtype(v1::DTYPE_INT32); },
       "column 'action': dtype DTYPE_INT32 but the signature says DTYPE_INT64"},
      {"wrong shape", [](v1::InsertRequest* r) { r->mutable_columns(0)->set_shape(1, 3); },
       "column 'obs': shape [2, 3]"},
      {"wrong byte size", [](v1::InsertRequest* r) { r->mutable_columns(0)->mutable_data()->pop_back(); },
       "column 'obs': 15 data bytes"},
      {"one key too many", [](v1::InsertRequest* r) { r->add_keys(99); }, "column 'obs': shape [2, 2] but 3 items"},
      {"no keys", [](v1::InsertRequest* r) { r->clear_keys(); }, "no keys"},
      {"duplicate key", [](v1::InsertRequest* r) { r->set_keys(1, r->keys(0)); }, "keys[1] = 10 appears twice"},
      {"NaN priority",
       [](v1::InsertRequest* r) {
         r->add_priorities(1);
         r->add_priorities(std::nan(""));
       },
       "priorities[1] is nan"},
      {"negative priority",
       [](v1::InsertRequest* r) {
         r->add_priorities(-1);
         r->add_priorities(1);
       },
       "priorities[0] is -1"},
      {"priority count", [](v1::InsertRequest* r) { r->add_priorities(1); }, "1 priorities for 2 items"},
  };
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2}), Later(), &stored).ok());
  for (const BadInsert& bad : cases) {
    v1::InsertRequest request = MakeRequest({10, 11});
    bad.mutate(&request);
    absl::Status status = table->Insert(request, Later(), &stored);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad.name << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(bad.expected_message)) << bad.name;
    EXPECT_THAT(status.message(), HasSubstr("table 'transitions'")) << bad.name;
    EXPECT_TRUE(stored.empty()) << bad.name;
    EXPECT_EQ(table->Info().size(), 2) << bad.name;
  }
  v1::SampleResponse response;
  ASSERT_TRUE(table->Sample(50, Later(), &response).ok());
  for (uint64_t key : response.keys()) EXPECT_TRUE(key == 1 || key == 2) << key;
  EXPECT_TRUE(RowsMatchKeys(response));
}

TEST(TableTest, RejectsRequestLargerThanTheTable) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(2));
  std::vector<uint64_t> stored;
  absl::Status status = table->Insert(MakeRequest({1, 2, 3}), Later(), &stored);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("exceeds the table's capacity 2"));
}

TEST(TableTest, SampleTimesOutWithDeadlineExceededBeforeMinSize) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10, /*min_size=*/2));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1}), Later(), &stored).ok());
  v1::SampleResponse response;
  absl::Status status = table->Sample(4, Soon(), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("fewer than min_size_to_sample 2"));
  EXPECT_GT(table->Info().rate_limiter().sample_blocked_seconds(), 0);
}

TEST(TableTest, InsertTimesOutWhenAheadOfSamplesAndARetryFinishesTheRequest) {
  // min 1, SPI 1, error buffer 1: at most two inserts ahead of samples.
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10, 1, 1.0, 1.0));
  const v1::InsertRequest request = MakeRequest({1, 2, 3});
  std::vector<uint64_t> stored;
  absl::Status status = table->Insert(request, Soon(), &stored);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("insert blocked"));
  EXPECT_THAT(stored, ElementsAre(1, 2));
  EXPECT_TRUE(table->Info().rate_limiter().insert_blocked());
  EXPECT_GT(table->Info().rate_limiter().insert_blocked_seconds(), 0);

  v1::SampleResponse response;
  ASSERT_TRUE(table->Sample(1, Later(), &response).ok());
  ASSERT_TRUE(table->Insert(request, Later(), &stored).ok());
  EXPECT_THAT(stored, ElementsAre(1, 2, 3));
  EXPECT_EQ(table->Info().items_inserted(), 3);
}

TEST(TableTest, BlockedInsertProceedsOnceSampled) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10, 1, 1.0, 1.0));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2}), Later(), &stored).ok());
  absl::Notification done;
  absl::Status insert_status;
  std::vector<uint64_t> blocked_stored;
  std::thread writer([&] {
    insert_status = table->Insert(MakeRequest({3}), Later(), &blocked_stored);
    done.Notify();
  });
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(kStillBlocked));
  v1::SampleResponse response;
  ASSERT_TRUE(table->Sample(1, Later(), &response).ok());
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(kReleased));
  writer.join();
  EXPECT_TRUE(insert_status.ok()) << insert_status;
  EXPECT_THAT(blocked_stored, ElementsAre(3));
}

TEST(TableTest, BlockedSampleProceedsOnceMinSizeIsReached) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10, /*min_size=*/2));
  absl::Notification done;
  absl::Status sample_status;
  v1::SampleResponse response;
  std::thread learner([&] {
    sample_status = table->Sample(4, Later(), &response);
    done.Notify();
  });
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1}), Later(), &stored).ok());
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(kStillBlocked));
  ASSERT_TRUE(table->Insert(MakeRequest({2}), Later(), &stored).ok());
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(kReleased));
  learner.join();
  ASSERT_TRUE(sample_status.ok()) << sample_status;
  EXPECT_EQ(response.keys_size(), 4);
  EXPECT_TRUE(RowsMatchKeys(response));
}

TEST(TableTest, SampleAfterDeadlineResumesItsPartialBatch) {
  // min 1, SPI 1, error buffer 1: one sample per insert once started.
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10, 1, 1.0, 1.0));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1}), Later(), &stored).ok());
  v1::SampleResponse response;
  EXPECT_EQ(table->Sample(3, Soon(), &response).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(response.keys_size(), 1);
  ASSERT_TRUE(table->Insert(MakeRequest({2, 3}), Later(), &stored).ok());
  ASSERT_TRUE(table->Sample(3, Later(), &response).ok());
  EXPECT_EQ(response.keys_size(), 3);
  EXPECT_EQ(response.probabilities_size(), 3);
  EXPECT_TRUE(RowsMatchKeys(response));
  EXPECT_EQ(table->Info().items_sampled(), 3);
}

TEST(TableTest, CloseWakesBlockedCallsWithCancelled) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10, 1, 1.0, 1.0));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2}), Later(), &stored).ok());
  absl::Notification insert_done;
  absl::Status insert_status;
  std::vector<uint64_t> blocked_stored;
  std::thread writer([&] {
    insert_status = table->Insert(MakeRequest({3}), absl::InfiniteFuture(), &blocked_stored);
    insert_done.Notify();
  });
  std::unique_ptr<Table> empty = MakeTable(MakeConfig(10));
  absl::Notification sample_done;
  absl::Status sample_status;
  std::thread learner([&] {
    v1::SampleResponse response;
    sample_status = empty->Sample(1, absl::InfiniteFuture(), &response);
    sample_done.Notify();
  });
  EXPECT_FALSE(insert_done.WaitForNotificationWithTimeout(kStillBlocked));
  EXPECT_FALSE(sample_done.HasBeenNotified());
  table->Close();
  empty->Close();
  EXPECT_TRUE(insert_done.WaitForNotificationWithTimeout(kReleased));
  EXPECT_TRUE(sample_done.WaitForNotificationWithTimeout(kReleased));
  writer.join();
  learner.join();
  EXPECT_EQ(insert_status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(sample_status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(table->Insert(MakeRequest({4}), Later(), &stored).code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(table->Info().size(), 2);
}

TEST(TableTest, RejectsBatchSizesOutOfRange) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10));
  for (int batch_size : {0, -1, Table::kMaxSampleBatchSize + 1}) {
    v1::SampleResponse response;
    absl::Status status = table->Sample(batch_size, Later(), &response);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << batch_size;
    EXPECT_THAT(status.message(), HasSubstr("batch_size")) << batch_size;
  }
}

TEST(TableTest, InfoDescribesTheRateLimiter) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10, /*min_size=*/5, /*spi=*/2, /*error_buffer=*/4));
  v1::TableInfo info = table->Info();
  EXPECT_EQ(info.name(), "transitions");
  EXPECT_EQ(info.max_size(), 10);
  EXPECT_EQ(info.selector(), "uniform");
  EXPECT_EQ(info.signature().columns_size(), 2);
  EXPECT_EQ(info.rate_limiter().min_size_to_sample(), 5);
  EXPECT_EQ(info.rate_limiter().samples_per_insert(), 2);
  EXPECT_EQ(info.rate_limiter().error_buffer(), 4);
  EXPECT_FALSE(info.rate_limiter().insert_blocked());
  EXPECT_TRUE(info.rate_limiter().sample_blocked());
  EXPECT_THAT(info.rate_limiter().blocked_reason(), HasSubstr("the table holds 0 items, fewer than min_size_to_sample 5"));
}

TEST(TableTest, MaxBytesLowersCapacity) {
  v1::TableConfig config = MakeConfig(100);
  config.set_max_bytes(16 * 4 + 3);  // 16-byte items
  EXPECT_EQ(MakeTable(config)->capacity(), 4);
}

TEST(TableTest, CreateRejectsBadConfigs) {
  v1::TableConfig config = MakeConfig(10);
  config.set_selector("prioritized");
  EXPECT_EQ(Table::Create(config).status().code(), absl::StatusCode::kUnimplemented);
  config = MakeConfig(10, /*min_size=*/11);
  EXPECT_THAT(Table::Create(config).status().message(), HasSubstr("sampling could never start"));
  config = MakeConfig(0);
  EXPECT_THAT(Table::Create(config).status().message(), HasSubstr("max_size 0"));
  config = MakeConfig(10);
  config.mutable_signature()->mutable_columns(1)->set_name("obs");
  EXPECT_EQ(Table::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TableTest, UniformTableRejectsPriorityUpdates) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10));
  v1::UpdatePrioritiesRequest request;
  request.add_keys(1);
  request.add_priorities(2.0);
  int64_t updated = 0;
  absl::Status status = table->UpdatePriorities(request, &updated);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("uniform selector"));
}

}  // namespace
}  // namespace rill::replay
