#include "bench/bench_parameters.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/bench_probes.h"
#include "common/grpc_util.h"
#include "common/region_server.h"
#include "common/status_macros.h"
#include "flags/flags.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "parameters/parameter_client.h"
#include "parameters/parameter_service.h"

ABSL_FLAG(int32_t, bench_subscribers, 1000, "Subscribe streams (one channel each) the parameter bench opens.");
ABSL_FLAG(int32_t, bench_versions, 20, "Versions the parameter bench measures.");
ABSL_FLAG(int32_t, bench_warmup_versions, 10,
          "Versions published before those measured, reported on their own: while the 1,000 fresh connections' "
          "TCP windows and the subscribers' buffers grow, a version takes several times the steady-state time.");
ABSL_FLAG(int64_t, bench_policy_floats, 67330,
          "Float32s in each published version; 67,330 is the Pendulum SAC policy (3-256-256-2).");
ABSL_FLAG(int32_t, bench_followers, 0,
          "Instead of the subscriber bench: this many ParameterClients follow the learner as actors on its host do "
          "(TakeNewer every --bench_step_micros), over gRPC and then through the shared region, each for "
          "--bench_seconds (default 5) while versions are published at --bench_publish_hz.");
ABSL_FLAG(int32_t, bench_publish_hz, 800,
          "Versions per second the follower bench publishes (800: IMPALA on CartPole publishes about 790).");
ABSL_FLAG(int32_t, bench_step_micros, 125,
          "How often each follower takes the newest version (125 us: an actor of 8 CartPole envs).");

namespace rill::bench {
namespace {

// What every subscriber records: per version, the delivery latencies.
class Deliveries {
 public:
  explicit Deliveries(int versions) : latencies_(versions + 1), counts_(versions + 1) {}

  void Record(int64_t version, double milliseconds) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (version <= 0 || version >= static_cast<int64_t>(latencies_.size())) return;
    latencies_[version].push_back(milliseconds);
    ++counts_[version];
  }
  // Blocks until `subscribers` have version `version` or the timeout passes.
  bool WaitAll(int64_t version, int subscribers, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return counts_[version] >= subscribers; };
    return mu_.AwaitWithTimeout(absl::Condition(&all), timeout);
  }
  std::vector<std::vector<double>> Take() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return latencies_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::vector<double>> latencies_ ABSL_GUARDED_BY(mu_);
  std::vector<int> counts_ ABSL_GUARDED_BY(mu_);
};

// The header fields of a serialized ParameterUpdate (version, field 1;
// published_unix_micros, field 4), read through protobuf's wire reader
// over the buffer's slices; the blob (field 3) between them is skipped, not
// copied. False on a malformed message.
bool ReadUpdateHeader(grpc::ByteBuffer* buffer, int64_t* version, int64_t* published_micros) {
  grpc::ProtoBufferReader reader(buffer);
  google::protobuf::io::CodedInputStream in(&reader);
  while (const uint32_t tag = in.ReadTag()) {
    const int field = google::protobuf::internal::WireFormatLite::GetTagFieldNumber(tag);
    uint64_t value = 0;
    if ((field == 1 || field == 4) &&
        google::protobuf::internal::WireFormatLite::GetTagWireType(tag) ==
            google::protobuf::internal::WireFormatLite::WIRETYPE_VARINT) {
      if (!in.ReadVarint64(&value)) return false;
      *(field == 1 ? version : published_micros) = static_cast<int64_t>(value);
    } else if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  return in.ConsumedEntireMessage();
}

// One actor's subscription: reads versions until the stream ends. It reads
// the raw message and decodes only the header: a real actor decodes the
// blob on its own machine, and 1,000 decodes here would take the cores the
// service under test runs on.
class BenchSubscriber final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  BenchSubscriber(grpc::GenericStub* stub, Deliveries* deliveries) : deliveries_(deliveries) {
    bool own_buffer = false;
    grpc::GenericSerialize<grpc::ProtoBufferWriter, v1::SubscribeRequest>(v1::SubscribeRequest(), &request_,
                                                                           &own_buffer);
    stub->PrepareBidiStreamingCall(&context_, "/rill.v1.ParameterService/Subscribe", grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&update_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    int64_t version = 0;
    int64_t published_micros = 0;
    if (ReadUpdateHeader(&update_, &version, &published_micros)) {
      deliveries_->Record(version, static_cast<double>(absl::ToUnixMicros(absl::Now()) - published_micros) / 1e3);
    }
    update_.Clear();
    StartRead(&update_);
  }
  void OnDone(const grpc::Status&) override { done_.Notify(); }
  bool WaitDone(absl::Duration timeout) { return done_.WaitForNotificationWithTimeout(timeout); }

 private:
  Deliveries* deliveries_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer update_;
  absl::Notification done_;
};

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(q * static_cast<double>(values.size() - 1) + 0.5));
  return values[index];
}

