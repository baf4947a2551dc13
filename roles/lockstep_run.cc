#include "roles/lockstep_run.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "actor/action_sources/fixed.h"
#include "actor/action_sources/row_subset.h"
#include "actor/actor.h"
#include "actor/agent_returns.h"
#include "actor/evaluator.h"
#include "actor/lockstep_envs.h"
#include "common/blas.h"
#include "common/logging.h"
#include "common/scalar_log.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"
#include "envs/catalog.h"
#include "experiment/config.h"
#include "experiment/policies.h"
#include "learner/algorithms/spec.h"
#include "learner/learner.h"
#include "parameters/parameter_service.h"
#include "proto/parameters.pb.h"
#include "replay/table.h"

namespace rill::roles {
namespace {

// The table's sampling seed, apart from the actor's and the learner's.
constexpr uint64_t kTableSeedSalt = 0x5eed7ab1eULL;

std::string Fnv1a64(const std::string& bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char byte : bytes) {
    hash ^= static_cast<uint8_t>(byte);
    hash *= 0x100000001b3ULL;
  }
  return absl::StrFormat("%016x", hash);
}

// The insert request of `num_items` items whose columns (in the table's
// signature order) start at `columns`, keyed from `next_key` on.
absl::StatusOr<v1::InsertRequest> InsertRequestOf(const v1::TableConfig& table, const std::vector<const void*>& columns,
                                                  int num_items, uint64_t* next_key) {
  v1::InsertRequest request;
  request.set_table(table.name());
  for (int c = 0; c < table.signature().columns_size(); ++c) {
    const v1::ColumnSpec& spec = table.signature().columns(c);
    ASSIGN_OR_RETURN(const int64_t bytes, ItemBytes(spec));
    v1::Tensor* column = request.add_columns();
    column->set_dtype(spec.dtype());
    column->add_shape(num_items);
    for (const int64_t d : spec.shape()) column->add_shape(d);
    if (bytes > 0) column->set_data(static_cast<const char*>(columns[static_cast<size_t>(c)]), num_items * bytes);
  }
  for (int i = 0; i < num_items; ++i) request.add_keys((*next_key)++);
  return request;
}

// One policy's side of the run (the run's one policy without a policies
// section): its view of the config (experiment::PolicyView), its table, the
// store its versions go to and its learner state.
struct PolicySide {
  std::string name;
  v1::ExperimentConfig config;
  std::unique_ptr<replay::Table> table;
  parameters::ParameterStore store;
  std::unique_ptr<ScalarLog> scalars;
  std::unique_ptr<learner::Learner> learner;
  // A batch its table's limiter allowed only in part, kept for its next
  // turn.
  v1::SampleResponse pending;
  uint64_t next_key = 1;
};

// The actor's items go into their policy's table, and that policy's
// learner trains on every batch the table's rate limiter then allows: one
// turn of the run.
class Turns {
 public:
  Turns(const LockstepOptions& options, std::vector<std::unique_ptr<PolicySide>>& sides)
      : options_(options), sides_(sides), last_progress_(absl::Now()) {}

  absl::Status Insert(int policy, const std::vector<const void*>& columns, int num_items) {
    if (policy < 0 || policy >= static_cast<int>(sides_.size())) {
      return absl::InternalError(absl::StrCat("items of policy ", policy, " of ", sides_.size()));
    }
    PolicySide& side = *sides_[static_cast<size_t>(policy)];
    const v1::TableConfig& config = side.config.replay().tables(0);
    ASSIGN_OR_RETURN(const v1::InsertRequest request, InsertRequestOf(config, columns, num_items, &side.next_key));
    std::vector<uint64_t> stored;
    // The learner has sampled all it may after every turn, so the limiter
    // never holds an insert back; a deadline keeps a wrong limiter from
    // hanging the run.
    const absl::Status inserted = side.table->Insert(request, absl::Now() + absl::Seconds(10), &stored);
    if (absl::IsDeadlineExceeded(inserted)) {
      return absl::FailedPreconditionError(
          absl::StrCat("replay table '", config.name(), "': its rate limiter holds an insert back although the "
                       "learner has sampled all it allows (replay.tables[0].rate_limiter)"));
    }
    RETURN_IF_ERROR(inserted);
    items_inserted_ += num_items;
    RETURN_IF_ERROR(TrainWhileAllowed(side));
    if (options_.on_progress && absl::Now() - last_progress_ >= options_.progress_every) {
      last_progress_ = absl::Now();
      // The actor counts a step once its items are handed over: this one
      // is not counted yet.
      options_.on_progress(actor_ != nullptr ? actor_->env_steps() : 0, updates());
    }
    return absl::OkStatus();
  }

