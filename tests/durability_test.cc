// A replay shard killed with SIGKILL and restarted on the same folder, as
// real `rill replay` processes: in checkpoint mode it comes back with
// exactly the items of its last completed checkpoint; in WAL mode with
// every item it acknowledged; with a damaged log it refuses to start until
// the operator accepts the loss, which it then counts. Tables use
// max_times_sampled 1, so draining a table by sampling yields its exact key
// set.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <iostream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/metrics_scrape.h"
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
// keys, each row checked by `rows_match`. Batches of at most `max_batch`
// items keep each message under gRPC's 4 MB default.
std::set<uint64_t> Drain(const RoleProcess& role, const std::string& table = replay::kTestTable,
                         ::testing::AssertionResult (*rows_match)(const v1::SampleResponse&) = replay::RowsMatchKeys,
                         int64_t max_batch = 100000) {
  const int64_t size = Info(role).tables(0).size();
  std::set<uint64_t> keys;
  if (size == 0) return keys;
  auto stub = Connect(role);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = stub->Sample(&context);
  int64_t drawn = 0;
  while (drawn < size) {
    const int64_t batch_size = std::min(max_batch, size - drawn);
    v1::SampleRequest request;
    request.set_table(table);
    request.set_batch_size(static_cast<int32_t>(batch_size));
    request.set_num_batches(1);
    EXPECT_TRUE(stream->Write(request));
    v1::SampleResponse batch;
    if (!stream->Read(&batch)) {
      ADD_FAILURE() << "the sample stream ended after " << drawn << " of " << size << " items";
      break;
    }
    EXPECT_TRUE(rows_match(batch));
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

// Runs `rill args...` to completion, stdout and stderr together.
std::string RunRill(const std::string& name, const std::vector<std::string>& args, int* exit_code) {
  const std::string log = TempDir("cmd-" + name) + "/out.log";
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(name, RillBinary(), args, log);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return "";
  const std::optional<int> status = (*child)->WaitExit(absl::Seconds(60));
  EXPECT_TRUE(status.has_value()) << name << " did not finish";
  *exit_code = status.has_value() && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  return ReadFile(log);
}

// The issue's case: 1,000 acknowledged items, one byte of the log flipped
// in the middle, valid records after it.
TEST(DurabilityTest, AFlippedByteInTheLogIsRefusedUntilSkipRecordAcceptsTheCountedLoss) {
  const std::string dir = TempDir("durable-damaged");
  const std::string durability = absl::StrCat("mode: WAL dir: \"", dir, "\" checkpoint_interval_seconds: 3600");
  const std::string config = WriteConfig("damaged", durability);
  absl::StatusOr<RoleProcess> replay = StartRole("damaged-replay", {"replay", "--config=" + config});
  ASSERT_TRUE(replay.ok()) << replay.status();
  InsertAll(*replay, 0, 1000, 10);  // one acknowledged request at a time: one group commit each
  Kill(*replay);
  const std::string segment = dir + "/shard-0/wal-0000000000000001.log";
  {
    const std::streamoff middle = static_cast<std::streamoff>(std::filesystem::file_size(segment) / 2);
    std::fstream file(segment, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(middle);
    const char c = static_cast<char>(file.get());
    file.seekp(middle);
    file.put(static_cast<char>(c ^ 0x5a));
  }

  // By default the shard refuses, naming the file, the offset and the items.
  absl::StatusOr<RoleProcess> refused = StartRole("damaged-replay2", {"replay", "--config=" + config});
  ASSERT_FALSE(refused.ok());
  const std::string why(refused.status().message());
  std::cout << "refused: " << why << std::endl;
  EXPECT_THAT(why, HasSubstr("exit code 2"));
  EXPECT_THAT(why, HasSubstr("refusing to start"));
  EXPECT_THAT(why, HasSubstr(segment + "' at offset "));
  EXPECT_THAT(why, HasSubstr("10 acknowledged items in 1 record"));

  // The operator accepts the loss: the shard starts with every other item
  // and says what it lost, in Info, its metrics and `rill replay info`.
  const std::string accepting = WriteConfig("damaged-skip", durability + " on_corruption: SKIP_RECORD");
  // `rill replay --on_corruption` overrides the config's choice, and names a
  // choice it does not know.
  absl::StatusOr<RoleProcess> overridden =
      StartRole("damaged-replay-flag", {"replay", "--config=" + accepting, "--on_corruption=REFUSE"});
  ASSERT_FALSE(overridden.ok());
  EXPECT_THAT(overridden.status().message(), HasSubstr("10 acknowledged items in 1 record"));
  absl::StatusOr<RoleProcess> misspelt =
      StartRole("damaged-replay-typo", {"replay", "--config=" + config, "--on_corruption=SKIP"});
  ASSERT_FALSE(misspelt.ok());
  EXPECT_THAT(misspelt.status().message(), HasSubstr("--on_corruption=SKIP is not REFUSE, SKIP_RECORD or TRUNCATE"));
  absl::StatusOr<RoleProcess> skipped = StartRole("damaged-replay3", {"replay", "--config=" + accepting});
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  const v1::InfoResponse info = Info(*skipped);
  EXPECT_EQ(info.tables(0).size(), 990);
  EXPECT_EQ(info.last_checkpoint().recovery_lost_items(), 10);
  EXPECT_THAT(info.last_checkpoint().recovery_losses(), HasSubstr(segment));
  EXPECT_EQ(SumMetric(skipped->Metrics(), "rill_replay_recovery_lost_items_total"), 10);
  int exit_code = -1;
  const std::string shown = RunRill("damaged-info", {"replay", "info", "--address=" + skipped->address()}, &exit_code);
  EXPECT_EQ(exit_code, 0) << shown;
  std::cout << shown << std::endl;
  EXPECT_THAT(shown, HasSubstr("LOST 10 acknowledged items"));
  // What is missing is exactly one request's items.
  const std::set<uint64_t> present = Drain(*skipped);
  ASSERT_EQ(present.size(), 990u);
  std::vector<uint64_t> missing;
  for (uint64_t k = 0; k < 1000; ++k) {
    if (!present.count(k)) missing.push_back(k);
  }
  ASSERT_EQ(missing.size(), 10u);
  EXPECT_EQ(missing.front() % 10, 0u);
  EXPECT_EQ(missing.back(), missing.front() + 9);
  Kill(*skipped);

  // The recovered state was checkpointed at once: the default config starts.
  absl::StatusOr<RoleProcess> again = StartRole("damaged-replay4", {"replay", "--config=" + config});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Info(*again).tables(0).size(), 990);
  EXPECT_EQ(Info(*again).last_checkpoint().recovery_lost_items(), 0);
}

// A config of replay::FrameTableConfig's table ("frames": uint8 [4, 10, 10]
// frames and an int64 action), its frames stored with zstd when `compressed`.
std::string WriteFrameConfig(const std::string& name, const std::string& durability, bool compressed) {
  const std::string path = TempDir("configs-" + name) + "/config.textpb";
  std::ofstream(path) << absl::StrCat(R"(env { name: "Pendulum-v1" }
replay {
  tables {
    name: "frames"
    max_size: 200000
    max_times_sampled: 1
    signature {
      columns { name: "frame" dtype: DTYPE_UINT8 shape: [4, 10, 10] }
      columns { name: "action" dtype: DTYPE_INT64 }
    }
    )", compressed ? R"(compression { column: "frame" codec: ZSTD })" : "", R"(
  }
  durability { )", durability, R"( }
})");
  return path;
}

// Inserts requests of 20 items (`make` builds one for its keys), up to 8 in
// flight, until the shard has acknowledged 5,000 items and written two
// checkpoints; calls `before_kill` with its info then, kill -9s it and
// returns the acknowledged keys.
std::set<uint64_t> WriteUntilKilled(RoleProcess& replay,
                                    const std::function<v1::InsertRequest(const std::vector<uint64_t>&)>& make,
                                    const std::function<void(const v1::InfoResponse&)>& before_kill) {
  std::set<uint64_t> acked;
  std::atomic<int64_t> acked_count{0};
  std::mutex mu;
  std::thread writer([&] {
    auto stub = Connect(replay);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    auto stream = stub->Insert(&context);
    uint64_t next = 0;
    std::vector<std::vector<uint64_t>> in_flight;
    while (true) {
      while (in_flight.size() < 8 && next < 100000) {
        in_flight.push_back(Range(next, next + 20));
        next += 20;
        if (!stream->Write(make(in_flight.back()))) return;
      }
      if (in_flight.empty()) return;
      v1::InsertResponse ack;
      if (!stream->Read(&ack)) return;  // the shard died
      std::lock_guard<std::mutex> lock(mu);
      acked.insert(ack.keys().begin(), ack.keys().end());
      acked_count += ack.keys_size();
      in_flight.erase(in_flight.begin());
    }
  });
  EXPECT_TRUE(WaitUntil(
      [&] { return acked_count >= 5000 && Info(replay).last_checkpoint().checkpoints_written() >= 2; },
      absl::Seconds(60)));
  before_kill(Info(replay));
  Kill(replay);
  writer.join();
  std::lock_guard<std::mutex> lock(mu);
  std::cout << "acknowledged items before kill -9: " << acked.size() << std::endl;
  return acked;
}

// One batch of `batch_size` drawn from `table`, checked by `rows_match`;
// its keys. (Samples are not logged: these items may come back after the
// next restart, or not.)
std::set<uint64_t> SampleOnce(RoleProcess& replay, const std::string& table, int batch_size,
                              const std::function<::testing::AssertionResult(const v1::SampleResponse&)>& rows_match) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = Connect(replay)->Sample(&context);
  v1::SampleRequest request;
  request.set_table(table);
  request.set_batch_size(batch_size);
  request.set_num_batches(1);
  EXPECT_TRUE(stream->Write(request));
  v1::SampleResponse batch;
  EXPECT_TRUE(stream->Read(&batch));
  EXPECT_TRUE(rows_match(batch));
  context.TryCancel();
  return std::set<uint64_t>(batch.keys().begin(), batch.keys().end());
}

// The keys of `acknowledged` in neither `present` nor `sampled`.
std::vector<uint64_t> Missing(const std::set<uint64_t>& acknowledged, std::set<uint64_t> present,
                              const std::set<uint64_t>& sampled) {
  present.insert(sampled.begin(), sampled.end());
  std::vector<uint64_t> missing;
  std::set_difference(acknowledged.begin(), acknowledged.end(), present.begin(), present.end(),
                      std::back_inserter(missing));
  return missing;
}

// Compressed columns in WAL mode, through real processes: every acknowledged
// frame comes back bit for bit after kill -9, restored from compressed
// checkpoints and compressed log records; and again, after a second kill -9,
// into a shard whose config no longer compresses.
TEST(DurabilityTest, WalModeKeepsEveryAcknowledgedCompressedFrameAfterKill9) {
  const std::string dir = TempDir("durable-frames");
  const std::string durability = absl::StrCat("mode: WAL dir: \"", dir, "\" checkpoint_interval_seconds: 0.2");
  const std::string compressed = WriteFrameConfig("frames-zstd", durability, /*compressed=*/true);
  absl::StatusOr<RoleProcess> replay = StartRole("frames-replay", {"replay", "--config=" + compressed});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const std::set<uint64_t> acknowledged =
      WriteUntilKilled(*replay, replay::FrameInsertRequest, [](const v1::InfoResponse& before) {
        // The table counts its frames compressed: under half of 408 bytes an item.
        EXPECT_LT(before.tables(0).bytes(), before.tables(0).size() * 408 / 2);
      });

  // Back with every acknowledged frame; killed again before anything is sampled.
  absl::StatusOr<RoleProcess> restarted = StartRole("frames-replay2", {"replay", "--config=" + compressed});
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_THAT(restarted->process->LogTail(20), HasSubstr("write-ahead log records"));
  EXPECT_GE(Info(*restarted).tables(0).size(), static_cast<int64_t>(acknowledged.size()));
  // A batch drawn from the restored, still compressed table: its frames
  // decompressed bit for bit.
  const std::set<uint64_t> sampled = SampleOnce(*restarted, replay::kFrameTable, 2000, replay::FrameRowsMatchKeys);
  ASSERT_TRUE(WaitUntil([&] { return Info(*restarted).last_checkpoint().checkpoints_written() >= 1; },
                        absl::Seconds(30)));
  Kill(*restarted);

  // The same folder under a config without compression: its compressed
  // checkpoint and log are decompressed as they are restored.
  const std::string plain = WriteFrameConfig("frames-plain", durability, /*compressed=*/false);
  absl::StatusOr<RoleProcess> uncompressed = StartRole("frames-replay3", {"replay", "--config=" + plain});
  ASSERT_TRUE(uncompressed.ok()) << uncompressed.status();
  EXPECT_EQ(Info(*uncompressed).tables(0).bytes(), Info(*uncompressed).tables(0).size() * 408);
  const std::vector<uint64_t> missing =
      Missing(acknowledged, Drain(*uncompressed, replay::kFrameTable, replay::FrameRowsMatchKeys, /*max_batch=*/5000),
              sampled);
  EXPECT_TRUE(missing.empty()) << missing.size() << " of " << acknowledged.size()
                               << " acknowledged frames are missing, e.g. " << missing.front();
}

// A config of replay::StackTableConfig's table ("stacks": obs and next_obs
// uint8 [4, 8, 8] stacks of consecutive frames, an int64 action), obs and
// next_obs sharing planes when `shared`.
std::string WriteStackConfig(const std::string& name, const std::string& durability, bool shared) {
  const std::string path = TempDir("configs-" + name) + "/config.textpb";
  std::ofstream(path) << absl::StrCat(R"(env { name: "Pendulum-v1" }
replay {
  tables {
    name: "stacks"
    max_size: 200000
    max_times_sampled: 1
    signature {
      columns { name: "obs" dtype: DTYPE_UINT8 shape: [4, 8, 8] }
      columns { name: "next_obs" dtype: DTYPE_UINT8 shape: [4, 8, 8] }
      columns { name: "action" dtype: DTYPE_INT64 }
    }
    )", shared ? R"(compression { column: "obs" share_planes: true }
    compression { column: "next_obs" share_planes: true })" : "", R"(
  }
  durability { )", durability, R"( }
})");
  return path;
}

// Shared planes in WAL mode, through real processes: every acknowledged
// stack comes back bit for bit after kill -9, from checkpoints that hold
// each plane once and from the log; and again, after a second kill -9, into
// a shard whose config no longer shares planes.
TEST(DurabilityTest, WalModeKeepsEveryAcknowledgedStackOfSharedPlanesAfterKill9) {
  constexpr int64_t kItemBytes = 2 * 4 * 64 + 8;
  const std::string dir = TempDir("durable-stacks");
  const std::string durability = absl::StrCat("mode: WAL dir: \"", dir, "\" checkpoint_interval_seconds: 0.2");
  const std::string shared = WriteStackConfig("stacks-shared", durability, /*shared=*/true);
  absl::StatusOr<RoleProcess> replay = StartRole("stacks-replay", {"replay", "--config=" + shared});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const std::set<uint64_t> acknowledged =
      WriteUntilKilled(*replay, replay::StackInsertRequest, [](const v1::InfoResponse& before) {
        // About one 64-byte frame and an action per item, not eight frames.
        EXPECT_LT(before.tables(0).bytes(), before.tables(0).size() * kItemBytes / 4);
      });

  absl::StatusOr<RoleProcess> restarted = StartRole("stacks-replay2", {"replay", "--config=" + shared});
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_THAT(restarted->process->LogTail(20), HasSubstr("write-ahead log records"));
  EXPECT_GE(Info(*restarted).tables(0).size(), static_cast<int64_t>(acknowledged.size()));
  EXPECT_LT(Info(*restarted).tables(0).bytes(), Info(*restarted).tables(0).size() * kItemBytes / 4);
  const std::set<uint64_t> sampled = SampleOnce(*restarted, replay::kStackTable, 2000, replay::StackRowsMatchKeys);
  ASSERT_TRUE(WaitUntil([&] { return Info(*restarted).last_checkpoint().checkpoints_written() >= 1; },
                        absl::Seconds(30)));
  Kill(*restarted);

  const std::string plain = WriteStackConfig("stacks-plain", durability, /*shared=*/false);
  absl::StatusOr<RoleProcess> whole = StartRole("stacks-replay3", {"replay", "--config=" + plain});
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(Info(*whole).tables(0).bytes(), Info(*whole).tables(0).size() * kItemBytes);
  const std::vector<uint64_t> missing =
      Missing(acknowledged, Drain(*whole, replay::kStackTable, replay::StackRowsMatchKeys, /*max_batch=*/5000),
              sampled);
  EXPECT_TRUE(missing.empty()) << missing.size() << " of " << acknowledged.size()
                               << " acknowledged stacks are missing, e.g. " << missing.front();
}

}  // namespace
}  // namespace rill::testing
