// RunPlan without a process: which processes a config makes, their order,
// arguments, budgets and restart policies.
#include "cli/run_plan.h"

#include <algorithm>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::cli {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTiny[] = R"(
  name: "tiny"
  env { name: "Pendulum-v1" }
  network { hidden_sizes: 32 }
  replay { tables { name: "transitions" max_size: 1000 } }
  learner { sac { } batch_size: 32 }
  seed: 7
)";

// kTiny with 3 actors and `topology` in its topology section, 1,000 env
// steps unless `extra` sets max_env_steps, and `extra`.
v1::ExperimentConfig Config(const std::string& topology = "", const std::string& extra = "") {
  const std::string steps = extra.find("max_env_steps") == std::string::npos ? "max_env_steps: 1000\n" : "";
  absl::StatusOr<v1::ExperimentConfig> config = experiment::ParseExperimentConfig(
      absl::StrCat(kTiny, "topology { num_actors: 3 ", topology, " }\n", steps, extra));
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

PlanOptions Options() {
  PlanOptions options;
  options.run_dir = "/runs/a";
  options.config_file = "/runs/a/config.textpb";
  options.cores = 8;
  return options;
}

std::vector<std::string> Names(const RunPlan& plan) {
  std::vector<std::string> names;
  for (const ProcessPlan* process : plan.StartOrder()) names.push_back(process->name);
  return names;
}

bool HasArg(const ProcessPlan& process, const std::string& arg) {
  return std::find(process.args.begin(), process.args.end(), arg) != process.args.end();
}

TEST(RunPlanTest, StartsReplayThenLearnerThenEvaluatorThenActors) {
  const RunPlan plan = PlanRun(Config(), Options());
  EXPECT_THAT(Names(plan), ElementsAre("replay/0", "learner/0", "evaluator", "actor/0", "actor/1", "actor/2"));
  EXPECT_FALSE(plan.has_env_server);
}

TEST(RunPlanTest, ShardsAndInferenceServersComeInTheirOrder) {
  const RunPlan plan =
      PlanRun(Config("num_replay_shards: 2 inference: CENTRAL num_inference_servers: 2"), Options());
  EXPECT_THAT(Names(plan), ElementsAre("replay/0", "replay/1", "learner/0", "inference/0", "inference/1", "evaluator",
                                       "actor/0", "actor/1", "actor/2"));
  EXPECT_EQ(plan.replays[1].log_path, "/runs/a/logs/replay-1.log");
  EXPECT_TRUE(HasArg(plan.replays[1], "--shard_index=1"));
  // Actor i streams to inference server i mod N.
  EXPECT_TRUE(HasArg(plan.actors[2], absl::StrCat("--inference_address=", InferencePlaceholder(0))));
  EXPECT_TRUE(HasArg(plan.actors[1], absl::StrCat("--inference_address=", InferencePlaceholder(1))));
}

TEST(RunPlanTest, ActorBudgetsAddUpToTheStepsLeft) {
  PlanOptions options = Options();
  options.previous_env_steps = 100;  // a resumed run: 901 of 1,001 steps left for 3 actors
  const RunPlan plan = PlanRun(Config("", "max_env_steps: 1001"), options);
  int64_t total = 0;
  for (const ProcessPlan& actor : plan.actors) total += actor.budget;
  EXPECT_EQ(total, 901);
  EXPECT_EQ(plan.actors[0].budget, 301);
  EXPECT_EQ(plan.actors[2].budget, 300);
  // A restart rewrites the last argument with the steps left.
  EXPECT_EQ(plan.actors[0].args.back(), "--actor_max_env_steps=301");
}

TEST(RunPlanTest, EveryProcessReadsTheRunsConfigAndItsOwnFiles) {
  const RunPlan plan = PlanRun(Config(), Options());
  for (const ProcessPlan* process : plan.StartOrder()) {
    EXPECT_TRUE(HasArg(*process, "--config=/runs/a/config.textpb")) << process->name;
    EXPECT_TRUE(HasArg(*process, "--seed=7")) << process->name;
    EXPECT_TRUE(HasArg(*process, "--port=0")) << process->name;
    EXPECT_THAT(process->final_metrics_path, HasSubstr("/runs/a/final-metrics/")) << process->name;
    EXPECT_THAT(process->args, Not(Contains(HasSubstr("--tls_")))) << process->name;
  }
  EXPECT_EQ(plan.learners[0].args.front(), "learner");
  EXPECT_EQ(plan.evaluator.args.front(), "actor");
  EXPECT_TRUE(HasArg(plan.evaluator, "--eval"));
  EXPECT_TRUE(HasArg(plan.learners[0], "--checkpoint_dir=/runs/a/checkpoints/learner"));
}

TEST(RunPlanTest, TlsFilesGoToEveryProcess) {
  PlanOptions options = Options();
  options.tls_cert = "/t/cert.pem";
  options.tls_key = "/t/key.pem";
  options.tls_ca = "/t/ca.pem";
  const RunPlan plan = PlanRun(Config(), options);
  for (const ProcessPlan* process : plan.StartOrder()) {
    EXPECT_TRUE(HasArg(*process, "--tls_cert=/t/cert.pem")) << process->name;
    EXPECT_TRUE(HasArg(*process, "--tls_ca=/t/ca.pem")) << process->name;
  }
}

TEST(RunPlanTest, LearnerRanksGetTheirRankAndAStoreSetAtStart) {
  const RunPlan plan = PlanRun(Config("num_learners: 2"), Options());
  ASSERT_EQ(plan.learners.size(), 2u);
  EXPECT_TRUE(HasArg(plan.learners[1], "--rank=1"));
  EXPECT_TRUE(HasArg(plan.learners[1], "--world_size=2"));
  EXPECT_EQ(plan.learners[1].args.back(), "--store=");
  // Rank 0 alone checkpoints.
  EXPECT_FALSE(HasArg(plan.learners[1], "--checkpoint_dir=/runs/a/checkpoints/learner"));
  EXPECT_EQ(plan.learners[1].log_path, "/runs/a/logs/learner-1.log");
}

TEST(RunPlanTest, OneLearnerMeasuresItsThreadsAndRanksShareTheCoresTheActorsLeave) {
  // One learner: none given, it measures how many of the cores update
  // fastest beside the actors.
  EXPECT_EQ(PlanRun(Config(), Options()).learner_threads, 0);
  EXPECT_THAT(PlanRun(Config(), Options()).learners[0].args, Not(Contains(HasSubstr("--learner_threads"))));
  // Two ranks, 8 cores, 3 actors: (8 - 3) / 2 each.
  v1::ExperimentConfig ranks = Config();
  ranks.mutable_topology()->set_num_learners(2);
  const RunPlan split = PlanRun(ranks, Options());
  EXPECT_EQ(split.learner_threads, 2);
  EXPECT_TRUE(HasArg(split.learners[0], "--learner_threads=2"));
  EXPECT_TRUE(HasArg(split.learners[1], "--learner_threads=2"));
  // Several policies in one learner process: the cores the actors leave.
  v1::ExperimentConfig policies = Config();
  policies.add_policies()->set_name("red");
  policies.add_policies()->set_name("blue");
  EXPECT_EQ(PlanRun(policies, Options()).learner_threads, 5);
  // learner.num_threads set: none given.
  v1::ExperimentConfig two_threads = ranks;
  two_threads.mutable_learner()->set_num_threads(2);
  const RunPlan fixed = PlanRun(two_threads, Options());
  EXPECT_EQ(fixed.learner_threads, 0);
  EXPECT_THAT(fixed.learners[0].args, Not(Contains(HasSubstr("--learner_threads"))));
  PlanOptions two_cores = Options();
  two_cores.cores = 2;
  EXPECT_EQ(PlanRun(ranks, two_cores).learner_threads, 1);  // at least one
}

TEST(RunPlanTest, AnEnvServerCommandStartsFirstAndItsAddressGoesToEveryEnvStepper) {
  absl::StatusOr<v1::ExperimentConfig> config = experiment::ParseExperimentConfig(R"(
    env { remote {
      command: "python3 -m rill.env_server --factory=cartpole:make --address={address}"
      observation_space { box { shape: 4 dtype: DTYPE_FLOAT32 low: [-1, -1, -1, -1] high: [1, 1, 1, 1] } }
      action_space { discrete { n: 2 } }
    } }
    replay { tables { name: "unrolls" selector { fifo {} } max_size: 32 } }
    learner { impala { unroll_length: 10 } batch_size: 4 }
    topology { num_actors: 2 }
  )");
  ASSERT_TRUE(config.ok()) << config.status();
  const RunPlan plan = PlanRun(*config, Options());
  ASSERT_TRUE(plan.has_env_server);
  EXPECT_EQ(plan.env_server.command, "python3 -m rill.env_server --factory=cartpole:make --address={address}");
  EXPECT_EQ(plan.env_server.log_path, "/runs/a/logs/env-server.log");
  const std::string env_arg = absl::StrCat("--env_address=", kEnvServerAddress);
  for (const ProcessPlan& actor : plan.actors) EXPECT_TRUE(HasArg(actor, env_arg)) << actor.name;
  EXPECT_TRUE(HasArg(plan.evaluator, env_arg));
  EXPECT_FALSE(HasArg(plan.learners[0], env_arg));
}

TEST(RunPlanTest, RestartPoliciesComeFromTheOptionsByRoleKind) {
  PlanOptions options = Options();
  options.max_actor_restarts = 9;
  options.max_learner_restarts = 2;
  options.max_replay_restarts = 4;
  options.max_env_server_restarts = 1;
  const RunPlan plan = PlanRun(Config(), options);
  EXPECT_EQ(plan.restart(RoleKind::kActor).max_restarts, 9);
  EXPECT_EQ(plan.restart(RoleKind::kReplay).max_restarts, 4);
  EXPECT_EQ(plan.restart(RoleKind::kEnvServer).max_restarts, 1);
  // The evaluator and inference servers follow the learner's.
  EXPECT_EQ(plan.restart(RoleKind::kEvaluator).max_restarts, 2);
  EXPECT_EQ(plan.restart(RoleKind::kInference).max_restarts, 2);
  EXPECT_EQ(plan.restart(RoleKind::kLearner).flag, "--max_learner_restarts");
}

TEST(RunPlanTest, ResolveArgsFillsEveryPlaceholder) {
  const RunPlan plan =
      PlanRun(Config("num_replay_shards: 2 inference: CENTRAL num_inference_servers: 2"), Options());
  Endpoints endpoints;
  endpoints.replay = {"127.0.0.1:100", "127.0.0.1:101"};
  endpoints.learner = "127.0.0.1:200";
  endpoints.inference = {"127.0.0.1:300", "127.0.0.1:301"};
  const std::vector<std::string> args = ResolveArgs(plan.actors[1].args, endpoints);
  EXPECT_THAT(args, Contains("--replay_address=127.0.0.1:100,127.0.0.1:101"));
  EXPECT_THAT(args, Contains("--learner_address=127.0.0.1:200"));
  EXPECT_THAT(args, Contains("--inference_address=127.0.0.1:301"));
  EXPECT_THAT(args, Not(Contains(HasSubstr("{"))));
}

}  // namespace
}  // namespace rill::cli
