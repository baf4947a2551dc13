#include "cli/launcher.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cli/config_settings.h"
#include "cli/deterministic_launch.h"
#include "cli/launch_role.h"
#include "cli/launch_tls.h"
#include "cli/machine_check.h"
#include "cli/run_folder.h"
#include "cli/run_history.h"
#include "cli/run_monitor.h"
#include "cli/run_plan.h"
#include "cli/run_summary.h"
#include "cli/supervisor.h"
#include "common/logging.h"
#include "common/os.h"
#include "common/process.h"
#include "common/status_macros.h"
#include "experiment/config.h"
#include "flags/flags.h"
#include "flags/tls_flags.h"
#include "roles/env_spaces.h"
#include "roles/lockstep_run.h"
#include "roles/role.h"

// The config settings of --set (cli/config_settings.cc), one value each.
ABSL_DECLARE_FLAG(std::string, set);

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
ABSL_FLAG(double, max_env_error_fraction, std::numeric_limits<double>::quiet_NaN(),
          "Fail the run (exit code 1, naming this flag and the fraction measured) when more than this fraction "
          "of the actors' env steps failed (the env raised or returned what its spaces do not allow; each such "
          "step resets its env and drops its item): checked at each progress line once the actors have made "
          "1,000 env steps (a run over it stops there, writing its summary) and at the end. Unset: failed steps "
          "are counted in the progress line, summary and report but never fail the run.");
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

// Env steps before --max_env_error_fraction judges a run that goes on: a
// few early failures are no fraction yet.
constexpr int64_t kEnvStepsToJudgeErrors = 1000;

// The summary's final_eval of a run that --max_env_error_fraction stopped.
constexpr char kSkippedEnvErrors[] = "skipped: too many env errors (--max_env_error_fraction)";

// FailedPrecondition naming --max_env_error_fraction when more than it of
// `env_steps` failed; OK without the flag.
absl::Status CheckEnvErrorFraction(double env_errors, double env_steps) {
  const double max_fraction = absl::GetFlag(FLAGS_max_env_error_fraction);
  const double fraction = EnvErrorFraction(env_errors, env_steps);
  if (std::isnan(max_fraction) || fraction <= max_fraction) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrFormat(
      "the env failed %.1f%% of the actors' env steps (%s of %s; the actors' logs name each error), more than "
      "--max_env_error_fraction=%g",
      100 * fraction, FormatCount(env_errors), FormatCount(env_steps), max_fraction));
}

int Cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

// A launched run: its plan run by a Supervisor, watched by a RunMonitor,
// and its summary at the end.
class Launch {
 public:
  // `stop` is notified on Ctrl-C / SIGTERM (InstallShutdownSignals).
  // `previous`: what the run's earlier parts did (rill launch --resume).
  Launch(v1::ExperimentConfig config, RunPlan plan, std::string run_dir, RunIdentity identity,
         std::optional<RunProgress> previous, absl::Notification& stop)
      : config_(std::move(config)),
        run_dir_(std::move(run_dir)),
        identity_(std::move(identity)),
        stop_(stop),
        supervisor_(std::move(plan), SupervisorOptions(run_dir_, previous), stop),
        monitor_(supervisor_, MonitorOptions(run_dir_, previous)) {
    if (previous.has_value() && !previous->started_at.empty()) identity_.started_at = previous->started_at;
    resumed_ = previous.has_value();
  }
  int Run();

