#include "cli/launcher.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/child_process.h"
#include "common/invalid_field.h"
#include "common/os.h"
#include "common/tensor_codec.h"
#include "flags/flags.h"
#include "common/logging.h"
#include "common/metrics_scrape.h"
#include "common/process.h"
#include "common/scalar_log.h"
#include "common/status_macros.h"
#include "common/tls.h"
#include "flags/tls_flags.h"
#include "experiment/config.h"
#include "google/protobuf/util/message_differencer.h"
#include "learner/algorithms/spec.h"
#include "learner/checkpoint.h"
#include "roles/lockstep_run.h"
#include "roles/role.h"
#include "cli/env_server_role.h"
#include "cli/launch_role.h"
#include "cli/launch_tls.h"
#include "cli/prometheus_server.h"
#include "cli/run_history.h"
#include "cli/run_report.h"
#include "cli/run_summary.h"
#include "cli/version.h"

ABSL_FLAG(int32_t, num_actors, -1, "Actors to start; -1 uses the config's topology.num_actors.");
ABSL_FLAG(int64_t, max_env_steps, -1, "Stop after this many env steps over all actors; -1 uses the config.");
ABSL_FLAG(std::string, summary_json, "",
          "Also write the run's summary JSON here at the end (it is always written to <run_dir>/summary.json).");
ABSL_FLAG(std::string, run_dir, "",
          "Folder for logs and checkpoints; default .rill-runs/<name>-<time>. A folder that holds a run of the "
          "same config continues it (as --resume does).");
ABSL_FLAG(std::string, resume, "",
          "Continue the run in this folder (one `rill launch` made) with its own config: the learner from its "
          "checkpoint, replay from its checkpoint or WAL when the tables are durable, the env-step budget and "
          "the counters, plots and summary where they were. --max_env_steps and --num_actors may change.");
ABSL_FLAG(bool, deterministic, false,
          "Run one actor, its replay table and the learner in this process, taking turns on one thread, so that "
          "the same config and seed repeat the run bit for bit (same episodes, same final policy: the summary's "
          "policy_digest). Slower than a launched run and without its processes: one actor and shard, learner on "
          "one CPU thread, no resume.");
ABSL_FLAG(absl::Duration, progress_every, absl::Seconds(5), "Interval between progress lines.");
ABSL_FLAG(absl::Duration, start_timeout, absl::Seconds(60), "How long each process may take to become ready.");
ABSL_FLAG(absl::Duration, stop_timeout, absl::Seconds(20),
          "How long the run's processes may take to stop, all together, at the end or on Ctrl-C / SIGTERM. Each group "
          "is signalled at once: actors and the evaluator (their writes in flight are acknowledged while the learner "
          "still samples, for at most a quarter of it), then the learner, inference and env servers (until half of "
          "it), then replay. Actors still flushing once replay has stopped, and whatever runs at the end, are "
          "killed.");
ABSL_FLAG(double, stop_at_eval_return, std::numeric_limits<double>::quiet_NaN(),
          "End the run early, as done, once an evaluation's mean return reaches this (the evaluator's rounds of "
          "eval.episodes deterministic episodes, checked each second): \"solved within the step budget\". The "
          "summary's final_eval then says \"target reached\" and its eval_return_mean is that round's. Unset: "
          "run to the step budget.");
ABSL_FLAG(absl::Duration, final_eval_timeout, absl::Seconds(60),
          "Once the step budget is spent: how long to wait for an evaluation of the final policy (Ctrl-C skips it).");
