#include "parameters/parameter_service.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/bench_probes.h"
#include "common/grpc_util.h"
#include "gtest/gtest.h"

namespace rill::parameters {
namespace {

TEST(ParameterStoreTest, WaitNewerBlocksUntilAVersionIsPublished) {
  ParameterStore store;
  absl::Notification got;
  int64_t version = 0;
  std::thread waiter([&] {
    auto update = store.WaitNewer(0, absl::Now() + absl::Seconds(10));
    if (update.ok()) version = (*update)->version();
    got.Notify();
  });
  EXPECT_FALSE(got.WaitForNotificationWithTimeout(absl::Milliseconds(100)));  // still blocked
  ASSERT_TRUE(store.Publish(3, 2, "blob").ok());
  EXPECT_TRUE(got.WaitForNotificationWithTimeout(absl::Seconds(10)));  // now released
  waiter.join();
  EXPECT_EQ(version, 3);
}

TEST(ParameterStoreTest, OlderVersionIsRefused) {
  ParameterStore store;
  ASSERT_TRUE(store.Publish(5, 4, "a").ok());
  EXPECT_EQ(store.Publish(5, 4, "b").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.Latest()->blob(), "a");
}

std::vector<int64_t> PoolVersions(const ParameterStore& store) {
  std::vector<int64_t> versions;
  for (const ParameterUpdatePtr& snapshot : store.Snapshots()) versions.push_back(snapshot->version());
  return versions;
}

// Versions 1..14 published at updates 0..13 into a pool of 3 snapshots at
// least 4 updates apart: versions 1, 5, 9 and 13 are taken in, the last 3
// kept; each update lists the pool as it stood with that version.
TEST(ParameterStoreTest, KeepsTheLastSnapshotsAtLeastEveryUpdatesApart) {
  ParameterStore store;
  store.KeepSnapshots(/*size=*/3, /*every_updates=*/4);
  std::vector<std::vector<int64_t>> listed;
  for (int64_t updates = 0; updates < 14; ++updates) {
    ASSERT_TRUE(store.Publish(updates + 1, updates, "blob" + std::to_string(updates + 1)).ok());
    const ParameterUpdatePtr latest = store.Latest();
    listed.emplace_back(latest->pool_versions().begin(), latest->pool_versions().end());
  }
  EXPECT_EQ(listed[0], (std::vector<int64_t>{1}));
  EXPECT_EQ(listed[3], (std::vector<int64_t>{1}));
  EXPECT_EQ(listed[4], (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(listed[8], (std::vector<int64_t>{1, 5, 9}));
  EXPECT_EQ(listed[12], (std::vector<int64_t>{5, 9, 13}));
  EXPECT_EQ(listed[13], (std::vector<int64_t>{5, 9, 13}));
  EXPECT_EQ(PoolVersions(store), (std::vector<int64_t>{5, 9, 13}));
  EXPECT_EQ((*store.Version(9))->blob(), "blob9");
  EXPECT_EQ((*store.Version(14))->blob(), "blob14") << "the latest";
  const absl::Status missing = store.Version(7).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "parameter version 7 is neither the latest (14) nor in the opponent pool (5, 9, 13)");

  // A resumed learner's store: the same pool, and snapshots go on from it.
  ParameterStore resumed;
  resumed.KeepSnapshots(3, 4);
  std::vector<v1::ParameterUpdate> saved;
  for (const ParameterUpdatePtr& snapshot : store.Snapshots()) saved.push_back(*snapshot);
  ASSERT_TRUE(resumed.RestoreSnapshots(saved).ok());
  EXPECT_EQ(PoolVersions(resumed), (std::vector<int64_t>{5, 9, 13}));
  ASSERT_TRUE(resumed.Publish(15, 14, "blob15").ok());
  EXPECT_EQ(PoolVersions(resumed), (std::vector<int64_t>{5, 9, 13})) << "13 was 1 update ago";
  ASSERT_TRUE(resumed.Publish(18, 17, "blob18").ok());
  EXPECT_EQ(PoolVersions(resumed), (std::vector<int64_t>{9, 13, 18}));
  std::reverse(saved.begin(), saved.end());
  EXPECT_EQ(resumed.RestoreSnapshots(saved).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParameterStoreTest, NoPoolByDefault) {
  ParameterStore store;
  ASSERT_TRUE(store.Publish(1, 0, "a").ok());
  ASSERT_TRUE(store.Publish(2, 1, "b").ok());
  EXPECT_TRUE(store.Snapshots().empty());
  EXPECT_EQ(store.Latest()->pool_versions_size(), 0);
}

TEST(ParameterStoreTest, CloseWakesWaitersWithCancelled) {
  ParameterStore store;
  absl::Notification done;
  absl::Status status;
  std::thread waiter([&] {
    status = store.WaitNewer(0, absl::Now() + absl::Seconds(30)).status();
    done.Notify();
  });
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
  store.Close();
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  waiter.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
}

TEST(ParameterServiceTest, EachPolicysVersionsAreServedApartAndAnUnknownOneIsNamed) {
  ParameterStore lead, wings;
  ParameterServiceImpl service({{"lead", &lead}, {"wings", &wings}});
  auto server = StartGrpcServer("127.0.0.1:0", {&service}, 1 << 20);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(lead.Publish(3, 2, "lead-v3").ok());
  ASSERT_TRUE(wings.Publish(9, 8, "wings-v9").ok());
  auto stub = v1::ParameterService::NewStub(MakeChannel("127.0.0.1:" + std::to_string(server->port), 1 << 20));
  for (const auto& [policy, version, blob] : {std::tuple<std::string, int64_t, std::string>{"wings", 9, "wings-v9"},
                                              {"lead", 3, "lead-v3"},
                                              {"", 3, "lead-v3"}}) {  // none named: the first
    SCOPED_TRACE(policy);
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    v1::SubscribeRequest request;
    request.set_policy(policy);
    auto reader = stub->Subscribe(&context, request);
    v1::ParameterUpdate update;
    ASSERT_TRUE(reader->Read(&update));
    EXPECT_EQ(update.version(), version);
    EXPECT_EQ(update.blob(), blob);
    context.TryCancel();
    reader->Finish();
    grpc::ClientContext status_context;
    v1::LearnerStatusRequest status_request;
    status_request.set_policy(policy);
    v1::LearnerStatus status;
    ASSERT_TRUE(stub->Status(&status_context, status_request, &status).ok());
    EXPECT_EQ(status.version(), version);
  }
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  v1::SubscribeRequest request;
  request.set_policy("tail");
  auto reader = stub->Subscribe(&context, request);
  v1::ParameterUpdate update;
  EXPECT_FALSE(reader->Read(&update));
  const grpc::Status refused = reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(refused.error_message(), "this learner trains no policy 'tail'; its policies: lead, wings");
  grpc::ClientContext version_context;
  v1::GetVersionRequest version_request;
  version_request.set_policy("tail");
  EXPECT_EQ(stub->GetVersion(&version_context, version_request, &update).error_code(), grpc::StatusCode::NOT_FOUND);
  lead.Close();
  wings.Close();
  server->server->Shutdown(DeadlineIn(absl::Seconds(2)));
}

TEST(ParameterServiceTest, SubscriberReceivesEveryNewerVersionOverGrpc) {
  ParameterStore store;
  ParameterServiceImpl service(&store);
  auto server = StartGrpcServer("127.0.0.1:0", {&service}, 1 << 20);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(store.Publish(1, 0, "v1").ok());
  auto stub = v1::ParameterService::NewStub(MakeChannel("127.0.0.1:" + std::to_string(server->port), 1 << 20));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  v1::SubscribeRequest request;
  auto reader = stub->Subscribe(&context, request);
  v1::ParameterUpdate update;
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.version(), 1);
  EXPECT_EQ(update.blob(), "v1");
  ASSERT_TRUE(store.Publish(7, 6, "v7").ok());
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.version(), 7);
  EXPECT_EQ(update.learner_updates(), 6);
  context.TryCancel();
  store.Close();
  server->server->Shutdown(DeadlineIn(absl::Seconds(2)));
}

TEST(ParameterServiceTest, GetParametersIsUnavailableBeforeTheFirstPublish) {
  ParameterStore store;
  ParameterServiceImpl service(&store);
  auto server = StartGrpcServer("127.0.0.1:0", {&service}, 1 << 20);
  ASSERT_TRUE(server.ok());
  auto stub = v1::ParameterService::NewStub(MakeChannel("127.0.0.1:" + std::to_string(server->port), 1 << 20));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  v1::ParameterUpdate response;
  grpc::Status status = stub->GetParameters(&context, v1::GetParametersRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  store.Close();
  server->server->Shutdown(DeadlineIn(absl::Seconds(2)));
}

bool WaitFor(const std::function<bool()>& condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

struct ServedStore {
  ParameterStore store;
  std::unique_ptr<ParameterServiceImpl> service = std::make_unique<ParameterServiceImpl>(&store);
  StartedServer server;
  std::unique_ptr<v1::ParameterService::Stub> stub;

  ServedStore() {
    absl::StatusOr<StartedServer> started = StartGrpcServer("127.0.0.1:0", {service.get()}, 1 << 20);
    EXPECT_TRUE(started.ok()) << started.status();
    server = std::move(*started);
    stub = v1::ParameterService::NewStub(MakeChannel("127.0.0.1:" + std::to_string(server.port), 1 << 20));
  }
  ~ServedStore() {
    store.Close();
    server.server->Shutdown(DeadlineIn(absl::Seconds(2)));
  }
};

// Reads the stream until its shared-memory offer (versions may come first,
// sent before the region held one); false when the stream ends first.
bool ReadOffer(grpc::ClientReader<v1::ParameterUpdate>& reader, v1::ParameterRegionOffer* offer) {
  v1::ParameterUpdate update;
  while (reader.Read(&update)) {
    if (update.has_shared_memory()) {
      EXPECT_EQ(update.version(), 0) << "an offer carries no version";
      *offer = update.shared_memory();
      return true;
    }
  }
  return false;
}

std::unique_ptr<RegionServer> MakeRegions() {
  absl::StatusOr<std::unique_ptr<RegionServer>> regions = RegionServer::Create("rill-parameters-test");
  EXPECT_TRUE(regions.ok()) << regions.status();
  return regions.ok() ? *std::move(regions) : nullptr;
}

// A store that shares its versions on this host, version 1 published,
// and a Subscribe stream that asked for shared memory, read up to its
// offer.
struct OfferedStream {
  std::unique_ptr<RegionServer> regions = MakeRegions();  // outlives the store
  ServedStore served;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::ParameterUpdate>> reader;
  v1::ParameterRegionOffer offer;
  bool offered = false;

  OfferedStream() {
    if (regions == nullptr) return;
    served.store.ShareOnHost(regions.get());
    EXPECT_TRUE(served.store.Publish(1, 0, "v1").ok());
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    v1::SubscribeRequest request;
    request.set_shared_memory(true);
    reader = served.stub->Subscribe(&context, request);
    offered = ReadOffer(*reader, &offer);
  }
};

TEST(ParameterServiceTest, AStreamWhoseClientHoldsTheRegionCarriesNoMoreVersions) {
  OfferedStream stream;
  ASSERT_TRUE(stream.offered);
  const v1::ParameterRegionOffer& offer = stream.offer;
  auto mapped = SharedRegion::Connect({offer.socket(), offer.token(), offer.size()}, {{"parameters", 0, offer.size()}},
                                      absl::Seconds(30));
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  auto region = ParameterRegionReader::Open(*std::move(mapped), offer.size());
  ASSERT_TRUE(region.ok()) << region.status();
  ASSERT_TRUE(WaitFor([&] { return stream.regions->connected_regions() == 1; }));

  for (int64_t version = 2; version <= 5; ++version) {
    ASSERT_TRUE(stream.served.store.Publish(version, version, "v" + std::to_string(version)).ok());
  }
  ASSERT_TRUE((*region)->WaitNewer(4, absl::Seconds(30)));
  auto newest = (*region)->ReadNewer(0);
  ASSERT_TRUE(newest.ok() && newest->has_value());
  EXPECT_EQ((*newest)->version(), 5);
  EXPECT_EQ((*newest)->blob(), "v5");
  // The stream ends at Close with nothing after the region was taken.
  stream.served.store.Close();
  v1::ParameterUpdate update;
  while (stream.reader->Read(&update)) EXPECT_LE(update.version(), 1) << "version " << update.version() << " over gRPC";
  EXPECT_EQ(stream.reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST(ParameterServiceTest, AStreamWhoseClientNeverTakesTheRegionCarriesEveryVersion) {
  OfferedStream stream;  // on another host: the offer's socket is not there
  ASSERT_TRUE(stream.offered);
  ASSERT_TRUE(stream.served.store.Publish(2, 1, "v2").ok());
  v1::ParameterUpdate update;
  do {
    ASSERT_TRUE(stream.reader->Read(&update));
  } while (update.version() < 2);
  EXPECT_EQ(update.version(), 2);
  EXPECT_EQ(update.blob(), "v2");
  stream.context.TryCancel();
}

TEST(ParameterServiceTest, GetVersionServesThePoolOverGrpc) {
  ServedStore served;
  served.store.KeepSnapshots(2, 1);
  for (int64_t v = 1; v <= 4; ++v) ASSERT_TRUE(served.store.Publish(v, v, "p" + std::to_string(v)).ok());
  for (const auto& [version, code] : std::vector<std::pair<int64_t, grpc::StatusCode>>{
           {3, grpc::StatusCode::OK}, {4, grpc::StatusCode::OK}, {2, grpc::StatusCode::NOT_FOUND}}) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(10)));
    v1::GetVersionRequest request;
    request.set_version(version);
    v1::ParameterUpdate response;
    const grpc::Status status = served.stub->GetVersion(&context, request, &response);
    EXPECT_EQ(status.error_code(), code) << version << ": " << status.error_message();
    if (status.ok()) EXPECT_EQ(response.blob(), "p" + std::to_string(version));
    if (!status.ok()) EXPECT_NE(status.error_message().find("opponent pool (3, 4)"), std::string::npos);
  }
}

TEST(ParameterServiceTest, ACancelledSubscriberLeavesTheStore) {
  ServedStore served;
  ASSERT_TRUE(served.store.Publish(1, 0, "v1").ok());
  grpc::ClientContext context;
  auto reader = served.stub->Subscribe(&context, v1::SubscribeRequest());
  v1::ParameterUpdate update;
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(served.store.listeners(), 1);
  context.TryCancel();
  EXPECT_TRUE(WaitFor([&] { return served.store.listeners() == 0; }));
  // The store goes on serving the others.
  ASSERT_TRUE(served.store.Publish(2, 1, "v2").ok());
  grpc::ClientContext second;
  auto again = served.stub->Subscribe(&second, v1::SubscribeRequest());
  ASSERT_TRUE(again->Read(&update));
  EXPECT_EQ(update.version(), 2);
  second.TryCancel();
}

TEST(ParameterServiceTest, CloseEndsEveryStreamWithCancelled) {
  ServedStore served;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::ParameterUpdate>>> readers;
  for (int i = 0; i < 3; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(DeadlineIn(absl::Seconds(30)));
    readers.push_back(served.stub->Subscribe(contexts.back().get(), v1::SubscribeRequest()));
  }
  ASSERT_TRUE(WaitFor([&] { return served.store.listeners() == 3; }));
  served.store.Close();
  for (auto& reader : readers) {
    v1::ParameterUpdate update;
    EXPECT_FALSE(reader->Read(&update));
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
    EXPECT_EQ(status.error_message(), "parameter service is shutting down");
  }
  EXPECT_EQ(served.store.listeners(), 0);
  // A stream opened after Close ends at once.
  grpc::ClientContext late;
  late.set_deadline(DeadlineIn(absl::Seconds(30)));
  auto reader = served.stub->Subscribe(&late, v1::SubscribeRequest());
  v1::ParameterUpdate update;
  EXPECT_FALSE(reader->Read(&update));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST(ParameterServiceTest, ASlowSubscriberSkipsToTheNewestVersion) {
  ServedStore served;
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  v1::SubscribeRequest request;
  request.set_after_version(3);
  auto reader = served.stub->Subscribe(&context, request);
  ASSERT_TRUE(WaitFor([&] { return served.store.listeners() == 1; }));
  const std::string blob(64 << 10, 'x');
  for (int version = 1; version <= 200; ++version) ASSERT_TRUE(served.store.Publish(version, version, blob).ok());
  // Versions arrive newest-so-far each time, never older, never at or
  // below after_version, and end at the last one published.
  int64_t last = 3;
  int reads = 0;
  v1::ParameterUpdate update;
  while (last < 200 && reader->Read(&update)) {
    EXPECT_GT(update.version(), last);
    last = update.version();
    ++reads;
  }
  EXPECT_EQ(last, 200);
  EXPECT_LT(reads, 197) << "every version was queued for a subscriber that could not keep up";
  context.TryCancel();
}

TEST(ParameterServiceTest, SubscribersTakeNoThreadEach) {
  ServedStore served;
  ASSERT_TRUE(served.store.Publish(1, 0, "v1").ok());
  // Warm the server's and the channel's own threads up first.
  {
    grpc::ClientContext context;
    auto reader = served.stub->Subscribe(&context, v1::SubscribeRequest());
    v1::ParameterUpdate update;
    ASSERT_TRUE(reader->Read(&update));
    context.TryCancel();
  }
  ASSERT_TRUE(WaitFor([&] { return served.store.listeners() == 0; }));
  const int threads_before = ThreadCount(getpid());
  constexpr int kStreams = 300;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::ParameterUpdate>>> readers;
  for (int i = 0; i < kStreams; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(DeadlineIn(absl::Seconds(60)));
    readers.push_back(served.stub->Subscribe(contexts.back().get(), v1::SubscribeRequest()));
  }
  ASSERT_TRUE(WaitFor([&] { return served.store.listeners() == kStreams; }));
  ASSERT_TRUE(served.store.Publish(2, 1, "v2").ok());
  for (auto& reader : readers) {
    v1::ParameterUpdate update;
    ASSERT_TRUE(reader->Read(&update));
    if (update.version() == 1) {
      ASSERT_TRUE(reader->Read(&update));
    }
    EXPECT_EQ(update.version(), 2);
  }
  const int threads_during = ThreadCount(getpid());
  // The sync API held a thread per stream (300 here).
  EXPECT_LT(threads_during - threads_before, 32) << threads_before << " threads before, " << threads_during << " with "
                                                 << kStreams << " streams";
  for (auto& context : contexts) context->TryCancel();
  EXPECT_TRUE(WaitFor([&] { return served.store.listeners() == 0; }));
}

}  // namespace
}  // namespace rill::parameters
