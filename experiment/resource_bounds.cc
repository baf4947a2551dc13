#include "experiment/resource_bounds.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/invalid_field.h"
#include "common/os.h"
#include "common/shape.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"
#include "envs/catalog.h"
#include "experiment/policies.h"
#include "policies/torso.h"
#include "replay/table_config.h"

namespace rill::experiment {
namespace {

// Envs stepped in lockstep by one process: an actor's actor.num_envs, the
// evaluator's eval.episodes.
constexpr int kMaxLockstepEnvs = 4096;
// Actor ids are the 24-bit key prefix of the items they write
// (ReplayWriter::kKeyPrefixBits, replay/client/writer.h).
constexpr int64_t kMaxActors = int64_t{1} << 24;
// Every actor's writer keeps a stream and two threads per shard, the
// learner's sampler a stream and a thread.
constexpr int kMaxReplayShards = 256;
// Longest wait before a batch is answered: a WAL group commit holds every
// insert's acknowledgement that long (the writers' ack timeout is 5 s),
// central inference every action.
constexpr int64_t kMaxWaitMicros = 1000000;
// Env steps are counted in the processes' metrics, doubles: exact to 2^53.
constexpr int64_t kMaxCountedSteps = int64_t{1} << 53;
// gRPC takes its message limit as an int.
constexpr int64_t kMaxGrpcMessageBytes = std::numeric_limits<int32_t>::max();
// An observation travels twice in one item (obs, next_obs) and the item in
// one gRPC message.
constexpr int64_t kMaxObservationBytes = kMaxGrpcMessageBytes / 2;
// A parameter message carries the policy's float32 tensors, their names and
// shapes, and the policy spec.
constexpr int64_t kParameterMessageOverheadBytes = 64 << 10;
// Copies of one network's parameters a learner may hold: a policy and up to
// 8 critics (learner.td3.num_critics), each with a target copy, gradients
// and two Adam moments.
constexpr double kNetworkCopies = (1 + 8) * 5;
// Activations a learner keeps per batch item and network unit: the forward
// values kept for the backward pass and their gradients, for the policy
// and the critics of one update.
constexpr double kActivationCopies = 16;

// Parameters of an MLP with these widths (weights and biases), in doubles:
// widths up to 65536 over any number of layers overflow no integer here.
double MlpParameters(double inputs, const google::protobuf::RepeatedField<int32_t>& widths, double outputs) {
  double total = 0, in = inputs;
  for (int32_t width : widths) {
    total += in * width + width;
    in = width;
  }
  return total + in * outputs + outputs;
}

// Payload bytes of one item of `table` (a valid signature).
double TableItemBytes(const v1::TableConfig& table) {
  double item_bytes = 0;
  for (const v1::ColumnSpec& column : table.signature().columns()) {
    absl::StatusOr<int64_t> bytes = ItemBytes(column);
    if (bytes.ok()) item_bytes += static_cast<double>(*bytes);
  }
  return item_bytes;
}

// Bytes of one insert message of `items` items of `table`, as the writer
// estimates it (replay/client/writer.cc): the payload, a varint key per
// item and per-column headers.
double InsertMessageBytes(const v1::TableConfig& table, double items) {
  return items * (TableItemBytes(table) + 10) + 64.0 * table.signature().columns_size() + 1024;
}

// One part of a role's memory estimate: the field that sizes it, what it
// holds, and about how many bytes.
struct MemoryPart {
  const char* field;
  std::string what;
  double bytes;
};

// InvalidArgument naming the field of the largest part, with every part in
// the message, when the parts add up to more than this machine's memory.
absl::Status CheckFitsInMemory(const char* role, const std::vector<MemoryPart>& parts) {
  double total = 0;
  const MemoryPart* largest = &parts.front();
  for (const MemoryPart& part : parts) {
    total += part.bytes;
    if (part.bytes > largest->bytes) largest = &part;
  }
  const double memory = static_cast<double>(PhysicalMemoryBytes());
  if (total <= memory) return absl::OkStatus();
  std::string breakdown;
  for (const MemoryPart& part : parts) {
    if (!breakdown.empty()) breakdown += ", ";
    absl::StrAppend(&breakdown, part.what, " ", HumanBytes(part.bytes));
  }
  return InvalidField(largest->field, absl::StrCat("the ", role, " would need about ", HumanBytes(total), " (",
                                                   breakdown, "), more than this machine's ", HumanBytes(memory),
                                                   " of memory"));
}

// An actor's insert message: how many items, and about how many bytes.
struct InsertSize {
  int items;
  double bytes;
};

// Actors write to, and the learner samples, the first table.
InsertSize ActorInsertSize(const v1::ExperimentConfig& config, const learner::ActorDuty& duty) {
  const v1::ActorConfig& actor = config.actor();
  const v1::TableConfig& table = config.replay().tables(0);
  // An actor of unrolls inserts each round of its envs' unrolls at once
  // (actor/actor.cc).
  const int insert_items = duty.items.kind == items::ItemKind::kUnroll
                               ? std::min(actor.insert_batch_items(), actor.num_envs() * envs::RowsPerEnv(config.env()))
                               : actor.insert_batch_items();
  return {insert_items, InsertMessageBytes(table, insert_items)};
}

// What the policy's MLP sees, and the parameters before it.
struct PolicyInputs {
  double observations;
  double trunk_parameters;
};

PolicyInputs PolicyInputsFor(const v1::ExperimentConfig& config, const envs::EnvSpec& env,
                             const learner::AlgorithmSpec& algorithm) {
  double observation_elements = 1;
  for (int64_t dimension : env.observation_shape) observation_elements *= static_cast<double>(dimension);
  // What the MLPs see: the observation, or a torso's flattened output (its
  // convolutions' own parameters are small beside the MLP's first layer).
  double observations = observation_elements;
  if (config.network().torso_layers_size() > 0 && env.observation_shape.size() == 3) {
    absl::StatusOr<std::vector<policies::ImageShape>> shapes = policies::TorsoShapes(
        std::vector<v1::TorsoLayer>(config.network().torso_layers().begin(), config.network().torso_layers().end()),
        {env.observation_shape[0], env.observation_shape[1], env.observation_shape[2]});
    if (shapes.ok()) observations = static_cast<double>(shapes->back().size());
  }
  // A trunk (DrQ-v2's) maps them to its width before the MLP.
  double trunk_parameters = 0;
  if (algorithm.policy_trunk != nullptr) {
    const double trunk = algorithm.policy_trunk(config.learner());
    trunk_parameters = (observations + 3) * trunk;
    observations = trunk;
  }
  return {observations, trunk_parameters};
}

// The run's counters and the env's observations.
absl::Status CheckRunBounds(const v1::ExperimentConfig& config, const envs::EnvSpec& env) {
  if (config.seed() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return InvalidField("seed", absl::StrCat(config.seed(), " is out of range: at most 2^63-1 (the --seed flag that "
                                             "overrides it, and carries it to every process `rill launch` starts, "
                                             "is an int64)"));
  }
  if (config.max_env_steps() > kMaxCountedSteps) {
    return InvalidField("max_env_steps", absl::StrCat(config.max_env_steps(), " is out of range: at most 2^53 (env "
                                                      "steps are counted in doubles; 0 runs without a limit)"));
  }
  const v1::ActorConfig& actor = config.actor();
  if (actor.learning_starts() > kMaxCountedSteps) {
    return InvalidField("actor.learning_starts",
                        absl::StrCat(actor.learning_starts(), " is out of range: at most 2^53 env steps"));
  }
  if (config.env().has_remote()) {
    const double seconds = config.env().remote().reconnect_seconds();
    if (!std::isfinite(seconds) || seconds > kMaxConfiguredSeconds) {
      return InvalidField("env.remote.reconnect_seconds",
                          absl::StrCat(seconds, " is out of range: must be in (0, ", kMaxConfiguredSeconds,
                                       "] (an actor whose env server is gone gives up within a day)"));
    }
  }
  double observation_elements = 1;
  for (int64_t dimension : env.observation_shape) observation_elements *= static_cast<double>(dimension);
  const double observation_bytes = observation_elements * envs::ObservationTypeBytes(env.observation_type);
  if (observation_bytes > static_cast<double>(kMaxObservationBytes)) {
    return InvalidField(config.env().has_remote()   ? "env.remote.observation_space"
                        : config.env().has_plugin() ? "env.plugin"
                                                    : "env.name",
                        absl::StrCat("observations of ", ShapeString(env.observation_shape), " are ",
                                     HumanBytes(observation_bytes), "; an item holds two and travels in one gRPC "
                                     "message (< 2 GiB)"));
  }
  return absl::OkStatus();
}

// Envs stepped in lockstep, processes and inference batches.
absl::Status CheckProcessBounds(const v1::ExperimentConfig& config) {
  const v1::ActorConfig& actor = config.actor();
  if (config.eval().episodes() > kMaxLockstepEnvs) {
    return InvalidField("eval.episodes", absl::StrCat(config.eval().episodes(), " is out of range: must be in 1..",
                                                      kMaxLockstepEnvs, " (the evaluator steps an env per episode, "
                                                      "in lockstep, as an actor steps actor.num_envs)"));
  }
  const v1::TopologyConfig& topology = config.topology();
  if (topology.num_actors() > kMaxActors) {
    return InvalidField("topology.num_actors", absl::StrCat(topology.num_actors(), " is out of range: at most ",
                                                            kMaxActors, " (an actor's id is the 24-bit key prefix "
                                                            "of the items it writes)"));
  }
  if (topology.num_replay_shards() > kMaxReplayShards) {
    return InvalidField("topology.num_replay_shards",
                        absl::StrCat(topology.num_replay_shards(), " is out of range: at most ", kMaxReplayShards,
                                     " (every actor keeps a stream and two threads per shard)"));
  }
  if (topology.num_inference_servers() > topology.num_actors()) {
    return InvalidField("topology.num_inference_servers",
                        absl::StrCat(topology.num_inference_servers(), " is more than the ", topology.num_actors(),
                                     " actors (topology.num_actors): actor i streams to server i mod N, so the "
                                     "others would serve no one"));
  }
  // Rows: an env of K agents asks for K actions.
  const int64_t envs = static_cast<int64_t>(topology.num_actors()) * actor.num_envs() * envs::RowsPerEnv(config.env());
  if (config.inference().max_batch() > envs) {
    return InvalidField("inference.max_batch",
                        absl::StrCat(config.inference().max_batch(), " is more than the ", envs,
                                     " envs of all actors (num_actors x num_envs): a batch holds one observation "
                                     "per env and could never fill"));
  }
  if (config.inference().max_wait_micros() > kMaxWaitMicros) {
    return InvalidField("inference.max_wait_micros",
                        absl::StrCat(config.inference().max_wait_micros(), " is out of range: at most ",
                                     kMaxWaitMicros, " (1 s; every action of a batch waits that long)"));
  }
  return absl::OkStatus();
}

// The replay service's waits and memory, and the message limit against
// one item of each table.
absl::Status CheckReplayBounds(const v1::ExperimentConfig& config) {
  const v1::ActorConfig& actor = config.actor();
  const v1::ReplayConfig& replay = config.replay();
  const v1::DurabilityConfig& durability = replay.durability();
  if (durability.group_commit_micros() > kMaxWaitMicros) {
    return InvalidField("replay.durability.group_commit_micros",
                        absl::StrCat(durability.group_commit_micros(), " is out of range: at most ", kMaxWaitMicros,
                                     " (1 s; every insert's acknowledgement waits for its group's sync, and a "
                                     "writer takes 5 s without one for a lost shard)"));
  }
  if (!std::isfinite(durability.checkpoint_interval_seconds()) ||
      durability.checkpoint_interval_seconds() > kMaxConfiguredSeconds) {
    return InvalidField("replay.durability.checkpoint_interval_seconds",
                        absl::StrCat(durability.checkpoint_interval_seconds(), " is out of range: must be in (0, ",
                                     kMaxConfiguredSeconds, "] (a day)"));
  }
  const int64_t memory_bytes = PhysicalMemoryBytes();
  if (replay.grpc_memory_quota_bytes() > memory_bytes) {
    return InvalidField("replay.grpc_memory_quota_bytes",
                        absl::StrCat(replay.grpc_memory_quota_bytes(), " is more than this machine's ",
                                     HumanBytes(static_cast<double>(memory_bytes)),
                                     " of memory: it would bound nothing"));
  }
  const int64_t max_message_bytes = replay.max_message_bytes();
  if (max_message_bytes < 1 || max_message_bytes > kMaxGrpcMessageBytes) {
    return InvalidField("replay.max_message_bytes",
                        absl::StrCat(max_message_bytes, " is out of range: must be in 1..", kMaxGrpcMessageBytes,
                                     " (gRPC's limit is an int; 0 takes the default, 64 MiB)"));
  }
  for (int i = 0; i < replay.tables_size(); ++i) {
    const double one_item = InsertMessageBytes(replay.tables(i), 1);
    if (one_item > static_cast<double>(max_message_bytes)) {
      return InvalidField("replay.max_message_bytes",
                          absl::StrCat(max_message_bytes, " is smaller than one item of table '",
                                       replay.tables(i).name(), "': an insert of one item needs about ",
                                       static_cast<int64_t>(one_item), " bytes"));
    }
  }
  if (actor.insert_batch_items() > replay::kMaxSampleBatchItems) {
    return InvalidField("actor.insert_batch_items",
                        absl::StrCat(actor.insert_batch_items(), " is out of range: an insert message holds 1..",
                                     replay::kMaxSampleBatchItems, " items, as a sample does"));
  }
  return absl::OkStatus();
}

// Every message must fit in replay.max_message_bytes, the limit of every
// channel: an insert, a sampled batch, a parameter version.
absl::Status CheckMessageBounds(const v1::ExperimentConfig& config, const envs::EnvSpec& env,
                                const learner::AlgorithmSpec& algorithm, const learner::ActorDuty& duty) {
  const int64_t max_message_bytes = config.replay().max_message_bytes();
  const v1::TableConfig& table = config.replay().tables(0);
  const InsertSize insert = ActorInsertSize(config, duty);
  if (insert.bytes > static_cast<double>(max_message_bytes)) {
    return InvalidField("actor.insert_batch_items",
                        absl::StrCat(insert.items, " items of table '", table.name(), "' need about ",
                                     static_cast<int64_t>(insert.bytes), " bytes per insert message, over "
                                     "replay.max_message_bytes ", max_message_bytes));
  }
  const int64_t batch_size = config.learner().batch_size();
  if (std::optional<FieldIssue> issue = replay::FindSampleBatchIssue(table, batch_size, max_message_bytes)) {
    return InvalidField("learner.batch_size", issue->why);
  }
  for (int p = 0; p < config.policies_size(); ++p) {
    if (!config.policies(p).has_learner()) continue;
    // The policy's batches, from its own table.
    ASSIGN_OR_RETURN(const v1::ExperimentConfig view, PolicyView(config, config.policies(p).name()));
    if (std::optional<FieldIssue> issue = replay::FindSampleBatchIssue(
            view.replay().tables(0), view.learner().batch_size(), max_message_bytes)) {
      return InvalidField(absl::StrCat("policies[", p, "].learner.batch_size"), issue->why);
    }
  }
  const auto [observations, trunk_parameters] = PolicyInputsFor(config, env, algorithm);
  const double actions = env.action_dim();
  const google::protobuf::RepeatedField<int32_t>& widths = config.network().hidden_sizes();
  // The policy's float32 tensors (with the normaliser's mean and std) travel
  // in one parameter message; its outputs are at most a Gaussian's mean and
  // log-std per action dimension, or a logit per action, and a baseline.
  // A recurrent core adds its gates' weights (4N x (last width + N + 1)).
  const double lstm = config.network().lstm().size();
  const double lstm_parameters = widths.empty() ? 0 : 4 * lstm * (widths[widths.size() - 1] + lstm + 1);
  const double policy_bytes = 4 * (MlpParameters(observations, widths, 2 * actions + 1) + lstm_parameters +
                                   trunk_parameters + 2 * observations) + kParameterMessageOverheadBytes;
  if (policy_bytes > static_cast<double>(max_message_bytes)) {
    return InvalidField("network.hidden_sizes",
                        absl::StrCat("a policy of widths [", absl::StrJoin(widths, ", "), "] for ",
                                     ShapeString(env.observation_shape), " observations has ",
                                     HumanBytes(policy_bytes), " of parameters, over replay.max_message_bytes ",
                                     max_message_bytes, " (each version travels in one message)"));
  }
  return absl::OkStatus();
}

// What the learner, an actor and a shard's insert stream hold, against
// this machine's memory.
absl::Status CheckMemoryBounds(const v1::ExperimentConfig& config, const envs::EnvSpec& env,
                               const learner::AlgorithmSpec& algorithm, const learner::ActorDuty& duty) {
  const v1::ActorConfig& actor = config.actor();
  const v1::ReplayConfig& replay = config.replay();
  const v1::TableConfig& table = replay.tables(0);
  const v1::TopologyConfig& topology = config.topology();
  // The largest of the policies' batches, for each policy's.
  int64_t batch_size = config.learner().batch_size();
  for (const v1::PolicyConfig& policy : config.policies()) {
    batch_size = std::max<int64_t>(batch_size, policy.learner().batch_size());
  }
  const double insert_bytes = ActorInsertSize(config, duty).bytes;
  const auto [observations, trunk_parameters] = PolicyInputsFor(config, env, algorithm);
  const double actions = env.action_dim();
  const google::protobuf::RepeatedField<int32_t>& widths = config.network().hidden_sizes();
  double unit_sum = observations + actions + 2 * actions + 1;
  for (int32_t width : widths) unit_sum += width;
  const double sample_bytes = static_cast<double>(replay::SampleBatchBytes(table, batch_size));
  // The learner process holds one learner state per policy.
  const double policies = std::max(1, config.policies_size());
  const std::string each = policies > 1 ? absl::StrCat(", x", config.policies_size(), " policies") : "";
  RETURN_IF_ERROR(CheckFitsInMemory(
      "learner",
      {{"network.hidden_sizes", absl::StrCat("parameters, targets, gradients and Adam moments", each),
        policies * 4 * kNetworkCopies * (MlpParameters(observations + actions, widths, 2 * actions + 1) + trunk_parameters)},
       {"learner.batch_size", absl::StrCat("activations of a batch", each),
        policies * 4 * kActivationCopies * unit_sum * static_cast<double>(batch_size)},
       {"learner.prefetch_batches", absl::StrCat("prefetched batches (queued and requested, per shard)", each),
        policies * 2.0 * config.learner().prefetch_batches() * topology.num_replay_shards() * sample_bytes},
       {"learner.max_prefetch_bytes", absl::StrCat("the prefetch window's growth on a long link, per shard", each),
        policies * topology.num_replay_shards() *
            std::max(0.0, static_cast<double>(config.learner().max_prefetch_bytes()) -
                              config.learner().prefetch_batches() * sample_bytes)}}));
  const double item_bytes = TableItemBytes(table);
  RETURN_IF_ERROR(CheckFitsInMemory(
      "actor", {{"actor.num_envs", "items being built, two per env (per agent)",
                 2.0 * actor.num_envs() * envs::RowsPerEnv(config.env()) * item_bytes},
                {"actor.max_in_flight_batches", "insert messages awaiting acknowledgement",
                 static_cast<double>(actor.max_in_flight_batches()) * insert_bytes},
                {"actor.max_in_flight_bytes", "the insert window's growth on a long link, per shard",
                 topology.num_replay_shards() *
                     std::max(0.0, static_cast<double>(actor.max_in_flight_bytes()) -
                                       actor.max_in_flight_batches() * insert_bytes)}}));
  RETURN_IF_ERROR(CheckFitsInMemory(
      "replay shard", {{"replay.max_in_flight_inserts_per_stream", "one stream's inserts awaiting acknowledgement",
                        static_cast<double>(replay.max_in_flight_inserts_per_stream()) * insert_bytes}}));
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckResourceBounds(const v1::ExperimentConfig& config, const envs::EnvSpec& env,
                                 const learner::AlgorithmSpec& algorithm, const learner::ActorDuty& duty) {
  RETURN_IF_ERROR(CheckRunBounds(config, env));
  RETURN_IF_ERROR(CheckProcessBounds(config));
  RETURN_IF_ERROR(CheckReplayBounds(config));
  RETURN_IF_ERROR(CheckMessageBounds(config, env, algorithm, duty));
  return CheckMemoryBounds(config, env, algorithm, duty);
}

}  // namespace rill::experiment