ABSL_FLAG(int32_t, max_actor_restarts, 5, "Restarts allowed per actor before the run fails.");
ABSL_FLAG(int32_t, num_replay_shards, -1, "Replay shards to start; -1 uses the config's topology.num_replay_shards.");
ABSL_FLAG(int32_t, max_replay_restarts, 5, "Restarts allowed per replay shard before the run fails.");
ABSL_FLAG(int32_t, max_learner_restarts, 5,
          "Restarts allowed to the learner (the whole group of ranks counts as one) and to the evaluator before the "
          "run fails; a restarted learner resumes "
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

namespace rill::cli {

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

// Each learner rank's intra-op threads when learner.num_threads is 0: its
// share of the cores this machine's actors and inference servers leave
// (each of them keeps about one core busy), and at least one. On a machine
// of its own (a Kubernetes pod) the learner takes every core instead.
int LearnerThreads(const v1::ExperimentConfig& config) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int busy = config.topology().num_actors() +
                   (config.topology().inference() == v1::TopologyConfig::CENTRAL
                        ? std::max(1, config.topology().num_inference_servers())
                        : 0);
  return std::max(1, (cores - busy) / std::max(1, config.topology().num_learners()));
}

// Rewrites <run_dir>/report.html from the run folder as it stands. A page
// that cannot be written is a warning: the run itself is not at fault.
void RefreshRunReport(const std::string& run_dir) {
  absl::Status report = WriteRunReport(run_dir);
  if (!report.ok()) RILL_LOG(WARNING) << "the run's report page could not be written: " << report.message();
}

// Prints the summary, writes it to --summary_json when given and, always,
// to <run_dir>/summary.json beside the run's other files, then the run's
// page with it.
absl::Status WriteRunSummary(RunSummary summary, const std::string& run_dir) {
  summary.report = ReportPath(run_dir);
  RETURN_IF_ERROR(WriteSummary(summary, absl::GetFlag(FLAGS_summary_json)));
  RETURN_IF_ERROR(WriteFileAtomically(run_dir + "/summary.json", SummaryJson(summary) + "\n"));
  RefreshRunReport(run_dir);
  return absl::OkStatus();
}

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
  const int64_t learners = topology.num_learners();
  const bool env_server = config.env().has_remote() && !config.env().remote().command().empty();
  // Actors, the evaluator, shards, inference servers, the learners, the env server.
  const int64_t children = actors + 1 + shards + inference + learners + (env_server ? 1 : 0);
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
  const double other_bytes =
      static_cast<double>(inference) * kChildMemoryBytes + static_cast<double>(learners) * kLearnerMemoryBytes;
  const double needed = actor_bytes + shard_bytes + other_bytes;
  const std::string processes =
      absl::StrCat(children, " processes (", actors, " actors and the evaluator, ", shards, " replay shard(s), ",
                   inference, " inference server(s), ",
                   learners == 1 ? std::string("the learner") : absl::StrCat(learners, " learner ranks"),
                   env_server ? ", the env server" : "", ")");
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

// The counters the run's figures are read from, in the processes' metrics
// (while they run, and in the final metrics each writes as it exits).
constexpr char kEnvStepsTotal[] = "rill_actor_env_steps_total";
constexpr char kUpdatesTotal[] = "rill_learner_updates_total";
constexpr char kItemsInsertedTotal[] = "rill_replay_items_inserted_total";
constexpr char kBatchRowsCount[] = "rill_inference_batch_rows_count";
constexpr char kBatchRowsSum[] = "rill_inference_batch_rows_sum";

// The summary's final_eval when Ctrl-C / SIGTERM came first.
constexpr char kSkippedInterrupted[] = "skipped: interrupted";

// Restarts of every role of one kind (actors, shards, inference servers).
int Restarts(const std::vector<Role>& roles) {
  int restarts = 0;
  for (const Role& role : roles) restarts += role.restarts;
  return restarts;
}

class Launch {
 public:
  // `stop` is notified on Ctrl-C / SIGTERM (InstallShutdownSignals).
  // `previous`: what the run's earlier parts did (rill launch --resume).
  Launch(v1::ExperimentConfig config, std::string run_dir, RunIdentity identity, std::optional<RunProgress> previous,
         absl::Notification& stop)
      : config_(std::move(config)), run_dir_(std::move(run_dir)), identity_(std::move(identity)), stop_(stop) {
    learners_.resize(std::max(1, config_.topology().num_learners()));
    if (previous.has_value()) {
      previous_ = *previous;
      // Times go on from the earlier parts' running time.
      start_ = absl::Now() - absl::Seconds(previous->wall_seconds);
      if (!previous->started_at.empty()) identity_.started_at = previous->started_at;
      ++previous_.resumes;
      resumed_ = true;
      std::error_code error;
      const uintmax_t size = std::filesystem::file_size(EvalLogPath(), error);
      if (!error) eval_log_offset_ = static_cast<int64_t>(size);
    }
  }
  int Run();

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
  // Where the process of the role logged as <name>.log writes its final
  // metrics (Role::final_metrics_path).
  std::string FinalMetricsPath(const std::string& name) const {
    return absl::StrCat(run_dir_, "/final-metrics/", name, ".prom");
  }
  // Over every actor process so far, restarted ones included.
  // With the earlier parts' steps of a resumed run.
  int64_t EnvSteps() const {
    double total = 0;
    for (const Role& actor : actors_) total += actor.Total(kEnvStepsTotal);
    return previous_.env_steps + static_cast<int64_t>(total);
  }
  // Over every learner process so far (a restarted learner's counter starts
  // again at 0; its checkpoint's updates are counted by the process that
  // made them). Rank 0's: the ranks update in step.
  double LearnerUpdates() const { return previous_.learner_updates + lead().Total(kUpdatesTotal); }
  // The learner, or rank 0 of the learner group: it publishes parameters,
  // checkpoints and serves central inference.
  Role& lead() { return learners_.front(); }
  const Role& lead() const { return learners_.front(); }
  // Writes progress.json (RunProgress) and the metric history's CSVs, so
  // that a run whose launcher is killed can be resumed and its plots go on.
  void SaveProgress();
  // Central inference: the batches served and the rows in them, by the
  // learner or by the `rill inference` processes.
  double InferenceBatches() const { return InferenceTotal(kBatchRowsCount); }
  double InferenceRows() const { return InferenceTotal(kBatchRowsSum); }
  double InferenceTotal(const std::string& name) const {
    if (inference_.empty()) return lead().Total(name);
    double total = 0;
    for (const Role& server : inference_) total += server.Total(name);
    return total;
  }
  // StartRole (supervising the env server while it waits), then (with
  // --prometheus) tells Prometheus the new ports. Cancelled, without
  // starting or while waiting, once `stop_` is notified: Ctrl-C stops a
  // run's start-up too.
  absl::Status Start(const std::string& name, Role& role);
  // What runs while `name` starts (Start): Cancelled once `stop_` is
  // notified; the env server is supervised meanwhile.
  std::function<absl::Status()> WhileStarting(const std::string& name);
  // Rewrites Prometheus' targets from every process's current metrics port.
  void UpdatePrometheusTargets();
  // With --prometheus_linger, keeps the dashboard up a while after the run;
  // then stops Prometheus.
  void StopPrometheus();
  void RefreshActorSteps();
  // Restarts a replay shard that ended, on its old ports so that the
  // actors' writers and the learner's sampler find it again.
  absl::Status SuperviseReplay();
  // Restarts the evaluator or an inference server when it ended, on its
  // old ports: actors and replay keep running and the actors' parameter
  // subscriptions (and inference streams) reconnect.
  absl::Status SuperviseCore(Role& role);
  // Restarts the learner when it ended, on its old ports; it resumes from
  // its checkpoint. With several ranks, one that ended ends the others too
  // (they would only fail at their next allreduce) and the whole group
  // starts again from rank 0's last checkpoint, on a new store port.
  absl::Status SuperviseLearners();
  // Starts every learner rank: rank 0 first, whose store binds a free port
  // (it writes which to a file); then the others, dialing it; then waits
  // for all of them, since rank 0 is ready only once the others have joined.
  absl::Status StartLearners();
  // Scrapes the learner and the inference servers.
  void RefreshLearner();
  // Scrapes the evaluator and takes its latest round (TakeEval).
  void RefreshEval();
  // The evaluator's latest round from its figures (`evaluator_.current`),
  // if it has finished one: the summary's.
  void TakeEval();
  // Every round the evaluator logged since the last call (its scalar log),
  // into the history, each at its own time and at the env steps and
  // updates interpolated to it up to `now`.
  void TakeEvalRounds(absl::Time now);
  std::string EvalLogPath() const { return run_dir_ + "/metrics/evaluator.jsonl"; }
  absl::Status SuperviseActors();
  // With env.remote.command: starts the env server and waits until it
  // listens (cli/env_server_role.h); nothing otherwise.
  absl::Status StartEnvServer(const std::string& logs);
  // Restarts the env server when it ended, on the address it had bound:
  // the actors' envs reconnect to it (env.remote.reconnect_seconds).
  absl::Status SuperviseEnvServer();
  void PrintProgress();
  // Waits, up to --final_eval_timeout, for the evaluator to finish a round
  // with the learner's final version. Returns what the summary says of it:
  // "done", "skipped: interrupted" (Ctrl-C meanwhile ends the wait at once)
  // or "timed out: ...".
  std::string FinalEvaluation();
  // Stops every process that was started, in three groups, each signalled
  // at once so that its processes drain in parallel, under one deadline
  // (--stop_timeout): actors and the evaluator, whose writes in flight are
  // acknowledged only while the learner still samples (the rate limiter
  // admits an insert per samples_per_insert sampled), for at most a
  // quarter of it; then the learner, the inference servers and the env
  // server (final checkpoint), up to half of it; then the replay shards
  // (final checkpoint). Actors still flushing once replay has stopped wait
  // for nothing more and are killed at once; whatever runs at the deadline
  // too. A killed process's figures are scraped first. Returns the names
  // of the killed processes.
  std::vector<std::string> StopAll();
  // Once every process has stopped: each role's figures from the final
  // metrics its process wrote as it exited (the last scrape for one that
  // wrote none), so that the summary holds the processes' own last counts.
  void ReadFinalFigures();
  // Starts Prometheus (with --prometheus), the env server (with
  // env.remote.command), the replay shards, the learner, the inference
  // servers, the actors and the evaluator, in that order, each waiting for
  // the one before it to be ready. Cancelled once `stop_` is notified.
  absl::Status StartAll(const std::string& logs);
  // Restarts what ended and prints progress every --progress_every until
  // the actors have spent the step budget (then a final evaluation) or
  // `stop_` is notified. Sets final_eval_.
  absl::Status Supervise();
  // The run's figures for the summary JSON.
  RunSummary Summary(const PlotFiles& plots, const std::vector<std::string>& killed) const;
  // Called when `role`'s child ended with `status`, before it is restarted:
  // Aborted, with the child's log, when it ended within kStartUpGrace of
  // becoming ready the same way (exit status) as its previous incarnation
  // did, which had also just started. Restarting it again would only repeat
  // the failure.
  absl::Status CheckRepeatedStartUpFailure(const std::string& name, const Role& role, int status);

  v1::ExperimentConfig config_;
  std::string run_dir_;
  RunIdentity identity_;
  // The earlier parts of a resumed run (zeros for a new one).
  RunProgress previous_;
  bool resumed_ = false;
  // How far the evaluator's scalar log has been read (a resumed run starts
  // after the earlier parts' rounds, which its history already holds).
  int64_t eval_log_offset_ = 0;
  absl::Notification& stop_;
  std::vector<Role> replays_;
  // The learner ranks, rank 0 first (one: the learner alone).
  std::vector<Role> learners_;
  // Restarts of the learner (of the whole group with several ranks).
  int learner_restarts_ = 0;
  Role evaluator_;
  // topology.num_inference_servers `rill inference` processes (central
  // inference outside the learner); none otherwise.
  std::vector<Role> inference_;
  std::vector<Role> actors_;
  std::unique_ptr<EnvServerRole> env_server_;     // with env.remote.command
  std::unique_ptr<PrometheusServer> prometheus_;  // with --prometheus
  absl::Time start_ = absl::Now();
  absl::Time last_progress_ = absl::Now();
  RunHistory history_;
  // Central inference: what the last progress line had seen of the batch
  // counters.
  double inference_rows_shown_ = 0, inference_batches_shown_ = 0;
  double eval_return_ = 0;
  double eval_episodes_ = 0;
  double eval_version_ = 0;
  // The evaluator's figures at the round that met --stop_at_eval_return.
  struct Evaluation {
    double return_mean = 0;
    double episodes = 0;
    double version = 0;
  };
  std::optional<Evaluation> reached_;
  bool have_eval_ = false;
  std::string final_eval_ = kSkippedInterrupted;
  // When the processes had all stopped, and how long stopping them took.
  absl::Time end_;
  absl::Duration stop_duration_;
  // When each role's current child became ready, and how its previous
  // child ended if that child failed its start-up (see
  // CheckRepeatedStartUpFailure).
  std::map<const Role*, absl::Time> ready_at_;
  std::map<const Role*, std::string> start_up_failure_;
};

absl::Status Launch::Start(const std::string& name, Role& role) {
  if (stop_.HasBeenNotified()) return absl::CancelledError(absl::StrCat("interrupted before ", name, " started"));
  absl::Status started = StartRole(name, role, absl::GetFlag(FLAGS_start_timeout), WhileStarting(name));
  ready_at_[&role] = absl::Now();
  UpdatePrometheusTargets();
  return started;
}

std::function<absl::Status()> Launch::WhileStarting(const std::string& name) {
  // Ctrl-C ends the wait; and an actor or the evaluator opens its envs
  // before it is ready: keep the env server up meanwhile, or one that
  // ended would hold it up until env.remote.reconnect_seconds.
  return [this, name]() -> absl::Status {
    if (stop_.HasBeenNotified()) return absl::CancelledError(absl::StrCat("interrupted while ", name, " started"));
    return env_server_ != nullptr ? SuperviseEnvServer() : absl::OkStatus();
  };
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
  for (size_t i = 0; i < learners_.size(); ++i) {
    add("learner", i == 0 ? "learner" : absl::StrCat("learner-", i), learners_[i]);
  }
  for (size_t i = 0; i < inference_.size(); ++i) add("inference", absl::StrCat("inference-", i), inference_[i]);
  for (size_t i = 0; i < actors_.size(); ++i) add("actor", absl::StrCat("actor-", i), actors_[i]);
  add("evaluator", "evaluator", evaluator_);
  for (const char* job : PrometheusServer::kJobs) {
    absl::Status written = prometheus_->SetTargets(job, jobs[job]);
    if (!written.ok()) RILL_LOG(WARNING) << "prometheus targets of " << job << ": " << written.message();
  }
}

void Launch::StopPrometheus() {
  if (prometheus_ == nullptr) return;
  const absl::Duration linger = absl::GetFlag(FLAGS_prometheus_linger);
  if (linger > absl::ZeroDuration() && !stop_.HasBeenNotified()) {
    std::printf("prometheus keeps serving %s for %s (Ctrl-C ends it)\n", prometheus_->DashboardUrl().c_str(),
                absl::FormatDuration(linger).c_str());
    std::fflush(stdout);
    stop_.WaitForNotificationWithTimeout(linger);
  }
  prometheus_->Stop(absl::Seconds(30));
  std::printf("prometheus stopped; its data stays in %s\n", prometheus_->data_dir().c_str());
  std::fflush(stdout);
  prometheus_.reset();
}

void Launch::RefreshActorSteps() {
  for (Role& actor : actors_) {
    if (actor.process == nullptr || actor.finished) continue;
    ScrapeInto(actor);
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
    CountEndedProcess(shard);
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
  CountEndedProcess(role);
  ++role.restarts;
  RILL_LOG(WARNING) << name << " ended (" << ChildProcess::DescribeStatus(*status) << "); restarting it (restart "
                    << role.restarts << ") on port " << role.grpc_port;
  std::printf("%s ended (%s); restarting it on port %d\n", name.c_str(), ChildProcess::DescribeStatus(*status).c_str(),
              role.grpc_port);
  std::fflush(stdout);
  PinPorts(role);
  return Start(name, role);
}

absl::Status Launch::SuperviseLearners() {
  Role* ended = nullptr;
  std::optional<int> status;
  for (Role& rank : learners_) {
    if (rank.process == nullptr) continue;
    status = rank.process->Poll();
    if (status.has_value()) {
      ended = &rank;
      break;
    }
  }
  if (ended == nullptr) return absl::OkStatus();
  const std::string name = ended->process->name();
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == roles::kExitBadInput) {
    return absl::InvalidArgumentError(absl::StrCat(name, " rejected its input (", ChildProcess::DescribeStatus(*status),
                                                   "):\n", ended->process->LogTail(15)));
  }
  RETURN_IF_ERROR(CheckRepeatedStartUpFailure(name, *ended, *status));
  const std::string what = learners_.size() > 1 ? "the learner group" : "the learner";
  if (learner_restarts_ >= absl::GetFlag(FLAGS_max_learner_restarts)) {
    return absl::AbortedError(absl::StrCat(what, " ended ", learner_restarts_ + 1, " times; last: ", name, " ",
                                           ChildProcess::DescribeStatus(*status), "; its log ends with:\n",
                                           ended->process->LogTail(15)));
  }
  ++learner_restarts_;
  RILL_LOG(WARNING) << name << " ended (" << ChildProcess::DescribeStatus(*status) << "); restarting " << what
                    << " (restart " << learner_restarts_ << ")";
  if (learners_.size() > 1) {
    // The other ranks would only fail at their next collective: stop them
    // now (rank 0 checkpoints as it goes), killing what still runs after
    // half of --stop_timeout.
    std::printf("%s ended (%s); stopping the other learner ranks to restart the group from rank 0's last "
                "checkpoint\n",
                name.c_str(), ChildProcess::DescribeStatus(*status).c_str());
    std::fflush(stdout);
    std::vector<ChildProcess*> others;
    for (Role& rank : learners_) {
      if (&rank == ended || rank.process == nullptr || rank.process->Poll().has_value()) continue;
      rank.process->Signal(SIGTERM);
      others.push_back(rank.process.get());
    }
    if (!ChildProcess::WaitAll(others, absl::Now() + absl::GetFlag(FLAGS_stop_timeout) / 2)) {
      for (ChildProcess* rank : others) {
        if (rank->running()) rank->Kill();
      }
    }
  }
  for (Role& rank : learners_) {
    CountEndedProcess(rank);
    PinPorts(rank);
  }
  if (learners_.size() > 1) {
    std::printf("%s ended (%s); restarting the learner group on port %d; it resumes from rank 0's last checkpoint\n",
                name.c_str(), ChildProcess::DescribeStatus(*status).c_str(), lead().grpc_port);
  } else {
    std::printf("%s ended (%s); restarting it on port %d; it resumes from its last checkpoint\n", name.c_str(),
                ChildProcess::DescribeStatus(*status).c_str(), lead().grpc_port);
  }
  std::fflush(stdout);
  return StartLearners();
}

absl::Status Launch::StartLearners() {
  if (learners_.size() == 1) return Start("learner", lead());
  if (stop_.HasBeenNotified()) return absl::CancelledError("interrupted before the learner ranks started");
  // Rank 0 binds its store to a free port and writes which to a file: a
  // port picked here and handed to it could be taken meanwhile (by another
  // rank's own connections among others).
  const std::string port_file = run_dir_ + "/logs/learner-store-port";
  std::error_code error;
  std::filesystem::remove(port_file, error);
  lead().args.back() = "--store=127.0.0.1:0";
  lead().args.push_back(absl::StrCat("--store_port_file=", port_file));
  absl::Status spawned = SpawnRole("learner/0", lead());
  lead().args.pop_back();
  RETURN_IF_ERROR(spawned);
  const absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_start_timeout);
  const std::function<absl::Status()> meanwhile = WhileStarting("learner/0");
  int store_port = 0;
  while (true) {
    std::ifstream in(port_file);
    if (in >> store_port && store_port > 0) break;
    if (const std::optional<int> status = lead().process->Poll(); status.has_value()) {
      const std::string why = absl::StrCat("learner/0 exited before its group's store listened (",
                                           ChildProcess::DescribeStatus(*status), "); its log ends with:\n",
                                           lead().process->LogTail(15));
      // A refused flag or config fails the run as a bad input.
      return WIFEXITED(*status) && WEXITSTATUS(*status) == roles::kExitBadInput ? absl::InvalidArgumentError(why)
                                                                               : absl::FailedPreconditionError(why);
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("learner/0's group store did not listen within ",
                                                      absl::FormatDuration(absl::GetFlag(FLAGS_start_timeout)),
                                                      "; its log ends with:\n", lead().process->LogTail(15)));
    }
    RETURN_IF_ERROR(meanwhile());
    absl::SleepFor(absl::Milliseconds(20));  // the next look at the file: nothing notifies it
  }
  for (size_t rank = 1; rank < learners_.size(); ++rank) {
    learners_[rank].args.back() = absl::StrCat("--store=127.0.0.1:", store_port);
    RETURN_IF_ERROR(SpawnRole(absl::StrCat("learner/", rank), learners_[rank]));
  }
  // Rank 0 is ready once every rank has joined it.
  for (size_t rank = 0; rank < learners_.size(); ++rank) {
    const std::string name = absl::StrCat("learner/", rank);
    absl::Status ready = AwaitRole(name, learners_[rank], std::max(absl::Seconds(1), deadline - absl::Now()),
                                   WhileStarting(name));
    ready_at_[&learners_[rank]] = absl::Now();
    if (!ready.ok()) return ready;
  }
  UpdatePrometheusTargets();
  return absl::OkStatus();
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
      // A clean exit means its step budget is spent: its own final count,
      // or without one the budget, exactly.
      if (!ReadFinalMetrics(actor) || !HasMetric(actor.current, kEnvStepsTotal)) {
        actor.current = {{kEnvStepsTotal, static_cast<double>(actor.budget) - SumMetric(actor.ended, kEnvStepsTotal)}};
      }
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
    CountEndedProcess(actor);
    ++actor.restarts;
    const int64_t steps_left = actor.budget - static_cast<int64_t>(SumMetric(actor.ended, kEnvStepsTotal));
    RILL_LOG(WARNING) << name << " ended (" << ChildProcess::DescribeStatus(*status) << "); restarting it (restart "
                      << actor.restarts << ") with " << steps_left << " steps left";
    if (actor.budget > 0) actor.args.back() = absl::StrCat("--actor_max_env_steps=", std::max<int64_t>(1, steps_left));
    absl::Status started = Start(name, actor);
    if (!started.ok()) return started;
  }
  return absl::OkStatus();
}

