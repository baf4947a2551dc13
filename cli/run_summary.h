// The summary JSON a `rill launch` run prints and writes at its end
// (--summary_json): its figures, restarts, how it stopped and the files it
// left. The launcher fills it once every process has stopped, from the
// final metrics each wrote as it exited (cli/launch_role.h), so that its
// counters are the processes' own last counts.
#ifndef RILL_CLI_RUN_SUMMARY_H_
#define RILL_CLI_RUN_SUMMARY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/run_history.h"

namespace rill::cli {

// What ran, written as <run_dir>/run.json when the run starts and at the
// head of its summary: the config (its name and the effective file in the
// run folder), the seed, the env and algorithm, the commit rill was built
// from, the host and the start time (UTC, RFC 3339), and the command line.
struct RunIdentity {
  std::string config_name, config_file, env, algorithm;
  uint64_t seed = 0;
  std::string rill_commit, host, started_at;
  std::vector<std::string> command_line;
};

// The identity as one JSON object.
std::string IdentityJson(const RunIdentity& identity);

// What a run had done when its launcher last wrote <run_dir>/progress.json
// (at each progress line, and at its end): where `rill launch --resume`
// goes on from. A launcher killed with kill -9 loses at most the interval
// since the last line.
struct RunProgress {
  int64_t env_steps = 0;
  // Of those, the steps whose env failed (rill_actor_env_errors_total).
  int64_t env_errors = 0;
  double learner_updates = 0;
  double wall_seconds = 0;  // running time, the time between parts not counted
  int resumes = 0;          // how many times the run has been continued
  std::string started_at;   // when its first part started (RunIdentity)
};

std::string ProgressJson(const RunProgress& progress);
// The progress in `path`. NotFound without the file; InvalidArgument when a
// field is missing or malformed (env_errors, which older files lack, is 0).
absl::StatusOr<RunProgress> ReadProgress(const std::string& path);

struct RunSummary {
  RunIdentity identity;
  // Parts before this one (rill launch --resume); the figures below are
  // the whole run's.
  int resumes = 0;
  // The whole run: what the actors and the learner did, in how long (until
  // every process had stopped).
  double env_steps = 0, learner_updates = 0, wall_seconds = 0;
  // Items the replay shards stored, which is what they acknowledged.
  double replay_items_inserted = 0;
  // The actors' env steps that failed (the env raised or returned what its
  // spaces do not allow; it was reset and the step's item dropped).
  double env_errors = 0;
  // The final evaluation; no mean when no round finished.
  std::optional<double> eval_return_mean;
  double eval_episodes = 0, eval_parameter_version = 0;
  // The last evaluation of the final policy once the step budget is spent:
  // "done", "skipped: interrupted" (Ctrl-C / SIGTERM) or "timed out: ...";
  // or "target reached: R >= T" when an evaluation reached
  // --stop_at_eval_return T first (the mean above is that round's).
  std::string final_eval;
  std::optional<double> stop_at_eval_return;
  // The processes and how often each kind was restarted.
  int num_actors = 0, actor_restarts = 0, replay_shards = 0, replay_restarts = 0, learner_restarts = 0;
  int evaluator_restarts = 0;
  // Data-parallel learner ranks (learner_restarts counts restarts of the
  // whole group then).
  int num_learners = 1;
  // The env server of env.remote.command (0 without one).
  int env_server_restarts = 0;
  // Central inference: the mean batch (none when no batch was served) and
  // the `rill inference` processes and their restarts.
  std::optional<double> inference_batch_rows_mean;
  // An off-policy run of one policy: learner.updates_per_env_step, and the
  // ratio achieved: updates of all learner ranks per env step after the
  // first table's min_size_to_sample.
  std::optional<double> updates_per_env_step_target, updates_per_env_step;
  int inference_servers = 0, inference_restarts = 0;
  // The actors' streams to central inference that ended and were reopened
  // (rill_actor_inference_reconnects_total), in this part of the run.
  double inference_reconnects = 0;
  // Stopping the processes: how long it took, and those killed because they
  // still ran at --stop_timeout.
  double stop_seconds = 0;
  std::vector<std::string> killed_at_stop;
  // Where the run left its files.
  std::string run_dir;
  PlotFiles plots;
  // The evaluator's videos (eval.video_every_seconds), oldest version first.
  std::vector<std::string> videos;
  // The run's page (cli/run_report.h), or empty.
  std::string report;
  // `rill launch --deterministic`: the lock-step run (roles/lockstep_run.h)
  // and the digest of its final policy, equal for runs that repeat.
  bool deterministic = false;
  std::string policy_digest;
};

// The share of `env_steps` whose env failed; 0 without steps.
double EnvErrorFraction(double env_errors, double env_steps);

// The MP4 videos in `run_dir`/videos, by name (so by version: the
// evaluator names them v000123_return_...).
std::vector<std::string> ListVideos(const std::string& run_dir);

// The summary as one line of JSON.
std::string SummaryJson(const RunSummary& summary);

// Prints the JSON and, for a non-empty `path`, writes it there.
// PermissionDenied when the file cannot be written.
absl::Status WriteSummary(const RunSummary& summary, const std::string& path);

}  // namespace rill::cli

#endif  // RILL_CLI_RUN_SUMMARY_H_
