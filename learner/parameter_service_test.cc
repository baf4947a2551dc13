#include "learner/parameter_service.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "common/grpc_util.h"
#include "gtest/gtest.h"

namespace rill::learner {
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

}  // namespace
}  // namespace rill::learner
