#include "replay/table.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/testing/test_items.h"

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


v1::TableConfig PrioritizedConfig(int64_t max_size, double alpha = 1.0, double beta = 0.5) {
  v1::TableConfig config = MakeConfig(max_size);
  config.mutable_selector()->mutable_prioritized()->set_priority_exponent(alpha);
  config.mutable_selector()->mutable_prioritized()->set_importance_sampling_exponent(beta);
  return config;
}

v1::InsertRequest MakeRequest(const std::vector<uint64_t>& keys, const std::vector<double>& priorities) {
  v1::InsertRequest request = TestInsertRequest(keys);
  request.mutable_priorities()->Add(priorities.begin(), priorities.end());
  return request;
}

// Draws `draws` items in batches of 100 and counts them by key.
std::map<uint64_t, int> SampleCounts(Table& table, int draws) {
  std::map<uint64_t, int> counts;
  for (int done = 0; done < draws; done += 100) {
    v1::SampleResponse response;
    EXPECT_TRUE(table.Sample(100, absl::Now() + absl::Seconds(30), &response).ok());
    for (uint64_t key : response.keys()) ++counts[key];
  }
  return counts;
}

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

// The keys of `draws` batches of 16 from a uniform and a prioritized table
// of 100 items whose sampling is seeded with `seed` (none: the process's
// entropy).
std::vector<uint64_t> SeededDraws(std::optional<uint64_t> seed, bool prioritized, int draws = 8) {
  std::unique_ptr<Table> table = MakeTable(prioritized ? PrioritizedConfig(100) : MakeConfig(100));
  if (seed.has_value()) table->SeedSampling(*seed);
  std::vector<uint64_t> keys;
  std::vector<double> priorities;
  for (uint64_t key = 0; key < 100; ++key) {
    keys.push_back(key);
    priorities.push_back(1.0 + static_cast<double>(key % 7));
  }
  std::vector<uint64_t> stored;
  EXPECT_TRUE(table->Insert(prioritized ? MakeRequest(keys, priorities) : MakeRequest(keys), Later(), &stored).ok());
  std::vector<uint64_t> drawn;
  for (int batch = 0; batch < draws; ++batch) {
    v1::SampleResponse response;
    EXPECT_TRUE(table->Sample(16, Later(), &response).ok());
    drawn.insert(drawn.end(), response.keys().begin(), response.keys().end());
  }
  return drawn;
}

TEST(TableTest, SeededSamplingDrawsTheSameItemsForTheSameSeed) {
  for (const bool prioritized : {false, true}) {
    SCOPED_TRACE(prioritized ? "prioritized" : "uniform");
    const std::vector<uint64_t> first = SeededDraws(42, prioritized);
    ASSERT_EQ(first.size(), 128u);
    EXPECT_EQ(SeededDraws(42, prioritized), first);
    // 128 draws of 100 keys: two other sequences agree by chance with
    // probability 100^-128.
    EXPECT_NE(SeededDraws(43, prioritized), first);
    EXPECT_NE(SeededDraws(std::nullopt, prioritized), first);
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

// An Insert of `keys` on a thread of its own, into a table whose rate
// limiter holds it back; joined when destroyed.
class BlockedInsert {
 public:
  BlockedInsert(Table& table, std::vector<uint64_t> keys)
      : writer_([this, &table, keys] {
          status_ = table.Insert(MakeRequest(keys), Later(), &stored_);
          done_.Notify();
        }) {}
  ~BlockedInsert() { writer_.join(); }

  bool StillBlocked() { return !done_.WaitForNotificationWithTimeout(kStillBlocked); }
  bool Released() { return done_.WaitForNotificationWithTimeout(kReleased); }
  // After Released().
  const absl::Status& status() const { return status_; }
  const std::vector<uint64_t>& stored() const { return stored_; }

 private:
  absl::Notification done_;
  absl::Status status_;
  std::vector<uint64_t> stored_;
  std::thread writer_;  // last: it starts once the rest exists
};

TEST(TableTest, BlockedInsertProceedsOnceSampled) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10, 1, 1.0, 1.0));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2}), Later(), &stored).ok());
  BlockedInsert insert(*table, {3});
  EXPECT_TRUE(insert.StillBlocked());
  v1::SampleResponse response;
  ASSERT_TRUE(table->Sample(1, Later(), &response).ok());
  ASSERT_TRUE(insert.Released());
  EXPECT_TRUE(insert.status().ok()) << insert.status();
  EXPECT_THAT(insert.stored(), ElementsAre(3));
}

