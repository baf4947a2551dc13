// `rill eval --checkpoint_dir=DIR [--episodes=N] [--config=C] [--seed=S]`:
// how good a learner checkpoint's policy is, as SB3's evaluate_policy and
// Sample Factory's enjoy tell it. It plays N episodes (default 10) of the
// run's env with the checkpoint's deterministic policy (or, with
// --sample_actions, its actions drawn as the actors draw them in
// training), on the actors' own
// OpenBLAS policy code (actor/action_sources/fixed.h) and the evaluator's
// lockstep round (actor/evaluator.h), so what it reports is what the
// run's evaluator would have seen for that version. It prints one line per
// episode, a summary and, last, one JSON object.
//
// DIR is a run folder, its learner's checkpoint folder or one checkpoint
// (roles/checkpoint_folder.h). The env comes from the run's config.textpb,
// found beside the checkpoint, unless --config names one. Remote envs
// (env.remote) play on the server --env_address names, or else on the one
// the config's env.remote.command starts, started as `rill launch` starts
// it and stopped at the end, on every error and on Ctrl-C or SIGTERM
// (roles/remote_env_serving.h); a remote env that none of these serves is
// refused at once, naming env.remote.address.
//
// Cross-play (`--opponent_checkpoint_dir=B --opponent_agents=agent_0,...`),
// as the MADDPG paper pits MADDPG predators against DDPG prey: the agents
// named (the env's agent names) play B's networks, the others DIR's. Both
// runs are per_agent policies (learner.maddpg) of the same env; the version
// reported is DIR's.
//
// Head to head (`--opponent_checkpoint_dir=B` alone), for a two-player
// zero-sum game whose players share one policy (PongDuel-v0 with PPO, a
// self-play run): DIR's policy plays B's, both deterministic, seats
// alternating by env (env e: DIR plays seat e mod 2, B the other:
// actor/opponent_seats.h), without the run's eval.scripted_agents. What
// is reported is DIR's side: its episodes, its wins, draws and losses (by
// the sign of its return), its score (wins + draws / 2 over games) and the
// Elo difference that implies over B (actor/ratings.h: with one virtual
// draw, so a clean sweep is finite). There --opponent_agents may name the
// one seat B plays in every env (e.g. player_1) instead of alternating.
//
// Thread-compatible: EvaluateCheckpoint runs on the calling thread; only
// `stop` is notified from another.
#ifndef RILL_ROLES_EVAL_MAIN_H_
#define RILL_ROLES_EVAL_MAIN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "actor/action_sources/fixed.h"
#include "actor/action_sources/interface.h"
#include "actor/lockstep_envs.h"
#include "actor/ratings.h"
#include "envs/episode_statistics.h"
#include "proto/config.pb.h"
#include "proto/parameters.pb.h"
#include "roles/env_server_role.h"
#include "roles/remote_env_serving.h"

