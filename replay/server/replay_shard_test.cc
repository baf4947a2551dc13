#include "replay/server/replay_shard.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/replay.grpc.pb.h"
#include "replay/testing/test_items.h"

namespace rill::replay {
namespace {

using ::testing::HasSubstr;

v1::ReplayConfig Config(v1::DurabilityConfig::Mode mode) {
  v1::ReplayConfig config;
  *config.add_tables() = TestTableConfig(100);
  config.mutable_durability()->set_mode(mode);
  config.mutable_durability()->set_checkpoint_interval_seconds(3600);
  config.mutable_durability()->set_keep_latest(2);
  config.mutable_durability()->set_group_commit_micros(100);
  config.set_max_in_flight_inserts_per_stream(4);
  return config;
}

// Inserts `keys` over gRPC, as a writer would, and returns the acked keys.
std::vector<uint64_t> InsertOverGrpc(const std::string& address, const std::vector<uint64_t>& keys) {
  std::unique_ptr<v1::ReplayService::Stub> stub = v1::ReplayService::NewStub(MakeChannel(address, 64 << 20));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  auto stream = stub->Insert(&context);
  std::vector<uint64_t> acked;
  if (!stream->Write(TestInsertRequest(keys))) return acked;
  v1::InsertResponse response;
  if (stream->Read(&response)) acked.assign(response.keys().begin(), response.keys().end());
  stream->WritesDone();
  while (stream->Read(&response)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
  return acked;
}

TEST(ReplayShardTest, ServesAndItsWalAndFinalCheckpointBringItBackAfterARestart) {
  const std::string dir = FreshTestDir("shard-wal");
  ReplayShardOptions options;
  options.durability_dir = dir;
  absl::StatusOr<std::unique_ptr<ReplayShard>> shard = ReplayShard::Start(Config(v1::DurabilityConfig::WAL), options);
  ASSERT_TRUE(shard.ok()) << shard.status();
  EXPECT_GT((*shard)->port(), 0);
  EXPECT_EQ((*shard)->address(), absl::StrCat("127.0.0.1:", (*shard)->port()));
  ASSERT_NE((*shard)->durability(), nullptr);
  EXPECT_EQ(InsertOverGrpc((*shard)->address(), {1, 2, 3}), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ((*shard)->FindTable(kTestTable)->Stats().size, 3);
  ASSERT_TRUE((*shard)->Stop().ok());
  EXPECT_TRUE((*shard)->Stop().ok()) << "idempotent";
  EXPECT_EQ((*shard)->durability()->Info().items(), 3) << "the final checkpoint holds every item";
  shard->reset();

  absl::StatusOr<std::unique_ptr<ReplayShard>> restarted = ReplayShard::Start(Config(v1::DurabilityConfig::WAL), options);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_EQ((*restarted)->FindTable(kTestTable)->Stats().size, 3);
  EXPECT_EQ(InsertOverGrpc((*restarted)->address(), {4}), (std::vector<uint64_t>{4}));
}

TEST(ReplayShardTest, WithoutDurabilityItServesFromMemoryOnly) {
  absl::StatusOr<std::unique_ptr<ReplayShard>> shard = ReplayShard::Start(Config(v1::DurabilityConfig::NONE), ReplayShardOptions());
  ASSERT_TRUE(shard.ok()) << shard.status();
  EXPECT_EQ((*shard)->durability(), nullptr);
  EXPECT_EQ(InsertOverGrpc((*shard)->address(), {7}), (std::vector<uint64_t>{7}));
  EXPECT_TRUE((*shard)->Stop().ok());
}

TEST(ReplayShardTest, ABadConfigIsNamedAndNothingStarts) {
  v1::ReplayConfig config = Config(v1::DurabilityConfig::NONE);
  *config.add_tables() = TestTableConfig(100);  // the same name twice
  absl::StatusOr<std::unique_ptr<ReplayShard>> shard = ReplayShard::Start(config, ReplayShardOptions());
  ASSERT_FALSE(shard.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(shard.status()));
  EXPECT_THAT(shard.status().message(), HasSubstr("bad replay config: table 'transitions' is configured twice"));

  absl::StatusOr<std::unique_ptr<ReplayShard>> no_dir = ReplayShard::Start(Config(v1::DurabilityConfig::WAL), ReplayShardOptions());
  ASSERT_FALSE(no_dir.ok());
  EXPECT_THAT(no_dir.status().message(), HasSubstr("durability mode WAL needs a durability dir"));
}

TEST(ReplayShardTest, ACheckpointOfAnotherLayoutIsRefusedNamingTheDir) {
  const std::string dir = FreshTestDir("shard-layout");
  ReplayShardOptions options;
  options.durability_dir = dir;
  {
    absl::StatusOr<std::unique_ptr<ReplayShard>> shard = ReplayShard::Start(Config(v1::DurabilityConfig::CHECKPOINT), options);
    ASSERT_TRUE(shard.ok()) << shard.status();
    EXPECT_EQ(InsertOverGrpc((*shard)->address(), {1}), (std::vector<uint64_t>{1}));
  }  // the destructor stops it with a final checkpoint
  v1::ReplayConfig other = Config(v1::DurabilityConfig::CHECKPOINT);
  other.mutable_tables(0)->set_max_size(50);
  absl::StatusOr<std::unique_ptr<ReplayShard>> refused = ReplayShard::Start(other, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("cannot restore the shard from '" + dir + "'"));
  EXPECT_THAT(refused.status().message(), HasSubstr("max_size"));
}

TEST(ReplayShardTest, ATakenAddressFailsStartAfterTheRestoreWithoutLosingTheLog) {
  absl::StatusOr<std::unique_ptr<ReplayShard>> first = ReplayShard::Start(Config(v1::DurabilityConfig::NONE), ReplayShardOptions());
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string dir = FreshTestDir("shard-taken");
  ReplayShardOptions options;
  options.durability_dir = dir;
  options.address = (*first)->address();
  absl::StatusOr<std::unique_ptr<ReplayShard>> second = ReplayShard::Start(Config(v1::DurabilityConfig::WAL), options);
  ASSERT_FALSE(second.ok());
  EXPECT_FALSE(absl::IsInvalidArgument(second.status())) << "not the operator's config: " << second.status();
  // The same dir opens again: the failed start left it consistent.
  options.address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<ReplayShard>> third = ReplayShard::Start(Config(v1::DurabilityConfig::WAL), options);
  ASSERT_TRUE(third.ok()) << third.status();
}

}  // namespace
}  // namespace rill::replay
