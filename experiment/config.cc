#include "experiment/config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/invalid_field.h"
#include "common/os.h"
#include "common/shape.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"
#include "envs/catalog.h"
#include "envs/wrappers.h"
#include "experiment/respelling.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "items/registry.h"
#include "learner/algorithms/spec.h"
#include "policies/torso.h"
#include "replay/table_config.h"

namespace rill::experiment {
namespace {

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (!errors_.empty()) errors_ += "; ";
    absl::StrAppend(&errors_, "line ", line + 1, " column ", column + 1, ": ", message);
    if (!first_.has_value()) first_ = Error{line, column, message};
  }
  const std::string& errors() const { return errors_; }

  // The first error, zero-based, as the parser reported it.
  struct Error {
    int line;
    int column;
    std::string message;
  };
  const std::optional<Error>& first() const { return first_; }

 private:
  std::string errors_;
  std::optional<Error> first_;
};

// The hint for a setting written in a spelling the config had before its
// closed sets became types (respelling.h), or "".
std::string RespellingHintFor(const std::string& text, const CollectErrors& errors) {
  if (!errors.first().has_value()) return "";
  const std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  const CollectErrors::Error& error = *errors.first();
  if (error.line < 0 || error.line >= static_cast<int>(lines.size())) return "";
  std::optional<std::string> hint =
      RespellingHint(*v1::ExperimentConfig::descriptor(), lines[error.line], error.column, error.message);
  return hint.has_value() ? absl::StrCat(" (", *hint, "; proto/config.proto documents every setting)") : "";
}

// The bounds on values that size memory, threads, processes or waits:
// a config no role could run is refused here, at start-up and naming its
// field, instead of aborting a role with std::bad_alloc or hanging the run
// later (issue 31). Each limit comes from what a component can hold (a gRPC
// message, a sample, an item key) or from this machine (its memory).

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
// Waits configured in seconds: past a day a run has stopped in practice.
constexpr double kMaxConfiguredSeconds = 86400;
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
  const char* what;
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

absl::Status CheckResourceBounds(const v1::ExperimentConfig& config, const envs::EnvSpec& env,
                                 const learner::ActorDuty& duty) {
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
  const int64_t envs = static_cast<int64_t>(topology.num_actors()) * actor.num_envs();
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

  // Every message must fit in replay.max_message_bytes, the limit of every
  // channel: an insert, a sampled batch, a parameter version.
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
  // Actors write to, and the learner samples, the first table.
  const v1::TableConfig& table = replay.tables(0);
  // An actor of unrolls inserts each round of its envs' unrolls at once
  // (actor/actor.cc).
  const int insert_items = duty.items.kind == items::ItemKind::kUnroll
                               ? std::min(actor.insert_batch_items(), actor.num_envs())
                               : actor.insert_batch_items();
  const double insert_bytes = InsertMessageBytes(table, insert_items);
  if (insert_bytes > static_cast<double>(max_message_bytes)) {
    return InvalidField("actor.insert_batch_items",
                        absl::StrCat(insert_items, " items of table '", table.name(), "' need about ",
                                     static_cast<int64_t>(insert_bytes), " bytes per insert message, over "
                                     "replay.max_message_bytes ", max_message_bytes));
  }
  const int64_t batch_size = config.learner().batch_size();
  if (std::optional<FieldIssue> issue = replay::FindSampleBatchIssue(table, batch_size, max_message_bytes)) {
    return InvalidField("learner.batch_size", issue->why);
  }
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
  absl::StatusOr<const learner::AlgorithmSpec*> algorithm = learner::FindAlgorithmSpec(config.learner());
  if (algorithm.ok() && (*algorithm)->policy_trunk != nullptr) {
    const double trunk = (*algorithm)->policy_trunk(config.learner());
    trunk_parameters = (observations + 3) * trunk;
    observations = trunk;
  }
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

  // What the learner, an actor and a shard's insert stream hold, against
  // this machine's memory.
  double unit_sum = observations + actions + 2 * actions + 1;
  for (int32_t width : widths) unit_sum += width;
  const double sample_bytes = static_cast<double>(replay::SampleBatchBytes(table, batch_size));
  RETURN_IF_ERROR(CheckFitsInMemory(
      "learner",
      {{"network.hidden_sizes", "parameters, targets, gradients and Adam moments",
        4 * kNetworkCopies * (MlpParameters(observations + actions, widths, 2 * actions + 1) + trunk_parameters)},
       {"learner.batch_size", "activations of a batch",
        4 * kActivationCopies * unit_sum * static_cast<double>(batch_size)},
       {"learner.prefetch_batches", "prefetched batches (queued and requested, per shard)",
        2.0 * config.learner().prefetch_batches() * topology.num_replay_shards() * sample_bytes}}));
  const double item_bytes = TableItemBytes(table);
  RETURN_IF_ERROR(CheckFitsInMemory(
      "actor", {{"actor.num_envs", "items being built, two per env", 2.0 * actor.num_envs() * item_bytes},
                {"actor.max_in_flight_batches", "insert messages awaiting acknowledgement",
                 static_cast<double>(actor.max_in_flight_batches()) * insert_bytes}}));
  RETURN_IF_ERROR(CheckFitsInMemory(
      "replay shard", {{"replay.max_in_flight_inserts_per_stream", "one stream's inserts awaiting acknowledgement",
                        static_cast<double>(replay.max_in_flight_inserts_per_stream()) * insert_bytes}}));
  return absl::OkStatus();
}

