#include "cli/run_history.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/child_process.h"
#include "common/os.h"
#include "common/status_macros.h"

namespace rill::cli {

// cli/plot_run.py, embedded by //cli:plot_run_embedded.
extern const char kPlotRunScript[];

namespace {

// Runs `binary args...` to its end as a ChildProcess (own process group,
// parent-death signal, output appended to `log_path`). Blocks until it ends
// or `timeout` passes (then SIGTERM and SIGKILL); returns its wait status.
// Internal if fork fails, PermissionDenied if the log cannot be opened.
absl::StatusOr<int> RunToEnd(const std::string& binary, const std::vector<std::string>& args,
                             const std::string& log_path, absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> child,
                   ChildProcess::StartProgram(binary, binary, args, log_path));
  std::optional<int> status = child->WaitExit(timeout);
  return status.has_value() ? *status : child->Stop(absl::ZeroDuration());
}

}  // namespace

const RunHistory::Progress& RunHistory::AddProgress(absl::Duration since_start, int64_t env_steps,
                                                    double learner_updates) {
  const double seconds = absl::ToDoubleSeconds(since_start);
  if (!progress_.empty() && seconds - progress_.back().seconds < 1e-3) progress_.pop_back();
  const Progress previous = progress_.empty() ? Progress{} : progress_.back();
  const double interval = std::max(1e-3, seconds - previous.seconds);
  Progress row;
  row.seconds = seconds;
  row.env_steps = env_steps;
  row.learner_updates = learner_updates;
  row.env_steps_per_second = static_cast<double>(env_steps - previous.env_steps) / interval;
  row.updates_per_second = (learner_updates - previous.learner_updates) / interval;
  progress_.push_back(row);
  for (Evaluation& evaluation : evaluations_) {
    if (evaluation.seconds > seconds) continue;
    std::tie(evaluation.env_steps, evaluation.learner_updates) =
        Interpolate(evaluation.seconds, seconds, env_steps, learner_updates);
  }
  return progress_.back();
}

std::pair<int64_t, double> RunHistory::Interpolate(double seconds, double now_seconds, int64_t now_env_steps,
                                                   double now_updates) const {
  // The rows around `seconds`: the first row at or after it (`now` after
  // the last), and the one before (the start before the first row).
  const auto after = std::lower_bound(progress_.begin(), progress_.end(), seconds,
                                      [](const Progress& row, double at) { return row.seconds < at; });
  const Progress before = after == progress_.begin() ? Progress{} : *std::prev(after);
  Progress next;
  if (after != progress_.end()) {
    next = *after;
  } else {
    next.seconds = now_seconds;
    next.env_steps = now_env_steps;
    next.learner_updates = now_updates;
  }
  if (next.seconds <= before.seconds) return {next.env_steps, next.learner_updates};
  const double fraction = std::clamp((seconds - before.seconds) / (next.seconds - before.seconds), 0.0, 1.0);
  double steps = static_cast<double>(before.env_steps) +
                 fraction * static_cast<double>(next.env_steps - before.env_steps);
  double updates = before.learner_updates + fraction * (next.learner_updates - before.learner_updates);
  const bool starting = after == progress_.begin() ||
                        std::any_of(resumes_.begin(), resumes_.end(),
                                    [&](const Resume& resume) { return resume.seconds == before.seconds; });
  if (starting && after != progress_.end() && std::next(after) != progress_.end()) {
    // The processes were starting, not stepping, for part of the interval:
    // back from the next row at the pace of the interval after it, where
    // that says fewer.
    const Progress& later = *std::next(after);
    const double back = next.seconds - seconds, span = later.seconds - next.seconds;
    steps = std::min(steps, std::max(static_cast<double>(before.env_steps),
                                     static_cast<double>(next.env_steps) -
                                         static_cast<double>(later.env_steps - next.env_steps) / span * back));
    updates = std::min(updates, std::max(before.learner_updates,
                                         next.learner_updates -
                                             (later.learner_updates - next.learner_updates) / span * back));
  }
  return {static_cast<int64_t>(std::llround(steps)), updates};
}