std::string Summary(const std::vector<double>& values) {
  return absl::StrFormat("{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f}", Percentile(values, 0.5), Percentile(values, 0.99),
                         Percentile(values, 1.0));
}

double RssMegabytes() {
  absl::StatusOr<int64_t> rss = ProcStatusBytes(getpid(), "VmRSS");
  return rss.ok() ? static_cast<double>(*rss) / (1 << 20) : 0;
}

// What the followers of one transport cost and got over a window.
struct FollowedWindow {
  int64_t published = 0;
  int64_t taken = 0;     // versions taken up, all followers
  double cores = 0;      // the process's CPU over the window, learner side and followers
  std::vector<double> delay_ms;  // publish to take, per version taken
};

// `followers` ParameterClients (shared memory asked or not) follow a store
// served on a real port, each taking the newest version every `step` on a
// thread of its own, while versions of `blob` are published at `hz` for
// `seconds` after a second of warm-up.
absl::StatusOr<FollowedWindow> Follow(bool shared_memory, int followers, const std::string& blob, int hz,
                                      absl::Duration step, double seconds) {
  std::unique_ptr<RegionServer> regions;  // outlives the store
  parameters::ParameterStore store;
  if (shared_memory) {
    ASSIGN_OR_RETURN(regions, RegionServer::Create("rill-bench-parameters"));
    store.ShareOnHost(regions.get());
  }
  parameters::ParameterServiceImpl service(&store);
  const int64_t max_message = static_cast<int64_t>(blob.size()) + (4 << 20);
  ASSIGN_OR_RETURN(StartedServer server, StartGrpcServer("127.0.0.1:0", {&service}, max_message));
  const std::string address = absl::StrCat("127.0.0.1:", server.port);
  int64_t version = 1;
  RETURN_IF_ERROR(store.Publish(version, version, blob));
  std::atomic<bool> measuring{false}, stop{false};
  absl::Mutex mu;
  FollowedWindow window;
  std::vector<std::thread> threads;
  for (int f = 0; f < followers; ++f) {
    threads.emplace_back([&] {
      parameters::ParameterClient client(address, max_message, nullptr, "", shared_memory);
      std::vector<double> delays;
      while (!stop.load()) {
        std::optional<parameters::ReceivedParameters> taken = client.TakeNewer();
        if (taken.has_value() && measuring.load()) {
          delays.push_back(absl::ToDoubleMilliseconds(absl::Now() - taken->published));
        }
        absl::SleepFor(step);
      }
      absl::MutexLock lock(&mu);
      window.taken += static_cast<int64_t>(delays.size());
      window.delay_ms.insert(window.delay_ms.end(), delays.begin(), delays.end());
    });
  }
  // hz 0: no versions, the followers' own loop alone (the floor).
  const absl::Duration period = hz > 0 ? absl::Seconds(1.0 / hz) : absl::InfiniteDuration();
  auto publish_for = [&](absl::Duration span) -> absl::Status {
    const absl::Time start = absl::Now();
    if (hz == 0) absl::SleepFor(span);
    for (int64_t n = 1; hz > 0 && absl::Now() - start < span; ++n) {
      ++version;
      RETURN_IF_ERROR(store.Publish(version, version, blob));
      absl::SleepFor(start + n * period - absl::Now());
    }
    return absl::OkStatus();
  };
  absl::Status published = publish_for(absl::Seconds(1));  // the followers connect and settle
  const int64_t first = version;
  const double cpu = SelfCpuSeconds();
  const absl::Time start = absl::Now();
  measuring.store(true);
  if (published.ok()) published = publish_for(absl::Seconds(seconds));
  measuring.store(false);
  window.cores = (SelfCpuSeconds() - cpu) / absl::ToDoubleSeconds(absl::Now() - start);
  window.published = version - first;
  stop.store(true);  // the followers add what they took
  for (std::thread& thread : threads) thread.join();
  store.Close();
  server.server->Shutdown(DeadlineIn(absl::Seconds(2)));
  if (!published.ok()) return published;
  return window;
}

