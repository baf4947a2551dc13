#include "replay/server/replay_service.h"

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "common/grpc_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "replay/testing/test_items.h"

namespace rill::replay {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kStillBlocked = absl::Milliseconds(200);
constexpr absl::Duration kReleased = absl::Seconds(10);
constexpr int64_t kServerMaxMessageBytes = 64 << 10;

using InsertStream = grpc::ClientReaderWriter<v1::InsertRequest, v1::InsertResponse>;
using SampleStream = grpc::ClientReaderWriter<v1::SampleRequest, v1::SampleResponse>;

// A shard with one test table on 127.0.0.1:<free port>, and a client stub.
class ReplayServiceTest : public ::testing::Test {
 protected:
  void StartServer(const v1::TableConfig& table_config) {
    v1::ReplayConfig config;
    *config.add_tables() = table_config;
    config.set_max_message_bytes(kServerMaxMessageBytes);
    absl::StatusOr<std::unique_ptr<ReplayServiceImpl>> service =
        ReplayServiceImpl::Create(config, /*shard_index=*/3, &registry_);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    absl::StatusOr<StartedServer> server =
        StartGrpcServer("127.0.0.1:0", {service_.get()}, kServerMaxMessageBytes);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server->server);
    // The client may send more than the server accepts: the server must say no.
    stub_ = v1::ReplayService::NewStub(MakeChannel(absl::StrCat("127.0.0.1:", server->port), 64 << 20));
  }

  void TearDown() override {
    if (service_ != nullptr) service_->Shutdown();
    if (server_ != nullptr) server_->Shutdown(DeadlineIn(absl::Seconds(5)));
  }

  // Inserts `keys` on a fresh stream and expects them acknowledged.
  void InsertKeys(const std::vector<uint64_t>& keys) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    std::unique_ptr<InsertStream> stream = stub_->Insert(&context);
    ASSERT_TRUE(stream->Write(TestInsertRequest(keys)));
    v1::InsertResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(std::vector<uint64_t>(response.keys().begin(), response.keys().end()), keys);
    ASSERT_TRUE(stream->WritesDone());
    grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  v1::InfoResponse GetInfo() {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    v1::InfoResponse response;
    grpc::Status status = stub_->Info(&context, v1::InfoRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  double MetricValue(const std::string& name, const std::string& label_value) {
    for (const prometheus::MetricFamily& family : registry_.Collect()) {
      if (family.name != name) continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        for (const prometheus::ClientMetric::Label& label : metric.label) {
          if (label.value != label_value) continue;
          if (family.type == prometheus::MetricType::Counter) return metric.counter.value;
          if (family.type == prometheus::MetricType::Gauge) return metric.gauge.value;
          if (family.type == prometheus::MetricType::Histogram) return metric.histogram.sample_count;
        }
      }
    }
    return -1;
  }

  prometheus::Registry registry_;
  std::unique_ptr<ReplayServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::ReplayService::Stub> stub_;
};

TEST_F(ReplayServiceTest, InsertAcknowledgesEachRequestWithItsKeys) {
  StartServer(TestTableConfig(100));
  grpc::ClientContext context;
  std::unique_ptr<InsertStream> stream = stub_->Insert(&context);
  v1::InsertResponse response;
  ASSERT_TRUE(stream->Write(TestInsertRequest({1, 2, 3})));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_THAT(response.keys(), ElementsAre(1, 2, 3));
  ASSERT_TRUE(stream->Write(TestInsertRequest({4})));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_THAT(response.keys(), ElementsAre(4));
  // A retry is acknowledged again and stored once.
  ASSERT_TRUE(stream->Write(TestInsertRequest({3, 4})));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_THAT(response.keys(), ElementsAre(3, 4));
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(GetInfo().tables(0).size(), 4);
}

TEST_F(ReplayServiceTest, SampleSendsOneWholeBatchPerCredit) {
  StartServer(TestTableConfig(100));
  InsertKeys({1, 2, 3, 4, 5, 6});
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  std::unique_ptr<SampleStream> stream = stub_->Sample(&context);
  v1::SampleRequest request;
  request.set_table(kTestTable);
  request.set_batch_size(5);
  request.set_num_batches(2);
  ASSERT_TRUE(stream->Write(request));
  for (int i = 0; i < 2; ++i) {
    v1::SampleResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.table(), kTestTable);
    EXPECT_EQ(response.keys_size(), 5);
    EXPECT_EQ(response.table_size(), 6);
    EXPECT_EQ(response.probabilities_size(), 5);
    EXPECT_TRUE(RowsMatchKeys(response));
  }
  // One more credit, keeping the table and batch size.
  v1::SampleRequest more;
  more.set_num_batches(1);
  ASSERT_TRUE(stream->Write(more));
  v1::SampleResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.keys_size(), 5);
  // No credit left: the stream ends without another batch.
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ReplayServiceTest, SampleWaitsForMinSizeThenSends) {
  StartServer(TestTableConfig(100, /*min_size_to_sample=*/3));
  InsertKeys({1, 2});
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  std::unique_ptr<SampleStream> stream = stub_->Sample(&context);
  v1::SampleRequest request;
  request.set_table(kTestTable);
  request.set_batch_size(4);
  request.set_num_batches(1);
  ASSERT_TRUE(stream->Write(request));
  absl::Notification received;
  v1::SampleResponse response;
  bool read_ok = false;
  std::thread reader([&] {
    read_ok = stream->Read(&response);
    received.Notify();
  });
  EXPECT_FALSE(received.WaitForNotificationWithTimeout(kStillBlocked));
  InsertKeys({3});
  EXPECT_TRUE(received.WaitForNotificationWithTimeout(kReleased));
  reader.join();
  ASSERT_TRUE(read_ok);
  EXPECT_EQ(response.keys_size(), 4);
  EXPECT_TRUE(RowsMatchKeys(response));
  context.TryCancel();
}

