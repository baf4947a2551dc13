#include "tools/run_summary.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace rill::tools {
namespace {

std::string NumberOrNull(const std::optional<double>& value) {
  return value.has_value() ? absl::StrFormat("%.3f", *value) : std::string("null");
}

}  // namespace

std::string SummaryJson(const RunSummary& s) {
  const auto quoted = [](std::string* out, const std::string& path) { absl::StrAppend(out, "\"", path, "\""); };
  return absl::StrFormat(
      "{\"env_steps\": %.0f, \"learner_updates\": %.0f, \"wall_seconds\": %.3f, \"env_steps_per_second\": %.3f, "
      "\"updates_per_second\": %.3f, \"eval_return_mean\": %s, \"eval_episodes\": %.0f, "
      "\"eval_parameter_version\": %.0f, \"num_actors\": %d, \"actor_restarts\": %d, \"replay_shards\": %d, "
      "\"replay_restarts\": %d, \"learner_restarts\": %d, \"env_server_restarts\": %d, "
      "\"inference_batch_rows_mean\": %s, \"inference_servers\": %d, \"run_dir\": \"%s\", \"plots\": [%s], "
      "\"plot_data\": [%s]}",
      s.env_steps, s.learner_updates, s.wall_seconds, s.env_steps / s.wall_seconds,
      s.learner_updates / s.wall_seconds, NumberOrNull(s.eval_return_mean), s.eval_episodes,
      s.eval_parameter_version, s.num_actors, s.actor_restarts, s.replay_shards, s.replay_restarts,
      s.learner_restarts, s.env_server_restarts, NumberOrNull(s.inference_batch_rows_mean), s.inference_servers,
      s.run_dir, absl::StrJoin(s.plots.pngs, ", ", quoted), absl::StrJoin(s.plots.csvs, ", ", quoted));
}

absl::Status WriteSummary(const RunSummary& summary, const std::string& path) {
  const std::string json = SummaryJson(summary);
  std::printf("%s\n", json.c_str());
  if (path.empty()) return absl::OkStatus();
  std::ofstream out(path, std::ios::trunc);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write summary '", path, "'"));
  out << json << "\n";
  return absl::OkStatus();
}

}  // namespace rill::tools
