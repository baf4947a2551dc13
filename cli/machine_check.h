// Whether this machine can hold a `rill launch` run: the memory its
// processes take (the replay shards' tables included), their threads under
// this user's process limit, and two ports each from the kernel's
// ephemeral range, each with half left to everything else. Without it a
// run of 100,000 actors starts actors until the machine gives out.
//
// Thread-safe: pure functions (MachineFigures::OfThisMachine reads /proc).
#ifndef RILL_CLI_MACHINE_CHECK_H_
#define RILL_CLI_MACHINE_CHECK_H_

#include <cstdint>

#include "absl/status/status.h"
#include "proto/config.pb.h"

namespace rill::cli {

struct MachineFigures {
  int64_t memory_bytes = 0;
  int64_t process_limit = 0;    // ulimit -u
  int64_t ephemeral_ports = 0;  // /proc/sys/net/ipv4/ip_local_port_range

  static MachineFigures OfThisMachine();
};

// What one child of a run takes of a machine, measured on a tiny Pendulum
// run (tests/configs/tiny_pendulum.textpb): an actor, the evaluator, a
// replay shard (before its tables) or an inference server about 24 MiB and
// 15 threads, the learner about 180 MiB and 16 threads; each binds a gRPC
// and a metrics port.
inline constexpr int64_t kChildMemoryBytes = int64_t{32} << 20;
inline constexpr int64_t kLearnerMemoryBytes = int64_t{256} << 20;
inline constexpr int64_t kThreadsPerChild = 16;
inline constexpr int64_t kPortsPerChild = 2;

// InvalidArgument naming the topology field (the largest group of
// processes) when the run of the finalized `config` does not fit `machine`.
absl::Status CheckMachineHoldsTheRun(const v1::ExperimentConfig& config, const MachineFigures& machine);

}  // namespace rill::cli

#endif  // RILL_CLI_MACHINE_CHECK_H_
