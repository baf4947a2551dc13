// The summary JSON a `rill launch` run prints and writes at its end
// (--summary_json): its figures, restarts and the files it left.
#ifndef RILL_TOOLS_RUN_SUMMARY_H_
#define RILL_TOOLS_RUN_SUMMARY_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "tools/run_history.h"

namespace rill::tools {

struct RunSummary {
  double env_steps = 0;
  double learner_updates = 0;
  double wall_seconds = 0;
  // nullopt: no evaluation round finished.
  std::optional<double> eval_return_mean;
  double eval_episodes = 0;
  double eval_parameter_version = 0;
  int num_actors = 0;
  int actor_restarts = 0;
  int replay_shards = 0;
  int replay_restarts = 0;
  int learner_restarts = 0;
  // nullopt: no central inference batch was served.
  std::optional<double> inference_batch_rows_mean;
  int inference_servers = 0;
  std::string run_dir;
  PlotFiles plots;
};

// The summary as one line of JSON.
std::string SummaryJson(const RunSummary& summary);

// Prints the JSON and, for a non-empty `path`, writes it there.
// PermissionDenied when the file cannot be written.
absl::Status WriteSummary(const RunSummary& summary, const std::string& path);

}  // namespace rill::tools

#endif  // RILL_TOOLS_RUN_SUMMARY_H_