 private:
  static Supervisor::Options SupervisorOptions(const std::string& run_dir, const std::optional<RunProgress>& previous);
  RunMonitor::Options MonitorOptions(const std::string& run_dir, const std::optional<RunProgress>& previous) const;
  // Says what runs: the config, processes, budget, learner threads and,
  // for a resumed run, where it goes on from.
  void Announce() const;
  // Restarts what ended and prints progress every --progress_every until
  // the actors have spent the step budget (then a final evaluation), an
  // evaluation reaches --stop_at_eval_return, or `stop_` is notified. Sets
  // final_eval_.
  absl::Status Supervise();
  // Whether the latest evaluation reached --stop_at_eval_return: then the
  // run ends as done with that round.
  bool ReachedTarget(double stop_at);
  // Whether more of the actors' env steps failed than
  // --max_env_error_fraction allows, once they have made enough to judge:
  // then the run stops, and fails once its summary is written (Close).
  bool TooManyEnvErrors();
  // The run's figures for the summary JSON.
  RunSummary Summary(const PlotFiles& plots, const std::vector<std::string>& killed) const;
  // Writes the summary (and the page with it); then the exit code: 1 when
  // more of the env steps failed than --max_env_error_fraction allows.
  int Close(const RunSummary& summary) const;

  v1::ExperimentConfig config_;
  std::string run_dir_;
  RunIdentity identity_;
  absl::Notification& stop_;
  Supervisor supervisor_;
  RunMonitor monitor_;
  bool resumed_ = false;
  std::string final_eval_ = kSkippedInterrupted;
  // When the processes had all stopped.
  absl::Time end_;
};

Supervisor::Options Launch::SupervisorOptions(const std::string& run_dir,
                                              const std::optional<RunProgress>& previous) {
  Supervisor::Options options;
  // A resumed run's times go on from the earlier parts' running time.
  if (previous.has_value()) options.run_start = absl::Now() - absl::Seconds(previous->wall_seconds);
  options.start_timeout = absl::GetFlag(FLAGS_start_timeout);
  options.stop_timeout = absl::GetFlag(FLAGS_stop_timeout);
  options.prometheus = absl::GetFlag(FLAGS_prometheus);
  options.prometheus_options.binary = absl::GetFlag(FLAGS_prometheus_binary);
  options.prometheus_options.assets = absl::GetFlag(FLAGS_prometheus_assets);
  options.prometheus_options.dir = run_dir + "/prometheus";
  options.prometheus_options.log_path = run_dir + "/logs/prometheus.log";
  options.prometheus_options.start_timeout = options.start_timeout;
  options.prometheus_linger = absl::GetFlag(FLAGS_prometheus_linger);
  return options;
}

RunMonitor::Options Launch::MonitorOptions(const std::string& run_dir,
                                           const std::optional<RunProgress>& previous) const {
  RunMonitor::Options options;
  options.run_dir = run_dir;
  options.resumed = previous.has_value();
  if (previous.has_value()) options.previous = *previous;
  options.started_at = previous.has_value() && !previous->started_at.empty() ? previous->started_at
                                                                              : identity_.started_at;
  options.final_eval_timeout = absl::GetFlag(FLAGS_final_eval_timeout);
  if (config_.policies_size() > 0) {
    options.version_series =
        absl::StrCat("rill_learner_parameter_version{policy=\"", config_.policies(0).name(), "\"}");
  } else {
    options.updates_per_env_step = experiment::UpdatesPerEnvStep(config_);
  }
  options.num_learners = config_.topology().num_learners();
  return options;
}

