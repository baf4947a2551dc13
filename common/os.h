// What a process asks of the operating system, written once: the path of
// its own binary, a free local TCP port, a file replaced whole, and what
// the machine offers (memory, cores, processes, ports), which bounds the
// config values that size them (experiment/config.h, `rill launch`).
//
// Thread-safe: no shared state.
#ifndef RILL_COMMON_OS_H_
#define RILL_COMMON_OS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rill {

// The absolute path of this process's executable (/proc/self/exe).
// NotFound when it cannot be read.
absl::StatusOr<std::string> SelfBinary();

// A free TCP port on 127.0.0.1 right now: bound with port 0, read back and
// closed again. Another process may take it before the caller binds it, so
// callers that can retry do. Unavailable when no port can be bound.
absl::StatusOr<int> PickFreePort();

// Writes `text` to `path` through a temporary file beside it and a rename,
// so that a reader (Prometheus' file discovery, a resuming process) sees the
// old file or the new one, never half of one. PermissionDenied when the
// folder cannot be written; DataLoss on a short write.
absl::Status WriteFileAtomically(const std::string& path, const std::string& text);

// The machine's physical memory in bytes (sysconf); 1 GiB when the system
// does not say.
int64_t PhysicalMemoryBytes();

// `bytes` for messages about memory: "512 bytes", "1.5 GiB".
std::string HumanBytes(double bytes);

// Cores online (sysconf); at least 1.
int OnlineCores();

// Processes and threads this user may run at once: RLIMIT_NPROC's soft
// limit, INT64_MAX when unlimited.
int64_t ProcessLimit();

// Local ports the kernel hands out to binds of port 0
// (/proc/sys/net/ipv4/ip_local_port_range); Linux's default 28,232 when it
// cannot be read.
int64_t EphemeralPortCount();

}  // namespace rill

#endif  // RILL_COMMON_OS_H_
