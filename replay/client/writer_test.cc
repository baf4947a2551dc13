#include "replay/client/writer.h"

#include <algorithm>
#include <functional>
#include <memory>
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

WriterOptions Options(const TestShard& shard) {
  WriterOptions options;
  options.addresses = {shard.address()};
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

uint64_t Key(uint64_t prefix, uint64_t sequence) { return (prefix << ReplayWriter::kSequenceBits) | sequence; }

std::set<uint64_t> Keys(uint64_t prefix, uint64_t first, uint64_t end) {
  std::set<uint64_t> keys;
  for (uint64_t seq = first; seq < end; ++seq) keys.insert(Key(prefix, seq));
  return keys;
}

// Options for a writer over several shards, with quick failure detection.
WriterOptions ShardedOptions(const std::vector<TestShard*>& shards, uint64_t key_prefix) {
  WriterOptions options = Options(*shards[0]);
  options.addresses.clear();
  for (TestShard* shard : shards) options.addresses.push_back(shard->address());
  options.key_prefix = key_prefix;
  options.ack_timeout = absl::Milliseconds(300);
  options.probe_timeout = absl::Milliseconds(300);
  options.probe_interval = absl::Milliseconds(50);
  return options;
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

TEST(ReplayWriterTest, ReportsTheRoundTripOfEveryAcknowledgedBatch) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(1000));
  WriterOptions options = Options(*shard);
  absl::Mutex mu;
  std::vector<absl::Duration> latencies;
  options.on_ack_latency = [&](absl::Duration latency) {
    absl::MutexLock lock(&mu);
    latencies.push_back(latency);
  };
  std::unique_ptr<ReplayWriter> writer = MakeWriter(options);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(AppendItems(*writer, 0, 11).ok());  // batches of 4, 4 and 3
  ASSERT_TRUE(writer->Flush(absl::Seconds(10)).ok());
  const absl::Duration elapsed = absl::Now() - start;
  absl::MutexLock lock(&mu);
  ASSERT_EQ(latencies.size(), 3u);
  for (absl::Duration latency : latencies) {
    EXPECT_GT(latency, absl::ZeroDuration());
    EXPECT_LE(latency, elapsed);
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
  // The wait is counted (rill_actor_replay_blocked_seconds_total). The clock
  // starts inside Append, a little after this thread began waiting, so the
  // count is held to half the wait observed here (CI once counted 198.7 ms of
  // a 200 ms wait).
  EXPECT_GE(writer->blocked(), kStillBlocked / 2);
  // The actor's per-step snapshot says the same under one lock.
  const WriterStats stats = writer->stats();
  EXPECT_EQ(stats.blocked, writer->blocked());
  EXPECT_EQ(stats.window_batches, writer->window_batches());
  EXPECT_EQ(stats.current_shard, 0);
  EXPECT_EQ(stats.failovers, 0);
}

TEST(ReplayWriterTest, AppendTimesOutWithDeadlineExceededAndTakesNothing) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(1000, 1, 1.0, 1.0));
  WriterOptions options = Options(*shard);
  options.batch_items = 1;
  options.max_in_flight_batches = 1;
  // Long enough for the first three acks under ThreadSanitizer (--config=tsan
  // missed 100 ms once in six runs); the fourth append waits all of it.
  options.rpc_timeout = absl::Milliseconds(500);
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

