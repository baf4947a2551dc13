#include "replay/writer.h"

#include <algorithm>
#include <memory>
#include <set>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/test_items.h"
#include "replay/test_server.h"

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

WriterOptions Options(const TestShard& shard) {
  WriterOptions options;
  options.address = shard.address();
  options.table = kTestTable;
  options.signature = TestSignature();
  options.batch_items = 4;
  options.max_in_flight_batches = 2;
  options.key_prefix = 7;
  options.first_sequence = 0;
  options.rpc_timeout = absl::Seconds(10);
  return options;
}

std::unique_ptr<ReplayWriter> MakeWriter(const WriterOptions& options) {
  absl::StatusOr<std::unique_ptr<ReplayWriter>> writer = ReplayWriter::Create(options);
  EXPECT_TRUE(writer.ok()) << writer.status();
  return writer.ok() ? *std::move(writer) : nullptr;
}

// Appends items with sequence numbers [first, first + n) (item data follows the keys).
absl::Status AppendItems(ReplayWriter& writer, uint64_t first, int n) {
  std::vector<uint64_t> keys;
  for (int i = 0; i < n; ++i) keys.push_back(first + i);
  TestItems items = MakeTestItems(keys);
  return writer.Append(items.columns(), n);
}

// Every key the table holds, read through a large uniform sample.
std::set<uint64_t> SampledKeys(Table& table, int draws) {
  v1::SampleResponse response;
  absl::Status status = table.Sample(draws, absl::Now() + absl::Seconds(10), &response);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_TRUE(RowsMatchKeys(response));
  return std::set<uint64_t>(response.keys().begin(), response.keys().end());
}

TEST(ReplayWriterTest, SendsBatchesAndFlushWaitsForAllAcks) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(1000));
  std::unique_ptr<ReplayWriter> writer = MakeWriter(Options(*shard));
  ASSERT_TRUE(AppendItems(*writer, 0, 3).ok());
  ASSERT_TRUE(AppendItems(*writer, 3, 8).ok());  // crosses two batch boundaries
  ASSERT_TRUE(writer->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(writer->acked_items(), 11);
  v1::TableInfo info = shard->table().Info();
  EXPECT_EQ(info.size(), 11);
  const std::set<uint64_t> keys = SampledKeys(shard->table(), 2000);
  EXPECT_EQ(keys.size(), 11u);
  for (uint64_t key : keys) {
    EXPECT_EQ(key >> ReplayWriter::kSequenceBits, 7u) << "actor id in the high bits";
    EXPECT_LT(key & ((uint64_t{1} << ReplayWriter::kSequenceBits) - 1), 11u);
  }
}

TEST(ReplayWriterTest, AppendBlocksWhileMaxInFlightBatchesAreUnacknowledged) {
  // The rate limiter admits two items ahead of samples: later batches wait.
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(1000, 1, 1.0, 1.0));
  WriterOptions options = Options(*shard);
  options.batch_items = 1;
  options.max_in_flight_batches = 1;
  std::unique_ptr<ReplayWriter> writer = MakeWriter(options);
  ASSERT_TRUE(AppendItems(*writer, 0, 1).ok());
  ASSERT_TRUE(AppendItems(*writer, 1, 1).ok());
  ASSERT_TRUE(AppendItems(*writer, 2, 1).ok());  // stored only after a sample

  absl::Notification appended;
  absl::Status status;
  std::thread actor([&] {
    status = AppendItems(*writer, 3, 1);
    appended.Notify();
  });
  EXPECT_FALSE(appended.WaitForNotificationWithTimeout(kStillBlocked));
  EXPECT_EQ(writer->acked_items(), 2);
  v1::SampleResponse response;
  ASSERT_TRUE(shard->table().Sample(1, absl::Now() + absl::Seconds(10), &response).ok());
  EXPECT_TRUE(appended.WaitForNotificationWithTimeout(kReleased));
  actor.join();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(writer->acked_items(), 3);
}

