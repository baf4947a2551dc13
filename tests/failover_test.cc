// Replay sharding under failure, with real `rill replay` processes and the
// real clients in this process: a ReplayWriter streams items to its home
// shard while that shard is stopped (SIGSTOP) or killed (SIGKILL) and
// restarted; at the end every shard is drained (a FIFO table hands out each
// item once) and every acknowledged key must be stored exactly once across
// the shards. A ReplaySampler keeps delivering while a shard is dead and
// samples it again once it is back.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_util.h"
#include "gtest/gtest.h"
#include "proto/replay.grpc.pb.h"
#include "replay/client/sampler.h"
#include "replay/testing/test_items.h"
#include "replay/client/writer.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

// The shard alone: `rill-replay` (//:rill-replay) in the test's runfiles,
// what `rill replay` execs, with the same flags but no command word. The
// test needs no LibTorch to build, or to instrument under --config=tsan.
std::string RillReplayBinary() { return std::filesystem::absolute("rill-replay").string(); }

using replay::ReplayWriter;

constexpr int kBatchItems = 8;

// An experiment config whose one table fits replay::TestSignature and hands
// out each item once, so that draining a shard lists exactly what it holds.
std::string WriteConfig(const std::string& dir, const std::string& durability_mode) {
  const std::string path = dir + "/config.textpb";
  std::ofstream out(path);
  out << "name: \"failover\"\n"
      << "env { name: \"Pendulum-v1\" }\n"
      << "replay {\n"
      << "  tables {\n"
      << "    name: \"" << replay::kTestTable << "\"\n"
      << "    max_size: 1000000\n"
      << "    selector { fifo {} }\n"
      << "    signature {\n"
      << "      columns { name: \"obs\" dtype: DTYPE_FLOAT32 shape: 2 }\n"
      << "      columns { name: \"action\" dtype: DTYPE_INT64 }\n"
      << "    }\n"
      << "    rate_limiter { min_size_to_sample: 1 }\n"
      << "  }\n"
      << "  durability { mode: " << absl::AsciiStrToUpper(durability_mode) << " dir: \"" << dir << "/durable\" }\n"
      << "}\n";
  return path;
}

struct Shard {
  RoleProcess role;
  std::vector<std::string> args;  // without host and ports
};

// Starts shard `index` on a free port.
absl::StatusOr<Shard> StartShard(const std::string& name, const std::string& config, int index,
                                 const std::string& dir) {
  Shard shard;
  shard.args = {"--config=" + config, absl::StrCat("--shard_index=", index),
                absl::StrCat("--checkpoint_dir=", dir, "/shard-", index)};
  absl::StatusOr<RoleProcess> role = StartRole(name, shard.args, RillReplayBinary());
  if (!role.ok()) return role.status();
  shard.role = std::move(*role);
  return shard;
}

// Starts the shard again where it was (same port, same folder).
absl::Status RestartShard(Shard& shard, const std::string& log) {
  std::vector<std::string> args = shard.args;
  args.push_back("--host=127.0.0.1");
  args.push_back(absl::StrCat("--port=", shard.role.grpc_port));
  args.push_back("--metrics_port=0");
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Start(shard.role.process->name() + "-restarted", RillReplayBinary(), args, log);
  if (!child.ok()) return child.status();
  shard.role.process = std::move(*child);
  absl::StatusOr<std::map<std::string, int>> ports = shard.role.process->WaitReady(absl::Seconds(60));
  if (!ports.ok()) return ports.status();
  if ((*ports)["grpc_port"] != shard.role.grpc_port) {
    return absl::InternalError(absl::StrCat("restarted on port ", (*ports)["grpc_port"]));
  }
  shard.role.metrics_port = (*ports)["metrics_port"];
  return absl::OkStatus();
}

std::unique_ptr<v1::ReplayService::Stub> Stub(const Shard& shard) {
  return v1::ReplayService::NewStub(MakeChannel(shard.role.address(), 64 << 20));
}

absl::StatusOr<v1::InfoResponse> Info(const Shard& shard) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  v1::InfoResponse info;
  grpc::Status status = Stub(shard)->Info(&context, v1::InfoRequest(), &info);
  if (!status.ok()) return absl::UnavailableError(status.error_message());
  return info;
}

