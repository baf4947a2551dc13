#include "cli/run_tensorboard.h"

#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/scalar_log.h"

namespace rill::cli {
namespace {

// The run's scalar logs, as they are now.
std::vector<std::filesystem::path> ScalarLogs(const std::string& run_dir) {
  std::vector<std::filesystem::path> logs;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir + "/metrics", error)) {
    if (entry.path().extension() == ".jsonl") logs.push_back(entry.path());
  }
  return logs;
}

}  // namespace

std::vector<std::pair<std::string, double>> TensorBoardScalars(const std::string& stem,
                                                               const std::map<std::string, double>& fields) {
  std::vector<std::pair<std::string, double>> scalars;
  if (absl::StartsWith(stem, "actor")) {
    // One line per episode; its counters (env_steps, episode, version) are
    // the actor's own, not curves.
    for (const char* name : {"return", "length"}) {
      const auto it = fields.find(name);
      if (it != fields.end()) scalars.emplace_back(absl::StrCat("train/", name), it->second);
    }
    return scalars;
  }
  const std::string prefix = stem == "evaluator" ? "eval" : stem;
  for (const auto& [name, value] : fields) {
    if (name != "time") scalars.emplace_back(absl::StrCat(prefix, "/", name), value);
  }
  return scalars;
}

absl::StatusOr<std::unique_ptr<RunTensorBoard>> RunTensorBoard::Open(const std::string& run_dir, bool resumed) {
  absl::StatusOr<std::unique_ptr<EventFileWriter>> writer = EventFileWriter::Create(run_dir + "/tb");
  if (!writer.ok()) return writer.status();
  std::unique_ptr<RunTensorBoard> board(new RunTensorBoard(run_dir, *std::move(writer)));
  if (resumed) {
    for (const std::filesystem::path& log : ScalarLogs(run_dir)) {
      std::error_code error;
      const uintmax_t size = std::filesystem::file_size(log, error);
      if (!error) board->offsets_[log.string()] = static_cast<int64_t>(size);
    }
  }
  return board;
}

void RunTensorBoard::Write(int64_t step, absl::Time when, const std::vector<std::pair<std::string, double>>& values) {
  if (failed_) return;
  absl::Status written = writer_->WriteScalars(step, when, values);
  if (!written.ok()) {
    failed_ = true;
    RILL_LOG(WARNING) << "the run's TensorBoard events stop here: " << written.message();
  }
}

void RunTensorBoard::AddProgress(int64_t env_steps, absl::Time when, double env_steps_per_second,
                                 double updates_per_second) {
  Write(env_steps, when,
        {{"throughput/env_steps_per_second", env_steps_per_second},
         {"throughput/updates_per_second", updates_per_second}});
}

void RunTensorBoard::TakeScalarLogs(const StepAt& step_at) {
  for (const std::filesystem::path& log : ScalarLogs(run_dir_)) {
    int64_t& offset = offsets_[log.string()];
    int64_t next = offset;
    const std::string stem = log.stem().string();
    for (const std::map<std::string, double>& line : ReadScalarLog(log.string(), offset, &next)) {
      const auto time = line.find("time");
      if (time == line.end()) continue;
      const absl::Time when = absl::UnixEpoch() + absl::Seconds(time->second);
      Write(step_at(when), when, TensorBoardScalars(stem, line));
    }
    offset = next;
  }
}

}  // namespace rill::cli
