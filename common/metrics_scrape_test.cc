#include "common/metrics_scrape.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/metrics.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(MetricsScrapeTest, ReadsCountersAndGaugesFromARealExposer) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> server = MetricsServer::Create("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  auto& family = prometheus::BuildCounter().Name("rill_test_items_total").Help("h").Register((*server)->registry());
  family.Add({{"table", "a"}}).Increment(3);
  family.Add({{"table", "b"}}).Increment(4);
  prometheus::BuildGauge().Name("rill_test_size").Help("h").Register((*server)->registry()).Add({}).Set(-2.5);

  absl::StatusOr<MetricSamples> samples = ScrapeMetrics("127.0.0.1", (*server)->port(), absl::Seconds(5));
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_DOUBLE_EQ(SumMetric(*samples, "rill_test_items_total"), 7);
  EXPECT_DOUBLE_EQ(SumMetric(*samples, "rill_test_size"), -2.5);
  EXPECT_TRUE(HasMetric(*samples, "rill_test_size"));
  EXPECT_FALSE(HasMetric(*samples, "rill_test_si"));
}

TEST(MetricsScrapeTest, ClosedPortIsUnavailable) {
  int port = 0;
  {
    absl::StatusOr<std::unique_ptr<MetricsServer>> server = MetricsServer::Create("127.0.0.1:0");
    ASSERT_TRUE(server.ok());
    port = (*server)->port();
  }
  EXPECT_EQ(ScrapeMetrics("127.0.0.1", port, absl::Seconds(2)).status().code(), absl::StatusCode::kUnavailable);
}

// A real exposer's histogram, read back as histogram_quantile reads it.
TEST(MetricsScrapeTest, HistogramQuantileInterpolatesWithinTheBucket) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> server = MetricsServer::Create("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  auto& family = prometheus::BuildHistogram().Name("rill_test_seconds").Help("h").Register((*server)->registry());
  prometheus::Histogram& insert = family.Add({{"method", "Insert"}}, prometheus::Histogram::BucketBoundaries{1, 2, 4});
  prometheus::Histogram& sample = family.Add({{"method", "Sample"}}, prometheus::Histogram::BucketBoundaries{1, 2, 4});
  // Insert: 10 observations in (0, 1], 10 in (2, 4]. Sample: 4 past 4.
  for (int i = 0; i < 10; ++i) insert.Observe(0.5);
  for (int i = 0; i < 10; ++i) insert.Observe(3);
  for (int i = 0; i < 4; ++i) sample.Observe(9);

  absl::StatusOr<MetricSamples> samples = ScrapeMetrics("127.0.0.1", (*server)->port(), absl::Seconds(5));
  ASSERT_TRUE(samples.ok()) << samples.status();
  double bound = 0;
  // Rank 5 of 20: halfway into (0, 1].
  EXPECT_DOUBLE_EQ(HistogramQuantile(*samples, "rill_test_seconds", "method=\"Insert\"", 0.25, &bound), 0.5);
  EXPECT_DOUBLE_EQ(bound, 1);
  // Rank 15: halfway into (2, 4] (the empty (1, 2] adds nothing).
  EXPECT_DOUBLE_EQ(HistogramQuantile(*samples, "rill_test_seconds", "method=\"Insert\"", 0.75, &bound), 3);
  EXPECT_DOUBLE_EQ(bound, 4);
  // Past the last finite bound: that bound, and +Inf as the bucket's.
  EXPECT_DOUBLE_EQ(HistogramQuantile(*samples, "rill_test_seconds", "method=\"Sample\"", 0.5, &bound), 4);
  EXPECT_TRUE(std::isinf(bound));
  // Both series summed per bucket: 24 observations, rank 12 in (2, 4].
  EXPECT_DOUBLE_EQ(HistogramQuantile(*samples, "rill_test_seconds", "", 0.5), 2.4);
  EXPECT_EQ(HistogramQuantile(*samples, "rill_test_seconds", "method=\"Info\"", 0.5), -1);
  EXPECT_EQ(HistogramQuantile(*samples, "rill_missing_seconds", "", 0.5), -1);
}

TEST(MetricsScrapeTest, SumMetricDoesNotMatchLongerNames) {
  MetricSamples samples = ParseMetricsText("# HELP x\nrill_a 1\nrill_ab 5\nrill_a{x=\"1\"} 2\n");
  EXPECT_DOUBLE_EQ(SumMetric(samples, "rill_a"), 3);
}

}  // namespace
}  // namespace rill

namespace rill {
namespace {

TEST(MetricsServerTest, UnknownPathIsNotFoundAndTheServerKeepsServing) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> server = MetricsServer::Create("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  prometheus::BuildGauge().Name("rill_test_up").Help("h").Register((*server)->registry()).Add({}).Set(1);
  // ScrapeMetrics asks for /metrics; a request for another path is refused.
  MetricSamples before = *ScrapeMetrics("127.0.0.1", (*server)->port(), absl::Seconds(5));
  EXPECT_DOUBLE_EQ(SumMetric(before, "rill_test_up"), 1);
  EXPECT_EQ(MetricsServer::Create("127.0.0.1:not-a-port").status().code(), absl::StatusCode::kInvalidArgument);
  MetricSamples after = *ScrapeMetrics("127.0.0.1", (*server)->port(), absl::Seconds(5));
  EXPECT_DOUBLE_EQ(SumMetric(after, "rill_test_up"), 1);
}

// The standard process metrics describe this very process.
TEST(MetricsServerTest, ServesTheProcessMetricsOfThisProcess) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> server = MetricsServer::Create("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  // 64 MiB touched: the resident size must include them.
  std::vector<char> ballast(64 << 20, 1);
  const double now = absl::ToUnixSeconds(absl::Now());
  MetricSamples samples = *ScrapeMetrics("127.0.0.1", (*server)->port(), absl::Seconds(5));
  EXPECT_GT(SumMetric(samples, "process_resident_memory_bytes"), 64.0 * (1 << 20));
  EXPECT_GE(SumMetric(samples, "process_virtual_memory_bytes"), SumMetric(samples, "process_resident_memory_bytes"));
  const double start = SumMetric(samples, "process_start_time_seconds");
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 3600);  // this test binary started within the hour
  EXPECT_GE(SumMetric(samples, "process_open_fds"), 3);  // stdin, stdout, stderr, the listening socket
  EXPECT_GE(SumMetric(samples, "process_max_fds"), SumMetric(samples, "process_open_fds"));
  EXPECT_TRUE(HasMetric(samples, "process_cpu_seconds_total"));
  EXPECT_GT(ballast[12345], 0);
}

TEST(MetricsServerTest, PortInUseIsUnavailable) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> first = MetricsServer::Create("127.0.0.1:0");
  ASSERT_TRUE(first.ok());
  absl::StatusOr<std::unique_ptr<MetricsServer>> second =
      MetricsServer::Create("127.0.0.1:" + std::to_string((*first)->port()));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace rill
