#include "cli/prometheus_server.h"

#include <unistd.h>

#include <filesystem>
#include <optional>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/metrics_scrape.h"
#include "common/os.h"
#include "common/status_macros.h"

namespace rill::cli {
namespace {

constexpr absl::Duration kScrapeTimeout = absl::Seconds(2);

}  // namespace

absl::StatusOr<std::unique_ptr<PrometheusServer>> PrometheusServer::Start(const Options& options) {
  if (access(options.binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--prometheus runs '", options.binary, "', which is missing; install Debian's prometheus package "
        "(apt-get install prometheus, or bash tools/setup.sh)"));
  }
  std::error_code error;
  const std::string assets = std::filesystem::absolute(options.assets, error).lexically_normal().string();
  for (const char* needed : {"rules.yml", "consoles/rill.html", "console_libraries"}) {
    if (!std::filesystem::exists(std::filesystem::path(assets) / needed)) {
      return absl::FailedPreconditionError(absl::StrCat("--prometheus needs '", assets, "/", needed,
                                                        "'; run from the repository root or set --prometheus_assets"));
    }
  }
  const std::string dir = std::filesystem::absolute(options.dir, error).lexically_normal().string();
  std::filesystem::create_directories(dir + "/targets", error);
  if (error) return absl::PermissionDeniedError(absl::StrCat("cannot create '", dir, "/targets': ", error.message()));

  std::unique_ptr<PrometheusServer> server(new PrometheusServer());
  server->options_ = options;
  server->options_.dir = dir;
  server->data_dir_ = dir + "/data";
  for (const char* job : kJobs) {
    RETURN_IF_ERROR(server->SetTargets(job, {}));
  }
  std::string config = absl::StrCat(
      "# Written by `rill launch --prometheus`: every process of this run, one\n"
      "# job per role, targets in targets/<job>.json (rewritten as processes\n"
      "# start and restart).\n"
      "global:\n"
      "  scrape_interval: 1s\n"
      "  scrape_timeout: 1s\n"
      "  evaluation_interval: 1s\n"
      "rule_files:\n"
      "  - ", assets, "/rules.yml\n"
      "scrape_configs:\n");
  for (const char* job : kJobs) {
    absl::StrAppend(&config, "  - job_name: ", job, "\n", "    file_sd_configs:\n", "      - files: ['", dir,
                    "/targets/", job, ".json']\n", "        refresh_interval: 5s\n");
  }
  RETURN_IF_ERROR(WriteFileAtomically(dir + "/prometheus.yml", config));

  // The port is free when picked but may be taken before Prometheus binds
  // it: then it exits at once, and another port is tried.
  constexpr int kAttempts = 3;
  absl::Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(server->port_, PickFreePort());
    ASSIGN_OR_RETURN(server->process_,
                     ChildProcess::StartProgram("prometheus", options.binary,
                                                {
                                                    absl::StrCat("--config.file=", dir, "/prometheus.yml"),
                                                    absl::StrCat("--storage.tsdb.path=", server->data_dir_),
                                                    absl::StrCat("--web.listen-address=127.0.0.1:", server->port_),
                                                    absl::StrCat("--web.console.templates=", assets, "/consoles"),
                                                    absl::StrCat("--web.console.libraries=", assets, "/console_libraries"),
                                                },
                                                options.log_path));
    const absl::Time deadline = absl::Now() + options.start_timeout;
    while (true) {
      std::optional<int> ended = server->process_->Poll();
      if (ended.has_value()) {
        last = absl::UnavailableError(absl::StrCat("prometheus exited before it was ready (",
                                                   ChildProcess::DescribeStatus(*ended), "); its log ends with:\n",
                                                   server->process_->LogTail(10)));
        break;
      }
      absl::StatusOr<MetricSamples> samples = ScrapeMetrics("127.0.0.1", server->port_, kScrapeTimeout);
      if (samples.ok() && SumMetric(*samples, "prometheus_ready") >= 1) return server;
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat("prometheus was not ready within ",
                                                        absl::FormatDuration(options.start_timeout),
                                                        "; its log ends with:\n", server->process_->LogTail(10)));
      }
      // Prometheus tells nothing when it is ready; ask it again shortly.
      absl::SleepFor(absl::Milliseconds(100));
    }
    if (server->process_->LogTail(10).find("address already in use") == std::string::npos) break;
  }
  return last;
}

absl::Status PrometheusServer::SetTargets(const std::string& job, const std::vector<ScrapeTarget>& targets) {
  std::vector<std::string> groups;
  for (const ScrapeTarget& target : targets) {
    groups.push_back(absl::StrFormat("  {\"targets\": [\"127.0.0.1:%d\"], \"labels\": {\"instance\": \"%s\"}}",
                                     target.port, target.instance));
  }
  return WriteFileAtomically(absl::StrCat(options_.dir, "/targets/", job, ".json"),
                             groups.empty() ? "[]\n" : absl::StrCat("[\n", absl::StrJoin(groups, ",\n"), "\n]\n"));
}

void PrometheusServer::Stop(absl::Duration grace) {
  // SIGTERM: Prometheus writes out its head block and exits; SIGKILL after
  // `grace`.
  if (process_ != nullptr && process_->running()) process_->Stop(grace);
}

}  // namespace rill::cli
