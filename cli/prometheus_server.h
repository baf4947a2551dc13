// The Prometheus side process of `rill launch --prometheus`.
#ifndef RILL_CLI_PROMETHEUS_SERVER_H_
#define RILL_CLI_PROMETHEUS_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/child_process.h"

namespace rill::cli {

// One scrape target of the run: a process's /metrics port and the instance
// label it goes by ("actor-0", "replay-1", "learner").
struct ScrapeTarget {
  std::string instance;
  int port = 0;
};

// The Prometheus server of `rill launch --prometheus`: Debian's
// /usr/bin/prometheus as a child process on a free local port, scraping
// every process of the run each second. Its config
// (<dir>/prometheus.yml) has one job per role (replay, learner, actor,
// evaluator) whose targets come from <dir>/targets/<job>.json, which
// SetTargets rewrites whenever a process starts or restarts on new ports;
// Prometheus re-reads those files by itself. It loads the recording rules and
// alerts of <assets>/rules.yml and serves the console dashboard
// <assets>/consoles/rill.html. Its data stays in <dir>/data after Stop.
// Not thread-safe: the launcher's supervising thread owns it.
class PrometheusServer {
 public:
  static constexpr const char* kJobs[] = {"replay", "learner", "inference", "actor", "evaluator"};

  struct Options {
    std::string binary;  // the prometheus executable
    std::string assets;  // folder with rules.yml, consoles/, console_libraries/
    std::string dir;     // <run_dir>/prometheus
    std::string log_path;
    absl::Duration start_timeout;
  };

  // Writes the config and starts Prometheus; blocks until it reports ready
  // (its prometheus_ready gauge reads 1) or `start_timeout` passes.
  // FailedPrecondition if the binary or an asset is missing, Unavailable if
  // it exits before it is ready (with its log's tail), DeadlineExceeded.
  static absl::StatusOr<std::unique_ptr<PrometheusServer>> Start(const Options& options);

  ~PrometheusServer() { Stop(absl::Seconds(30)); }

  // Replaces the targets of `job` (one of kJobs). PermissionDenied if the
  // targets file cannot be written.
  absl::Status SetTargets(const std::string& job, const std::vector<ScrapeTarget>& targets);

  // SIGTERM (Prometheus then writes out its head block and exits), up to
  // `grace`, then SIGKILL. Returns once the process has ended; a no-op after
  // the first call.
  void Stop(absl::Duration grace);

  int port() const { return port_; }
  std::string DashboardUrl() const { return absl::StrCat("http://127.0.0.1:", port_, "/consoles/rill.html"); }
  const std::string& data_dir() const { return data_dir_; }

 private:
  PrometheusServer() = default;

  Options options_;
  std::string data_dir_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace rill::cli

#endif  // RILL_CLI_PROMETHEUS_SERVER_H_