TEST(TableTest, ReleasedInsertsProceedWithoutSamples) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10, 1, 1.0, 1.0));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2}), Later(), &stored).ok());
  {
    BlockedInsert insert(*table, {3, 4, 5});
    EXPECT_TRUE(insert.StillBlocked());
    EXPECT_TRUE(table->ReleaseInserts());  // it was blocked
    ASSERT_TRUE(insert.Released());
    EXPECT_TRUE(insert.status().ok()) << insert.status();
    EXPECT_THAT(insert.stored(), ElementsAre(3, 4, 5));
  }
  // Later inserts too; a second release finds nothing blocked.
  ASSERT_TRUE(table->Insert(MakeRequest({6, 7, 8}), absl::Now() + absl::Milliseconds(100), &stored).ok());
  EXPECT_FALSE(table->ReleaseInserts());
  // Counted apart: stored at the stop, not learned from at the ratio.
  EXPECT_EQ(table->Stats().items_inserted_at_stop, 6);
  EXPECT_EQ(table->Stats().items_inserted, 8);
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
  v1::TableConfig config = MakeConfig(10, /*min_size=*/11);
  EXPECT_THAT(Table::Create(config).status().message(), HasSubstr("sampling could never start"));
  config = MakeConfig(0);
  EXPECT_THAT(Table::Create(config).status().message(), HasSubstr("max_size 0"));
  config = MakeConfig(int64_t{1} << 32);  // refused before anything is allocated
  EXPECT_THAT(Table::Create(config).status().message(), HasSubstr("exceeds the most items a table holds"));
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

TEST(TableTest, PrioritizedTableSamplesInProportionToPriorities) {
  std::unique_ptr<Table> table = MakeTable(PrioritizedConfig(10, /*alpha=*/1.0));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2}, {1.0, 9.0}), Later(), &stored).ok());
  const std::map<uint64_t, int> counts = SampleCounts(*table, 10000);
  // P(1) = 0.1: 1000 expected, standard deviation 30.
  EXPECT_NEAR(counts.at(1), 1000, 200);
  EXPECT_EQ(table->Info().selector(), "prioritized");
}

TEST(TableTest, ImportanceWeightsMatchAHandComputedExample) {
  // alpha 1, beta 0.5, priorities 1 and 3: P = 0.25, 0.75 and N = 2, so
  // w = (2 * 0.25)^-0.5 = 1.41421 and (2 * 0.75)^-0.5 = 0.81650; divided by
  // the largest: 1 and 0.57735.
  std::unique_ptr<Table> table = MakeTable(PrioritizedConfig(10, 1.0, 0.5));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2}, {1.0, 3.0}), Later(), &stored).ok());
  v1::SampleResponse response;
  // Both keys are in a batch of 200 except with probability 0.75^200.
  ASSERT_TRUE(table->Sample(200, Later(), &response).ok());
  ASSERT_EQ(response.importance_weights_size(), 200);
  for (int i = 0; i < response.keys_size(); ++i) {
    const bool low = response.keys(i) == 1;
    EXPECT_DOUBLE_EQ(response.probabilities(i), low ? 0.25 : 0.75);
    EXPECT_NEAR(response.importance_weights(i), low ? 1.0 : 0.5773502692, 1e-9);
  }
}

TEST(TableTest, UniformTableReportsImportanceWeightsOfOne) {
  std::unique_ptr<Table> table = MakeTable(MakeConfig(10));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2, 3}), Later(), &stored).ok());
  v1::SampleResponse response;
  ASSERT_TRUE(table->Sample(5, Later(), &response).ok());
  ASSERT_EQ(response.importance_weights_size(), 5);
  for (double w : response.importance_weights()) EXPECT_EQ(w, 1.0);
}

