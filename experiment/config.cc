#include "experiment/config.h"

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/invalid_field.h"
#include "common/os.h"
#include "common/status_macros.h"
#include "envs/catalog.h"
#include "experiment/respelling.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "items/registry.h"
#include "learner/algorithms/spec.h"
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

}  // namespace

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
  absl::StatusOr<envs::EnvSpec> env = envs::ConfiguredEnvSpec(config.env());
  if (!env.ok()) {
    return absl::Status(env.status().code(), absl::StrCat("config field ",
                                                          remote_env   ? "env.remote"
                                                          : plugin_env ? "env.plugin"
                                                                       : "env.name",
                                                          ": ",
                                                          env.status().message()));
  }
  if (config.env().has_remote() && !config.env().remote().has_reconnect_seconds()) {
    config.mutable_env()->mutable_remote()->set_reconnect_seconds(60);
  }

  if (config.network().hidden_sizes_size() == 0) {
    config.mutable_network()->add_hidden_sizes(256);
    config.mutable_network()->add_hidden_sizes(256);
  }
  for (int h : config.network().hidden_sizes()) {
    if (h <= 0 || h > 65536) return InvalidField("network.hidden_sizes", absl::StrCat("width ", h, " is out of range (1..65536)"));
  }

  RETURN_IF_ERROR(learner::FinalizeLearnerConfig(*config.mutable_learner(), *env));
  const learner::AlgorithmSpec* algorithm = *learner::FindAlgorithmSpec(config.learner());
  const learner::ActorDuty duty = algorithm->actor_duty(config.learner());
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
    if (std::optional<FieldIssue> issue = replay::FindTableConfigIssue(*table)) {
      return InvalidField(absl::StrCat(field, ".", issue->field), issue->why);
    }
  }
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
