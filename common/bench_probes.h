// Measurements the benchmarks take of the machine and of processes, for
// the figures and references they print: /proc readings (resident memory,
// CPU time, threads, load) and a loopback TCP throughput probe.
#ifndef RILL_COMMON_BENCH_PROBES_H_
#define RILL_COMMON_BENCH_PROBES_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace rill {

// A "Name:  N kB" line of /proc/PID/status, in bytes: "VmRSS" (resident set)
// or "RssAnon" (its anonymous part: heap and table storage, without the
// mapped binary and libraries). NotFound when the line is missing.
absl::StatusOr<int64_t> ProcStatusBytes(pid_t pid, const std::string& name);

// User + system CPU seconds of `pid` (/proc/PID/stat); 0 if unreadable.
double ProcessCpuSeconds(pid_t pid);
// The same for this process, from getrusage.
double SelfCpuSeconds();

// Threads of `pid` (entries of /proc/PID/task); 0 if unreadable.
int ThreadCount(pid_t pid);

// The 1-minute load average as printed in /proc/loadavg ("null" if unreadable).
std::string LoadAverage();

// Bytes per second one TCP connection over 127.0.0.1 carries, as MB/s
// (1e6 bytes), writer and reader on two threads for about `seconds`.
absl::StatusOr<double> LoopbackTcpMbPerSecond(double seconds);

}  // namespace rill

#endif  // RILL_COMMON_BENCH_PROBES_H_
