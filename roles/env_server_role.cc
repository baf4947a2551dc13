#include "roles/env_server_role.h"

#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace rill::roles {
namespace {

constexpr char kListening[] = "listening on ";
// What "{address}" becomes when env.remote.address is empty.
constexpr char kAnyLocalPort[] = "127.0.0.1:0";
// How often the log and the port are looked at while the server starts. A
// file and a socket offer nothing to block on; each look waits for the
// shell's exit in between, so an early exit is seen at once.
constexpr absl::Duration kLookEvery = absl::Milliseconds(50);
constexpr absl::Duration kConnectTimeout = absl::Seconds(1);
// How long a killed group may take to disappear (and free its port).
constexpr absl::Duration kKillTimeout = absl::Seconds(5);

struct HostPort {
  std::string host;
  int port = 0;
};

// "HOST:PORT" (or "[V6]:PORT"); nullopt without a numeric port.
std::optional<HostPort> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  HostPort split;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &split.port) || split.port < 0 || split.port > 65535) {
    return std::nullopt;
  }
  split.host = address.substr(0, colon);
  if (split.host.size() >= 2 && split.host.front() == '[' && split.host.back() == ']') {
    split.host = split.host.substr(1, split.host.size() - 2);
  }
  return split;
}

int64_t FileSize(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  return error ? 0 : static_cast<int64_t>(size);
}

// The file's text from byte `offset` on ("" if it cannot be read).
std::string ReadFrom(const std::string& path, int64_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(offset);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The HOST:PORT of the first complete "... listening on HOST:PORT" line in
// `text` whose port is a number above 0.
std::optional<std::string> ListeningAddress(const std::string& text) {
  size_t line_start = 0;
  for (size_t end = text.find('\n'); end != std::string::npos; end = text.find('\n', line_start)) {
    const std::string line = text.substr(line_start, end - line_start);
    line_start = end + 1;
    const size_t at = line.find(kListening);
    if (at == std::string::npos) continue;
    std::string address(absl::StripAsciiWhitespace(line.substr(at + sizeof(kListening) - 1)));
    address = address.substr(0, address.find_first_of(" \t"));
    const std::optional<HostPort> split = SplitHostPort(address);
    if (split.has_value() && split->port > 0 && !split->host.empty()) return address;
  }
  return std::nullopt;
}

// Whether a TCP connection to the address succeeds within kConnectTimeout.
bool AcceptsConnections(const HostPort& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* resolved = nullptr;
  if (getaddrinfo(address.host.c_str(), std::to_string(address.port).c_str(), &hints, &resolved) != 0) return false;
  bool connected = false;
  for (addrinfo* candidate = resolved; candidate != nullptr && !connected; candidate = candidate->ai_next) {
    const int fd = socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC, candidate->ai_protocol);
    if (fd < 0) continue;
    // Bounds connect() too on Linux.
    timeval timeout{};
    timeout.tv_sec = static_cast<time_t>(absl::ToInt64Seconds(kConnectTimeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    connected = connect(fd, candidate->ai_addr, candidate->ai_addrlen) == 0;
    close(fd);
  }
  freeaddrinfo(resolved);
  return connected;
}

// Whether a process of process group `group` is alive (zombies do not
// count: an orphan's zombie waits for an init that may never reap it).
bool GroupAlive(pid_t group) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const size_t close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) continue;
    char state = 0;
    int ppid = 0, pgrp = 0;
    if (sscanf(stat.c_str() + close_paren + 1, " %c %d %d", &state, &ppid, &pgrp) != 3) continue;
    if (pgrp == group && state != 'Z') return true;
  }
  return false;
}

