// Measures what durability costs a replay shard, on this machine's disk:
//  1. insert throughput of a real gRPC shard (ReplayServiceImpl on
//     127.0.0.1) without durability and in WAL mode (every acknowledgement
//     waits for fdatasync, group commit), with the same writers: --writers
//     streams, each keeping --in_flight requests of --batch 180-byte items
//     unacknowledged, for --seconds;
//  2. one checkpoint of a table holding --checkpoint_items 180-byte items:
//     the pause (table lock held) and the total write time, then the restore.
// Prints one JSON object as its last line, with wal/plain as a ratio.
//
//   bazel run -c opt //replay:bench_durability -- --dir=/tmp/rill-bench-durability
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "proto/replay.grpc.pb.h"
#include "replay/durability/checkpoint.h"
#include "replay/server/replay_shard.h"
#include "replay/table.h"

ABSL_FLAG(std::string, dir, "/tmp/rill-bench-durability", "Scratch folder on the disk to measure (emptied).");
ABSL_FLAG(int, writers, 4, "Insert streams.");
ABSL_FLAG(int, in_flight, 8, "Unacknowledged requests per stream (and the shard's per-stream bound).");
ABSL_FLAG(int, batch, 64, "Items per insert request.");
ABSL_FLAG(double, seconds, 5, "Duration of each throughput run.");
ABSL_FLAG(int64_t, checkpoint_items, 1000000, "Items in the checkpointed table.");
ABSL_FLAG(int32_t, group_commit_micros, 0, "replay.durability.group_commit_micros in WAL mode.");

namespace rill::bench {

using replay::ReplayShard;
using replay::ReplayShardOptions;

namespace {

constexpr char kTable[] = "bench";
constexpr int kFloatsPerItem = 45;  // 180 bytes

v1::TableConfig BenchTable(int64_t max_size) {
  v1::TableConfig table;
  table.set_name(kTable);
  table.set_max_size(max_size);
  v1::ColumnSpec* column = table.mutable_signature()->add_columns();
  column->set_name("obs");
  column->set_dtype(v1::DTYPE_FLOAT32);
  column->add_shape(kFloatsPerItem);
  return table;
}

v1::InsertRequest BenchRequest(uint64_t first_key, int n) {
  v1::InsertRequest request;
  request.set_table(kTable);
  for (int i = 0; i < n; ++i) request.add_keys(first_key + i);
  v1::Tensor* column = request.add_columns();
  column->set_dtype(v1::DTYPE_FLOAT32);
  column->add_shape(n);
  column->add_shape(kFloatsPerItem);
  std::string data(static_cast<size_t>(n) * kFloatsPerItem * sizeof(float), '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + first_key);
  column->set_data(std::move(data));
  return request;
}

// Items per second acknowledged by a shard with `mode` durability.
double InsertThroughput(rill::v1::DurabilityConfig::Mode mode, const std::string& dir) {
  v1::ReplayConfig config;
  *config.add_tables() = BenchTable(2000000);
  config.mutable_durability()->set_mode(mode);
  config.mutable_durability()->set_checkpoint_interval_seconds(3600);
  config.mutable_durability()->set_keep_latest(1);
  config.mutable_durability()->set_group_commit_micros(absl::GetFlag(FLAGS_group_commit_micros));
  config.set_max_in_flight_inserts_per_stream(absl::GetFlag(FLAGS_in_flight));
  std::filesystem::remove_all(dir);
  ReplayShardOptions options;
  options.durability_dir = dir;
  options.final_checkpoint = false;
  std::unique_ptr<ReplayShard> shard = *ReplayShard::Start(config, options);
  const int port = shard->port();

  const int batch = absl::GetFlag(FLAGS_batch);
  const int in_flight = absl::GetFlag(FLAGS_in_flight);
  std::atomic<int64_t> acked{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> measuring{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < absl::GetFlag(FLAGS_writers); ++w) {
    writers.emplace_back([&, w] {
      auto stub = v1::ReplayService::NewStub(
          grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
      grpc::ClientContext context;
      auto stream = stub->Insert(&context);
      uint64_t key = static_cast<uint64_t>(w) << 40;
      // Requests are prebuilt: the client's cost is not what is measured.
      std::vector<v1::InsertRequest> requests;
      for (int i = 0; i < 64; ++i) requests.push_back(BenchRequest(0, batch));
      int outstanding = 0;
      size_t next = 0;
      while (!stop) {
        while (outstanding < in_flight) {
          v1::InsertRequest& request = requests[next++ % requests.size()];
          for (int i = 0; i < batch; ++i) request.set_keys(i, key++);
          if (!stream->Write(request)) return;
          ++outstanding;
        }
        v1::InsertResponse ack;
        if (!stream->Read(&ack)) return;
        --outstanding;
        if (measuring) acked += ack.keys_size();
      }
      stream->WritesDone();
      v1::InsertResponse ack;
      while (stream->Read(&ack)) {
      }
      stream->Finish();
    });
  }
  absl::SleepFor(absl::Milliseconds(500));  // warm-up
  measuring = true;
  const absl::Time start = absl::Now();
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_seconds)));
  measuring = false;
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  const double rate = static_cast<double>(acked.load()) / elapsed;
  stop = true;
  for (auto& t : writers) t.join();
  shard->Stop().IgnoreError();
  return rate;
}

}  // namespace
}  // namespace rill::bench

