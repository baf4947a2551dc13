// A process's scalars over time as JSON lines, one object per line:
// {"time": <unix seconds>, "<name>": <number>, ...}. The learner appends its
// losses and statistics at every log interval, the evaluator every round;
// `rill launch` points them at <run_dir>/metrics/<role>.jsonl and reads the
// evaluator's rounds back for the run's history and plots, and
// cli/plot_run.py draws the learner's. Append-only and flushed line by
// line, so a killed process leaves every line it wrote but the last.
//
// ScalarLog is thread-safe; ReadScalarLog is a pure function of the file.
#ifndef RILL_COMMON_SCALAR_LOG_H_
#define RILL_COMMON_SCALAR_LOG_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rill {

class ScalarLog {
 public:
  // Opens `path` for appending, creating its folder. PermissionDenied when
  // it cannot be opened.
  static absl::StatusOr<std::unique_ptr<ScalarLog>> Open(const std::string& path);
  ~ScalarLog();

  // One line: "time" (`when`, as unix seconds) and the fields in their
  // order. Names are written as given (they are Rill's own, without quotes
  // or backslashes); a non-finite value is written as null.
  void Append(const std::vector<std::pair<std::string, double>>& fields, absl::Time when = absl::Now())
      ABSL_LOCKS_EXCLUDED(mu_);

  const std::string& path() const { return path_; }

 private:
  ScalarLog(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  const std::string path_;
  absl::Mutex mu_;
  std::FILE* file_ ABSL_GUARDED_BY(mu_);
};

// The lines of a scalar log from byte `offset` on, each as its fields
// (null values left out); `next_offset` gets the offset after the last
// complete line, so a reader can follow a growing file. A file that does
// not exist reads as no lines. A malformed line (a torn last write) is
// skipped.
std::vector<std::map<std::string, double>> ReadScalarLog(const std::string& path, int64_t offset = 0,
                                                         int64_t* next_offset = nullptr);

}  // namespace rill

#endif  // RILL_COMMON_SCALAR_LOG_H_
