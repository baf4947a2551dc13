#include "tools/launcher.h"

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/child_process.h"
#include "common/invalid_field.h"
#include "common/os.h"
#include "common/tensor_codec.h"
#include "flags/flags.h"
#include "common/logging.h"
#include "common/metrics_scrape.h"
#include "common/process.h"
#include "common/status_macros.h"
#include "common/tls.h"
#include "flags/tls_flags.h"
#include "experiment/config.h"
#include "roles/role.h"
#include "tools/env_server_role.h"
#include "tools/launch_role.h"
#include "tools/launch_tls.h"
#include "tools/prometheus_server.h"
#include "tools/run_history.h"
#include "tools/run_summary.h"

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
ABSL_FLAG(int32_t, max_env_server_restarts, 5,
          "Restarts allowed to the env server that env.remote.command starts before the run fails.");
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

namespace {

constexpr absl::Duration kTick = absl::Milliseconds(250);

// A child that ends this soon after it became ready failed its start-up:
// restarted once, and if it ends the same way again the run stops with its
// message (it would only fail again).
constexpr absl::Duration kStartUpGrace = absl::Seconds(10);

// What one child of a run takes of this machine, measured on a tiny
// Pendulum run (tests/configs/tiny_pendulum.textpb): an actor, the
// evaluator, a replay shard (before its tables) or an inference server
// about 24 MiB and 15 threads, the learner about 180 MiB and 16 threads;
// each binds a gRPC and a metrics port.
constexpr int64_t kChildMemoryBytes = int64_t{32} << 20;
constexpr int64_t kLearnerMemoryBytes = int64_t{256} << 20;
constexpr int64_t kThreadsPerChild = 16;
constexpr int64_t kPortsPerChild = 2;

std::string GiB(double bytes) { return absl::StrFormat("%.1f GiB", bytes / (1 << 30)); }

// Refuses, naming the topology field, a run whose processes this machine
// cannot hold: their memory (the replay shards' tables included), their
// threads under this user's process limit, and two ports each from the
// kernel's ephemeral range (leaving half of the range, and of the process
// limit, to everything else). Without it a run of 100,000 actors starts
// actors until the machine gives out.
absl::Status CheckMachineHoldsTheRun(const v1::ExperimentConfig& config) {
  const v1::TopologyConfig& topology = config.topology();
  const int64_t actors = topology.num_actors();
  const int64_t shards = topology.num_replay_shards();
  const int64_t inference = topology.num_inference_servers();
  const bool env_server = config.env().has_remote() && !config.env().remote().command().empty();
  // Actors, the evaluator, shards, inference servers, the learner, the env server.
  const int64_t children = actors + 1 + shards + inference + 1 + (env_server ? 1 : 0);
  double table_bytes = 0;
  for (const v1::TableConfig& table : config.replay().tables()) {
    double item_bytes = 0;
    for (const v1::ColumnSpec& column : table.signature().columns()) {
      item_bytes += static_cast<double>(ItemBytes(column).value_or(0));
    }
    double capacity = static_cast<double>(table.max_size());
    if (table.max_bytes() > 0 && item_bytes > 0) {
      capacity = std::min(capacity, std::floor(static_cast<double>(table.max_bytes()) / item_bytes));
    }
    table_bytes += capacity * item_bytes;
  }
  const double memory = static_cast<double>(PhysicalMemoryBytes());
  const double actor_bytes = static_cast<double>(actors + 1) * kChildMemoryBytes;
  const double shard_bytes = static_cast<double>(shards) * (kChildMemoryBytes + table_bytes);
  const double other_bytes = static_cast<double>(inference) * kChildMemoryBytes + kLearnerMemoryBytes;
  const double needed = actor_bytes + shard_bytes + other_bytes;
  const std::string processes =
      absl::StrCat(children, " processes (", actors, " actors and the evaluator, ", shards, " replay shard(s), ",
                   inference, " inference server(s), the learner", env_server ? ", the env server" : "", ")");
  if (needed > memory) {
    const char* field = actor_bytes >= shard_bytes && actor_bytes >= other_bytes ? "topology.num_actors"
                        : shard_bytes >= other_bytes                              ? "topology.num_replay_shards"
                                                                                  : "topology.num_inference_servers";
    return InvalidField(field, absl::StrCat(processes, " need about ", GiB(needed), " of memory (replay tables ",
                                            GiB(static_cast<double>(shards) * table_bytes),
                                            "); this machine has ", GiB(memory)));
  }
  const char* field = actors >= shards && actors >= inference ? "topology.num_actors"
                      : shards >= inference                   ? "topology.num_replay_shards"
                                                              : "topology.num_inference_servers";
  const int64_t process_limit = ProcessLimit();
  if (process_limit / 2 / kThreadsPerChild < children) {
    return InvalidField(field, absl::StrCat(processes, " run about ", children * kThreadsPerChild,
                                            " threads; this user may run ", process_limit,
                                            " (ulimit -u), and a run takes at most half"));
  }
  const int64_t ports = EphemeralPortCount();
  if (ports / 2 / kPortsPerChild < children) {
    return InvalidField(field, absl::StrCat(processes, " bind ", children * kPortsPerChild, " local ports; the kernel "
                                            "hands out ", ports, " (/proc/sys/net/ipv4/ip_local_port_range), and a "
                                            "run takes at most half"));
  }
  return absl::OkStatus();
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
  // StartRole (supervising the env server while it waits), then (with
  // --prometheus) tells Prometheus the new ports.
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
  // With env.remote.command: starts the env server and waits until it
  // listens (tools/env_server_role.h); nothing otherwise.
  absl::Status StartEnvServer(const std::string& logs);
  // Restarts the env server when it ended, on the address it had bound:
  // the actors' envs reconnect to it (env.remote.reconnect_seconds).
  absl::Status SuperviseEnvServer();
  void PrintProgress();
  void FinalEvaluation();
  void StopAll();
  // Starts Prometheus (with --prometheus), the env server (with
  // env.remote.command), the replay shards, the learner, the inference
  // servers, the actors and the evaluator, in that order, each waiting for
  // the one before it to be ready.
  absl::Status StartAll(const std::string& logs);
  // Restarts what ended and prints progress every --progress_every until
  // the actors have spent the step budget (then a final evaluation) or
  // `stop` is notified.
  absl::Status Supervise(absl::Notification& stop);
  // The run's figures for the summary JSON.
  RunSummary Summary(const PlotFiles& plots) const;
  // Called when `role`'s child ended with `status`, before it is restarted:
  // Aborted, with the child's log, when it ended within kStartUpGrace of
  // becoming ready the same way (exit status) as its previous incarnation
  // did, which had also just started. Restarting it again would only repeat
  // the failure.
  absl::Status CheckRepeatedStartUpFailure(const std::string& name, const Role& role, int status);

  v1::ExperimentConfig config_;
  std::string run_dir_;
  std::vector<Role> replays_;
  Role learner_, evaluator_;
  // topology.num_inference_servers `rill inference` processes (central
  // inference outside the learner); none otherwise.
  std::vector<Role> inference_;
  std::vector<Role> actors_;
  std::unique_ptr<EnvServerRole> env_server_;     // with env.remote.command
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
  // When each role's current child became ready, and how its previous
  // child ended if that child failed its start-up (see
  // CheckRepeatedStartUpFailure).
  std::map<const Role*, absl::Time> ready_at_;
  std::map<const Role*, std::string> start_up_failure_;
};

absl::Status Launch::Start(const std::string& name, Role& role) {
  // An actor or the evaluator opens its envs before it is ready: keep the
  // env server up meanwhile, or one that ended would hold it up until
  // env.remote.reconnect_seconds.
  std::function<absl::Status()> supervise_env_server;
  if (env_server_ != nullptr) supervise_env_server = [this] { return SuperviseEnvServer(); };
  absl::Status started = StartRole(name, role, absl::GetFlag(FLAGS_start_timeout), supervise_env_server);
  ready_at_[&role] = absl::Now();
  UpdatePrometheusTargets();
  return started;
}

absl::Status Launch::CheckRepeatedStartUpFailure(const std::string& name, const Role& role, int status) {
  const auto ready = ready_at_.find(&role);
  const bool start_up = ready != ready_at_.end() && absl::Now() - ready->second < kStartUpGrace;
  const std::string how = ChildProcess::DescribeStatus(status);
  if (!start_up) {
    start_up_failure_.erase(&role);
    return absl::OkStatus();
  }
  const auto previous = start_up_failure_.find(&role);
  if (previous != start_up_failure_.end() && previous->second == how) {
    return absl::AbortedError(absl::StrCat(name, " failed the same way twice right after starting (", how,
                                           "), so it is not restarted again; its log ends with:\n",
                                           role.process->LogTail(15)));
  }
  start_up_failure_[&role] = how;
  return absl::OkStatus();
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
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == roles::kExitBadInput) {
      return absl::InvalidArgumentError(absl::StrCat(name, " rejected its input (", ChildProcess::DescribeStatus(*status),
                                                     "):\n", shard.process->LogTail(10)));
    }
    RETURN_IF_ERROR(CheckRepeatedStartUpFailure(name, shard, *status));
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
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == roles::kExitBadInput) {
    return absl::InvalidArgumentError(absl::StrCat(name, " rejected its input (", ChildProcess::DescribeStatus(*status),
                                                   "):\n", role.process->LogTail(15)));
  }
  RETURN_IF_ERROR(CheckRepeatedStartUpFailure(name, role, *status));
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

