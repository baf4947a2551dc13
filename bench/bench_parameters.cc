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
#include <string>
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
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "parameters/parameter_service.h"

ABSL_FLAG(int32_t, bench_subscribers, 1000, "Subscribe streams (one channel each) the parameter bench opens.");
ABSL_FLAG(int32_t, bench_versions, 20, "Versions the parameter bench measures.");
ABSL_FLAG(int32_t, bench_warmup_versions, 10,
          "Versions published before those measured, reported on their own: while the 1,000 fresh connections' "
          "TCP windows and the subscribers' buffers grow, a version takes several times the steady-state time.");
ABSL_FLAG(int64_t, bench_policy_floats, 67330,
          "Float32s in each published version; 67,330 is the Pendulum SAC policy (3-256-256-2).");

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

}  // namespace

int RunParameterBench() {
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
