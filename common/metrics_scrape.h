// Reads a Prometheus text exposition over HTTP: what the launcher and the
// integration tests use to watch the processes they start, through the same
// /metrics endpoint a Prometheus server scrapes.
#ifndef RILL_COMMON_METRICS_SCRAPE_H_
#define RILL_COMMON_METRICS_SCRAPE_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace rill {

// Series name with its labels as written ("rill_x_total{table=\"t\"}") -> value.
using MetricSamples = std::map<std::string, double>;

// GET http://HOST:PORT/metrics; Unavailable if it cannot connect, DeadlineExceeded
// after `timeout`.
absl::StatusOr<MetricSamples> ScrapeMetrics(const std::string& host, int port, absl::Duration timeout);

// Parses the text format (comments skipped).
MetricSamples ParseMetricsText(const std::string& text);

// Sum of every series of metric `name` (any labels); 0 if there is none.
double SumMetric(const MetricSamples& samples, const std::string& name);

// Whether any series of `name` exists.
bool HasMetric(const MetricSamples& samples, const std::string& name);

}  // namespace rill

#endif  // RILL_COMMON_METRICS_SCRAPE_H_