int main(int argc, char** argv) {
  using namespace rill::replay;
  using rill::bench::BenchRequest;
  using rill::bench::BenchTable;
  using rill::bench::InsertThroughput;
  namespace v1 = rill::v1;
  absl::ParseCommandLine(argc, argv);
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::filesystem::create_directories(dir);

  const double plain = InsertThroughput(v1::DurabilityConfig::NONE, dir + "/plain");
  const double checkpoint_mode = InsertThroughput(v1::DurabilityConfig::CHECKPOINT, dir + "/checkpoint");
  const double wal = InsertThroughput(v1::DurabilityConfig::WAL, dir + "/wal");
  std::fprintf(stderr, "inserts/s: plain %.0f, checkpoint mode %.0f, wal %.0f (%.2f of plain)\n", plain,
               checkpoint_mode, wal, wal / plain);

  // One checkpoint of a full table.
  const int64_t n = absl::GetFlag(FLAGS_checkpoint_items);
  v1::ReplayConfig config;
  *config.add_tables() = BenchTable(n);
  std::vector<std::unique_ptr<Table>> tables = *CreateTables(config);
  std::vector<uint64_t> stored;
  for (int64_t k = 0; k < n; k += 1000) {
    const v1::InsertRequest request = BenchRequest(static_cast<uint64_t>(k), static_cast<int>(std::min<int64_t>(1000, n - k)));
    if (!tables[0]->Insert(request, absl::InfiniteFuture(), &stored).ok()) return 1;
  }
  std::filesystem::remove_all(dir + "/ckpt");
  auto store = *CheckpointStore::Open(dir + "/ckpt", 1);
  // Inserts keep running meanwhile: the pause is what they see.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> inserted_during{0};
  absl::Duration longest_insert;
  std::thread inserter([&] {
    uint64_t key = static_cast<uint64_t>(n) * 10;
    std::vector<uint64_t> keys;
    while (!stop) {
      const absl::Time t0 = absl::Now();
      if (!tables[0]->Insert(BenchRequest(key, 64), absl::InfiniteFuture(), &keys).ok()) return;
      longest_insert = std::max(longest_insert, absl::Now() - t0);
      key += 64;
      inserted_during += 64;
    }
  });
  absl::SleepFor(absl::Milliseconds(200));
  absl::StatusOr<CheckpointSummary> summary = store->Write(config, {tables[0].get()}, 0);
  stop = true;
  inserter.join();
  if (!summary.ok()) {
    std::fprintf(stderr, "checkpoint failed: %s\n", summary.status().ToString().c_str());
    return 1;
  }
  std::vector<std::unique_ptr<Table>> restored = *CreateTables(config);
  const absl::Time restore_start = absl::Now();
  auto restored_summary = store->RestoreLatest(config, &restored);
  const double restore_seconds = absl::ToDoubleSeconds(absl::Now() - restore_start);
  if (!restored_summary.ok()) return 1;
  std::filesystem::remove_all(dir);

  std::printf(
      "{\"writers\": %d, \"in_flight\": %d, \"batch_items\": %d, \"item_bytes\": 180, "
      "\"plain_items_per_second\": %.0f, \"checkpoint_mode_items_per_second\": %.0f, "
      "\"wal_items_per_second\": %.0f, \"wal_over_plain\": %.3f, "
      "\"checkpoint_items\": %lld, \"checkpoint_bytes\": %lld, \"checkpoint_pause_seconds\": %.4f, "
      "\"longest_insert_during_checkpoint_seconds\": %.4f, \"checkpoint_seconds\": %.3f, "
      "\"restore_seconds\": %.3f, \"restored_items\": %lld}\n",
      absl::GetFlag(FLAGS_writers), absl::GetFlag(FLAGS_in_flight), absl::GetFlag(FLAGS_batch), plain,
      checkpoint_mode, wal, wal / plain, static_cast<long long>(summary->items),
      static_cast<long long>(summary->bytes), absl::ToDoubleSeconds(summary->pause),
      absl::ToDoubleSeconds(longest_insert), absl::ToDoubleSeconds(summary->duration), restore_seconds,
      static_cast<long long>(restored[0]->Stats().size));
  return 0;
}
