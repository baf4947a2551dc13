// A run's TensorBoard curves: <run_dir>/tb/, which `tensorboard --logdir`
// draws beside the run's plots.
//
// RunMonitor hands it the run's figures at every progress line. It writes
// the throughput of that line (tags throughput/env_steps_per_second and
// throughput/updates_per_second) and every line its processes have added
// to their scalar logs since (<run_dir>/metrics/*.jsonl, common/scalar_log.h):
// the learner's losses and statistics as learner/<name> (learner.<policy>/
// for a run of several policies), the evaluator's rounds as eval/<name>,
// the actors' episodes as train/return and train/length. Every event's step
// is the run's env steps: a scalar log's line is placed at the env steps
// the run had at its time (the caller's `step_at`), as the plots place
// evaluation rounds. A resumed run writes a new event file and starts at
// the end of each log, whose earlier lines the earlier parts wrote.
//
// Writing is best effort: a run goes on when its event file cannot be
// written (one warning). Not thread-safe: the launcher's loop calls it.
#ifndef RILL_CLI_RUN_TENSORBOARD_H_
#define RILL_CLI_RUN_TENSORBOARD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/event_file.h"

namespace rill::cli {

class RunTensorBoard {
 public:
  // The run's env steps at a time.
  using StepAt = std::function<int64_t(absl::Time)>;

  // A new event file in <run_dir>/tb. PermissionDenied when it cannot be
  // made.
  static absl::StatusOr<std::unique_ptr<RunTensorBoard>> Open(const std::string& run_dir, bool resumed);

  // The throughput of a progress line, at `env_steps`.
  void AddProgress(int64_t env_steps, absl::Time when, double env_steps_per_second, double updates_per_second);

  // Every line added to the run's scalar logs since the last call.
  void TakeScalarLogs(const StepAt& step_at);

  const std::string& path() const { return writer_->path(); }

 private:
  RunTensorBoard(std::string run_dir, std::unique_ptr<EventFileWriter> writer)
      : run_dir_(std::move(run_dir)), writer_(std::move(writer)) {}
  void Write(int64_t step, absl::Time when, const std::vector<std::pair<std::string, double>>& values);

  const std::string run_dir_;
  std::unique_ptr<EventFileWriter> writer_;
  bool failed_ = false;
  // Each scalar log's offset after its last line taken, by path.
  std::map<std::string, int64_t> offsets_;
};

// The tags a scalar log's line becomes, from its file's stem ("learner",
// "learner.red", "evaluator", "actor-0") and its fields; a field that is
// not a curve ("time", an actor's counters) none.
std::vector<std::pair<std::string, double>> TensorBoardScalars(const std::string& stem,
                                                               const std::map<std::string, double>& fields);

}  // namespace rill::cli

#endif  // RILL_CLI_RUN_TENSORBOARD_H_
