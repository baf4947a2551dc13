// The replay clients' windows over a long link, on loopback (no namespaces,
// no root): a FaultProxy adds 25 ms each way between a ReplayWriter or a
// ReplaySampler and an in-process shard. With room under their byte
// ceilings the windows grow past their floors to the link's
// bandwidth-delay product (replay/client/link_window.h); with a ceiling at
// the floor they stay there.
#include <functional>
#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "replay/client/sampler.h"
#include "replay/client/writer.h"
#include "replay/testing/test_items.h"
#include "replay/testing/test_server.h"
#include "tests/hosts/fault_proxy.h"

namespace rill::replay {
namespace {

using testing::hosts::FaultProxy;
using testing::hosts::FaultProxyOptions;

// How long a client may take to find its window (it grows within seconds).
constexpr absl::Duration kPatience = absl::Seconds(30);

struct LongLink {
  std::unique_ptr<TestShard> shard;
  std::unique_ptr<FaultProxy> proxy;
};

LongLink StartLongLink() {
  LongLink link;
  absl::StatusOr<std::unique_ptr<TestShard>> shard = TestShard::Start(TestTableConfig(1000000));
  EXPECT_TRUE(shard.ok()) << shard.status();
  if (!shard.ok()) return link;
  link.shard = *std::move(shard);
  FaultProxyOptions options;
  options.target_host = "127.0.0.1";
  options.target_port = link.shard->port();
  options.faults.latency = absl::Milliseconds(25);
  absl::StatusOr<std::unique_ptr<FaultProxy>> proxy = FaultProxy::Create(options);
  EXPECT_TRUE(proxy.ok()) << proxy.status();
  if (proxy.ok()) link.proxy = *std::move(proxy);
  return link;
}

WriterOptions WriterThrough(const FaultProxy& proxy, int64_t max_in_flight_bytes) {
  WriterOptions options;
  options.addresses = {proxy.address()};
  options.table = kTestTable;
  options.signature = TestSignature();
  options.batch_items = 4;
  options.max_in_flight_batches = 2;
  options.max_in_flight_bytes = max_in_flight_bytes;
  options.key_prefix = 3;
  options.first_sequence = 0;
  return options;
}

// Appends batches as fast as the window lets them go until `done` or
// kPatience; returns the batches appended.
int AppendUntil(ReplayWriter& writer, const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + kPatience;
  int batches = 0;
  uint64_t next = 0;
  while (!done() && absl::Now() < deadline) {
    std::vector<uint64_t> keys = {next, next + 1, next + 2, next + 3};
    next += 4;
    const TestItems items = MakeTestItems(keys);
    EXPECT_TRUE(writer.Append(items.columns(), 4).ok());
    ++batches;
  }
  return batches;
}

TEST(ReplayWindowsTest, AWritersWindowGrowsToTheLinksProductAndNoFurther) {
  LongLink link = StartLongLink();
  ASSERT_NE(link.proxy, nullptr);
  absl::StatusOr<std::unique_ptr<ReplayWriter>> writer = ReplayWriter::Create(WriterThrough(*link.proxy, 1 << 20));
  ASSERT_TRUE(writer.ok()) << writer.status();
  const int batches = AppendUntil(**writer, [&] { return (*writer)->window_batches() >= 16; });
  EXPECT_GE((*writer)->window_batches(), 16) << "after " << batches << " batches";
  // Its round trip is the link's: 50 ms and a little more, not the
  // batches queued behind one another.
  EXPECT_GE((*writer)->round_trip(), absl::Milliseconds(50));
  EXPECT_TRUE((*writer)->Flush(absl::Seconds(30)).ok());

  // The same appends with the ceiling at the floor: the window stays.
  absl::StatusOr<std::unique_ptr<ReplayWriter>> fixed = ReplayWriter::Create(WriterThrough(*link.proxy, 0));
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  int appended = 0;
  AppendUntil(**fixed, [&] { return ++appended > batches; });
  EXPECT_EQ((*fixed)->window_batches(), 2);
  EXPECT_TRUE((*fixed)->Flush(absl::Seconds(30)).ok());
}

TEST(ReplayWindowsTest, ASamplersWindowGrowsToTheLinksProductAndNoFurther) {
  LongLink link = StartLongLink();
  ASSERT_NE(link.proxy, nullptr);
  std::vector<uint64_t> keys;
  for (uint64_t k = 0; k < 1000; ++k) keys.push_back(k);
  std::vector<uint64_t> stored;
  ASSERT_TRUE(link.shard->table().Insert(TestInsertRequest(keys), absl::Now() + absl::Seconds(10), &stored).ok());

  auto sampler_with = [&](int64_t max_prefetch_bytes) {
    SamplerOptions options;
    options.addresses = {link.proxy->address()};
    options.table = kTestTable;
    options.batch_size = 16;
    options.prefetch_batches = 2;
    options.max_prefetch_bytes = max_prefetch_bytes;
    absl::StatusOr<std::unique_ptr<ReplaySampler>> sampler = ReplaySampler::Create(options);
    EXPECT_TRUE(sampler.ok()) << sampler.status();
    return sampler.ok() ? *std::move(sampler) : nullptr;
  };
  std::unique_ptr<ReplaySampler> growing = sampler_with(1 << 20);
  ASSERT_NE(growing, nullptr);
  auto window = [](const ReplaySampler& sampler) { return sampler.shard_stats()[0].window_batches; };
  const absl::Time deadline = absl::Now() + kPatience;
  int batches = 0;
  while (window(*growing) < 16 && absl::Now() < deadline) {
    ASSERT_TRUE(growing->Next(absl::Seconds(10)).ok());
    ++batches;
  }
  EXPECT_GE(window(*growing), 16) << "after " << batches << " batches";
  EXPECT_GE(growing->shard_stats()[0].round_trip, absl::Milliseconds(50));

  std::unique_ptr<ReplaySampler> fixed = sampler_with(0);
  ASSERT_NE(fixed, nullptr);
  // A second's worth at 2 batches per round trip: several rate periods.
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(fixed->Next(absl::Seconds(10)).ok());
  EXPECT_EQ(window(*fixed), 2);
}

}  // namespace
}  // namespace rill::replay
