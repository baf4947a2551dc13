// One Prometheus endpoint per process. Create binds the HTTP port (port 0
// picks a free one; port() says which) and a thread serves GET /metrics in
// the text format from the registry every component adds its families to.
// Rill serves HTTP itself (a few dozen lines over one socket) rather than
// through prometheus-cpp's civetweb exposer, which on Debian 12 refuses to
// start inside a process that also loads LibTorch and gRPC ("null context
// when constructing CivetServer"). Thread-safe: prometheus-cpp metrics may be
// updated from any thread; the destructor stops and joins the server thread.
#ifndef RILL_COMMON_METRICS_H_
#define RILL_COMMON_METRICS_H_

#include <memory>
#include <string>
#include <thread>
#include <atomic>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace rill {

class MetricsServer {
 public:
  // `address` is "HOST:PORT". Unavailable if the port cannot be bound (a
  // port other than 0 that is in use is tried again for 3 s first).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Create(const std::string& address);

  ~MetricsServer();

  int port() const { return port_; }
  prometheus::Registry& registry() { return *registry_; }

  // Where the destructor writes the registry's final values, in the text
  // format /metrics serves (to PATH.tmp, then renamed: a reader finds all
  // of it or nothing); empty, the default, writes nothing. A role's main
  // destroys its MetricsServer after the components that count into it
  // have stopped, so the file holds the process's own last figures, which
  // a supervisor (`rill launch`) reads once the process has ended: a
  // scrape before the end misses what the process did while it stopped.
  void set_final_snapshot_path(std::string path) { final_snapshot_path_ = std::move(path); }
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }

  // Also serves `registry`'s series, each with `labels` added (the learner
  // process's policies: every series of one policy's learner state labelled
  // policy="<name>"). A family of the same name in several registries is
  // served as one.
  void AddLabelledRegistry(std::shared_ptr<prometheus::Registry> registry,
                           std::vector<prometheus::ClientMetric::Label> labels) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  std::vector<prometheus::MetricFamily> Collect() const ABSL_LOCKS_EXCLUDED(mu_);
  MetricsServer() = default;
  void Serve();
  void Answer(int connection);
  // The standard process_* metrics (CPU seconds, resident and virtual
  // memory, start time, open and maximum file descriptors), read from
  // /proc/self at each scrape.
  void RegisterProcessMetrics();
  void UpdateProcessMetrics();
  void WriteFinalSnapshot();

  std::shared_ptr<prometheus::Registry> registry_;
  struct Labelled {
    std::shared_ptr<prometheus::Registry> registry;
    std::vector<prometheus::ClientMetric::Label> labels;
  };
  mutable absl::Mutex mu_;
  std::vector<Labelled> labelled_ ABSL_GUARDED_BY(mu_);
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::string final_snapshot_path_;
  struct ProcessMetrics {
    prometheus::Counter* cpu_seconds = nullptr;
    double cpu_seconds_seen = 0;
    prometheus::Gauge* resident_memory_bytes = nullptr;
    prometheus::Gauge* virtual_memory_bytes = nullptr;
    prometheus::Gauge* start_time_seconds = nullptr;
    prometheus::Gauge* open_fds = nullptr;
    prometheus::Gauge* max_fds = nullptr;
  } process_;
};

// Latency buckets in seconds, 50 us .. 10 s, for RPC and step histograms.
prometheus::Histogram::BucketBoundaries LatencyBuckets();

}  // namespace rill

#endif  // RILL_COMMON_METRICS_H_