TEST_F(ReplayServiceTest, ShutdownEndsBlockedSampleWithCancelled) {
  StartServer(TestTableConfig(100, /*min_size_to_sample=*/3));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  std::unique_ptr<SampleStream> stream = stub_->Sample(&context);
  v1::SampleRequest request;
  request.set_table(kTestTable);
  request.set_batch_size(4);
  request.set_num_batches(1);
  ASSERT_TRUE(stream->Write(request));
  absl::Notification ended;
  grpc::Status status;
  std::thread reader([&] {
    v1::SampleResponse response;
    while (stream->Read(&response)) {
    }
    status = stream->Finish();
    ended.Notify();
  });
  EXPECT_FALSE(ended.WaitForNotificationWithTimeout(kStillBlocked));
  service_->Shutdown();
  EXPECT_TRUE(ended.WaitForNotificationWithTimeout(kReleased));
  reader.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
}

TEST_F(ReplayServiceTest, UnknownTableIsNotFoundNamingTheKnownTables) {
  StartServer(TestTableConfig(100));
  {
    grpc::ClientContext context;
    std::unique_ptr<InsertStream> stream = stub_->Insert(&context);
    v1::InsertRequest request = TestInsertRequest({1});
    request.set_table("nope");
    ASSERT_TRUE(stream->Write(request));
    v1::InsertResponse response;
    EXPECT_FALSE(stream->Read(&response));
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(status.error_message(), HasSubstr("no replay table 'nope'"));
    EXPECT_THAT(status.error_message(), HasSubstr("known: transitions"));
  }
  {
    grpc::ClientContext context;
    std::unique_ptr<SampleStream> stream = stub_->Sample(&context);
    v1::SampleRequest request;
    request.set_table("nope");
    request.set_batch_size(1);
    request.set_num_batches(1);
    ASSERT_TRUE(stream->Write(request));
    v1::SampleResponse response;
    EXPECT_FALSE(stream->Read(&response));
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(ReplayServiceTest, SignatureMismatchIsInvalidArgumentAndEarlierItemsRemain) {
  StartServer(TestTableConfig(100));
  grpc::ClientContext context;
  std::unique_ptr<InsertStream> stream = stub_->Insert(&context);
  v1::InsertResponse response;
  ASSERT_TRUE(stream->Write(TestInsertRequest({1, 2})));
  ASSERT_TRUE(stream->Read(&response));
  v1::InsertRequest bad = TestInsertRequest({3});
  bad.mutable_columns(1)->set_dtype(v1::DTYPE_FLOAT32);
  ASSERT_TRUE(stream->Write(bad));
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("column 'action': dtype DTYPE_FLOAT32"));

  EXPECT_EQ(GetInfo().tables(0).size(), 2);
  grpc::ClientContext sample_context;
  sample_context.set_deadline(DeadlineIn(absl::Seconds(30)));
  std::unique_ptr<SampleStream> sampler = stub_->Sample(&sample_context);
  v1::SampleRequest request;
  request.set_table(kTestTable);
  request.set_batch_size(20);
  request.set_num_batches(1);
  ASSERT_TRUE(sampler->Write(request));
  v1::SampleResponse batch;
  ASSERT_TRUE(sampler->Read(&batch));
  for (uint64_t key : batch.keys()) EXPECT_TRUE(key == 1 || key == 2) << key;
  EXPECT_TRUE(RowsMatchKeys(batch));
  sample_context.TryCancel();
}

TEST_F(ReplayServiceTest, OversizeMessageIsResourceExhaustedAndTheServerKeepsServing) {
  StartServer(TestTableConfig(100000));
  std::vector<uint64_t> many_keys;
  for (uint64_t k = 0; k < 8000; ++k) many_keys.push_back(k);  // 8000 * 16 bytes > 64 KiB
  grpc::ClientContext context;
  std::unique_ptr<InsertStream> stream = stub_->Insert(&context);
  stream->Write(TestInsertRequest(many_keys));
  v1::InsertResponse response;
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();

  InsertKeys({1, 2});
  EXPECT_EQ(GetInfo().tables(0).size(), 2);
}

TEST_F(ReplayServiceTest, SampleBatchOverTheMessageLimitIsInvalidArgument) {
  StartServer(TestTableConfig(100));
  InsertKeys({1});
  grpc::ClientContext context;
  std::unique_ptr<SampleStream> stream = stub_->Sample(&context);
  v1::SampleRequest request;
  request.set_table(kTestTable);
  request.set_batch_size(100000);
  request.set_num_batches(1);
  ASSERT_TRUE(stream->Write(request));
  v1::SampleResponse response;
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("over the max message size"));
}

