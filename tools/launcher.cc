#include "tools/launcher.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/flags.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/metrics_scrape.h"
#include "common/process.h"
#include "common/role.h"
#include "common/status_macros.h"
#include "common/tls.h"
#include "tools/child_process.h"
#include "tools/throwaway_tls.h"

ABSL_FLAG(int32_t, num_actors, -1, "Actors to start; -1 uses the config's topology.num_actors.");
ABSL_FLAG(int64_t, max_env_steps, -1, "Stop after this many env steps over all actors; -1 uses the config.");
ABSL_FLAG(std::string, summary_json, "", "Write the run's summary JSON here at the end.");
ABSL_FLAG(std::string, run_dir, "", "Folder for logs and checkpoints; default .rill-runs/<name>-<time>.");
ABSL_FLAG(absl::Duration, progress_every, absl::Seconds(5), "Interval between progress lines.");
ABSL_FLAG(absl::Duration, start_timeout, absl::Seconds(60), "How long each process may take to become ready.");
ABSL_FLAG(int32_t, max_actor_restarts, 5, "Restarts allowed per actor before the run fails.");
ABSL_FLAG(int32_t, num_replay_shards, -1, "Replay shards to start; -1 uses the config's topology.num_replay_shards.");
ABSL_FLAG(int32_t, max_replay_restarts, 5, "Restarts allowed per replay shard before the run fails.");
ABSL_FLAG(int32_t, max_learner_restarts, 5,
          "Restarts allowed to the learner (and to the evaluator) before the run fails; a restarted learner resumes "
          "from its last checkpoint.");
ABSL_FLAG(bool, prometheus, false,
          "Also run Debian's Prometheus on a free local port, scraping every process each second with the rules and "
          "console dashboard of --prometheus_assets; its data stays in <run_dir>/prometheus/data.");
ABSL_FLAG(std::string, prometheus_binary, "/usr/bin/prometheus", "The Prometheus server --prometheus runs.");
ABSL_FLAG(std::string, prometheus_assets, "deploy/prometheus",
          "Folder with rules.yml, consoles/ and console_libraries/ for --prometheus.");
ABSL_FLAG(absl::Duration, prometheus_linger, absl::ZeroDuration(),
          "With --prometheus: how long Prometheus keeps serving the dashboard after the run's processes have "
          "stopped (Ctrl-C ends it sooner).");
ABSL_FLAG(bool, tls, false,
          "Mutual TLS between the run's processes with a throwaway CA and certificate made in <run_dir>/tls by "
          "--openssl_binary (the CA's key is deleted once it has signed). For your own files give --tls_cert, "
          "--tls_key and --tls_ca instead; the launcher passes them to every process.");
ABSL_FLAG(std::string, openssl_binary, "/usr/bin/openssl", "The openssl command --tls runs (Debian's openssl package).");
ABSL_FLAG(std::string, plot_python, "/usr/bin/python3",
          "Python with matplotlib that draws the run's plots into <run_dir>/plots at the end; empty writes only "
          "the metric history's CSVs there.");

namespace rill::tools {

// tools/plot_run.py, embedded by //tools:plot_run_embedded.
extern const char kPlotRunScript[];

namespace {

constexpr absl::Duration kTick = absl::Milliseconds(250);
constexpr absl::Duration kScrapeTimeout = absl::Seconds(2);

struct Role {
  std::unique_ptr<ChildProcess> process;
  std::vector<std::string> args;
  std::string log_path;
  int grpc_port = 0;
  int metrics_port = 0;
  // Actors: this actor's step budget, steps done by earlier incarnations and
  // by the current one (last scrape), restarts so far.
  int64_t budget = 0;
  int64_t earlier_steps = 0;
  int64_t current_steps = 0;
  int restarts = 0;
  bool finished = false;
};

// Pins a restarting process to the ports its previous incarnation had, so
// that its peers find it again at the address they were given.
void PinPorts(Role& role) {
  for (std::string& arg : role.args) {
    if (absl::StartsWith(arg, "--port=")) arg = absl::StrCat("--port=", role.grpc_port);
    if (absl::StartsWith(arg, "--metrics_port=")) arg = absl::StrCat("--metrics_port=", role.metrics_port);
  }
}

std::string SelfBinary() {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string("rill") : self.string();
}

absl::Status StartRole(const std::string& name, Role& role) {
  RILL_LOG(INFO) << "starting " << name;
  auto child = ChildProcess::Start(name, SelfBinary(), role.args, role.log_path);
  if (!child.ok()) return child.status();
  role.process = std::move(*child);
  auto ports = role.process->WaitReady(absl::GetFlag(FLAGS_start_timeout));
  if (!ports.ok()) return ports.status();
  role.grpc_port = (*ports)["grpc_port"];
  role.metrics_port = (*ports)["metrics_port"];
  if (role.grpc_port > 0) {
    auto channel = MakeChannel(absl::StrCat("127.0.0.1:", role.grpc_port), 1 << 20);
    absl::Status health = CheckHealth(*channel, absl::Seconds(10));
    if (!health.ok()) return absl::UnavailableError(absl::StrCat(name, " is not healthy: ", health.message()));
  }
  return absl::OkStatus();
}

MetricSamples Scrape(const Role& role) {
  if (role.metrics_port <= 0 || role.process == nullptr) return {};
  absl::StatusOr<MetricSamples> samples = ScrapeMetrics("127.0.0.1", role.metrics_port, kScrapeTimeout);
  return samples.ok() ? *samples : MetricSamples{};
}

std::string FormatCount(double value) {
  std::string digits = absl::StrFormat("%.0f", value);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count > 0 && count % 3 == 0 && *it != '-') out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return out;
}

// A free TCP port on 127.0.0.1 right now: bound with port 0, read back, and
// closed again. Another process may take it before Prometheus binds it; the
// caller retries then.
absl::StatusOr<int> PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string error = strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("no free local port: ", error));
  }
  close(fd);
  return static_cast<int>(ntohs(address.sin_port));
}