// Every key the shard holds: one FIFO batch of the table's whole size.
std::vector<uint64_t> Drain(const Shard& shard) {
  absl::StatusOr<v1::InfoResponse> info = Info(shard);
  EXPECT_TRUE(info.ok()) << info.status();
  if (!info.ok() || info->tables(0).size() == 0) return {};
  std::unique_ptr<v1::ReplayService::Stub> stub = Stub(shard);
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  auto stream = stub->Sample(&context);
  v1::SampleRequest request;
  request.set_table(replay::kTestTable);
  request.set_batch_size(static_cast<int>(info->tables(0).size()));
  request.set_num_batches(1);
  EXPECT_TRUE(stream->Write(request));
  v1::SampleResponse response;
  EXPECT_TRUE(stream->Read(&response));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_TRUE(replay::RowsMatchKeys(response));
  return std::vector<uint64_t>(response.keys().begin(), response.keys().end());
}

// How often each key is stored, over all shards.
std::map<uint64_t, int> StoredKeys(const std::vector<Shard*>& shards) {
  std::map<uint64_t, int> count;
  for (const Shard* shard : shards) {
    for (uint64_t key : Drain(*shard)) ++count[key];
  }
  return count;
}

// Appends batches of consecutive keys (actor 0, sequence from 0) from a
// thread until stopped; Append's DeadlineExceeded (backpressure) is retried
// with the same items.
class Appender {
 public:
  explicit Appender(ReplayWriter& writer) : writer_(writer), thread_([this] { Run(); }) {}
  ~Appender() { Stop(); }
  // Returns the number of items appended (keys 0 .. n-1).
  uint64_t Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return appended_;
  }
  absl::Status error() const { return error_; }

 private:
  void Run() {
    while (!stop_) {
      std::vector<uint64_t> keys;
      for (int i = 0; i < kBatchItems; ++i) keys.push_back(appended_ + i);
      replay::TestItems items = replay::MakeTestItems(keys);
      absl::Status status = writer_.Append(items.columns(), kBatchItems);
      if (absl::IsDeadlineExceeded(status)) continue;
      if (!status.ok()) {
        error_ = status;
        return;
      }
      appended_ += kBatchItems;
    }
  }

  ReplayWriter& writer_;
  std::atomic<bool> stop_{false};
  uint64_t appended_ = 0;  // written by the thread only; read after join
  absl::Status error_;
  std::thread thread_;
};

std::unique_ptr<ReplayWriter> MakeWriter(const std::vector<Shard*>& shards) {
  replay::WriterOptions options;
  for (const Shard* shard : shards) options.addresses.push_back(shard->role.address());
  options.table = replay::kTestTable;
  options.signature = replay::TestSignature();
  options.batch_items = kBatchItems;
  options.max_in_flight_batches = 4;
  options.key_prefix = 0;  // home shard 0
  options.first_sequence = 0;
  options.ack_timeout = absl::Seconds(1);
  options.probe_timeout = absl::Seconds(1);
  options.probe_interval = absl::Milliseconds(100);
  options.rebind_grace = absl::Seconds(120);  // never reached here: no possible duplicate
  absl::StatusOr<std::unique_ptr<ReplayWriter>> writer = ReplayWriter::Create(options);
  EXPECT_TRUE(writer.ok()) << writer.status();
  return writer.ok() ? *std::move(writer) : nullptr;
}

// Waits until shard `shard` has acknowledged `more` items beyond now.
bool WaitForAcks(const ReplayWriter& writer, int shard, int64_t more) {
  const int64_t target = writer.acked_items_by_shard()[shard] + more;
  return WaitUntil([&] { return writer.acked_items_by_shard()[shard] >= target; }, absl::Seconds(60));
}

