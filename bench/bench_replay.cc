#include "bench/bench_replay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/bench_probes.h"
#include "experiment/config.h"
#include "flags/flags.h"
#include "common/grpc_util.h"
#include "common/metrics_scrape.h"
#include "common/os.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"
#include "grpcpp/grpcpp.h"
#include "proto/config.pb.h"
#include "proto/replay.grpc.pb.h"
#include "proto/replay.pb.h"
#include "common/child_process.h"
#include "bench/frame_data.h"
#include "replay/column_codec.h"

ABSL_FLAG(std::string, bench_writers, "1,4,16",
          "Concurrent writers (and then samplers) per case, comma-separated; each 1..1000.");
ABSL_FLAG(int32_t, bench_crowd_writers, 1000,
          "Writers of the crowd case: one small request in flight each into a table whose samples-per-insert "
          "limiter a live sampler holds, so most are blocked at any time; also the idle streams whose memory is "
          "measured. 0 skips the case.");
ABSL_FLAG(std::string, bench_tables, "pendulum,halfcheetah,frames",
          "Item sizes to measure, comma-separated: pendulum (36 B), halfcheetah (168 B), frames (28,224 B).");
ABSL_FLAG(int32_t, bench_insert_request_kib, 512,
          "Payload per insert request in KiB; items per request = this / item size (at least 1).");
ABSL_FLAG(int32_t, bench_in_flight, 4, "Requests (inserts) or batches (samples) in flight per stream.");
ABSL_FLAG(int32_t, bench_sample_batch, 256, "Items per sampled batch.");
ABSL_FLAG(bool, bench_memory, true,
          "Also measure resident memory per stored payload byte (and in the compression and planes sections, each "
          "shard's resident memory at rest, which waits 6 s a case for the shard to return freed buffers).");
ABSL_FLAG(int64_t, bench_memory_mib, 1024, "Payload (MiB) the memory section stores of each small item size.");
ABSL_FLAG(int64_t, bench_memory_large_mib, 1024, "Payload (MiB) the memory section stores of 28 KB items.");
ABSL_FLAG(bool, bench_wal, true, "Also time inserts into a shard in WAL durability mode.");
ABSL_FLAG(bool, bench_compression, true,
          "Also measure frame columns stored compressed (TableConfig.compression) on MinAtar transitions and "
          "84x84x4 frame stacks (bench/frame_data.h): the codec alone on one core, and insert and sample MB/s and "
          "stored bytes against the same table uncompressed.");
ABSL_FLAG(std::string, bench_compression_levels, "1,3,6",
          "zstd levels the compression section measures besides no compression, comma-separated.");
ABSL_FLAG(int32_t, bench_compression_writers, 2, "Writers (then samplers) of each compression case.");
ABSL_FLAG(int64_t, bench_planes_transitions, 16384,
          "Transitions of 84x84x4 frame stacks the shared-planes case stores (obs and next_obs as a frame-stacking "
          "env gives them, every frame from one random play): resident memory per transition as is, with "
          "share_planes and with zstd, against one 84x84 frame. 0 skips the case.");
ABSL_FLAG(std::string, bench_planes_layouts, "as_is,share_planes,zstd",
          "The layouts the planes section measures, comma-separated: as_is, share_planes, zstd.");
ABSL_FLAG(std::string, bench_baseline, "",
          "A `rill` binary of another build (e.g. the previous release): the throughput cases run again against a "
          "shard it starts, in the same run, and each case reports its ratio to that baseline.");
ABSL_FLAG(std::string, bench_dir, "",
          "Folder for the generated configs, shard logs and WAL; empty: a fresh folder under $TMPDIR, "
          "removed at the end.");

namespace rill::bench {
namespace {

constexpr int64_t kMaxMessageBytes = int64_t{256} << 20;
// Sampled bytes in flight per sampler stream, at most (large items get fewer batches in flight).
constexpr int64_t kMaxSampleBytesInFlight = int64_t{16} << 20;
constexpr double kDefaultCaseSeconds = 2;
// Most writers a case may run (keys give a writer 12 bits).
constexpr int kMaxWriters = 1000;
// Targets of the replay issue, reported beside the measured figures.
constexpr double kTargetSmallInsertsPerSecond = 2e6;
constexpr double kTargetLargeInsertMbPerSecond = 1000;
constexpr double kTargetSampleBatchesPerSecond = 5000;
constexpr double kTargetRssPerPayloadByte = 1.2;
// Resident bytes per stored transition of 84x84x4 stacks, in 84x84 frames.
constexpr double kTargetPlanesRssPerFrame = 1.25;

struct ItemKind {
  std::string table;  // also names the kind in the output
  v1::Signature signature;
  int64_t item_bytes = 0;
  int64_t throughput_capacity = 0;  // max_size in the throughput shard
  bool large = false;
};

v1::ColumnSpec Column(const std::string& name, v1::DType dtype, std::vector<int64_t> shape) {
  v1::ColumnSpec spec;
  spec.set_name(name);
  spec.set_dtype(dtype);
  for (int64_t d : shape) spec.add_shape(d);
  return spec;
}

v1::Signature Transition(int64_t obs_dim, int64_t act_dim) {
  v1::Signature signature;
  *signature.add_columns() = Column("obs", v1::DTYPE_FLOAT32, {obs_dim});
  *signature.add_columns() = Column("action", v1::DTYPE_FLOAT32, {act_dim});
  *signature.add_columns() = Column("reward", v1::DTYPE_FLOAT32, {});
  *signature.add_columns() = Column("terminated", v1::DTYPE_FLOAT32, {});
  *signature.add_columns() = Column("next_obs", v1::DTYPE_FLOAT32, {obs_dim});
  return signature;
}

absl::StatusOr<std::vector<ItemKind>> Kinds() {
  std::vector<ItemKind> kinds(3);
  kinds[0].table = "pendulum";
  kinds[0].signature = Transition(3, 1);
  kinds[0].throughput_capacity = 2'000'000;
  kinds[1].table = "halfcheetah";
  kinds[1].signature = Transition(17, 6);
  kinds[1].throughput_capacity = 1'000'000;
  kinds[2].table = "frames";
  *kinds[2].signature.add_columns() = Column("frames", v1::DTYPE_UINT8, {84, 84, 4});
  kinds[2].throughput_capacity = 16'384;
  kinds[2].large = true;
  for (ItemKind& kind : kinds) {
    for (const v1::ColumnSpec& spec : kind.signature.columns()) {
      ASSIGN_OR_RETURN(int64_t bytes, ItemBytes(spec));
      kind.item_bytes += bytes;
    }
  }
  return kinds;
}

v1::TableConfig BenchTable(const ItemKind& kind, int64_t max_size) {
  v1::TableConfig table;
  table.set_name(kind.table);
  *table.mutable_signature() = kind.signature;
  table.set_max_size(max_size);
  table.mutable_rate_limiter()->set_min_size_to_sample(1);
  return table;
}

// ---- disk reference ----

// What the disk under `dir` takes in synced sequential writes, as MB/s: 1 MiB
// writes, each followed by fdatasync (what one WAL group commit does), for
// about `seconds` or 1 GiB. The WAL mode cannot log faster than this.
absl::StatusOr<double> SyncedDiskWriteMbPerSecond(const std::string& dir, double seconds) {
  const std::string path = dir + "/disk-probe";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("disk probe '", path, "': ", strerror(errno)));
  constexpr size_t kChunk = 1 << 20;
  std::vector<char> buffer(kChunk, 'w');
  int64_t written = 0;
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  absl::Status status;
  while (absl::Now() < end && written < (int64_t{1} << 30)) {
    if (write(fd, buffer.data(), kChunk) != static_cast<ssize_t>(kChunk) || fdatasync(fd) != 0) {
      status = absl::InternalError(absl::StrCat("disk probe '", path, "': ", strerror(errno)));
      break;
    }
    written += kChunk;
  }
  const absl::Duration elapsed = absl::Now() - start;
  close(fd);
  unlink(path.c_str());
  RETURN_IF_ERROR(status);
  return static_cast<double>(written) / absl::ToDoubleSeconds(elapsed) / 1e6;
}

// ---- the shard ----

struct Shard {
  std::unique_ptr<ChildProcess> process;
  std::string address;
  int metrics_port = -1;  // with `metrics`
};

absl::StatusOr<Shard> StartShard(const std::string& dir, const std::string& name,
                                 const std::vector<v1::TableConfig>& tables, const v1::DurabilityConfig* durability,
                                 const std::string& binary = SelfBinary().value_or("rill"), bool metrics = false) {
  v1::ExperimentConfig config;
  config.set_name(absl::StrCat("bench_replay_", name));
  config.mutable_env()->set_name("Pendulum-v1");
  v1::ReplayConfig* replay = config.mutable_replay();
  for (const v1::TableConfig& table : tables) {
    v1::TableConfig* added = replay->add_tables();
    *added = table;
    // No learner samples here: a table without a limiter keeps none (an
    // off-policy config would otherwise get one update per insert).
    added->mutable_rate_limiter();
  }
  replay->set_max_message_bytes(kMaxMessageBytes);
  if (durability != nullptr) *replay->mutable_durability() = *durability;
  ASSIGN_OR_RETURN(config, experiment::FinalizeExperimentConfig(config));
  const std::string config_path = absl::StrCat(dir, "/", name, ".textpb");
  RETURN_IF_ERROR(experiment::WriteExperimentConfig(config, config_path));
  ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> process,
                   ChildProcess::Start(name, binary,
                                              {"replay", absl::StrCat("--config=", config_path), "--host=127.0.0.1",
                                               "--port=0", metrics ? "--metrics_port=0" : "--metrics_port=-1"},
                                              absl::StrCat(dir, "/", name, ".log")));
  ASSIGN_OR_RETURN(auto ports, process->WaitReady(absl::Seconds(60)));
  Shard shard;
  shard.process = std::move(process);
  shard.address = absl::StrCat("127.0.0.1:", ports["grpc_port"]);
  if (metrics) shard.metrics_port = ports["metrics_port"];
  return shard;
}