TEST_F(ReplayServiceTest, InfoReportsTablesAndShard) {
  StartServer(TestTableConfig(100, /*min_size_to_sample=*/5));
  InsertKeys({1, 2, 3});
  v1::InfoResponse info = GetInfo();
  EXPECT_EQ(info.shard(), 3);
  ASSERT_EQ(info.tables_size(), 1);
  const v1::TableInfo& table = info.tables(0);
  EXPECT_EQ(table.name(), kTestTable);
  EXPECT_EQ(table.size(), 3);
  EXPECT_EQ(table.max_size(), 100);
  EXPECT_EQ(table.bytes(), 3 * 16);
  EXPECT_EQ(table.items_inserted(), 3);
  EXPECT_EQ(table.signature().columns_size(), 2);
  EXPECT_TRUE(table.rate_limiter().sample_blocked());
  EXPECT_THAT(table.rate_limiter().blocked_reason(), HasSubstr("fewer than min_size_to_sample 5"));
}

TEST_F(ReplayServiceTest, UpdatePrioritiesIsUnimplementedForUniformTables) {
  StartServer(TestTableConfig(100));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  v1::UpdatePrioritiesRequest request;
  request.set_table(kTestTable);
  request.add_keys(1);
  request.add_priorities(0.5);
  v1::UpdatePrioritiesResponse response;
  grpc::Status status = stub_->UpdatePriorities(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(status.error_message(), HasSubstr("uniform selector"));
}

v1::TableConfig PrioritizedTableConfig() {
  v1::TableConfig config = TestTableConfig(100);
  config.mutable_selector()->mutable_prioritized()->set_priority_exponent(1.0);
  return config;
}

v1::UpdatePrioritiesRequest PriorityUpdate(const std::vector<uint64_t>& keys, const std::vector<double>& priorities) {
  v1::UpdatePrioritiesRequest request;
  request.set_table(kTestTable);
  request.mutable_keys()->Add(keys.begin(), keys.end());
  request.mutable_priorities()->Add(priorities.begin(), priorities.end());
  return request;
}

// One batch of `batch_size` over a fresh Sample stream.
v1::SampleResponse SampleBatch(v1::ReplayService::Stub& stub, int batch_size) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  std::unique_ptr<SampleStream> stream = stub.Sample(&context);
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

TEST_F(ReplayServiceTest, PriorityUpdateOverGrpcChangesTheSampledDistribution) {
  StartServer(PrioritizedTableConfig());
  InsertKeys({1, 2, 3, 4});
  const v1::SampleResponse before = SampleBatch(*stub_, 1000);
  ASSERT_EQ(before.probabilities_size(), 1000);
  for (double p : before.probabilities()) EXPECT_DOUBLE_EQ(p, 0.25);

  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  v1::UpdatePrioritiesResponse response;
  // Key 9 was never stored: ignored, not counted.
  grpc::Status status =
      stub_->UpdatePriorities(&context, PriorityUpdate({1, 2, 3, 9}, {0.0, 0.0, 3.0, 1.0}), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.updated(), 3);

  v1::SampleResponse after = SampleBatch(*stub_, 1000);
  std::map<uint64_t, int> counts;
  for (uint64_t key : after.keys()) ++counts[key];
  EXPECT_EQ(counts.count(1) + counts.count(2), 0u);
  // P(3) = 0.75: 750 expected, standard deviation 14.
  EXPECT_NEAR(counts[3], 750, 100);
  for (int i = 0; i < after.keys_size(); ++i) {
    EXPECT_DOUBLE_EQ(after.probabilities(i), after.keys(i) == 3 ? 0.75 : 0.25);
  }
  ASSERT_EQ(after.importance_weights_size(), 1000);
}

TEST_F(ReplayServiceTest, BadPrioritiesAreInvalidArgumentAndChangeNothing) {
  StartServer(PrioritizedTableConfig());
  InsertKeys({1, 2});
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  v1::UpdatePrioritiesResponse response;
  grpc::Status status = stub_->UpdatePriorities(&context, PriorityUpdate({1, 2}, {5.0, -1.0}), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("priorities[1] is -1 (key 2)"));
  const v1::SampleResponse after = SampleBatch(*stub_, 100);
  ASSERT_EQ(after.probabilities_size(), 100);
  for (double p : after.probabilities()) EXPECT_DOUBLE_EQ(p, 0.5);
}

TEST_F(ReplayServiceTest, ExportsTableMetrics) {
  StartServer(TestTableConfig(100));
  InsertKeys({1, 2, 3});
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  std::unique_ptr<SampleStream> stream = stub_->Sample(&context);
  v1::SampleRequest request;
  request.set_table(kTestTable);
  request.set_batch_size(7);
  request.set_num_batches(1);
  ASSERT_TRUE(stream->Write(request));
  v1::SampleResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
  GetInfo();
  EXPECT_EQ(MetricValue("rill_replay_items_inserted_total", kTestTable), 3);
  EXPECT_EQ(MetricValue("rill_replay_items_sampled_total", kTestTable), 7);
  EXPECT_EQ(MetricValue("rill_replay_table_size", kTestTable), 3);
  EXPECT_EQ(MetricValue("rill_replay_table_bytes", kTestTable), 48);
  EXPECT_EQ(MetricValue("rill_replay_rate_limiter_blocked_seconds_total", "insert"), 0);
  EXPECT_EQ(MetricValue("rill_replay_rpc_seconds", "Insert"), 1);
  EXPECT_EQ(MetricValue("rill_replay_rpc_seconds", "Sample"), 1);
}

TEST_F(ReplayServiceTest, CompressedTableStoresWhatWritersSendAndSamplesItBackBitExact) {
  StartServer(FrameTableConfig(1000, /*compressed=*/true));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  std::unique_ptr<InsertStream> stream = stub_->Insert(&context);
  v1::InsertResponse response;
  for (uint64_t k = 0; k < 200; k += 50) {
    std::vector<uint64_t> keys;
    for (uint64_t key = k; key < k + 50; ++key) keys.push_back(key);
    ASSERT_TRUE(stream->Write(FrameInsertRequest(keys)));
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.keys_size(), 50);
  }
  // A request whose frames are cut short: refused naming the column, and
  // the shard goes on serving what it stored.
  v1::InsertRequest bad = FrameInsertRequest({500, 501});
  bad.mutable_columns(0)->mutable_data()->resize(401);
  ASSERT_TRUE(stream->Write(bad));
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("table 'frames': columns[0]"));

  const v1::TableInfo info = GetInfo().tables(0);
  EXPECT_EQ(info.size(), 200);
  EXPECT_LT(info.bytes(), 200 * (kTestFrameBytes + 8) / 2);  // as stored: compressed
  grpc::ClientContext sample_context;
  sample_context.set_deadline(DeadlineIn(absl::Seconds(30)));
  std::unique_ptr<SampleStream> sampler = stub_->Sample(&sample_context);
  v1::SampleRequest request;
  request.set_table(kFrameTable);
  request.set_batch_size(100);
  request.set_num_batches(1);
  ASSERT_TRUE(sampler->Write(request));
  v1::SampleResponse batch;
  ASSERT_TRUE(sampler->Read(&batch));
  EXPECT_TRUE(FrameRowsMatchKeys(batch));
  sample_context.TryCancel();
}

}  // namespace
}  // namespace rill::replay