// Writes `text` to `path` through a temporary file and a rename, so that a
// reader (Prometheus' file discovery) never sees half a file.
absl::Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write '", temporary, "'"));
    out << text;
    if (!out.flush()) return absl::DataLossError(absl::StrCat("cannot write '", temporary, "'"));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return absl::PermissionDeniedError(absl::StrCat("cannot rename to '", path, "': ", error.message()));
  return absl::OkStatus();
}

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

// The run's metric history: what the launcher scrapes for its progress lines,
// kept in memory and written at the end as <run_dir>/plots/history.csv and
// eval.csv, from which tools/plot_run.py draws the run's plots. Not
// thread-safe: the launcher's supervising thread owns it.
class RunHistory {
 public:
  struct Progress {
    double seconds = 0;  // since the launcher started
    int64_t env_steps = 0;
    double learner_updates = 0;
    // Over the interval since the previous row (since the start for the
    // first).
    double env_steps_per_second = 0;
    double updates_per_second = 0;
  };
  struct Evaluation {
    double seconds = 0;  // when the launcher first saw the round finished
    int64_t env_steps = 0;
    double learner_updates = 0;
    double parameter_version = 0;
    double return_mean = 0;
  };

  // Appends a row; a row within a millisecond of the previous one replaces
  // it, so that times strictly increase. Returns the row.
  const Progress& AddProgress(absl::Duration since_start, int64_t env_steps, double learner_updates);

  // Appends the evaluator's round number `round` (its rill_eval_rounds_total)
  // when it is new. The same round read again with other figures (a scrape
  // between the evaluator's updates of its gauges) corrects the last row's
  // figures and keeps its time.
  void AddEvaluation(double round, const Evaluation& evaluation);

  // Writes <dir>/history.csv and <dir>/eval.csv (headers always), creating
  // `dir`. PermissionDenied if a file cannot be written.
  absl::Status WriteCsv(const std::string& dir) const;

 private:
  std::vector<Progress> progress_;
  std::vector<Evaluation> evaluations_;
  double last_round_ = 0;
};

const RunHistory::Progress& RunHistory::AddProgress(absl::Duration since_start, int64_t env_steps,
                                                    double learner_updates) {
  const double seconds = absl::ToDoubleSeconds(since_start);
  if (!progress_.empty() && seconds - progress_.back().seconds < 1e-3) progress_.pop_back();
  const Progress previous = progress_.empty() ? Progress{} : progress_.back();
  const double interval = std::max(1e-3, seconds - previous.seconds);
  Progress row;
  row.seconds = seconds;
  row.env_steps = env_steps;
  row.learner_updates = learner_updates;
  row.env_steps_per_second = static_cast<double>(env_steps - previous.env_steps) / interval;
  row.updates_per_second = (learner_updates - previous.learner_updates) / interval;
  progress_.push_back(row);
  return progress_.back();
}

void RunHistory::AddEvaluation(double round, const Evaluation& evaluation) {
  if (round <= 0) return;
  if (!evaluations_.empty() && round == last_round_) {
    evaluations_.back().parameter_version = evaluation.parameter_version;
    evaluations_.back().return_mean = evaluation.return_mean;
    return;
  }
  last_round_ = round;
  evaluations_.push_back(evaluation);
}

absl::Status RunHistory::WriteCsv(const std::string& dir) const {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::PermissionDeniedError(absl::StrCat("cannot create '", dir, "': ", error.message()));
  std::string history = "seconds,env_steps,learner_updates,env_steps_per_second,updates_per_second\n";
  for (const Progress& row : progress_) {
    absl::StrAppendFormat(&history, "%.3f,%d,%.0f,%.3f,%.3f\n", row.seconds, row.env_steps, row.learner_updates,
                          row.env_steps_per_second, row.updates_per_second);
  }
  RETURN_IF_ERROR(WriteFileAtomically(dir + "/history.csv", history));
  std::string eval = "seconds,env_steps,learner_updates,parameter_version,return_mean\n";
  for (const Evaluation& row : evaluations_) {
    absl::StrAppendFormat(&eval, "%.3f,%d,%.0f,%.0f,%.6f\n", row.seconds, row.env_steps, row.learner_updates,
                          row.parameter_version, row.return_mean);
  }
  return WriteFileAtomically(dir + "/eval.csv", eval);
}

// Runs `binary args...` to its end as a ChildProcess (own process group,
// parent-death signal, output appended to `log_path`). Blocks until it ends
// or `timeout` passes (then SIGTERM and SIGKILL); returns its wait status.
// Internal if fork fails, PermissionDenied if the log cannot be opened.
absl::StatusOr<int> RunToEnd(const std::string& binary, const std::vector<std::string>& args,
                             const std::string& log_path, absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> child,
                   ChildProcess::StartProgram(binary, binary, args, log_path));
  std::optional<int> status = child->WaitExit(timeout);
  return status.has_value() ? *status : child->Stop(absl::ZeroDuration());
}

