#include "experiment/config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <optional>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/declared_defaults.h"
#include "common/invalid_field.h"
#include "common/os.h"
#include "common/shape.h"
#include "common/spelling.h"
#include "common/status_macros.h"
#include "envs/catalog.h"
#include "experiment/finalize_env.h"
#include "experiment/finalize_network.h"
#include "experiment/finalize_replay.h"
#include "experiment/finalize_self_play.h"
#include "experiment/policies.h"
#include "experiment/resource_bounds.h"
#include "experiment/respelling.h"
#include "google/protobuf/descriptor.h"
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

// " (did you mean 'NAME'?)" when the parser's `message` is protobuf's
// `Message type "T" has no field named "F".` and T has a field close to F;
// "" otherwise.
std::string FieldSpellingHint(const std::string& message) {
  static const std::regex kNoField(R"re(Message type "([\w.]+)" has no field named "(\w+)")re");
  std::smatch match;
  if (!std::regex_search(message, match, kNoField)) return "";
  const google::protobuf::Descriptor* type =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(match[1].str());
  if (type == nullptr) return "";
  std::vector<std::string> known;
  for (int f = 0; f < type->field_count(); ++f) known.push_back(type->field(f)->name());
  return DidYouMean(match[2].str(), known);
}

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

// The actor section, for the algorithm's items (`duty`).
absl::Status FinalizeActor(v1::ActorConfig& actor, const learner::AlgorithmSpec& algorithm,
                           const learner::ActorDuty& duty) {
  const bool unrolls = duty.items.kind == items::ItemKind::kUnroll;
  FillDeclaredDefaults(actor);
  if (unrolls && actor.learning_starts() != 0) {
    return InvalidField("actor.learning_starts",
                        absl::StrCat(actor.learning_starts(), ": ", algorithm.name,
                                     " acts with its policy from the first step (its unrolls carry the behaviour "
                                     "log-probabilities); leave it unset or 0"));
  }
  if (!actor.has_learning_starts()) actor.set_learning_starts(unrolls ? 0 : 1000);
  if (actor.num_envs() < 0 || actor.num_envs() > 4096) return InvalidField("actor.num_envs", "must be in 1..4096");
  if (actor.learning_starts() < 0) return InvalidField("actor.learning_starts", "must be >= 0");
  if (actor.insert_batch_items() < 0) return InvalidField("actor.insert_batch_items", "must be > 0");
  if (actor.max_in_flight_batches() < 0) return InvalidField("actor.max_in_flight_batches", "must be > 0");
  if (actor.max_in_flight_bytes() < 0) return InvalidField("actor.max_in_flight_bytes", "must be >= 0");
  return absl::OkStatus();
}

absl::Status FinalizeEval(v1::EvalConfig& eval, const v1::EnvConfig& env) {
  FillDeclaredDefaults(eval);
  if (eval.scripted_agents_size() > 0) {
    // Whether the env scripts them is its own answer, at the evaluator's
    // start (LockstepEnvs::ScriptAgents).
    absl::StatusOr<envs::MultiAgentSpec> multi = envs::LookupMultiAgentSpec(env.name());
    if (env.has_remote() || env.has_plugin() || !multi.ok()) {
      return InvalidField("eval.scripted_agents", absl::StrCat(env.name(), " is no multi-agent env with agents to script"));
    }
    for (const std::string& name : eval.scripted_agents()) {
      if (std::find(multi->agents.begin(), multi->agents.end(), name) == multi->agents.end()) {
        return InvalidField("eval.scripted_agents", absl::StrCat(env.name(), " has no agent '", name, "'; its agents: ",
                                                                 absl::StrJoin(multi->agents, ", ")));
      }
    }
    if (eval.scripted_agents_size() >= multi->num_agents()) {
      return InvalidField("eval.scripted_agents", "every agent is scripted: the policy would play none");
    }
  }
  if (eval.episodes() < 0) return InvalidField("eval.episodes", "must be > 0");
  if (eval.every_updates() < -1) return InvalidField("eval.every_updates", "must be > 0, or -1 for every version");
  const double every = eval.video_every_seconds();
  if (!std::isfinite(every) || every < 0 || every > kMaxConfiguredSeconds) {
    return InvalidField("eval.video_every_seconds",
                        absl::StrCat(every, " is out of range: must be in [0, ", kMaxConfiguredSeconds,
                                     "] (0: no videos)"));
  }
  const bool width_out = eval.video_width() < 0 || eval.video_width() > 4096;
  if (width_out || eval.video_height() < 0 || eval.video_height() > 4096) {
    return InvalidField(width_out ? "eval.video_width" : "eval.video_height",
                        absl::StrCat(eval.video_width(), "x", eval.video_height(),
                                     " is out of range: each must be in 1..4096"));
  }
  return absl::OkStatus();
}

// The topology and inference sections (and max_env_steps), once the actor
// and learner sections are finalized: the processes a run starts and the
// rules a synchronous algorithm (`duty`) puts on them.
absl::Status FinalizeTopology(v1::ExperimentConfig& config, const learner::ActorDuty& duty) {
  FillDeclaredDefaults(*config.mutable_topology());
  FillDeclaredDefaults(*config.mutable_inference());
  if (config.topology().num_actors() < 0) return InvalidField("topology.num_actors", "must be > 0");
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
  if (inference->max_batch() < 0) {
    return InvalidField("inference.max_batch", "must be >= 0 (0: half the connected envs)");
  }
  if (inference->max_wait_micros() < 0) return InvalidField("inference.max_wait_micros", "must be >= 0");
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
  if (duty.synchronous && config.policies_size() == 0) {
    // Rows: each agent of a multi-agent env writes its own unrolls (with
    // policies, each policy's: FinalizePolicies).
    const int64_t envs = static_cast<int64_t>(config.topology().num_actors()) * config.actor().num_envs() *
                         envs::RowsPerEnv(config.env());
    if (config.learner().batch_size() > envs) {
      return InvalidField("learner.batch_size",
                     absl::StrCat(config.learner().batch_size(), " unrolls per batch, but a synchronous run has only ",
                                  envs, " envs (num_actors x num_envs), each waiting for the next version"));
    }
  }
  return absl::OkStatus();
}