TEST(TableTest, ItemsInsertedWithoutPriorityGetTheLargestPriorityGivenSoFar) {
  std::unique_ptr<Table> table = MakeTable(PrioritizedConfig(10, 1.0));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1}, {4.0}), Later(), &stored).ok());
  ASSERT_TRUE(table->Insert(MakeRequest({2}), Later(), &stored).ok());
  v1::SampleResponse response;
  ASSERT_TRUE(table->Sample(20, Later(), &response).ok());
  for (double p : response.probabilities()) EXPECT_DOUBLE_EQ(p, 0.5);
}

TEST(TableTest, PriorityUpdatesChangeTheDistributionAndSkipUnknownKeys) {
  std::unique_ptr<Table> table = MakeTable(PrioritizedConfig(10, 1.0));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2}, {1.0, 1.0}), Later(), &stored).ok());
  v1::UpdatePrioritiesRequest request;
  request.add_keys(1);
  request.add_priorities(0.0);
  request.add_keys(77);  // never stored
  request.add_priorities(5.0);
  int64_t updated = 0;
  ASSERT_TRUE(table->UpdatePriorities(request, &updated).ok());
  EXPECT_EQ(updated, 1);
  const std::map<uint64_t, int> counts = SampleCounts(*table, 1000);
  EXPECT_EQ(counts.count(1), 0u);
  EXPECT_EQ(counts.at(2), 1000);
}

TEST(TableTest, BadPriorityUpdateIsRejectedNamingTheKeyAndChangesNothing) {
  std::unique_ptr<Table> table = MakeTable(PrioritizedConfig(10, 1.0));
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2}, {1.0, 3.0}), Later(), &stored).ok());
  for (double bad : {-1.0, std::nan(""), static_cast<double>(INFINITY)}) {
    v1::UpdatePrioritiesRequest request;
    request.add_keys(1);
    request.add_priorities(100.0);  // valid, but must not be applied either
    request.add_keys(2);
    request.add_priorities(bad);
    int64_t updated = -1;
    absl::Status status = table->UpdatePriorities(request, &updated);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("priorities[1] is ")) << bad;
    EXPECT_THAT(status.message(), HasSubstr("(key 2)")) << bad;
    EXPECT_EQ(updated, 0);
  }
  v1::SampleResponse response;
  ASSERT_TRUE(table->Sample(50, Later(), &response).ok());
  for (int i = 0; i < response.keys_size(); ++i) {
    EXPECT_DOUBLE_EQ(response.probabilities(i), response.keys(i) == 1 ? 0.25 : 0.75);
  }
}

TEST(TableTest, LowestPriorityRemoverEvictsTheMinimumPriorityItem) {
  v1::TableConfig config = PrioritizedConfig(3, 1.0);
  config.mutable_remover()->mutable_lowest_priority();
  std::unique_ptr<Table> table = MakeTable(config);
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2, 3}, {5.0, 0.5, 2.0}), Later(), &stored).ok());
  ASSERT_TRUE(table->Insert(MakeRequest({4}, {1.0}), Later(), &stored).ok());
  EXPECT_EQ(table->Info().items_evicted(), 1);
  std::map<uint64_t, int> counts = SampleCounts(*table, 2000);
  EXPECT_EQ(counts.count(2), 0u) << "the lowest-priority item survived";
  EXPECT_EQ(counts.size(), 3u);
  // Key 4 (priority 1) is now the lowest.
  ASSERT_TRUE(table->Insert(MakeRequest({5}, {3.0}), Later(), &stored).ok());
  counts = SampleCounts(*table, 2000);
  EXPECT_EQ(counts.count(4), 0u);
}

