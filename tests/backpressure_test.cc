// A flood of writers against a real shard whose table cannot take more
// items (its rate limiter waits for samples that never come) is held back by
// gRPC flow control: the shard's resident memory stays below the table's
// bytes plus the gRPC memory quota plus a margin and stops growing, the
// writers get no acknowledgements while blocked, and the shard keeps
// answering Info.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/config.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/replay.grpc.pb.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

// The shard alone: `rill-replay` (//:rill-replay) in the test's runfiles,
// what `rill replay` execs, with the same flags but no command word. The
// test needs no LibTorch to build, or to instrument under --config=tsan.
std::string RillReplayBinary() { return std::filesystem::absolute("rill-replay").string(); }

using ::testing::HasSubstr;

constexpr int64_t kItemBytes = 256 << 10;       // one uint8 [262144] column
constexpr int kItemsPerRequest = 4;             // 1 MiB requests
constexpr int kWriters = 16;
constexpr int kRequestsPerWriter = 64;          // 1 GiB offered in all
constexpr int64_t kTableMaxSize = 64;           // 16 MiB of table at most
constexpr int64_t kQuotaBytes = 32 << 20;       // replay.grpc_memory_quota_bytes
// samples_per_insert 1, error_buffer 16, min size 1: 17 inserts, then
// every insert waits for a sample, and nobody samples.
constexpr int64_t kAdmittedItems = 17;
// Allowance for what the bound does not cover: each stream's request
// being stored, per-connection HTTP/2 windows, thread stacks, allocator slack.
constexpr int64_t kMarginBytes = 96 << 20;

int64_t VmRssBytes(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t kib = 0;
    if (words.size() >= 2 && absl::SimpleAtoi(words[1], &kib)) return kib * 1024;
  }
  ADD_FAILURE() << "no VmRSS for pid " << pid;
  return 0;
}

std::string WriteConfig() {
  const std::string path = TempDir("backpressure") + "/config.textpb";
  std::ofstream(path) << absl::StrCat(R"(env { name: "Pendulum-v1" }
replay {
  grpc_memory_quota_bytes: )", kQuotaBytes, R"(
  tables {
    name: "frames"
    signature { columns { name: "frames" dtype: DTYPE_UINT8 shape: )", kItemBytes, R"( } }
    max_size: )", kTableMaxSize, R"(
    rate_limiter { min_size_to_sample: 1 samples_per_insert: 1 error_buffer: 16 }
  }
}
# Batches of a size whose message fits max_message_bytes (nothing samples here).
learner { batch_size: 32 })");
  return path;
}

std::shared_ptr<grpc::Channel> OwnChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a TCP connection per writer
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// One flooding writer: its own connection and Insert stream; a thread that
// writes requests as fast as flow control lets it, and one that reads acks.
class FloodWriter {
 public:
  FloodWriter(const std::string& address, int index) : stub_(v1::ReplayService::NewStub(OwnChannel(address))) {
    context_.set_deadline(DeadlineIn(absl::Minutes(5)));
    stream_ = stub_->Insert(&context_);
    request_.set_table("frames");
    v1::Tensor* column = request_.add_columns();
    column->set_dtype(v1::DTYPE_UINT8);
    column->add_shape(kItemsPerRequest);
    column->add_shape(kItemBytes);
    column->mutable_data()->assign(static_cast<size_t>(kItemsPerRequest * kItemBytes), 'x');
    for (int i = 0; i < kItemsPerRequest; ++i) request_.add_keys(0);
    writer_ = std::thread([this, index] {
      for (int r = 0; r < kRequestsPerWriter; ++r) {
        for (int i = 0; i < kItemsPerRequest; ++i) {
          request_.set_keys(i, (static_cast<uint64_t>(index) << 32) | static_cast<uint64_t>(r * kItemsPerRequest + i));
        }
        if (!stream_->Write(request_)) return;
        written_.fetch_add(1);
      }
      stream_->WritesDone();
    });
    reader_ = std::thread([this] {
      v1::InsertResponse response;
      while (stream_->Read(&response)) acked_items_.fetch_add(response.keys_size());
    });
  }
  // Ends the stream (the shard is gone or cancels it) and joins both threads.
  ~FloodWriter() {
    context_.TryCancel();
    writer_.join();
    reader_.join();
    (void)stream_->Finish();
  }
  int written() const { return written_.load(); }
  int64_t acked_items() const { return acked_items_.load(); }

 private:
  std::unique_ptr<v1::ReplayService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::InsertRequest, v1::InsertResponse>> stream_;
  v1::InsertRequest request_;
  std::atomic<int> written_{0};
  std::atomic<int64_t> acked_items_{0};
  std::thread writer_;
  std::thread reader_;
};