// Gives the observation columns of `table` (obs and next_obs, a frame-
// stacking env's images, flat in transitions) share_planes with planes of
// `plane_size` elements (one channel of a frame, H x W), each one the
// config's `compression` does not list (replay/plane_pool.h): a stacked
// transition then stores about one new frame instead of 2k. A column the
// config lists is left as the config says (`compression { column: "obs" }`
// stores it as is).
void AddSharedPlanes(int64_t plane_size, v1::TableConfig* table) {
  for (const v1::ColumnSpec& column : table->signature().columns()) {
    if (column.name() != "obs" && column.name() != "next_obs") continue;
    int64_t elements = 1;
    for (int64_t d : column.shape()) elements *= d;
    if (plane_size <= 0 || elements % plane_size != 0) continue;
    const bool listed = std::any_of(table->compression().begin(), table->compression().end(),
                                    [&](const auto& entry) { return entry.column() == column.name(); });
    if (listed) continue;
    v1::TableConfig::ColumnCompression* entry = table->add_compression();
    entry->set_column(column.name());
    entry->set_share_planes(true);
    entry->set_plane_size(plane_size);
  }
}

// "impala, ppo": the algorithms with `ability` (an AlgorithmSpec flag).
std::string AlgorithmsThat(bool learner::AlgorithmSpec::*ability) {
  std::vector<std::string> able;
  for (const learner::AlgorithmSpec& spec : learner::AlgorithmSpecs()) {
    if (spec.*ability) able.push_back(spec.name);
  }
  return absl::StrJoin(able, ", ");
}

}  // namespace