TEST(ReplayWriterTest, WritesEverythingToTheHomeShardPickedByActorId) {
  std::unique_ptr<TestShard> a = StartShard(TestTableConfig(1000));
  std::unique_ptr<TestShard> b = StartShard(TestTableConfig(1000));
  std::unique_ptr<TestShard> c = StartShard(TestTableConfig(1000));
  // Actor 4 of 3 shards: home shard 1.
  std::unique_ptr<ReplayWriter> writer = MakeWriter(ShardedOptions({a.get(), b.get(), c.get()}, 4));
  EXPECT_EQ(writer->home_shard(), 1);
  ASSERT_TRUE(AppendItems(*writer, 0, 12).ok());
  ASSERT_TRUE(writer->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(a->table().Info().size(), 0);
  EXPECT_EQ(b->table().Info().size(), 12);
  EXPECT_EQ(c->table().Info().size(), 0);
  EXPECT_EQ(writer->acked_items_by_shard(), (std::vector<int64_t>{0, 12, 0}));
  EXPECT_EQ(writer->failovers(), 0);
}

TEST(ReplayWriterTest, FailsOverWhileTheHomeShardIsDownAndReturnsHomeWhenItIsBack) {
  std::unique_ptr<TestShard> a = StartShard(TestTableConfig(1000));
  std::unique_ptr<TestShard> b = StartShard(TestTableConfig(1000));
  const int port_a = a->port();
  std::unique_ptr<ReplayWriter> writer = MakeWriter(ShardedOptions({a.get(), b.get()}, 0));
  ASSERT_TRUE(AppendItems(*writer, 0, 8).ok());
  ASSERT_TRUE(writer->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(a->table().Info().size(), 8);

  a->Stop();
  ASSERT_TRUE(WaitFor([&] { return writer->current_shard() == 1; })) << "no failover to shard 1";
  EXPECT_FALSE(writer->shard_up(0));
  EXPECT_EQ(writer->failovers(), 1);
  ASSERT_TRUE(AppendItems(*writer, 8, 8).ok());
  ASSERT_TRUE(writer->Flush(absl::Seconds(10)).ok()) << "the other shard acknowledges while home is down";
  EXPECT_EQ(SampledKeys(b->table(), 2000), Keys(0, 8, 16));

  std::unique_ptr<TestShard> restarted = StartShard(TestTableConfig(1000), port_a);
  ASSERT_NE(restarted, nullptr);
  ASSERT_TRUE(WaitFor([&] { return writer->current_shard() == 0; })) << "did not return to the home shard";
  EXPECT_TRUE(writer->shard_up(0));
  ASSERT_TRUE(AppendItems(*writer, 16, 8).ok());
  ASSERT_TRUE(writer->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(SampledKeys(restarted->table(), 2000), Keys(0, 16, 24));
  EXPECT_EQ(b->table().Info().size(), 8);
  EXPECT_EQ(writer->acked_items(), 24);
  EXPECT_EQ(writer->failovers(), 1);
}

TEST(ReplayWriterTest, AShardHoldingAcknowledgementsBackForItsRateLimiterIsNotFailedOver) {
  // Admits two items ahead of samples, then holds inserts back; it still
  // answers its health checks.
  std::unique_ptr<TestShard> a = StartShard(TestTableConfig(1000, 1, 1.0, 1.0));
  std::unique_ptr<TestShard> b = StartShard(TestTableConfig(1000));
  WriterOptions options = ShardedOptions({a.get(), b.get()}, 0);
  options.batch_items = 1;
  options.max_in_flight_batches = 2;
  options.ack_timeout = absl::Milliseconds(100);
  std::unique_ptr<ReplayWriter> writer = MakeWriter(options);
  ASSERT_TRUE(AppendItems(*writer, 0, 4).ok());
  // Several ack timeouts pass, each followed by a health check that answers.
  EXPECT_EQ(writer->Flush(absl::Seconds(1)).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(writer->acked_items(), 2);
  EXPECT_EQ(writer->failovers(), 0);
  EXPECT_EQ(writer->current_shard(), 0);
  v1::SampleResponse response;
  ASSERT_TRUE(a->table().Sample(2, absl::Now() + absl::Seconds(10), &response).ok());
  ASSERT_TRUE(writer->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(a->table().Info().items_inserted(), 4);
  EXPECT_EQ(b->table().Info().size(), 0);
}

TEST(ReplayWriterTest, FlushWhileAcknowledgedWaitsOnAShardThatAdmitsItemsSlowly) {
  // Admits two items ahead of samples; a learner samples one item every
  // 150 ms, so the six items take longer than one idle window to drain.
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(1000, 1, 1.0, 1.0));
  WriterOptions options = Options(*shard);
  options.batch_items = 1;
  options.max_in_flight_batches = 6;
  std::unique_ptr<ReplayWriter> writer = MakeWriter(options);
  ASSERT_TRUE(AppendItems(*writer, 0, 6).ok());
  absl::Notification done;
  std::thread learner([&] {
    while (!done.WaitForNotificationWithTimeout(absl::Milliseconds(150))) {
      v1::SampleResponse response;
      (void)shard->table().Sample(1, absl::Now() + absl::Milliseconds(100), &response);
    }
  });
  const absl::Time start = absl::Now();
  EXPECT_TRUE(writer->FlushWhileAcknowledged(absl::Milliseconds(400)).ok());
  EXPECT_GT(absl::Now() - start, absl::Milliseconds(400));  // longer than one window: Flush(400ms) would fail
  EXPECT_EQ(writer->acked_items(), 6);
  done.Notify();
  learner.join();

  // With nothing sampled, an idle window fails it.
  ASSERT_TRUE(AppendItems(*writer, 6, 4).ok());
  EXPECT_EQ(writer->FlushWhileAcknowledged(absl::Milliseconds(300)).code(), absl::StatusCode::kDeadlineExceeded);
}

// Item 2 is sent to home shard A, which holds it back (its rate limiter
// admits two items ahead of samples), and then A dies. Item 2 stays bound to
// A; items 3..6, never sent to A, go to shard B.
struct StrandedBatch {
  std::unique_ptr<TestShard> a, b;
  int port_a = 0;
  std::unique_ptr<ReplayWriter> writer;

  explicit StrandedBatch(absl::Duration rebind_grace) {
    a = StartShard(TestTableConfig(1000, 1, 1.0, 1.0));
    b = StartShard(TestTableConfig(1000));
    port_a = a->port();
    WriterOptions options = ShardedOptions({a.get(), b.get()}, 0);
    options.batch_items = 1;
    options.max_in_flight_batches = 1;
    options.rebind_grace = rebind_grace;
    writer = MakeWriter(options);
    EXPECT_TRUE(AppendItems(*writer, 0, 3).ok());
    // Item 2 has reached A: A's insert side is waiting.
    EXPECT_TRUE(WaitFor([&] { return a->table().Info().rate_limiter().insert_blocked_seconds() > 0; }));
    // Item 1's acknowledgement may still be on its way to the writer's count.
    EXPECT_TRUE(WaitFor([&] { return writer->acked_items() == 2; })) << writer->acked_items() << " acked";
    a->Stop();
    EXPECT_TRUE(WaitFor([&] { return writer->current_shard() == 1; })) << "no failover to shard 1";
    EXPECT_TRUE(AppendItems(*writer, 3, 4).ok());
  }
};

TEST(ReplayWriterTest, BatchesSentToADeadShardWaitForItAndAreResentToItWhenItReturns) {
  StrandedBatch run(/*rebind_grace=*/absl::Seconds(60));
  absl::Status flushed = run.writer->Flush(absl::Milliseconds(500));
  EXPECT_EQ(flushed.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(flushed.message(), HasSubstr("1 on shard 0 (down)"));
  EXPECT_EQ(SampledKeys(run.b->table(), 2000), Keys(0, 3, 7));

  std::unique_ptr<TestShard> restarted = StartShard(TestTableConfig(1000), run.port_a);
  ASSERT_NE(restarted, nullptr);
  ASSERT_TRUE(run.writer->Flush(absl::Seconds(20)).ok());
  EXPECT_EQ(SampledKeys(restarted->table(), 2000), Keys(0, 2, 3));
  EXPECT_EQ(run.b->table().Info().size(), 4);
  EXPECT_EQ(run.writer->acked_items(), 7);
  EXPECT_EQ(run.writer->rebound_batches(), 0);
}

TEST(ReplayWriterTest, BatchesBoundToAShardDownPastTheGraceMoveToTheCurrentShard) {
  StrandedBatch run(/*rebind_grace=*/absl::Milliseconds(300));
  ASSERT_TRUE(run.writer->Flush(absl::Seconds(20)).ok());
  EXPECT_EQ(SampledKeys(run.b->table(), 2000), Keys(0, 2, 7));
  EXPECT_EQ(run.writer->rebound_batches(), 1);
  EXPECT_EQ(run.writer->acked_items(), 7);
}

TEST(ReplayWriterTest, CreateRejectsBadOptions) {
  WriterOptions options;
  options.addresses = {"127.0.0.1:1"};
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
  options.max_message_bytes = 64 << 20;
  options.batch_items = 4;
  options.addresses = {"127.0.0.1:1", ""};
  EXPECT_THAT(ReplayWriter::Create(options).status().message(), HasSubstr("addresses[1] is empty"));
  options.addresses = {"127.0.0.1:1"};
  options.ack_timeout = absl::ZeroDuration();
  EXPECT_THAT(ReplayWriter::Create(options).status().message(), HasSubstr("ack_timeout"));
}

TEST(ReplayWriterTest, AppendRejectsWrongColumnCount) {
  std::unique_ptr<TestShard> shard = StartShard(TestTableConfig(1000));
  std::unique_ptr<ReplayWriter> writer = MakeWriter(Options(*shard));
  float obs[2] = {0, 0.5};
  EXPECT_EQ(writer->Append({obs}, 1).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rill::replay
