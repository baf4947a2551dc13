#include "roles/lockstep_run.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "actor/action_sources/fixed.h"
#include "actor/actor.h"
#include "actor/evaluator.h"
#include "actor/lockstep_envs.h"
#include "common/blas.h"
#include "common/logging.h"
#include "common/scalar_log.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"
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

// The actor's items go into `table`, and the learner trains on every batch
// the table's rate limiter then allows: one turn of the run.
class Turns {
 public:
  Turns(const LockstepOptions& options, replay::Table* table, learner::Learner* learner)
      : options_(options), table_(table), learner_(learner), last_progress_(absl::Now()) {}

  absl::Status Insert(const std::vector<const void*>& columns, int num_items) {
    const v1::TableConfig& config = options_.config.replay().tables(0);
    ASSIGN_OR_RETURN(const v1::InsertRequest request, InsertRequestOf(config, columns, num_items, &next_key_));
    std::vector<uint64_t> stored;
    // The learner has sampled all it may after every turn, so the limiter
    // never holds an insert back; a deadline keeps a wrong limiter from
    // hanging the run.
    const absl::Status inserted = table_->Insert(request, absl::Now() + absl::Seconds(10), &stored);
    if (absl::IsDeadlineExceeded(inserted)) {
      return absl::FailedPreconditionError(
          absl::StrCat("replay table '", config.name(), "': its rate limiter holds an insert back although the "
                       "learner has sampled all it allows (replay.tables[0].rate_limiter)"));
    }
    RETURN_IF_ERROR(inserted);
    items_inserted_ += num_items;
    RETURN_IF_ERROR(TrainWhileAllowed());
    if (options_.on_progress && absl::Now() - last_progress_ >= options_.progress_every) {
      last_progress_ = absl::Now();
      // The actor counts a step once its items are handed over: this one
      // is not counted yet.
      options_.on_progress(actor_ != nullptr ? actor_->env_steps() : 0, learner_->updates());
    }
    return absl::OkStatus();
  }

  // The actor whose steps the progress reports; called on its thread.
  void set_actor(const actor::Actor* actor) { actor_ = actor; }
  int64_t items_inserted() const { return items_inserted_; }

 private:
  absl::Status TrainWhileAllowed() {
    const int batch_size = options_.config.learner().batch_size();
    while (true) {
      // A deadline already past: take what the limiter allows now. A batch
      // it allows only in part stays in `pending_` for the next turn.
      const absl::Status sampled = table_->Sample(batch_size, absl::InfinitePast(), &pending_);
      if (absl::IsDeadlineExceeded(sampled)) return absl::OkStatus();
      RETURN_IF_ERROR(sampled);
      RETURN_IF_ERROR(learner_->Train(pending_, /*shard=*/0));
      pending_.Clear();
    }
  }

  const LockstepOptions& options_;
  replay::Table* table_;
  learner::Learner* learner_;
  const actor::Actor* actor_ = nullptr;
  v1::SampleResponse pending_;
  uint64_t next_key_ = 1;
  int64_t items_inserted_ = 0;
  absl::Time last_progress_;
};

