#include "cli/run_monitor.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/run_report.h"
#include "common/logging.h"
#include "common/os.h"
#include "common/scalar_log.h"

namespace rill::cli {

namespace {

constexpr absl::Duration kTick = absl::Milliseconds(250);

}  // namespace

RunMonitor::RunMonitor(Supervisor& supervisor, Options options)
    : supervisor_(supervisor), options_(std::move(options)) {
  if (options_.resumed) {
    // Times go on from the earlier parts' running time.
    start_ = absl::Now() - absl::Seconds(options_.previous.wall_seconds);
    ++options_.previous.resumes;
    std::error_code error;
    const uintmax_t size = std::filesystem::file_size(EvalLogPath(), error);
    if (!error) eval_log_offset_ = target_log_offset_ = static_cast<int64_t>(size);
  }
  absl::StatusOr<std::unique_ptr<RunTensorBoard>> board = RunTensorBoard::Open(options_.run_dir, options_.resumed);
  if (board.ok()) {
    tensorboard_ = *std::move(board);
  } else {
    RILL_LOG(WARNING) << "no TensorBoard events for this run: " << board.status().message();
  }
}

void RunMonitor::WriteTensorBoard(absl::Time now) {
  if (tensorboard_ == nullptr) return;
  const double now_seconds = absl::ToDoubleSeconds(now - start_);
  const int64_t env_steps = EnvSteps();
  const double updates = LearnerUpdates();
  tensorboard_->TakeScalarLogs([&](absl::Time when) {
    return history_.Interpolate(absl::ToDoubleSeconds(when - start_), now_seconds, env_steps, updates).first;
  });
}

int64_t RunMonitor::EnvSteps() const { return options_.previous.env_steps + supervisor_.EnvSteps(); }

double RunMonitor::LearnerUpdates() const { return options_.previous.learner_updates + supervisor_.LearnerUpdates(); }

int64_t RunMonitor::EnvErrors() const { return options_.previous.env_errors + supervisor_.EnvErrors(); }

void RunMonitor::ReadEarlierHistory() {
  absl::Status read = history_.ReadCsv(options_.run_dir + "/plots");
  if (!read.ok()) RILL_LOG(WARNING) << "the earlier history is not in the plots: " << read.message();
}

void RunMonitor::RefreshEval() {
  supervisor_.RefreshEvaluator();
  TakeEval();
}

void RunMonitor::TakeEval() {
  const MetricSamples& eval = supervisor_.evaluator().current;
  const double rounds = SumMetric(eval, "rill_eval_rounds_total");
  if (rounds <= 0) return;
  have_eval_ = true;
  eval_.return_mean = SumMetric(eval, "rill_eval_return_mean");
  eval_.episodes = SumMetric(eval, "rill_eval_episodes_total");
  eval_.version = SumMetric(eval, "rill_eval_parameter_version");
}

std::optional<RunMonitor::Evaluation> RunMonitor::latest_eval() const {
  if (!have_eval_) return std::nullopt;
  return eval_;
}

bool RunMonitor::ReachTarget(double bar) {
  if (reached_.has_value()) return true;
  // Its own offset: the history takes the same rounds at the progress
  // lines, where the actors' steps it places them at are fresh.
  int64_t next = target_log_offset_;
  const std::vector<std::map<std::string, double>> rounds = ReadScalarLog(EvalLogPath(), target_log_offset_, &next);
  target_log_offset_ = next;
  for (const std::map<std::string, double>& round : rounds) {
    const auto mean = round.find("return_mean");
    if (mean == round.end() || !(mean->second >= bar)) continue;
    RefreshEval();
    const auto version = round.find("parameter_version");
    reached_ = Evaluation{mean->second, eval_.episodes, version != round.end() ? version->second : 0};
    return true;
  }
  return false;
}

void RunMonitor::TakeEvalRounds(absl::Time now) {
  int64_t next = eval_log_offset_;
  const double now_seconds = absl::ToDoubleSeconds(now - start_);
  const int64_t env_steps = EnvSteps();
  const double updates = LearnerUpdates();
  for (const std::map<std::string, double>& round : ReadScalarLog(EvalLogPath(), eval_log_offset_, &next)) {
    if (round.count("time") == 0 || round.count("return_mean") == 0) continue;
    RunHistory::Evaluation evaluation;
    evaluation.seconds = absl::ToDoubleSeconds(absl::UnixEpoch() + absl::Seconds(round.at("time")) - start_);
    std::tie(evaluation.env_steps, evaluation.learner_updates) =
        history_.Interpolate(evaluation.seconds, now_seconds, env_steps, updates);
    evaluation.parameter_version = round.count("parameter_version") > 0 ? round.at("parameter_version") : 0;
    evaluation.return_mean = round.at("return_mean");
    history_.AddEvaluation(evaluation);
  }
  eval_log_offset_ = next;
}

void RunMonitor::SaveProgress() {
  RunProgress progress = options_.previous;
  progress.env_steps = EnvSteps();
  progress.env_errors = EnvErrors();
  progress.learner_updates = LearnerUpdates();
  progress.wall_seconds = absl::ToDoubleSeconds(absl::Now() - start_);
  progress.started_at = options_.started_at;
  absl::Status saved = WriteFileAtomically(options_.run_dir + "/progress.json", ProgressJson(progress) + "\n");
  if (saved.ok()) saved = history_.WriteCsv(options_.run_dir + "/plots");
  if (saved.ok()) saved = WriteRunReport(options_.run_dir);
  if (!saved.ok()) RILL_LOG(WARNING) << "the run's progress could not be saved: " << saved.message();
}

void RunMonitor::PrintProgress() {
  const absl::Time now = absl::Now();
  supervisor_.RefreshLearners();
  RefreshEval();
  TakeEvalRounds(now);
  const RunHistory::Progress& row = history_.AddProgress(now - start_, EnvSteps(), LearnerUpdates());
  SaveProgress();
  WriteTensorBoard(now);
  if (tensorboard_ != nullptr) {
    tensorboard_->AddProgress(row.env_steps, now, row.env_steps_per_second, row.updates_per_second);
  }
  std::string line = absl::StrFormat("[%6.1fs] env steps %s (%.0f/s) | updates %s (%.0f/s)", row.seconds,
                                     FormatCount(static_cast<double>(row.env_steps)), row.env_steps_per_second,
                                     FormatCount(row.learner_updates), row.updates_per_second);
  double replay_items = 0;
  const int shards_up = supervisor_.ShardsUp(&replay_items);
  absl::StrAppendFormat(&line, " | replay %d/%d shards up, %s items", shards_up,
                        static_cast<int>(supervisor_.replays().size()), FormatCount(replay_items));
  // After ShardsUp, which scraped the shards' counters.
  if (options_.updates_per_env_step.has_value()) {
    double inserted = 0;
    for (const Role& shard : supervisor_.replays()) inserted += shard.Total(kItemsInsertedTotal);
    const double updates = supervisor_.LearnerUpdates();
    if (inserted > inserted_shown_ && updates > updates_shown_ && updates_shown_ > 0) {
      absl::StrAppendFormat(&line, " | UTD %.2f of %g",
                            (updates - updates_shown_) * options_.num_learners / (inserted - inserted_shown_),
                            *options_.updates_per_env_step);
    }
    inserted_shown_ = inserted;
    updates_shown_ = updates;
  }
  AppendInference(line);
  AppendEnvErrors(line);
  AppendRestarts(line);
  if (have_eval_) {
    absl::StrAppendFormat(&line, " | eval return %.1f (version %.0f)", eval_.return_mean, eval_.version);
  } else {
    line += " | eval return -";
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  last_progress_ = now;
}

void RunMonitor::AppendInference(std::string& line) {
  const double inference_batches = supervisor_.InferenceBatches(), inference_rows = supervisor_.InferenceRows();
  if (inference_batches > inference_batches_shown_) {
    // Central inference: the mean batch since the last line.
    absl::StrAppendFormat(&line, " | inference batch %.1f",
                          (inference_rows - inference_rows_shown_) / (inference_batches - inference_batches_shown_));
  }
  inference_rows_shown_ = inference_rows;
  inference_batches_shown_ = inference_batches;
}

void RunMonitor::AppendEnvErrors(std::string& line) const {
  // Each failed step's env was reset and its item dropped: the actors
  // log each one, the line says how many, once there is one.
  const int64_t errors = EnvErrors();
  if (errors == 0) return;
  const double fraction = EnvErrorFraction(static_cast<double>(errors), static_cast<double>(EnvSteps()));
  absl::StrAppendFormat(&line, " | env errors %s (%.1f%%)", FormatCount(static_cast<double>(errors)), 100 * fraction);
}

void RunMonitor::AppendRestarts(std::string& line) const {
  // Every kind of process the launcher restarted, once it has restarted one.
  std::vector<std::string> restarts;
  const auto add_restarts = [&restarts](const char* kind, int count) {
    if (count > 0) restarts.push_back(absl::StrCat(kind, " ", count));
  };
  add_restarts("actors", Restarts(supervisor_.actors()));
  add_restarts("replay", Restarts(supervisor_.replays()));
  add_restarts(supervisor_.num_learners() > 1 ? "learner group" : "learner", supervisor_.learner_restarts());
  add_restarts("evaluator", supervisor_.evaluator().restarts);
  add_restarts("inference", Restarts(supervisor_.inference()));
  add_restarts("env server", supervisor_.env_server_restarts());
  if (!restarts.empty()) absl::StrAppend(&line, " | restarts: ", absl::StrJoin(restarts, ", "));
}

std::string RunMonitor::FinalEvaluation(absl::Notification& stop) {
  // The learner goes on until the rate limiter holds it (actors have stopped
  // inserting); then its newest version is final. Wait for the evaluator to
  // finish a round with that version.
  const absl::Duration timeout = options_.final_eval_timeout;
  const absl::Time deadline = absl::Now() + timeout;
  double version = -1;
  absl::Time stable_since = absl::Now();
  while (absl::Now() < deadline) {
    supervisor_.RefreshLearners();
    const MetricSamples& learner = supervisor_.lead().current;
    const auto found = learner.find(options_.version_series);
    const double current = found != learner.end() ? found->second : SumMetric(learner, options_.version_series);
    if (current != version) {
      version = current;
      stable_since = absl::Now();
    }
    RefreshEval();
    if (absl::Now() - stable_since >= absl::Seconds(1) && eval_.version >= version) return "done";
    if (stop.WaitForNotificationWithTimeout(kTick)) return kSkippedInterrupted;
  }
  RILL_LOG(WARNING) << "no evaluation of the final version " << version << " within "
                    << absl::FormatDuration(timeout) << "; reporting version " << eval_.version;
  return absl::StrFormat("timed out: no round of the final version %.0f within %s", version,
                         absl::FormatDuration(timeout));
}

void RunMonitor::Finish(absl::Time end, bool history_began) {
  TakeEval();
  if (!history_began) return;
  // The history's last row holds the figures of the summary.
  TakeEvalRounds(end);
  history_.AddProgress(end - start_, EnvSteps(), LearnerUpdates());
  SaveProgress();
  WriteTensorBoard(end);
}

}  // namespace rill::cli
