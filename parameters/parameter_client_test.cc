#include "parameters/parameter_client.h"

#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/grpc_util.h"
#include "common/region_server.h"
#include "gtest/gtest.h"
#include "parameters/parameter_service.h"

namespace rill::parameters {
namespace {

// A ParameterSet whose one tensor is named `name` and holds `bytes` bytes.
std::string Blob(const std::string& name, size_t bytes = 16) {
  v1::ParameterSet set;
  v1::NamedTensor* tensor = set.add_tensors();
  tensor->set_name(name);
  tensor->mutable_tensor()->set_data(std::string(bytes, 'x'));
  return set.SerializeAsString();
}

// Polls `condition` (cheap reads of state another thread changes) until it
// holds or 30 s pass.
template <typename Condition>
bool Eventually(Condition condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// A learner's parameter service on a real port, sharing its versions on
// this host when asked.
class ParameterClientTest : public ::testing::Test {
 protected:
  void Serve(bool share) {
    if (share) {
      absl::StatusOr<std::unique_ptr<RegionServer>> regions = RegionServer::Create("rill-parameters-test");
      ASSERT_TRUE(regions.ok()) << regions.status();
      regions_ = *std::move(regions);
      store_.ShareOnHost(regions_.get());
    }
    service_ = std::make_unique<ParameterServiceImpl>(&store_);
    absl::StatusOr<StartedServer> server = StartGrpcServer("127.0.0.1:0", {service_.get()}, 64 << 20);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    address_ = "127.0.0.1:" + std::to_string(server_.port);
  }

  void TearDown() override {
    store_.Close();
    if (server_.server) server_.server->Shutdown(DeadlineIn(absl::Seconds(2)));
  }

  std::unique_ptr<RegionServer> regions_;  // outlives the store
  ParameterStore store_;
  std::unique_ptr<ParameterServiceImpl> service_;
  StartedServer server_;
  std::string address_;
};

TEST_F(ParameterClientTest, OnTheLearnersHostVersionsComeThroughTheRegion) {
  Serve(/*share=*/true);
  ASSERT_TRUE(store_.Publish(1, 0, Blob("v1")).ok());
  ParameterClient client(address_, 64 << 20, nullptr, "", /*shared_memory=*/true);
  ASSERT_TRUE(Eventually([&] { return client.shared_memory() && regions_->connected_regions() == 1; }));
  // Whatever came before the region, the newest is what TakeNewer gives.
  for (int64_t version = 2; version <= 9; ++version) {
    ASSERT_TRUE(store_.Publish(version, version, Blob("v" + std::to_string(version))).ok());
  }
  ASSERT_TRUE(client.WaitForVersionAfter(8, absl::Seconds(30)));
  std::optional<ReceivedParameters> taken = client.TakeNewer();
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->version, 9);
  EXPECT_EQ(taken->learner_updates, 9);
  ASSERT_EQ(taken->parameters.tensors_size(), 1);
  EXPECT_EQ(taken->parameters.tensors(0).name(), "v9");
  EXPECT_FALSE(client.TakeNewer().has_value()) << "nothing newer than 9";
  EXPECT_EQ(client.latest_version(), 9);

  // A waiter on the region is woken by the learner's next write.
  absl::Notification woke;
  std::thread waiter([&] {
    if (client.WaitForVersionAfter(9, absl::Seconds(30))) woke.Notify();
  });
  ASSERT_TRUE(store_.Publish(10, 10, Blob("v10")).ok());
  EXPECT_TRUE(woke.WaitForNotificationWithTimeout(absl::Seconds(30)));
  waiter.join();
  EXPECT_EQ(client.TakeNewer()->parameters.tensors(0).name(), "v10");
}

TEST_F(ParameterClientTest, WithoutSharedMemoryTheStreamCarriesTheVersions) {
  Serve(/*share=*/true);
  ASSERT_TRUE(store_.Publish(1, 0, Blob("v1")).ok());
  ParameterClient client(address_, 64 << 20, nullptr, "", /*shared_memory=*/false);
  ASSERT_TRUE(client.WaitForVersionAfter(0, absl::Seconds(30)));
  ASSERT_TRUE(store_.Publish(2, 1, Blob("v2")).ok());
  ASSERT_TRUE(client.WaitForVersionAfter(1, absl::Seconds(30)));
  EXPECT_EQ(client.TakeNewer()->parameters.tensors(0).name(), "v2");
  EXPECT_FALSE(client.shared_memory());
  EXPECT_EQ(regions_->connected_regions(), 0);
}

TEST_F(ParameterClientTest, ALearnerThatDoesNotShareIsFollowedOverTheStream) {
  Serve(/*share=*/false);
  ASSERT_TRUE(store_.Publish(1, 0, Blob("v1")).ok());
  ParameterClient client(address_, 64 << 20, nullptr, "", /*shared_memory=*/true);
  ASSERT_TRUE(client.WaitForVersionAfter(0, absl::Seconds(30)));
  EXPECT_EQ(client.TakeNewer()->parameters.tensors(0).name(), "v1");
  EXPECT_FALSE(client.shared_memory());
}

// A version too big for the region's slots: the learner retires it, the
// stream carries versions again and the client follows it.
TEST_F(ParameterClientTest, ARetiredRegionHandsTheVersionsBackToTheStream) {
  Serve(/*share=*/true);
  ASSERT_TRUE(store_.Publish(1, 0, Blob("v1")).ok());
  ParameterClient client(address_, 64 << 20, nullptr, "", /*shared_memory=*/true);
  ASSERT_TRUE(Eventually([&] { return client.shared_memory() && regions_->connected_regions() == 1; }));
  ASSERT_TRUE(store_.Publish(2, 1, Blob("v2", 1 << 20)).ok());
  ASSERT_TRUE(client.WaitForVersionAfter(1, absl::Seconds(30)));
  std::optional<ReceivedParameters> taken;
  ASSERT_TRUE(Eventually([&] {
    std::optional<ReceivedParameters> newer = client.TakeNewer();
    if (newer.has_value()) taken = std::move(newer);
    return taken.has_value() && taken->version == 2;
  }));
  EXPECT_EQ(taken->parameters.tensors(0).tensor().data().size(), size_t{1} << 20);
  EXPECT_TRUE(store_.region()->retired());
  ASSERT_TRUE(store_.Publish(3, 2, Blob("v3")).ok());
  ASSERT_TRUE(client.WaitForVersionAfter(2, absl::Seconds(30)));
  ASSERT_TRUE(Eventually([&] {
    std::optional<ReceivedParameters> newer = client.TakeNewer();
    if (newer.has_value()) taken = std::move(newer);
    return taken->version == 3;
  }));
  EXPECT_EQ(taken->parameters.tensors(0).name(), "v3");
  EXPECT_FALSE(client.shared_memory());
}

}  // namespace
}  // namespace rill::parameters
