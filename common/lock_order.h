// Abseil's lock-order checker, on where it finds bugs and off where it costs.
//
// Debian builds its Abseil without NDEBUG, so absl::Mutex runs its deadlock
// detector on every lock: each acquisition records an edge in one global
// graph kept under one process-wide spin lock. In a server with many
// reactors and threads that is a lock every thread contends for: perf
// showed 4% of a 1,000-subscriber parameter fan-out in GraphCycles alone,
// and the fan-out ran about 20% faster without it.
//
// Unit tests keep the checker (they never call this): a lock-order
// inversion aborts the test that has it. Rill's binaries call
// ConfigureLockOrderChecking() first thing in main: off, unless the
// environment has RILL_CHECK_LOCK_ORDER=1 (inherited by every process
// `rill launch` starts), which turns it back on for a debugging run.
#ifndef RILL_COMMON_LOCK_ORDER_H_
#define RILL_COMMON_LOCK_ORDER_H_

namespace rill {

// Returns whether the checker is on after the call.
bool ConfigureLockOrderChecking();

}  // namespace rill

#endif  // RILL_COMMON_LOCK_ORDER_H_