absl::Status RunHistory::WriteCsv(const std::string& dir) const {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::PermissionDeniedError(absl::StrCat("cannot create '", dir, "': ", error.message()));
  std::string history = "seconds,env_steps,learner_updates,env_steps_per_second,updates_per_second\n";
  for (const Progress& row : progress_) {
    absl::StrAppendFormat(&history, "%.3f,%d,%.0f,%.3f,%.3f\n", row.seconds, row.env_steps, row.learner_updates,
                          row.env_steps_per_second, row.updates_per_second);
  }
  RETURN_IF_ERROR(WriteFileAtomically(dir + "/history.csv", history));
  std::string eval = "seconds,env_steps,learner_updates,parameter_version,return_mean\n";
  for (const Evaluation& row : evaluations_) {
    absl::StrAppendFormat(&eval, "%.3f,%d,%.0f,%.0f,%.6f\n", row.seconds, row.env_steps, row.learner_updates,
                          row.parameter_version, row.return_mean);
  }
  RETURN_IF_ERROR(WriteFileAtomically(dir + "/eval.csv", eval));
  std::string resumes = "seconds,env_steps,learner_updates\n";
  for (const Resume& row : resumes_) {
    absl::StrAppendFormat(&resumes, "%.3f,%d,%.0f\n", row.seconds, row.env_steps, row.learner_updates);
  }
  return WriteFileAtomically(dir + "/resumes.csv", resumes);
}

