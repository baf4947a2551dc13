#include "common/video_writer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace rill {
namespace {

constexpr int kMaxVideoSize = 8192;

// The full path of `program` on PATH, or "" when there is none.
std::string FindOnPath(const std::string& program) {
  if (absl::StrContains(program, '/')) return access(program.c_str(), X_OK) == 0 ? program : "";
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':', absl::SkipEmpty())) {
    const std::string candidate = absl::StrCat(dir, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string FolderOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::string VideoWriter::FfmpegProgram() {
  const char* program = std::getenv("RILL_FFMPEG");
  return program != nullptr && *program != '\0' ? program : "ffmpeg";
}

absl::Status VideoWriter::CheckAvailable() {
  const std::string program = FfmpegProgram();
  if (!FindOnPath(program).empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "cannot write videos: the ffmpeg program ('", program,
      "') is not installed or not on PATH; install Debian's ffmpeg package (tools/setup.sh does)"));
}

absl::StatusOr<std::unique_ptr<VideoWriter>> VideoWriter::Open(const std::string& path, int width, int height,
                                                               double fps) {
  if (path.empty()) return absl::InvalidArgumentError("a video needs a file path");
  if (width < 1 || height < 1 || width > kMaxVideoSize || height > kMaxVideoSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a video of ", width, "x", height, " pixels: width and height must lie in 1..", kMaxVideoSize));
  }
  if (!(fps > 0 && fps <= 1000)) {
    return absl::InvalidArgumentError(absl::StrCat("a video at ", fps, " frames a second: must lie in (0, 1000]"));
  }
  const std::string program = FindOnPath(FfmpegProgram());
  if (program.empty()) return CheckAvailable();
  struct stat folder;
  if (stat(FolderOf(path).c_str(), &folder) != 0 || !S_ISDIR(folder.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write the video '", path, "': its folder '", FolderOf(path), "' does not exist"));
  }

  std::unique_ptr<VideoWriter> writer(new VideoWriter());
  writer->path_ = path;
  writer->partial_path_ = path + ".partial";
  writer->log_path_ = path + ".ffmpeg.log";
  writer->width_ = width;
  writer->height_ = height;

  const std::vector<std::string> args = {
      program, "-hide_banner", "-loglevel", "error", "-y",
      // The input: raw RGB frames on stdin.
      "-f", "rawvideo", "-pix_fmt", "rgb24", "-video_size", absl::StrCat(width, "x", height), "-framerate",
      absl::StrFormat("%.6g", fps), "-i", "pipe:0",
      // yuv420p needs even sizes: an odd one gains a black row or column.
      "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt",
      "yuv420p", "-threads", "1", "-movflags", "+faststart", "-f", "mp4", writer->partial_path_};
  std::vector<char*> argv;
  std::vector<std::string> storage = args;
  for (std::string& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // A socket pair rather than a pipe: send(MSG_NOSIGNAL) reports an ffmpeg
  // that has gone as EPIPE instead of raising SIGPIPE in the caller.
  int fds[2] = {-1, -1};
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", strerror(errno)));
  }
  const int log_fd = open(writer->log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    close(fds[0]);
    close(fds[1]);
    return absl::PermissionDeniedError(absl::StrCat("cannot write '", writer->log_path_, "': ", strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(fds[1], STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    const char message[] = "exec of ffmpeg failed\n";
    (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
    _exit(127);
  }
  close(fds[1]);
  close(log_fd);
  // ffmpeg reads only: our end writes only.
  shutdown(fds[0], SHUT_RD);
  writer->pid_ = pid;
  writer->stdin_fd_ = fds[0];
  return writer;
}

VideoWriter::~VideoWriter() {
  if (!finished_) Abandon();
}

void VideoWriter::Abandon() {
  if (stdin_fd_ >= 0) {
    close(stdin_fd_);
    stdin_fd_ = -1;
  }
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  unlink(partial_path_.c_str());
  unlink(log_path_.c_str());
}

std::string VideoWriter::LogTail() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  std::string log = text.str();
  if (log.size() > 2000) log = "..." + log.substr(log.size() - 2000);
  while (!log.empty() && (log.back() == '\n' || log.back() == ' ')) log.pop_back();
  return log.empty() ? "(ffmpeg printed nothing)" : log;
}

absl::Status VideoWriter::WriteFrame(const uint8_t* rgb) {
  if (finished_ || stdin_fd_ < 0) {
    return absl::FailedPreconditionError(absl::StrCat("the video '", path_, "' is already finished"));
  }
  size_t left = static_cast<size_t>(width_) * height_ * 3;
  const uint8_t* at = rgb;
  while (left > 0) {
    const ssize_t sent = send(stdin_fd_, at, left, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) {
      const std::string why = strerror(errno);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
      const std::string tail = LogTail();
      Abandon();
      finished_ = true;
      return absl::InternalError(absl::StrCat("ffmpeg stopped taking frames for '", path_, "' (", why,
                                              ") after ", frames_, " frames: ", tail));
    }
    at += sent;
    left -= static_cast<size_t>(sent);
  }
  ++frames_;
  return absl::OkStatus();
}

absl::Status VideoWriter::Finish() {
  if (finished_) return absl::FailedPreconditionError(absl::StrCat("the video '", path_, "' is already finished"));
  if (frames_ == 0) {
    Abandon();
    finished_ = true;
    return absl::FailedPreconditionError(absl::StrCat("the video '", path_, "' has no frames; none is written"));
  }
  finished_ = true;
  close(stdin_fd_);
  stdin_fd_ = -1;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string tail = LogTail();
    Abandon();
    return absl::InternalError(absl::StrCat("ffmpeg failed to write '", path_, "' (",
                                            WIFEXITED(status) ? absl::StrCat("exit code ", WEXITSTATUS(status))
                                                              : absl::StrCat("signal ", WTERMSIG(status)),
                                            "): ", tail));
  }
  if (rename(partial_path_.c_str(), path_.c_str()) != 0) {
    const std::string why = strerror(errno);
    Abandon();
    return absl::InternalError(absl::StrCat("cannot move the video to '", path_, "': ", why));
  }
  unlink(log_path_.c_str());
  return absl::OkStatus();
}

}  // namespace rill
