#include "cli/run_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace rill::cli {

namespace {

// The flags every process gets: the config, seed, ports picked by the
// process itself, and the run's TLS files.
std::vector<std::string> CommonArgs(const char* subcommand, const v1::ExperimentConfig& config,
                                    const PlanOptions& options) {
  std::vector<std::string> args = {subcommand,
                                   absl::StrCat("--config=", options.config_file),
                                   absl::StrCat("--seed=", config.seed()),
                                   "--host=127.0.0.1",
                                   "--port=0",
                                   "--metrics_port=0"};
  if (!options.tls_cert.empty() || !options.tls_key.empty() || !options.tls_ca.empty()) {
    args.push_back(absl::StrCat("--tls_cert=", options.tls_cert));
    args.push_back(absl::StrCat("--tls_key=", options.tls_key));
    args.push_back(absl::StrCat("--tls_ca=", options.tls_ca));
  }
  return args;
}

// A process whose log is <run_dir>/logs/<file>.log and whose final metrics
// go to <run_dir>/final-metrics/<file>.prom.
ProcessPlan Process(RoleKind kind, int index, std::string name, const std::string& file, const PlanOptions& options) {
  ProcessPlan process;
  process.kind = kind;
  process.index = index;
  process.name = std::move(name);
  process.log_path = absl::StrCat(options.run_dir, "/logs/", file, ".log");
  process.final_metrics_path = absl::StrCat(options.run_dir, "/final-metrics/", file, ".prom");
  return process;
}

void PlanReplay(const v1::ExperimentConfig& config, const PlanOptions& options, RunPlan& plan) {
  const int shards = config.topology().num_replay_shards();
  const bool durable = config.replay().durability().mode() != v1::DurabilityConfig::NONE;
  for (int i = 0; i < shards; ++i) {
    ProcessPlan shard = Process(RoleKind::kReplay, i, absl::StrCat("replay/", i),
                                shards == 1 ? "replay" : absl::StrCat("replay-", i), options);
    shard.args = CommonArgs("replay", config, options);
    shard.args.push_back(absl::StrCat("--shard_index=", i));
    if (durable) shard.args.push_back(absl::StrCat("--checkpoint_dir=", options.run_dir, "/replay-", i));
    plan.replays.push_back(std::move(shard));
  }
}

void PlanLearners(const v1::ExperimentConfig& config, const PlanOptions& options, RunPlan& plan) {
  const int ranks = std::max(1, config.topology().num_learners());
  for (int rank = 0; rank < ranks; ++rank) {
    ProcessPlan learner = Process(RoleKind::kLearner, rank, absl::StrCat("learner/", rank),
                                  rank == 0 ? "learner" : absl::StrCat("learner-", rank), options);
    learner.args = CommonArgs("learner", config, options);
    learner.args.push_back(absl::StrCat("--replay_address=", kReplayAddresses));
    // Rank 0 alone checkpoints and logs its scalars (the ranks train in step).
    if (rank == 0) {
      learner.args.push_back(absl::StrCat("--checkpoint_dir=", options.run_dir, "/checkpoints/learner"));
      learner.args.push_back(absl::StrCat("--scalars_file=", options.run_dir, "/metrics/learner.jsonl"));
    }
    if (plan.learner_threads > 0) learner.args.push_back(absl::StrCat("--learner_threads=", plan.learner_threads));
    if (ranks > 1) {
      learner.args.push_back(absl::StrCat("--world_size=", ranks));
      learner.args.push_back(absl::StrCat("--rank=", rank));
      // Last: the supervisor gives each start of the group its store's address.
      learner.args.push_back("--store=");
    }
    plan.learners.push_back(std::move(learner));
  }
}

// Central inference in processes of its own: each follows the learner's
// parameter stream; actor i streams to process i mod N.
void PlanInference(const v1::ExperimentConfig& config, const PlanOptions& options, RunPlan& plan) {
  for (int i = 0; i < config.topology().num_inference_servers(); ++i) {
    ProcessPlan server =
        Process(RoleKind::kInference, i, absl::StrCat("inference/", i), absl::StrCat("inference-", i), options);
    server.args = CommonArgs("inference", config, options);
    server.args.push_back(absl::StrCat("--learner_address=", kLearnerAddress));
    plan.inference.push_back(std::move(server));
  }
}

void PlanActors(const v1::ExperimentConfig& config, const PlanOptions& options, RunPlan& plan) {
  const int actors = config.topology().num_actors();
  // What is left of the budget (the launcher refuses a resumed run with none).
  const int64_t max_steps = config.max_env_steps() > 0
                                ? std::max<int64_t>(1, config.max_env_steps() - options.previous_env_steps)
                                : 0;
  for (int i = 0; i < actors; ++i) {
    ProcessPlan actor = Process(RoleKind::kActor, i, absl::StrCat("actor/", i), absl::StrCat("actor-", i), options);
    actor.budget = max_steps > 0 ? (max_steps + actors - 1 - i) / actors : 0;
    actor.args = CommonArgs("actor", config, options);
    actor.args.push_back(absl::StrCat("--replay_address=", kReplayAddresses));
    actor.args.push_back(absl::StrCat("--learner_address=", kLearnerAddress));
    actor.args.push_back(absl::StrCat("--actor_id=", i));
    if (plan.has_env_server) actor.args.push_back(absl::StrCat("--env_address=", kEnvServerAddress));
    if (!plan.inference.empty()) {
      actor.args.push_back(absl::StrCat("--inference_address=",
                                        InferencePlaceholder(i % static_cast<int>(plan.inference.size()))));
    }
    actor.args.push_back(absl::StrCat("--scalars_file=", options.run_dir, "/metrics/actor-", i, ".jsonl"));
    // Last: a restart rewrites it with the steps left.
    actor.args.push_back(absl::StrCat("--actor_max_env_steps=", actor.budget));
    plan.actors.push_back(std::move(actor));
  }
}

void PlanEvaluator(const v1::ExperimentConfig& config, const PlanOptions& options, RunPlan& plan) {
  ProcessPlan evaluator = Process(RoleKind::kEvaluator, 0, "evaluator", "evaluator", options);
  evaluator.args = CommonArgs("actor", config, options);
  evaluator.args.push_back(absl::StrCat("--replay_address=", kReplayAddresses));
  evaluator.args.push_back(absl::StrCat("--learner_address=", kLearnerAddress));
  evaluator.args.push_back("--eval");
  evaluator.args.push_back(absl::StrCat("--scalars_file=", options.run_dir, "/metrics/evaluator.jsonl"));
  evaluator.args.push_back(absl::StrCat("--video_dir=", options.run_dir, "/videos"));
  if (plan.has_env_server) evaluator.args.push_back(absl::StrCat("--env_address=", kEnvServerAddress));
  plan.evaluator = std::move(evaluator);
}

}  // namespace

