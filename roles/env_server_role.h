// The env server of a run whose config has env.remote.command
// (proto/config.proto, RemoteEnvConfig.command), started by `rill launch`
// (cli/supervisor.h) and by `rill eval` and `rill render`
// (roles/remote_env_serving.h): the command run with /bin/sh, "{address}"
// replaced by env.remote.address (127.0.0.1:0 when that is empty), its
// output in Options.log_path (a launch's logs/env-server.log). Start waits
// until the server prints "listening on HOST:PORT" (rill.env_server does;
// that is the bound address) or, for an address with a fixed port, accepts
// a TCP connection. Restart runs the command again on the bound address, so
// that actors reconnect to where they were told to dial.
//
// The shell stays the parent of the server: it waits for the command as a
// background job and passes on a SIGTERM (the parent-death signal when the
// process that started it dies) to it. Stopping, restarting and destroying
// act on the child's whole process group: the shell, the server and any
// worker processes it started.
//
// Not thread-safe: one thread owns it (the launcher's supervising thread,
// or eval's and render's main thread).
#ifndef RILL_ROLES_ENV_SERVER_ROLE_H_
#define RILL_ROLES_ENV_SERVER_ROLE_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/child_process.h"

namespace rill::roles {

class EnvServerRole {
 public:
  struct Options {
    // env.remote.command; must contain "{address}" unless `address` has a
    // fixed port.
    std::string command;
    // env.remote.address; empty binds 127.0.0.1:0.
    std::string address;
    // Where the server's stdout and stderr go (appended across restarts).
    std::string log_path;
    // How long the server may take to listen, at start and at each restart.
    absl::Duration start_timeout = absl::Seconds(60);
    // The flag that sets start_timeout, named when it passes
    // ("--start_timeout"); empty: none does.
    std::string start_timeout_flag;
    // Ends the wait for the server to listen early when notified (Ctrl-C,
    // SIGTERM); may be null.
    const absl::Notification* stop = nullptr;
  };

  // Starts the server and blocks until it listens (see above). InvalidArgument
  // when the command is empty; FailedPrecondition with its exit status and
  // log tail when it exits first; DeadlineExceeded naming the command and
  // the log when it does not listen within start_timeout; Cancelled when
  // options.stop is notified first; ChildProcess's errors when it cannot
  // be started.
  static absl::StatusOr<std::unique_ptr<EnvServerRole>> Start(const Options& options);
  ~EnvServerRole();  // SIGKILLs the process group if it still runs

  EnvServerRole(const EnvServerRole&) = delete;
  EnvServerRole& operator=(const EnvServerRole&) = delete;

  // Non-blocking: the shell's wait status once the server has ended.
  std::optional<int> Poll();
  // Kills what is left of the ended server's process group, then starts the
  // command again on address() and blocks as Start does (its errors).
  absl::Status Restart();
  // SIGTERM to the process group, SIGKILL to whatever is left after
  // `grace`. Blocks up to `grace` (plus a moment to reap).
  void Stop(absl::Duration grace);

  // The address the server bound (HOST:PORT), which the actors dial.
  const std::string& address() const { return address_; }
  // The command as run: "{address}" replaced.
  const std::string& expanded_command() const { return expanded_command_; }
  const std::string& log_path() const { return options_.log_path; }
  // The shell's pid (the leader of the server's process group).
  pid_t pid() const { return process_ == nullptr ? -1 : process_->pid(); }
  int restarts() const { return restarts_; }
  std::string LogTail(int lines) const;

 private:
  explicit EnvServerRole(Options options) : options_(std::move(options)) {}
  // Runs the command with "{address}" replaced by `address` and waits for it
  // to listen; sets address_.
  absl::Status Launch(const std::string& address);
  // Blocks until the server started on `address` says it listens in its
  // log past `log_offset` (or accepts a connection there); Launch's errors.
  absl::Status AwaitListening(const std::string& address, int64_t log_offset);
  // SIGKILL to the group of the last process started, and waits up to
  // `timeout` until none of it is left (the port is free again).
  void KillGroup(absl::Duration timeout);

  Options options_;
  std::unique_ptr<ChildProcess> process_;
  std::string address_;
  std::string expanded_command_;
  int restarts_ = 0;
  // Until Stop or KillGroup has seen the process group go.
  bool group_may_live_ = false;
};

}  // namespace rill::roles

#endif  // RILL_ROLES_ENV_SERVER_ROLE_H_