TEST(FailoverTest, StoppedHomeShardFailsOverAndBackWithEveryItemStoredOnce) {
  const std::string dir = TempDir("failover-stop");
  const std::string config = WriteConfig(dir, "none");
  absl::StatusOr<Shard> s0 = StartShard("stop-shard0", config, 0, dir);
  ASSERT_TRUE(s0.ok()) << s0.status();
  absl::StatusOr<Shard> s1 = StartShard("stop-shard1", config, 1, dir);
  ASSERT_TRUE(s1.ok()) << s1.status();
  std::unique_ptr<ReplayWriter> writer = MakeWriter({&*s0, &*s1});
  ASSERT_NE(writer, nullptr);
  Appender appender(*writer);

  ASSERT_TRUE(WaitForAcks(*writer, 0, 400)) << "the home shard acknowledged nothing";
  const absl::Time stopped = absl::Now();
  s0->role.process->Signal(SIGSTOP);
  ASSERT_TRUE(WaitUntil([&] { return writer->current_shard() == 1; }, absl::Seconds(30)))
      << "no failover from the stopped shard";
  const double failover_seconds = absl::ToDoubleSeconds(absl::Now() - stopped);
  const int64_t acked_by_home = writer->acked_items_by_shard()[0];
  EXPECT_TRUE(WaitForAcks(*writer, 1, 400)) << "the other shard does not take the writes";
  EXPECT_EQ(writer->acked_items_by_shard()[0], acked_by_home) << "the stopped shard acknowledged items";

  const absl::Time resumed = absl::Now();
  s0->role.process->Signal(SIGCONT);
  ASSERT_TRUE(WaitUntil([&] { return writer->current_shard() == 0; }, absl::Seconds(30)))
      << "the writer did not return to its home shard";
  const double return_seconds = absl::ToDoubleSeconds(absl::Now() - resumed);
  EXPECT_TRUE(WaitForAcks(*writer, 0, 400)) << "the home shard takes no writes after it resumed";

  const uint64_t appended = appender.Stop();
  ASSERT_TRUE(appender.error().ok()) << appender.error();
  ASSERT_TRUE(writer->Flush(absl::Seconds(30)).ok());
  EXPECT_EQ(writer->acked_items(), static_cast<int64_t>(appended));
  EXPECT_EQ(writer->failovers(), 1);
  EXPECT_EQ(writer->rebound_batches(), 0);

  const std::map<uint64_t, int> stored = StoredKeys({&*s0, &*s1});
  EXPECT_EQ(stored.size(), appended) << "acknowledged items missing";
  int duplicates = 0;
  for (const auto& [key, count] : stored) {
    EXPECT_LT(key, appended) << "a key never appended";
    if (count != 1) ++duplicates;
  }
  EXPECT_EQ(duplicates, 0);
  std::printf("{\"case\": \"sigstop\", \"items\": %llu, \"failover_seconds\": %.3f, \"return_home_seconds\": %.3f, "
              "\"items_shard0\": %lld, \"items_shard1\": %lld}\n",
              static_cast<unsigned long long>(appended), failover_seconds, return_seconds,
              static_cast<long long>(writer->acked_items_by_shard()[0]),
              static_cast<long long>(writer->acked_items_by_shard()[1]));
}

// Durability mode of the shards: with "none" the items the killed shard had
// acknowledged are lost (and only those); with "wal" nothing is.
class KilledShardTest : public ::testing::TestWithParam<std::string> {};