TEST(TableTest, MaxTimesSampledRemovesItemsOnceSampledThatOften) {
  v1::TableConfig config = MakeConfig(10);
  config.set_max_times_sampled(2);
  std::unique_ptr<Table> table = MakeTable(config);
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2, 3}), Later(), &stored).ok());
  v1::SampleResponse response;
  ASSERT_TRUE(table->Sample(6, Later(), &response).ok());
  std::map<uint64_t, int> counts;
  for (uint64_t key : response.keys()) ++counts[key];
  EXPECT_EQ(counts, (std::map<uint64_t, int>{{1, 2}, {2, 2}, {3, 2}}));
  EXPECT_TRUE(RowsMatchKeys(response));
  EXPECT_EQ(table->Info().size(), 0);
  EXPECT_EQ(table->Info().items_evicted(), 3);
  // Nothing left: the next sample waits for inserts.
  v1::SampleResponse more;
  EXPECT_EQ(table->Sample(1, Soon(), &more).code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(TableTest, FreedSlotsAreReusedAndEvictionStaysOldestFirst) {
  v1::TableConfig config = MakeConfig(3);
  config.set_max_times_sampled(1);
  std::unique_ptr<Table> table = MakeTable(config);
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2, 3}), Later(), &stored).ok());
  v1::SampleResponse response;
  ASSERT_TRUE(table->Sample(1, Later(), &response).ok());
  const uint64_t gone = response.keys(0);
  ASSERT_TRUE(table->Insert(MakeRequest({4, 5}), Later(), &stored).ok());
  // 4 filled the freed slot; 5 evicted the oldest remaining item.
  EXPECT_EQ(table->Info().size(), 3);
  v1::SampleResponse rest;
  ASSERT_TRUE(table->Sample(3, Later(), &rest).ok());
  std::vector<uint64_t> keys(rest.keys().begin(), rest.keys().end());
  std::sort(keys.begin(), keys.end());
  std::vector<uint64_t> expected;
  for (uint64_t key : {1, 2, 3}) {
    if (key != gone) expected.push_back(key);
  }
  expected.erase(expected.begin());  // the oldest survivor was evicted
  expected.push_back(4);
  expected.push_back(5);
  EXPECT_EQ(keys, expected);
  EXPECT_TRUE(RowsMatchKeys(rest));
}

TEST(TableTest, FifoTableReturnsItemsInInsertionOrderEachOnce) {
  v1::TableConfig config = MakeConfig(10);
  config.mutable_selector()->mutable_fifo();
  std::unique_ptr<Table> table = MakeTable(config);
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({5, 3, 9}), Later(), &stored).ok());
  ASSERT_TRUE(table->Insert(MakeRequest({1, 7}), Later(), &stored).ok());
  v1::SampleResponse first;
  ASSERT_TRUE(table->Sample(2, Later(), &first).ok());
  EXPECT_THAT(first.keys(), ElementsAre(5, 3));
  EXPECT_THAT(first.probabilities(), ElementsAre(1.0, 1.0));
  EXPECT_TRUE(RowsMatchKeys(first));
  v1::SampleResponse second;
  ASSERT_TRUE(table->Sample(3, Later(), &second).ok());
  EXPECT_THAT(second.keys(), ElementsAre(9, 1, 7));
  EXPECT_EQ(table->Info().size(), 0);
  EXPECT_EQ(table->Info().selector(), "fifo");
}

TEST(TableTest, FifoSampleBlocksUntilAWholeBatchIsStoredAndTakesNothingBefore) {
  v1::TableConfig config = MakeConfig(10);
  config.mutable_selector()->mutable_fifo();
  std::unique_ptr<Table> table = MakeTable(config);
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2}), Later(), &stored).ok());
  v1::SampleResponse timed_out;
  absl::Status status = table->Sample(3, Soon(), &timed_out);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("the queue holds 2 items"));
  EXPECT_EQ(timed_out.keys_size(), 0);
  EXPECT_EQ(table->Info().size(), 2);

  absl::Notification done;
  absl::Status sample_status;
  v1::SampleResponse response;
  std::thread learner([&] {
    sample_status = table->Sample(3, Later(), &response);
    done.Notify();
  });
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(kStillBlocked));
  ASSERT_TRUE(table->Insert(MakeRequest({3}), Later(), &stored).ok());
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(kReleased));
  learner.join();
  ASSERT_TRUE(sample_status.ok()) << sample_status;
  EXPECT_THAT(response.keys(), ElementsAre(1, 2, 3));
}