class Launch {
 public:
  Launch(v1::ExperimentConfig config, std::string run_dir) : config_(std::move(config)), run_dir_(std::move(run_dir)) {}
  int Run(absl::Notification& stop);

 private:
  std::vector<std::string> CommonArgs() const {
    std::vector<std::string> args = {absl::StrCat("--config=", absl::GetFlag(FLAGS_config)),
                                     absl::StrCat("--seed=", config_.seed()), "--host=127.0.0.1", "--port=0",
                                     "--metrics_port=0"};
    // Every process serves and dials with the launcher's TLS files (set by
    // SetUpTls; all empty for plain text).
    const TlsFiles tls = TlsFilesFromFlags();
    if (!tls.empty()) {
      args.push_back(absl::StrCat("--tls_cert=", tls.cert));
      args.push_back(absl::StrCat("--tls_key=", tls.key));
      args.push_back(absl::StrCat("--tls_ca=", tls.ca));
    }
    return args;
  }
  int64_t EnvSteps() const {
    int64_t total = 0;
    for (const Role& actor : actors_) total += actor.earlier_steps + actor.current_steps;
    return total;
  }
  // StartRole, then (with --prometheus) tells Prometheus the new ports.
  absl::Status Start(const std::string& name, Role& role);
  // Rewrites Prometheus' targets from every process's current metrics port.
  void UpdatePrometheusTargets();
  // With --prometheus_linger, keeps the dashboard up a while after the run;
  // then stops Prometheus.
  void StopPrometheus(absl::Notification& stop);
  void RefreshActorSteps();
  // Restarts a replay shard that ended, on its old ports so that the
  // actors' writers and the learner's sampler find it again.
  absl::Status SuperviseReplay();
  // Restarts the learner or the evaluator when it ended, on its old ports:
  // the learner resumes from its checkpoint; actors and replay keep running
  // and the actors' parameter subscriptions reconnect.
  absl::Status SuperviseCore(Role& role);
  void RefreshLearner(const MetricSamples& learner);
  // Reads the evaluator's latest round, if it has finished one.
  void RefreshEval();
  absl::Status SuperviseActors();
  void PrintProgress();
  void FinalEvaluation();
  void StopAll();
  struct PlotFiles {
    std::vector<std::string> csvs;  // the metric history
    std::vector<std::string> pngs;  // drawn from it
  };
  // Writes the metric history's CSVs into <run_dir>/plots and draws the
  // plots there with --plot_python. Without Python or matplotlib (or if
  // drawing fails) prints one line why and returns no PNGs.
  PlotFiles WritePlots();
  absl::Status WriteSummary(const std::string& path, const PlotFiles& plots);

  v1::ExperimentConfig config_;
  std::string run_dir_;
  std::vector<Role> replays_;
  Role learner_, evaluator_;
  // topology.num_inference_servers `rill inference` processes (central
  // inference outside the learner); none otherwise.
  std::vector<Role> inference_;
  std::vector<Role> actors_;
  std::unique_ptr<PrometheusServer> prometheus_;  // with --prometheus
  absl::Time start_ = absl::Now();
  absl::Time last_progress_ = absl::Now();
  RunHistory history_;
  double learner_updates_ = 0;
  // Central inference: the learner's batch counters (rows and batches so
  // far), and what the last progress line had seen of them.
  double inference_rows_ = 0, inference_batches_ = 0;
  double inference_rows_shown_ = 0, inference_batches_shown_ = 0;
  double eval_return_ = 0;
  double eval_episodes_ = 0;
  double eval_version_ = 0;
  bool have_eval_ = false;
  absl::Time end_;
};

absl::Status Launch::Start(const std::string& name, Role& role) {
  absl::Status started = StartRole(name, role);
  UpdatePrometheusTargets();
  return started;
}

void Launch::UpdatePrometheusTargets() {
  if (prometheus_ == nullptr) return;
  std::map<std::string, std::vector<ScrapeTarget>> jobs;
  auto add = [&](const char* job, std::string instance, const Role& role) {
    if (role.process != nullptr && role.metrics_port > 0) jobs[job].push_back({std::move(instance), role.metrics_port});
  };
  for (size_t i = 0; i < replays_.size(); ++i) add("replay", absl::StrCat("replay-", i), replays_[i]);
  add("learner", "learner", learner_);
  for (size_t i = 0; i < inference_.size(); ++i) add("inference", absl::StrCat("inference-", i), inference_[i]);
  for (size_t i = 0; i < actors_.size(); ++i) add("actor", absl::StrCat("actor-", i), actors_[i]);
  add("evaluator", "evaluator", evaluator_);
  for (const char* job : PrometheusServer::kJobs) {
    absl::Status written = prometheus_->SetTargets(job, jobs[job]);
    if (!written.ok()) RILL_LOG(WARNING) << "prometheus targets of " << job << ": " << written.message();
  }
}