TEST_P(KilledShardTest, KilledHomeShardFailsOverAndBackWithNoDuplicate) {
  const std::string mode = GetParam();
  const std::string dir = TempDir("failover-kill-" + mode);
  const std::string config = WriteConfig(dir, mode);
  absl::StatusOr<Shard> s0 = StartShard("kill-" + mode + "-shard0", config, 0, dir);
  ASSERT_TRUE(s0.ok()) << s0.status();
  absl::StatusOr<Shard> s1 = StartShard("kill-" + mode + "-shard1", config, 1, dir);
  ASSERT_TRUE(s1.ok()) << s1.status();
  absl::StatusOr<v1::InfoResponse> info = Info(*s0);
  ASSERT_TRUE(info.ok()) << info.status();
  if (info->durability_mode() != mode && mode != "none") {
    GTEST_SKIP() << "this build's replay shard reports durability mode '" << info->durability_mode() << "', not '"
                 << mode << "'";
  }
  std::unique_ptr<ReplayWriter> writer = MakeWriter({&*s0, &*s1});
  ASSERT_NE(writer, nullptr);
  Appender appender(*writer);

  ASSERT_TRUE(WaitForAcks(*writer, 0, 400)) << "the home shard acknowledged nothing";
  const absl::Time killed = absl::Now();
  s0->role.process->Signal(SIGKILL);
  ASSERT_TRUE(s0->role.process->WaitExit(absl::Seconds(10)).has_value());
  ASSERT_TRUE(WaitUntil([&] { return writer->current_shard() == 1; }, absl::Seconds(30)))
      << "no failover from the killed shard";
  const double failover_seconds = absl::ToDoubleSeconds(absl::Now() - killed);
  // Once the writer has seen shard 0 down, every ack it sent has been read:
  // before the kill all items went to shard 0 in key order, so keys
  // [0, acked_before_kill) are exactly those it acknowledged.
  const uint64_t acked_before_kill = static_cast<uint64_t>(writer->acked_items_by_shard()[0]);
  EXPECT_TRUE(WaitForAcks(*writer, 1, 400)) << "the other shard does not take the writes";

  ASSERT_TRUE(RestartShard(*s0, dir + "/shard0-restarted.log").ok());
  ASSERT_TRUE(WaitUntil([&] { return writer->current_shard() == 0; }, absl::Seconds(30)))
      << "the writer did not return to its restarted home shard";
  EXPECT_TRUE(WaitForAcks(*writer, 0, 400)) << "the restarted home shard takes no writes";

  const uint64_t appended = appender.Stop();
  ASSERT_TRUE(appender.error().ok()) << appender.error();
  ASSERT_TRUE(writer->Flush(absl::Seconds(30)).ok());
  EXPECT_EQ(writer->failovers(), 1);
  EXPECT_EQ(writer->rebound_batches(), 0);

  const std::map<uint64_t, int> stored = StoredKeys({&*s0, &*s1});
  int duplicates = 0, missing_after_kill = 0, missing_before_kill = 0;
  for (const auto& [key, count] : stored) {
    EXPECT_LT(key, appended) << "a key never appended";
    if (count != 1) ++duplicates;
  }
  for (uint64_t key = 0; key < appended; ++key) {
    if (stored.count(key) > 0) continue;
    ++(key < acked_before_kill ? missing_before_kill : missing_after_kill);
  }
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(missing_after_kill, 0) << "items acknowledged after the kill are missing";
  if (mode == "none") {
    // The restarted shard started empty: what it had acknowledged is gone.
    EXPECT_EQ(missing_before_kill, static_cast<int>(acked_before_kill));
  } else {
    EXPECT_EQ(missing_before_kill, 0) << "a durable shard lost acknowledged items";
  }
  std::printf("{\"case\": \"sigkill-%s\", \"items\": %llu, \"acked_before_kill\": %llu, \"failover_seconds\": %.3f, "
              "\"lost\": %d, \"duplicates\": %d}\n",
              mode.c_str(), static_cast<unsigned long long>(appended),
              static_cast<unsigned long long>(acked_before_kill), failover_seconds,
              missing_before_kill + missing_after_kill, duplicates);
}