// A channel with its own TCP connection (gRPC shares a connection between
// channels with equal arguments unless told otherwise).
std::shared_ptr<grpc::Channel> OwnChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(kMaxMessageBytes));
  args.SetMaxSendMessageSize(static_cast<int>(kMaxMessageBytes));
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

absl::StatusOr<v1::InfoResponse> ShardInfo(const std::string& address) {
  auto stub = v1::ReplayService::NewStub(OwnChannel(address));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  context.set_wait_for_ready(true);
  v1::InfoResponse response;
  grpc::Status status = stub->Info(&context, v1::InfoRequest(), &response);
  if (!status.ok()) return absl::UnavailableError(absl::StrCat("Info from ", address, ": ", status.error_message()));
  return response;
}

// ---- clients ----

// One writer's acknowledgement waits (send to ack, in ms) inside the timed
// window of a phase; written by that writer's thread only.
struct AckTimes {
  const std::atomic<bool>* timing = nullptr;
  std::vector<double> ms;
  void Add(absl::Time sent, absl::Time acked) {
    if (timing->load(std::memory_order_relaxed)) ms.push_back(absl::ToDoubleMilliseconds(acked - sent));
  }
};

// An insert request of `num_items` random items (valid floats, random bytes);
// its keys are set per send.
v1::InsertRequest MakeInsertRequest(const ItemKind& kind, int num_items, std::mt19937_64& rng) {
  v1::InsertRequest request;
  request.set_table(kind.table);
  for (int i = 0; i < num_items; ++i) request.add_keys(0);
  std::uniform_real_distribution<float> real(-1, 1);
  for (const v1::ColumnSpec& spec : kind.signature.columns()) {
    v1::Tensor* tensor = request.add_columns();
    tensor->set_dtype(spec.dtype());
    tensor->add_shape(num_items);
    int64_t elements = 1;
    for (int64_t d : spec.shape()) {
      tensor->add_shape(d);
      elements *= d;
    }
    std::string* data = tensor->mutable_data();
    if (spec.dtype() == v1::DTYPE_FLOAT32) {
      std::vector<float> values(static_cast<size_t>(elements * num_items));
      for (float& v : values) v = real(rng);
      data->assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
    } else {
      data->resize(static_cast<size_t>(elements * num_items));
      for (char& c : *data) c = static_cast<char>(rng());
    }
  }
  return request;
}

// One writer: its own channel and Insert stream, `in_flight` requests
// outstanding, fresh keys (key_base + sequence) on every request. Stops when
// `stop` is set or after sending `max_items` items (< 0: no limit), and
// waits for the outstanding acknowledgements. `acked` counts acknowledged items.
absl::Status RunWriter(const std::string& address, v1::InsertRequest request, int in_flight, uint64_t key_base,
                       int64_t max_items, const std::atomic<bool>& stop, std::atomic<int64_t>& acked,
                       absl::Duration timeout, AckTimes* ack_times = nullptr) {
  auto stub = v1::ReplayService::NewStub(OwnChannel(address));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(timeout));
  context.set_wait_for_ready(true);
  std::unique_ptr<grpc::ClientReaderWriter<v1::InsertRequest, v1::InsertResponse>> stream = stub->Insert(&context);
  const int n = request.keys_size();
  uint64_t next_key = key_base;
  int64_t sent_items = 0;
  int outstanding = 0;
  std::deque<absl::Time> sent_at;  // acknowledgements come back in request order
  auto more = [&] { return !stop.load(std::memory_order_relaxed) && (max_items < 0 || sent_items < max_items); };
  auto send = [&] {
    for (int i = 0; i < n; ++i) request.set_keys(i, next_key++);
    sent_items += n;
    ++outstanding;
    if (ack_times != nullptr) sent_at.push_back(absl::Now());
    // Write serializes the request before it returns, so it can be reused.
    return stream->Write(request);
  };
  bool ok = true;
  while (ok && outstanding < in_flight && more()) ok = send();
  v1::InsertResponse response;
  while (ok && outstanding > 0 && stream->Read(&response)) {
    --outstanding;
    acked.fetch_add(response.keys_size(), std::memory_order_relaxed);
    if (ack_times != nullptr && !sent_at.empty()) {
      ack_times->Add(sent_at.front(), absl::Now());
      sent_at.pop_front();
    }
    if (more()) ok = send();
  }
  stream->WritesDone();
  while (stream->Read(&response)) acked.fetch_add(response.keys_size(), std::memory_order_relaxed);
  grpc::Status status = stream->Finish();
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("insert stream to ", address, " ended: ", status.error_message()));
  }
  return absl::OkStatus();
}

// One sampler: its own channel and Sample stream with `in_flight` credits
// outstanding; `batches` counts batches received.
absl::Status RunSampler(const std::string& address, const std::string& table, int batch_size, int in_flight,
                        const std::atomic<bool>& stop, std::atomic<int64_t>& batches, absl::Duration timeout) {
  auto stub = v1::ReplayService::NewStub(OwnChannel(address));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(timeout));
  context.set_wait_for_ready(true);
  std::unique_ptr<grpc::ClientReaderWriter<v1::SampleRequest, v1::SampleResponse>> stream = stub->Sample(&context);
  v1::SampleRequest first;
  first.set_table(table);
  first.set_batch_size(batch_size);
  first.set_num_batches(in_flight);
  bool ok = stream->Write(first);
  int outstanding = ok ? in_flight : 0;
  v1::SampleRequest credit;
  credit.set_num_batches(1);
  v1::SampleResponse response;
  while (ok && outstanding > 0 && stream->Read(&response)) {
    --outstanding;
    if (response.keys_size() == batch_size) batches.fetch_add(1, std::memory_order_relaxed);
    if (!stop.load(std::memory_order_relaxed)) {
      ok = stream->Write(credit);
      ++outstanding;
    }
  }
  stream->WritesDone();
  while (stream->Read(&response)) {
  }
  grpc::Status status = stream->Finish();
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("sample stream to ", address, " ended: ", status.error_message()));
  }
  return absl::OkStatus();
}

struct PhaseResult {
  double per_second = 0;         // counted units per second in the timed window
  int64_t total = 0;             // counted units over the whole phase, warm-up and drain included
  double shard_cpu_cores = 0;    // shard CPU seconds per second in the window
  double client_cpu_cores = 0;   // this process's, likewise
  int shard_threads = 0;         // the shard's threads at the end of the window
  int64_t shard_rss = 0;         // its resident memory then, bytes
  absl::Status status;
};

// Runs `workers` threads of `work(index, stop, count)`; after a warm-up,
// times how fast `count` grows for `seconds`, then stops them and joins.
template <typename Work>
PhaseResult RunPhase(int workers, double seconds, pid_t shard_pid, Work work, std::atomic<bool>* timing = nullptr) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> count{0};
  std::vector<absl::Status> statuses(static_cast<size_t>(workers));
  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i) {
    threads.emplace_back([&, i] { statuses[static_cast<size_t>(i)] = work(i, stop, count); });
  }
  absl::SleepFor(absl::Seconds(std::clamp(seconds / 4, 0.2, 1.0)));  // warm-up: connections, caches
  const int64_t count0 = count.load();
  const double shard0 = ProcessCpuSeconds(shard_pid);
  const double self0 = SelfCpuSeconds();
  const absl::Time t0 = absl::Now();
  if (timing != nullptr) timing->store(true);
  absl::SleepFor(absl::Seconds(seconds));
  if (timing != nullptr) timing->store(false);
  const int64_t count1 = count.load();
  const double shard1 = ProcessCpuSeconds(shard_pid);
  const double self1 = SelfCpuSeconds();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - t0);
  const int shard_threads = ThreadCount(shard_pid);
  const int64_t shard_rss = ProcStatusBytes(shard_pid, "VmRSS").value_or(0);
  stop.store(true);
  for (std::thread& thread : threads) thread.join();
  PhaseResult result;
  result.per_second = static_cast<double>(count1 - count0) / elapsed;
  result.total = count.load();
  result.shard_cpu_cores = (shard1 - shard0) / elapsed;
  result.client_cpu_cores = (self1 - self0) / elapsed;
  result.shard_threads = shard_threads;
  result.shard_rss = shard_rss;
  for (const absl::Status& status : statuses) {
    if (!status.ok()) {
      result.status = status;
      break;
    }
  }
  return result;
}

int ItemsPerRequest(const ItemKind& kind) {
  const int64_t bytes = int64_t{absl::GetFlag(FLAGS_bench_insert_request_kib)} * 1024;
  return static_cast<int>(std::clamp<int64_t>(bytes / kind.item_bytes, 1, kind.throughput_capacity / 4));
}

int SampleInFlight(const ItemKind& kind, int batch_size, int in_flight) {
  const int64_t batch_bytes = kind.item_bytes * batch_size;
  return static_cast<int>(std::clamp<int64_t>(kMaxSampleBytesInFlight / batch_bytes, 1, in_flight));
}

// Acknowledgement waits over all writers of a phase.
struct AckSummary {
  int64_t acks = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
  // The slowest writer's mean wait over the mean of all waits (1: fair).
  double worst_writer_mean_over_mean = 0;
  int writers_without_ack = 0;  // in the timed window
};

struct CaseResult {
  const ItemKind* kind = nullptr;
  int writers = 0;
  int items_per_request = 0;
  PhaseResult insert;
  PhaseResult sample;
  AckSummary acks;
};

absl::Duration StreamTimeout(double seconds) { return absl::Seconds(4 * seconds + 300); }

// Keys unique over the whole run: a phase id in the high 12 bits, the
// writer in the next 12, a sequence number below.
uint64_t KeyBase(int phase, int writer) {
  return (static_cast<uint64_t>(phase) << 52) | (static_cast<uint64_t>(writer) << 40);
}

absl::StatusOr<int64_t> ItemsInserted(const Shard& shard, const std::string& table) {
  ASSIGN_OR_RETURN(v1::InfoResponse info, ShardInfo(shard.address));
  for (const v1::TableInfo& t : info.tables()) {
    if (t.name() == table) return t.items_inserted();
  }
  return absl::NotFoundError(absl::StrCat("the shard has no table '", table, "'"));
}

