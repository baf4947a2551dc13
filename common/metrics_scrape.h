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

// Quantile `q` (0..1) of histogram `name`'s series whose labels contain
// `label` (e.g. method="Insert"; "" for all of them, summed per bucket),
// read from its cumulative buckets as Prometheus's histogram_quantile does:
// linear within the bucket that holds it. -1 without observations.
// `bucket_bound`, if given, receives that bucket's upper bound: the true
// quantile is at most that, whatever the interpolation says.
double HistogramQuantile(const MetricSamples& samples, const std::string& name, const std::string& label, double q,
                         double* bucket_bound = nullptr);

}  // namespace rill

#endif  // RILL_COMMON_METRICS_SCRAPE_H_