void Launch::StopPrometheus(absl::Notification& stop) {
  if (prometheus_ == nullptr) return;
  const absl::Duration linger = absl::GetFlag(FLAGS_prometheus_linger);
  if (linger > absl::ZeroDuration() && !stop.HasBeenNotified()) {
    std::printf("prometheus keeps serving %s for %s (Ctrl-C ends it)\n", prometheus_->DashboardUrl().c_str(),
                absl::FormatDuration(linger).c_str());
    std::fflush(stdout);
    stop.WaitForNotificationWithTimeout(linger);
  }
  prometheus_->Stop(absl::Seconds(30));
  std::printf("prometheus stopped; its data stays in %s\n", prometheus_->data_dir().c_str());
  std::fflush(stdout);
  prometheus_.reset();
}

void Launch::RefreshActorSteps() {
  for (Role& actor : actors_) {
    if (actor.process == nullptr || actor.finished) continue;
    MetricSamples samples = Scrape(actor);
    if (HasMetric(samples, "rill_actor_env_steps_total")) {
      actor.current_steps = static_cast<int64_t>(SumMetric(samples, "rill_actor_env_steps_total"));
    }
  }
}

absl::Status Launch::SuperviseReplay() {
  for (size_t i = 0; i < replays_.size(); ++i) {
    Role& shard = replays_[i];
    std::optional<int> status = shard.process->Poll();
    if (!status.has_value()) continue;
    const std::string name = absl::StrCat("replay/", i);
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == kExitBadInput) {
      return absl::InvalidArgumentError(absl::StrCat(name, " rejected its input (", ChildProcess::DescribeStatus(*status),
                                                     "):\n", shard.process->LogTail(10)));
    }
    if (shard.restarts >= absl::GetFlag(FLAGS_max_replay_restarts)) {
      return absl::AbortedError(absl::StrCat(name, " ended ", shard.restarts + 1, " times; last: ",
                                             ChildProcess::DescribeStatus(*status), "\n", shard.process->LogTail(10)));
    }
    ++shard.restarts;
    RILL_LOG(WARNING) << name << " ended (" << ChildProcess::DescribeStatus(*status) << "); restarting it (restart "
                      << shard.restarts << ") on port " << shard.grpc_port
                      << "; the actors write to the other shards meanwhile";
    std::printf("%s ended (%s); restarting it on port %d\n", name.c_str(),
                ChildProcess::DescribeStatus(*status).c_str(), shard.grpc_port);
    std::fflush(stdout);
    PinPorts(shard);
    absl::Status started = Start(name, shard);
    if (!started.ok()) return started;
  }
  return absl::OkStatus();
}

absl::Status Launch::SuperviseCore(Role& role) {
  std::optional<int> status = role.process->Poll();
  if (!status.has_value()) return absl::OkStatus();
  const std::string name = role.process->name();
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == kExitBadInput) {
    return absl::InvalidArgumentError(absl::StrCat(name, " rejected its input (", ChildProcess::DescribeStatus(*status),
                                                   "):\n", role.process->LogTail(15)));
  }
  if (role.restarts >= absl::GetFlag(FLAGS_max_learner_restarts)) {
    return absl::AbortedError(absl::StrCat(name, " ended ", role.restarts + 1, " times; last: ",
                                           ChildProcess::DescribeStatus(*status), "; its log ends with:\n",
                                           role.process->LogTail(15)));
  }
  ++role.restarts;
  RILL_LOG(WARNING) << name << " ended (" << ChildProcess::DescribeStatus(*status) << "); restarting it (restart "
                    << role.restarts << ") on port " << role.grpc_port;
  std::printf("%s ended (%s); restarting it on port %d%s\n", name.c_str(), ChildProcess::DescribeStatus(*status).c_str(),
              role.grpc_port, &role == &learner_ ? "; it resumes from its last checkpoint" : "");
  std::fflush(stdout);
  PinPorts(role);
  return Start(name, role);
}

absl::Status Launch::SuperviseActors() {
  for (size_t i = 0; i < actors_.size(); ++i) {
    Role& actor = actors_[i];
    if (actor.finished) continue;
    std::optional<int> status = actor.process->Poll();
    if (!status.has_value()) continue;
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) {
      // A clean exit means its step budget is spent; count it exactly.
      actor.current_steps = actor.budget - actor.earlier_steps;
      actor.finished = true;
      continue;
    }
    const std::string name = absl::StrCat("actor/", i);
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == kExitBadInput) {
      return absl::InvalidArgumentError(absl::StrCat(name, " rejected its input (", ChildProcess::DescribeStatus(*status),
                                                     "):\n", actor.process->LogTail(10)));
    }
    if (actor.restarts >= absl::GetFlag(FLAGS_max_actor_restarts)) {
      return absl::AbortedError(absl::StrCat(name, " crashed ", actor.restarts + 1, " times; last: ",
                                             ChildProcess::DescribeStatus(*status), "\n", actor.process->LogTail(10)));
    }
    actor.earlier_steps += actor.current_steps;
    actor.current_steps = 0;
    ++actor.restarts;
    RILL_LOG(WARNING) << name << " ended (" << ChildProcess::DescribeStatus(*status) << "); restarting it (restart "
                      << actor.restarts << ") with " << actor.budget - actor.earlier_steps << " steps left";
    if (actor.budget > 0) {
      actor.args.back() = absl::StrCat("--actor_max_env_steps=", std::max<int64_t>(1, actor.budget - actor.earlier_steps));
    }
    absl::Status started = Start(name, actor);
    if (!started.ok()) return started;
  }
  return absl::OkStatus();
}