void Launch::RefreshLearner() {
  for (Role& rank : learners_) ScrapeInto(rank);
  for (Role& server : inference_) ScrapeInto(server);
}

void Launch::RefreshEval() {
  ScrapeInto(evaluator_);
  TakeEval();
}

void Launch::TakeEval() {
  const MetricSamples& eval = evaluator_.current;
  const double rounds = SumMetric(eval, "rill_eval_rounds_total");
  if (rounds <= 0) return;
  have_eval_ = true;
  eval_return_ = SumMetric(eval, "rill_eval_return_mean");
  eval_episodes_ = SumMetric(eval, "rill_eval_episodes_total");
  eval_version_ = SumMetric(eval, "rill_eval_parameter_version");
}

void Launch::TakeEvalRounds(absl::Time now) {
  int64_t next = eval_log_offset_;
  const double now_seconds = absl::ToDoubleSeconds(now - start_);
  const int64_t env_steps = EnvSteps();
  const double updates = LearnerUpdates();
  for (const std::map<std::string, double>& round : ReadScalarLog(EvalLogPath(), eval_log_offset_, &next)) {
    if (round.count("time") == 0 || round.count("return_mean") == 0) continue;
    RunHistory::Evaluation evaluation;
    evaluation.seconds = absl::ToDoubleSeconds(absl::UnixEpoch() + absl::Seconds(round.at("time")) - start_);
    std::tie(evaluation.env_steps, evaluation.learner_updates) =
        history_.Interpolate(evaluation.seconds, now_seconds, env_steps, updates);
    evaluation.parameter_version = round.count("parameter_version") > 0 ? round.at("parameter_version") : 0;
    evaluation.return_mean = round.at("return_mean");
    history_.AddEvaluation(evaluation);
  }
  eval_log_offset_ = next;
}

