// Process-level helpers for every Rill role: graceful shutdown on SIGINT /
// SIGTERM, and the readiness line a launcher reads from an inherited pipe.
#ifndef RILL_COMMON_PROCESS_H_
#define RILL_COMMON_PROCESS_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"

namespace rill {

// Blocks SIGINT and SIGTERM in the calling thread (call it first in main,
// before any thread starts, so every thread inherits the mask) and starts a
// thread that waits for them and notifies the returned notification.
// Thread-safe to wait on from any thread; lives for the whole process.
absl::Notification& InstallShutdownSignals();

// Writes "ready key=value ...\n" to `fd` and closes it; a no-op for fd < 0.
// The launcher passes the write end of a pipe and learns the bound ports.
absl::Status AnnounceReady(int fd, const std::map<std::string, int>& ports);

}  // namespace rill

#endif  // RILL_COMMON_PROCESS_H_