absl::StatusOr<v1::TableInfo> FramesInfo(const std::string& address) {
  auto stub = v1::ReplayService::NewStub(MakeChannel(address, 1 << 20));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  v1::InfoResponse response;
  grpc::Status status = stub->Info(&context, v1::InfoRequest(), &response);
  if (!status.ok()) return absl::UnavailableError(status.error_message());
  if (response.tables_size() != 1) return absl::InternalError("expected one table");
  return response.tables(0);
}

TEST(BackpressureTest, AFloodOfWritersIsHeldBackByFlowControlNotMemory) {
  absl::StatusOr<RoleProcess> shard = StartRole("replay", {"--config=" + WriteConfig()}, RillReplayBinary());
  ASSERT_TRUE(shard.ok()) << shard.status();
  const pid_t pid = shard->process->pid();
  ASSERT_TRUE(FramesInfo(shard->address()).ok());
  const int64_t baseline = VmRssBytes(pid);

  std::vector<std::unique_ptr<FloodWriter>> writers;
  for (int i = 0; i < kWriters; ++i) writers.push_back(std::make_unique<FloodWriter>(shard->address(), i));
  auto total_written = [&] {
    int total = 0;
    for (const auto& w : writers) total += w->written();
    return total;
  };
  auto total_acked = [&] {
    int64_t total = 0;
    for (const auto& w : writers) total += w->acked_items();
    return total;
  };

  // The table fills to what the limiter admits and inserts block.
  ASSERT_TRUE(WaitUntil(
      [&] {
        absl::StatusOr<v1::TableInfo> info = FramesInfo(shard->address());
        return info.ok() && info->size() == kAdmittedItems && info->rate_limiter().insert_blocked_seconds() > 0;
      },
      absl::Seconds(60)));
  // Flow control stops the writers: wait until no request was handed to the
  // transport for a whole second.
  int last_written = -1;
  absl::Time last_change = absl::Now();
  ASSERT_TRUE(WaitUntil(
      [&] {
        const int now_written = total_written();
        if (now_written != last_written) {
          last_written = now_written;
          last_change = absl::Now();
        }
        return absl::Now() - last_change >= absl::Seconds(1);
      },
      absl::Seconds(60)));
  const int64_t rss_blocked = VmRssBytes(pid);
  const int64_t acked_blocked = total_acked();
  const int written_blocked = total_written();

  // Let the shard sit blocked for two more seconds of its own blocked time.
  absl::StatusOr<v1::TableInfo> before = FramesInfo(shard->address());
  ASSERT_TRUE(before.ok()) << before.status();
  absl::StatusOr<v1::TableInfo> after;
  ASSERT_TRUE(WaitUntil(
      [&] {
        after = FramesInfo(shard->address());
        return after.ok() && after->rate_limiter().insert_blocked_seconds() >=
                                 before->rate_limiter().insert_blocked_seconds() + 2;
      },
      absl::Seconds(30)));
  const int64_t rss_later = VmRssBytes(pid);

  const int64_t offered_bytes = int64_t{kWriters} * kRequestsPerWriter * kItemsPerRequest * kItemBytes;
  const int64_t bound = baseline + kTableMaxSize * kItemBytes + kQuotaBytes + kMarginBytes;
  std::cerr << "baseline RSS " << baseline / 1e6 << " MB, blocked " << rss_blocked / 1e6 << " MB, 2 s later "
            << rss_later / 1e6 << " MB, bound " << bound / 1e6 << " MB; requests written " << written_blocked << " of "
            << kWriters * kRequestsPerWriter << " (" << offered_bytes / 1e6 << " MB offered), items acked "
            << acked_blocked << "\n";
  // Under --config=tsan the shard's RSS is mostly ThreadSanitizer's own
  // shadow memory and traces, which grow while its threads run: no bounds.
#ifndef ABSL_HAVE_THREAD_SANITIZER
  // Bounded: nowhere near the gigabyte offered.
  EXPECT_LT(rss_blocked, bound);
  EXPECT_LT(rss_later, bound);
  // Stopped growing while blocked.
  EXPECT_LT(rss_later - rss_blocked, 8 << 20);
#endif
  // Flow control, not buffering, holds the writers: most requests were never sent.
  EXPECT_LT(written_blocked, kWriters * kRequestsPerWriter / 4);
  EXPECT_EQ(total_written(), written_blocked);
  // No acknowledgements beyond the admitted items, and none while blocked.
  EXPECT_LE(acked_blocked, kAdmittedItems);
  EXPECT_EQ(total_acked(), acked_blocked);
  // The shard still answers, and says why.
  EXPECT_EQ(after->size(), kAdmittedItems);
  EXPECT_TRUE(after->rate_limiter().insert_blocked());
  EXPECT_THAT(after->rate_limiter().blocked_reason(), HasSubstr("insert blocked"));

  EXPECT_EQ(shard->process->Stop(absl::Seconds(10)), 0);
  writers.clear();
}

}  // namespace
}  // namespace rill::testing
