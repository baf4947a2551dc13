// A child process of the launcher: the `rill` binary started with a role's
// arguments, its output in a log file, in its own process group (so Ctrl-C
// reaches only the launcher, which then shuts children down in order), with
// a parent-death signal (so a killed launcher leaves no orphans), and a pipe
// on which the child announces "ready key=value ..." with its bound ports.
// Not thread-safe: the launcher's one supervising thread owns it.
#ifndef RILL_COMMON_CHILD_PROCESS_H_
#define RILL_COMMON_CHILD_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace rill {

class ChildProcess {
 public:
  // Starts `binary args...` with --ready_fd pointing at the pipe; output goes
  // to `log_path` (appended). Internal error if fork or exec fails.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::string& name, const std::string& binary,
                                                             const std::vector<std::string>& args,
                                                             const std::string& log_path);
  // Another program (Prometheus, Python): the same process group, parent-
  // death signal and log, but no ready pipe and no --ready_fd; WaitReady
  // does not apply.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> StartProgram(const std::string& name, const std::string& binary,
                                                                    const std::vector<std::string>& args,
                                                                    const std::string& log_path);
  ~ChildProcess();  // SIGKILLs and reaps a child still running

  // Blocks until the ready line arrives (returns its key=value pairs), the
  // child exits (FailedPrecondition with the log's tail) or the timeout
  // (DeadlineExceeded; a later call goes on waiting for the same line).
  absl::StatusOr<std::map<std::string, int>> WaitReady(absl::Duration timeout);

  // Non-blocking: the exit status once the child has ended.
  std::optional<int> Poll();
  // Blocks until the child ends (its wait status) or the timeout passes.
  std::optional<int> WaitExit(absl::Duration timeout);
  // SIGTERM, wait up to `grace`, then SIGKILL; returns the exit status.
  int Stop(absl::Duration grace);
  // Sends `signal_number` unless the child has ended; does not wait.
  void Signal(int signal_number);
  // SIGKILL and reap, at once; returns the exit status (of a child that had
  // already ended too).
  int Kill();

  // Blocks until every one of `children` (nulls skipped) has ended or
  // `deadline` passes; true when all have ended. Stopping many children
  // promptly is Signal(SIGTERM) to each, one WaitAll, then Kill on what is
  // left: they drain in parallel under one deadline, where one Stop after
  // another would add their drains up.
  static bool WaitAll(const std::vector<ChildProcess*>& children, absl::Time deadline);

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  bool running() { return !Poll().has_value(); }
  // The last `lines` lines of the child's log, for error messages.
  std::string LogTail(int lines) const;

  // "exit code 3" or "killed by signal 9 (Killed)".
  static std::string DescribeStatus(int wait_status);

 private:
  ChildProcess() = default;
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(const std::string& name, const std::string& binary,
                                                             const std::vector<std::string>& args,
                                                             const std::string& log_path, bool ready_pipe);
  std::string name_;
  std::string log_path_;
  pid_t pid_ = -1;
  int ready_fd_ = -1;
  std::string ready_line_;  // what has arrived of the ready line
  std::optional<int> exit_status_;
};

}  // namespace rill

#endif  // RILL_COMMON_CHILD_PROCESS_H_