void Launch::Announce() const {
  const int num_actors = config_.topology().num_actors();
  const int64_t max_steps = config_.max_env_steps();
  std::printf("rill launch: %s, %d replay shard(s), %d actors, %s env steps; logs in %s\n", config_.env().name().c_str(),
              config_.topology().num_replay_shards(), num_actors,
              max_steps > 0 ? FormatCount(static_cast<double>(max_steps)).c_str() : "unlimited",
              (run_dir_ + "/logs").c_str());
  const RunPlan& plan = supervisor_.plan();
  if (config_.learner().num_threads() == 0 && config_.learner().device() != v1::LearnerConfig::CUDA) {
    if (plan.learners.size() > 1) {
      std::printf("learner: %d ranks of %d CPU threads each, their share of the cores the actors leave (%d cores; "
                  "learner.num_threads sets them)\n",
                  static_cast<int>(plan.learners.size()), plan.learner_threads, Cores());
    } else if (plan.learner_threads > 0) {
      std::printf("learner: %d CPU threads, the cores the actors leave it (%d cores; learner.num_threads sets them)\n",
                  plan.learner_threads, Cores());
    } else {
      std::printf("learner: up to %d CPU threads, as many as update fastest beside the actors, measured as it "
                  "trains (learner.num_threads fixes them)\n",
                  Cores());
    }
  }
  if (resumed_) {
    const RunProgress& previous = monitor_.previous();
    const std::vector<std::string> latest = LatestLearnerCheckpoints(config_, run_dir_);
    const bool checkpointed = std::all_of(latest.begin(), latest.end(),
                                          [](const std::string& path) { return std::filesystem::exists(path); });
    const std::string learner = checkpointed ? "the learner from its last checkpoint"
                                             : "the learner from scratch (no checkpoint)";
    const std::string replay = config_.replay().durability().mode() != v1::DurabilityConfig::NONE
                                   ? absl::StrCat("replay from its ", v1::DurabilityConfig::Mode_Name(
                                                                         config_.replay().durability().mode()),
                                                  " files")
                                   : "replay empty (its tables are not durable: replay.durability.mode NONE)";
    // monitor_.previous() counts this part among the resumes already: the
    // first resume is part 2.
    std::printf("resuming (part %d) after %s env steps and %s updates in %.0fs: %s, %s, no warm-up\n",
                previous.resumes + 1, FormatCount(static_cast<double>(previous.env_steps)).c_str(),
                FormatCount(previous.learner_updates).c_str(), previous.wall_seconds, learner.c_str(),
                replay.c_str());
  }
  std::fflush(stdout);
}

bool Launch::ReachedTarget(double stop_at) {
  // The round that reached the target is the run's evaluation: the
  // progress line below, and the evaluator's final metrics at the stop,
  // may read a later round that scored less.
  if (!monitor_.ReachTarget(stop_at)) return false;
  const RunMonitor::Evaluation eval = *monitor_.reached();
  supervisor_.RefreshActors();
  monitor_.PrintProgress();
  std::printf("evaluation of version %.0f returned %.3f >= %g (--stop_at_eval_return) after %s env steps; "
              "stopping\n",
              eval.version, eval.return_mean, stop_at, FormatCount(static_cast<double>(monitor_.EnvSteps())).c_str());
  std::fflush(stdout);
  final_eval_ = absl::StrFormat("target reached: %.3f >= %g", eval.return_mean, stop_at);
  return true;
}

bool Launch::TooManyEnvErrors() {
  if (monitor_.EnvSteps() < kEnvStepsToJudgeErrors) return false;
  const absl::Status errors =
      CheckEnvErrorFraction(static_cast<double>(monitor_.EnvErrors()), static_cast<double>(monitor_.EnvSteps()));
  if (errors.ok()) return false;
  std::printf("%s; stopping\n", std::string(errors.message()).c_str());
  std::fflush(stdout);
  final_eval_ = kSkippedEnvErrors;
  return true;
}

absl::Status Launch::Supervise() {
  const int64_t max_steps = config_.max_env_steps();
  const absl::Duration progress_every = absl::GetFlag(FLAGS_progress_every);
  const double stop_at = absl::GetFlag(FLAGS_stop_at_eval_return);
  // A first line as soon as every process is ready: the history's first
  // row, where the actors have barely begun, places what came before it
  // (the evaluator's first round, of the untrained policy) near 0 env steps
  // rather than on a pace averaged over the start-up.
  supervisor_.RefreshActors();
  monitor_.PrintProgress();
  while (!stop_.WaitForNotificationWithTimeout(kTick)) {
    RETURN_IF_ERROR(supervisor_.SuperviseOnce());
    // Every tick, and before the budget's end: the evaluator logs each
    // round as it ends, and a round that met the bar ends the run even if
    // the actors have just spent the budget.
    if (!std::isnan(stop_at) && ReachedTarget(stop_at)) return absl::OkStatus();
    const bool all_done = max_steps > 0 && supervisor_.ActorsFinished();
    if (all_done || monitor_.ProgressDue(progress_every)) {
      supervisor_.RefreshActors();
      monitor_.PrintProgress();
      if (!all_done && TooManyEnvErrors()) return absl::OkStatus();
    }
    if (all_done) {
      std::printf("reached %s env steps; final evaluation\n",
                  FormatCount(static_cast<double>(monitor_.EnvSteps())).c_str());
      std::fflush(stdout);
      final_eval_ = monitor_.FinalEvaluation(stop_);
      return absl::OkStatus();
    }
  }
  final_eval_ = kSkippedInterrupted;
  return absl::OkStatus();
}

