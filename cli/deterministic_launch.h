// `rill launch --deterministic`: one actor, its replay table and the
// learner taking turns in this process (roles/lockstep_run.h), so that the
// same config and seed repeat the run bit for bit; with the run folder,
// progress lines, plots and summary (with the final policy's digest) of a
// launched run.
#ifndef RILL_CLI_DETERMINISTIC_LAUNCH_H_
#define RILL_CLI_DETERMINISTIC_LAUNCH_H_

#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cli/run_summary.h"
#include "proto/config.pb.h"

namespace rill::cli {

struct DeterministicOptions {
  absl::Duration progress_every = absl::Seconds(5);
  // Draws the plots (empty: only the history's CSVs).
  std::string plot_python;
  // Where the summary JSON also goes (empty: only <run_dir>/summary.json).
  std::string summary_json;
};

// Runs the finalized lock-step `config` in `run_dir`; `stop` (Ctrl-C) ends
// it early. Returns the process exit code.
int LaunchDeterministic(const v1::ExperimentConfig& config, const std::string& run_dir, RunIdentity identity,
                        const DeterministicOptions& options, const absl::Notification& stop);

}  // namespace rill::cli

#endif  // RILL_CLI_DETERMINISTIC_LAUNCH_H_