void Launch::RefreshLearner(const MetricSamples& learner) {
  if (HasMetric(learner, "rill_learner_updates_total")) learner_updates_ = SumMetric(learner, "rill_learner_updates_total");
  if (HasMetric(learner, "rill_inference_batch_rows_count")) {
    inference_batches_ = SumMetric(learner, "rill_inference_batch_rows_count");
    inference_rows_ = SumMetric(learner, "rill_inference_batch_rows_sum");
  }
  if (inference_.empty()) return;
  // Central inference outside the learner: the batches of every process.
  double batches = 0, rows = 0;
  for (const Role& server : inference_) {
    const MetricSamples samples = Scrape(server);
    batches += SumMetric(samples, "rill_inference_batch_rows_count");
    rows += SumMetric(samples, "rill_inference_batch_rows_sum");
  }
  inference_batches_ = batches;
  inference_rows_ = rows;
}

void Launch::RefreshEval() {
  MetricSamples eval = Scrape(evaluator_);
  const double rounds = SumMetric(eval, "rill_eval_rounds_total");
  if (rounds <= 0) return;
  have_eval_ = true;
  eval_return_ = SumMetric(eval, "rill_eval_return_mean");
  eval_episodes_ = SumMetric(eval, "rill_eval_episodes_total");
  eval_version_ = SumMetric(eval, "rill_eval_parameter_version");
  RunHistory::Evaluation evaluation;
  evaluation.seconds = absl::ToDoubleSeconds(absl::Now() - start_);
  evaluation.env_steps = EnvSteps();
  evaluation.learner_updates = learner_updates_;
  evaluation.parameter_version = eval_version_;
  evaluation.return_mean = eval_return_;
  history_.AddEvaluation(rounds, evaluation);
}

void Launch::PrintProgress() {
  const absl::Time now = absl::Now();
  RefreshLearner(Scrape(learner_));
  RefreshEval();
  const RunHistory::Progress& row = history_.AddProgress(now - start_, EnvSteps(), learner_updates_);
  std::string line = absl::StrFormat("[%6.1fs] env steps %s (%.0f/s) | updates %s (%.0f/s)", row.seconds,
                                     FormatCount(static_cast<double>(row.env_steps)), row.env_steps_per_second,
                                     FormatCount(row.learner_updates), row.updates_per_second);
  int shards_up = 0;
  double replay_items = 0;
  for (const Role& shard : replays_) {
    MetricSamples samples = Scrape(shard);
    if (!HasMetric(samples, "rill_replay_table_size")) continue;
    ++shards_up;
    replay_items += SumMetric(samples, "rill_replay_table_size");
  }
  absl::StrAppendFormat(&line, " | replay %d/%d shards up, %s items", shards_up, static_cast<int>(replays_.size()),
                        FormatCount(replay_items));
  if (inference_batches_ > inference_batches_shown_) {
    // Central inference: the mean batch since the last line.
    absl::StrAppendFormat(&line, " | inference batch %.1f",
                          (inference_rows_ - inference_rows_shown_) / (inference_batches_ - inference_batches_shown_));
    inference_rows_shown_ = inference_rows_;
    inference_batches_shown_ = inference_batches_;
  }
  if (have_eval_) {
    absl::StrAppendFormat(&line, " | eval return %.1f (version %.0f)", eval_return_, eval_version_);
  } else {
    line += " | eval return -";
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  last_progress_ = now;
}

void Launch::FinalEvaluation() {
  // The learner goes on until the rate limiter holds it (actors have stopped
  // inserting); then its newest version is final. Wait for the evaluator to
  // finish a round with that version.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  double version = -1;
  absl::Time stable_since = absl::Now();
  while (absl::Now() < deadline) {
    MetricSamples learner = Scrape(learner_);
    RefreshLearner(learner);
    const double current = SumMetric(learner, "rill_learner_parameter_version");
    if (current != version) {
      version = current;
      stable_since = absl::Now();
    }
    RefreshEval();
    if (absl::Now() - stable_since >= absl::Seconds(1) && eval_version_ >= version) return;
    absl::SleepFor(kTick);
  }
  RILL_LOG(WARNING) << "no evaluation of the final version " << version << " within 60 s; reporting version "
                    << eval_version_;
}

void Launch::StopAll() {
  for (Role& actor : actors_) {
    if (actor.process) actor.process->Stop(absl::Seconds(20));
  }
  for (Role& server : inference_) {
    if (server.process) server.process->Stop(absl::Seconds(10));
  }
  if (learner_.process) learner_.process->Stop(absl::Seconds(30));
  if (evaluator_.process) evaluator_.process->Stop(absl::Seconds(10));
  for (Role& shard : replays_) {
    if (shard.process) shard.process->Stop(absl::Seconds(10));
  }
}

Launch::PlotFiles Launch::WritePlots() {
  const std::string dir = run_dir_ + "/plots";
  PlotFiles files;
  absl::Status written = history_.WriteCsv(dir);
  if (!written.ok()) {
    std::printf("no plots: the metric history could not be written: %s\n", std::string(written.message()).c_str());
    std::fflush(stdout);
    return files;
  }
  files.csvs = {dir + "/history.csv", dir + "/eval.csv"};
  const absl::Time began = absl::Now();
  const std::string why_not = [&]() -> std::string {
    const std::string python = absl::GetFlag(FLAGS_plot_python);
    if (python.empty()) return "--plot_python is empty";
    if (access(python.c_str(), X_OK) != 0) {
      return absl::StrCat(python, " is missing (install python3 and python3-matplotlib, or set --plot_python)");
    }
    const std::string script = dir + "/plot_run.py";
    absl::Status saved = WriteFileAtomically(script, kPlotRunScript);
    if (!saved.ok()) return std::string(saved.message());
    const std::string log = run_dir_ + "/logs/plot.log";
    // Drawing takes about a second; the bound only keeps a stuck Python
    // from holding the launcher.
    absl::StatusOr<int> status = RunToEnd(python, {script, dir}, log, absl::Seconds(30));
    if (!status.ok()) return std::string(status.status().message());
    constexpr int kNoMatplotlib = 3;  // plot_run.py's exit code
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == kNoMatplotlib) {
      return absl::StrCat("matplotlib is missing for ", python, " (install python3-matplotlib)");
    }
    if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      return absl::StrCat("plot_run.py failed (", ChildProcess::DescribeStatus(*status), "); see ", log);
    }
    return "";
  }();
  std::vector<std::string>& pngs = files.pngs;
  if (why_not.empty()) {
    for (const char* name : {"eval_return_by_env_steps.png", "eval_return_by_time.png", "env_steps_per_second.png",
                             "updates_per_second.png"}) {
      const std::string path = absl::StrCat(dir, "/", name);
      if (std::filesystem::exists(path)) pngs.push_back(path);
    }
    std::printf("plots (%.1fs): %s\n", absl::ToDoubleSeconds(absl::Now() - began), absl::StrJoin(pngs, " ").c_str());
  } else {
    std::printf("no plots: %s; the metric history is in %s/history.csv and eval.csv\n", why_not.c_str(),
                dir.c_str());
  }
  std::fflush(stdout);
  return files;
}