  // The actor whose steps the progress reports; called on its thread.
  void set_actor(const actor::Actor* actor) { actor_ = actor; }
  int64_t items_inserted() const { return items_inserted_; }
  // Every policy's updates together.
  int64_t updates() const {
    int64_t updates = 0;
    for (const std::unique_ptr<PolicySide>& side : sides_) updates += side->learner->updates();
    return updates;
  }

 private:
  absl::Status TrainWhileAllowed(PolicySide& side) {
    const int batch_size = side.config.learner().batch_size();
    while (true) {
      // A deadline already past: take what the limiter allows now. A batch
      // it allows only in part stays pending for the next turn.
      const absl::Status sampled = side.table->Sample(batch_size, absl::InfinitePast(), &side.pending);
      if (absl::IsDeadlineExceeded(sampled)) return absl::OkStatus();
      RETURN_IF_ERROR(sampled);
      const absl::Status trained = side.learner->Train(side.pending, /*shard=*/0);
      if (!trained.ok() && !side.name.empty()) {
        return absl::Status(trained.code(), absl::StrCat("policy '", side.name, "': ", trained.message()));
      }
      RETURN_IF_ERROR(trained);
      side.pending.Clear();
    }
  }

  const LockstepOptions& options_;
  std::vector<std::unique_ptr<PolicySide>>& sides_;
  const actor::Actor* actor_ = nullptr;
  int64_t items_inserted_ = 0;
  absl::Time last_progress_;
};

absl::StatusOr<std::unique_ptr<ScalarLog>> OpenLog(const std::string& run_dir, const std::string& name) {
  return ScalarLog::Open(absl::StrCat(run_dir, "/metrics/", name, ".jsonl"));
}

// Policy `name`'s side, trained from scratch: its table, seeded from its
// view's seed; its learner state, checkpointed in
// <run_dir>/checkpoints/learner (/<name> for a named policy, beside its own
// config, as a launched learner keeps it) and logging to
// metrics/learner.jsonl (learner.<name>.jsonl).
absl::StatusOr<std::unique_ptr<PolicySide>> MakePolicySide(const LockstepOptions& options, const std::string& name) {
  auto side = std::make_unique<PolicySide>();
  side->name = name;
  ASSIGN_OR_RETURN(side->config, experiment::PolicyView(options.config, name));
  ASSIGN_OR_RETURN(side->table, replay::Table::Create(side->config.replay().tables(0)));
  side->table->SeedSampling(side->config.seed() ^ kTableSeedSalt);
  ASSIGN_OR_RETURN(side->scalars, OpenLog(options.run_dir, name.empty() ? "learner" : "learner." + name));
  learner::LearnerOptions learner_options;
  learner_options.config = side->config;
  learner_options.checkpoint_dir = options.run_dir + "/checkpoints/learner";
  if (!name.empty()) absl::StrAppend(&learner_options.checkpoint_dir, "/", name);
  learner_options.seed = side->config.seed();
  learner_options.scalars = side->scalars.get();
  learner_options.alone_in_process = name.empty();
  if (side->config.replay().tables(0).selector().has_prioritized()) {
    learner_options.send_priorities = [table = side->table.get()](std::vector<uint64_t> keys,
                                                                  std::vector<double> priorities) {
      v1::UpdatePrioritiesRequest request;
      request.set_table(table->name());
      request.mutable_keys()->Add(keys.begin(), keys.end());
      request.mutable_priorities()->Add(priorities.begin(), priorities.end());
      int64_t updated = 0;
      return table->UpdatePriorities(request, &updated);
    };
  }
  ASSIGN_OR_RETURN(side->learner, learner::Learner::Create(learner_options, &side->store, nullptr));
  if (side->learner->updates() > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "'", learner_options.checkpoint_dir, "' holds a checkpoint at update ", side->learner->updates(),
        ": a deterministic run starts from scratch; choose a new --run_dir"));
  }
  if (!name.empty()) {
    // What `rill eval` and `rill export` read beside a policy's checkpoints.
    RETURN_IF_ERROR(
        experiment::WriteExperimentConfig(side->config, learner_options.checkpoint_dir + "/config.textpb"));
  }
  return side;
}

