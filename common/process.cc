#include "common/process.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"

namespace rill {
namespace {

struct Hooks {
  absl::Mutex mu;
  std::map<int, std::function<void()>> hooks ABSL_GUARDED_BY(mu);
  int next_id ABSL_GUARDED_BY(mu) = 0;
  bool signalled ABSL_GUARDED_BY(mu) = false;
};

Hooks& GlobalHooks() {
  static Hooks* hooks = new Hooks();
  return *hooks;
}

// Runs the hooks once; later calls (and hooks registered later) find
// `signalled` set.
void RunShutdownHooks() {
  Hooks& hooks = GlobalHooks();
  absl::MutexLock lock(&hooks.mu);
  hooks.signalled = true;
  for (auto& [id, hook] : hooks.hooks) hook();
}

}  // namespace

ShutdownHook::~ShutdownHook() {
  Hooks& hooks = GlobalHooks();
  absl::MutexLock lock(&hooks.mu);
  hooks.hooks.erase(id_);
}

std::unique_ptr<ShutdownHook> OnShutdownSignal(std::function<void()> hook) {
  Hooks& hooks = GlobalHooks();
  absl::MutexLock lock(&hooks.mu);
  if (hooks.signalled) hook();
  const int id = hooks.next_id++;
  hooks.hooks.emplace(id, std::move(hook));
  return std::make_unique<ShutdownHook>(id);
}

absl::Notification& InstallShutdownSignals() {
  static absl::Notification* shutdown = [] {
    auto* notification = new absl::Notification();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([set, notification] {
      int signal_number = 0;
      sigwait(&set, &signal_number);
      RILL_LOG(INFO) << "received " << strsignal(signal_number) << ", shutting down";
      RunShutdownHooks();
      notification->Notify();
      // A second signal while shutting down ends the process at once.
      sigwait(&set, &signal_number);
      RILL_LOG(WARNING) << "second signal, exiting now";
      _exit(130);
    }).detach();
    return notification;
  }();
  return *shutdown;
}

absl::Status AnnounceReady(int fd, const std::map<std::string, int>& ports) {
  if (fd < 0) return absl::OkStatus();
  std::string line = "ready";
  for (const auto& [key, value] : ports) absl::StrAppend(&line, " ", key, "=", value);
  line += "\n";
  ssize_t written = write(fd, line.data(), line.size());
  int error = errno;
  close(fd);
  if (written != static_cast<ssize_t>(line.size())) {
    return absl::InternalError(absl::StrCat("cannot write the ready line to fd ", fd, ": ", strerror(error)));
  }
  return absl::OkStatus();
}

}  // namespace rill