absl::Status Launch::WriteSummary(const std::string& path, const PlotFiles& plots) {
  const double wall = absl::ToDoubleSeconds(end_ - start_);
  const double steps = static_cast<double>(EnvSteps());
  int restarts = 0;
  for (const Role& actor : actors_) restarts += actor.restarts;
  int replay_restarts = 0;
  for (const Role& shard : replays_) replay_restarts += shard.restarts;
  const auto quoted = [](std::string* out, const std::string& path) { absl::StrAppend(out, "\"", path, "\""); };
  std::string json = absl::StrFormat(
      "{\"env_steps\": %.0f, \"learner_updates\": %.0f, \"wall_seconds\": %.3f, \"env_steps_per_second\": %.3f, "
      "\"updates_per_second\": %.3f, \"eval_return_mean\": %s, \"eval_episodes\": %.0f, "
      "\"eval_parameter_version\": %.0f, \"num_actors\": %d, \"actor_restarts\": %d, \"replay_shards\": %d, "
      "\"replay_restarts\": %d, \"learner_restarts\": %d, \"inference_batch_rows_mean\": %s, "
      "\"inference_servers\": %d, \"run_dir\": \"%s\", \"plots\": [%s], \"plot_data\": [%s]}",
      steps, learner_updates_, wall, steps / wall, learner_updates_ / wall,
      have_eval_ ? absl::StrFormat("%.3f", eval_return_) : std::string("null"), eval_episodes_, eval_version_,
      static_cast<int>(actors_.size()), restarts, static_cast<int>(replays_.size()), replay_restarts,
      learner_.restarts,
      inference_batches_ > 0 ? absl::StrFormat("%.3f", inference_rows_ / inference_batches_) : std::string("null"),
      static_cast<int>(inference_.size()), run_dir_,
      absl::StrJoin(plots.pngs, ", ", quoted), absl::StrJoin(plots.csvs, ", ", quoted));
  std::printf("%s\n", json.c_str());
  if (path.empty()) return absl::OkStatus();
  std::ofstream out(path, std::ios::trunc);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write summary '", path, "'"));
  out << json << "\n";
  return absl::OkStatus();
}