void Launch::SaveProgress() {
  RunProgress progress = previous_;
  progress.env_steps = EnvSteps();
  progress.learner_updates = LearnerUpdates();
  progress.wall_seconds = absl::ToDoubleSeconds(absl::Now() - start_);
  progress.started_at = identity_.started_at;
  absl::Status saved = WriteFileAtomically(run_dir_ + "/progress.json", ProgressJson(progress) + "\n");
  if (saved.ok()) saved = history_.WriteCsv(run_dir_ + "/plots");
  if (saved.ok()) saved = WriteRunReport(run_dir_);
  if (!saved.ok()) RILL_LOG(WARNING) << "the run's progress could not be saved: " << saved.message();
}

void Launch::PrintProgress() {
  const absl::Time now = absl::Now();
  RefreshLearner();
  RefreshEval();
  TakeEvalRounds(now);
  const RunHistory::Progress& row = history_.AddProgress(now - start_, EnvSteps(), LearnerUpdates());
  SaveProgress();
  std::string line = absl::StrFormat("[%6.1fs] env steps %s (%.0f/s) | updates %s (%.0f/s)", row.seconds,
                                     FormatCount(static_cast<double>(row.env_steps)), row.env_steps_per_second,
                                     FormatCount(row.learner_updates), row.updates_per_second);
  int shards_up = 0;
  double replay_items = 0;
  for (Role& shard : replays_) {
    if (!ScrapeInto(shard) || !HasMetric(shard.current, "rill_replay_table_size")) continue;
    ++shards_up;
    replay_items += SumMetric(shard.current, "rill_replay_table_size");
  }
  absl::StrAppendFormat(&line, " | replay %d/%d shards up, %s items", shards_up, static_cast<int>(replays_.size()),
                        FormatCount(replay_items));
  const double inference_batches = InferenceBatches(), inference_rows = InferenceRows();
  if (inference_batches > inference_batches_shown_) {
    // Central inference: the mean batch since the last line.
    absl::StrAppendFormat(&line, " | inference batch %.1f",
                          (inference_rows - inference_rows_shown_) / (inference_batches - inference_batches_shown_));
  }
  inference_rows_shown_ = inference_rows;
  inference_batches_shown_ = inference_batches;
  // Every kind of process the launcher restarted, once it has restarted one.
  std::vector<std::string> restarts;
  const auto add_restarts = [&restarts](const char* kind, int count) {
    if (count > 0) restarts.push_back(absl::StrCat(kind, " ", count));
  };
  add_restarts("actors", Restarts(actors_));
  add_restarts("replay", Restarts(replays_));
  add_restarts(learners_.size() > 1 ? "learner group" : "learner", learner_restarts_);
  add_restarts("evaluator", evaluator_.restarts);
  add_restarts("inference", Restarts(inference_));
  add_restarts("env server", env_server_ != nullptr ? env_server_->restarts() : 0);
  if (!restarts.empty()) absl::StrAppend(&line, " | restarts: ", absl::StrJoin(restarts, ", "));
  if (have_eval_) {
    absl::StrAppendFormat(&line, " | eval return %.1f (version %.0f)", eval_return_, eval_version_);
  } else {
    line += " | eval return -";
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  last_progress_ = now;
}

std::string Launch::FinalEvaluation() {
  // The learner goes on until the rate limiter holds it (actors have stopped
  // inserting); then its newest version is final. Wait for the evaluator to
  // finish a round with that version.
  const absl::Duration timeout = absl::GetFlag(FLAGS_final_eval_timeout);
  const absl::Time deadline = absl::Now() + timeout;
  double version = -1;
  absl::Time stable_since = absl::Now();
  while (absl::Now() < deadline) {
    RefreshLearner();
    const double current = SumMetric(lead().current, "rill_learner_parameter_version");
    if (current != version) {
      version = current;
      stable_since = absl::Now();
    }
    RefreshEval();
    if (absl::Now() - stable_since >= absl::Seconds(1) && eval_version_ >= version) return "done";
    if (stop_.WaitForNotificationWithTimeout(kTick)) return kSkippedInterrupted;
  }
  RILL_LOG(WARNING) << "no evaluation of the final version " << version << " within "
                    << absl::FormatDuration(timeout) << "; reporting version " << eval_version_;
  return absl::StrFormat("timed out: no round of the final version %.0f within %s", version,
                         absl::FormatDuration(timeout));
}

std::vector<std::string> Launch::StopAll() {
  const absl::Duration timeout = absl::GetFlag(FLAGS_stop_timeout);
  const absl::Time begin = absl::Now(), deadline = begin + timeout;
  std::vector<Role*> steppers = {&evaluator_};
  for (Role& actor : actors_) steppers.push_back(&actor);
  std::vector<Role*> servers;
  for (Role& rank : learners_) servers.push_back(&rank);
  for (Role& server : inference_) servers.push_back(&server);
  std::vector<Role*> shards;
  for (Role& shard : replays_) shards.push_back(&shard);
  int stopped = 0;
  // SIGTERM to every process of `roles` at once; returns them.
  const auto signal = [&stopped](const std::vector<Role*>& roles) {
    std::vector<ChildProcess*> group;
    for (Role* role : roles) {
      if (role->process != nullptr) group.push_back(role->process.get());
    }
    for (ChildProcess* child : group) child->Signal(SIGTERM);
    stopped += static_cast<int>(group.size());
    return group;
  };
  std::vector<std::string> killed;
  // Kills what still runs of `roles`, reading its figures first while
  // there is time: it still serves /metrics, and counts nothing new once
  // it has stopped working.
  const auto kill = [&killed, deadline](const std::vector<Role*>& roles) {
    for (Role* role : roles) {
      if (role->process == nullptr || role->process->Poll().has_value()) continue;
      if (absl::Now() < deadline) ScrapeInto(*role);
      killed.push_back(role->process->name());
      role->process->Kill();
    }
  };

  // Waits for `group` until `until`, saying once a second after the first
  // which processes it still waits for: a stop under load is not silent.
  absl::Time next_note = begin + absl::Seconds(1);
  const auto wait = [&next_note, begin, deadline, timeout](const std::vector<ChildProcess*>& group, absl::Time until) {
    while (!ChildProcess::WaitAll(group, std::min(until, next_note)) && absl::Now() < until) {
      std::vector<std::string> running;
      for (ChildProcess* child : group) {
        if (child->running()) running.push_back(child->name());
      }
      if (running.empty()) return;
      std::printf("stopping (%.0fs): waiting for %s; what still runs at %.0fs (--stop_timeout) is killed\n",
                  absl::ToDoubleSeconds(absl::Now() - begin), absl::StrJoin(running, ", ").c_str(),
                  absl::ToDoubleSeconds(timeout));
      std::fflush(stdout);
      next_note = std::min(deadline, absl::Now() + absl::Seconds(1));
    }
  };

  wait(signal(steppers), begin + timeout / 4);
  const std::vector<ChildProcess*> server_group = signal(servers);
  // The last of the env steppers' peers; it stops beside the learner.
  if (env_server_ != nullptr) env_server_->Stop(std::max(absl::ZeroDuration(), begin + timeout / 2 - absl::Now()));
  wait(server_group, begin + timeout / 2);
  wait(signal(shards), deadline);
  // An actor still flushing now waits for a replay that has gone.
  kill(steppers);
  wait(server_group, deadline);
  kill(servers);
  kill(shards);
  stop_duration_ = absl::Now() - begin;
  if (killed.empty()) {
    std::printf("%d processes stopped in %.1fs\n", stopped, absl::ToDoubleSeconds(stop_duration_));
  } else {
    std::printf("%d processes stopped in %.1fs; killed %s (still writing once replay had stopped, or running at "
                "the %s deadline, --stop_timeout)\n",
                stopped, absl::ToDoubleSeconds(stop_duration_), absl::StrJoin(killed, ", ").c_str(),
                absl::FormatDuration(timeout).c_str());
  }
  std::fflush(stdout);
  return killed;
}

void Launch::ReadFinalFigures() {
  std::vector<std::string> missing;
  const auto read = [&missing](Role& role) {
    if (role.process != nullptr && !ReadFinalMetrics(role)) missing.push_back(role.process->name());
  };
  for (Role& actor : actors_) {
    if (!actor.finished) read(actor);  // a finished actor's were read as it exited
  }
  for (Role& shard : replays_) read(shard);
  for (Role& rank : learners_) read(rank);
  for (Role& server : inference_) read(server);
  read(evaluator_);
  TakeEval();
  if (!missing.empty()) {
    RILL_LOG(WARNING) << "no final metrics from " << absl::StrJoin(missing, ", ")
                      << " (killed, or ended before serving metrics); the summary counts what they last served "
                         "on /metrics";
  }
}

absl::Status Launch::StartAll(const std::string& logs) {
  const int num_actors = config_.topology().num_actors();
  // What is left of the budget (LaunchMain refuses a resumed run with none).
  const int64_t max_steps =
      config_.max_env_steps() > 0 ? std::max<int64_t>(1, config_.max_env_steps() - previous_.env_steps) : 0;
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
    const std::string file = num_shards == 1 ? "replay" : absl::StrCat("replay-", i);
    shard.log_path = absl::StrCat(logs, "/", file, ".log");
    shard.final_metrics_path = FinalMetricsPath(file);
    absl::Status started = Start(absl::StrCat("replay/", i), shard);
    if (!started.ok()) return started;
    shard_addresses.push_back(absl::StrCat("127.0.0.1:", shard.grpc_port));
  }
  // Every shard, in shard order: writers pick their home shard by actor
  // id, the learner samples them all.
  const std::string replay_address = absl::StrJoin(shard_addresses, ",");

  for (size_t rank = 0; rank < learners_.size(); ++rank) {
    Role& learner = learners_[rank];
    learner.args = CommonArgs();
    learner.args.insert(learner.args.begin(), "learner");
    learner.args.push_back(absl::StrCat("--replay_address=", replay_address));
    // Rank 0 alone checkpoints and logs its scalars (the ranks train in step).
    if (rank == 0) {
      learner.args.push_back(absl::StrCat("--checkpoint_dir=", run_dir_, "/checkpoints/learner"));
      learner.args.push_back(absl::StrCat("--scalars_file=", run_dir_, "/metrics/learner.jsonl"));
    }
    if (config_.learner().num_threads() == 0) {
      learner.args.push_back(absl::StrCat("--learner_threads=", LearnerThreads(config_)));
    }
    const std::string file = rank == 0 ? "learner" : absl::StrCat("learner-", rank);
    learner.log_path = absl::StrCat(logs, "/", file, ".log");
    learner.final_metrics_path = FinalMetricsPath(file);
    if (learners_.size() > 1) {
      learner.args.push_back(absl::StrCat("--world_size=", learners_.size()));
      learner.args.push_back(absl::StrCat("--rank=", rank));
      // Last: a restart of the group gives it a new store port.
      learner.args.push_back("--store=");
    }
  }
  absl::Status started = StartLearners();
  if (!started.ok()) return started;
  const std::string learner_address = absl::StrCat("127.0.0.1:", lead().grpc_port);

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
    server.final_metrics_path = FinalMetricsPath(absl::StrCat("inference-", i));
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
    actor.args.push_back(absl::StrCat("--scalars_file=", run_dir_, "/metrics/actor-", i, ".jsonl"));
    // Last: a restart rewrites it with the steps left.
    actor.args.push_back(absl::StrCat("--actor_max_env_steps=", actor.budget));
    actor.log_path = absl::StrCat(logs, "/actor-", i, ".log");
    actor.final_metrics_path = FinalMetricsPath(absl::StrCat("actor-", i));
    started = Start(absl::StrCat("actor/", i), actor);
    if (!started.ok()) return started;
  }
  evaluator_.args = CommonArgs();
  evaluator_.args.insert(evaluator_.args.begin(), "actor");
  evaluator_.args.push_back(absl::StrCat("--replay_address=", replay_address));
  evaluator_.args.push_back(absl::StrCat("--learner_address=", learner_address));
  evaluator_.args.push_back("--eval");
  evaluator_.args.push_back(absl::StrCat("--scalars_file=", EvalLogPath()));
  evaluator_.args.push_back(absl::StrCat("--video_dir=", run_dir_, "/videos"));
  evaluator_.args.insert(evaluator_.args.end(), env_args.begin(), env_args.end());
  evaluator_.log_path = logs + "/evaluator.log";
  evaluator_.final_metrics_path = FinalMetricsPath("evaluator");
  started = Start("evaluator", evaluator_);
  if (!started.ok()) return started;
  std::printf("all processes ready after %.1fs: replay %s, learner :%d\n",
              absl::ToDoubleSeconds(absl::Now() - start_), replay_address.c_str(), lead().grpc_port);
  std::fflush(stdout);

  return absl::OkStatus();
}