TEST(ReplayWriterTest, AppendTimesOutWithDeadlineExceededAndTakesNothing) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(1000, 1, 1.0, 1.0));
  WriterOptions options = Options(*shard);
  options.batch_items = 1;
  options.max_in_flight_batches = 1;
  options.rpc_timeout = absl::Milliseconds(100);
  std::unique_ptr<ReplayWriter> writer = MakeWriter(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(AppendItems(*writer, i, 1).ok());
  absl::Status status = AppendItems(*writer, 3, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("await acknowledgement"));
  // After a sample makes room, the same items go through, and only once.
  v1::SampleResponse response;
  ASSERT_TRUE(shard->table().Sample(2, absl::Now() + absl::Seconds(10), &response).ok());
  ASSERT_TRUE(AppendItems(*writer, 3, 1).ok());
  ASSERT_TRUE(writer->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(writer->acked_items(), 4);
  EXPECT_EQ(shard->table().Info().items_inserted(), 4);
}

TEST(ReplayWriterTest, SignatureMismatchIsReturnedNotRetried) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(1000));
  WriterOptions options = Options(*shard);
  options.signature.mutable_columns(1)->set_dtype(v1::DTYPE_FLOAT64);  // same size, wrong dtype
  std::unique_ptr<ReplayWriter> writer = MakeWriter(options);
  ASSERT_TRUE(AppendItems(*writer, 0, 4).ok());
  absl::Status status = writer->Flush(absl::Seconds(10));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("column 'action'"));
  EXPECT_EQ(AppendItems(*writer, 4, 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(writer->reconnects(), 0);
  EXPECT_EQ(shard->table().Info().size(), 0);
}

TEST(ReplayWriterTest, UnknownTableIsReturnedAsNotFound) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(1000));
  WriterOptions options = Options(*shard);
  options.table = "nope";
  std::unique_ptr<ReplayWriter> writer = MakeWriter(options);
  ASSERT_TRUE(AppendItems(*writer, 0, 4).ok());
  absl::Status status = writer->Flush(absl::Seconds(10));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("'nope'"));
}

TEST(ReplayWriterTest, ResendsUnacknowledgedBatchesWithTheSameKeysAfterAShardRestart) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(1000));
  const int port = shard->port();
  std::unique_ptr<ReplayWriter> writer = MakeWriter(Options(*shard));
  ASSERT_TRUE(AppendItems(*writer, 0, 4).ok());
  ASSERT_TRUE(writer->Flush(absl::Seconds(10)).ok());
  ASSERT_EQ(writer->acked_items(), 4);

  shard->Stop();
  // Two more batches, which the stopped shard cannot acknowledge.
  ASSERT_TRUE(AppendItems(*writer, 4, 8).ok());
  EXPECT_EQ(writer->Flush(absl::Milliseconds(200)).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(writer->acked_items(), 4);

  std::unique_ptr<TestShard> restarted = StartShard(TestTableConfig(1000), port);
  ASSERT_NE(restarted, nullptr);
  ASSERT_TRUE(writer->Flush(absl::Seconds(20)).ok());
  EXPECT_EQ(writer->acked_items(), 12);
  EXPECT_GE(writer->reconnects(), 1);
  // The restarted (empty) shard holds exactly the resent items, keys unchanged.
  EXPECT_EQ(restarted->table().Info().size(), 8);
  std::set<uint64_t> expected;
  for (uint64_t seq = 4; seq < 12; ++seq) expected.insert((uint64_t{7} << ReplayWriter::kSequenceBits) | seq);
  EXPECT_EQ(SampledKeys(restarted->table(), 2000), expected);
}

TEST(ReplayWriterTest, CreateRejectsBadOptions) {
  WriterOptions options;
  options.address = "127.0.0.1:1";
  options.table = kTestTable;
  options.signature = TestSignature();
  options.key_prefix = 1 << 24;
  EXPECT_THAT(ReplayWriter::Create(options).status().message(), HasSubstr("key_prefix"));
  options.key_prefix = 0;
  options.batch_items = 0;
  EXPECT_THAT(ReplayWriter::Create(options).status().message(), HasSubstr("batch_items"));
  options.batch_items = 1 << 20;
  options.max_message_bytes = 1 << 20;
  EXPECT_THAT(ReplayWriter::Create(options).status().message(), HasSubstr("over max_message_bytes"));
}

TEST(ReplayWriterTest, AppendRejectsWrongColumnCount) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(1000));
  std::unique_ptr<ReplayWriter> writer = MakeWriter(Options(*shard));
  float obs[2] = {0, 0.5};
  EXPECT_EQ(writer->Append({obs}, 1).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rill::replay