// Times `writers` writers, and checks with Info that the table stored
// exactly the items they saw acknowledged (all keys are fresh).
PhaseResult InsertPhase(const Shard& shard, const ItemKind& kind, int writers, int phase, double seconds,
                        int in_flight, std::vector<AckTimes>* acks = nullptr) {
  std::mt19937_64 rng(static_cast<uint64_t>(phase) * 7919 + 1);
  const v1::InsertRequest prototype = MakeInsertRequest(kind, ItemsPerRequest(kind), rng);
  absl::StatusOr<int64_t> before = ItemsInserted(shard, kind.table);
  if (!before.ok()) {
    PhaseResult failed;
    failed.status = before.status();
    return failed;
  }
  std::atomic<bool> timing{false};
  if (acks != nullptr) acks->assign(static_cast<size_t>(writers), AckTimes{&timing, {}});
  PhaseResult result = RunPhase(
      writers, seconds, shard.process->pid(),
      [&](int i, const std::atomic<bool>& stop, std::atomic<int64_t>& count) {
        return RunWriter(shard.address, prototype, in_flight, KeyBase(phase, i), -1, stop, count,
                         StreamTimeout(seconds), acks != nullptr ? &(*acks)[static_cast<size_t>(i)] : nullptr);
      },
      &timing);
  if (!result.status.ok()) return result;
  absl::StatusOr<int64_t> after = ItemsInserted(shard, kind.table);
  if (!after.ok()) {
    result.status = after.status();
  } else if (*after - *before != result.total) {
    result.status = absl::InternalError(absl::StrCat("table '", kind.table, "' stored ", *after - *before,
                                                     " items but the writers saw ", result.total, " acknowledged"));
  }
  return result;
}

std::string Num(double value) {
  if (!(value == value)) return "null";  // NaN
  return absl::StrFormat("%.6g", value);
}

std::string Cpu(const PhaseResult& phase) {
  return absl::StrFormat("%.2f", phase.shard_cpu_cores) + "/" + absl::StrFormat("%.2f", phase.client_cpu_cores);
}

AckSummary Summarize(const std::vector<AckTimes>& acks) {
  AckSummary summary;
  std::vector<double> all;
  double worst_writer_mean = 0;
  for (const AckTimes& writer : acks) {
    if (writer.ms.empty()) {
      ++summary.writers_without_ack;
      continue;
    }
    double sum = 0;
    for (double ms : writer.ms) sum += ms;
    worst_writer_mean = std::max(worst_writer_mean, sum / static_cast<double>(writer.ms.size()));
    all.insert(all.end(), writer.ms.begin(), writer.ms.end());
  }
  if (all.empty()) return summary;
  std::sort(all.begin(), all.end());
  auto at = [&](double q) { return all[std::min(all.size() - 1, static_cast<size_t>(q * static_cast<double>(all.size())))]; };
  summary.acks = static_cast<int64_t>(all.size());
  summary.p50_ms = at(0.5);
  summary.p99_ms = at(0.99);
  summary.max_ms = all.back();
  double sum = 0;
  for (double ms : all) sum += ms;
  summary.mean_ms = sum / static_cast<double>(all.size());
  summary.worst_writer_mean_over_mean = worst_writer_mean / summary.mean_ms;
  return summary;
}

// The crowd case: `writers` actors on one shard, each with one small
// request in flight, and a live sampler. `paced`: the sampler paces the
// table (samples_per_insert 1), so that most writers are blocked in the
// rate limiter at any time; first measures the memory an idle Insert stream
// costs the shard. Unpaced: every request is admitted on arrival, so the
// ack wait is the serving cost of that many streams. Failures of individual
// writers (a server out of threads) are reported, not fatal.
absl::StatusOr<std::string> CrowdCase(const std::string& dir, const ItemKind& kind, int writers, int phase,
                                      double seconds, int batch_size, bool paced) {
  v1::TableConfig table = BenchTable(kind, int64_t{1} << 20);
  table.mutable_rate_limiter()->set_min_size_to_sample(batch_size);
  if (paced) {
    table.mutable_rate_limiter()->set_samples_per_insert(1);
    table.mutable_rate_limiter()->set_error_buffer(4 * batch_size);
  }
  const std::string name = paced ? "crowd" : "crowd_unpaced";
  ASSIGN_OR_RETURN(Shard shard, StartShard(dir, name, {table}, nullptr, SelfBinary().value_or("rill"), /*metrics=*/true));
  RETURN_IF_ERROR(ShardInfo(shard.address).status());
  const pid_t pid = shard.process->pid();
  std::string idle_json = "null";

  // Idle streams: opened, nothing sent.
  const int idle_threads_before = ThreadCount(pid);
  if (paced) {
  ASSIGN_OR_RETURN(const int64_t idle_rss_before, ProcStatusBytes(pid, "VmRSS"));
  {
    struct Idle {
      std::unique_ptr<v1::ReplayService::Stub> stub;
      grpc::ClientContext context;
      std::unique_ptr<grpc::ClientReaderWriter<v1::InsertRequest, v1::InsertResponse>> stream;
    };
    std::vector<std::unique_ptr<Idle>> idle;
    for (int i = 0; i < writers; ++i) {
      auto stream = std::make_unique<Idle>();
      stream->stub = v1::ReplayService::NewStub(OwnChannel(shard.address));
      stream->context.set_deadline(DeadlineIn(absl::Seconds(120)));
      stream->stream = stream->stub->Insert(&stream->context);
      idle.push_back(std::move(stream));
    }
    absl::SleepFor(absl::Seconds(2));  // let the shard take every call in
    const int idle_threads = ThreadCount(pid);
    ASSIGN_OR_RETURN(const int64_t idle_rss, ProcStatusBytes(pid, "VmRSS"));
    for (auto& stream : idle) stream->context.TryCancel();
    for (auto& stream : idle) stream->stream->Finish();
    std::cerr << absl::StrFormat("  crowd: %d idle insert streams: shard threads %d -> %d, RSS %.1f -> %.1f MB (%.1f KB per stream)\n",
                                 writers, idle_threads_before, idle_threads, idle_rss_before / 1e6, idle_rss / 1e6,
                                 static_cast<double>(idle_rss - idle_rss_before) / writers / 1e3);
    idle_json = absl::StrFormat(
        "{\"streams\":%d,\"shard_threads_before\":%d,\"shard_threads\":%d,\"rss_before_bytes\":%d,\"rss_bytes\":%d,"
        "\"rss_bytes_per_stream\":%s}",
        writers, idle_threads_before, idle_threads, idle_rss_before, idle_rss,
        Num(static_cast<double>(idle_rss - idle_rss_before) / writers));
  }
  }

  // The crowd: a sampler paces the writers.
  std::mt19937_64 rng(static_cast<uint64_t>(phase) * 7919 + 3);
  constexpr int kItemsPerRequest = 8;
  const v1::InsertRequest prototype = MakeInsertRequest(kind, kItemsPerRequest, rng);
  std::atomic<bool> sampler_stop{false};
  std::atomic<int64_t> batches{0};
  absl::Status sampler_status;
  std::thread sampler([&] {
    sampler_status = RunSampler(shard.address, kind.table, batch_size, 2, sampler_stop, batches, StreamTimeout(seconds));
  });
  std::atomic<bool> timing{false};
  std::vector<AckTimes> acks(static_cast<size_t>(writers), AckTimes{&timing, {}});
  std::atomic<int> failed{0};
  std::string first_error;
  absl::Mutex error_mu;
  const int64_t batches0 = batches.load();
  const absl::Time start = absl::Now();
  PhaseResult result = RunPhase(
      writers, seconds, pid,
      [&](int i, const std::atomic<bool>& stop, std::atomic<int64_t>& count) {
        absl::Status status = RunWriter(shard.address, prototype, 1, KeyBase(phase, i), -1, stop, count,
                                        StreamTimeout(seconds), &acks[static_cast<size_t>(i)]);
        if (!status.ok()) {
          failed.fetch_add(1);
          absl::MutexLock lock(&error_mu);
          if (first_error.empty()) first_error = status.ToString();
        }
        return absl::OkStatus();
      },
      &timing);
  const double sample_rate = static_cast<double>(batches.load() - batches0) / absl::ToDoubleSeconds(absl::Now() - start);
  // The shard's own view: from admission past the rate limiter to the
  // acknowledgement handed to the transport (rill_replay_admitted_seconds).
  double admitted_p50 = -1, admitted_p99 = -1, admitted_p50_bound = 0, admitted_p99_bound = 0;
  if (absl::StatusOr<MetricSamples> scraped = ScrapeMetrics("127.0.0.1", shard.metrics_port, absl::Seconds(10));
      scraped.ok()) {
    admitted_p50 = HistogramQuantile(*scraped, "rill_replay_admitted_seconds", "method=\"Insert\"", 0.5,
                                     &admitted_p50_bound) * 1e3;
    admitted_p99 = HistogramQuantile(*scraped, "rill_replay_admitted_seconds", "method=\"Insert\"", 0.99,
                                     &admitted_p99_bound) * 1e3;
  } else {
    std::cerr << "  " << name << ": cannot read the shard's metrics: " << scraped.status() << "\n";
  }
  sampler_stop.store(true);
  // The writers are gone: let the sampler's outstanding credits drain by
  // closing the shard rather than feeding it.
  shard.process->Stop(absl::Seconds(10));
  sampler.join();
  const AckSummary summary = Summarize(acks);
  std::cerr << absl::StrFormat(
      "  %s: %d writers x %d items, 1 sampler of %d: insert %.0f items/s, %.0f batches/s; shard threads %d, RSS "
      "%.1f MB; ack p50 %.1f ms p99 %.1f ms max %.1f ms (mean %.1f; slowest writer's mean %.2f x the mean; %d "
      "writers without an ack, %d failed%s); in the shard, admitted to acknowledged p50 %.2f ms p99 %.2f ms "
      "(<= %g ms)\n",
      name, writers, kItemsPerRequest, batch_size, result.per_second, sample_rate, result.shard_threads,
      result.shard_rss / 1e6, summary.p50_ms, summary.p99_ms, summary.max_ms, summary.mean_ms,
      summary.worst_writer_mean_over_mean, summary.writers_without_ack, failed.load(),
      first_error.empty() ? "" : ": " + first_error, admitted_p50, admitted_p99, admitted_p99_bound * 1e3);
  return absl::StrFormat(
      "{\"writers\":%d,\"items_per_request\":%d,\"in_flight_per_writer\":1,\"sample_batch_size\":%d,"
      "\"samples_per_insert\":%s,\"insert_items_per_second\":%s,\"sample_batches_per_second\":%s,"
      "\"shard_threads\":%d,\"shard_rss_bytes\":%d,\"ack_ms\":{\"p50\":%s,\"p99\":%s,\"max\":%s,\"mean\":%s},"
      "\"slowest_writer_mean_over_mean\":%s,\"writers_without_ack\":%d,\"writers_failed\":%d,\"first_error\":\"%s\","
      "\"admitted_to_ack_ms\":{\"p50\":%s,\"p99\":%s,\"p99_bucket_bound\":%s},\"idle_streams\":%s}",
      writers, kItemsPerRequest, batch_size, paced ? "1" : "null", Num(result.per_second), Num(sample_rate),
      result.shard_threads, result.shard_rss, Num(summary.p50_ms), Num(summary.p99_ms), Num(summary.max_ms), Num(summary.mean_ms),
      Num(summary.worst_writer_mean_over_mean), summary.writers_without_ack, failed.load(),
      absl::StrReplaceAll(first_error, {{"\"", "'"}, {"\\", "/"}, {"\n", " "}}), Num(admitted_p50), Num(admitted_p99),
      Num(admitted_p99_bound * 1e3), idle_json);
}