absl::Status Launch::Supervise() {
  const int64_t max_steps = config_.max_env_steps();
  const absl::Duration progress_every = absl::GetFlag(FLAGS_progress_every);
  const double stop_at = absl::GetFlag(FLAGS_stop_at_eval_return);
  absl::Time next_target_check = absl::Now();
  while (!stop_.WaitForNotificationWithTimeout(kTick)) {
    absl::Status env_server_supervised = SuperviseEnvServer();
    if (!env_server_supervised.ok()) return env_server_supervised;
    absl::Status replay_supervised = SuperviseReplay();
    if (!replay_supervised.ok()) return replay_supervised;
    absl::Status learners_supervised = SuperviseLearners();
    if (!learners_supervised.ok()) return learners_supervised;
    absl::Status evaluator_supervised = SuperviseCore(evaluator_);
    if (!evaluator_supervised.ok()) return evaluator_supervised;
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
      final_eval_ = FinalEvaluation();
      return absl::OkStatus();
    }
    if (!std::isnan(stop_at) && absl::Now() >= next_target_check) {
      next_target_check = absl::Now() + absl::Seconds(1);
      RefreshEval();
      if (have_eval_ && eval_return_ >= stop_at) {
        // The round that reached the target is the run's evaluation: the
        // progress line below, and the evaluator's final metrics at the
        // stop, may read a later round that scored less.
        reached_ = Evaluation{eval_return_, eval_episodes_, eval_version_};
        RefreshActorSteps();
        PrintProgress();
        std::printf("evaluation of version %.0f returned %.3f >= %g (--stop_at_eval_return) after %s env steps; "
                    "stopping\n",
                    reached_->version, reached_->return_mean, stop_at,
                    FormatCount(static_cast<double>(EnvSteps())).c_str());
        std::fflush(stdout);
        final_eval_ = absl::StrFormat("target reached: %.3f >= %g", reached_->return_mean, stop_at);
        return absl::OkStatus();
      }
    }
  }
  final_eval_ = kSkippedInterrupted;
  return absl::OkStatus();
}