// Blocks until no live process is left in `group` or `timeout` passes;
// whether none is left. Nothing notifies a process group's end, so it looks
// every 20 ms.
bool AwaitGroupGone(pid_t group, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (GroupAlive(group)) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EnvServerRole>> EnvServerRole::Start(const Options& options) {
  if (options.command.empty()) return absl::InvalidArgumentError("env.remote.command is empty");
  std::unique_ptr<EnvServerRole> role(new EnvServerRole(options));
  RETURN_IF_ERROR(role->Launch(options.address.empty() ? kAnyLocalPort : options.address));
  return role;
}

EnvServerRole::~EnvServerRole() { KillGroup(kKillTimeout); }

std::optional<int> EnvServerRole::Poll() { return process_ == nullptr ? std::nullopt : process_->Poll(); }

absl::Status EnvServerRole::Restart() {
  // What outlived the shell (the server when the shell was killed, worker
  // processes of a killed server) would hold the port.
  KillGroup(kKillTimeout);
  ++restarts_;
  return Launch(address_);
}

void EnvServerRole::Stop(absl::Duration grace) {
  if (process_ == nullptr || !group_may_live_) return;
  const pid_t group = process_->pid();
  kill(-group, SIGTERM);
  process_->WaitExit(grace);
  if (!AwaitGroupGone(group, grace)) {
    RILL_LOG(WARNING) << "env server (process group " << group << ") still runs " << absl::FormatDuration(grace)
                      << " after SIGTERM; killing it";
  }
  KillGroup(kKillTimeout);
}

std::string EnvServerRole::LogTail(int lines) const {
  return process_ == nullptr ? std::string() : process_->LogTail(lines);
}

absl::Status EnvServerRole::Launch(const std::string& address) {
  expanded_command_ = absl::StrReplaceAll(options_.command, {{"{address}", address}});
  const int64_t log_offset = FileSize(options_.log_path);
  RILL_LOG(INFO) << "starting the env server: /bin/sh -c '" << expanded_command_ << "'";
  // The shell passes on the SIGTERM it gets when the launcher dies (the
  // parent-death signal, which the server itself, the shell's child, does
  // not get), so that no server outlives its run. The command runs as a
  // background job that the shell waits for, as a trap cannot run while a
  // foreground command is running; the braces keep a command list whole.
  const std::string script = absl::StrCat("trap 'kill -TERM $! 2>/dev/null' TERM HUP INT\n{\n", expanded_command_,
                                          "\n} &\nwait $!\n");
  ASSIGN_OR_RETURN(process_, ChildProcess::StartProgram("env server", "/bin/sh", {"-c", script}, options_.log_path));
  group_may_live_ = true;
  return AwaitListening(address, log_offset);
}

absl::Status EnvServerRole::AwaitListening(const std::string& address, int64_t log_offset) {
  // A fixed port is also known to be up once it accepts a connection, for
  // servers that print no "listening on" line.
  std::optional<HostPort> fixed = SplitHostPort(address);
  if (fixed.has_value() && fixed->port == 0) fixed.reset();
  const absl::Time deadline = absl::Now() + options_.start_timeout;
  while (true) {
    if (std::optional<std::string> bound = ListeningAddress(ReadFrom(options_.log_path, log_offset))) {
      address_ = *bound;
      return absl::OkStatus();
    }
    if (fixed.has_value() && AcceptsConnections(*fixed)) {
      address_ = address;
      return absl::OkStatus();
    }
    if (std::optional<int> status = process_->WaitExit(kLookEvery)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the env server exited before it listened (", ChildProcess::DescribeStatus(*status), "): /bin/sh -c '",
          expanded_command_, "'; its log ", options_.log_path, " ends with:\n", process_->LogTail(15)));
    }
    if (options_.stop != nullptr && options_.stop->HasBeenNotified()) {
      return absl::CancelledError(
          absl::StrCat("interrupted while the env server started: /bin/sh -c '", expanded_command_, "'"));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the env server did not listen within ", absl::FormatDuration(options_.start_timeout),
          options_.start_timeout_flag.empty() ? "" : absl::StrCat(" (", options_.start_timeout_flag, ")"),
          ": /bin/sh -c '", expanded_command_, "' printed no \"listening on HOST:PORT\" line",
          fixed.has_value() ? absl::StrCat(" and accepted no connection on ", address) : "", "; see its log ",
          options_.log_path, ", which ends with:\n", process_->LogTail(15)));
    }
  }
}

void EnvServerRole::KillGroup(absl::Duration timeout) {
  // Once the group is gone its id may be reused: signal it no more.
  if (process_ == nullptr || !group_may_live_) return;
  group_may_live_ = false;
  const pid_t group = process_->pid();
  kill(-group, SIGKILL);
  process_->WaitExit(timeout);
  if (!AwaitGroupGone(group, timeout)) {
    RILL_LOG(WARNING) << "env server's process group " << group << " still has processes after SIGKILL";
  }
}

}  // namespace rill::roles