// ---- compression: frame columns stored compressed, against the same table without ----

// The zstd levels of --bench_compression_levels.
absl::StatusOr<std::vector<int>> CompressionLevels() {
  std::vector<int> levels;
  for (absl::string_view word : absl::StrSplit(absl::GetFlag(FLAGS_bench_compression_levels), ',', absl::SkipEmpty())) {
    int level = 0;
    if (!absl::SimpleAtoi(word, &level) || level == 0 || level < replay::MinZstdLevel() ||
        level > replay::MaxZstdLevel()) {
      return absl::InvalidArgumentError(absl::StrCat("--bench_compression_levels: '", word, "' is not a zstd level (",
                                                     replay::MinZstdLevel(), "..-1, 1..", replay::MaxZstdLevel(), ")"));
    }
    levels.push_back(level);
  }
  return levels;
}

// An insert request of items [first, first + n) of the pool (wrapping); its
// keys are set per send.
v1::InsertRequest FrameRequest(const FrameItems& items, int64_t first, int n) {
  v1::InsertRequest request;
  request.set_table(items.name);
  for (int i = 0; i < n; ++i) request.add_keys(0);
  for (int c = 0; c < items.signature.columns_size(); ++c) {
    const v1::ColumnSpec& spec = items.signature.columns(c);
    const int64_t bytes = ItemBytes(spec).value_or(0);
    v1::Tensor* tensor = request.add_columns();
    tensor->set_dtype(spec.dtype());
    tensor->add_shape(n);
    for (int64_t d : spec.shape()) tensor->add_shape(d);
    for (int i = 0; i < n; ++i) {
      const int64_t item = (first + i) % items.count;
      tensor->mutable_data()->append(items.columns[static_cast<size_t>(c)], static_cast<size_t>(item * bytes),
                                     static_cast<size_t>(bytes));
    }
  }
  return request;
}

