// Supervisor: runs a RunPlan (cli/run_plan.h) as child processes of this
// one. Starts them in the plan's order, each waiting for the one before it
// to be ready and serving (the env server first, then Prometheus' targets
// follow every start), restarts what ends before the run does by its
// role's policy (on its old ports, so that its peers find it again: an
// actor with the rest of its step budget, the learner ranks together from
// rank 0's last checkpoint), and stops everything in order under one
// deadline. It scrapes the processes' /metrics on request and, once they
// have stopped, reads the final metrics each wrote as it exited, so that
// the run's figures (env steps, updates, inference batches) are the
// processes' own counts.
//
// A child that exits with roles::kExitBadInput (it refused its flags or
// config, naming the field) fails the run with InvalidArgument and the
// child's log; a child that fails the same way twice right after starting
// is not restarted again (Aborted).
//
// Not thread-safe: the launcher's one thread drives it. `stop` (Ctrl-C /
// SIGTERM) cancels a start-up in progress.
#ifndef RILL_CLI_SUPERVISOR_H_
#define RILL_CLI_SUPERVISOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cli/launch_role.h"
#include "cli/prometheus_server.h"
#include "cli/run_plan.h"
#include "roles/env_server_role.h"

namespace rill::cli {

// The counters the run's figures are read from, in the processes' metrics
// (while they run, and in the final metrics each writes as it exits).
inline constexpr char kEnvStepsTotal[] = "rill_actor_env_steps_total";
inline constexpr char kEnvErrorsTotal[] = "rill_actor_env_errors_total";
inline constexpr char kInferenceReconnectsTotal[] = "rill_actor_inference_reconnects_total";
inline constexpr char kUpdatesTotal[] = "rill_learner_updates_total";
inline constexpr char kItemsInsertedTotal[] = "rill_replay_items_inserted_total";
inline constexpr char kBatchRowsCount[] = "rill_inference_batch_rows_count";
inline constexpr char kBatchRowsSum[] = "rill_inference_batch_rows_sum";

// Restarts of every role of one kind (actors, shards, inference servers).
int Restarts(const std::vector<Role>& roles);

class Supervisor {
 public:
  struct Options {
    // How long each process may take to become ready.
    absl::Duration start_timeout = absl::Seconds(60);
    // How long all processes together may take to stop (StopAll).
    absl::Duration stop_timeout = absl::Seconds(20);
    // With `prometheus`: Debian's Prometheus scraping every process.
    bool prometheus = false;
    PrometheusServer::Options prometheus_options;
    // How long Prometheus keeps serving after the run (StopPrometheus).
    absl::Duration prometheus_linger = absl::ZeroDuration();
    // When the run began (the times it prints count from there).
    absl::Time run_start = absl::Now();
  };

  Supervisor(RunPlan plan, Options options, absl::Notification& stop);

  // Starts Prometheus (with options.prometheus), the env server, the
  // replay shards, the learner ranks, the inference servers, the actors and
  // the evaluator, in that order. Cancelled once `stop` is notified; the
  // first process that fails to start fails it (StartRole's errors).
  absl::Status StartAll();

  // One round of supervision: restarts every process that ended by its
  // role's policy; notes an actor that exited cleanly as finished (its
  // budget spent). InvalidArgument when a child refused its input, Aborted
  // when a role ran out of restarts or failed twice in its start-up.
  absl::Status SuperviseOnce();

  // Whether every actor has spent its step budget (never without one).
  bool ActorsFinished() const;

  // Stops every process that was started, in order under
  // options.stop_timeout (cli/ordered_stop.h: the env steppers, with the
  // replay shards told to admit every insert, then the learner, inference
  // and env servers, then replay). Returns the names of the killed
  // processes.
  std::vector<std::string> StopAll();

  // Once every process has stopped: each role's figures from the final
  // metrics its process wrote as it exited (the last scrape for one that
  // wrote none, with a warning).
  void ReadFinalFigures();

  // With a lingering Prometheus keeps the dashboard up a while (Ctrl-C ends
  // it sooner); then stops Prometheus. Nothing without one.
  void StopPrometheus();

  // Scrapes the actors still running / the learner ranks and inference
  // servers / the evaluator into their roles' `current` figures.
  void RefreshActors();
  void RefreshLearners();
  void RefreshEvaluator();