int Launch::Run(absl::Notification& stop) {
  const std::string logs = run_dir_ + "/logs";
  std::error_code error;
  std::filesystem::create_directories(logs, error);
  if (error) return ExitWith("run folder", absl::PermissionDeniedError(absl::StrCat("cannot create '", logs, "': ", error.message())));
  const int num_actors = config_.topology().num_actors();
  const int64_t max_steps = config_.max_env_steps();
  std::printf("rill launch: %s, %d replay shard(s), %d actors, %s env steps; logs in %s\n", config_.env().name().c_str(),
              config_.topology().num_replay_shards(), num_actors,
              max_steps > 0 ? FormatCount(static_cast<double>(max_steps)).c_str() : "unlimited", logs.c_str());
  std::fflush(stdout);

  bool all_ready = false;  // every process started; the metric history began
  absl::Status status = [&]() -> absl::Status {
    if (absl::GetFlag(FLAGS_prometheus)) {
      PrometheusServer::Options options;
      options.binary = absl::GetFlag(FLAGS_prometheus_binary);
      options.assets = absl::GetFlag(FLAGS_prometheus_assets);
      options.dir = run_dir_ + "/prometheus";
      options.log_path = logs + "/prometheus.log";
      options.start_timeout = absl::GetFlag(FLAGS_start_timeout);
      ASSIGN_OR_RETURN(prometheus_, PrometheusServer::Start(options));
      std::printf("prometheus: %s\n", prometheus_->DashboardUrl().c_str());
      std::fflush(stdout);
    }
    const int num_shards = config_.topology().num_replay_shards();
    const bool durable = config_.replay().durability().mode() != "none";
    replays_.resize(num_shards);
    std::vector<std::string> shard_addresses;
    for (int i = 0; i < num_shards; ++i) {
      Role& shard = replays_[i];
      shard.args = CommonArgs();
      shard.args.insert(shard.args.begin(), "replay");
      shard.args.push_back(absl::StrCat("--shard_index=", i));
      if (durable) shard.args.push_back(absl::StrCat("--checkpoint_dir=", run_dir_, "/replay-", i));
      shard.log_path = num_shards == 1 ? logs + "/replay.log" : absl::StrCat(logs, "/replay-", i, ".log");
      absl::Status started = Start(absl::StrCat("replay/", i), shard);
      if (!started.ok()) return started;
      shard_addresses.push_back(absl::StrCat("127.0.0.1:", shard.grpc_port));
    }
    // Every shard, in shard order: writers pick their home shard by actor
    // id, the learner samples them all.
    const std::string replay_address = absl::StrJoin(shard_addresses, ",");

    learner_.args = CommonArgs();
    learner_.args.insert(learner_.args.begin(), "learner");
    learner_.args.push_back(absl::StrCat("--replay_address=", replay_address));
    learner_.args.push_back(absl::StrCat("--checkpoint_dir=", run_dir_, "/checkpoints/learner"));
    learner_.log_path = logs + "/learner.log";
    absl::Status started = Start("learner", learner_);
    if (!started.ok()) return started;
    const std::string learner_address = absl::StrCat("127.0.0.1:", learner_.grpc_port);

    // Central inference in processes of its own: each follows the learner's
    // parameter stream; actor i streams to process i mod N.
    std::vector<std::string> inference_addresses;
    inference_.resize(config_.topology().num_inference_servers());
    for (size_t i = 0; i < inference_.size(); ++i) {
      Role& server = inference_[i];
      server.args = CommonArgs();
      server.args.insert(server.args.begin(), "inference");
      server.args.push_back(absl::StrCat("--learner_address=", learner_address));
      server.log_path = absl::StrCat(logs, "/inference-", i, ".log");
      started = Start(absl::StrCat("inference/", i), server);
      if (!started.ok()) return started;
      inference_addresses.push_back(absl::StrCat("127.0.0.1:", server.grpc_port));
    }

    actors_.resize(num_actors);
    for (int i = 0; i < num_actors; ++i) {
      Role& actor = actors_[i];
      actor.budget = max_steps > 0 ? (max_steps + num_actors - 1 - i) / num_actors : 0;
      actor.args = CommonArgs();
      actor.args.insert(actor.args.begin(), "actor");
      actor.args.push_back(absl::StrCat("--replay_address=", replay_address));
      actor.args.push_back(absl::StrCat("--learner_address=", learner_address));
      actor.args.push_back(absl::StrCat("--actor_id=", i));
      if (!inference_addresses.empty()) {
        actor.args.push_back(
            absl::StrCat("--inference_address=", inference_addresses[static_cast<size_t>(i) % inference_addresses.size()]));
      }
      // Last: a restart rewrites it with the steps left.
      actor.args.push_back(absl::StrCat("--actor_max_env_steps=", actor.budget));
      actor.log_path = absl::StrCat(logs, "/actor-", i, ".log");
      started = Start(absl::StrCat("actor/", i), actor);
      if (!started.ok()) return started;
    }
    evaluator_.args = CommonArgs();
    evaluator_.args.insert(evaluator_.args.begin(), "actor");
    evaluator_.args.push_back(absl::StrCat("--replay_address=", replay_address));
    evaluator_.args.push_back(absl::StrCat("--learner_address=", learner_address));
    evaluator_.args.push_back("--eval");
    evaluator_.log_path = logs + "/evaluator.log";
    started = Start("evaluator", evaluator_);
    if (!started.ok()) return started;
    std::printf("all processes ready after %.1fs: replay %s, learner :%d\n",
                absl::ToDoubleSeconds(absl::Now() - start_), replay_address.c_str(), learner_.grpc_port);
    std::fflush(stdout);

    all_ready = true;
    const absl::Duration progress_every = absl::GetFlag(FLAGS_progress_every);
    while (!stop.WaitForNotificationWithTimeout(kTick)) {
      absl::Status replay_supervised = SuperviseReplay();
      if (!replay_supervised.ok()) return replay_supervised;
      for (Role* core : {&learner_, &evaluator_}) {
        absl::Status core_supervised = SuperviseCore(*core);
        if (!core_supervised.ok()) return core_supervised;
      }
      for (Role& server : inference_) {
        absl::Status inference_supervised = SuperviseCore(server);
        if (!inference_supervised.ok()) return inference_supervised;
      }
      absl::Status supervised = SuperviseActors();
      if (!supervised.ok()) return supervised;
      const bool all_done = max_steps > 0 && std::all_of(actors_.begin(), actors_.end(),
                                                         [](const Role& a) { return a.finished; });
      if (all_done || absl::Now() - last_progress_ >= progress_every) {
        RefreshActorSteps();
        PrintProgress();
      }
      if (all_done) {
        std::printf("reached %s env steps; final evaluation\n", FormatCount(static_cast<double>(EnvSteps())).c_str());
        std::fflush(stdout);
        FinalEvaluation();
        return absl::OkStatus();
      }
    }
    std::printf("interrupted; stopping all processes\n");
    std::fflush(stdout);
    RefreshActorSteps();
    RefreshLearner(Scrape(learner_));
    return absl::OkStatus();
  }();
  end_ = absl::Now();
  // The history's last row holds the figures of the summary.
  if (all_ready) history_.AddProgress(end_ - start_, EnvSteps(), learner_updates_);
  StopAll();
  // Drawn once the run's processes have stopped, so that Python has the
  // machine to itself; for a failed or interrupted run too, as far as it got.
  const PlotFiles plots = all_ready ? WritePlots() : PlotFiles{};
  StopPrometheus(stop);
  if (!status.ok()) {
    std::fprintf(stderr, "rill launch failed: %s\n", std::string(status.message()).c_str());
    return absl::IsInvalidArgument(status) ? kExitBadInput : kExitFailure;
  }
  absl::Status written = WriteSummary(absl::GetFlag(FLAGS_summary_json), plots);
  if (!written.ok()) return ExitWith("summary", written);
  return 0;
}

