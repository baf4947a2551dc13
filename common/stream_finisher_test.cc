#include "common/stream_finisher.h"

#include <vector>

#include "gtest/gtest.h"

namespace rill {
namespace {

// Stands in for a grpc::ServerBidiReactor: records each Finish.
struct FakeReactor {
  void Finish(grpc::Status status) { finished.push_back(std::move(status)); }
  std::vector<grpc::Status> finished;
};

TEST(StreamFinisherTest, FinishesAtOnceWithNoWriteOnTheWire) {
  FakeReactor reactor;
  StreamFinisher finisher;
  finisher.Finish(reactor, grpc::Status(grpc::StatusCode::CANCELLED, "gone"));
  ASSERT_EQ(reactor.finished.size(), 1u);
  EXPECT_EQ(reactor.finished[0].error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(finisher.finished());
}

TEST(StreamFinisherTest, WaitsForTheWriteOnTheWireThenFinishes) {
  FakeReactor reactor;
  StreamFinisher finisher;
  finisher.WriteStarted();
  finisher.Finish(reactor, grpc::Status(grpc::StatusCode::INTERNAL, "broken"));
  EXPECT_TRUE(reactor.finished.empty());
  EXPECT_TRUE(finisher.WriteDone(reactor));
  ASSERT_EQ(reactor.finished.size(), 1u);
  EXPECT_EQ(reactor.finished[0].error_message(), "broken");
}

TEST(StreamFinisherTest, FinishesOnlyOnceWithTheFirstStatus) {
  FakeReactor reactor;
  StreamFinisher finisher;
  finisher.Finish(reactor, grpc::Status::OK);
  finisher.Finish(reactor, grpc::Status(grpc::StatusCode::CANCELLED, "late"));
  ASSERT_EQ(reactor.finished.size(), 1u);
  EXPECT_TRUE(reactor.finished[0].ok());
}

TEST(StreamFinisherTest, WriteDoneLetsAnOpenStreamGoOn) {
  FakeReactor reactor;
  StreamFinisher finisher;
  finisher.WriteStarted();
  EXPECT_FALSE(finisher.WriteDone(reactor));
  EXPECT_FALSE(finisher.finished());
  EXPECT_TRUE(reactor.finished.empty());
}

}  // namespace
}  // namespace rill