const char* RoleKindName(RoleKind kind) {
  switch (kind) {
    case RoleKind::kEnvServer:
      return "env server";
    case RoleKind::kReplay:
      return "replay";
    case RoleKind::kLearner:
      return "learner";
    case RoleKind::kInference:
      return "inference";
    case RoleKind::kActor:
      return "actor";
    case RoleKind::kEvaluator:
      return "evaluator";
  }
  return "?";
}

std::string InferencePlaceholder(int index) { return absl::StrCat("{inference/", index, "}"); }

std::vector<const ProcessPlan*> RunPlan::StartOrder() const {
  std::vector<const ProcessPlan*> order;
  for (const std::vector<ProcessPlan>* group : {&replays, &learners, &inference}) {
    for (const ProcessPlan& process : *group) order.push_back(&process);
  }
  order.push_back(&evaluator);
  for (const ProcessPlan& process : actors) order.push_back(&process);
  return order;
}

RestartPolicy RunPlan::restart(RoleKind kind) const {
  switch (kind) {
    case RoleKind::kEnvServer:
      return env_server_restarts;
    case RoleKind::kReplay:
      return replay_restarts;
    case RoleKind::kActor:
      return actor_restarts;
    case RoleKind::kLearner:
    case RoleKind::kInference:
    case RoleKind::kEvaluator:
      return learner_restarts;
  }
  return learner_restarts;
}

int LearnerThreads(const v1::ExperimentConfig& config, int cores) {
  if (config.topology().num_learners() <= 1 && config.policies_size() <= 1) return 0;
  const int busy = config.topology().num_actors() +
                   (config.topology().inference() == v1::TopologyConfig::CENTRAL
                        ? std::max(1, config.topology().num_inference_servers())
                        : 0);
  return std::max(1, (std::max(1, cores) - busy) / std::max(1, config.topology().num_learners()));
}

RunPlan PlanRun(const v1::ExperimentConfig& config, const PlanOptions& options) {
  RunPlan plan;
  plan.actor_restarts = {options.max_actor_restarts, "--max_actor_restarts"};
  plan.replay_restarts = {options.max_replay_restarts, "--max_replay_restarts"};
  plan.learner_restarts = {options.max_learner_restarts, "--max_learner_restarts"};
  plan.env_server_restarts = {options.max_env_server_restarts, "--max_env_server_restarts"};
  plan.has_env_server = config.env().has_remote() && !config.env().remote().command().empty();
  if (plan.has_env_server) {
    plan.env_server.command = config.env().remote().command();
    plan.env_server.address = config.env().remote().address();
    plan.env_server.log_path = options.run_dir + "/logs/env-server.log";
  }
  if (config.learner().num_threads() == 0) plan.learner_threads = LearnerThreads(config, options.cores);
  PlanReplay(config, options, plan);
  PlanLearners(config, options, plan);
  PlanInference(config, options, plan);
  PlanActors(config, options, plan);
  PlanEvaluator(config, options, plan);
  return plan;
}

std::vector<std::string> ResolveArgs(const std::vector<std::string>& args, const Endpoints& endpoints) {
  std::vector<std::pair<std::string, std::string>> replacements = {
      {kReplayAddresses, absl::StrJoin(endpoints.replay, ",")},
      {kLearnerAddress, endpoints.learner},
      {kEnvServerAddress, endpoints.env_server},
  };
  for (size_t i = 0; i < endpoints.inference.size(); ++i) {
    replacements.emplace_back(InferencePlaceholder(static_cast<int>(i)), endpoints.inference[i]);
  }
  std::vector<std::string> resolved;
  resolved.reserve(args.size());
  for (const std::string& arg : args) resolved.push_back(absl::StrReplaceAll(arg, replacements));
  return resolved;
}

}  // namespace rill::cli