// Expands network.torso's preset into torso_layers, fills hidden_sizes
// (the preset's usual head, or [256, 256]) and checks that the torso fits
// the env's observations.
absl::Status FinalizeNetworkConfig(v1::NetworkConfig& network, const envs::EnvSpec& env) {
  using Network = v1::NetworkConfig;
  if (!Network::Torso_IsValid(network.torso())) {
    return InvalidField("network.torso", absl::StrCat(network.torso(), " is unknown (known: NO_TORSO, NATURE_CNN, "
                                                      "IMPALA_RESNET, MINATAR_CNN, CUSTOM, DRQV2_ENCODER)"));
  }
  const std::string torso_name = Network::Torso_Name(network.torso());
  std::vector<v1::TorsoLayer> preset;
  int head = 0;
  int head_layers = 1;
  switch (network.torso()) {
    case Network::NATURE_CNN:
      preset = policies::NatureCnnLayers();
      head = 512;
      break;
    case Network::IMPALA_RESNET:
      preset = policies::ImpalaResnetLayers();
      head = 256;
      break;
    case Network::MINATAR_CNN:
      preset = policies::MinAtarCnnLayers();
      head = 128;
      break;
    case Network::DRQV2_ENCODER:
      preset = policies::DrqV2EncoderLayers();
      head = 1024;
      head_layers = 2;
      break;
    case Network::CUSTOM:
      if (network.torso_layers_size() == 0) return InvalidField("network.torso_layers", "torso: CUSTOM needs layers");
      head = 256;
      break;
    default:
      break;
  }
  if (network.torso() != Network::CUSTOM && network.torso_layers_size() > 0) {
    // A finalized config (a launcher's, handed to its children) holds the
    // preset's layers already.
    bool same = network.torso_layers_size() == static_cast<int>(preset.size());
    for (int i = 0; same && i < network.torso_layers_size(); ++i) {
      same = network.torso_layers(i).SerializeAsString() == preset[i].SerializeAsString();
    }
    if (!same) {
      return InvalidField("network.torso_layers", absl::StrCat("is read with torso: CUSTOM only (torso is ",
                                                               torso_name, ")"));
    }
    preset.clear();
  }
  for (const v1::TorsoLayer& layer : preset) *network.add_torso_layers() = layer;
  if (network.hidden_sizes_size() == 0) {
    if (head > 0) {
      for (int l = 0; l < head_layers; ++l) network.add_hidden_sizes(head);
    } else {
      network.add_hidden_sizes(256);
      network.add_hidden_sizes(256);
    }
  }
  if (network.torso() == Network::NO_TORSO) return absl::OkStatus();
  const std::string field = network.torso() == Network::CUSTOM ? "network.torso_layers" : "network.torso";
  if (env.observation_shape.size() != 3) {
    return InvalidField(field, absl::StrCat(torso_name, " needs image observations [C, H, W]; env ", env.name,
                                            " observes ", ShapeString(env.observation_shape)));
  }
  absl::StatusOr<std::vector<policies::ImageShape>> shapes = policies::TorsoShapes(
      std::vector<v1::TorsoLayer>(network.torso_layers().begin(), network.torso_layers().end()),
      {env.observation_shape[0], env.observation_shape[1], env.observation_shape[2]});
  if (!shapes.ok()) {
    return InvalidField(field, absl::StrCat(torso_name, " on env ", env.name, "'s ", ShapeString(env.observation_shape),
                                            " observations: ", shapes.status().message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ExperimentConfig> FinalizeExperimentConfig(v1::ExperimentConfig config) {
  const bool remote_env = config.env().has_remote(), plugin_env = config.env().has_plugin();
  if (remote_env && plugin_env) return InvalidField("env", "sets both remote and plugin; choose one");
  if (config.env().name().empty() && !remote_env && !plugin_env) return InvalidField("env.name", "is required");
  if (config.env().max_episode_steps() < 0) return InvalidField("env.max_episode_steps", "must be >= 0");
  if (remote_env) {
    const v1::RemoteEnvConfig& remote = config.env().remote();
    if (remote.address().empty() && remote.command().empty()) {
      return InvalidField("env.remote.address", "is required (HOST:PORT of the env server)");
    }
    if (remote.address().empty() && !absl::StrContains(remote.command(), "{address}")) {
      return InvalidField("env.remote.command", "must contain {address} when env.remote.address is empty (the "
                                                "launcher puts the address the server should bind there)");
    }
    if (!remote.has_observation_space() || !remote.has_action_space()) {
      return InvalidField("env.remote", "needs observation_space and action_space, as the server announces them "
                                        "(rill envs --remote=HOST:PORT prints them)");
    }
    if (remote.has_reconnect_seconds() && !(remote.reconnect_seconds() > 0)) {
      return InvalidField("env.remote.reconnect_seconds", "must be > 0");
    }
    if (config.env().name().empty()) config.mutable_env()->set_name("remote");
  }
  if (plugin_env) {
    const v1::PluginEnvConfig& plugin = config.env().plugin();
    if (plugin.library().empty()) return InvalidField("env.plugin.library", "is required (path of the env's shared library)");
    if (plugin.id().empty()) {
      return InvalidField("env.plugin.id", "is required (rill envs --plugin=LIBRARY lists the library's envs)");
    }
    if (config.env().name().empty()) config.mutable_env()->set_name(plugin.id());
  }
  absl::StatusOr<envs::EnvSpec> env = envs::ConfiguredBaseEnvSpec(config.env());
  if (!env.ok()) {
    return absl::Status(env.status().code(), absl::StrCat("config field ",
                                                          remote_env   ? "env.remote"
                                                          : plugin_env ? "env.plugin"
                                                                       : "env.name",
                                                          ": ",
                                                          env.status().message()));
  }
  // The spec every process derives from it (envs::ConfiguredEnvSpec).
  env = envs::WrappedSpec(*env, config.env());
  if (!env.ok()) return absl::Status(env.status().code(), absl::StrCat("config field ", env.status().message()));
  if (env->uint8_observations() && config.learner().normalize_observations()) {
    return InvalidField("learner.normalize_observations",
                        absl::StrCat("env ", env->name, " observes uint8 ", ShapeString(env->observation_shape),
                                     " (images, scaled to [0, 1] by 1/255); running mean/std normalisation applies "
                                     "to float32 observations: leave it false"));
  }
  if (config.env().has_remote() && !config.env().remote().has_reconnect_seconds()) {
    config.mutable_env()->mutable_remote()->set_reconnect_seconds(60);
  }

  RETURN_IF_ERROR(FinalizeNetworkConfig(*config.mutable_network(), *env));
  for (int h : config.network().hidden_sizes()) {
    if (h <= 0 || h > 65536) return InvalidField("network.hidden_sizes", absl::StrCat("width ", h, " is out of range (1..65536)"));
  }

  RETURN_IF_ERROR(learner::FinalizeLearnerConfig(*config.mutable_learner(), *env));
  if (config.network().torso_layers_size() == 0) {
    ASSIGN_OR_RETURN(const learner::AlgorithmSpec* algorithm, learner::FindAlgorithmSpec(config.learner()));
    if (algorithm->needs_torso) {
      return InvalidField("network.torso", absl::StrCat(algorithm->name, " learns through a convolutional encoder: "
                                                        "set network.torso (DRQV2_ENCODER is the paper's)"));
    }
  }
  if (config.network().torso_layers_size() > 0) {
    ASSIGN_OR_RETURN(const learner::AlgorithmSpec* algorithm, learner::FindAlgorithmSpec(config.learner()));
    if (!algorithm->conv_torso) {
      return InvalidField("network.torso", absl::StrCat(algorithm->name, " does not train a convolutional torso yet (",
                                                        AlgorithmsThat(&learner::AlgorithmSpec::conv_torso), " does)"));
    }
  }
  if (config.network().has_lstm()) {
    const int32_t units = config.network().lstm().size();
    if (units < 1 || units > 4096) {
      return InvalidField("network.lstm.size", absl::StrCat(units, " is out of range: must be in 1..4096 (or leave "
                                                            "network.lstm out for a feed-forward network)"));
    }
    ASSIGN_OR_RETURN(const learner::AlgorithmSpec* algorithm, learner::FindAlgorithmSpec(config.learner()));
    if (!algorithm->recurrent_core) {
      return InvalidField("network.lstm", absl::StrCat(algorithm->name, " does not train a recurrent core (",
                                                       AlgorithmsThat(&learner::AlgorithmSpec::recurrent_core), " do)"));
    }
    const v1::LearnerConfig& learner = config.learner();
    if (learner.has_ppo() && learner.batch_size() % learner.ppo().num_minibatches() != 0) {
      return InvalidField("learner.ppo.num_minibatches",
                          absl::StrCat(learner.ppo().num_minibatches(), " does not divide learner.batch_size ",
                                       learner.batch_size(), ": with network.lstm a minibatch is whole unrolls"));
    }
  }
  // Before a default table is sized from it.
  if (config.learner().batch_size() > replay::kMaxSampleBatchItems) {
    return InvalidField("learner.batch_size", absl::StrCat(config.learner().batch_size(), " is out of range: one "
                                                           "sample holds 1..", replay::kMaxSampleBatchItems, " items"));
  }
  const learner::AlgorithmSpec* algorithm = *learner::FindAlgorithmSpec(config.learner());
  const learner::ActorDuty duty = learner::ActorDutyFor(*algorithm, config);
  const bool unrolls = duty.items.kind == items::ItemKind::kUnroll;

  v1::ActorConfig* actor = config.mutable_actor();
  if (actor->num_envs() == 0) actor->set_num_envs(1);
  if (unrolls && actor->learning_starts() != 0) {
    return InvalidField("actor.learning_starts", absl::StrCat(actor->learning_starts(), ": ", algorithm->name,
                                                          " acts with its policy from the first step (its unrolls carry "
                                                          "the behaviour log-probabilities); leave it unset or 0"));
  }
  if (!actor->has_learning_starts()) actor->set_learning_starts(unrolls ? 0 : 1000);
  if (actor->insert_batch_items() == 0) actor->set_insert_batch_items(64);
  if (actor->max_in_flight_batches() == 0) actor->set_max_in_flight_batches(8);
  if (actor->num_envs() < 0 || actor->num_envs() > 4096) return InvalidField("actor.num_envs", "must be in 1..4096");
  if (actor->learning_starts() < 0) return InvalidField("actor.learning_starts", "must be >= 0");
  if (actor->insert_batch_items() < 0) return InvalidField("actor.insert_batch_items", "must be > 0");
  if (actor->max_in_flight_batches() < 0) return InvalidField("actor.max_in_flight_batches", "must be > 0");

  if (config.eval().episodes() == 0) config.mutable_eval()->set_episodes(10);
  if (config.eval().episodes() < 0) return InvalidField("eval.episodes", "must be > 0");
  if (config.eval().every_updates() == 0) config.mutable_eval()->set_every_updates(1000);
  if (config.eval().every_updates() < -1) return InvalidField("eval.every_updates", "must be > 0, or -1 for every version");
  {
    v1::EvalConfig* eval = config.mutable_eval();
    const double every = eval->video_every_seconds();
    if (!std::isfinite(every) || every < 0 || every > kMaxConfiguredSeconds) {
      return InvalidField("eval.video_every_seconds",
                          absl::StrCat(every, " is out of range: must be in [0, ", kMaxConfiguredSeconds,
                                       "] (0: no videos)"));
    }
    if (eval->video_width() == 0) eval->set_video_width(480);
    if (eval->video_height() == 0) eval->set_video_height(480);
    if (eval->video_width() < 0 || eval->video_width() > 4096 || eval->video_height() < 0 ||
        eval->video_height() > 4096) {
      return InvalidField(eval->video_width() < 0 || eval->video_width() > 4096 ? "eval.video_width" : "eval.video_height",
                          absl::StrCat(eval->video_width(), "x", eval->video_height(), " is out of range: each must be in 1..4096"));
    }
  }
  if (config.topology().num_actors() == 0) config.mutable_topology()->set_num_actors(2);
  if (config.topology().num_actors() < 0) return InvalidField("topology.num_actors", "must be > 0");
  if (config.topology().num_replay_shards() == 0) config.mutable_topology()->set_num_replay_shards(1);
  if (config.topology().num_replay_shards() < 0) return InvalidField("topology.num_replay_shards", "must be > 0");
  if (config.max_env_steps() < 0) return InvalidField("max_env_steps", "must be >= 0");
  if (!v1::TopologyConfig::Inference_IsValid(config.topology().inference())) {
    return InvalidField("topology.inference",
                        absl::StrCat(config.topology().inference(), " is unknown (known: ACTOR, CENTRAL)"));
  }
  const bool central = config.topology().inference() == v1::TopologyConfig::CENTRAL;
  if (config.topology().num_inference_servers() < 0) {
    return InvalidField("topology.num_inference_servers", "must be >= 0 (0: the learner hosts central inference)");
  }
  if (config.topology().num_inference_servers() > 0 && !central) {
    return InvalidField("topology.num_inference_servers",
                        "needs topology.inference CENTRAL (actors with their own policy use no inference service)");
  }
  v1::InferenceConfig* inference = config.mutable_inference();
  if (inference->max_batch() < 0) return InvalidField("inference.max_batch", "must be >= 0 (0: half the connected envs)");
  if (!inference->has_max_wait_micros()) inference->set_max_wait_micros(2000);
  if (inference->max_wait_micros() < 0) return InvalidField("inference.max_wait_micros", "must be >= 0");
  if (config.topology().num_learners() == 0) config.mutable_topology()->set_num_learners(1);
  if (config.topology().num_learners() < 1 || config.topology().num_learners() > 64) {
    return InvalidField("topology.num_learners",
                        absl::StrCat(config.topology().num_learners(), " is out of range (1..64; default 1)"));
  }
  if (config.topology().num_learners() > 1 && duty.synchronous) {
    return InvalidField(duty.synchronous_field,
                        absl::StrCat("a synchronous run waits for each version of one learner's batch; with "
                                     "topology.num_learners ", config.topology().num_learners(),
                                     " the ranks would wait for batches the actors never write"));
  }
  if (central && duty.synchronous) {
    return InvalidField(duty.synchronous_field,
                        "a synchronous run waits for each version in the actors; with topology.inference CENTRAL "
                        "the actors hold no policy (and central inference already acts with the newest version)");
  }
  if (duty.synchronous) {
    const int64_t envs = static_cast<int64_t>(config.topology().num_actors()) * actor->num_envs();
    if (config.learner().batch_size() > envs) {
      return InvalidField("learner.batch_size",
                     absl::StrCat(config.learner().batch_size(), " unrolls per batch, but a synchronous run has only ",
                                  envs, " envs (num_actors x num_envs), each waiting for the next version"));
    }
  }

  v1::ReplayConfig* replay = config.mutable_replay();
  if (replay->max_message_bytes() == 0) replay->set_max_message_bytes(64 << 20);
  if (replay->max_in_flight_inserts_per_stream() == 0) replay->set_max_in_flight_inserts_per_stream(8);
  if (replay->max_in_flight_inserts_per_stream() < 0) {
    return InvalidField("replay.max_in_flight_inserts_per_stream", "must be > 0");
  }
  if (replay->grpc_memory_quota_bytes() == 0) replay->set_grpc_memory_quota_bytes(int64_t{512} << 20);
  if (replay->grpc_memory_quota_bytes() < (int64_t{16} << 20)) {
    return InvalidField("replay.grpc_memory_quota_bytes", "must be at least 16 MiB (16777216)");
  }
  v1::DurabilityConfig* durability = replay->mutable_durability();
  if (!v1::DurabilityConfig::Mode_IsValid(durability->mode())) {
    return InvalidField("replay.durability.mode",
                        absl::StrCat(durability->mode(), " is unknown (known: NONE, CHECKPOINT, WAL)"));
  }
  if (durability->checkpoint_interval_seconds() == 0) durability->set_checkpoint_interval_seconds(60);
  if (!(durability->checkpoint_interval_seconds() > 0)) {
    return InvalidField("replay.durability.checkpoint_interval_seconds", "must be > 0");
  }
  if (durability->keep_latest() == 0) durability->set_keep_latest(2);
  if (durability->keep_latest() < 0) return InvalidField("replay.durability.keep_latest", "must be > 0");
  if (durability->group_commit_micros() < 0) {
    return InvalidField("replay.durability.group_commit_micros", "must be >= 0");
  }
  if (replay->tables_size() == 0 && unrolls) {
    // A queue: each unroll is sampled once, oldest first, in whole batches;
    // actors run at most 4 batches ahead of the learner (the rate limiter
    // blocks their inserts before the table would have to evict).
    const int64_t batch = config.learner().batch_size();
    v1::TableConfig* table = replay->add_tables();
    table->set_name("unrolls");
    table->mutable_selector()->mutable_fifo();
    table->set_max_size(4 * batch);
    table->mutable_rate_limiter()->set_min_size_to_sample(batch);
    table->mutable_rate_limiter()->set_samples_per_insert(1);
    table->mutable_rate_limiter()->set_error_buffer(3 * batch);
  } else if (replay->tables_size() == 0) {
    v1::TableConfig* table = replay->add_tables();
    table->set_name("transitions");
    table->set_max_size(1000000);
  }
  for (int i = 0; i < replay->tables_size(); ++i) {
    v1::TableConfig* table = replay->mutable_tables(i);
    const std::string field = absl::StrCat("replay.tables[", i, "]");
    if (table->name().empty()) return InvalidField(field + ".name", "is required");
    for (int j = 0; j < i; ++j) {
      if (replay->tables(j).name() == table->name()) return InvalidField(field + ".name", absl::StrCat("'", table->name(), "' is used twice"));
    }
    if (table->signature().columns_size() == 0) {
      *table->mutable_signature() = items::DefaultSignature(duty.items, *env);
    }
    // Stacked frames are stored once: obs and next_obs of a frame-stacking
    // env share planes unless the config says how to store them.
    if (config.env().frame_stack() > 1 && env->observation_shape.size() == 3) {
      AddSharedPlanes(env->observation_shape[1] * env->observation_shape[2], table);
    }
    // The table's own rules (replay/table_config.h), the ones every shard
    // applies, named by their config field. The roles that fill or read the
    // columns (the actor's item builder, the learner's algorithm) check
    // theirs by name at start-up.
    // The defaults written out, so the run's config.textpb says what ran.
    if (!table->has_selector() || table->selector().kind_case() == v1::SelectorConfig::KIND_NOT_SET) {
      table->mutable_selector()->mutable_uniform();
    }
    if (!table->has_remover() || table->remover().kind_case() == v1::RemoverConfig::KIND_NOT_SET) {
      table->mutable_remover()->mutable_fifo();
    }
    // An off-policy learner gets one update per env step unless the table
    // says otherwise, as SB3 and CleanRL do: without a limiter the actors
    // outrun the learner (TD3 on MountainCarContinuous measured 5,000 env
    // steps against 31 updates) and the run trains on little. A table that
    // bounds its sampling itself (fifo, max_times_sampled) keeps its own
    // rule, and `rate_limiter {}` written out means none.
    if (!unrolls && i == 0 && !table->has_rate_limiter() && table->max_times_sampled() == 0 &&
        table->selector().kind_case() != v1::SelectorConfig::kFifo) {
      const int64_t batch = config.learner().batch_size();
      int64_t warm_up = std::max<int64_t>(batch, actor->learning_starts());
      if (table->max_size() > 0) warm_up = std::min(warm_up, table->max_size());
      v1::RateLimiterConfig* limiter = table->mutable_rate_limiter();
      limiter->set_min_size_to_sample(warm_up);
      limiter->set_samples_per_insert(static_cast<double>(batch));
      // 50 env steps of slack, as the stock configs have (12,800 for 256).
      limiter->set_error_buffer(50.0 * static_cast<double>(batch));
    }
    // The learner samples the first table. An algorithm of unrolls trains
    // on each one once, oldest first: a table that samples at random
    // replays old unrolls again and again, their policy lag growing without
    // bound (IMPALA on a uniform table measured a mean lag of 9,408 and a
    // baseline loss of 1.9e6) while nothing looks wrong.
    if (unrolls && i == 0 && table->selector().kind_case() != v1::SelectorConfig::kFifo) {
      return InvalidField(field + ".selector",
                          absl::StrCat(algorithm->name, " trains on each unroll once, oldest first: write selector { "
                                       "fifo {} } (a ",
                                       table->selector().has_prioritized() ? "prioritized" : "uniform",
                                       " table would replay stale unrolls, their policy lag unbounded)"));
    }
    if (std::optional<FieldIssue> issue = replay::FindTableConfigIssue(*table)) {
      return InvalidField(absl::StrCat(field, ".", issue->field), issue->why);
    }
  }
  RETURN_IF_ERROR(CheckResourceBounds(config, *env, duty));
  return config;
}

absl::StatusOr<v1::ExperimentConfig> ParseExperimentConfig(const std::string& text) {
  v1::ExperimentConfig config;
  google::protobuf::TextFormat::Parser parser;
  CollectErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &config)) {
    std::string message = errors.errors();
    if (absl::StrContains(message, "rill.v1.LearnerConfig") && absl::StrContains(message, "has no field named")) {
      absl::StrAppend(&message, " (learner.algorithm is one of: ", learner::KnownAlgorithmNames(),
                      "; write e.g. learner { td3 { } })");
    } else if (absl::StrContains(message, "rill.v1.ExperimentConfig\" has no field named \"sac\"")) {
      absl::StrAppend(&message, " (the algorithm's settings moved into the learner section: learner { sac { ... } "
                                "batch_size: ... gamma: ... tau: ... })");
    } else {
      absl::StrAppend(&message, RespellingHintFor(text, errors));
    }
    return absl::InvalidArgumentError(absl::StrCat("experiment config: ", message));
  }
  return FinalizeExperimentConfig(std::move(config));
}

absl::StatusOr<v1::ExperimentConfig> LoadExperimentConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open experiment config '", path, "'"));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(text.str());
  if (!config.ok()) {
    return absl::Status(config.status().code(), absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

absl::Status WriteExperimentConfig(const v1::ExperimentConfig& config, const std::string& path) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(config, &text)) {
    return absl::InternalError("cannot print the experiment config");
  }
  return WriteFileAtomically(path, text);
}

}  // namespace rill::experiment
