// The callback reactors of ReplayServiceImpl over a real gRPC server: how a
// request the rate limiter holds back waits in its table's admission queue
// and what releases it. The table's limiter (samples_per_insert 1,
// error_buffer 1, min_size_to_sample 1) lets inserts - samples reach 2: once
// keys 1 and 2 are stored, each further insert waits for a sample.
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "prometheus/registry.h"
#include "common/grpc_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/server/replay_service.h"
#include "replay/testing/test_items.h"

namespace rill::replay {
namespace {

using ::testing::ElementsAre;

constexpr absl::Duration kStillBlocked = absl::Milliseconds(200);
constexpr absl::Duration kReleased = absl::Seconds(10);

using InsertStream = grpc::ClientReaderWriter<v1::InsertRequest, v1::InsertResponse>;
using SampleStream = grpc::ClientReaderWriter<v1::SampleRequest, v1::SampleResponse>;

// A writer on its own stream whose first request waits in the queue; a
// thread reads its acknowledgement and the stream's end.
class QueuedWriter {
 public:
  QueuedWriter(v1::ReplayService::Stub& stub, std::vector<uint64_t> keys, absl::Duration timeout = absl::Seconds(30)) {
    context_.set_deadline(DeadlineIn(timeout));
    stream_ = stub.Insert(&context_);
    EXPECT_TRUE(stream_->Write(TestInsertRequest(keys)));
    reader_ = std::thread([this] {
      v1::InsertResponse response;
      if (stream_->Read(&response)) {
        keys_.assign(response.keys().begin(), response.keys().end());
        acked_.Notify();
        stream_->WritesDone();
      }
      status_ = stream_->Finish();
      ended_.Notify();
    });
  }
  ~QueuedWriter() {
    context_.TryCancel();
    reader_.join();
  }

  void Cancel() { context_.TryCancel(); }
  absl::Notification& acked() { return acked_; }
  absl::Notification& ended() { return ended_; }
  // After ended().
  const grpc::Status& status() const { return status_; }
  const std::vector<uint64_t>& keys() const { return keys_; }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<InsertStream> stream_;
  std::thread reader_;
  absl::Notification acked_;
  absl::Notification ended_;
  std::vector<uint64_t> keys_;
  grpc::Status status_;
};

class ReplayServiceReactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v1::ReplayConfig config;
    *config.add_tables() =
        TestTableConfig(100, /*min_size_to_sample=*/1, /*samples_per_insert=*/1, /*error_buffer=*/1);
    absl::StatusOr<std::unique_ptr<ReplayServiceImpl>> service =
        ReplayServiceImpl::Create(config, /*shard_index=*/0, &registry_);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    absl::StatusOr<StartedServer> server = StartGrpcServer("127.0.0.1:0", {service_.get()}, 64 << 20);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server->server);
    stub_ = v1::ReplayService::NewStub(MakeChannel(absl::StrCat("127.0.0.1:", server->port), 64 << 20));
    queue_ = service_->queue(service_->FindTable(kTestTable));
  }

  void TearDown() override {
    service_->Shutdown();
    server_->Shutdown(DeadlineIn(absl::Seconds(5)));
  }

  // Stores keys 1 and 2: from then on an insert waits for a sample.
  void FillToTheRatio() {
    QueuedWriter writer(*stub_, {1, 2});
    ASSERT_TRUE(writer.ended().WaitForNotificationWithTimeout(kReleased));
    ASSERT_TRUE(writer.status().ok()) << writer.status().error_message();
  }

  // One batch of `batch_size` over a fresh Sample stream.
  v1::SampleResponse SampleBatch(int batch_size) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    std::unique_ptr<SampleStream> stream = stub_->Sample(&context);
    v1::SampleRequest request;
    request.set_table(kTestTable);
    request.set_batch_size(batch_size);
    request.set_num_batches(1);
    v1::SampleResponse response;
    EXPECT_TRUE(stream->Write(request));
    EXPECT_TRUE(stream->Read(&response));
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
    return response;
  }

  v1::TableInfo TableInfo() { return service_->FindTable(kTestTable)->Info(); }

  // The histogram `name`'s series for `method`: (observations, sum of seconds).
  std::pair<uint64_t, double> Histogram(const std::string& name, const std::string& method) {
    for (const prometheus::MetricFamily& family : registry_.Collect()) {
      if (family.name != name) continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        for (const prometheus::ClientMetric::Label& label : metric.label) {
          if (label.name == "method" && label.value == method) {
            return {metric.histogram.sample_count, metric.histogram.sample_sum};
          }
        }
      }
    }
    return {0, -1};
  }

  prometheus::Registry registry_;
  std::unique_ptr<ReplayServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::ReplayService::Stub> stub_;
  AdmissionQueue* queue_ = nullptr;
};