  // This part of the run's counters over every process so far, restarted
  // ones included. Updates are rank 0's (the ranks update in step).
  int64_t EnvSteps() const;
  double LearnerUpdates() const;
  // The actors' env steps that failed (the evaluator's are not counted:
  // they are not among EnvSteps).
  int64_t EnvErrors() const;
  // The actors' streams to central inference that ended and were reopened.
  int64_t InferenceReconnects() const;
  // Central inference: batches served and the rows in them, by the learner
  // or by the `rill inference` processes.
  double InferenceBatches() const { return InferenceTotal(kBatchRowsCount); }
  double InferenceRows() const { return InferenceTotal(kBatchRowsSum); }
  // Replay shards that answered a scrape now, and the items they hold.
  int ShardsUp(double* items);

  const RunPlan& plan() const { return plan_; }
  // The learner, or rank 0 of the learner group: it publishes parameters,
  // checkpoints and serves central inference.
  const Role& lead() const { return learners_.front(); }
  const Role& evaluator() const { return evaluator_; }
  const std::vector<Role>& actors() const { return actors_; }
  const std::vector<Role>& replays() const { return replays_; }
  const std::vector<Role>& inference() const { return inference_; }
  int num_learners() const { return static_cast<int>(learners_.size()); }
  int learner_restarts() const { return learner_restarts_; }
  bool has_env_server() const { return env_server_ != nullptr; }
  int env_server_restarts() const { return env_server_ != nullptr ? env_server_->restarts() : 0; }
  // The replay addresses and rank 0's port, once StartAll has got there.
  const Endpoints& endpoints() const { return endpoints_; }
  absl::Duration stop_duration() const { return stop_duration_; }

 private:
  // ReplayService.ReleaseInserts to every running shard (2 s each; a
  // shard that does not answer is warned about and stops in its turn).
  void ReleaseReplayInserts();
  Role& mutable_lead() { return learners_.front(); }
  double InferenceTotal(const std::string& name) const;
  // StartRole with the env server supervised meanwhile, then Prometheus'
  // targets. Cancelled, without starting or while waiting, once `stop_` is
  // notified.
  absl::Status Start(const std::string& name, Role& role);
  std::function<absl::Status()> WhileStarting(const std::string& name);
  // A role for `process` with its placeholders resolved.
  Role MakeRole(const ProcessPlan& process) const;
  absl::Status StartEnvServer();
  // Rank 0 first, whose store binds a free port (it writes which to a
  // file); then the others, dialing it; then waits for all of them.
  absl::Status StartLearners();
  // " (--max_actor_restarts=5)": the flag that allows the role's restarts,
  // for the message of a run that ran out of them.
  std::string RestartLimit(RoleKind kind) const;
  absl::Status SuperviseEnvServer();
  absl::Status SuperviseReplay();
  // The evaluator or an inference server.
  absl::Status SuperviseCore(Role& role, RoleKind kind);
  absl::Status SuperviseLearners();
  absl::Status SuperviseActors();
  // The error for a child that ended with `status` and may not be
  // restarted: InvalidArgument when it refused its input; Aborted when it
  // failed the same way twice within kStartUpGrace of starting (restarting
  // it again would only repeat the failure). OK otherwise.
  absl::Status CheckEnded(const std::string& name, const Role& role, int status, int log_lines);
  void UpdatePrometheusTargets();

  RunPlan plan_;
  Options options_;
  absl::Notification& stop_;
  Endpoints endpoints_;
  std::vector<Role> replays_;
  // The learner ranks, rank 0 first (one: the learner alone).
  std::vector<Role> learners_;
  // Restarts of the learner (of the whole group with several ranks).
  int learner_restarts_ = 0;
  Role evaluator_;
  std::vector<Role> inference_;
  std::vector<Role> actors_;
  std::unique_ptr<roles::EnvServerRole> env_server_;  // with env.remote.command
  std::unique_ptr<PrometheusServer> prometheus_;  // with options.prometheus
  absl::Duration stop_duration_;
  // When each role's current child became ready, and how its previous
  // child ended if that child failed its start-up (CheckEnded).
  std::map<const Role*, absl::Time> ready_at_;
  std::map<const Role*, std::string> start_up_failure_;
};

}  // namespace rill::cli

#endif  // RILL_CLI_SUPERVISOR_H_