// The final versions, played as the launched evaluator plays a round: one
// policy copy, or each policy's copy acting for its agents' rows.
absl::Status EvaluateFinal(const v1::ExperimentConfig& config, const experiment::PolicyMap& map,
                           std::vector<std::unique_ptr<PolicySide>>& sides, ScalarLog& eval_log,
                           const absl::Notification& stop, LockstepResult* result) {
  const uint64_t eval_seed = actor::EvaluatorSeed(config.seed(), 0);
  ASSIGN_OR_RETURN(std::unique_ptr<actor::LockstepEnvs> envs,
                   actor::LockstepEnvs::CreateForEvaluation(config, config.eval().episodes(), eval_seed));
  std::vector<std::unique_ptr<actor::ActionSource>> policies;
  std::vector<int> obs_dims;
  for (int p = 0; p < map.num_policies(); ++p) {
    const parameters::ParameterUpdatePtr version = sides[static_cast<size_t>(p)]->store.Latest();
    v1::ParameterSet parameters;
    if (!parameters.ParseFromString(version->blob())) {
      return absl::InternalError("the final version is not a serialized ParameterSet");
    }
    // The envs' own spec for a lone policy (pixels and all), else its rows'.
    envs::EnvSpec spec = envs->spec();
    if (map.several()) {
      ASSIGN_OR_RETURN(spec, envs::PolicyRowSpec(config.env(), map.agent_policy, p));
    }
    auto policy = std::make_unique<actor::FixedPolicySource>(spec, eval_seed + 7919ULL * p);
    RETURN_IF_ERROR(policy->Load(parameters, version->version()));
    if (p == 0) result->eval_parameter_version = version->version();
    policies.push_back(std::move(policy));
    obs_dims.push_back(spec.obs_dim());
  }
  const std::unique_ptr<actor::ActionSource> acting =
      actor::ActingTogether(std::move(policies), obs_dims, map.agent_policy, envs->size());
  std::unique_ptr<actor::AgentReturns> agent_returns = actor::AgentReturns::ForEnv(config.env(), envs->size());
  ASSIGN_OR_RETURN(const actor::EvaluationRound round,
                   actor::PlayEvaluationRound(*envs, *acting, stop, /*video=*/nullptr, /*seats=*/nullptr,
                                              agent_returns.get()));
  if (!round.finished) {
    result->final_eval = "skipped: interrupted";
    return absl::OkStatus();
  }
  actor::RoundFigures figures = actor::SummarizeRound(round.episodes, round.env_metrics);
  std::string policy_returns;
  for (int p = 0; p < map.num_policies() && map.several(); ++p) {
    const std::optional<double> mean = actor::PolicyReturnMean(round.agent_return_means, map.AgentsOf(p));
    if (!mean.has_value()) continue;
    figures.policy_returns.emplace_back(map.names[p], *mean);
    absl::StrAppend(&policy_returns, absl::StrFormat(", %s %.1f", map.names[p], *mean));
  }
  result->eval_return_mean = figures.return_mean;
  result->eval_episodes = figures.episodes;
  result->final_eval = "done";
  actor::AppendRound(eval_log, result->eval_parameter_version, figures);
  RILL_LOG(INFO) << absl::StrFormat("final evaluation of version %d: %d episodes, return mean %.1f%s",
                                    result->eval_parameter_version, figures.episodes, figures.return_mean,
                                    policy_returns);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::ExperimentConfig> LockstepConfig(v1::ExperimentConfig config) {
  const std::string why = "--deterministic runs one actor, its table and the learner in one process";
  if (config.max_env_steps() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_env_steps is ", config.max_env_steps(), ": --deterministic needs a step budget"));
  }
  if (config.learner().device() == v1::LearnerConfig::CUDA) {
    return absl::InvalidArgumentError(
        "learner.device is CUDA: --deterministic trains on the CPU, where LibTorch's kernels repeat bit for bit "
        "(many CUDA kernels do not)");
  }
  if (config.env().has_remote() && !config.env().remote().command().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "env.remote.command is set: ", why,
        "; start the env server yourself and give its env.remote.address (it must seed its envs as asked)"));
  }
  if (config.replay().tables_size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("replay.tables has ", config.replay().tables_size(), " tables: ", why, " and one table"));
  }
  config.mutable_topology()->set_num_actors(1);
  config.mutable_topology()->set_num_replay_shards(1);
  config.mutable_topology()->set_num_learners(1);
  config.mutable_topology()->set_inference(v1::TopologyConfig::ACTOR);
  config.mutable_replay()->mutable_durability()->set_mode(v1::DurabilityConfig::NONE);
  config.mutable_learner()->set_device(v1::LearnerConfig::CPU);
  config.mutable_learner()->set_num_threads(1);
  return config;
}