INSTANTIATE_TEST_SUITE_P(DurabilityModes, KilledShardTest, ::testing::Values("none", "wal"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(FailoverTest, SamplerKeepsDeliveringWhileAShardIsDeadAndSamplesItAgainAfterItsRestart) {
  const std::string dir = TempDir("failover-sampler");
  const std::string config = WriteConfig(dir, "none");
  // A uniform table this time: items are sampled again and again.
  {
    std::ifstream in(config);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.replace(text.find("selector { fifo {} }"), std::string("selector { fifo {} }").size(), "selector { uniform {} }");
    std::ofstream(config, std::ios::trunc) << text;
  }
  absl::StatusOr<Shard> s0 = StartShard("sampler-shard0", config, 0, dir);
  ASSERT_TRUE(s0.ok()) << s0.status();
  absl::StatusOr<Shard> s1 = StartShard("sampler-shard1", config, 1, dir);
  ASSERT_TRUE(s1.ok()) << s1.status();
  // Writer 0 fills shard 0, writer 1 shard 1 (their home shards).
  auto fill = [&](uint64_t actor, uint64_t first) {
    replay::WriterOptions options;
    options.addresses = {s0->role.address(), s1->role.address()};
    options.table = replay::kTestTable;
    options.signature = replay::TestSignature();
    options.batch_items = kBatchItems;
    options.key_prefix = actor;
    options.first_sequence = static_cast<int64_t>(first);
    absl::StatusOr<std::unique_ptr<ReplayWriter>> writer = ReplayWriter::Create(options);
    ASSERT_TRUE(writer.ok()) << writer.status();
    std::vector<uint64_t> keys;
    for (uint64_t i = 0; i < 64; ++i) keys.push_back((actor << ReplayWriter::kSequenceBits) | (first + i));
    replay::TestItems items = replay::MakeTestItems(keys);
    ASSERT_TRUE((*writer)->Append(items.columns(), 64).ok());
    ASSERT_TRUE((*writer)->Flush(absl::Seconds(30)).ok());
    EXPECT_EQ((*writer)->acked_items_by_shard()[actor % 2], 64);
  };
  fill(0, 0);
  fill(1, 0);
  replay::SamplerOptions options;
  options.addresses = {s0->role.address(), s1->role.address()};
  options.table = replay::kTestTable;
  options.batch_size = 8;
  options.prefetch_batches = 2;
  absl::StatusOr<std::unique_ptr<replay::ReplaySampler>> sampler = replay::ReplaySampler::Create(options);
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  auto shard_of = [](const v1::SampleResponse& batch) { return static_cast<int>(batch.keys(0) >> ReplayWriter::kSequenceBits); };
  std::set<int> seen;
  // Until both have delivered: a shard is picked once its first batch told
  // its table size, which a slow start (TSAN) delays.
  for (const absl::Time until = absl::Now() + absl::Seconds(30); absl::Now() < until && seen.size() < 2;) {
    absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = (*sampler)->Next(absl::Seconds(10));
    ASSERT_TRUE(batch.ok()) << batch.status();
    seen.insert(shard_of(**batch));
  }
  EXPECT_EQ(seen.size(), 2u) << "not both shards sampled";

  s0->role.process->Signal(SIGKILL);
  ASSERT_TRUE(s0->role.process->WaitExit(absl::Seconds(10)).has_value());
  // The learner goes on training: batches already queued from shard 0 are
  // used up, then its thread sees the stream broken.
  for (int i = 0; i < 1000 && (*sampler)->shards_up() == 2; ++i) {
    absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = (*sampler)->Next(absl::Seconds(5));
    ASSERT_TRUE(batch.ok()) << "batch " << i << " after shard 0 died: " << batch.status();
  }
  ASSERT_TRUE(WaitUntil([&] { return (*sampler)->shards_up() == 1; }, absl::Seconds(30)));
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = (*sampler)->Next(absl::Seconds(5));
    ASSERT_TRUE(batch.ok()) << "batch " << i << " while shard 0 is dead: " << batch.status();
    EXPECT_EQ(shard_of(**batch), 1);
  }

  ASSERT_TRUE(RestartShard(*s0, dir + "/shard0-restarted.log").ok());
  fill(0, 1000);
  ASSERT_TRUE(WaitUntil([&] { return (*sampler)->shards_up() == 2; }, absl::Seconds(30)));
  bool saw_restarted = false;
  for (const absl::Time until = absl::Now() + absl::Seconds(30); absl::Now() < until && !saw_restarted;) {
    absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = (*sampler)->Next(absl::Seconds(5));
    ASSERT_TRUE(batch.ok()) << batch.status();
    saw_restarted = shard_of(**batch) == 0;
  }
  EXPECT_TRUE(saw_restarted) << "the restarted shard is not sampled again";
  EXPECT_EQ((*sampler)->shard_stats()[0].downs, 1);
}

}  // namespace
}  // namespace rill::testing