RunSummary Launch::Summary(const PlotFiles& plots, const std::vector<std::string>& killed) const {
  RunSummary summary;
  summary.env_steps = static_cast<double>(monitor_.EnvSteps());
  summary.env_errors = static_cast<double>(monitor_.EnvErrors());
  summary.learner_updates = monitor_.LearnerUpdates();
  summary.identity = identity_;
  summary.resumes = monitor_.previous().resumes;
  summary.wall_seconds = absl::ToDoubleSeconds(end_ - monitor_.start());
  for (const Role& shard : supervisor_.replays()) summary.replay_items_inserted += shard.Total(kItemsInsertedTotal);
  const std::optional<RunMonitor::Evaluation> latest = monitor_.latest_eval();
  if (monitor_.reached().has_value()) {
    summary.eval_return_mean = monitor_.reached()->return_mean;
    summary.eval_episodes = monitor_.reached()->episodes;
    summary.eval_parameter_version = monitor_.reached()->version;
  } else if (latest.has_value()) {
    summary.eval_return_mean = latest->return_mean;
    summary.eval_episodes = latest->episodes;
    summary.eval_parameter_version = latest->version;
  }
  summary.final_eval = final_eval_;
  const double stop_at = absl::GetFlag(FLAGS_stop_at_eval_return);
  if (!std::isnan(stop_at)) summary.stop_at_eval_return = stop_at;
  summary.num_actors = static_cast<int>(supervisor_.actors().size());
  summary.actor_restarts = Restarts(supervisor_.actors());
  summary.replay_shards = static_cast<int>(supervisor_.replays().size());
  summary.replay_restarts = Restarts(supervisor_.replays());
  summary.learner_restarts = supervisor_.learner_restarts();
  summary.num_learners = supervisor_.num_learners();
  summary.evaluator_restarts = supervisor_.evaluator().restarts;
  if (supervisor_.has_env_server()) summary.env_server_restarts = supervisor_.env_server_restarts();
  if (supervisor_.InferenceBatches() > 0) {
    summary.inference_batch_rows_mean = supervisor_.InferenceRows() / supervisor_.InferenceBatches();
  }
  if (config_.policies_size() == 0) summary.updates_per_env_step_target = experiment::UpdatesPerEnvStep(config_);
  if (summary.updates_per_env_step_target.has_value()) {
    // Updates of every rank per env step after the first table's warm-up,
    // leaving out the actors' last batches, which the stop stored past the
    // rate limiter (ReplayService.ReleaseInserts): learned from at no ratio.
    const double warm_up = static_cast<double>(config_.replay().tables(0).rate_limiter().min_size_to_sample());
    double at_stop = 0;
    for (const Role& shard : supervisor_.replays()) at_stop += shard.Total("rill_replay_items_inserted_at_stop");
    summary.updates_per_env_step = summary.learner_updates * supervisor_.num_learners() /
                                   std::max(1.0, summary.env_steps - warm_up - at_stop);
  }
  summary.inference_servers = static_cast<int>(supervisor_.inference().size());
  summary.inference_restarts = Restarts(supervisor_.inference());
  summary.inference_reconnects = static_cast<double>(supervisor_.InferenceReconnects());
  summary.stop_seconds = absl::ToDoubleSeconds(supervisor_.stop_duration());
  summary.killed_at_stop = killed;
  summary.run_dir = run_dir_;
  summary.plots = plots;
  summary.videos = ListVideos(run_dir_);
  return summary;
}