absl::StatusOr<LockstepResult> RunLockstep(const LockstepOptions& options, const absl::Notification& stop) {
  const v1::ExperimentConfig& config = options.config;
  // One thread for the BLAS the actor's policy and LibTorch call: the same
  // sums in the same order every time.
  SetBlasThreads(1);
  ASSIGN_OR_RETURN(const learner::AlgorithmSpec* algorithm, learner::FindAlgorithmSpec(config.learner()));
  ASSIGN_OR_RETURN(const experiment::PolicyMap map, experiment::ResolvePolicies(config));

  // Each policy's side, in config order (one unnamed side without a
  // policies section).
  std::vector<std::unique_ptr<PolicySide>> sides;
  for (const std::string& name : map.names) {
    ASSIGN_OR_RETURN(std::unique_ptr<PolicySide> side, MakePolicySide(options, name));
    sides.push_back(std::move(side));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ScalarLog> actor_log, OpenLog(options.run_dir, "actor-0"));
  ASSIGN_OR_RETURN(std::unique_ptr<ScalarLog> eval_log, OpenLog(options.run_dir, "evaluator"));
  for (std::unique_ptr<PolicySide>& side : sides) RETURN_IF_ERROR(side->learner->Start());

  Turns turns(options, sides);
  actor::ActorOptions actor_options;
  actor_options.config = config;
  actor_options.actor_id = 0;
  actor_options.seed = config.seed();
  actor_options.max_env_steps = config.max_env_steps();
  actor_options.items = learner::ActorDutyFor(*algorithm, config).items;
  actor_options.scalars = actor_log.get();
  for (std::unique_ptr<PolicySide>& side : sides) actor_options.parameter_stores.push_back(&side->store);
  if (map.several()) {
    // As a launched actor is told (roles/actor_main.cc).
    actor_options.policy_names = map.names;
    actor_options.agent_policy = map.agent_policy;
    for (const std::unique_ptr<PolicySide>& side : sides) {
      ASSIGN_OR_RETURN(const learner::AlgorithmSpec* own, learner::FindAlgorithmSpec(side->config.learner()));
      actor_options.policy_writes.push_back(
          {side->config.replay().tables(0), learner::ActorDutyFor(*own, side->config).items});
    }
  }
  actor_options.insert = [&turns](int policy, const std::vector<const void*>& columns, int num_items) {
    return turns.Insert(policy, columns, num_items);
  };
  ASSIGN_OR_RETURN(std::unique_ptr<actor::Actor> actor, actor::Actor::Create(actor_options, nullptr));
  turns.set_actor(actor.get());
  RETURN_IF_ERROR(actor->Run(stop));

  LockstepResult result;
  result.env_steps = actor->env_steps();
  result.items_inserted = turns.items_inserted();
  // The digest of every policy's final version, in config order.
  std::string final_versions;
  for (std::unique_ptr<PolicySide>& side : sides) {
    RETURN_IF_ERROR(side->learner->Finish());
    const parameters::ParameterUpdatePtr final_version = side->store.Latest();
    if (final_version == nullptr) {
      const std::string whose = side->name.empty() ? "" : absl::StrCat(" of policy '", side->name, "'");
      return absl::InternalError(absl::StrCat("the learner", whose, " published no version"));
    }
    final_versions += final_version->blob();
  }
  result.learner_updates = turns.updates();
  result.policy_digest = Fnv1a64(final_versions);
  if (stop.HasBeenNotified()) {
    result.final_eval = "skipped: interrupted";
    return result;
  }
  RETURN_IF_ERROR(EvaluateFinal(config, map, sides, *eval_log, stop, &result));
  return result;
}

}  // namespace rill::roles
