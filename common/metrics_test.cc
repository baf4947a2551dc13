#include "common/metrics.h"

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "common/metrics_scrape.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(MetricsServerTest, WritesTheRegistrysFinalValuesWhenDestroyed) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/final.prom";
  absl::StatusOr<std::unique_ptr<MetricsServer>> server = MetricsServer::Create("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  prometheus::Counter& updates =
      prometheus::BuildCounter().Name("rill_test_updates_total").Help("Updates").Register((*server)->registry()).Add({});
  (*server)->set_final_snapshot_path(path);
  updates.Increment(41);
  // Counted after the last scrape could have seen it, before the end.
  updates.Increment();
  EXPECT_FALSE(std::ifstream(path).good());  // nothing before the end
  server->reset();
  std::ifstream in(path);
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  const MetricSamples samples = ParseMetricsText(text.str());
  EXPECT_EQ(SumMetric(samples, "rill_test_updates_total"), 42);
  EXPECT_TRUE(HasMetric(samples, "process_cpu_seconds_total"));
}

TEST(MetricsServerTest, ServesLabelledRegistriesAsOneFamilyPerName) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> server = MetricsServer::Create("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  for (const auto& [policy, updates] : {std::pair<std::string, double>{"red", 3}, {"blue", 5}}) {
    auto registry = std::make_shared<prometheus::Registry>();
    prometheus::BuildCounter().Name("rill_test_updates_total").Help("Updates").Register(*registry).Add({}).Increment(updates);
    (*server)->AddLabelledRegistry(registry, {{"policy", policy}});
  }
  absl::StatusOr<MetricSamples> samples = ScrapeMetrics("127.0.0.1", (*server)->port(), absl::Seconds(5));
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_EQ(samples->at("rill_test_updates_total{policy=\"red\"}"), 3);
  EXPECT_EQ(samples->at("rill_test_updates_total{policy=\"blue\"}"), 5);
  EXPECT_TRUE(HasMetric(*samples, "process_cpu_seconds_total"));
}

}  // namespace
}  // namespace rill