RunSummary Launch::Summary(const PlotFiles& plots, const std::vector<std::string>& killed) const {
  RunSummary summary;
  summary.env_steps = static_cast<double>(EnvSteps());
  summary.learner_updates = LearnerUpdates();
  summary.identity = identity_;
  summary.resumes = previous_.resumes;
  summary.wall_seconds = absl::ToDoubleSeconds(end_ - start_);
  for (const Role& shard : replays_) summary.replay_items_inserted += shard.Total(kItemsInsertedTotal);
  if (reached_.has_value()) {
    summary.eval_return_mean = reached_->return_mean;
    summary.eval_episodes = reached_->episodes;
    summary.eval_parameter_version = reached_->version;
  } else {
    if (have_eval_) summary.eval_return_mean = eval_return_;
    summary.eval_episodes = eval_episodes_;
    summary.eval_parameter_version = eval_version_;
  }
  summary.final_eval = final_eval_;
  const double stop_at = absl::GetFlag(FLAGS_stop_at_eval_return);
  if (!std::isnan(stop_at)) summary.stop_at_eval_return = stop_at;
  summary.num_actors = static_cast<int>(actors_.size());
  summary.actor_restarts = Restarts(actors_);
  summary.replay_shards = static_cast<int>(replays_.size());
  summary.replay_restarts = Restarts(replays_);
  summary.learner_restarts = learner_restarts_;
  summary.num_learners = static_cast<int>(learners_.size());
  summary.evaluator_restarts = evaluator_.restarts;
  if (env_server_ != nullptr) summary.env_server_restarts = env_server_->restarts();
  if (InferenceBatches() > 0) summary.inference_batch_rows_mean = InferenceRows() / InferenceBatches();
  summary.inference_servers = static_cast<int>(inference_.size());
  summary.inference_restarts = Restarts(inference_);
  summary.stop_seconds = absl::ToDoubleSeconds(stop_duration_);
  summary.killed_at_stop = killed;
  summary.run_dir = run_dir_;
  summary.plots = plots;
  summary.videos = ListVideos(run_dir_);
  return summary;
}