namespace {

// The rows of a CSV file that WriteCsv wrote, each split into its numbers,
// checked to have `columns` of them. NotFound when the file is missing.
absl::StatusOr<std::vector<std::vector<double>>> ReadNumbers(const std::string& path, size_t columns) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no '", path, "'"));
  std::vector<std::vector<double>> rows;
  std::string line;
  std::getline(in, line);  // the header
  for (int number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    std::vector<double> row;
    for (absl::string_view field : absl::StrSplit(line, ',')) {
      double value = 0;
      if (!absl::SimpleAtod(field, &value)) break;
      row.push_back(value);
    }
    if (row.size() != columns) {
      return absl::InvalidArgumentError(absl::StrCat(path, " line ", number, " is not ", columns, " numbers: '", line, "'"));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

absl::StatusOr<std::vector<RunHistory::Resume>> ReadResumes(const std::string& plots_dir) {
  absl::StatusOr<std::vector<std::vector<double>>> rows = ReadNumbers(plots_dir + "/resumes.csv", 3);
  if (absl::IsNotFound(rows.status())) return std::vector<RunHistory::Resume>{};
  if (!rows.ok()) return rows.status();
  std::vector<RunHistory::Resume> resumes;
  for (const std::vector<double>& row : *rows) {
    resumes.push_back(RunHistory::Resume{row[0], static_cast<int64_t>(row[1]), row[2]});
  }
  return resumes;
}

absl::Status RunHistory::ReadCsv(const std::string& dir) {
  ASSIGN_OR_RETURN(const std::vector<std::vector<double>> history, ReadNumbers(dir + "/history.csv", 5));
  absl::StatusOr<std::vector<std::vector<double>>> eval = ReadNumbers(dir + "/eval.csv", 5);
  if (!eval.ok() && !absl::IsNotFound(eval.status())) return eval.status();
  ASSIGN_OR_RETURN(std::vector<Resume> resumes, ReadResumes(dir));
  progress_.clear();
  evaluations_.clear();
  resumes_ = std::move(resumes);
  for (const std::vector<double>& row : history) {
    progress_.push_back(Progress{row[0], static_cast<int64_t>(row[1]), row[2], row[3], row[4]});
  }
  if (eval.ok()) {
    for (const std::vector<double>& row : *eval) {
      evaluations_.push_back(Evaluation{row[0], static_cast<int64_t>(row[1]), row[2], row[3], row[4]});
    }
  }
  // The part that reads this goes on from the last row. A part stopped
  // before its first progress line left the same last row: one mark.
  if (!progress_.empty() && (resumes_.empty() || resumes_.back().seconds < progress_.back().seconds)) {
    const Progress& last = progress_.back();
    resumes_.push_back(Resume{last.seconds, last.env_steps, last.learner_updates});
  }
  return absl::OkStatus();
}

PlotFiles WritePlots(const RunHistory& history, const std::string& run_dir, const std::string& python) {
  const std::string dir = run_dir + "/plots";
  PlotFiles files;
  absl::Status written = history.WriteCsv(dir);
  if (!written.ok()) {
    std::printf("no plots: the metric history could not be written: %s\n", std::string(written.message()).c_str());
    std::fflush(stdout);
    return files;
  }
  files.csvs = {dir + "/history.csv", dir + "/eval.csv", dir + "/resumes.csv"};
  const absl::Time began = absl::Now();
  const std::string why_not = [&]() -> std::string {
    if (python.empty()) return "--plot_python is empty";
    if (access(python.c_str(), X_OK) != 0) {
      return absl::StrCat(python, " is missing (install python3 and python3-matplotlib, or set --plot_python)");
    }
    const std::string script = dir + "/plot_run.py";
    absl::Status saved = WriteFileAtomically(script, kPlotRunScript);
    if (!saved.ok()) return std::string(saved.message());
    // A --deterministic run has no process logs: the folder may not exist.
    std::error_code made;
    std::filesystem::create_directories(run_dir + "/logs", made);
    if (made) return absl::StrCat("cannot create ", run_dir, "/logs: ", made.message());
    const std::string log = run_dir + "/logs/plot.log";
    // Drawing takes about a second; the bound only keeps a stuck Python
    // from holding the launcher.
    absl::StatusOr<int> status = RunToEnd(python, {script, dir}, log, absl::Seconds(30));
    if (!status.ok()) return std::string(status.status().message());
    constexpr int kNoMatplotlib = 3;  // plot_run.py's exit code
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == kNoMatplotlib) {
      return absl::StrCat("matplotlib is missing for ", python, " (install python3-matplotlib)");
    }
    if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      return absl::StrCat("plot_run.py failed (", ChildProcess::DescribeStatus(*status), "); see ", log);
    }
    return "";
  }();
  std::vector<std::string>& pngs = files.pngs;
  if (why_not.empty()) {
    for (const char* name : {"training_return_by_env_steps.png", "eval_return_by_env_steps.png",
                             "eval_return_by_time.png", "env_steps_per_second.png", "updates_per_second.png",
                             "learner_statistics.png", "env_figures_by_env_steps.png", "self_play_by_env_steps.png"}) {
      const std::string path = absl::StrCat(dir, "/", name);
      if (std::filesystem::exists(path)) pngs.push_back(path);
    }
    // Written only when an actor finished an episode.
    const std::string training = dir + "/training_return.csv";
    if (std::filesystem::exists(training)) files.csvs.push_back(training);
    // Drawn only when the env reported figures of its own.
    const std::string env_figures = dir + "/env_figures.csv";
    if (std::filesystem::exists(env_figures)) files.csvs.push_back(env_figures);
    // Drawn only when the evaluator rated its versions (a self-play run).
    const std::string self_play = dir + "/self_play.csv";
    if (std::filesystem::exists(self_play)) files.csvs.push_back(self_play);
    std::printf("plots (%.1fs): %s\n", absl::ToDoubleSeconds(absl::Now() - began), absl::StrJoin(pngs, " ").c_str());
  } else {
    std::printf("no plots: %s; the metric history is in %s/history.csv and eval.csv\n", why_not.c_str(),
                dir.c_str());
  }
  std::fflush(stdout);
  return files;
}

}  // namespace rill::cli