int Launch::Run() {
  std::error_code error;
  std::filesystem::create_directories(run_dir_ + "/logs", error);
  if (!error) std::filesystem::create_directories(run_dir_ + "/final-metrics", error);
  if (error) {
    return roles::ExitWith("run folder", absl::PermissionDeniedError(absl::StrCat(
                                             "cannot create folders in '", run_dir_, "': ", error.message())));
  }
  // What runs, before anything starts: a run that never ends still says.
  absl::Status described = WriteFileAtomically(run_dir_ + "/run.json", IdentityJson(identity_) + "\n");
  if (!described.ok()) return roles::ExitWith("run folder", described);
  Announce();
  // The plots go on from the earlier parts' history.
  if (resumed_) monitor_.ReadEarlierHistory();

  absl::Status status = supervisor_.StartAll();
  const bool all_ready = status.ok();  // every process started; the metric history began
  if (all_ready) {
    // A script (or a test) that started the launch with --ready_fd learns
    // that the whole run is up, as the launcher learns it of each role.
    const absl::Status ready = AnnounceReady(absl::GetFlag(FLAGS_ready_fd), {});
    if (!ready.ok()) std::fprintf(stderr, "rill launch: --ready_fd: %s\n", std::string(ready.message()).c_str());
    status = Supervise();
  }
  if (absl::IsCancelled(status) && stop_.HasBeenNotified()) {
    // Ctrl-C while a process was (re)starting: an interrupted run, not a failed one.
    final_eval_ = kSkippedInterrupted;
    status = absl::OkStatus();
  }
  if (stop_.HasBeenNotified()) {
    std::printf("interrupted%s; stopping all processes\n", all_ready ? "" : " while starting");
    std::fflush(stdout);
  }
  const std::vector<std::string> killed = supervisor_.StopAll();
  end_ = absl::Now();
  supervisor_.ReadFinalFigures();
  monitor_.Finish(end_, all_ready);
  // Drawn once the run's processes have stopped, so that Python has the
  // machine to itself; for a failed or interrupted run too, as far as it got.
  const PlotFiles plots =
      all_ready ? WritePlots(monitor_.history(), run_dir_, absl::GetFlag(FLAGS_plot_python)) : PlotFiles{};
  supervisor_.StopPrometheus();
  if (!status.ok()) {
    RefreshRunReport(run_dir_);  // as far as the run got, with the plots just drawn
    std::fprintf(stderr, "rill launch failed: %s\n", std::string(status.message()).c_str());
    return absl::IsInvalidArgument(status) ? roles::kExitBadInput : roles::kExitFailure;
  }
  return Close(Summary(plots, killed));
}

int Launch::Close(const RunSummary& summary) const {
  absl::Status written = WriteRunSummary(summary, run_dir_, absl::GetFlag(FLAGS_summary_json));
  if (!written.ok()) return roles::ExitWith("summary", written);
  // The summary says how many steps failed; too many fail the run.
  absl::Status env_errors = CheckEnvErrorFraction(summary.env_errors, summary.env_steps);
  if (!env_errors.ok()) {
    std::fprintf(stderr, "rill launch failed: %s\n", std::string(env_errors.message()).c_str());
    return roles::kExitFailure;
  }
  return 0;
}