absl::Status Launch::StartEnvServer(const std::string& logs) {
  const v1::RemoteEnvConfig& remote = config_.env().remote();
  if (!config_.env().has_remote() || remote.command().empty()) return absl::OkStatus();
  EnvServerRole::Options options;
  options.command = remote.command();
  options.address = remote.address();
  options.log_path = logs + "/env-server.log";
  options.start_timeout = absl::GetFlag(FLAGS_start_timeout);
  ASSIGN_OR_RETURN(env_server_, EnvServerRole::Start(options));
  std::printf("env server listening on %s after %.1fs (pid %d); log in %s\n", env_server_->address().c_str(),
              absl::ToDoubleSeconds(absl::Now() - start_), static_cast<int>(env_server_->pid()),
              options.log_path.c_str());
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::Status Launch::SuperviseEnvServer() {
  if (env_server_ == nullptr) return absl::OkStatus();
  std::optional<int> status = env_server_->Poll();
  if (!status.has_value()) return absl::OkStatus();
  if (env_server_->restarts() >= absl::GetFlag(FLAGS_max_env_server_restarts)) {
    return absl::AbortedError(absl::StrCat("the env server ended ", env_server_->restarts() + 1, " times; last: ",
                                           ChildProcess::DescribeStatus(*status), "; its log ",
                                           env_server_->log_path(), " ends with:\n", env_server_->LogTail(15)));
  }
  RILL_LOG(WARNING) << "env server ended (" << ChildProcess::DescribeStatus(*status) << "); restarting it (restart "
                    << env_server_->restarts() + 1 << ") on " << env_server_->address()
                    << "; the actors reconnect to it";
  std::printf("env server ended (%s); restarting it on %s\n", ChildProcess::DescribeStatus(*status).c_str(),
              env_server_->address().c_str());
  std::fflush(stdout);
  RETURN_IF_ERROR(env_server_->Restart());
  std::printf("env server listening on %s again (pid %d)\n", env_server_->address().c_str(),
              static_cast<int>(env_server_->pid()));
  std::fflush(stdout);
  return absl::OkStatus();
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
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == roles::kExitBadInput) {
      return absl::InvalidArgumentError(absl::StrCat(name, " rejected its input (", ChildProcess::DescribeStatus(*status),
                                                     "):\n", actor.process->LogTail(10)));
    }
    RETURN_IF_ERROR(CheckRepeatedStartUpFailure(name, actor, *status));
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
  if (env_server_ != nullptr && env_server_->restarts() > 0) {
    absl::StrAppendFormat(&line, " | env server restarts %d", env_server_->restarts());
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
  // Last of the env steppers' peers: the actors and the evaluator step its
  // envs until they stop.
  if (env_server_ != nullptr) env_server_->Stop(absl::Seconds(10));
  for (Role& shard : replays_) {
    if (shard.process) shard.process->Stop(absl::Seconds(10));
  }
}

absl::Status Launch::StartAll(const std::string& logs) {
  const int num_actors = config_.topology().num_actors();
  const int64_t max_steps = config_.max_env_steps();
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
  // The env server comes first: it depends on no other process, and a
  // command that fails (a typo in the factory, a missing module) then fails
  // the run in seconds, before replay and the learner have been started.
  RETURN_IF_ERROR(StartEnvServer(logs));
  // Where the actors and the evaluator dial their envs: the address the
  // server bound (the config may leave env.remote.address empty).
  std::vector<std::string> env_args;
  if (env_server_ != nullptr) env_args.push_back(absl::StrCat("--env_address=", env_server_->address()));
  const int num_shards = config_.topology().num_replay_shards();
  const bool durable = config_.replay().durability().mode() != v1::DurabilityConfig::NONE;
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
    actor.args.insert(actor.args.end(), env_args.begin(), env_args.end());
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
  evaluator_.args.insert(evaluator_.args.end(), env_args.begin(), env_args.end());
  evaluator_.log_path = logs + "/evaluator.log";
  started = Start("evaluator", evaluator_);
  if (!started.ok()) return started;
  std::printf("all processes ready after %.1fs: replay %s, learner :%d\n",
              absl::ToDoubleSeconds(absl::Now() - start_), replay_address.c_str(), learner_.grpc_port);
  std::fflush(stdout);

  return absl::OkStatus();
}

absl::Status Launch::Supervise(absl::Notification& stop) {
  const int64_t max_steps = config_.max_env_steps();
  const absl::Duration progress_every = absl::GetFlag(FLAGS_progress_every);
  while (!stop.WaitForNotificationWithTimeout(kTick)) {
    absl::Status env_server_supervised = SuperviseEnvServer();
    if (!env_server_supervised.ok()) return env_server_supervised;
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
}

RunSummary Launch::Summary(const PlotFiles& plots) const {
  RunSummary summary;
  summary.env_steps = static_cast<double>(EnvSteps());
  summary.learner_updates = learner_updates_;
  summary.wall_seconds = absl::ToDoubleSeconds(end_ - start_);
  if (have_eval_) summary.eval_return_mean = eval_return_;
  summary.eval_episodes = eval_episodes_;
  summary.eval_parameter_version = eval_version_;
  summary.num_actors = static_cast<int>(actors_.size());
  for (const Role& actor : actors_) summary.actor_restarts += actor.restarts;
  summary.replay_shards = static_cast<int>(replays_.size());
  for (const Role& shard : replays_) summary.replay_restarts += shard.restarts;
  summary.learner_restarts = learner_.restarts;
  if (env_server_ != nullptr) summary.env_server_restarts = env_server_->restarts();
  if (inference_batches_ > 0) summary.inference_batch_rows_mean = inference_rows_ / inference_batches_;
  summary.inference_servers = static_cast<int>(inference_.size());
  summary.run_dir = run_dir_;
  summary.plots = plots;
  return summary;
}

int Launch::Run(absl::Notification& stop) {
  const std::string logs = run_dir_ + "/logs";
  std::error_code error;
  std::filesystem::create_directories(logs, error);
  if (error) {
    return roles::ExitWith("run folder",
                           absl::PermissionDeniedError(absl::StrCat("cannot create '", logs, "': ", error.message())));
  }
  const int num_actors = config_.topology().num_actors();
  const int64_t max_steps = config_.max_env_steps();
  std::printf("rill launch: %s, %d replay shard(s), %d actors, %s env steps; logs in %s\n", config_.env().name().c_str(),
              config_.topology().num_replay_shards(), num_actors,
              max_steps > 0 ? FormatCount(static_cast<double>(max_steps)).c_str() : "unlimited", logs.c_str());
  std::fflush(stdout);

  absl::Status status = StartAll(logs);
  const bool all_ready = status.ok();  // every process started; the metric history began
  if (all_ready) status = Supervise(stop);
  end_ = absl::Now();
  // The history's last row holds the figures of the summary.
  if (all_ready) history_.AddProgress(end_ - start_, EnvSteps(), learner_updates_);
  StopAll();
  // Drawn once the run's processes have stopped, so that Python has the
  // machine to itself; for a failed or interrupted run too, as far as it got.
  const PlotFiles plots = all_ready ? WritePlots(history_, run_dir_, absl::GetFlag(FLAGS_plot_python)) : PlotFiles{};
  StopPrometheus(stop);
  if (!status.ok()) {
    std::fprintf(stderr, "rill launch failed: %s\n", std::string(status.message()).c_str());
    return absl::IsInvalidArgument(status) ? roles::kExitBadInput : roles::kExitFailure;
  }
  absl::Status written = WriteSummary(Summary(plots), absl::GetFlag(FLAGS_summary_json));
  if (!written.ok()) return roles::ExitWith("summary", written);
  return 0;
}

}  // namespace

int LaunchMain() {
  absl::Notification& stop = InstallShutdownSignals();
  SetLogRole("launch");
  absl::StatusOr<v1::ExperimentConfig> config = roles::LoadConfigFromFlags();
  if (!config.ok()) return roles::ExitWith("bad config", config.status());
  if (absl::GetFlag(FLAGS_num_actors) == 0 || absl::GetFlag(FLAGS_num_actors) < -1) {
    return roles::ExitWith("flags", absl::InvalidArgumentError("--num_actors must be >= 1 (or -1 for the config's)"));
  }
  if (absl::GetFlag(FLAGS_num_actors) > 0) config->mutable_topology()->set_num_actors(absl::GetFlag(FLAGS_num_actors));
  if (absl::GetFlag(FLAGS_max_env_steps) >= 0) config->set_max_env_steps(absl::GetFlag(FLAGS_max_env_steps));
  if (absl::GetFlag(FLAGS_num_replay_shards) == 0 || absl::GetFlag(FLAGS_num_replay_shards) < -1) {
    return roles::ExitWith("flags", absl::InvalidArgumentError("--num_replay_shards must be >= 1 (or -1 for the config's)"));
  }
  if (absl::GetFlag(FLAGS_num_replay_shards) > 0) {
    config->mutable_topology()->set_num_replay_shards(absl::GetFlag(FLAGS_num_replay_shards));
  }
  // The overrides meet the config's rules (and bounds) too.
  config = experiment::FinalizeExperimentConfig(*std::move(config));
  if (!config.ok()) return roles::ExitWith("bad config", config.status());
  absl::Status fits = CheckMachineHoldsTheRun(*config);
  if (!fits.ok()) return roles::ExitWith("bad config", fits);
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
  absl::Status written = experiment::WriteExperimentConfig(*config, effective);
  if (!written.ok()) return roles::ExitWith("run folder", written);
  absl::SetFlag(&FLAGS_config, effective);
  absl::Status tls = SetUpTls(run_dir, absl::GetFlag(FLAGS_tls), absl::GetFlag(FLAGS_openssl_binary));
  if (!tls.ok()) return roles::ExitWith("tls", tls);
  Launch launch(*config, run_dir);
  return launch.Run(stop);
}

}  // namespace rill::tools