// CPU seconds this thread has run: a codec's cost per core, whatever else
// the machine runs meanwhile.
double ThreadCpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// This thread compressing and decompressing every frame of the pool at
// `level`, item by item as a table does, each for `cpu_seconds`: {frame
// bytes / compressed bytes, compress and decompress MB per CPU second}, MB
// of frames as they are.
absl::StatusOr<std::string> CodecCase(const FrameItems& items, int level, double cpu_seconds) {
  const replay::ColumnCodec codec(v1::TableConfig::ColumnCompression::ZSTD, level);
  std::vector<std::string> frames;
  for (int c = 0; c < items.signature.columns_size(); ++c) {
    const v1::ColumnSpec& spec = items.signature.columns(c);
    if (std::find(items.frame_columns.begin(), items.frame_columns.end(), spec.name()) == items.frame_columns.end()) {
      continue;
    }
    const int64_t bytes = ItemBytes(spec).value_or(0);
    for (int64_t i = 0; i < items.count; ++i) {
      frames.push_back(items.columns[static_cast<size_t>(c)].substr(static_cast<size_t>(i * bytes),
                                                                     static_cast<size_t>(bytes)));
    }
  }
  int64_t raw = 0;
  for (const std::string& frame : frames) raw += static_cast<int64_t>(frame.size());
  // A round untimed (buffers, zstd's contexts), then rounds until
  // `cpu_seconds` have passed, for each direction.
  std::vector<std::string> stored(frames.size());
  std::string back;
  auto compress_all = [&]() -> absl::Status {
    for (size_t i = 0; i < frames.size(); ++i) {
      stored[i].clear();
      RETURN_IF_ERROR(codec.Compress(frames[i], &stored[i]));
    }
    return absl::OkStatus();
  };
  auto decompress_all = [&](bool check) -> absl::Status {
    for (size_t i = 0; i < frames.size(); ++i) {
      back.resize(frames[i].size());
      RETURN_IF_ERROR(codec.Decompress(stored[i], back.data(), static_cast<int64_t>(back.size())));
      if (check && back != frames[i]) return absl::InternalError("zstd did not give a frame back bit-exact");
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(compress_all());
  int compress_rounds = 0;
  const double compress_start = ThreadCpuSeconds();
  do {
    RETURN_IF_ERROR(compress_all());
    ++compress_rounds;
  } while (ThreadCpuSeconds() - compress_start < cpu_seconds);
  const double compress_seconds = ThreadCpuSeconds() - compress_start;
  int64_t compressed = 0;
  for (const std::string& frame : stored) compressed += static_cast<int64_t>(frame.size());
  RETURN_IF_ERROR(decompress_all(/*check=*/true));
  int rounds = 0;
  const double decompress_start = ThreadCpuSeconds();
  do {
    RETURN_IF_ERROR(decompress_all(/*check=*/false));
    ++rounds;
  } while (ThreadCpuSeconds() - decompress_start < cpu_seconds);
  const double decompress_seconds = ThreadCpuSeconds() - decompress_start;
  const double ratio = static_cast<double>(raw) / static_cast<double>(compressed);
  const double compress_mb = static_cast<double>(raw) * compress_rounds / compress_seconds / 1e6;
  const double decompress_mb = static_cast<double>(raw) * rounds / decompress_seconds / 1e6;
  std::cerr << absl::StrFormat("  codec %-8s zstd %3d: frames %.1fx smaller (%.0f B -> %.0f B each), compress "
                               "%.0f MB/s, decompress %.0f MB/s (per CPU second)\n",
                               items.name, level, ratio, static_cast<double>(raw) / static_cast<double>(frames.size()),
                               static_cast<double>(compressed) / static_cast<double>(frames.size()), compress_mb,
                               decompress_mb);
  return absl::StrFormat(
      "{\"kind\":\"%s\",\"level\":%d,\"frame_bytes\":%s,\"compressed_frame_bytes\":%s,\"frame_ratio\":%s,"
      "\"compress_mb_per_cpu_second\":%s,\"decompress_mb_per_cpu_second\":%s}",
      items.name, level, Num(static_cast<double>(raw) / static_cast<double>(frames.size())),
      Num(static_cast<double>(compressed) / static_cast<double>(frames.size())), Num(ratio), Num(compress_mb),
      Num(decompress_mb));
}

struct CompressionCase {
  int level = 0;  // 0: stored as is
  double insert_items_per_second = 0;
  double insert_shard_cpu_cores = 0;
  double sample_batches_per_second = 0;
  double sample_shard_cpu_cores = 0;
  int64_t items = 0;
  int64_t payload_bytes = 0;  // as sampled
  int64_t stored_bytes = 0;   // as the table holds them
  int64_t rss_over_empty = -1;  // -1: not measured (--bench_memory=false)
};

// One shard holding the kind's table, its frame columns at `level` (0:
// none): inserts for `seconds`, samples for `seconds`, then what it holds
// (and, with `memory`, its resident memory at rest).
absl::StatusOr<CompressionCase> ShardCompressionCase(const std::string& dir, const FrameItems& items, int level,
                                                     int writers, int in_flight, int batch_size, double seconds,
                                                     bool memory, int* phase) {
  // About 256 MB of items as they are, so that a case fills it in a few seconds.
  const int64_t capacity = std::max<int64_t>(1024, (int64_t{256} << 20) / items.item_bytes);
  v1::TableConfig table;
  table.set_name(items.name);
  *table.mutable_signature() = items.signature;
  table.set_max_size(capacity);
  table.mutable_rate_limiter()->set_min_size_to_sample(1);
  for (const std::string& column : items.frame_columns) {
    if (level == 0) break;
    v1::TableConfig::ColumnCompression* compression = table.add_compression();
    compression->set_column(column);
    compression->set_codec(v1::TableConfig::ColumnCompression::ZSTD);
    compression->set_level(level);
  }
  ASSIGN_OR_RETURN(Shard shard,
                   StartShard(dir, absl::StrCat("compression_", items.name, "_", level), {table}, nullptr));
  RETURN_IF_ERROR(ShardInfo(shard.address).status());
  const pid_t pid = shard.process->pid();
  ASSIGN_OR_RETURN(const int64_t empty_rss, ProcStatusBytes(pid, "VmRSS"));
  ItemKind kind;
  kind.item_bytes = items.item_bytes;
  kind.throughput_capacity = capacity;
  const int per_request = ItemsPerRequest(kind);
  std::vector<v1::InsertRequest> prototypes;
  for (int i = 0; i < writers; ++i) {
    prototypes.push_back(FrameRequest(items, static_cast<int64_t>(i) * items.count / writers, per_request));
  }
  const int insert_phase = (*phase)++;
  PhaseResult insert = RunPhase(writers, seconds, pid, [&](int i, const std::atomic<bool>& stop,
                                                         std::atomic<int64_t>& count) {
    return RunWriter(shard.address, prototypes[static_cast<size_t>(i)], in_flight, KeyBase(insert_phase, i), -1,
                     stop, count, StreamTimeout(seconds));
  });
  RETURN_IF_ERROR(insert.status);
  const int sample_in_flight = SampleInFlight(kind, batch_size, in_flight);
  PhaseResult sample = RunPhase(writers, seconds, pid, [&](int, const std::atomic<bool>& stop,
                                                         std::atomic<int64_t>& count) {
    return RunSampler(shard.address, items.name, batch_size, sample_in_flight, stop, count, StreamTimeout(seconds));
  });
  RETURN_IF_ERROR(sample.status);
  // Resident memory at rest (replay_main returns freed buffers every 5 s).
  int64_t rss = -1;
  if (memory) {
    absl::SleepFor(absl::Seconds(6));
    ASSIGN_OR_RETURN(rss, ProcStatusBytes(pid, "VmRSS"));
  }
  ASSIGN_OR_RETURN(v1::InfoResponse info, ShardInfo(shard.address));
  shard.process->Stop(absl::Seconds(10));
  CompressionCase result;
  result.level = level;
  result.insert_items_per_second = insert.per_second;
  result.insert_shard_cpu_cores = insert.shard_cpu_cores;
  result.sample_batches_per_second = sample.per_second;
  result.sample_shard_cpu_cores = sample.shard_cpu_cores;
  result.items = info.tables(0).size();
  result.payload_bytes = result.items * items.item_bytes;
  result.stored_bytes = info.tables(0).bytes();
  if (memory) result.rss_over_empty = rss - empty_rss;
  std::cerr << absl::StrFormat(
      "  compression %-8s %-8s x %d writers: insert %8.0f items/s %7.1f MB/s (shard cpu %.2f); sample %6.1f "
      "batches/s %7.1f MB/s (shard cpu %.2f); %d items, %.1f MB as sampled, %.1f MB stored (%.3f), RSS over "
      "empty %s MB\n",
      items.name, level == 0 ? "none" : absl::StrCat("zstd ", level), writers, insert.per_second,
      insert.per_second * static_cast<double>(items.item_bytes) / 1e6, insert.shard_cpu_cores, sample.per_second,
      sample.per_second * batch_size * static_cast<double>(items.item_bytes) / 1e6, sample.shard_cpu_cores,
      result.items, static_cast<double>(result.payload_bytes) / 1e6, static_cast<double>(result.stored_bytes) / 1e6,
      static_cast<double>(result.stored_bytes) / static_cast<double>(std::max<int64_t>(1, result.payload_bytes)),
      memory ? absl::StrFormat("%.1f", static_cast<double>(result.rss_over_empty) / 1e6) : "(not measured)");
  return result;
}

// The section's JSON object: the data used, the codec alone on one core,
// and each kind's table through a shard without compression and at each level.
absl::StatusOr<std::string> CompressionSection(const std::string& dir, int in_flight, int batch_size, double seconds,
                                               int* phase) {
  ASSIGN_OR_RETURN(const std::vector<int> levels, CompressionLevels());
  const int writers = absl::GetFlag(FLAGS_bench_compression_writers);
  if (writers <= 0 || writers > kMaxWriters) {
    return absl::InvalidArgumentError(absl::StrCat("--bench_compression_writers must be 1..", kMaxWriters));
  }
  const bool memory = absl::GetFlag(FLAGS_bench_memory);
  // The codec alone: 0.3 CPU seconds a direction, less for short cases.
  const double codec_seconds = std::min(0.3, seconds / 4);
  std::vector<FrameItems> kinds;
  ASSIGN_OR_RETURN(FrameItems minatar, MinAtarTransitions("MinAtar/Breakout-v1", 4096, 1));
  kinds.push_back(std::move(minatar));
  ASSIGN_OR_RETURN(FrameItems frames, RenderedFrameStacks("MinAtar/SpaceInvaders-v1", 1024, 4, 84, 2));
  kinds.push_back(std::move(frames));
  std::vector<std::string> data_json, codec_json, case_json;
  for (const FrameItems& items : kinds) {
    std::cerr << "  compression data " << items.name << ": " << items.description << " (" << items.count
              << " distinct items of " << items.item_bytes << " B)\n";
    data_json.push_back(absl::StrFormat("{\"kind\":\"%s\",\"item_bytes\":%d,\"distinct_items\":%d,\"what\":\"%s\"}",
                                        items.name, items.item_bytes, items.count, items.description));
    for (int level : levels) {
      ASSIGN_OR_RETURN(std::string codec, CodecCase(items, level, codec_seconds));
      codec_json.push_back(codec);
    }
    std::vector<int> shard_levels = {0};
    shard_levels.insert(shard_levels.end(), levels.begin(), levels.end());
    CompressionCase none;
    for (int level : shard_levels) {
      ASSIGN_OR_RETURN(CompressionCase c,
                       ShardCompressionCase(dir, items, level, writers, in_flight, batch_size, seconds, memory, phase));
      if (level == 0) none = c;
      const double item_mb = static_cast<double>(items.item_bytes) / 1e6;
      const double stored_ratio =
          static_cast<double>(c.stored_bytes) / static_cast<double>(std::max<int64_t>(1, c.payload_bytes));
      // NaN (null in the JSON) when not measured.
      const double rss_ratio = c.rss_over_empty < 0 ? std::nan("")
                                                    : static_cast<double>(c.rss_over_empty) /
                                                          static_cast<double>(std::max<int64_t>(1, c.payload_bytes));
      const double none_rss_ratio =
          none.rss_over_empty < 0 ? std::nan("")
                                  : static_cast<double>(none.rss_over_empty) /
                                        static_cast<double>(std::max<int64_t>(1, none.payload_bytes));
      case_json.push_back(absl::StrFormat(
          "{\"kind\":\"%s\",\"codec\":\"%s\",\"level\":%d,\"writers\":%d,\"samplers\":%d,\"item_bytes\":%d,"
          "\"insert_items_per_second\":%s,\"insert_mb_per_second\":%s,\"insert_shard_cpu_cores\":%s,"
          "\"sample_batches_per_second\":%s,\"sample_mb_per_second\":%s,\"sample_shard_cpu_cores\":%s,"
          "\"insert_shard_cpu_seconds_per_gb\":%s,\"sample_shard_cpu_seconds_per_gb\":%s,\"items\":%d,"
          "\"payload_bytes\":%d,\"stored_bytes\":%s,\"stored_per_payload_byte\":%s,"
          "\"rss_over_empty_bytes\":%s,\"rss_over_empty_per_payload_byte\":%s,\"insert_vs_none\":%s,"
          "\"sample_vs_none\":%s,\"rss_vs_none\":%s}",
          items.name, c.level == 0 ? "none" : "zstd", c.level, writers, writers, items.item_bytes,
          Num(c.insert_items_per_second), Num(c.insert_items_per_second * item_mb), Num(c.insert_shard_cpu_cores),
          Num(c.sample_batches_per_second), Num(c.sample_batches_per_second * batch_size * item_mb),
          Num(c.sample_shard_cpu_cores), Num(c.insert_shard_cpu_cores / (c.insert_items_per_second * item_mb) * 1e3),
          Num(c.sample_shard_cpu_cores / (c.sample_batches_per_second * batch_size * item_mb) * 1e3), c.items,
          c.payload_bytes, Num(static_cast<double>(c.stored_bytes)),
          Num(stored_ratio), c.rss_over_empty < 0 ? "null" : absl::StrCat(c.rss_over_empty), Num(rss_ratio),
          Num(c.insert_items_per_second / none.insert_items_per_second),
          Num(c.sample_batches_per_second / none.sample_batches_per_second), Num(rss_ratio / none_rss_ratio)));
    }
  }
  return absl::StrFormat("{\"default_zstd_level\":%d,\"sample_batch_size\":%d,\"data\":[%s],\"codec\":[%s],"
                         "\"cases\":[%s]}",
                         replay::kDefaultZstdLevel, batch_size, absl::StrJoin(data_json, ","),
                         absl::StrJoin(codec_json, ","), absl::StrJoin(case_json, ","));
}

// ---- shared planes: frame-stacked transitions, each frame stored once ----

// `count` transitions of 84x84x4 stacks of one random play of SpaceInvaders:
// obs = stack i, next_obs = stack i + 1 (so next_obs shares 3 frames with
// obs and 4 with the next transition's obs), action = i. Columns as
// FrameItems hold them; `distinct_frames` counts the distinct 84x84 frames.
absl::StatusOr<FrameItems> StackedTransitions(int64_t count, int64_t* distinct_frames) {
  constexpr int kStack = 4, kSize = 84;
  ASSIGN_OR_RETURN(FrameItems stacks, RenderedFrameStacks("MinAtar/SpaceInvaders-v1", count + 1, kStack, kSize, 3));
  const int64_t stack_bytes = stacks.item_bytes;
  const int64_t frame_bytes = stack_bytes / kStack;
  FrameItems items;
  items.name = "stacked_transitions";
  items.description = absl::StrCat("transitions of ", stacks.description, ": obs = stack i, next_obs = stack i + 1");
  *items.signature.add_columns() = Column("obs", v1::DTYPE_UINT8, {kStack, kSize, kSize});
  *items.signature.add_columns() = Column("next_obs", v1::DTYPE_UINT8, {kStack, kSize, kSize});
  *items.signature.add_columns() = Column("action", v1::DTYPE_INT64, {});
  items.frame_columns = {"obs", "next_obs"};
  items.item_bytes = 2 * stack_bytes + 8;
  items.count = count;
  const std::string& all = stacks.columns[0];
  items.columns.assign(3, std::string());
  items.columns[0] = all.substr(0, static_cast<size_t>(count * stack_bytes));
  items.columns[1] = all.substr(static_cast<size_t>(stack_bytes), static_cast<size_t>(count * stack_bytes));
  for (int64_t i = 0; i < count; ++i) items.columns[2].append(reinterpret_cast<const char*>(&i), sizeof(i));
  absl::flat_hash_set<std::string_view> frames;
  for (size_t at = 0; at < all.size(); at += static_cast<size_t>(frame_bytes)) {
    frames.insert(std::string_view(all).substr(at, static_cast<size_t>(frame_bytes)));
  }
  *distinct_frames = static_cast<int64_t>(frames.size());
  return items;
}

// Sends `requests` in order over one Insert stream, `in_flight` at a time,
// and waits for every acknowledgement.
absl::Status InsertInOrder(const std::string& address, const std::vector<v1::InsertRequest>& requests,
                           int in_flight, absl::Duration timeout) {
  auto stub = v1::ReplayService::NewStub(OwnChannel(address));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(timeout));
  context.set_wait_for_ready(true);
  std::unique_ptr<grpc::ClientReaderWriter<v1::InsertRequest, v1::InsertResponse>> stream = stub->Insert(&context);
  size_t sent = 0;
  int outstanding = 0;
  bool ok = true;
  while (ok && outstanding < in_flight && sent < requests.size()) {
    ok = stream->Write(requests[sent++]);
    ++outstanding;
  }
  v1::InsertResponse response;
  while (ok && outstanding > 0 && stream->Read(&response)) {
    --outstanding;
    if (sent < requests.size()) {
      ok = stream->Write(requests[sent++]);
      ++outstanding;
    }
  }
  stream->WritesDone();
  while (stream->Read(&response)) {
  }
  grpc::Status status = stream->Finish();
  if (!status.ok() || outstanding > 0) {
    return absl::UnavailableError(absl::StrCat("insert stream to ", address, " ended: ", status.error_message()));
  }
  return absl::OkStatus();
}

// One shard holding every transition once in `layout` ("as_is",
// "share_planes" or "zstd"): how fast they go in, how fast batches come
// out, and what the shard holds and takes in memory at rest.
absl::StatusOr<std::string> PlanesCase(const std::string& dir, const FrameItems& items, int64_t distinct_frames,
                                       const std::string& layout, int samplers, int in_flight, int batch_size,
                                       double seconds) {
  v1::TableConfig table;
  table.set_name(items.name);
  *table.mutable_signature() = items.signature;
  table.set_max_size(items.count);
  table.mutable_rate_limiter()->set_min_size_to_sample(1);
  for (const std::string& column : items.frame_columns) {
    if (layout == "as_is") break;
    v1::TableConfig::ColumnCompression* compression = table.add_compression();
    compression->set_column(column);
    if (layout == "share_planes") compression->set_share_planes(true);
    if (layout == "zstd") compression->set_codec(v1::TableConfig::ColumnCompression::ZSTD);
  }
  ASSIGN_OR_RETURN(Shard shard, StartShard(dir, absl::StrCat("planes_", layout), {table}, nullptr));
  RETURN_IF_ERROR(ShardInfo(shard.address).status());
  const pid_t pid = shard.process->pid();
  ASSIGN_OR_RETURN(const int64_t empty_rss, ProcStatusBytes(pid, "VmRSS"));
  ItemKind kind;
  kind.item_bytes = items.item_bytes;
  kind.throughput_capacity = std::max<int64_t>(4, items.count);
  const int per_request = ItemsPerRequest(kind);
  std::vector<v1::InsertRequest> requests;
  for (int64_t first = 0; first < items.count; first += per_request) {
    const int n = static_cast<int>(std::min<int64_t>(per_request, items.count - first));
    requests.push_back(FrameRequest(items, first, n));
    for (int i = 0; i < n; ++i) requests.back().set_keys(i, static_cast<uint64_t>(first + i));
  }
  const double cpu0 = ProcessCpuSeconds(pid);
  const absl::Time t0 = absl::Now();
  RETURN_IF_ERROR(InsertInOrder(shard.address, requests, in_flight, StreamTimeout(seconds)));
  const double insert_seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  const double insert_cpu = ProcessCpuSeconds(pid) - cpu0;
  // What holding the transitions takes: resident memory at rest after the
  // inserts (replay_main returns freed buffers every 5 s), before sampling
  // leaves its batch buffers behind; not measured without --bench_memory.
  const bool memory = absl::GetFlag(FLAGS_bench_memory);
  if (memory) absl::SleepFor(absl::Seconds(6));
  ASSIGN_OR_RETURN(const int64_t rss, ProcStatusBytes(pid, "VmRSS"));
  const int sample_in_flight = SampleInFlight(kind, batch_size, in_flight);
  PhaseResult sample = RunPhase(samplers, seconds, pid, [&](int, const std::atomic<bool>& stop,
                                                          std::atomic<int64_t>& count) {
    return RunSampler(shard.address, items.name, batch_size, sample_in_flight, stop, count, StreamTimeout(seconds));
  });
  RETURN_IF_ERROR(sample.status);
  ASSIGN_OR_RETURN(v1::InfoResponse info, ShardInfo(shard.address));
  shard.process->Stop(absl::Seconds(10));
  const int64_t held = info.tables(0).size();
  if (held != items.count) {
    return absl::InternalError(absl::StrCat("planes case ", layout, ": the shard holds ", held, " of ", items.count,
                                            " transitions"));
  }
  const double frame_bytes = static_cast<double>(items.item_bytes - 8) / 8;
  const double n = static_cast<double>(items.count);
  const double rss_per = static_cast<double>(rss - empty_rss) / n;
  const double stored_per = static_cast<double>(info.tables(0).bytes()) / n;
  const double insert_per_second = n / insert_seconds;
  const double item_mb = static_cast<double>(items.item_bytes) / 1e6;
  std::cerr << absl::StrFormat(
      "  planes %-12s: %d transitions of %d B; insert %7.0f items/s %7.1f MB/s (shard cpu %.2f s); sample %6.1f "
      "batches/s %7.1f MB/s (shard cpu %.2f); stored %.0f B per transition%s\n",
      layout, items.count, items.item_bytes, insert_per_second, insert_per_second * item_mb, insert_cpu,
      sample.per_second, sample.per_second * batch_size * item_mb, sample.shard_cpu_cores, stored_per,
      memory ? absl::StrFormat(", RSS %.0f B per transition = %.2fx one %.0f B frame", rss_per,
                               rss_per / frame_bytes, frame_bytes)
             : " (RSS not measured: --bench_memory=false)");
  const auto measured = [&](const std::string& value) { return memory ? value : std::string("null"); };
  return absl::StrFormat(
      "{\"layout\":\"%s\",\"insert_items_per_second\":%s,\"insert_mb_per_second\":%s,\"insert_shard_cpu_seconds\":%s,"
      "\"sample_batches_per_second\":%s,\"sample_mb_per_second\":%s,\"sample_shard_cpu_cores\":%s,"
      "\"stored_bytes_per_transition\":%s,\"rss_over_empty_bytes\":%s,\"rss_bytes_per_transition\":%s,"
      "\"rss_per_transition_vs_one_frame\":%s,\"rss_bytes_per_distinct_frame\":%s}",
      layout, Num(insert_per_second), Num(insert_per_second * item_mb), Num(insert_cpu), Num(sample.per_second),
      Num(sample.per_second * batch_size * item_mb), Num(sample.shard_cpu_cores), Num(stored_per),
      measured(absl::StrCat(rss - empty_rss)), measured(Num(rss_per)), measured(Num(rss_per / frame_bytes)),
      measured(Num(static_cast<double>(rss - empty_rss) / static_cast<double>(std::max<int64_t>(1, distinct_frames)))));
}

// The section's JSON object: the data, the target, and each layout's case.
absl::StatusOr<std::string> PlanesSection(const std::string& dir, int in_flight, int batch_size, double seconds) {
  const int64_t count = absl::GetFlag(FLAGS_bench_planes_transitions);
  if (count < 0) return absl::InvalidArgumentError("--bench_planes_transitions must be >= 0");
  int64_t distinct = 0;
  ASSIGN_OR_RETURN(const FrameItems items, StackedTransitions(count, &distinct));
  std::cerr << "  planes data: " << items.description << " (" << count << " transitions, " << distinct
            << " distinct frames among their " << count + 4 << ")\n";
  std::vector<std::string> cases;
  const std::vector<std::string> layouts = absl::StrSplit(absl::GetFlag(FLAGS_bench_planes_layouts), ',');
  for (const std::string& layout : layouts) {
    if (layout != "as_is" && layout != "share_planes" && layout != "zstd") {
      return absl::InvalidArgumentError(absl::StrCat("--bench_planes_layouts: '", layout,
                                                     "' is not a layout (as_is, share_planes, zstd)"));
    }
  }
  for (const std::string& layout : layouts) {
    ASSIGN_OR_RETURN(std::string c, PlanesCase(dir, items, distinct, layout,
                                               absl::GetFlag(FLAGS_bench_compression_writers), in_flight, batch_size,
                                               seconds));
    cases.push_back(std::move(c));
  }
  return absl::StrFormat(
      "{\"transitions\":%d,\"transition_bytes\":%d,\"frame_bytes\":%d,\"distinct_frames\":%d,"
      "\"target_rss_per_transition_vs_one_frame\":%s,\"what\":\"%s\",\"cases\":[%s]}",
      count, items.item_bytes, (items.item_bytes - 8) / 8, distinct, Num(kTargetPlanesRssPerFrame),
      items.description, absl::StrJoin(cases, ","));
}

absl::Status Run() {
  double seconds = absl::GetFlag(FLAGS_bench_seconds);
  if (seconds == 0) seconds = kDefaultCaseSeconds;
  if (!(seconds > 0)) return absl::InvalidArgumentError("--bench_seconds must be positive");
  std::vector<int> writer_counts;
  for (absl::string_view word : absl::StrSplit(absl::GetFlag(FLAGS_bench_writers), ',', absl::SkipEmpty())) {
    int n = 0;
    if (!absl::SimpleAtoi(word, &n) || n <= 0 || n > kMaxWriters) {
      return absl::InvalidArgumentError(
          absl::StrCat("--bench_writers: '", word, "' is not a count in 1..", kMaxWriters));
    }
    writer_counts.push_back(n);
  }
  if (writer_counts.empty()) return absl::InvalidArgumentError("--bench_writers lists no writer count");
  const int in_flight = absl::GetFlag(FLAGS_bench_in_flight);
  const int batch_size = absl::GetFlag(FLAGS_bench_sample_batch);
  if (in_flight <= 0) return absl::InvalidArgumentError("--bench_in_flight must be positive");
  if (batch_size <= 0) return absl::InvalidArgumentError("--bench_sample_batch must be positive");
  if (absl::GetFlag(FLAGS_bench_insert_request_kib) <= 0) {
    return absl::InvalidArgumentError("--bench_insert_request_kib must be positive");
  }
  ASSIGN_OR_RETURN(std::vector<ItemKind> all_kinds, Kinds());
  std::vector<ItemKind> kinds;
  for (absl::string_view word : absl::StrSplit(absl::GetFlag(FLAGS_bench_tables), ',', absl::SkipEmpty())) {
    auto it = std::find_if(all_kinds.begin(), all_kinds.end(), [&](const ItemKind& k) { return k.table == word; });
    if (it == all_kinds.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--bench_tables: '", word, "' is unknown (known: pendulum, halfcheetah, frames)"));
    }
    kinds.push_back(*it);
  }
  if (kinds.empty() && !absl::GetFlag(FLAGS_bench_compression)) {
    return absl::InvalidArgumentError("--bench_tables lists no item size (and --bench_compression is off)");
  }

  std::string dir = absl::GetFlag(FLAGS_bench_dir);
  const bool own_dir = dir.empty();
  if (own_dir) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/rill_bench_replay.XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::PermissionDeniedError(absl::StrCat("cannot create a folder like ", pattern, ": ", strerror(errno)));
    }
    dir = pattern;
  } else {
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) return absl::PermissionDeniedError(absl::StrCat("cannot create '", dir, "': ", error.message()));
  }
  struct Cleanup {
    std::string dir;
    bool remove;
    ~Cleanup() {
      std::error_code error;
      if (remove) std::filesystem::remove_all(dir, error);
    }
  } cleanup{dir, own_dir};

  const std::string load_before = LoadAverage();
  std::cerr << "replay bench: " << std::thread::hardware_concurrency() << " cores, load average " << load_before
            << ", " << seconds << " s per case, files in " << dir << "\n";
  // Best of three: on a busy machine one trial may lose its core for a while.
  double loopback_mb = 0;
  for (int trial = 0; trial < 3; ++trial) {
    ASSIGN_OR_RETURN(const double mb, LoopbackTcpMbPerSecond(std::min(seconds, 2.0) / 2));
    loopback_mb = std::max(loopback_mb, mb);
  }
  std::cerr << absl::StrFormat("  loopback TCP: %.0f MB/s (one connection, best of 3)\n", loopback_mb);

  // ---- throughput: one shard holding a table per item size ----
  int phase = 1;
  auto throughput = [&](const std::string& binary, const std::string& label,
                        std::vector<CaseResult>* results) -> absl::Status {
    std::vector<v1::TableConfig> tables;
    for (const ItemKind& kind : kinds) tables.push_back(BenchTable(kind, kind.throughput_capacity));
    ASSIGN_OR_RETURN(Shard shard, StartShard(dir, absl::StrCat("throughput", label), tables, nullptr, binary));
    for (const ItemKind& kind : kinds) {
      for (int writers : writer_counts) {
        CaseResult result;
        result.kind = &kind;
        result.writers = writers;
        result.items_per_request = ItemsPerRequest(kind);
        std::vector<AckTimes> acks;
        result.insert = InsertPhase(shard, kind, writers, phase++, seconds, in_flight, &acks);
        RETURN_IF_ERROR(result.insert.status);
        result.acks = Summarize(acks);
        const int sample_in_flight = SampleInFlight(kind, batch_size, in_flight);
        result.sample = RunPhase(writers, seconds, shard.process->pid(),
                                 [&](int, const std::atomic<bool>& stop, std::atomic<int64_t>& count) {
                                   return RunSampler(shard.address, kind.table, batch_size, sample_in_flight, stop,
                                                     count, StreamTimeout(seconds));
                                 });
        RETURN_IF_ERROR(result.sample.status);
        std::cerr << absl::StrFormat(
            "  %s%-11s %6d B x %2d writers: insert %10.0f items/s %8.1f MB/s (%d items/request, cpu shard/bench "
            "%s, ack p50/p99 %.1f/%.1f ms, shard threads %d); sample %8.0f batches/s of %d (cpu %s)\n",
            label.empty() ? "" : label + " ", kind.table, kind.item_bytes, writers, result.insert.per_second,
            result.insert.per_second * kind.item_bytes / 1e6, result.items_per_request, Cpu(result.insert),
            result.acks.p50_ms, result.acks.p99_ms, result.insert.shard_threads, result.sample.per_second, batch_size,
            Cpu(result.sample));
        results->push_back(result);
      }
    }
    shard.process->Stop(absl::Seconds(10));
    return absl::OkStatus();
  };
  std::vector<CaseResult> cases;
  if (!kinds.empty()) RETURN_IF_ERROR(throughput(SelfBinary().value_or("rill"), "", &cases));
  // The same cases against another build's shard, right after, for a
  // before/after comparison on the same machine at the same load.
  std::vector<CaseResult> baseline_cases;
  if (const std::string baseline = absl::GetFlag(FLAGS_bench_baseline); !baseline.empty()) {
    if (!std::filesystem::exists(baseline)) {
      return absl::NotFoundError(absl::StrCat("--bench_baseline: no binary at '", baseline, "'"));
    }
    RETURN_IF_ERROR(throughput(baseline, "baseline", &baseline_cases));
    for (size_t i = 0; i < cases.size(); ++i) {
      std::cerr << absl::StrFormat("  %-11s x %2d writers: insert %.2f, sample %.2f of the baseline\n",
                                   cases[i].kind->table, cases[i].writers,
                                   cases[i].insert.per_second / baseline_cases[i].insert.per_second,
                                   cases[i].sample.per_second / baseline_cases[i].sample.per_second);
    }
  }

  // ---- the crowd: most writers blocked by an engaged limiter ----
  std::string crowd_json = "null";
  std::string crowd_unpaced_json = "null";
  if (const int crowd = absl::GetFlag(FLAGS_bench_crowd_writers); crowd > 0) {
    if (crowd > kMaxWriters) {
      return absl::InvalidArgumentError(absl::StrCat("--bench_crowd_writers must be 0..", kMaxWriters));
    }
    const ItemKind& pendulum = *std::find_if(all_kinds.begin(), all_kinds.end(),
                                              [](const ItemKind& k) { return k.table == "pendulum"; });
    ASSIGN_OR_RETURN(crowd_json, CrowdCase(dir, pendulum, crowd, phase++, seconds, batch_size, /*paced=*/true));
    ASSIGN_OR_RETURN(crowd_unpaced_json,
                     CrowdCase(dir, pendulum, crowd, phase++, seconds, batch_size, /*paced=*/false));
  }

  // ---- WAL durability: the same inserts into a shard that logs them ----
  std::string wal_json = "null";
  double wal_headline = -1, wal_ratio_headline = -1;
  if (absl::GetFlag(FLAGS_bench_wal) && !kinds.empty()) {
    std::filesystem::create_directories(dir + "/wal");
    double disk_mb = 0;
    for (int trial = 0; trial < 2; ++trial) {
      ASSIGN_OR_RETURN(const double mb, SyncedDiskWriteMbPerSecond(dir + "/wal", std::min(seconds, 2.0) / 2));
      disk_mb = std::max(disk_mb, mb);
    }
    std::cerr << absl::StrFormat("  disk: %.0f MB/s of synced 1 MiB writes (best of 2)\n", disk_mb);
    const int wal_writers =
        std::find(writer_counts.begin(), writer_counts.end(), 4) != writer_counts.end() ? 4 : writer_counts[0];
    v1::DurabilityConfig durability;
    durability.set_mode(v1::DurabilityConfig::WAL);
    durability.set_dir(dir + "/wal");
    std::vector<v1::TableConfig> tables;
    for (const ItemKind& kind : kinds) tables.push_back(BenchTable(kind, kind.throughput_capacity));
    ASSIGN_OR_RETURN(Shard shard, StartShard(dir, "wal", tables, &durability));
    ASSIGN_OR_RETURN(v1::InfoResponse info, ShardInfo(shard.address));
    std::vector<std::string> wal_cases;
    for (const ItemKind& kind : kinds) {
      PhaseResult wal = InsertPhase(shard, kind, wal_writers, phase++, seconds, in_flight);
      RETURN_IF_ERROR(wal.status);
      double none_rate = -1;
      for (const CaseResult& c : cases) {
        if (c.kind == &kind && c.writers == wal_writers) none_rate = c.insert.per_second;
      }
      const double ratio = none_rate > 0 ? wal.per_second / none_rate : -1;
      std::cerr << absl::StrFormat("  wal %-11s %6d B x %2d writers: insert %10.0f items/s (%.2f of mode none, cpu %s)\n",
                                   kind.table, kind.item_bytes, wal_writers, wal.per_second, ratio, Cpu(wal));
      wal_cases.push_back(absl::StrFormat(
          "{\"item_bytes\":%d,\"writers\":%d,\"wal_insert_items_per_second\":%s,\"wal_insert_mb_per_second\":%s,"
          "\"none_insert_items_per_second\":%s,\"wal_to_none_ratio\":%s,\"wal_to_disk_ratio\":%s,"
          "\"shard_cpu_cores\":%s}",
          kind.item_bytes, wal_writers, Num(wal.per_second), Num(wal.per_second * kind.item_bytes / 1e6),
          Num(none_rate), Num(ratio), Num(wal.per_second * kind.item_bytes / 1e6 / disk_mb),
          Num(wal.shard_cpu_cores)));
      if (kind.table == "halfcheetah") {
        wal_headline = wal.per_second;
        wal_ratio_headline = ratio;
      }
    }
    shard.process->Stop(absl::Seconds(30));
    wal_json = absl::StrFormat(
        "{\"durability_mode_reported\":\"%s\",\"disk_synced_write_mb_per_second\":%s,\"writers\":%d,"
        "\"cases\":[%s]}",
        info.durability_mode(), Num(disk_mb), wal_writers, absl::StrJoin(wal_cases, ","));
  }

  // ---- memory: a fresh shard per item size, filled to a sizeable payload ----
  std::vector<std::string> memory_json;
  double worst_rss_ratio = -1;
  if (absl::GetFlag(FLAGS_bench_memory)) {
    for (const ItemKind& kind : kinds) {
      const int64_t target_bytes =
          (kind.large ? absl::GetFlag(FLAGS_bench_memory_large_mib) : absl::GetFlag(FLAGS_bench_memory_mib)) << 20;
      const int64_t capacity = std::max<int64_t>(1, target_bytes / kind.item_bytes);
      ASSIGN_OR_RETURN(Shard shard,
                       StartShard(dir, absl::StrCat("memory_", kind.table), {BenchTable(kind, capacity)}, nullptr));
      RETURN_IF_ERROR(ShardInfo(shard.address).status());
      ASSIGN_OR_RETURN(const int64_t baseline, ProcStatusBytes(shard.process->pid(), "VmRSS"));
      ASSIGN_OR_RETURN(const int64_t baseline_anon, ProcStatusBytes(shard.process->pid(), "RssAnon"));
      constexpr int kFillWriters = 2;
      ItemKind fill_kind = kind;
      fill_kind.throughput_capacity = capacity;
      std::mt19937_64 rng(static_cast<uint64_t>(phase));
      const v1::InsertRequest prototype = MakeInsertRequest(fill_kind, ItemsPerRequest(fill_kind), rng);
      const int64_t per_writer = (capacity + kFillWriters - 1) / kFillWriters;
      std::atomic<bool> never{false};
      std::atomic<int64_t> acked{0};
      std::vector<absl::Status> statuses(kFillWriters);
      std::vector<std::thread> threads;
      const absl::Time start = absl::Now();
      for (int i = 0; i < kFillWriters; ++i) {
        threads.emplace_back([&, i] {
          statuses[static_cast<size_t>(i)] = RunWriter(shard.address, prototype, in_flight, KeyBase(phase, i),
                                                       per_writer, never, acked, absl::Minutes(10));
        });
      }
      for (std::thread& thread : threads) thread.join();
      ++phase;
      const double fill_seconds = absl::ToDoubleSeconds(absl::Now() - start);
      for (const absl::Status& status : statuses) RETURN_IF_ERROR(status);
      ASSIGN_OR_RETURN(v1::InfoResponse info, ShardInfo(shard.address));
      ASSIGN_OR_RETURN(const int64_t rss_after_fill, ProcStatusBytes(shard.process->pid(), "VmRSS"));
      // Resident memory at rest: the shard returns freed request buffers to
      // the system every 5 s (replay_main's trimmer), so wait one period.
      absl::SleepFor(absl::Seconds(6));
      ASSIGN_OR_RETURN(const int64_t rss, ProcStatusBytes(shard.process->pid(), "VmRSS"));
      ASSIGN_OR_RETURN(const int64_t rss_anon, ProcStatusBytes(shard.process->pid(), "RssAnon"));
      const int64_t payload = info.tables(0).bytes();
      const double ratio = static_cast<double>(rss) / static_cast<double>(payload);
      const double anon_ratio = static_cast<double>(rss_anon) / static_cast<double>(payload);
      const double over_baseline = static_cast<double>(rss - baseline) / static_cast<double>(payload);
      worst_rss_ratio = std::max(worst_rss_ratio, ratio);
      std::cerr << absl::StrFormat(
          "  memory %-11s %6d B: %d items, payload %.1f MB, RSS %.1f MB (anonymous %.1f MB; empty shard %.1f MB, "
          "anonymous %.1f MB): %.3f per payload byte (anonymous %.3f), %.3f over empty (filled in %.1f s)\n",
          kind.table, kind.item_bytes, info.tables(0).size(), payload / 1e6, rss / 1e6, rss_anon / 1e6,
          baseline / 1e6, baseline_anon / 1e6, ratio, anon_ratio, over_baseline, fill_seconds);
      memory_json.push_back(absl::StrFormat(
          "{\"item_bytes\":%d,\"items\":%d,\"payload_bytes\":%d,\"rss_bytes\":%d,\"rss_anon_bytes\":%d,"
          "\"rss_right_after_fill_bytes\":%d,\"empty_rss_bytes\":%d,\"empty_rss_anon_bytes\":%d,"
          "\"rss_per_payload_byte\":%s,\"rss_anon_per_payload_byte\":%s,\"rss_over_empty_per_payload_byte\":%s}",
          kind.item_bytes, info.tables(0).size(), payload, rss, rss_anon, rss_after_fill, baseline, baseline_anon,
          Num(ratio), Num(anon_ratio), Num(over_baseline)));
      shard.process->Stop(absl::Seconds(10));
    }
  }

  std::string planes_json = "null";
  if (absl::GetFlag(FLAGS_bench_planes_transitions) > 0) {
    ASSIGN_OR_RETURN(planes_json, PlanesSection(dir, in_flight, batch_size, seconds));
  }
  std::string compression_json = "null";
  if (absl::GetFlag(FLAGS_bench_compression)) {
    ASSIGN_OR_RETURN(compression_json, CompressionSection(dir, in_flight, batch_size, seconds, &phase));
  }

  // ---- the JSON line ----
  std::vector<std::string> case_json;
  double best_small_inserts = 0, best_large_mb = 0, best_halfcheetah_batches = 0;
  for (const CaseResult& c : cases) {
    const double insert_mb = c.insert.per_second * c.kind->item_bytes / 1e6;
    if (c.kind->table == "pendulum") best_small_inserts = std::max(best_small_inserts, c.insert.per_second);
    if (c.kind->large) best_large_mb = std::max(best_large_mb, insert_mb);
    if (c.kind->table == "halfcheetah") best_halfcheetah_batches = std::max(best_halfcheetah_batches, c.sample.per_second);
    case_json.push_back(absl::StrFormat(
        "{\"table\":\"%s\",\"item_bytes\":%d,\"writers\":%d,\"insert_items_per_second\":%s,"
        "\"insert_mb_per_second\":%s,\"sample_batches_per_second\":%s,\"sample_mb_per_second\":%s,"
        "\"insert_items_per_request\":%d,\"insert_in_flight_per_stream\":%d,\"samplers\":%d,"
        "\"insert_shard_cpu_cores\":%s,\"insert_bench_cpu_cores\":%s,\"sample_shard_cpu_cores\":%s,"
        "\"sample_bench_cpu_cores\":%s,\"insert_ack_ms\":{\"p50\":%s,\"p99\":%s,\"max\":%s},"
        "\"insert_shard_threads\":%d,\"insert_shard_rss_bytes\":%d}",
        c.kind->table, c.kind->item_bytes, c.writers, Num(c.insert.per_second), Num(insert_mb),
        Num(c.sample.per_second), Num(c.sample.per_second * batch_size * c.kind->item_bytes / 1e6),
        c.items_per_request, in_flight, c.writers, Num(c.insert.shard_cpu_cores), Num(c.insert.client_cpu_cores),
        Num(c.sample.shard_cpu_cores), Num(c.sample.client_cpu_cores), Num(c.acks.p50_ms), Num(c.acks.p99_ms),
        Num(c.acks.max_ms), c.insert.shard_threads, c.insert.shard_rss));
  }
  std::vector<std::string> baseline_json;
  for (size_t i = 0; i < baseline_cases.size(); ++i) {
    const CaseResult& b = baseline_cases[i];
    baseline_json.push_back(absl::StrFormat(
        "{\"table\":\"%s\",\"writers\":%d,\"insert_items_per_second\":%s,\"sample_batches_per_second\":%s,"
        "\"insert_ack_ms\":{\"p50\":%s,\"p99\":%s},\"insert_shard_threads\":%d,\"insert_ratio\":%s,"
        "\"sample_ratio\":%s}",
        b.kind->table, b.writers, Num(b.insert.per_second), Num(b.sample.per_second), Num(b.acks.p50_ms),
        Num(b.acks.p99_ms), b.insert.shard_threads, Num(cases[i].insert.per_second / b.insert.per_second),
        Num(cases[i].sample.per_second / b.sample.per_second)));
  }
  const std::string baseline_cases_json =
      baseline_json.empty() ? "null" : absl::StrCat("[", absl::StrJoin(baseline_json, ","), "]");
  std::cout << absl::StrFormat(
                   "{\"loopback_tcp_mb_per_second\":%s,\"cores\":%d,\"load_average_1m_before\":%s,"
                   "\"load_average_1m_after\":%s,\"seconds_per_case\":%s,\"sample_batch_size\":%d,\"cases\":[%s],"
                   "\"wal_insert_items_per_second\":%s,\"wal_to_none_insert_ratio\":%s,\"wal\":%s,"
                   "\"memory\":[%s],\"planes\":%s,\"compression\":%s,\"crowd\":%s,\"crowd_unpaced\":%s,\"baseline_cases\":%s,"
                   "\"targets\":{\"small_insert_items_per_second\":%s,\"large_insert_mb_per_second\":%s,"
                   "\"halfcheetah_sample_batches_per_second\":%s,\"rss_per_payload_byte\":%s},"
                   "\"best\":{\"small_insert_items_per_second\":%s,\"large_insert_mb_per_second\":%s,"
                   "\"halfcheetah_sample_batches_per_second\":%s,\"worst_rss_per_payload_byte\":%s}}",
                   Num(loopback_mb), static_cast<int>(std::thread::hardware_concurrency()), load_before,
                   LoadAverage(), Num(seconds), batch_size, absl::StrJoin(case_json, ","),
                   wal_headline < 0 ? "null" : Num(wal_headline),
                   wal_ratio_headline < 0 ? "null" : Num(wal_ratio_headline), wal_json,
                   absl::StrJoin(memory_json, ","), planes_json, compression_json, crowd_json, crowd_unpaced_json,
                   baseline_cases_json, Num(kTargetSmallInsertsPerSecond),
                   Num(kTargetLargeInsertMbPerSecond), Num(kTargetSampleBatchesPerSecond),
                   Num(kTargetRssPerPayloadByte), Num(best_small_inserts), Num(best_large_mb),
                   Num(best_halfcheetah_batches), worst_rss_ratio < 0 ? "null" : Num(worst_rss_ratio))
            << std::endl;
  return absl::OkStatus();
}

}  // namespace

int RunReplayBench() {
  absl::Status status = Run();
  if (!status.ok()) {
    std::cerr << "replay bench failed: " << status << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace rill::bench