// The launcher's own flags checked, and the config's overrides from them.
absl::Status CheckFlags() {
  if (absl::GetFlag(FLAGS_num_actors) == 0 || absl::GetFlag(FLAGS_num_actors) < -1) {
    return absl::InvalidArgumentError("--num_actors must be >= 1 (or -1 for the config's)");
  }
  if (absl::GetFlag(FLAGS_num_replay_shards) == 0 || absl::GetFlag(FLAGS_num_replay_shards) < -1) {
    return absl::InvalidArgumentError("--num_replay_shards must be >= 1 (or -1 for the config's)");
  }
  if (absl::GetFlag(FLAGS_num_learners) == 0 || absl::GetFlag(FLAGS_num_learners) < -1) {
    return absl::InvalidArgumentError("--num_learners must be >= 1 (or -1 for the config's)");
  }
  const double max_env_error_fraction = absl::GetFlag(FLAGS_max_env_error_fraction);
  if (!std::isnan(max_env_error_fraction) && !(max_env_error_fraction >= 0 && max_env_error_fraction <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_env_error_fraction must be a fraction in [0, 1], not ", max_env_error_fraction));
  }
  if (absl::GetFlag(FLAGS_stop_timeout) <= absl::ZeroDuration() ||
      absl::GetFlag(FLAGS_final_eval_timeout) < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--stop_timeout must be > 0 and --final_eval_timeout >= 0");
  }
  return absl::OkStatus();
}

// The config with the launcher's overrides (--num_actors, --max_env_steps,
// --num_replay_shards, --num_learners), finalized: the overrides meet the
// config's rules (and bounds) too.
absl::StatusOr<v1::ExperimentConfig> EffectiveConfig(v1::ExperimentConfig config) {
  if (absl::GetFlag(FLAGS_num_actors) > 0) config.mutable_topology()->set_num_actors(absl::GetFlag(FLAGS_num_actors));
  if (absl::GetFlag(FLAGS_max_env_steps) >= 0) config.set_max_env_steps(absl::GetFlag(FLAGS_max_env_steps));
  if (absl::GetFlag(FLAGS_num_replay_shards) > 0) {
    config.mutable_topology()->set_num_replay_shards(absl::GetFlag(FLAGS_num_replay_shards));
  }
  if (absl::GetFlag(FLAGS_num_learners) > 0) {
    config.mutable_topology()->set_num_learners(absl::GetFlag(FLAGS_num_learners));
  }
  return experiment::FinalizeExperimentConfig(std::move(config));
}

// A deterministic run's config: its lock-step form, finalized again.
absl::StatusOr<v1::ExperimentConfig> DeterministicConfig(v1::ExperimentConfig config) {
  ASSIGN_OR_RETURN(config, roles::LockstepConfig(std::move(config)));
  return experiment::FinalizeExperimentConfig(std::move(config));
}

absl::Status CheckStopAtEvalReturn() {
  const double stop_at = absl::GetFlag(FLAGS_stop_at_eval_return);
  if (std::isinf(stop_at)) {
    return absl::InvalidArgumentError(absl::StrCat("--stop_at_eval_return must be a finite return, not ", stop_at));
  }
  if (absl::GetFlag(FLAGS_deterministic) && !std::isnan(stop_at)) {
    return absl::InvalidArgumentError(
        "--stop_at_eval_return does not apply to --deterministic: a lock-step run evaluates its policy once, at "
        "the end of its step budget");
  }
  return absl::OkStatus();
}

PlanOptions PlanOptionsFromFlags(const std::string& run_dir, const std::optional<RunProgress>& previous) {
  PlanOptions options;
  options.run_dir = run_dir;
  options.config_file = absl::GetFlag(FLAGS_config);
  // Set by SetUpTls (all empty for plain text).
  const TlsFiles tls = TlsFilesFromFlags();
  options.tls_cert = tls.cert;
  options.tls_key = tls.key;
  options.tls_ca = tls.ca;
  options.previous_env_steps = previous.has_value() ? previous->env_steps : 0;
  options.cores = Cores();
  options.max_actor_restarts = absl::GetFlag(FLAGS_max_actor_restarts);
  options.max_replay_restarts = absl::GetFlag(FLAGS_max_replay_restarts);
  options.max_learner_restarts = absl::GetFlag(FLAGS_max_learner_restarts);
  options.max_env_server_restarts = absl::GetFlag(FLAGS_max_env_server_restarts);
  return options;
}

// A new run's config: --config's, with --set's settings applied as given
// (before finalization sizes anything from them: --set=env.name=...
// resizes the replay signature too) and a remote env's spaces asked of it
// where the config leaves them out.
absl::StatusOr<v1::ExperimentConfig> LoadLaunchConfig(absl::Notification& stop) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> settings = LaunchSettings(absl::GetFlag(FLAGS_set));
  if (!settings.ok()) return settings.status();
  auto apply_settings = [&settings](v1::ExperimentConfig& given) -> absl::Status {
    absl::StatusOr<v1::ExperimentConfig> changed = ApplySettings(given, *settings);
    if (!changed.ok()) return changed.status();
    given = *std::move(changed);
    return absl::OkStatus();
  };
  return roles::LoadConfigFromFlags([&stop](v1::EnvConfig& env) { return roles::AskEnvForSpaces(env, &stop); },
                                    apply_settings);
}

}  // namespace