TEST_F(ReplayServiceReactorTest, BlockedInsertIsReleasedByASample) {
  FillToTheRatio();
  QueuedWriter writer(*stub_, {3});
  EXPECT_FALSE(writer.acked().WaitForNotificationWithTimeout(kStillBlocked));
  EXPECT_EQ(queue_->waiting_inserts(), 1);
  EXPECT_TRUE(TableInfo().rate_limiter().insert_blocked());

  SampleBatch(1);
  ASSERT_TRUE(writer.acked().WaitForNotificationWithTimeout(kReleased));
  EXPECT_THAT(writer.keys(), ElementsAre(3));
  ASSERT_TRUE(writer.ended().WaitForNotificationWithTimeout(kReleased));
  EXPECT_TRUE(writer.status().ok()) << writer.status().error_message();
  EXPECT_EQ(queue_->waiting_inserts(), 0);
}

TEST_F(ReplayServiceReactorTest, BlockedSampleIsReleasedByAnInsert) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  std::unique_ptr<SampleStream> stream = stub_->Sample(&context);
  v1::SampleRequest request;
  request.set_table(kTestTable);
  request.set_batch_size(1);
  request.set_num_batches(1);
  ASSERT_TRUE(stream->Write(request));
  absl::Notification received;
  v1::SampleResponse response;
  std::thread reader([&] {
    if (stream->Read(&response)) received.Notify();
  });
  EXPECT_FALSE(received.WaitForNotificationWithTimeout(kStillBlocked));
  EXPECT_EQ(queue_->waiting_samples(), 1);

  QueuedWriter writer(*stub_, {5});
  EXPECT_TRUE(received.WaitForNotificationWithTimeout(kReleased));
  context.TryCancel();
  reader.join();
  EXPECT_THAT(response.keys(), ElementsAre(5));
  EXPECT_TRUE(RowsMatchKeys(response));
  EXPECT_EQ(queue_->waiting_samples(), 0);
}

// rill_replay_rpc_seconds counts the time an insert waited for the rate
// limiter; rill_replay_admitted_seconds only what followed its admission.
TEST_F(ReplayServiceReactorTest, AdmittedLatencyLeavesOutTheRateLimitersWait) {
  FillToTheRatio();
  const absl::Time queued = absl::Now();
  QueuedWriter writer(*stub_, {3});
  ASSERT_FALSE(writer.acked().WaitForNotificationWithTimeout(kStillBlocked));
  const absl::Duration held = absl::Now() - queued;
  SampleBatch(1);
  ASSERT_TRUE(writer.ended().WaitForNotificationWithTimeout(kReleased));
  ASSERT_TRUE(writer.status().ok()) << writer.status().error_message();

  // The filling request and the held one.
  const auto [rpc_count, rpc_sum] = Histogram("rill_replay_rpc_seconds", "Insert");
  const auto [admitted_count, admitted_sum] = Histogram("rill_replay_admitted_seconds", "Insert");
  EXPECT_EQ(rpc_count, 2u);
  EXPECT_EQ(admitted_count, 2u);
  // The sample's own batch went through the admission histogram too.
  EXPECT_EQ(Histogram("rill_replay_admitted_seconds", "Sample").first, 1u);
  EXPECT_GE(rpc_sum, absl::ToDoubleSeconds(held) - 0.05) << "the held insert's wait is in the RPC latency";
  EXPECT_LT(admitted_sum, absl::ToDoubleSeconds(held) / 2) << "and not in the admitted latency";
}

