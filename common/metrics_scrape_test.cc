#include "common/metrics_scrape.h"

#include "absl/strings/str_cat.h"
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

TEST(MetricsServerTest, PortInUseIsUnavailable) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> first = MetricsServer::Create("127.0.0.1:0");
  ASSERT_TRUE(first.ok());
  absl::StatusOr<std::unique_ptr<MetricsServer>> second =
      MetricsServer::Create("127.0.0.1:" + std::to_string((*first)->port()));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace rill
