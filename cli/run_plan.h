// RunPlan: what `rill launch` starts for a finalized experiment config, and
// how, decided before anything starts: which processes (replay shards,
// learner ranks, inference servers, actors, the evaluator and, with
// env.remote.command, the env server), their arguments, logs and final
// metrics files, the order they start in, each actor's step budget and each
// role's restart policy. The Supervisor (cli/supervisor.h) runs a plan; this
// file starts nothing and reads no flag, so the plan is unit-tested without
// a process (run_plan_test.cc).
//
// Addresses that exist only once a process has started (the shards' ports,
// the learner's, an inference server's, the env server's) appear in the
// arguments as placeholders (kReplayAddresses, ...) that ResolveArgs fills
// from the Endpoints the supervisor has gathered.
//
// Thread-safe: plain data and pure functions.
#ifndef RILL_CLI_RUN_PLAN_H_
#define RILL_CLI_RUN_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "proto/config.pb.h"

namespace rill::cli {

// The kinds of process a run is made of, in start order (the env server
// first: it depends on nothing, and a command that fails then fails the
// run in seconds; the evaluator before the actors, so that its first round
// plays the untrained policy).
enum class RoleKind { kEnvServer, kReplay, kLearner, kInference, kEvaluator, kActor };

// "replay", "learner", ... (for messages and the plan's tests).
const char* RoleKindName(RoleKind kind);

// What the supervisor does when a process of the role ends before the run
// does. Every restarted process keeps its ports (its peers were given its
// address); an actor takes the rest of its step budget; the learner ranks
// restart together from rank 0's last checkpoint.
struct RestartPolicy {
  // Restarts allowed before the run fails (the learner group's count as
  // one, whatever the number of ranks).
  int max_restarts = 0;
  // The flag that sets max_restarts: the supervisor names it when a role
  // runs out of restarts ("actor/2 crashed 6 times (--max_actor_restarts=5)").
  std::string flag;
};

// The argument placeholders that ResolveArgs fills.
inline constexpr char kReplayAddresses[] = "{replay}";   // every shard, in shard order, comma-separated
inline constexpr char kLearnerAddress[] = "{learner}";   // rank 0's gRPC address
inline constexpr char kEnvServerAddress[] = "{env}";     // the address the env server bound
// "{inference/3}": the address of inference server 3.
std::string InferencePlaceholder(int index);

// One process of the run.
struct ProcessPlan {
  RoleKind kind = RoleKind::kActor;
  int index = 0;       // shard, rank, server or actor index; 0 for the evaluator
  std::string name;    // "replay/0", "learner/1", "actor/3", "evaluator"
  // `rill` subcommand first ("actor"), then its flags; placeholders above.
  // An actor's last argument is its --actor_max_env_steps (a restart
  // rewrites it with the steps left); with several learner ranks, a rank's
  // last is --store= (the supervisor sets the group store's address).
  std::vector<std::string> args;
  std::string log_path;            // <run_dir>/logs/<file>.log
  std::string final_metrics_path;  // <run_dir>/final-metrics/<file>.prom
  int64_t budget = 0;              // actors: env steps (0: no limit)
};

// The env server that env.remote.command starts.
struct EnvServerPlan {
  std::string command;
  std::string address;  // may be empty: the server picks one
  std::string log_path;
};

// What the plan needs besides the config: the launcher's own settings.
struct PlanOptions {
  std::string run_dir;
  // The config file every process reads (the run folder's effective one).
  std::string config_file;
  // Every process serves and dials with these (all empty: plain text).
  std::string tls_cert, tls_key, tls_ca;
  // Env steps the earlier parts of a resumed run made: the actors share
  // what is left of max_env_steps.
  int64_t previous_env_steps = 0;
  // This machine's cores (the learner's threads when learner.num_threads
  // is 0).
  int cores = 1;
  // Restarts allowed per role kind (the launcher's --max_*_restarts).
  int max_actor_restarts = 5;
  int max_replay_restarts = 5;
  int max_learner_restarts = 5;  // the learner group, the evaluator, inference servers
  int max_env_server_restarts = 5;
};

struct RunPlan {
  std::vector<ProcessPlan> replays;    // shard order
  std::vector<ProcessPlan> learners;   // rank 0 first
  std::vector<ProcessPlan> inference;  // topology.num_inference_servers
  std::vector<ProcessPlan> actors;
  ProcessPlan evaluator;
  bool has_env_server = false;
  EnvServerPlan env_server;  // with has_env_server
  // Each learner rank's intra-op threads, given as --learner_threads when
  // learner.num_threads is 0 and LearnerThreads fixes them (then > 0); 0
  // otherwise.
  int learner_threads = 0;

  // Every process in start order (the env server, which is no
  // ProcessPlan, starts before them all).
  std::vector<const ProcessPlan*> StartOrder() const;
  // The restart policy of a role kind (the evaluator and the inference
  // servers share the learner's).
  RestartPolicy restart(RoleKind kind) const;

  RestartPolicy actor_restarts, replay_restarts, learner_restarts, env_server_restarts;
};

// The plan for `config` (finalized: experiment/config.h). The actors share
// what is left of max_env_steps: actor i takes ceil((left - i) / N)
// steps, so the budgets add up to it exactly.
RunPlan PlanRun(const v1::ExperimentConfig& config, const PlanOptions& options);

// Each learner rank's intra-op threads when learner.num_threads is 0.
// One learner training one policy: 0, it measures them itself (up to every
// core: learner/thread_tuner.h), since what the actors leave it depends on
// their envs (a Pendulum actor keeps 2% of a core busy, a MuJoCo one all of
// it). Several ranks, or several policies in one learner process, cannot
// each tune the threads they share: each rank gets its share of the `cores`
// the actors and inference servers leave (each counted as one busy core),
// at least one.
int LearnerThreads(const v1::ExperimentConfig& config, int cores);

// The addresses known once processes have started.
struct Endpoints {
  std::vector<std::string> replay;  // shard order
  std::string learner;
  std::vector<std::string> inference;
  std::string env_server;
};

// `args` with every placeholder replaced by its address in `endpoints`.
std::vector<std::string> ResolveArgs(const std::vector<std::string>& args, const Endpoints& endpoints);

}  // namespace rill::cli

#endif  // RILL_CLI_RUN_PLAN_H_
