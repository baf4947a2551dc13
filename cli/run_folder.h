// The run folder of `rill launch`: which folder a run uses (--run_dir,
// --resume, or .rill-runs/<name>-<time>), whether it continues the run
// already there (its progress.json) and may (the same config but for the
// step budget and the number of actors; budget left), the effective config
// the children read, the run's identity (run.json, the summary's head), and
// the run's closing files (summary.json and the report page).
//
// Thread-safe: functions of their arguments and of the files they name.
#ifndef RILL_CLI_RUN_FOLDER_H_
#define RILL_CLI_RUN_FOLDER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/run_summary.h"
#include "proto/config.pb.h"

namespace rill::cli {

// The folder of a run launched with --run_dir=`run_dir` and
// --resume=`resume` (either may be empty): `resume` when given (it must
// hold a config.textpb), else `run_dir`; empty when neither is (the caller
// names one once the config is known: DefaultRunDir). InvalidArgument for
// two different folders, NotFound for a --resume folder without a run.
absl::StatusOr<std::string> ChooseRunDir(const std::string& run_dir, const std::string& resume);

// .rill-runs/<config name, or "run">-<local time>.
std::string DefaultRunDir(const v1::ExperimentConfig& config);

// What the earlier parts of the run in `run_dir` did, when it holds one
// (its progress.json); nullopt for a new run (with a note when --resume
// named a folder whose launcher stopped before its first progress line).
// InvalidArgument when the run may not be continued: a deterministic run
// (it starts from scratch), a relaunch with another config (CheckSameRun),
// or a step budget the earlier parts have spent.
absl::StatusOr<std::optional<RunProgress>> EarlierParts(const v1::ExperimentConfig& config,
                                                        const std::string& run_dir, bool resume, bool deterministic);

// OK when `config` is the config of the run in `run_dir` (its
// config.textpb) but for what a continued run may change: the step budget
// and the number of actors. InvalidArgument naming the first difference
// otherwise: relaunching into another run's folder must not mix two runs.
absl::Status CheckSameRun(const v1::ExperimentConfig& config, const std::string& run_dir);

// Writes the effective `config` to <run_dir>/config.textpb and returns the
// file the children read: that one, or for a continued run whose learner
// has a checkpoint <run_dir>/config-resumed.textpb, the same with
// actor.learning_starts 0 (no second warm-up: the actors act with the
// restored policy from their first step).
// Where the run's learner keeps its newest checkpoint: RUN/checkpoints/
// learner/latest, or one RUN/checkpoints/learner/<policy>/latest per policy
// (config.policies), in config order.
std::vector<std::string> LatestLearnerCheckpoints(const v1::ExperimentConfig& config, const std::string& run_dir);

absl::StatusOr<std::string> WriteEffectiveConfig(const v1::ExperimentConfig& config, const std::string& run_dir,
                                                 bool continued);

// The run's identity for the finalized `config` written to `config_file`:
// the commit, host, start time (UTC) and the command line as typed.
RunIdentity DescribeRun(const v1::ExperimentConfig& config, const std::string& config_file);

// Rewrites <run_dir>/report.html from the run folder as it stands. A page
// that cannot be written is a warning: the run itself is not at fault.
void RefreshRunReport(const std::string& run_dir);

// Prints the summary, writes it to `summary_json` when not empty and,
// always, to <run_dir>/summary.json beside the run's other files, then the
// run's page with it.
absl::Status WriteRunSummary(RunSummary summary, const std::string& run_dir, const std::string& summary_json);

}  // namespace rill::cli

#endif  // RILL_CLI_RUN_FOLDER_H_
