#include "common/config.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "actor/envs/registry.h"
#include "actor/items/transition.h"
#include "actor/items/unroll.h"
#include "common/status_macros.h"
#include "learner/algorithms/spec.h"
#include "common/tensor_codec.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace rill {
namespace {

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (!errors_.empty()) errors_ += "; ";
    absl::StrAppend(&errors_, "line ", line + 1, " column ", column + 1, ": ", message);
  }
  const std::string& errors() const { return errors_; }

 private:
  std::string errors_;
};

absl::Status Invalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("config field ", field, ": ", why));
}

}  // namespace

absl::StatusOr<v1::ExperimentConfig> FinalizeExperimentConfig(v1::ExperimentConfig config) {
  if (config.env().name().empty()) return Invalid("env.name", "is required");
  if (config.env().max_episode_steps() < 0) return Invalid("env.max_episode_steps", "must be >= 0");
  absl::StatusOr<actor::EnvSpec> env = actor::LookupEnvSpec(config.env().name(), config.env().max_episode_steps());
  if (!env.ok()) return absl::Status(env.status().code(), absl::StrCat("config field env.name: ", env.status().message()));

  if (config.network().hidden_sizes_size() == 0) {
    config.mutable_network()->add_hidden_sizes(256);
    config.mutable_network()->add_hidden_sizes(256);
  }
  for (int h : config.network().hidden_sizes()) {
    if (h <= 0 || h > 65536) return Invalid("network.hidden_sizes", absl::StrCat("width ", h, " is out of range (1..65536)"));
  }

  RETURN_IF_ERROR(learner::FinalizeLearnerConfig(*config.mutable_learner(), *env));
  const int n_step = config.learner().n_step();
  const learner::AlgorithmSpec* algorithm = *learner::FindAlgorithmSpec(config.learner());
  const bool unrolls = algorithm->items == learner::ItemKind::kUnroll;

  v1::ActorConfig* actor = config.mutable_actor();
  if (actor->num_envs() == 0) actor->set_num_envs(1);
  if (unrolls && actor->learning_starts() != 0) {
    return Invalid("actor.learning_starts", absl::StrCat(actor->learning_starts(), ": ", algorithm->name,
                                                          " acts with its policy from the first step (its unrolls carry "
                                                          "the behaviour log-probabilities); leave it unset"));
  }
  if (actor->learning_starts() == 0 && !unrolls) actor->set_learning_starts(1000);
  if (actor->insert_batch_items() == 0) actor->set_insert_batch_items(64);
  if (actor->max_in_flight_batches() == 0) actor->set_max_in_flight_batches(8);
  if (actor->num_envs() < 0 || actor->num_envs() > 4096) return Invalid("actor.num_envs", "must be in 1..4096");
  if (actor->learning_starts() < 0) return Invalid("actor.learning_starts", "must be >= 0");
  if (actor->insert_batch_items() < 0) return Invalid("actor.insert_batch_items", "must be > 0");
  if (actor->max_in_flight_batches() < 0) return Invalid("actor.max_in_flight_batches", "must be > 0");

  if (config.eval().episodes() == 0) config.mutable_eval()->set_episodes(10);
  if (config.eval().episodes() < 0) return Invalid("eval.episodes", "must be > 0");
  if (config.eval().every_updates() == 0) config.mutable_eval()->set_every_updates(1000);
  if (config.eval().every_updates() < -1) return Invalid("eval.every_updates", "must be > 0, or -1 for every version");
  if (config.topology().num_actors() == 0) config.mutable_topology()->set_num_actors(2);
  if (config.topology().num_actors() < 0) return Invalid("topology.num_actors", "must be > 0");
  if (config.topology().num_replay_shards() == 0) config.mutable_topology()->set_num_replay_shards(1);
  if (config.topology().num_replay_shards() < 0) return Invalid("topology.num_replay_shards", "must be > 0");
  if (config.max_env_steps() < 0) return Invalid("max_env_steps", "must be >= 0");
  if (config.topology().inference().empty()) config.mutable_topology()->set_inference("actor");
  if (config.topology().inference() != "actor" && config.topology().inference() != "central") {
    return Invalid("topology.inference",
                   absl::StrCat("'", config.topology().inference(), "' is unknown (known: actor, central)"));
  }
  if (config.topology().num_inference_servers() < 0) {
    return Invalid("topology.num_inference_servers", "must be >= 0 (0: the learner hosts central inference)");
  }
  if (config.topology().num_inference_servers() > 0 && config.topology().inference() != "central") {
    return Invalid("topology.num_inference_servers",
                   "needs topology.inference \"central\" (actors with their own policy use no inference service)");
  }
  v1::InferenceConfig* inference = config.mutable_inference();
  if (inference->max_batch() < 0) return Invalid("inference.max_batch", "must be >= 0 (0: half the connected envs)");
  if (inference->max_wait_micros() == 0) inference->set_max_wait_micros(2000);
  if (inference->max_wait_micros() < 0) return Invalid("inference.max_wait_micros", "must be > 0");
  if (config.topology().inference() == "central" && config.learner().has_impala() &&
      config.learner().impala().synchronous()) {
    return Invalid("learner.impala.synchronous",
                   "a synchronous run waits for each version in the actors; with topology.inference \"central\" "
                   "the actors hold no policy (and central inference already acts with the newest version)");
  }
  if (config.learner().has_impala() && config.learner().impala().synchronous()) {
    const int64_t envs = static_cast<int64_t>(config.topology().num_actors()) * actor->num_envs();
    if (config.learner().batch_size() > envs) {
      return Invalid("learner.batch_size",
                     absl::StrCat(config.learner().batch_size(), " unrolls per batch, but a synchronous run has only ",
                                  envs, " envs (num_actors x num_envs), each waiting for the next version"));
    }
  }

  v1::ReplayConfig* replay = config.mutable_replay();
  if (replay->max_message_bytes() == 0) replay->set_max_message_bytes(64 << 20);
  if (replay->max_in_flight_inserts_per_stream() == 0) replay->set_max_in_flight_inserts_per_stream(8);
  if (replay->max_in_flight_inserts_per_stream() < 0) {
    return Invalid("replay.max_in_flight_inserts_per_stream", "must be > 0");
  }
  if (replay->grpc_memory_quota_bytes() == 0) replay->set_grpc_memory_quota_bytes(int64_t{512} << 20);
  if (replay->grpc_memory_quota_bytes() < (int64_t{16} << 20)) {
    return Invalid("replay.grpc_memory_quota_bytes", "must be at least 16 MiB (16777216)");
  }
  v1::DurabilityConfig* durability = replay->mutable_durability();
  if (durability->mode().empty()) durability->set_mode("none");
  if (durability->mode() != "none" && durability->mode() != "checkpoint" && durability->mode() != "wal") {
    return Invalid("replay.durability.mode",
                   absl::StrCat("'", durability->mode(), "' is unknown (known: none, checkpoint, wal)"));
  }
  if (durability->checkpoint_interval_seconds() == 0) durability->set_checkpoint_interval_seconds(60);
  if (!(durability->checkpoint_interval_seconds() > 0)) {
    return Invalid("replay.durability.checkpoint_interval_seconds", "must be > 0");
  }
  if (durability->keep_latest() == 0) durability->set_keep_latest(2);
  if (durability->keep_latest() < 0) return Invalid("replay.durability.keep_latest", "must be > 0");
  if (durability->group_commit_micros() < 0) {
    return Invalid("replay.durability.group_commit_micros", "must be >= 0");
  }
  if (replay->tables_size() == 0 && unrolls) {
    // A queue: each unroll is sampled once, oldest first, in whole batches;
    // actors run at most 4 batches ahead of the learner (the rate limiter
    // blocks their inserts before the table would have to evict).
    const int64_t batch = config.learner().batch_size();
    v1::TableConfig* table = replay->add_tables();
    table->set_name("unrolls");
    table->set_selector("fifo");
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
    if (table->name().empty()) return Invalid(field + ".name", "is required");
    for (int j = 0; j < i; ++j) {
      if (replay->tables(j).name() == table->name()) return Invalid(field + ".name", absl::StrCat("'", table->name(), "' is used twice"));
    }
    if (table->signature().columns_size() == 0) {
      *table->mutable_signature() =
          unrolls ? actor::UnrollBuilder::DefaultSignature(*env, config.learner().impala().unroll_length())
                  : actor::TransitionBuilder::DefaultSignature(*env, n_step);
    }
    // Only the generic rules here: a shard serves any signature (frames,
    // unrolls, benchmarks). The roles that fill or read the columns (the
    // actor's item builder, the learner's algorithm) check theirs by name
    // at start-up.
    absl::Status st = CheckSignature(table->signature());
    if (!st.ok()) return Invalid(field + ".signature", std::string(st.message()));
    if (table->selector().empty()) table->set_selector("uniform");
    if (table->selector() != "uniform" && table->selector() != "prioritized" && table->selector() != "fifo") {
      return Invalid(field + ".selector", absl::StrCat("'", table->selector(), "' (known: uniform, prioritized, fifo)"));
    }
    if (table->remover().empty()) table->set_remover("fifo");
    if (table->remover() != "fifo" && table->remover() != "lowest_priority") {
      return Invalid(field + ".remover", absl::StrCat("'", table->remover(), "' (known: fifo, lowest_priority)"));
    }
    if (table->remover() == "lowest_priority" && table->selector() != "prioritized") {
      return Invalid(field + ".remover", absl::StrCat("'lowest_priority' needs selector 'prioritized' (got '", table->selector(), "')"));
    }
    if (table->selector() == "fifo" && table->max_times_sampled() > 1) {
      return Invalid(field + ".max_times_sampled", "must be 0 or 1 with selector 'fifo' (a queue hands out each item once)");
    }
    if (table->selector() != "prioritized" && table->has_priority_exponent()) {
      return Invalid(field + ".priority_exponent", absl::StrCat("is set but selector '", table->selector(), "' has no priorities"));
    }
    if (table->selector() != "prioritized" && table->has_importance_sampling_exponent()) {
      return Invalid(field + ".importance_sampling_exponent", absl::StrCat("is set but selector '", table->selector(), "' has no priorities"));
    }
    if (table->max_size() <= 0) return Invalid(field + ".max_size", "must be > 0");
    if (table->max_bytes() < 0) return Invalid(field + ".max_bytes", "must be >= 0");
    if (table->max_times_sampled() < 0) return Invalid(field + ".max_times_sampled", "must be >= 0");
    const v1::RateLimiterConfig& rl = table->rate_limiter();
    if (rl.min_size_to_sample() < 0) return Invalid(field + ".rate_limiter.min_size_to_sample", "must be >= 0");
    if (rl.min_size_to_sample() > table->max_size()) {
      return Invalid(field + ".rate_limiter.min_size_to_sample",
                     absl::StrCat(rl.min_size_to_sample(), " exceeds max_size ", table->max_size(), ": sampling could never start"));
    }
    if (rl.samples_per_insert() < 0) return Invalid(field + ".rate_limiter.samples_per_insert", "must be >= 0");
    if (rl.error_buffer() < 0) return Invalid(field + ".rate_limiter.error_buffer", "must be >= 0");
    if (rl.samples_per_insert() > 0 && rl.error_buffer() < std::max(1.0, rl.samples_per_insert())) {
      return Invalid(field + ".rate_limiter.error_buffer",
                     absl::StrCat(rl.error_buffer(), " is smaller than samples_per_insert ", rl.samples_per_insert(),
                                  ": neither one insert nor one sample could ever proceed (deadlock)"));
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
    }
    if (absl::StrContains(message, "rill.v1.ExperimentConfig\" has no field named \"sac\"")) {
      absl::StrAppend(&message, " (the algorithm's settings moved into the learner section: learner { sac { ... } "
                                "batch_size: ... gamma: ... tau: ... })");
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
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write '", tmp, "'"));
    out << text;
    if (!out.flush()) return absl::DataLossError(absl::StrCat("short write to '", tmp, "'"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename '", tmp, "' to '", path, "'"));
  }
  return absl::OkStatus();
}

}  // namespace rill