// `rill bench parameters --bench_followers=N`: what following the learner
// costs its host's actors over each transport, in one run.
int RunFollowerBench(int followers) {
  const int hz = absl::GetFlag(FLAGS_bench_publish_hz);
  const int step_micros = absl::GetFlag(FLAGS_bench_step_micros);
  const int64_t floats = absl::GetFlag(FLAGS_bench_policy_floats);
  const double seconds = absl::GetFlag(FLAGS_bench_seconds) > 0 ? absl::GetFlag(FLAGS_bench_seconds) : 5;
  if (followers > 64 || hz < 1 || hz > 100000 || step_micros < 1 || floats < 1 || floats > (int64_t{1} << 24)) {
    std::cerr << "bench parameters: --bench_followers must be 1..64, --bench_publish_hz 1..100000, "
                 "--bench_step_micros >= 1 and --bench_policy_floats 1..2^24\n";
    return 1;
  }
  v1::ParameterSet set;
  v1::NamedTensor* tensor = set.add_tensors();
  tensor->set_name("policy");
  tensor->mutable_tensor()->set_dtype(v1::DTYPE_FLOAT32);
  tensor->mutable_tensor()->add_shape(floats);
  tensor->mutable_tensor()->set_data(std::string(static_cast<size_t>(floats) * 4, '\0'));
  const std::string blob = set.SerializeAsString();
  // The followers' loop with nothing published: what both transports
  // cost above it is the parameters'.
  absl::StatusOr<FollowedWindow> idle = Follow(false, followers, blob, 0, absl::Microseconds(step_micros), seconds);
  if (!idle.ok()) {
    std::cerr << "bench parameters (idle): " << idle.status() << "\n";
    return 1;
  }
  std::string transports;
  for (const bool shared_memory : {false, true}) {
    const char* name = shared_memory ? "shared_memory" : "grpc";
    absl::StatusOr<FollowedWindow> window =
        Follow(shared_memory, followers, blob, hz, absl::Microseconds(step_micros), seconds);
    if (!window.ok()) {
      std::cerr << "bench parameters (" << name << "): " << window.status() << "\n";
      return 1;
    }
    const double per_version_us =
        window->published > 0 ? (window->cores - idle->cores) * seconds * 1e6 / window->published : 0;
    std::cerr << absl::StrFormat(
        "%s: %d followers, %d versions of %d KB published, %d taken (%.0f%%), %.2f cores (%.2f with nothing "
        "published), %.1f us of CPU above that per version published, publish to take p50 %.2f ms p99 %.2f ms\n",
        name, followers, window->published, blob.size() / 1024, window->taken,
        100.0 * window->taken / std::max<int64_t>(1, window->published * followers), window->cores, idle->cores,
        per_version_us,
        Percentile(window->delay_ms, 0.5), Percentile(window->delay_ms, 0.99));
    absl::StrAppend(&transports, transports.empty() ? "" : ",",
                    absl::StrFormat("\"%s\":{\"published\":%d,\"taken\":%d,\"cores\":%.4f,"
                                    "\"cpu_us_per_version_above_idle\":%.2f,\"publish_to_take_ms\":%s}",
                                    name, window->published, window->taken, window->cores, per_version_us,
                                    Summary(window->delay_ms)));
  }
  std::cout << absl::StrFormat(
                   "{\"bench\":\"parameters\",\"followers\":%d,\"blob_bytes\":%d,\"publish_hz\":%d,"
                   "\"step_micros\":%d,\"seconds\":%.1f,\"idle_cores\":%.4f,%s,\"cores\":%d,\"load_average_1m\":%s}",
                   followers, blob.size(), hz, step_micros, seconds, idle->cores, transports,
                   static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)), LoadAverage())
            << std::endl;
  return 0;
}

}  // namespace