namespace rill::roles {

struct EvalOptions {
  // A run folder, a learner's checkpoint folder or one checkpoint.
  std::string checkpoint_dir;
  int episodes = 10;
  // The experiment config file whose env is played; empty: the run's
  // config.textpb found beside the checkpoint.
  std::string config;
  // Seeds the envs (env i: seed + i + 1) and the policy; < 0: the config's
  // seed.
  int64_t seed = -1;
  // Cross-play: a run folder, learner checkpoint folder or checkpoint whose
  // networks the agents named in opponent_agents play. Both empty: none.
  std::string opponent_checkpoint_dir;
  std::vector<std::string> opponent_agents;
  // Remote envs: a running env server (HOST:PORT) in place of the config's
  // env.remote.address and of the server env.remote.command would start.
  std::string env_address;
  // Acts as the actors do in training (SB3's deterministic=False): a
  // discrete policy draws its action from its distribution, a Gaussian
  // one samples, a deterministic one adds its exploration noise; every
  // side of a cross-play or head-to-head game alike. The draws follow
  // `seed`. False: each policy's deterministic action.
  bool sample_actions = false;
  // Ends the play (and the wait for a started env server) early, with
  // Cancelled; may be null.
  const absl::Notification* stop = nullptr;
};

struct EvalReport {
  // One per episode, in env order.
  std::vector<envs::EpisodeRecord> episodes;
  double return_mean = 0;
  // The population standard deviation (numpy's std), as SB3 reports it.
  double return_std = 0;
  double return_min = 0;
  double return_max = 0;
  double length_mean = 0;
  // The version the learner published (or would have) these parameters
  // as: its update count at the checkpoint plus one; 0 when the
  // checkpoint's state does not say.
  int64_t parameter_version = 0;
  std::string env;
  // The checkpoint folder read and the config file used.
  std::string checkpoint;
  std::string config;
  // The env's own figures (a particle task's landmark distance, a game's
  // wins), means over the round's env episodes; empty for most envs.
  std::vector<std::pair<std::string, double>> env_metrics;
  // Cross-play: the opponent's checkpoint read and the agents that played
  // it, as named; both empty otherwise.
  std::string opponent_checkpoint;
  std::vector<std::string> opponent_agents;
  // EvalOptions::sample_actions, as played.
  bool sampled_actions = false;
  // Head to head: the checkpoint's side's games against the opponent's,
  // and the Elo difference they imply over it (actor::EloDifference);
  // unset otherwise. The opponent's version as parameter_version.
  std::optional<actor::WinDrawLoss> head_to_head;
  double elo_difference = 0;
  int64_t opponent_parameter_version = 0;
};

// A checkpoint's deterministic policy, loaded on the actors' own code for
// `num_envs` envs of its run's env: what `rill eval` plays and `rill
// render` draws.
struct CheckpointedPolicy {
  // The checkpoint read, the config file used and its env's name.
  std::string checkpoint;
  std::string config;
  std::string env;
  // As EvalReport's.
  int64_t parameter_version = 0;
  // The checkpoint's policy, as loaded into `source`.
  v1::ParameterSet policy;
  // The env server started from env.remote.command for `envs` (null when
  // none was): declared before them, so that it outlives them.
  std::unique_ptr<EnvServerRole> env_server;
  std::unique_ptr<actor::LockstepEnvs> envs;
  std::unique_ptr<actor::FixedPolicySource> source;
  // A run of several policies (config.policies): every policy's copy, each
  // acting for its agents' rows (actor::SplitSource); `source` is then null,
  // `checkpoint` the run's learner folder, and `policy` and
  // `parameter_version` the first policy's. `policies` names them, in
  // config order.
  std::unique_ptr<actor::ActionSource> team;
  std::vector<std::string> policies;
  // What plays a round: the team, or the one source.
  actor::ActionSource& acting() { return team ? *team : static_cast<actor::ActionSource&>(*source); }
  // The run's config as played (eval.episodes num_envs, remote envs'
  // address filled in) and the envs' base seed.
  v1::ExperimentConfig run_config;
  uint64_t base_seed = 0;
};

// Finds the checkpoint in `checkpoint_dir` (a run folder, a learner's
// checkpoint folder or one checkpoint) and its config (`config_file`, or
// the run's config.textpb found beside it), makes `num_envs` envs seeded
// from `seed` (< 0: the config's) and loads the policy. Remote envs dial
// the server `remote_envs` names or starts (ServeRemoteEnvs). The run
// folder or learner folder of a run of several policies loads every
// policy's newest checkpoint into the team, each playing its agents.
// Errors: NotFound for a folder without a checkpoint or no config found
// (asking for --config); InvalidArgument for a policy that does not fit
// the env (naming both) or num_envs beyond the config's bound on
// eval.episodes ("--episodes=N: ..."); ServeRemoteEnvs's; the config
// loader's, the env's and the checkpoint reader's own.
absl::StatusOr<CheckpointedPolicy> OpenCheckpointedPolicy(const std::string& checkpoint_dir,
                                                          const std::string& config_file, int num_envs,
                                                          int64_t seed, const RemoteEnvServing& remote_envs);

// Plays options.episodes episodes, one per env in lockstep. Errors:
// InvalidArgument for episodes < 1 or a policy that does not fit the
// config's env (the message names both); NotFound for a folder without a
// checkpoint (naming what was looked for) or no config found beside it
// (asking for --config); the config loader's, the env's and the
// checkpoint reader's own. Cross-play adds InvalidArgument naming the flag
// for opponent_agents without opponent_checkpoint_dir or the reverse, an
// agent name the env does not have (listing its agents), one named twice,
// every agent named, a policy of either run that is not per_agent, or an
// opponent's agent whose network differs in shape (TakeAgents,
// policies/per_agent.h); FindCheckpoint's errors for the opponent's folder,
// prefixed "--opponent_checkpoint_dir: ". Head to head adds
// InvalidArgument prefixed "--opponent_checkpoint_dir: " for an opponent
// whose policy does not fit the env, for --opponent_checkpoint_dir alone
// with an env that is no two-player game of shared rows, and
// FailedPrecondition for a recurrent opponent. Cancelled when
// options.stop is notified before every episode has ended.
absl::StatusOr<EvalReport> EvaluateCheckpoint(const EvalOptions& options);

// What `rill eval` prints: a line per episode ("episode 3: return 500.0,
// length 500"), the summary line, for cross-play which agents played the
// opponent, for head to head the won-drawn-lost line, and the JSON object
// as the last line ("opponent_checkpoint" and "opponent_agents" only for
// cross-play and head to head; "wins", "draws", "losses", "score",
// "elo_difference" and "opponent_parameter_version" only for head to
// head).
std::string FormatEvalReport(const EvalReport& report);

// The flags as EvalOptions, EvaluateCheckpoint, FormatEvalReport to stdout;
// Ctrl-C or SIGTERM stops it (and the env server it started). Returns the
// exit code: 0; 2 for a missing flag, a folder without a checkpoint or
// config, a remote env without a server, or a policy that does not fit the
// env (the message says which); 1 for other failures and interruptions.
int EvalMain();

}  // namespace rill::roles

#endif  // RILL_ROLES_EVAL_MAIN_H_