absl::StatusOr<std::unique_ptr<ScalarLog>> OpenLog(const std::string& run_dir, const std::string& name) {
  return ScalarLog::Open(absl::StrCat(run_dir, "/metrics/", name, ".jsonl"));
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
  if (config.policies_size() > 0) {
    return absl::InvalidArgumentError(absl::StrCat("policies names ", config.policies_size(), " policies: ", why,
                                                   " and one policy"));
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

  ASSIGN_OR_RETURN(std::unique_ptr<replay::Table> table, replay::Table::Create(config.replay().tables(0)));
  table->SeedSampling(config.seed() ^ kTableSeedSalt);

  ASSIGN_OR_RETURN(std::unique_ptr<ScalarLog> learner_log, OpenLog(options.run_dir, "learner"));
  ASSIGN_OR_RETURN(std::unique_ptr<ScalarLog> actor_log, OpenLog(options.run_dir, "actor-0"));
  ASSIGN_OR_RETURN(std::unique_ptr<ScalarLog> eval_log, OpenLog(options.run_dir, "evaluator"));
  parameters::ParameterStore store;
  learner::LearnerOptions learner_options;
  learner_options.config = config;
  learner_options.checkpoint_dir = options.run_dir + "/checkpoints/learner";
  learner_options.seed = config.seed();
  learner_options.scalars = learner_log.get();
  if (config.replay().tables(0).selector().has_prioritized()) {
    learner_options.send_priorities = [&table](std::vector<uint64_t> keys, std::vector<double> priorities) {
      v1::UpdatePrioritiesRequest request;
      request.set_table(table->name());
      request.mutable_keys()->Add(keys.begin(), keys.end());
      request.mutable_priorities()->Add(priorities.begin(), priorities.end());
      int64_t updated = 0;
      return table->UpdatePriorities(request, &updated);
    };
  }
  ASSIGN_OR_RETURN(std::unique_ptr<learner::Learner> learner, learner::Learner::Create(learner_options, &store, nullptr));
  if (learner->updates() > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "'", learner_options.checkpoint_dir, "' holds a checkpoint at update ", learner->updates(),
        ": a deterministic run starts from scratch; choose a new --run_dir"));
  }
  RETURN_IF_ERROR(learner->Start());

  Turns turns(options, table.get(), learner.get());
  actor::ActorOptions actor_options;
  actor_options.config = config;
  actor_options.actor_id = 0;
  actor_options.seed = config.seed();
  actor_options.max_env_steps = config.max_env_steps();
  actor_options.items = learner::ActorDutyFor(*algorithm, config).items;
  actor_options.scalars = actor_log.get();
  actor_options.parameter_store = &store;
  actor_options.insert = [&turns](const std::vector<const void*>& columns, int num_items) {
    return turns.Insert(columns, num_items);
  };
  ASSIGN_OR_RETURN(std::unique_ptr<actor::Actor> actor, actor::Actor::Create(actor_options, nullptr));
  turns.set_actor(actor.get());
  RETURN_IF_ERROR(actor->Run(stop));
  RETURN_IF_ERROR(learner->Finish());

  LockstepResult result;
  result.env_steps = actor->env_steps();
  result.learner_updates = learner->updates();
  result.items_inserted = turns.items_inserted();
  const parameters::ParameterUpdatePtr final_version = store.Latest();
  if (final_version == nullptr) return absl::InternalError("the learner published no version");
  result.policy_digest = Fnv1a64(final_version->blob());
  if (stop.HasBeenNotified()) {
    result.final_eval = "skipped: interrupted";
    return result;
  }

  // The final version, played as the launched evaluator plays a round.
  const uint64_t eval_seed = actor::EvaluatorSeed(config.seed(), 0);
  ASSIGN_OR_RETURN(std::unique_ptr<actor::LockstepEnvs> envs,
                   actor::LockstepEnvs::CreateForEvaluation(config, config.eval().episodes(), eval_seed));
  actor::FixedPolicySource policy(envs->spec(), eval_seed);
  v1::ParameterSet parameters;
  if (!parameters.ParseFromString(final_version->blob())) {
    return absl::InternalError("the final version is not a serialized ParameterSet");
  }
  RETURN_IF_ERROR(policy.Load(parameters, final_version->version()));
  ASSIGN_OR_RETURN(const actor::EvaluationRound round, actor::PlayEvaluationRound(*envs, policy, stop));
  if (!round.finished) {
    result.final_eval = "skipped: interrupted";
    return result;
  }
  const actor::RoundFigures figures = actor::SummarizeRound(round.episodes, round.env_metrics);
  result.eval_return_mean = figures.return_mean;
  result.eval_episodes = figures.episodes;
  result.eval_parameter_version = final_version->version();
  result.final_eval = "done";
  actor::AppendRound(*eval_log, final_version->version(), figures);
  RILL_LOG(INFO) << absl::StrFormat("final evaluation of version %d: %d episodes, return mean %.1f",
                                    final_version->version(), figures.episodes, figures.return_mean);
  return result;
}

}  // namespace rill::roles
