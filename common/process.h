// Process-level helpers for every Rill role: graceful shutdown on SIGINT /
// SIGTERM, and the readiness line a launcher reads from an inherited pipe.
//
// Shutdown order of a serving role (replay, learner) on SIGTERM: the
// shutdown hooks run first, on the signal thread (they turn grpc.health.v1
// to NOT_SERVING, so that a Kubernetes readiness probe, the launcher and
// clients probing the server see it leave at once); then the notification
// wakes the role's main loop, which refuses new work, drains what is in
// flight, writes its final checkpoint and exits.
#ifndef RILL_COMMON_PROCESS_H_
#define RILL_COMMON_PROCESS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"

namespace rill {

// Blocks SIGINT and SIGTERM in the calling thread (call it first in main,
// before any thread starts, so every thread inherits the mask) and starts a
// thread that waits for them and notifies the returned notification.
// Thread-safe to wait on from any thread; lives for the whole process.
absl::Notification& InstallShutdownSignals();

// A registered shutdown hook; destroying it unregisters the hook (waiting
// for it if it is running right now), so keep it alive exactly as long as
// what the hook touches.
class ShutdownHook {
 public:
  explicit ShutdownHook(int id) : id_(id) {}
  ShutdownHook(const ShutdownHook&) = delete;
  ShutdownHook& operator=(const ShutdownHook&) = delete;
  ~ShutdownHook();

 private:
  int id_;
};

// Runs `hook` on the signal thread when the first SIGINT / SIGTERM arrives,
// before the notification of InstallShutdownSignals is notified; at once,
// on the calling thread, if that has happened already. Hooks must be quick
// and must not register other hooks. Call InstallShutdownSignals first.
std::unique_ptr<ShutdownHook> OnShutdownSignal(std::function<void()> hook);

// Writes "ready key=value ...\n" to `fd` and closes it; a no-op for fd < 0.
// The launcher passes the write end of a pipe and learns the bound ports.
absl::Status AnnounceReady(int fd, const std::map<std::string, int>& ports);

}  // namespace rill

#endif  // RILL_COMMON_PROCESS_H_
