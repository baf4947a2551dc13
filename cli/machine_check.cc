#include "cli/machine_check.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/invalid_field.h"
#include "common/os.h"
#include "common/tensor_codec.h"
#include "experiment/policies.h"

namespace rill::cli {

namespace {

std::string GiB(double bytes) { return absl::StrFormat("%.1f GiB", bytes / (1 << 30)); }

// The bytes one shard's tables hold when full (max_size items, or fewer
// when max_bytes caps them).
double TableBytes(const v1::ExperimentConfig& config) {
  double table_bytes = 0;
  // Every policy's tables (a finalized config's views do not fail).
  const v1::ReplayConfig replay = experiment::PolicyReplay(config).value_or(config.replay());
  for (const v1::TableConfig& table : replay.tables()) {
    double item_bytes = 0;
    for (const v1::ColumnSpec& column : table.signature().columns()) {
      item_bytes += static_cast<double>(ItemBytes(column).value_or(0));
    }
    double capacity = static_cast<double>(table.max_size());
    if (table.max_bytes() > 0 && item_bytes > 0) {
      capacity = std::min(capacity, std::floor(static_cast<double>(table.max_bytes()) / item_bytes));
    }
    table_bytes += capacity * item_bytes;
  }
  return table_bytes;
}

}  // namespace

MachineFigures MachineFigures::OfThisMachine() {
  return MachineFigures{PhysicalMemoryBytes(), ProcessLimit(), EphemeralPortCount()};
}

absl::Status CheckMachineHoldsTheRun(const v1::ExperimentConfig& config, const MachineFigures& machine) {
  const v1::TopologyConfig& topology = config.topology();
  const int64_t actors = topology.num_actors();
  const int64_t shards = topology.num_replay_shards();
  const int64_t inference = topology.num_inference_servers();
  const int64_t learners = topology.num_learners();
  const bool env_server = config.env().has_remote() && !config.env().remote().command().empty();
  // Actors, the evaluator, shards, inference servers, the learners, the env server.
  const int64_t children = actors + 1 + shards + inference + learners + (env_server ? 1 : 0);
  const double table_bytes = TableBytes(config);
  const double memory = static_cast<double>(machine.memory_bytes);
  const double actor_bytes = static_cast<double>(actors + 1) * kChildMemoryBytes;
  const double shard_bytes = static_cast<double>(shards) * (kChildMemoryBytes + table_bytes);
  const double other_bytes =
      static_cast<double>(inference) * kChildMemoryBytes + static_cast<double>(learners) * kLearnerMemoryBytes;
  const double needed = actor_bytes + shard_bytes + other_bytes;
  const std::string processes =
      absl::StrCat(children, " processes (", actors, " actors and the evaluator, ", shards, " replay shard(s), ",
                   inference, " inference server(s), ",
                   learners == 1 ? std::string("the learner") : absl::StrCat(learners, " learner ranks"),
                   env_server ? ", the env server" : "", ")");
  if (needed > memory) {
    const char* field = actor_bytes >= shard_bytes && actor_bytes >= other_bytes ? "topology.num_actors"
                        : shard_bytes >= other_bytes                              ? "topology.num_replay_shards"
                                                                                  : "topology.num_inference_servers";
    return InvalidField(field, absl::StrCat(processes, " need about ", GiB(needed), " of memory (replay tables ",
                                            GiB(static_cast<double>(shards) * table_bytes),
                                            "); this machine has ", GiB(memory)));
  }
  const char* field = actors >= shards && actors >= inference ? "topology.num_actors"
                      : shards >= inference                   ? "topology.num_replay_shards"
                                                              : "topology.num_inference_servers";
  if (machine.process_limit / 2 / kThreadsPerChild < children) {
    return InvalidField(field, absl::StrCat(processes, " run about ", children * kThreadsPerChild,
                                            " threads; this user may run ", machine.process_limit,
                                            " (ulimit -u), and a run takes at most half"));
  }
  if (machine.ephemeral_ports / 2 / kPortsPerChild < children) {
    return InvalidField(field, absl::StrCat(processes, " bind ", children * kPortsPerChild,
                                            " local ports; the kernel hands out ", machine.ephemeral_ports,
                                            " (/proc/sys/net/ipv4/ip_local_port_range), and a run takes at most "
                                            "half"));
  }
  return absl::OkStatus();
}

}  // namespace rill::cli
