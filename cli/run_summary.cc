#include "cli/run_summary.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/json_string.h"
#include "common/status_macros.h"

namespace rill::cli {
namespace {

std::string NumberOrNull(const std::optional<double>& value) {
  return value.has_value() ? absl::StrFormat("%.3f", *value) : std::string("null");
}

// `text` as a JSON string, quotes included.
std::string Quoted(const std::string& text) { return JsonString(text); }

std::string QuotedList(const std::vector<std::string>& items) {
  return absl::StrCat("[", absl::StrJoin(items, ", ", [](std::string* out, const std::string& item) {
                        absl::StrAppend(out, Quoted(item));
                      }),
                      "]");
}

// The identity's fields without the braces, to open the summary with.
std::string IdentityFields(const RunIdentity& identity) {
  return absl::StrCat("\"config_name\": ", Quoted(identity.config_name), ", \"config_file\": ", Quoted(identity.config_file),
                      ", \"env\": ", Quoted(identity.env), ", \"algorithm\": ", Quoted(identity.algorithm),
                      ", \"seed\": ", identity.seed, ", \"rill_commit\": ", Quoted(identity.rill_commit),
                      ", \"host\": ", Quoted(identity.host), ", \"started_at\": ", Quoted(identity.started_at),
                      ", \"command_line\": ", QuotedList(identity.command_line));
}

}  // namespace

std::string IdentityJson(const RunIdentity& identity) { return absl::StrCat("{", IdentityFields(identity), "}"); }

std::string ProgressJson(const RunProgress& progress) {
  return absl::StrFormat(
      "{\"env_steps\": %d, \"env_errors\": %d, \"learner_updates\": %.0f, \"wall_seconds\": %.3f, \"resumes\": %d, "
      "\"started_at\": %s}",
      progress.env_steps, progress.env_errors, progress.learner_updates, progress.wall_seconds, progress.resumes,
      Quoted(progress.started_at));
}

absl::StatusOr<RunProgress> ReadProgress(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no '", path, "'"));
  std::stringstream text;
  text << in.rdbuf();
  const std::string json = text.str();
  // The file is ProgressJson's: one flat object of numbers and one string.
  const auto number = [&json, &path](const std::string& name) -> absl::StatusOr<double> {
    std::smatch match;
    if (!std::regex_search(json, match, std::regex("\"" + name + "\": (-?[0-9.]+)"))) {
      return absl::InvalidArgumentError(absl::StrCat(path, " has no number \"", name, "\": '", json, "'"));
    }
    return std::stod(match[1].str());
  };
  RunProgress progress;
  ASSIGN_OR_RETURN(const double env_steps, number("env_steps"));
  progress.env_steps = static_cast<int64_t>(env_steps);
  // Older files have no env_errors: none counted.
  const absl::StatusOr<double> env_errors = number("env_errors");
  if (env_errors.ok()) progress.env_errors = static_cast<int64_t>(*env_errors);
  ASSIGN_OR_RETURN(progress.learner_updates, number("learner_updates"));
  ASSIGN_OR_RETURN(progress.wall_seconds, number("wall_seconds"));
  ASSIGN_OR_RETURN(const double resumes, number("resumes"));
  progress.resumes = static_cast<int>(resumes);
  std::smatch started;
  if (std::regex_search(json, started, std::regex("\"started_at\": \"([^\"]*)\""))) progress.started_at = started[1].str();
  return progress;
}

double EnvErrorFraction(double env_errors, double env_steps) {
  return env_steps > 0 ? env_errors / env_steps : 0;
}

std::vector<std::string> ListVideos(const std::string& run_dir) {
  std::vector<std::string> videos;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir + "/videos", error)) {
    const std::string path = entry.path().string();
    if (entry.is_regular_file(error) && absl::EndsWith(path, ".mp4")) videos.push_back(path);
  }
  std::sort(videos.begin(), videos.end());
  return videos;
}

std::string SummaryJson(const RunSummary& s) {
  return absl::StrFormat(
      "{%s, \"resumes\": %d, \"env_steps\": %.0f, \"learner_updates\": %.0f, \"replay_items_inserted\": %.0f, "
      "\"env_errors\": %.0f, \"env_error_fraction\": %.6f, \"wall_seconds\": %.3f, "
      "\"env_steps_per_second\": %.3f, \"updates_per_second\": %.3f, \"updates_per_env_step\": %s, "
      "\"updates_per_env_step_target\": %s, \"eval_return_mean\": %s, "
      "\"eval_episodes\": %.0f, \"eval_parameter_version\": %.0f, \"final_eval\": %s, \"stop_at_eval_return\": %s, "
      "\"num_actors\": %d, "
      "\"actor_restarts\": %d, \"replay_shards\": %d, \"replay_restarts\": %d, \"num_learners\": %d, \"learner_restarts\": %d, "
      "\"evaluator_restarts\": %d, \"env_server_restarts\": %d, \"inference_batch_rows_mean\": %s, "
      "\"inference_servers\": %d, \"inference_restarts\": %d, \"inference_reconnects\": %.0f, \"stop_seconds\": %.3f, \"killed_at_stop\": %s, "
      "\"run_dir\": %s, \"plots\": %s, \"plot_data\": %s, \"videos\": %s, \"report\": %s, \"deterministic\": %s, \"policy_digest\": %s}",
      IdentityFields(s.identity), s.resumes, s.env_steps, s.learner_updates, s.replay_items_inserted, s.env_errors,
      EnvErrorFraction(s.env_errors, s.env_steps), s.wall_seconds, s.env_steps / s.wall_seconds,
      s.learner_updates / s.wall_seconds, NumberOrNull(s.updates_per_env_step),
      NumberOrNull(s.updates_per_env_step_target), NumberOrNull(s.eval_return_mean), s.eval_episodes,
      s.eval_parameter_version, Quoted(s.final_eval), NumberOrNull(s.stop_at_eval_return), s.num_actors, s.actor_restarts, s.replay_shards,
      s.replay_restarts, s.num_learners, s.learner_restarts, s.evaluator_restarts, s.env_server_restarts,
      NumberOrNull(s.inference_batch_rows_mean), s.inference_servers, s.inference_restarts, s.inference_reconnects,
      s.stop_seconds,
      QuotedList(s.killed_at_stop), Quoted(s.run_dir), QuotedList(s.plots.pngs), QuotedList(s.plots.csvs),
      QuotedList(s.videos), s.report.empty() ? std::string("null") : Quoted(s.report), s.deterministic ? "true" : "false", s.policy_digest.empty() ? std::string("null") : Quoted(s.policy_digest));
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

}  // namespace rill::cli
