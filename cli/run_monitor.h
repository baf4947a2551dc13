// RunMonitor: what `rill launch` tells of a run while it goes: the
// progress line every few seconds (env steps and updates with their
// rates, replay shards up and items, central inference's mean batch, the
// env steps that failed, restarts of every kind, the latest evaluation),
// the evaluator's rounds (its metrics and its scalar log
// <run_dir>/metrics/evaluator.jsonl, each round placed in the metric
// history at its own time), progress.json and the history's CSVs after
// every line (so that a run whose launcher is killed can be resumed and
// its plots go on), the final evaluation, and whether an evaluation
// reached --stop_at_eval_return.
//
// Its figures are the Supervisor's plus those of the run's earlier parts
// (a resumed run). Not thread-safe: the launcher's one thread drives it.
#ifndef RILL_CLI_RUN_MONITOR_H_
#define RILL_CLI_RUN_MONITOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cli/run_history.h"
#include "cli/run_summary.h"
#include "cli/run_tensorboard.h"
#include "cli/supervisor.h"

namespace rill::cli {

// The summary's final_eval when Ctrl-C / SIGTERM came first.
inline constexpr char kSkippedInterrupted[] = "skipped: interrupted";

class RunMonitor {
 public:
  struct Options {
    std::string run_dir;
    // What the run's earlier parts did (zeros for a new run); a resumed
    // run's times go on from their running time.
    RunProgress previous;
    bool resumed = false;
    // The UTC start of the run's first part (progress.json keeps it).
    std::string started_at;
    // How long FinalEvaluation waits for a round of the final version.
    absl::Duration final_eval_timeout = absl::Seconds(60);
    // The learner's series whose version the evaluator's rounds report:
    // rill_learner_parameter_version, or for a run of several policies
    // (config.policies) the first one's, whose versions pace the evaluator
    // (rill_learner_parameter_version{policy="<first>"}).
    std::string version_series = "rill_learner_parameter_version";
    // learner.updates_per_env_step of an off-policy run of one policy: the
    // progress line then shows the ratio achieved since the last line,
    // updates of all `num_learners` data-parallel ranks (each samples its
    // own batch) per item the replay stored (an env step's transition: the
    // actors' step counts jump by whole insert batches, the stored items
    // follow the learner smoothly).
    std::optional<double> updates_per_env_step;
    int num_learners = 1;
  };

  // An evaluator's round as the summary reports it.
  struct Evaluation {
    double return_mean = 0;
    double episodes = 0;
    double version = 0;
  };

  // `supervisor` outlives the monitor.
  RunMonitor(Supervisor& supervisor, Options options);

  // When the run (its first part) started.
  absl::Time start() const { return start_; }
  // Over every actor and learner process so far, with the earlier parts'.
  int64_t EnvSteps() const;
  double LearnerUpdates() const;
  // Of EnvSteps, those whose env failed.
  int64_t EnvErrors() const;

  // A resumed run's plots go on from the earlier parts' history (a
  // warning when it cannot be read).
  void ReadEarlierHistory();
  // Whether `every` has passed since the last progress line.
  bool ProgressDue(absl::Duration every) const { return absl::Now() - last_progress_ >= every; }
  // Scrapes the learner and the evaluator, takes the evaluator's new
  // rounds, saves the progress and prints the progress line.
  void PrintProgress();
  // Scrapes the evaluator and takes its latest round's figures.
  void RefreshEval();
  // Once every process has stopped and their final figures are read: the
  // last evaluation, the history's last row and the saved progress.
  void Finish(absl::Time end, bool history_began);
  // Waits, up to options.final_eval_timeout, for the evaluator to finish a
  // round with the learner's final version. Returns what the summary says
  // of it: "done", kSkippedInterrupted (`stop` ends the wait at once) or
  // "timed out: ...".
  std::string FinalEvaluation(absl::Notification& stop);

  // The evaluator's latest round, if it has finished one.
  std::optional<Evaluation> latest_eval() const;
  // The round that met --stop_at_eval_return, once one did (ReachTarget).
  const std::optional<Evaluation>& reached() const { return reached_; }
  // Takes the rounds the evaluator logged since the last look: the first
  // whose mean return is at least `bar` becomes reached() (its episodes
  // are all the evaluator had played by then), and ReachTarget says
  // whether one did. Every round counts, not only the latest: a run
  // evaluating several times a second has moved on to a lower round by
  // the time the launcher looks.
  bool ReachTarget(double bar);
  const RunHistory& history() const { return history_; }
  const RunProgress& previous() const { return options_.previous; }

 private:
  // The evaluator's latest figures (its current metrics).
  void TakeEval();
  // Every round the evaluator logged since the last call, into the
  // history, each at its own time and at the env steps and updates
  // interpolated to it up to `now`.
  void TakeEvalRounds(absl::Time now);
  // The scalar logs' new lines into <run_dir>/tb, placed at the run's env
  // steps by the history as it is at `now`.
  void WriteTensorBoard(absl::Time now);
  // progress.json, the history's CSVs and the report page.
  void SaveProgress();
  // The progress line's parts after the replay's: central inference's
  // mean batch since the last line, the env errors, the restarts.
  void AppendInference(std::string& line);
  void AppendEnvErrors(std::string& line) const;
  void AppendRestarts(std::string& line) const;
  std::string EvalLogPath() const { return options_.run_dir + "/metrics/evaluator.jsonl"; }

  Supervisor& supervisor_;
  Options options_;
  absl::Time start_ = absl::Now();
  absl::Time last_progress_ = absl::Now();
  RunHistory history_;
  // How far the evaluator's scalar log has been read (a resumed run starts
  // after the earlier parts' rounds, which its history already holds).
  int64_t eval_log_offset_ = 0;
  // How far ReachTarget has read it.
  int64_t target_log_offset_ = 0;
  // <run_dir>/tb; null when it could not be made (warned once).
  std::unique_ptr<RunTensorBoard> tensorboard_;
  // Central inference: what the last progress line had seen of the batch
  // counters.
  double inference_rows_shown_ = 0, inference_batches_shown_ = 0;
  // Items the shards had stored and updates made at the last line (the
  // ratio of updates to inserts since then is the UTD it shows).
  double inserted_shown_ = 0, updates_shown_ = 0;
  bool have_eval_ = false;
  Evaluation eval_;
  std::optional<Evaluation> reached_;
};

}  // namespace rill::cli

#endif  // RILL_CLI_RUN_MONITOR_H_
