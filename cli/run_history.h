// The metric history of a `rill launch` run and the plots drawn from it.
#ifndef RILL_CLI_RUN_HISTORY_H_
#define RILL_CLI_RUN_HISTORY_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace rill::cli {

// The run's metric history: what the launcher scrapes for its progress lines,
// kept in memory and written at the end as <run_dir>/plots/history.csv,
// eval.csv and resumes.csv, from which cli/plot_run.py draws the run's plots.
// Not thread-safe: the launcher's supervising thread owns it.
class RunHistory {
 public:
  struct Progress {
    double seconds = 0;  // since the launcher started
    int64_t env_steps = 0;
    double learner_updates = 0;
    // Over the interval since the previous row (since the start for the
    // first).
    double env_steps_per_second = 0;
    double updates_per_second = 0;
  };
  struct Evaluation {
    double seconds = 0;  // when the round began: the evaluator took its version
    int64_t env_steps = 0;
    double learner_updates = 0;
    double parameter_version = 0;
    double return_mean = 0;
  };
  // Where a part of a resumed run (`rill launch --resume`) began: the last
  // progress row of the parts before it, which its times, env steps and
  // updates go on from. The plots draw a line there.
  struct Resume {
    double seconds = 0;
    int64_t env_steps = 0;
    double learner_updates = 0;
  };

  // Appends a row; a row within a millisecond of the previous one replaces
  // it, so that times strictly increase. Places again, by the rows as they
  // now are (Interpolate), every evaluation up to the row: one read before
  // the rows around it were there was placed by less. Returns the row.
  const Progress& AddProgress(absl::Duration since_start, int64_t env_steps, double learner_updates);

  // Appends one evaluation round (the evaluator's scalar log has each).
  void AddEvaluation(const Evaluation& evaluation) { evaluations_.push_back(evaluation); }

  // Env steps and updates at `seconds`, where an evaluation round that
  // began then is drawn: linearly between the progress rows around it, or
  // after the last row between it and `now` (seconds, env steps, updates at
  // the time of reading). Before the first row, and between a resume and
  // the next row, the processes were starting: counting back from that row
  // at the pace of the interval after it, down to the start's figures (0, or
  // the resume's), when there is such an interval; linearly from the start
  // otherwise.
  std::pair<int64_t, double> Interpolate(double seconds, double now_seconds, int64_t now_env_steps,
                                         double now_updates) const;

  // Writes <dir>/history.csv, <dir>/eval.csv and <dir>/resumes.csv
  // (headers always), creating `dir`. PermissionDenied if a file cannot be
  // written.
  absl::Status WriteCsv(const std::string& dir) const;

  // Reads back what WriteCsv wrote into `dir`, replacing this history: the
  // rows of a run's earlier parts, which a resumed run appends to; and marks
  // the resume at the last progress row, where the new part goes on (once:
  // reading a history whose last resume is there already adds none).
  // NotFound without <dir>/history.csv; InvalidArgument naming a malformed
  // line. A missing eval.csv is no evaluation yet, a missing resumes.csv no
  // resume before.
  absl::Status ReadCsv(const std::string& dir);

  const std::vector<Progress>& progress() const { return progress_; }
  const std::vector<Evaluation>& evaluations() const { return evaluations_; }
  const std::vector<Resume>& resumes() const { return resumes_; }

 private:
  std::vector<Progress> progress_;
  std::vector<Evaluation> evaluations_;
  std::vector<Resume> resumes_;
};

// The resumes in <plots_dir>/resumes.csv (RunHistory::WriteCsv), oldest
// first; none without the file. InvalidArgument naming a malformed line.
absl::StatusOr<std::vector<RunHistory::Resume>> ReadResumes(const std::string& plots_dir);

struct PlotFiles {
  std::vector<std::string> csvs;  // the metric history
  std::vector<std::string> pngs;  // drawn from it
};

// Writes the history's CSVs into <run_dir>/plots and draws the plots there
// with `python` (cli/plot_run.py, embedded): the training return from the
// actors' scalar logs first, every plot with a line at each resume. Lists
// the files there are: training_return.csv, learner_statistics.png,
// env_figures_by_env_steps.png and env_figures.csv, self_play_by_env_steps.png
// and self_play.csv only when the run's scalar logs have what they show.
// Without Python or matplotlib (or if drawing fails) prints one line why
// and returns no PNGs.
PlotFiles WritePlots(const RunHistory& history, const std::string& run_dir, const std::string& python);

}  // namespace rill::cli

#endif  // RILL_CLI_RUN_HISTORY_H_