TEST(TableTest, FifoTableRejectsBatchesLargerThanItsCapacity) {
  v1::TableConfig config = MakeConfig(4);
  config.mutable_selector()->mutable_fifo();
  std::unique_ptr<Table> table = MakeTable(config);
  v1::SampleResponse response;
  absl::Status status = table->Sample(5, Later(), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("capacity 4"));
}

TEST(TableTest, CreateRefusesARatioThatItemsLeavingAfterSamplingCanNeverReach) {
  v1::TableConfig config = MakeConfig(10);
  config.set_max_times_sampled(2);
  config.mutable_rate_limiter()->set_samples_per_insert(3);
  config.mutable_rate_limiter()->set_error_buffer(10);
  absl::Status status = Table::Create(config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("samples_per_insert 3 exceeds max_times_sampled 2"));
  EXPECT_THAT(status.message(), HasSubstr("deadlock"));

  config.mutable_selector()->mutable_fifo();
  config.set_max_times_sampled(0);
  config.mutable_rate_limiter()->set_samples_per_insert(1.5);
  EXPECT_THAT(Table::Create(config).status().message(), HasSubstr("a fifo queue hands out each item once"));

  config.mutable_rate_limiter()->set_samples_per_insert(1);
  EXPECT_TRUE(Table::Create(config).ok());
}

TEST(TableTest, FifoTableRejectsBatchesItsRateLimiterCanNeverAdmitAtOnce) {
  v1::TableConfig config = MakeConfig(100);
  config.mutable_selector()->mutable_fifo();
  config.mutable_rate_limiter()->set_min_size_to_sample(1);
  config.mutable_rate_limiter()->set_samples_per_insert(1);
  config.mutable_rate_limiter()->set_error_buffer(2);
  std::unique_ptr<Table> table = MakeTable(config);
  v1::SampleResponse response;
  // The queue never holds more than min_size_to_sample + error_buffer = 3.
  absl::Status status = table->Sample(4, Later(), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("batch_size 4 can never be admitted at once"));

  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(MakeRequest({1, 2, 3}), Later(), &stored).ok());
  ASSERT_TRUE(table->Sample(3, Later(), &response).ok());
  EXPECT_THAT(response.keys(), ElementsAre(1, 2, 3));
}

TEST(TableTest, FifoTableRejectsPriorityUpdates) {
  v1::TableConfig config = MakeConfig(4);
  config.mutable_selector()->mutable_fifo();
  std::unique_ptr<Table> table = MakeTable(config);
  v1::UpdatePrioritiesRequest request;
  request.add_keys(1);
  request.add_priorities(1.0);
  int64_t updated = 0;
  EXPECT_EQ(table->UpdatePriorities(request, &updated).code(), absl::StatusCode::kUnimplemented);
}

TEST(TableTest, CreateRejectsSelectorAndRemoverCombinationsThatCannotWork) {
  v1::TableConfig config = MakeConfig(10);
  config.mutable_remover()->mutable_lowest_priority();
  absl::Status status = Table::Create(config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("remover lowest_priority needs selector { prioritized {} }"));

  config = MakeConfig(10);
  config.mutable_selector()->mutable_fifo();
  config.set_max_times_sampled(2);
  EXPECT_THAT(Table::Create(config).status().message(), HasSubstr("max_times_sampled 2 with selector fifo"));

  config = PrioritizedConfig(10, 0.6, /*beta=*/1.5);
  EXPECT_THAT(Table::Create(config).status().message(), HasSubstr("importance_sampling_exponent 1.5"));

  config = PrioritizedConfig(10, /*alpha=*/-1);
  EXPECT_THAT(Table::Create(config).status().message(), HasSubstr("priority_exponent -1"));
}

}  // namespace
}  // namespace rill::replay
