#include "common/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace rill {
namespace {

// The child's end of the ready pipe, after dup2.
constexpr int kReadyFd = 3;

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(const std::string& name, const std::string& binary,
                                                                  const std::vector<std::string>& args,
                                                                  const std::string& log_path) {
  return Spawn(name, binary, args, log_path, /*ready_pipe=*/true);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::StartProgram(const std::string& name,
                                                                         const std::string& binary,
                                                                         const std::vector<std::string>& args,
                                                                         const std::string& log_path) {
  return Spawn(name, binary, args, log_path, /*ready_pipe=*/false);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(const std::string& name, const std::string& binary,
                                                                  const std::vector<std::string>& args,
                                                                  const std::string& log_path, bool ready_pipe) {
  int pipe_fds[2] = {-1, -1};
  if (ready_pipe && pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  auto close_pipe = [&] {
    for (int fd : pipe_fds) {
      if (fd >= 0) close(fd);
    }
  };
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    close_pipe();
    return absl::PermissionDeniedError(absl::StrCat("cannot open log '", log_path, "': ", strerror(errno)));
  }
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  if (ready_pipe) argv_storage.push_back(absl::StrCat("--ready_fd=", kReadyFd));
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) {
    close_pipe();
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (ready_pipe) dup2(pipe_fds[1], kReadyFd);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execv(binary.c_str(), argv.data());
    const char message[] = "exec failed\n";
    (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
    _exit(127);
  }
  if (pipe_fds[1] >= 0) close(pipe_fds[1]);
  close(log_fd);
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->name_ = name;
  child->log_path_ = log_path;
  child->pid_ = pid;
  child->ready_fd_ = pipe_fds[0];
  return child;
}

ChildProcess::~ChildProcess() {
  if (ready_fd_ >= 0) close(ready_fd_);
  if (!Poll().has_value()) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

absl::StatusOr<std::map<std::string, int>> ChildProcess::WaitReady(absl::Duration timeout) {
  if (ready_fd_ < 0) return absl::FailedPreconditionError(absl::StrCat(name_, " was started without a ready pipe"));
  const absl::Time deadline = absl::Now() + timeout;
  // Kept across calls: a caller may wait in slices.
  std::string& line = ready_line_;
  while (line.find('\n') == std::string::npos) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat(name_, " did not become ready within ", absl::FormatDuration(timeout),
                                                      "; its log ends with:\n", LogTail(15)));
    }
    pollfd fd{ready_fd_, POLLIN, 0};
    int ready = poll(&fd, 1, static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1000)));
    if (ready < 0 && errno != EINTR) return absl::InternalError(absl::StrCat("poll: ", strerror(errno)));
    if (ready <= 0) continue;
    char buffer[512];
    ssize_t n = read(ready_fd_, buffer, sizeof(buffer));
    if (n > 0) {
      line.append(buffer, static_cast<size_t>(n));
      continue;
    }
    // The pipe closed without a ready line: the child failed to start.
    int status = 0;
    waitpid(pid_, &status, 0);
    exit_status_ = status;
    return absl::FailedPreconditionError(absl::StrCat(name_, " exited before it was ready (", DescribeStatus(status),
                                                      "); its log ends with:\n", LogTail(15)));
  }
  std::map<std::string, int> ports;
  std::vector<std::string> words = absl::StrSplit(absl::StripAsciiWhitespace(line), ' ', absl::SkipEmpty());
  if (words.empty() || words[0] != "ready") {
    return absl::InternalError(absl::StrCat(name_, " sent an unexpected ready line: ", line));
  }
  for (size_t i = 1; i < words.size(); ++i) {
    std::pair<std::string, std::string> kv = absl::StrSplit(words[i], absl::MaxSplits('=', 1));
    int value = 0;
    if (!absl::SimpleAtoi(kv.second, &value)) {
      return absl::InternalError(absl::StrCat(name_, " sent a bad ready entry: ", words[i]));
    }
    ports[kv.first] = value;
  }
  return ports;
}

std::optional<int> ChildProcess::Poll() {
  if (exit_status_.has_value()) return exit_status_;
  int status = 0;
  pid_t result = waitpid(pid_, &status, WNOHANG);
  if (result == pid_) exit_status_ = status;
  return exit_status_;
}

void ChildProcess::Signal(int signal_number) {
  if (!Poll().has_value()) kill(pid_, signal_number);
}

std::optional<int> ChildProcess::WaitExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!Poll().has_value() && absl::Now() < deadline) {
    // waitpid has no timeout; a short poll interval bounds the wait.
    absl::SleepFor(absl::Milliseconds(20));
  }
  return Poll();
}

int ChildProcess::Stop(absl::Duration grace) {
  Signal(SIGTERM);
  WaitExit(grace);
  return Kill();
}

int ChildProcess::Kill() {
  if (!Poll().has_value()) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    exit_status_ = status;
  }
  return *exit_status_;
}

bool ChildProcess::WaitAll(const std::vector<ChildProcess*>& children, absl::Time deadline) {
  while (true) {
    const bool all_ended = std::all_of(children.begin(), children.end(),
                                       [](ChildProcess* child) { return child == nullptr || child->Poll().has_value(); });
    if (all_ended) return true;
    if (absl::Now() >= deadline) return false;
    // waitpid has no timeout (as in WaitExit); a short interval bounds the wait.
    absl::SleepFor(std::min(absl::Milliseconds(20), deadline - absl::Now()));
  }
}

std::string ChildProcess::LogTail(int lines) const {
  std::ifstream in(log_path_);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back("    " + line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  return absl::StrJoin(tail, "\n");
}

std::string ChildProcess::DescribeStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exit code ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(wait_status), " (", strsignal(WTERMSIG(wait_status)), ")");
  }
  return absl::StrCat("wait status ", wait_status);
}

}  // namespace rill
