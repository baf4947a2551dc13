// A replay shard killed with SIGKILL and restarted on the same folder, as
// real `rill replay` processes: in checkpoint mode it comes back with
// exactly the items of its last completed checkpoint; in WAL mode with
// every item it acknowledged. Tables use max_times_sampled 1, so draining a
// table by sampling yields its exact key set.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <iostream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/replay.grpc.pb.h"
#include "replay/testing/test_items.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;
using replay::TestInsertRequest;

std::string WriteConfig(const std::string& name, const std::string& durability, int64_t max_size = 100000) {
  const std::string path = TempDir("configs-" + name) + "/config.textpb";
  std::ofstream(path) << absl::StrCat(R"(env { name: "Pendulum-v1" }
replay {
  tables {
    name: "transitions"
    max_size: )", max_size, R"(
    max_times_sampled: 1
    signature {
      columns { name: "obs" dtype: DTYPE_FLOAT32 shape: 2 }
      columns { name: "action" dtype: DTYPE_INT64 }
    }
  }
  durability { )", durability, R"( }
})");
  return path;
}

std::unique_ptr<v1::ReplayService::Stub> Connect(const RoleProcess& role) {
  return v1::ReplayService::NewStub(grpc::CreateChannel(role.address(), grpc::InsecureChannelCredentials()));
}

v1::InfoResponse Info(const RoleProcess& role) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::InfoResponse info;
  grpc::Status status = Connect(role)->Info(&context, v1::InfoRequest(), &info);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return info;
}

std::vector<uint64_t> Range(uint64_t begin, uint64_t end) {
  std::vector<uint64_t> keys;
  for (uint64_t k = begin; k < end; ++k) keys.push_back(k);
  return keys;
}

// Inserts keys [begin, end) in requests of `batch` on one stream, waiting for
// every acknowledgement.
void InsertAll(const RoleProcess& role, uint64_t begin, uint64_t end, int batch) {
  auto stub = Connect(role);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = stub->Insert(&context);
  for (uint64_t k = begin; k < end; k += batch) {
    ASSERT_TRUE(stream->Write(TestInsertRequest(Range(k, std::min<uint64_t>(k + batch, end)))));
    v1::InsertResponse ack;
    ASSERT_TRUE(stream->Read(&ack));
    ASSERT_EQ(ack.keys_size(), static_cast<int>(std::min<uint64_t>(batch, end - k)));
  }
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
}

// Samples the whole table once (each item leaves after one sample): its
// keys. Batches of at most kDrainBatch keep each message small.
std::set<uint64_t> Drain(const RoleProcess& role) {
  constexpr int64_t kDrainBatch = 100000;
  const int64_t size = Info(role).tables(0).size();
  std::set<uint64_t> keys;
  if (size == 0) return keys;
  auto stub = Connect(role);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = stub->Sample(&context);
  int64_t drawn = 0;
  while (drawn < size) {
    const int64_t batch_size = std::min(kDrainBatch, size - drawn);
    v1::SampleRequest request;
    request.set_table(replay::kTestTable);
    request.set_batch_size(static_cast<int32_t>(batch_size));
    request.set_num_batches(1);
    EXPECT_TRUE(stream->Write(request));
    v1::SampleResponse batch;
    if (!stream->Read(&batch)) {
      ADD_FAILURE() << "the sample stream ended after " << drawn << " of " << size << " items";
      break;
    }
    EXPECT_TRUE(replay::RowsMatchKeys(batch));
    keys.insert(batch.keys().begin(), batch.keys().end());
    drawn += batch_size;
  }
  EXPECT_EQ(keys.size(), static_cast<size_t>(size)) << "an item was sampled twice";
  context.TryCancel();
  return keys;
}

void Kill(RoleProcess& role) {
  role.process->Signal(SIGKILL);
  const std::optional<int> status = role.process->WaitExit(absl::Seconds(10));
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL) << ChildProcess::DescribeStatus(*status);
}