int LaunchMain() {
  absl::Notification& stop = InstallShutdownSignals();
  SetLogRole("launch");
  // --resume=DIR continues that run with its own config.
  const std::string resume = absl::GetFlag(FLAGS_resume);
  const bool deterministic = absl::GetFlag(FLAGS_deterministic);
  if (deterministic && !resume.empty()) {
    return roles::ExitWith("flags", absl::InvalidArgumentError(
                                        "--deterministic and --resume: a deterministic run starts from scratch"));
  }
  absl::StatusOr<std::string> run_dir = ChooseRunDir(absl::GetFlag(FLAGS_run_dir), resume);
  if (!run_dir.ok()) return roles::ExitWith("flags", run_dir.status());
  if (!absl::GetFlag(FLAGS_set).empty() && !resume.empty()) {
    return roles::ExitWith("flags", absl::InvalidArgumentError(absl::StrCat(
                                        "--set and --resume: a resumed run keeps its config (", *run_dir,
                                        "/config.textpb)")));
  }
  absl::StatusOr<v1::ExperimentConfig> config =
      resume.empty() ? LoadLaunchConfig(stop) : experiment::LoadExperimentConfig(*run_dir + "/config.textpb");
  if (!config.ok()) return roles::ExitWith("bad config", config.status());
  absl::Status flags = CheckFlags();
  if (!flags.ok()) return roles::ExitWith("flags", flags);
  config = EffectiveConfig(*std::move(config));
  if (!config.ok()) return roles::ExitWith("bad config", config.status());
  absl::Status stop_at = CheckStopAtEvalReturn();
  if (!stop_at.ok()) return roles::ExitWith("flags", stop_at);
  if (deterministic) config = DeterministicConfig(*std::move(config));
  if (!config.ok()) return roles::ExitWith("bad config", config.status());
  absl::Status fits = CheckMachineHoldsTheRun(*config, MachineFigures::OfThisMachine());
  if (!fits.ok()) return roles::ExitWith("bad config", fits);
  if (run_dir->empty()) *run_dir = DefaultRunDir(*config);
  absl::StatusOr<std::optional<RunProgress>> previous = EarlierParts(*config, *run_dir, !resume.empty(), deterministic);
  if (!previous.ok()) return roles::ExitWith("run folder", previous.status());
  // Children read the config file: the effective one (with overrides) in
  // the run folder.
  absl::StatusOr<std::string> config_file = WriteEffectiveConfig(*config, *run_dir, previous->has_value());
  if (!config_file.ok()) return roles::ExitWith("run folder", config_file.status());
  absl::SetFlag(&FLAGS_config, *config_file);
  const RunIdentity identity = DescribeRun(*config, *run_dir + "/config.textpb");
  if (deterministic) {
    DeterministicOptions options;
    options.progress_every = absl::GetFlag(FLAGS_progress_every);
    options.plot_python = absl::GetFlag(FLAGS_plot_python);
    options.summary_json = absl::GetFlag(FLAGS_summary_json);
    return LaunchDeterministic(*config, *run_dir, identity, options, stop);
  }
  absl::Status tls = SetUpTls(*run_dir, absl::GetFlag(FLAGS_tls), absl::GetFlag(FLAGS_openssl_binary));
  if (!tls.ok()) return roles::ExitWith("tls", tls);
  RunPlan plan = PlanRun(*config, PlanOptionsFromFlags(*run_dir, *previous));
  Launch launch(*config, std::move(plan), *run_dir, identity, *previous, stop);
  return launch.Run();
}

}  // namespace rill::cli