// That env's observations suit the learner's normalisation.
absl::Status CheckObservationNormalization(const envs::EnvSpec& env, const v1::LearnerConfig& learner) {
  if (env.uint8_observations() && learner.normalize_observations()) {
    return InvalidField("learner.normalize_observations",
                        absl::StrCat("env ", env.name, " observes uint8 ", ShapeString(env.observation_shape),
                                     " (images, scaled to [0, 1] by 1/255); running mean/std normalisation applies "
                                     "to float32 observations: leave it false"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::ExperimentConfig> FinalizeExperimentConfig(v1::ExperimentConfig config) {
  // An algorithm of joint agents steps a multi-agent env's agents as one
  // row (it refuses any other env itself, naming its section).
  if (learner::TrainsOnJointAgents(config.learner()) && envs::RowsPerEnv(config.env()) > 1) {
    config.mutable_env()->set_joint_agents(true);
  }
  ASSIGN_OR_RETURN(const envs::EnvSpec env, FinalizeEnv(*config.mutable_env()));
  RETURN_IF_ERROR(CheckObservationNormalization(env, config.learner()));
  RETURN_IF_ERROR(FinalizeNetwork(*config.mutable_network(), env));
  // Policies' own learner sections merge over the run's as given.
  const v1::LearnerConfig given_learner = config.learner();
  RETURN_IF_ERROR(learner::FinalizeLearnerConfig(*config.mutable_learner(), env));
  // The algorithm's spec, looked up once: every section below reads it.
  ASSIGN_OR_RETURN(const learner::AlgorithmSpec* algorithm, learner::FindAlgorithmSpec(config.learner()));
  if (config.network().activation() == v1::ACTIVATION_DEFAULT) {
    config.mutable_network()->set_activation(algorithm->default_activation);
  }
  RETURN_IF_ERROR(CheckNetworkFitsAlgorithm(config.network(), config.learner(), env, *algorithm));
  // Before a default table is sized from it.
  if (config.learner().batch_size() > replay::kMaxSampleBatchItems) {
    return InvalidField("learner.batch_size", absl::StrCat(config.learner().batch_size(), " is out of range: one "
                                                           "sample holds 1..", replay::kMaxSampleBatchItems, " items"));
  }
  const learner::ActorDuty duty = learner::ActorDutyFor(*algorithm, config);
  RETURN_IF_ERROR(FinalizeActor(*config.mutable_actor(), *algorithm, duty));
  RETURN_IF_ERROR(FinalizeEval(*config.mutable_eval(), config.env()));
  RETURN_IF_ERROR(FinalizeTopology(config, duty));
  RETURN_IF_ERROR(FinalizeSelfPlay(config));
  RETURN_IF_ERROR(FinalizePolicies(config, duty, given_learner));
  RETURN_IF_ERROR(FinalizeReplay(config, env, *algorithm, duty));
  RETURN_IF_ERROR(CheckResourceBounds(config, env, *algorithm, duty));
  return config;
}


bool LacksRemoteSpaces(const v1::EnvConfig& env) {
  if (!env.has_remote()) return false;
  const v1::RemoteEnvConfig& remote = env.remote();
  return remote.agents_size() == 0 && !remote.has_observation_space() && !remote.has_action_space();
}

absl::StatusOr<v1::ExperimentConfig> ParseExperimentConfig(const std::string& text, const EnvSpacesSource& ask,
                                                           const ConfigEdit& edit) {
  v1::ExperimentConfig config;
  google::protobuf::TextFormat::Parser parser;
  CollectErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &config)) {
    std::string message = errors.errors();
    const std::string spelling = errors.first().has_value() ? FieldSpellingHint(errors.first()->message) : "";
    if (!spelling.empty()) {
      absl::StrAppend(&message, spelling);
    } else if (absl::StrContains(message, "rill.v1.LearnerConfig") && absl::StrContains(message, "has no field named")) {
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
  if (edit != nullptr) RETURN_IF_ERROR(edit(config));
  if (ask != nullptr && LacksRemoteSpaces(config.env())) RETURN_IF_ERROR(ask(*config.mutable_env()));
  return FinalizeExperimentConfig(std::move(config));
}

absl::StatusOr<v1::ExperimentConfig> LoadExperimentConfig(const std::string& path, const EnvSpacesSource& ask,
                                                          const ConfigEdit& edit) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open experiment config '", path, "'"));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(text.str(), ask, edit);
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

std::optional<double> UpdatesPerEnvStep(const v1::ExperimentConfig& config) {
  if (config.learner().has_updates_per_env_step()) return config.learner().updates_per_env_step();
  if (config.replay().tables_size() == 0 || config.learner().batch_size() <= 0) return std::nullopt;
  const v1::TableConfig& table = config.replay().tables(0);
  absl::StatusOr<const learner::AlgorithmSpec*> spec = learner::FindAlgorithmSpec(config.learner());
  if (!spec.ok() || (*spec)->item_kind == items::ItemKind::kUnroll) return std::nullopt;
  if (table.selector().has_fifo() || table.max_times_sampled() > 0) return std::nullopt;
  const double samples_per_insert = table.rate_limiter().samples_per_insert();
  if (samples_per_insert <= 0) return std::nullopt;
  return samples_per_insert / static_cast<double>(config.learner().batch_size());
}

}  // namespace rill::experiment