std::set<uint64_t> KeySet(uint64_t begin, uint64_t end) {
  const std::vector<uint64_t> keys = Range(begin, end);
  return std::set<uint64_t>(keys.begin(), keys.end());
}

TEST(DurabilityTest, CheckpointModeRestoresExactlyTheLastCompletedCheckpointAfterKill9) {
  const std::string dir = TempDir("durable-checkpoint");
  const std::string config =
      WriteConfig("checkpoint", absl::StrCat("mode: CHECKPOINT dir: \"", dir, "\" checkpoint_interval_seconds: 0.3"));
  absl::StatusOr<RoleProcess> replay = StartRole("ckpt-replay", {"replay", "--config=" + config});
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(Info(*replay).durability_mode(), "checkpoint");
  InsertAll(*replay, 0, 500, 50);
  // A checkpoint completes with the first 500 items.
  ASSERT_TRUE(WaitUntil([&] { return Info(*replay).last_checkpoint().items() == 500; }, absl::Seconds(30)));
  const v1::CheckpointInfo first = Info(*replay).last_checkpoint();
  EXPECT_GT(first.checkpoints_written(), 0);
  EXPECT_FALSE(first.restored());
  EXPECT_GE(first.longest_pause_seconds(), first.pause_seconds());
  EXPECT_GT(first.bytes(), 0);
  // More items, then kill -9 right away: a checkpoint may or may not have
  // caught them.
  InsertAll(*replay, 500, 1000, 50);
  Kill(*replay);

  absl::StatusOr<RoleProcess> restarted = StartRole("ckpt-replay2", {"replay", "--config=" + config});
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  const v1::InfoResponse info = Info(*restarted);
  const v1::CheckpointInfo& restored = info.last_checkpoint();
  EXPECT_TRUE(restored.restored());
  EXPECT_GE(restored.items(), 500);
  EXPECT_GE(restored.completed_unix_seconds(), first.completed_unix_seconds());
  // Exactly the checkpoint's items (a prefix of the keys, in whole
  // requests), with its rate-limiter counters.
  EXPECT_EQ(info.tables(0).size(), restored.items());
  EXPECT_EQ(info.tables(0).items_inserted(), restored.items());
  EXPECT_EQ(Drain(*restarted), KeySet(0, restored.items()));
  EXPECT_EQ(restored.items() % 50, 0);
  EXPECT_EQ(Info(*restarted).tables(0).items_sampled(), restored.items());
  EXPECT_THAT(restarted->process->LogTail(20), HasSubstr("restored checkpoint"));
}

TEST(DurabilityTest, CheckpointModeRestoresTheFinalCheckpointOfAGracefulStopAndNothingAfterIt) {
  const std::string dir = TempDir("durable-final");
  const std::string config =
      WriteConfig("final", absl::StrCat("mode: CHECKPOINT dir: \"", dir, "\" checkpoint_interval_seconds: 3600"));
  absl::StatusOr<RoleProcess> replay = StartRole("final-replay", {"replay", "--config=" + config});
  ASSERT_TRUE(replay.ok()) << replay.status();
  InsertAll(*replay, 0, 300, 30);
  const int status = replay->process->Stop(absl::Seconds(30));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << replay->process->LogTail(10);

  absl::StatusOr<RoleProcess> second = StartRole("final-replay2", {"replay", "--config=" + config});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Info(*second).last_checkpoint().items(), 300);
  InsertAll(*second, 300, 600, 30);  // never checkpointed: the interval is an hour
  Kill(*second);

  absl::StatusOr<RoleProcess> third = StartRole("final-replay3", {"replay", "--config=" + config});
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(Drain(*third), KeySet(0, 300));
}

constexpr int64_t kWalTableSize = 1000000;