int RunParameterBench() {
  if (absl::GetFlag(FLAGS_bench_followers) > 0) return RunFollowerBench(absl::GetFlag(FLAGS_bench_followers));
  const int subscribers = absl::GetFlag(FLAGS_bench_subscribers);
  const int measured = absl::GetFlag(FLAGS_bench_versions);
  const int warmup = absl::GetFlag(FLAGS_bench_warmup_versions);
  const int versions = warmup + measured;
  const int64_t floats = absl::GetFlag(FLAGS_bench_policy_floats);
  if (subscribers < 1 || subscribers > 10000 || measured < 1 || warmup < 0 || floats < 1 ||
      floats > (int64_t{1} << 26)) {
    std::cerr << "bench parameters: --bench_subscribers must be 1..10000, --bench_versions >= 1, "
                 "--bench_warmup_versions >= 0 and "
                 "--bench_policy_floats 1..2^26\n";
    return 1;
  }
  // Two descriptors per stream (both ends live in this process).
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  if (files.rlim_cur < static_cast<rlim_t>(2 * subscribers + 256)) {
    std::cerr << "bench parameters: " << subscribers << " subscribers need about " << 2 * subscribers + 256
              << " open files; the limit is " << files.rlim_cur << "\n";
    return 1;
  }
  const int64_t blob_bytes = floats * 4;
  const int64_t max_message = std::max<int64_t>(blob_bytes + (1 << 20), 4 << 20);

  parameters::ParameterStore store;
  parameters::ParameterServiceImpl service(&store);
  absl::StatusOr<StartedServer> server = StartGrpcServer("127.0.0.1:0", {&service}, max_message);
  if (!server.ok()) {
    std::cerr << "bench parameters: " << server.status() << "\n";
    return 1;
  }
  const std::string address = absl::StrCat("127.0.0.1:", server->port);
  const int threads_idle = ThreadCount(getpid());

  Deliveries deliveries(versions);
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  std::vector<std::unique_ptr<BenchSubscriber>> readers;
  for (int i = 0; i < subscribers; ++i) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(static_cast<int>(max_message));
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own, like an actor process
    // Reads of a fixed 64 KiB: gRPC otherwise grows each connection's read
    // buffer with the messages it sees, and 1,000 connections growing theirs
    // in one process fault in hundreds of MB of fresh pages for a few
    // versions, on the cores the service under test runs on (an actor grows
    // its one buffer on its own machine, once).
    for (const char* arg : {GRPC_ARG_TCP_READ_CHUNK_SIZE, GRPC_ARG_TCP_MIN_READ_CHUNK_SIZE,
                            GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE}) {
      args.SetInt(arg, 64 << 10);
    }
    stubs.push_back(std::make_unique<grpc::GenericStub>(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
    readers.push_back(std::make_unique<BenchSubscriber>(stubs.back().get(), &deliveries));
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (store.listeners() < subscribers && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  if (store.listeners() < subscribers) {
    std::cerr << "bench parameters: only " << store.listeners() << " of " << subscribers << " streams opened\n";
    return 1;
  }
  const int threads_open = ThreadCount(getpid());
  std::cerr << subscribers << " subscribers open; threads " << threads_idle << " idle -> " << threads_open
            << ", RSS " << RssMegabytes() << " MB\n";

  std::string blob(blob_bytes, '\0');
  std::vector<double> warmup_delivered;  // per warm-up version: until every subscriber had it
  std::vector<double> all_delivered;     // the same, per measured version
  std::vector<double> publish_calls;     // per measured version: until Publish returned (the training loop's cost)
  for (int version = 1; version <= versions; ++version) {
    std::memcpy(blob.data(), &version, sizeof(version));
    const absl::Time published = absl::Now();
    absl::Status status = store.Publish(version, version, blob);
    if (version > warmup) publish_calls.push_back(absl::ToDoubleMilliseconds(absl::Now() - published));
    if (!status.ok()) {
      std::cerr << "bench parameters: " << status << "\n";
      return 1;
    }
    if (!deliveries.WaitAll(version, subscribers, absl::Seconds(30))) {
      std::cerr << "bench parameters: version " << version << " did not reach every subscriber within 30 s\n";
      return 1;
    }
    (version <= warmup ? warmup_delivered : all_delivered)
        .push_back(absl::ToDoubleMilliseconds(absl::Now() - published));
  }
  auto list = [](const std::vector<double>& values) {
    std::vector<std::string> words;
    for (double ms : values) words.push_back(absl::StrFormat("%.0f", ms));
    return absl::StrJoin(words, " ");
  };
  std::cerr << "all delivered, per version (ms): warm-up " << list(warmup_delivered) << "; measured "
            << list(all_delivered) << "\n";
  // Every subscriber's latency of every measured version.
  std::vector<double> latencies;
  const std::vector<std::vector<double>> per_version = deliveries.Take();
  for (int version = warmup + 1; version <= versions; ++version) {
    latencies.insert(latencies.end(), per_version[version].begin(), per_version[version].end());
  }
  const double rss = RssMegabytes();
  store.Close();
  for (auto& reader : readers) reader->WaitDone(absl::Seconds(10));
  server->server->Shutdown(DeadlineIn(absl::Seconds(2)));
  // The floor: every subscriber's copy crossing one loopback connection.
  absl::StatusOr<double> loopback_mb = LoopbackTcpMbPerSecond(1.0);
  if (!loopback_mb.ok()) {
    std::cerr << "bench parameters: " << loopback_mb.status() << "\n";
    return 1;
  }
  const double reference = static_cast<double>(blob_bytes) * subscribers / (*loopback_mb * 1e6) * 1e3;

  std::cerr << absl::StrFormat(
      "version of %d KB to %d subscribers, %d versions after %d of warm-up: delivery p50 %.1f ms p99 %.1f ms; all delivered p50 %.1f ms p99 %.1f ms; "
      "every copy through one loopback connection (%.0f MB/s) %.1f ms\n",
      blob_bytes / 1024, subscribers, measured, warmup, Percentile(latencies, 0.5), Percentile(latencies, 0.99),
      Percentile(all_delivered, 0.5), Percentile(all_delivered, 0.99), *loopback_mb, reference);
  std::cout << absl::StrFormat(
                   "{\"bench\":\"parameters\",\"subscribers\":%d,\"blob_bytes\":%d,\"versions\":%d,"
                   "\"warmup_versions\":%d,\"delivery_ms\":%s,\"all_delivered_ms\":%s,\"warmup_all_delivered_ms\":%s,"
                   "\"publish_call_ms\":%s,\"threads_idle\":%d,\"threads\":%d,\"rss_mb\":%.1f,"
                   "\"loopback_mb_per_second\":%.0f,\"reference_loopback_ms\":%.2f,\"cores\":%d,\"load_average_1m\":%s}",
                   subscribers, blob_bytes, measured, warmup, Summary(latencies), Summary(all_delivered),
                   Summary(warmup_delivered), Summary(publish_calls), threads_idle,
                   threads_open, rss, *loopback_mb, reference, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)), LoadAverage())
            << std::endl;
  return 0;
}

}  // namespace rill::bench