// With --tls, makes the run's throwaway CA and certificate in <run_dir>/tls;
// with --tls_cert/--tls_key/--tls_ca (already checked and configured by
// rill_main), makes their paths absolute for the children. Either way the
// flags then name the files, the launcher's own health checks use them, and
// CommonArgs passes them on. InvalidArgument for --tls together with files.
absl::Status SetUpTls(const std::string& run_dir) {
  const TlsFiles given = TlsFilesFromFlags();
  TlsFiles files = given;
  if (absl::GetFlag(FLAGS_tls)) {
    if (!given.empty()) {
      return absl::InvalidArgumentError(
          "--tls makes a throwaway CA and certificate; give either --tls or your own --tls_cert, --tls_key and "
          "--tls_ca, not both");
    }
    ThrowawayTlsOptions options;
    options.openssl_binary = absl::GetFlag(FLAGS_openssl_binary);
    options.dir = run_dir + "/tls";
    options.log_path = run_dir + "/tls/openssl.log";
    ASSIGN_OR_RETURN(files, MakeThrowawayTls(options));
    RETURN_IF_ERROR(ConfigureTls(files));
    std::printf("tls: mutual TLS between every process, with a throwaway CA and certificate in %s\n",
                options.dir.c_str());
    std::fflush(stdout);
  } else if (given.empty()) {
    return absl::OkStatus();
  }
  std::error_code error;
  for (std::string* path : {&files.cert, &files.key, &files.ca}) {
    *path = std::filesystem::absolute(*path, error).lexically_normal().string();
  }
  absl::SetFlag(&FLAGS_tls_cert, files.cert);
  absl::SetFlag(&FLAGS_tls_key, files.key);
  absl::SetFlag(&FLAGS_tls_ca, files.ca);
  return absl::OkStatus();
}

}  // namespace

int LaunchMain() {
  absl::Notification& stop = InstallShutdownSignals();
  SetLogRole("launch");
  absl::StatusOr<v1::ExperimentConfig> config = LoadConfigFromFlags();
  if (!config.ok()) return ExitWith("bad config", config.status());
  if (absl::GetFlag(FLAGS_num_actors) == 0 || absl::GetFlag(FLAGS_num_actors) < -1) {
    return ExitWith("flags", absl::InvalidArgumentError("--num_actors must be >= 1 (or -1 for the config's)"));
  }
  if (absl::GetFlag(FLAGS_num_actors) > 0) config->mutable_topology()->set_num_actors(absl::GetFlag(FLAGS_num_actors));
  if (absl::GetFlag(FLAGS_max_env_steps) >= 0) config->set_max_env_steps(absl::GetFlag(FLAGS_max_env_steps));
  if (absl::GetFlag(FLAGS_num_replay_shards) == 0 || absl::GetFlag(FLAGS_num_replay_shards) < -1) {
    return ExitWith("flags", absl::InvalidArgumentError("--num_replay_shards must be >= 1 (or -1 for the config's)"));
  }
  if (absl::GetFlag(FLAGS_num_replay_shards) > 0) {
    config->mutable_topology()->set_num_replay_shards(absl::GetFlag(FLAGS_num_replay_shards));
  }
  std::string run_dir = absl::GetFlag(FLAGS_run_dir);
  if (run_dir.empty()) {
    run_dir = absl::StrCat(".rill-runs/", config->name().empty() ? "run" : config->name(), "-",
                           absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::LocalTimeZone()));
  }
  // Children read the config file; write the effective one (with overrides)
  // into the run folder and point them at it.
  std::error_code error;
  std::filesystem::create_directories(run_dir, error);
  const std::string effective = run_dir + "/config.textpb";
  absl::Status written = WriteExperimentConfig(*config, effective);
  if (!written.ok()) return ExitWith("run folder", written);
  absl::SetFlag(&FLAGS_config, effective);
  absl::Status tls = SetUpTls(run_dir);
  if (!tls.ok()) return ExitWith("tls", tls);
  Launch launch(*config, run_dir);
  return launch.Run(stop);
}

}  // namespace rill::tools