TEST(DurabilityTest, WalModeKeepsEveryAcknowledgedItemAfterKill9) {
  const std::string dir = TempDir("durable-wal");
  const std::string config =
      WriteConfig("wal", absl::StrCat("mode: WAL dir: \"", dir, "\" checkpoint_interval_seconds: 0.2"),
                  /*max_size=*/kWalTableSize);
  absl::StatusOr<RoleProcess> replay = StartRole("wal-replay", {"replay", "--config=" + config});
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(Info(*replay).durability_mode(), "wal");

  // Two writers, each with up to 8 requests in flight, until the shard dies
  // or they have written half the table each (so that nothing acknowledged
  // is evicted: every acknowledged item must come back).
  std::mutex mu;
  std::set<uint64_t> acknowledged;
  std::atomic<int64_t> acked_count{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      auto stub = Connect(*replay);
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
      auto stream = stub->Insert(&context);
      const uint64_t base = static_cast<uint64_t>(w) << 32;
      uint64_t next = 0;
      std::vector<std::vector<uint64_t>> in_flight;
      while (true) {
        while (in_flight.size() < 8 && next < kWalTableSize / 2) {
          in_flight.push_back(Range(base + next, base + next + 20));
          next += 20;
          if (!stream->Write(TestInsertRequest(in_flight.back()))) return;
        }
        if (in_flight.empty()) return;  // done before the kill
        v1::InsertResponse ack;
        if (!stream->Read(&ack)) return;  // the shard died
        std::vector<uint64_t> keys(ack.keys().begin(), ack.keys().end());
        if (keys != in_flight.front()) {
          ADD_FAILURE() << "acknowledgement out of order";
          return;
        }
        in_flight.erase(in_flight.begin());
        std::lock_guard<std::mutex> lock(mu);
        acknowledged.insert(keys.begin(), keys.end());
        acked_count += static_cast<int64_t>(keys.size());
      }
    });
  }
  // Kill while both writers are busy, after checkpoints have rotated the log.
  ASSERT_TRUE(WaitUntil([&] { return acked_count >= 20000 && Info(*replay).last_checkpoint().checkpoints_written() >= 2; },
                        absl::Seconds(60)));
  Kill(*replay);
  for (auto& t : writers) t.join();
  std::set<uint64_t> acked;
  {
    std::lock_guard<std::mutex> lock(mu);
    acked = acknowledged;
  }

  std::cout << "acknowledged before kill -9: " << acked.size() << " of " << kWalTableSize << " written" << std::endl;
  absl::StatusOr<RoleProcess> restarted = StartRole("wal-replay2", {"replay", "--config=" + config});
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_THAT(restarted->process->LogTail(20), HasSubstr("write-ahead log records"));
  const std::set<uint64_t> present = Drain(*restarted);
  std::vector<uint64_t> missing;
  std::set_difference(acked.begin(), acked.end(), present.begin(), present.end(), std::back_inserter(missing));
  EXPECT_TRUE(missing.empty()) << missing.size() << " of " << acked.size() << " acknowledged items are missing, e.g. "
                               << missing.front();
  EXPECT_GE(present.size(), acked.size());
}

TEST(DurabilityTest, ACheckpointOfAnotherTableLayoutIsRefusedWithExitCode2) {
  const std::string dir = TempDir("durable-mismatch");
  const std::string durability = absl::StrCat("mode: CHECKPOINT dir: \"", dir, "\" checkpoint_interval_seconds: 3600");
  absl::StatusOr<RoleProcess> replay = StartRole("mismatch-replay", {"replay", "--config=" + WriteConfig("m1", durability)});
  ASSERT_TRUE(replay.ok()) << replay.status();
  InsertAll(*replay, 0, 10, 10);
  const int status = replay->process->Stop(absl::Seconds(30));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << replay->process->LogTail(10);

  absl::StatusOr<RoleProcess> refused =
      StartRole("mismatch-replay2", {"replay", "--config=" + WriteConfig("m2", durability, /*max_size=*/5000)});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("exit code 2"));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("table 'transitions'"));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("max_size"));
}

}  // namespace
}  // namespace rill::testing