int Launch::Run() {
  const std::string logs = run_dir_ + "/logs";
  std::error_code error;
  std::filesystem::create_directories(logs, error);
  if (!error) std::filesystem::create_directories(run_dir_ + "/final-metrics", error);
  if (error) {
    return roles::ExitWith("run folder", absl::PermissionDeniedError(
                                             absl::StrCat("cannot create folders in '", run_dir_, "': ", error.message())));
  }
  // What runs, before anything starts: a run that never ends still says.
  absl::Status described = WriteFileAtomically(run_dir_ + "/run.json", IdentityJson(identity_) + "\n");
  if (!described.ok()) return roles::ExitWith("run folder", described);
  const int num_actors = config_.topology().num_actors();
  const int64_t max_steps = config_.max_env_steps();
  std::printf("rill launch: %s, %d replay shard(s), %d actors, %s env steps; logs in %s\n", config_.env().name().c_str(),
              config_.topology().num_replay_shards(), num_actors,
              max_steps > 0 ? FormatCount(static_cast<double>(max_steps)).c_str() : "unlimited", logs.c_str());
  if (config_.learner().num_threads() == 0 && config_.learner().device() != v1::LearnerConfig::CUDA) {
    if (learners_.size() > 1) {
      std::printf("learner: %d ranks of %d CPU threads each, their share of the cores the actors leave (%u cores; "
                  "learner.num_threads sets them)\n",
                  static_cast<int>(learners_.size()), LearnerThreads(config_),
                  std::max(1u, std::thread::hardware_concurrency()));
    } else {
      std::printf("learner: %d CPU threads, the cores the actors leave it (%u cores; learner.num_threads sets them)\n",
                  LearnerThreads(config_), std::max(1u, std::thread::hardware_concurrency()));
    }
  }
  if (resumed_) {
    // The plots go on from the earlier parts' history.
    absl::Status read = history_.ReadCsv(run_dir_ + "/plots");
    if (!read.ok()) RILL_LOG(WARNING) << "the earlier history is not in the plots: " << read.message();
    const std::string learner = std::filesystem::exists(run_dir_ + "/checkpoints/learner/latest")
                                    ? "the learner from its last checkpoint"
                                    : "the learner from scratch (no checkpoint)";
    const std::string replay = config_.replay().durability().mode() != v1::DurabilityConfig::NONE
                                   ? absl::StrCat("replay from its ", v1::DurabilityConfig::Mode_Name(
                                                                         config_.replay().durability().mode()),
                                                  " files")
                                   : "replay empty (its tables are not durable: replay.durability.mode NONE)";
    std::printf("resuming (part %d) after %s env steps and %s updates in %.0fs: %s, %s, no warm-up\n",
                previous_.resumes + 1, FormatCount(static_cast<double>(previous_.env_steps)).c_str(),
                FormatCount(previous_.learner_updates).c_str(), previous_.wall_seconds, learner.c_str(),
                replay.c_str());
  }
  std::fflush(stdout);

  absl::Status status = StartAll(logs);
  const bool all_ready = status.ok();  // every process started; the metric history began
  if (all_ready) status = Supervise();
  if (absl::IsCancelled(status) && stop_.HasBeenNotified()) {
    // Ctrl-C while a process was (re)starting: an interrupted run, not a failed one.
    final_eval_ = kSkippedInterrupted;
    status = absl::OkStatus();
  }
  if (stop_.HasBeenNotified()) {
    std::printf("interrupted%s; stopping all processes\n", all_ready ? "" : " while starting");
    std::fflush(stdout);
  }
  const std::vector<std::string> killed = StopAll();
  end_ = absl::Now();
  ReadFinalFigures();
  // The history's last row holds the figures of the summary.
  if (all_ready) {
    TakeEvalRounds(end_);
    history_.AddProgress(end_ - start_, EnvSteps(), LearnerUpdates());
    SaveProgress();
  }
  // Drawn once the run's processes have stopped, so that Python has the
  // machine to itself; for a failed or interrupted run too, as far as it got.
  const PlotFiles plots = all_ready ? WritePlots(history_, run_dir_, absl::GetFlag(FLAGS_plot_python)) : PlotFiles{};
  StopPrometheus();
  if (!status.ok()) {
    RefreshRunReport(run_dir_);  // as far as the run got, with the plots just drawn
    std::fprintf(stderr, "rill launch failed: %s\n", std::string(status.message()).c_str());
    return absl::IsInvalidArgument(status) ? roles::kExitBadInput : roles::kExitFailure;
  }
  absl::Status written = WriteRunSummary(Summary(plots, killed), run_dir_);
  if (!written.ok()) return roles::ExitWith("summary", written);
  return 0;
}

// OK when `config` is the config of the run in `run_dir` (its
// config.textpb) but for what a continued run may change: the step budget
// and the number of actors. InvalidArgument naming the first difference
// otherwise: relaunching into another run's folder must not mix two runs.
absl::Status CheckSameRun(const v1::ExperimentConfig& config, const std::string& run_dir) {
  absl::StatusOr<v1::ExperimentConfig> stored = experiment::LoadExperimentConfig(run_dir + "/config.textpb");
  if (!stored.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("'", run_dir, "' holds a run whose config cannot be read (",
                                                   stored.status().message(), "): choose another --run_dir"));
  }
  v1::ExperimentConfig mine = config;
  for (v1::ExperimentConfig* each : {&mine, &*stored}) {
    each->clear_max_env_steps();
    each->mutable_topology()->clear_num_actors();
  }
  std::string difference;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&difference);
  if (differencer.Compare(*stored, mine)) return absl::OkStatus();
  const std::string first = difference.substr(0, difference.find('\n'));
  return absl::InvalidArgumentError(absl::StrCat(
      "'", run_dir, "' holds a run of another config (", first,
      "): continue that run with --resume=", run_dir, " (its own config), or choose another --run_dir"));
}

// The run's identity (cli/run_summary.h) for the finalized `config`
// written to `config_file`.
RunIdentity DescribeRun(const v1::ExperimentConfig& config, const std::string& config_file) {
  RunIdentity identity;
  identity.config_name = config.name();
  identity.config_file = config_file;
  identity.env = config.env().name();
  absl::StatusOr<const learner::AlgorithmSpec*> algorithm = learner::FindAlgorithmSpec(config.learner());
  identity.algorithm = algorithm.ok() ? (*algorithm)->name : "";
  identity.seed = config.seed();
  identity.rill_commit = BuildCommit();
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) identity.host = host;
  identity.started_at = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  // The command line as typed, from /proc (LaunchMain has no argv).
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string arg;
  while (std::getline(in, arg, '\0')) identity.command_line.push_back(arg);
  return identity;
}

// `rill launch --deterministic`: the run in this process
// (roles/lockstep_run.h), with the run folder, progress lines, plots and
// summary of a launched run.
int LaunchDeterministic(const v1::ExperimentConfig& config, const std::string& run_dir, RunIdentity identity,
                        const absl::Notification& stop) {
  const absl::Time start = absl::Now();
  absl::Status described = WriteFileAtomically(run_dir + "/run.json", IdentityJson(identity) + "\n");
  if (!described.ok()) return roles::ExitWith("run folder", described);
  std::printf("rill launch --deterministic: %s, one actor (%d envs), its table and the learner in this process, "
              "%s env steps, seed %llu; files in %s\n",
              config.env().name().c_str(), config.actor().num_envs(),
              FormatCount(static_cast<double>(config.max_env_steps())).c_str(),
              static_cast<unsigned long long>(config.seed()), run_dir.c_str());
  std::fflush(stdout);
  RunHistory history;
  roles::LockstepOptions options;
  options.config = config;
  options.run_dir = run_dir;
  options.progress_every = absl::GetFlag(FLAGS_progress_every);
  options.on_progress = [&history, start](int64_t env_steps, int64_t updates) {
    const RunHistory::Progress& row = history.AddProgress(absl::Now() - start, env_steps, static_cast<double>(updates));
    std::printf("[%6.1fs] env steps %s (%.0f/s) | updates %s (%.0f/s)\n", row.seconds,
                FormatCount(static_cast<double>(row.env_steps)).c_str(), row.env_steps_per_second,
                FormatCount(row.learner_updates).c_str(), row.updates_per_second);
    std::fflush(stdout);
  };
  absl::StatusOr<roles::LockstepResult> result = roles::RunLockstep(options, stop);
  if (!result.ok()) {
    RefreshRunReport(run_dir);
    std::fprintf(stderr, "rill launch failed: %s\n", std::string(result.status().message()).c_str());
    return absl::IsInvalidArgument(result.status()) ? roles::kExitBadInput : roles::kExitFailure;
  }
  const absl::Time end = absl::Now();
  history.AddProgress(end - start, result->env_steps, static_cast<double>(result->learner_updates));
  if (result->eval_return_mean.has_value()) {
    RunHistory::Evaluation evaluation;
    evaluation.seconds = absl::ToDoubleSeconds(end - start);
    evaluation.env_steps = result->env_steps;
    evaluation.learner_updates = static_cast<double>(result->learner_updates);
    evaluation.parameter_version = static_cast<double>(result->eval_parameter_version);
    evaluation.return_mean = *result->eval_return_mean;
    history.AddEvaluation(evaluation);
  }
  RunSummary summary;
  summary.identity = std::move(identity);
  summary.env_steps = static_cast<double>(result->env_steps);
  summary.learner_updates = static_cast<double>(result->learner_updates);
  summary.replay_items_inserted = static_cast<double>(result->items_inserted);
  summary.wall_seconds = absl::ToDoubleSeconds(end - start);
  summary.eval_return_mean = result->eval_return_mean;
  summary.eval_episodes = result->eval_episodes;
  summary.eval_parameter_version = static_cast<double>(result->eval_parameter_version);
  summary.final_eval = result->final_eval;
  summary.num_actors = 1;
  summary.replay_shards = 1;
  summary.run_dir = run_dir;
  summary.deterministic = true;
  summary.policy_digest = result->policy_digest;
  summary.plots = WritePlots(history, run_dir, absl::GetFlag(FLAGS_plot_python));
  absl::Status written = WriteRunSummary(summary, run_dir);
  if (!written.ok()) return roles::ExitWith("summary", written);
  return 0;
}

}  // namespace

