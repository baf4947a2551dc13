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

#include "absl/status/statusor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace rill {

class MetricsServer {
 public:
  // `address` is "HOST:PORT". Unavailable if the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Create(const std::string& address);

  ~MetricsServer();

  int port() const { return port_; }
  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }

 private:
  MetricsServer() = default;
  void Serve();
  void Answer(int connection);
  // The standard process_* metrics (CPU seconds, resident and virtual
  // memory, start time, open and maximum file descriptors), read from
  // /proc/self at each scrape.
  void RegisterProcessMetrics();
  void UpdateProcessMetrics();

  std::shared_ptr<prometheus::Registry> registry_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
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