TEST_F(ReplayServiceReactorTest, DeadlineWhileQueuedIsDeadlineExceededAndStoresNothing) {
  FillToTheRatio();
  QueuedWriter writer(*stub_, {3}, /*timeout=*/absl::Milliseconds(300));
  ASSERT_TRUE(writer.ended().WaitForNotificationWithTimeout(kReleased));
  EXPECT_FALSE(writer.acked().HasBeenNotified());
  EXPECT_EQ(writer.status().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << writer.status().error_message();
  // The server cancels the call at the same deadline: the entry goes.
  EXPECT_TRUE(WaitFor([&] { return queue_->waiting_inserts() == 0; }));
  // Room for one more insert now: the expired request must not take it.
  SampleBatch(1);
  EXPECT_EQ(TableInfo().items_inserted(), 2);
}

TEST_F(ReplayServiceReactorTest, ShutdownWhileQueuedIsCancelled) {
  FillToTheRatio();
  QueuedWriter writer(*stub_, {3});
  EXPECT_FALSE(writer.ended().WaitForNotificationWithTimeout(kStillBlocked));
  EXPECT_EQ(queue_->waiting_inserts(), 1);
  service_->Shutdown();
  ASSERT_TRUE(writer.ended().WaitForNotificationWithTimeout(kReleased));
  EXPECT_FALSE(writer.acked().HasBeenNotified());
  EXPECT_EQ(writer.status().error_code(), grpc::StatusCode::CANCELLED) << writer.status().error_message();
  EXPECT_EQ(queue_->waiting_inserts(), 0);
}

TEST_F(ReplayServiceReactorTest, QueuedWritersAreAdmittedInArrivalOrder) {
  FillToTheRatio();
  std::vector<std::unique_ptr<QueuedWriter>> writers;
  for (uint64_t key : {10, 11, 12}) {
    writers.push_back(std::make_unique<QueuedWriter>(*stub_, std::vector<uint64_t>{key}));
    // Known arrival order: each one queued before the next starts.
    ASSERT_TRUE(WaitFor([&] { return queue_->waiting_inserts() == static_cast<int64_t>(writers.size()); }));
  }
  for (size_t i = 0; i < writers.size(); ++i) {
    SampleBatch(1);  // room for exactly one insert
    ASSERT_TRUE(writers[i]->acked().WaitForNotificationWithTimeout(kReleased)) << "writer " << i;
    for (size_t j = i + 1; j < writers.size(); ++j) {
      EXPECT_FALSE(writers[j]->acked().HasBeenNotified()) << "writer " << j << " overtook writer " << i;
    }
  }
}

TEST_F(ReplayServiceReactorTest, AWriterThatDisconnectsWhileQueuedLeavesNoTrace) {
  FillToTheRatio();
  auto gone = std::make_unique<QueuedWriter>(*stub_, std::vector<uint64_t>{3});
  ASSERT_TRUE(WaitFor([&] { return queue_->waiting_inserts() == 1; }));
  QueuedWriter next(*stub_, {4});
  ASSERT_TRUE(WaitFor([&] { return queue_->waiting_inserts() == 2; }));
  const int64_t streams = service_->open_streams();

  gone->Cancel();
  ASSERT_TRUE(gone->ended().WaitForNotificationWithTimeout(kReleased));
  EXPECT_EQ(gone->status().error_code(), grpc::StatusCode::CANCELLED);
  gone.reset();
  EXPECT_TRUE(WaitFor([&] { return queue_->waiting_inserts() == 1 && service_->open_streams() == streams - 1; }));

  // The next writer is now the head: one sample admits it, not the gone one.
  SampleBatch(1);
  ASSERT_TRUE(next.acked().WaitForNotificationWithTimeout(kReleased));
  EXPECT_THAT(next.keys(), ElementsAre(4));
  const v1::TableInfo info = TableInfo();
  EXPECT_EQ(info.items_inserted(), 3);
  EXPECT_EQ(queue_->waiting_inserts(), 0);
}

}  // namespace
}  // namespace rill::replay