int LaunchMain() {
  absl::Notification& stop = InstallShutdownSignals();
  SetLogRole("launch");
  // --resume=DIR continues that run with its own config.
  const std::string resume = absl::GetFlag(FLAGS_resume);
  std::string run_dir = absl::GetFlag(FLAGS_run_dir);
  if (absl::GetFlag(FLAGS_deterministic) && !resume.empty()) {
    return roles::ExitWith("flags", absl::InvalidArgumentError(
                                        "--deterministic and --resume: a deterministic run starts from scratch"));
  }
  if (!resume.empty() && !run_dir.empty() &&
      std::filesystem::weakly_canonical(run_dir) != std::filesystem::weakly_canonical(resume)) {
    return roles::ExitWith("flags", absl::InvalidArgumentError(absl::StrCat(
                                        "--resume=", resume, " and --run_dir=", run_dir,
                                        " name two folders: --resume alone continues the run in its folder")));
  }
  if (!resume.empty()) {
    run_dir = resume;
    if (!std::filesystem::exists(run_dir + "/config.textpb")) {
      return roles::ExitWith("flags", absl::NotFoundError(absl::StrCat(
                                          "no run to resume in '", resume, "': it has no config.textpb (--resume "
                                          "takes the folder a `rill launch` made, its --run_dir)")));
    }
  }
  absl::StatusOr<v1::ExperimentConfig> config =
      resume.empty() ? roles::LoadConfigFromFlags() : experiment::LoadExperimentConfig(run_dir + "/config.textpb");
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
  if (absl::GetFlag(FLAGS_num_learners) == 0 || absl::GetFlag(FLAGS_num_learners) < -1) {
    return roles::ExitWith("flags", absl::InvalidArgumentError("--num_learners must be >= 1 (or -1 for the config's)"));
  }
  if (absl::GetFlag(FLAGS_num_learners) > 0) {
    config->mutable_topology()->set_num_learners(absl::GetFlag(FLAGS_num_learners));
  }
  if (absl::GetFlag(FLAGS_stop_timeout) <= absl::ZeroDuration() ||
      absl::GetFlag(FLAGS_final_eval_timeout) < absl::ZeroDuration()) {
    return roles::ExitWith("flags", absl::InvalidArgumentError("--stop_timeout must be > 0 and --final_eval_timeout >= 0"));
  }
  // The overrides meet the config's rules (and bounds) too.
  config = experiment::FinalizeExperimentConfig(*std::move(config));
  if (!config.ok()) return roles::ExitWith("bad config", config.status());
  const bool deterministic = absl::GetFlag(FLAGS_deterministic);
  const double stop_at = absl::GetFlag(FLAGS_stop_at_eval_return);
  if (std::isinf(stop_at)) {
    return roles::ExitWith("flags", absl::InvalidArgumentError(absl::StrCat(
                                        "--stop_at_eval_return must be a finite return, not ", stop_at)));
  }
  if (deterministic && !std::isnan(stop_at)) {
    return roles::ExitWith("flags", absl::InvalidArgumentError(
                                        "--stop_at_eval_return does not apply to --deterministic: a lock-step run "
                                        "evaluates its policy once, at the end of its step budget"));
  }
  if (deterministic) {
    config = roles::LockstepConfig(*std::move(config));
    if (config.ok()) config = experiment::FinalizeExperimentConfig(*std::move(config));
    if (!config.ok()) return roles::ExitWith("bad config", config.status());
  }
  absl::Status fits = CheckMachineHoldsTheRun(*config);
  if (!fits.ok()) return roles::ExitWith("bad config", fits);
  if (run_dir.empty()) {
    run_dir = absl::StrCat(".rill-runs/", config->name().empty() ? "run" : config->name(), "-",
                           absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::LocalTimeZone()));
  }
  // A folder that holds a run's progress is that run continued: with
  // --resume, or relaunched into it with the same config.
  std::optional<RunProgress> previous;
  absl::StatusOr<RunProgress> progress = ReadProgress(run_dir + "/progress.json");
  if (progress.ok()) {
    previous = *progress;
  } else if (!absl::IsNotFound(progress.status())) {
    return roles::ExitWith("run folder", progress.status());
  } else if (!resume.empty()) {
    std::printf("no progress.json in %s (its launcher stopped before its first progress line): starting its run "
                "from the beginning\n", run_dir.c_str());
  }
  if (deterministic && (previous.has_value() || std::filesystem::exists(run_dir + "/run.json"))) {
    return roles::ExitWith("run folder", absl::InvalidArgumentError(absl::StrCat(
                                             "'", run_dir, "' holds a run: a deterministic run starts from scratch "
                                             "in a new --run_dir")));
  }
  if (previous.has_value() && resume.empty()) {
    absl::Status same = CheckSameRun(*config, run_dir);
    if (!same.ok()) return roles::ExitWith("run folder", same);
  }
  if (previous.has_value() && config->max_env_steps() > 0 && previous->env_steps >= config->max_env_steps()) {
    return roles::ExitWith("run folder", absl::InvalidArgumentError(absl::StrCat(
                                             "the run in '", run_dir, "' has made ", previous->env_steps, " of its ",
                                             config->max_env_steps(), " env steps: raise --max_env_steps to go on")));
  }
  // Children read the config file; write the effective one (with overrides)
  // into the run folder and point them at it.
  std::error_code error;
  std::filesystem::create_directories(run_dir, error);
  const std::string effective = run_dir + "/config.textpb";
  absl::Status written = experiment::WriteExperimentConfig(*config, effective);
  if (!written.ok()) return roles::ExitWith("run folder", written);
  absl::SetFlag(&FLAGS_config, effective);
  // A learner killed while it swapped its checkpoint in left the one before.
  if (previous.has_value() && learner::RecoverCheckpoint(run_dir + "/checkpoints/learner/latest")) {
    // No second warm-up: the actors act with the restored policy from
    // their first step. The run's own config.textpb keeps its setting.
    v1::ExperimentConfig resumed = *config;
    resumed.mutable_actor()->set_learning_starts(0);
    const std::string path = run_dir + "/config-resumed.textpb";
    written = experiment::WriteExperimentConfig(resumed, path);
    if (!written.ok()) return roles::ExitWith("run folder", written);
    absl::SetFlag(&FLAGS_config, path);
  }
  if (deterministic) return LaunchDeterministic(*config, run_dir, DescribeRun(*config, effective), stop);
  absl::Status tls = SetUpTls(run_dir, absl::GetFlag(FLAGS_tls), absl::GetFlag(FLAGS_openssl_binary));
  if (!tls.ok()) return roles::ExitWith("tls", tls);
  Launch launch(*config, run_dir, DescribeRun(*config, effective), previous, stop);
  return launch.Run();
}

}  // namespace rill::cli
