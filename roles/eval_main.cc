#include "roles/eval_main.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/internal/parse.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "actor/action_sources/fixed.h"
#include "actor/action_sources/row_subset.h"
#include "actor/evaluator.h"
#include "actor/lockstep_envs.h"
#include "actor/opponent_seats.h"
#include "actor/ratings.h"
#include "common/blas.h"
#include "common/status_macros.h"
#include "experiment/config.h"
#include "experiment/policies.h"
#include "common/json_string.h"
#include "common/process.h"
#include "envs/catalog.h"
#include "flags/flags.h"
#include "learner/checkpoint.h"
#include "policies/per_agent.h"
#include "proto/config.pb.h"
#include "proto/parameters.pb.h"
#include "roles/checkpoint_folder.h"
#include "roles/remote_env_serving.h"
#include "torch/torch.h"

ABSL_FLAG(std::string, opponent_checkpoint_dir, "",
          "rill eval: the run folder (its checkpoints/learner or one checkpoint) of the opponent. Cross-play: the "
          "agents named in --opponent_agents play its networks, the others --checkpoint_dir's (both runs "
          "learner.maddpg on the same env). Head to head (a two-player game of one shared policy, e.g. "
          "PongDuel-v0): its policy plays --checkpoint_dir's, seats alternating by env; reports wins, draws, "
          "losses and the Elo difference.");
ABSL_FLAG(std::vector<std::string>, opponent_agents, {},
          "rill eval: the env's agents (comma-separated names, e.g. agent_0 of PredatorPrey-v0) that play "
          "--opponent_checkpoint_dir's networks; head to head: the one seat (e.g. player_1) the opponent plays "
          "in every env instead of alternating.");

ABSL_FLAG(bool, sample_actions, false,
          "rill eval: act as the actors do in training rather than deterministically: a discrete policy draws its "
          "action, a Gaussian one samples, a deterministic one adds its exploration noise (every side of a "
          "cross-play or head-to-head game alike). The draws follow --seed.");

namespace rill::roles {
namespace {

// The learner publishes the policy of update count u as version u + 1
// (learner/learner.cc); its algorithm's checkpointed state holds u as the
// counter "updates" or "<algorithm>.updates". 0 when there is none.
int64_t CheckpointParameterVersion(const std::string& checkpoint) {
  absl::StatusOr<std::map<std::string, torch::Tensor>> state = learner::ReadCheckpointState(checkpoint);
  if (!state.ok()) return 0;
  for (const auto& [name, tensor] : *state) {
    if (name != "updates" && !absl::EndsWith(name, ".updates")) continue;
    try {
      return tensor.item<int64_t>() + 1;
    } catch (const c10::Error&) {
      return 0;  // not a counter after all: say nothing rather than guess
    }
  }
  return 0;
}

// Another config's env, or a policy of another kind or size: the user's to
// fix, so InvalidArgument stays InvalidArgument with both named.
absl::Status NotFitting(const absl::Status& status, const std::string& checkpoint, const std::string& env,
                        const std::string& config) {
  return absl::Status(status.code(), absl::StrCat("the policy in '", checkpoint, "' does not fit ", env,
                                                  " (the env of '", config, "'): ", status.message()));
}

constexpr char kNeedsPerAgent[] =
    "cross-play needs a run whose agents each have their own network (learner.maddpg)";

// --opponent_agents names the agents of a run given as an opponent.
absl::Status CheckOpponentFlags(const EvalOptions& options) {
  if (!options.opponent_agents.empty() && options.opponent_checkpoint_dir.empty()) {
    return absl::InvalidArgumentError(
        "--opponent_agents needs --opponent_checkpoint_dir: the run whose networks those agents play");
  }
  return absl::OkStatus();
}

// `names` as indices into the agents of the multi-agent env `env`, which
// are the per_agent policy's agents in order.
absl::StatusOr<std::vector<int>> OpponentAgentIndices(const std::string& env, const std::vector<std::string>& names) {
  absl::StatusOr<envs::MultiAgentSpec> spec = envs::LookupMultiAgentSpec(env);
  if (!spec.ok()) return absl::InvalidArgumentError(absl::StrCat("--opponent_agents: ", spec.status().message()));
  std::vector<int> indices;
  for (const std::string& name : names) {
    const auto found = std::find(spec->agents.begin(), spec->agents.end(), name);
    if (found == spec->agents.end()) {
      return absl::InvalidArgumentError(absl::StrCat("--opponent_agents: ", env, " has no agent '", name,
                                                     "' (its agents: ", absl::StrJoin(spec->agents, ", "), ")"));
    }
    const int k = static_cast<int>(found - spec->agents.begin());
    if (std::find(indices.begin(), indices.end(), k) != indices.end()) {
      return absl::InvalidArgumentError(absl::StrCat("--opponent_agents names '", name, "' twice"));
    }
    indices.push_back(k);
  }
  if (static_cast<int>(indices.size()) == spec->num_agents()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--opponent_agents names every agent of ", env,
        ": none would play --checkpoint_dir's networks (evaluate the opponent alone with --checkpoint_dir)"));
  }
  return indices;
}

// The per_agent check for one side of cross-play, naming its flag.
absl::Status CheckPerAgent(const v1::ParameterSet& policy, const std::string& flag, const std::string& checkpoint) {
  if (policy.policy().kind() == policies::PerAgentPolicy::kKind) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", kNeedsPerAgent, "; the policy in '", checkpoint,
                                                 "' is kind '", policy.policy().kind(), "'"));
}

// Cross-play: loads into opened.source its policy with options'
// opponent_agents playing the networks of the checkpoint in
// options.opponent_checkpoint_dir; returns that checkpoint.
absl::StatusOr<std::string> LoadOpponent(const EvalOptions& options, CheckpointedPolicy& opened) {
  RETURN_IF_ERROR(CheckPerAgent(opened.policy, "--checkpoint_dir", opened.checkpoint));
  ASSIGN_OR_RETURN(const std::vector<int> agents, OpponentAgentIndices(opened.env, options.opponent_agents));
  absl::StatusOr<CheckpointLocation> found = FindCheckpoint(options.opponent_checkpoint_dir);
  if (!found.ok()) {
    return absl::Status(found.status().code(), absl::StrCat("--opponent_checkpoint_dir: ", found.status().message()));
  }
  const CheckpointLocation& location = *found;
  if (options.opponent_agents.empty()) {
    return absl::InvalidArgumentError(
        "--opponent_checkpoint_dir needs --opponent_agents: the agents that play its networks (e.g. agent_0)");
  }
  ASSIGN_OR_RETURN(const v1::ParameterSet opponent, learner::ReadCheckpointPolicy(location.checkpoint));
  RETURN_IF_ERROR(CheckPerAgent(opponent, "--opponent_checkpoint_dir", location.checkpoint));
  absl::StatusOr<v1::ParameterSet> mixed = policies::TakeAgents(opened.policy, opponent, agents);
  if (!mixed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--opponent_checkpoint_dir: the agents of '", location.checkpoint,
                                                   "' do not fit those of '", opened.checkpoint,
                                                   "' (the base): ", mixed.status().message()));
  }
  const absl::Status loaded = opened.source->Load(*mixed, opened.parameter_version);
  if (!loaded.ok()) return NotFitting(loaded, location.checkpoint, opened.env, opened.config);
  return location.checkpoint;
}

// Whether `opened` is a two-player game of the registry whose players are
// rows of its one shared policy: where head to head applies.
bool IsHeadToHeadGame(const CheckpointedPolicy& opened) {
  const v1::EnvConfig& env = opened.run_config.env();
  if (opened.policy.policy().kind() == policies::PerAgentPolicy::kKind || env.has_remote() || env.has_plugin() ||
      env.joint_agents()) {
    return false;
  }
  absl::StatusOr<envs::MultiAgentSpec> spec = envs::LookupMultiAgentSpec(env.name());
  return spec.ok() && spec->num_agents() == 2 && spec->homogeneous();
}

// Head to head: the opponent's policy and the seats it plays.
struct HeadToHead {
  std::unique_ptr<actor::FixedPolicySource> opponent;
  std::optional<actor::OpponentSeats> seats;
};

// Head to head: replaces opened.envs by envs without scripted agents and
// loads the opponent of options.opponent_checkpoint_dir into seats
// alternating by env, or into the one seat options.opponent_agents names;
// notes the opponent in `report`.
absl::StatusOr<HeadToHead> OpenHeadToHead(const EvalOptions& options, CheckpointedPolicy& opened,
                                          EvalReport* report) {
  absl::StatusOr<CheckpointLocation> found = FindCheckpoint(options.opponent_checkpoint_dir);
  if (!found.ok()) {
    return absl::Status(found.status().code(), absl::StrCat("--opponent_checkpoint_dir: ", found.status().message()));
  }
  std::vector<int> fixed_seat;
  if (!options.opponent_agents.empty()) {
    ASSIGN_OR_RETURN(fixed_seat, OpponentAgentIndices(opened.env, options.opponent_agents));
  }
  const int episodes = opened.run_config.eval().episodes();
  ASSIGN_OR_RETURN(opened.envs, actor::LockstepEnvs::Create(opened.run_config.env(), episodes, opened.base_seed));
  HeadToHead game;
  ASSIGN_OR_RETURN(const v1::ParameterSet policy, learner::ReadCheckpointPolicy(found->checkpoint));
  report->opponent_parameter_version = CheckpointParameterVersion(found->checkpoint);
  game.opponent = std::make_unique<actor::FixedPolicySource>(opened.envs->spec(), opened.base_seed);
  const absl::Status loaded = game.opponent->Load(policy, report->opponent_parameter_version);
  if (!loaded.ok()) {
    const absl::Status named = NotFitting(loaded, found->checkpoint, opened.env, opened.config);
    return absl::Status(named.code(), absl::StrCat("--opponent_checkpoint_dir: ", named.message()));
  }
  ASSIGN_OR_RETURN(game.seats, actor::OpponentSeats::For(*opened.envs, opened.envs->size() / episodes));
  for (int e = 0; e < game.seats->num_envs(); ++e) {
    game.seats->Seat(e, fixed_seat.empty() ? 1 - e % 2 : fixed_seat[0], game.opponent.get());
  }
  report->opponent_checkpoint = found->checkpoint;
  report->opponent_agents = options.opponent_agents;
  return game;
}

// The opponent of options.opponent_checkpoint_dir, if any: head to head
// (returned, with the seats it plays) or cross-play (loaded into
// opened.source); notes it in `report`. EvaluateCheckpoint's opponent
// errors.
absl::StatusOr<std::optional<HeadToHead>> SetUpOpponent(const EvalOptions& options, CheckpointedPolicy& opened,
                                                        EvalReport* report) {
  if (opened.team && !options.opponent_checkpoint_dir.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--opponent_checkpoint_dir: '", options.checkpoint_dir, "' is a run of several policies (",
        absl::StrJoin(opened.policies, ", "), "), which plays as it was trained; name one policy's folder to play "
        "it against an opponent"));
  }
  std::optional<HeadToHead> head_to_head;
  if (!options.opponent_checkpoint_dir.empty() && IsHeadToHeadGame(opened)) {
    ASSIGN_OR_RETURN(head_to_head, OpenHeadToHead(options, opened, report));
  } else if (!options.opponent_checkpoint_dir.empty() && options.opponent_agents.empty() &&
             opened.policy.policy().kind() != policies::PerAgentPolicy::kKind) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--opponent_checkpoint_dir: head to head needs a two-player game whose players share one policy (such as "
        "PongDuel-v0), and ", opened.env, " is none; cross-play (with --opponent_agents) needs learner.maddpg runs"));
  } else if (!options.opponent_checkpoint_dir.empty()) {
    ASSIGN_OR_RETURN(report->opponent_checkpoint, LoadOpponent(options, opened));
    report->opponent_agents = options.opponent_agents;
  }
  return head_to_head;
}

void Summarize(EvalReport* report) {
  const std::vector<envs::EpisodeRecord>& episodes = report->episodes;
  const double n = static_cast<double>(episodes.size());
  report->return_min = episodes[0].episode_return;
  report->return_max = episodes[0].episode_return;
  for (const envs::EpisodeRecord& episode : episodes) {
    report->return_mean += episode.episode_return / n;
    report->length_mean += episode.length / n;
    report->return_min = std::min(report->return_min, episode.episode_return);
    report->return_max = std::max(report->return_max, episode.episode_return);
  }
  double variance = 0;
  for (const envs::EpisodeRecord& episode : episodes) {
    variance += (episode.episode_return - report->return_mean) * (episode.episode_return - report->return_mean) / n;
  }
  report->return_std = std::sqrt(variance);
}

}  // namespace

namespace {

// The run's config in `path`, checked as playing `num_envs` episodes at
// once: an episode per env in lockstep, as the run's evaluator plays
// eval.episodes, so the config's bound on that is this one's
// ("--episodes=N: ...").
absl::StatusOr<v1::ExperimentConfig> LoadForEpisodes(const std::string& path, int num_envs) {
  ASSIGN_OR_RETURN(v1::ExperimentConfig config, experiment::LoadExperimentConfig(path));
  config.mutable_eval()->set_episodes(num_envs);
  absl::StatusOr<v1::ExperimentConfig> bounded = experiment::FinalizeExperimentConfig(config);
  if (!bounded.ok()) {
    return absl::Status(bounded.status().code(),
                        absl::StrCat("--episodes=", num_envs, ": ", bounded.status().message()));
  }
  return config;
}

// `config_file`, or else the run's config found from `path` (a checkpoint
// or a learner folder) up; NotFound saying `where` it was looked for.
absl::StatusOr<std::string> RunConfig(const std::string& path, const std::string& config_file,
                                      const std::string& where) {
  if (!config_file.empty()) return config_file;
  if (std::optional<std::string> found = FindRunConfig(path); found.has_value()) return *found;
  return absl::NotFoundError(
      absl::StrCat("no ", kRunConfigFile, " ", where, "; name the run's config with --config=FILE"));
}

// A run of several policies: its config (`config_file`, or the one its
// learner folder keeps), envs, and every policy's newest checkpoint loaded
// into a copy that acts for that policy's agents' rows.
absl::StatusOr<CheckpointedPolicy> OpenPolicyTeam(const PolicyCheckpoints& found, const std::string& config_file,
                                                  int num_envs, int64_t seed, const RemoteEnvServing& remote_envs) {
  CheckpointedPolicy opened;
  ASSIGN_OR_RETURN(opened.config, RunConfig(found.learner_folder, config_file,
                                            absl::StrCat("in '", found.learner_folder, "' or above it")));
  ASSIGN_OR_RETURN(v1::ExperimentConfig config, LoadForEpisodes(opened.config, num_envs));
  ASSIGN_OR_RETURN(const experiment::PolicyMap map, experiment::ResolvePolicies(config));
  if (!map.several()) {
    return absl::InvalidArgumentError(absl::StrCat("'", found.learner_folder, "' holds policy folders, but ",
                                                   opened.config, " names no policies"));
  }
  ASSIGN_OR_RETURN(opened.env_server, ServeRemoteEnvs(remote_envs, config));
  opened.run_config = config;
  opened.base_seed = seed >= 0 ? static_cast<uint64_t>(seed) : config.seed();
  ASSIGN_OR_RETURN(opened.envs, actor::LockstepEnvs::CreateForEvaluation(config, num_envs, opened.base_seed));
  opened.env = opened.envs->spec().name;
  std::vector<std::unique_ptr<actor::ActionSource>> copies;
  std::vector<int> obs_dims;
  for (int p = 0; p < map.num_policies(); ++p) {
    const std::string& name = map.names[p];
    const auto checkpoint = std::find_if(found.checkpoints.begin(), found.checkpoints.end(),
                                         [&name](const auto& entry) { return entry.first == name; });
    if (checkpoint == found.checkpoints.end()) {
      return absl::NotFoundError(absl::StrCat("policy '", name, "' of ", opened.config, " has no checkpoint in '",
                                              found.learner_folder, "/", name, "' yet"));
    }
    ASSIGN_OR_RETURN(const v1::ParameterSet policy, learner::ReadCheckpointPolicy(checkpoint->second));
    const int64_t version = CheckpointParameterVersion(checkpoint->second);
    ASSIGN_OR_RETURN(const envs::EnvSpec spec, envs::PolicyRowSpec(config.env(), map.agent_policy, p));
    auto copy = std::make_unique<actor::FixedPolicySource>(spec, opened.base_seed + 7919ULL * p);
    const absl::Status loaded = copy->Load(policy, version);
    if (!loaded.ok()) return NotFitting(loaded, checkpoint->second, opened.env, opened.config);
    copies.push_back(std::move(copy));
    obs_dims.push_back(spec.obs_dim());
    opened.policies.push_back(name);
    if (p == 0) {
      opened.policy = policy;
      opened.parameter_version = version;
    }
  }
  opened.team = actor::ActingTogether(std::move(copies), obs_dims, map.agent_policy, opened.envs->size());
  opened.checkpoint = found.learner_folder;
  return opened;
}

}  // namespace

absl::StatusOr<CheckpointedPolicy> OpenCheckpointedPolicy(const std::string& checkpoint_dir,
                                                          const std::string& config_file, int num_envs,
                                                          int64_t seed, const RemoteEnvServing& remote_envs) {
  if (std::optional<PolicyCheckpoints> team = FindPolicyCheckpoints(checkpoint_dir); team.has_value()) {
    return OpenPolicyTeam(*team, config_file, num_envs, seed, remote_envs);
  }
  ASSIGN_OR_RETURN(const CheckpointLocation location, FindCheckpoint(checkpoint_dir));
  CheckpointedPolicy opened;
  opened.checkpoint = location.checkpoint;
  ASSIGN_OR_RETURN(opened.config,
                   RunConfig(location.checkpoint, config_file,
                             absl::StrCat("beside the checkpoint '", location.checkpoint,
                                          "' or in the three folders above it, where a run folder keeps it")));
  ASSIGN_OR_RETURN(v1::ExperimentConfig config, LoadForEpisodes(opened.config, num_envs));
  const uint64_t base_seed = seed >= 0 ? static_cast<uint64_t>(seed) : config.seed();
  ASSIGN_OR_RETURN(opened.policy, learner::ReadCheckpointPolicy(location.checkpoint));
  opened.parameter_version = CheckpointParameterVersion(location.checkpoint);
  ASSIGN_OR_RETURN(opened.env_server, ServeRemoteEnvs(remote_envs, config));
  opened.run_config = config;
  opened.base_seed = base_seed;

  ASSIGN_OR_RETURN(opened.envs, actor::LockstepEnvs::CreateForEvaluation(config, num_envs, base_seed));
  opened.env = opened.envs->spec().name;
  ASSIGN_OR_RETURN(const envs::EnvSpec spec, envs::ConfiguredEnvSpec(config.env()));
  if (spec.obs_dim() != opened.envs->spec().obs_dim()) {
    // One policy of a run whose policies observe differently: it cannot
    // play every agent.
    return absl::InvalidArgumentError(absl::StrCat(
        "'", checkpoint_dir, "' is the policy of ", absl::StrJoin(config.env().row_agents(), ", "),
        " only, whose observations differ from the other agents' of ", opened.env,
        "; evaluate the run's learner folder (the folder above) to play every policy"));
  }
  opened.source = std::make_unique<actor::FixedPolicySource>(opened.envs->spec(), base_seed);
  const absl::Status loaded = opened.source->Load(opened.policy, opened.parameter_version);
  if (!loaded.ok()) return NotFitting(loaded, location.checkpoint, opened.env, opened.config);
  return opened;
}

absl::StatusOr<EvalReport> EvaluateCheckpoint(const EvalOptions& options) {
  if (options.episodes < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--episodes must be at least 1, got ", options.episodes));
  }
  RETURN_IF_ERROR(CheckOpponentFlags(options));
  ASSIGN_OR_RETURN(CheckpointedPolicy opened,
                   OpenCheckpointedPolicy(options.checkpoint_dir, options.config, options.episodes, options.seed,
                                          {options.env_address, /*log_path=*/"", options.stop}));
  EvalReport report;
  ASSIGN_OR_RETURN(std::optional<HeadToHead> head_to_head, SetUpOpponent(options, opened, &report));
  report.checkpoint = opened.checkpoint;
  report.config = opened.config;
  report.parameter_version = opened.parameter_version;
  report.env = opened.env;
  report.sampled_actions = options.sample_actions;

  // The policy's forwards are small: the BLAS's own threads would only
  // compete with the envs (as in the evaluator).
  SetBlasThreads(1);
  const absl::Notification never;
  ASSIGN_OR_RETURN(actor::EvaluationRound round,
                   actor::PlayEvaluationRound(*opened.envs, opened.acting(), options.stop ? *options.stop : never,
                                              /*video=*/nullptr,
                                              head_to_head.has_value() ? &*head_to_head->seats : nullptr,
                                              /*agent_returns=*/nullptr,
                                              /*deterministic=*/!options.sample_actions));
  if (!round.finished) return absl::CancelledError("interrupted before every episode had ended");
  if (head_to_head.has_value()) {
    report.head_to_head = actor::CountOutcomes(round.episodes);
    report.elo_difference = actor::EloDifference(*report.head_to_head);
  }
  report.episodes = std::move(round.episodes);
  report.env_metrics = std::move(round.env_metrics);
  Summarize(&report);
  return report;
}

namespace {

// The report's JSON line, the last of FormatEvalReport's.
std::string EvalReportJson(const EvalReport& report) {
  std::string env_metrics;
  for (const auto& [name, value] : report.env_metrics) {
    absl::StrAppendFormat(&env_metrics, "%s%s:%.10g", env_metrics.empty() ? "" : ",", JsonString(name), value);
  }
  std::string opponent;
  if (!report.opponent_checkpoint.empty()) {
    std::vector<std::string> agents;
    for (const std::string& agent : report.opponent_agents) agents.push_back(JsonString(agent));
    opponent = absl::StrCat(",\"opponent_checkpoint\":", JsonString(report.opponent_checkpoint),
                            ",\"opponent_agents\":[", absl::StrJoin(agents, ","), "]");
  }
  if (report.head_to_head.has_value()) {
    const actor::WinDrawLoss& games = *report.head_to_head;
    absl::StrAppendFormat(&opponent,
                          ",\"opponent_parameter_version\":%s,\"wins\":%d,\"draws\":%d,\"losses\":%d,"
                          "\"score\":%.10g,\"elo_difference\":%.10g",
                          report.opponent_parameter_version > 0 ? absl::StrCat(report.opponent_parameter_version)
                                                                : "null",
                          games.wins, games.draws, games.losses,
                          games.games() > 0 ? games.score() / games.games() : 0.0, report.elo_difference);
  }
  return absl::StrFormat("{\"episodes\":%d,\"return_mean\":%.10g,\"return_std\":%.10g,\"return_min\":%.10g,"
                         "\"return_max\":%.10g,\"length_mean\":%.10g,\"parameter_version\":%s,\"env\":%s,"
                         "\"checkpoint\":%s,\"config\":%s,\"sampled_actions\":%s%s%s}\n",
                         report.episodes.size(), report.return_mean, report.return_std, report.return_min,
                         report.return_max, report.length_mean,
                         report.parameter_version > 0 ? absl::StrCat(report.parameter_version) : "null",
                         JsonString(report.env), JsonString(report.checkpoint), JsonString(report.config),
                         report.sampled_actions ? "true" : "false", opponent,
                         report.env_metrics.empty() ? "" : absl::StrCat(",\"env_metrics\":{", env_metrics, "}"));
}

}  // namespace

std::string FormatEvalReport(const EvalReport& report) {
  std::string out;
  for (size_t i = 0; i < report.episodes.size(); ++i) {
    const envs::EpisodeRecord& episode = report.episodes[i];
    absl::StrAppendFormat(&out, "episode %d: return %.1f, length %d%s\n", i + 1, episode.episode_return,
                          episode.length, episode.terminated ? "" : " (time limit)");
  }
  const std::string version =
      report.parameter_version > 0 ? absl::StrCat("policy version ", report.parameter_version)
                                   : std::string("policy version unknown");
  absl::StrAppendFormat(&out,
                        "eval: %d episodes of %s, mean return %.1f ± %.1f (min %.1f, max %.1f), mean length %.1f, "
                        "%s%s, from %s\n",
                        report.episodes.size(), report.env, report.return_mean, report.return_std, report.return_min,
                        report.return_max, report.length_mean, version,
                        report.sampled_actions ? ", sampled actions" : "", report.checkpoint);
  if (report.head_to_head.has_value()) {
    const actor::WinDrawLoss& games = *report.head_to_head;
    absl::StrAppendFormat(&out,
                          "eval: head to head against %s (%s): won %d, drawn %d, lost %d of %d, score %.3f, Elo "
                          "difference %+.0f\n",
                          report.opponent_checkpoint,
                          report.opponent_agents.empty()
                              ? std::string("seats alternating")
                              : absl::StrCat("it played ", absl::StrJoin(report.opponent_agents, ", ")),
                          games.wins, games.draws, games.losses, games.games(),
                          games.games() > 0 ? games.score() / games.games() : 0.0, report.elo_difference);
  } else if (!report.opponent_agents.empty()) {
    absl::StrAppend(&out, "eval: cross-play: ", absl::StrJoin(report.opponent_agents, ", "), " played ",
                    report.opponent_checkpoint, ", the other agents ", report.checkpoint, "\n");
  }
  if (!report.env_metrics.empty()) {
    absl::StrAppend(&out, "eval: ", actor::FormatEnvMetrics(report.env_metrics), " (means over env episodes)\n");
  }
  absl::StrAppend(&out, EvalReportJson(report));
  return out;
}

int EvalMain() {
  // Ctrl-C ends the play and stops the env server it started.
  absl::Notification& stop = InstallShutdownSignals();
  EvalOptions options;
  options.stop = &stop;
  options.env_address = absl::GetFlag(FLAGS_env_address);
  options.checkpoint_dir = absl::GetFlag(FLAGS_checkpoint_dir);
  // -1 (not given): EvalOptions' default.
  if (absl::GetFlag(FLAGS_episodes) != -1) options.episodes = absl::GetFlag(FLAGS_episodes);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.opponent_checkpoint_dir = absl::GetFlag(FLAGS_opponent_checkpoint_dir);
  options.opponent_agents = absl::GetFlag(FLAGS_opponent_agents);
  options.sample_actions = absl::GetFlag(FLAGS_sample_actions);
  // --config has a default for the roles of a run; eval takes it only when
  // it is given, and otherwise the run's own. (This absl keeps
  // CommandLineFlag::IsSpecifiedOnCommandLine private; the parser's own
  // record is the same answer.)
  if (absl::flags_internal::WasPresentOnCommandLine("config")) options.config = absl::GetFlag(FLAGS_config);
  if (options.checkpoint_dir.empty()) {
    std::fprintf(stderr,
                 "rill eval: --checkpoint_dir is required (a run folder, its checkpoints/learner folder or one "
                 "checkpoint)\n");
    return 2;
  }
  absl::StatusOr<EvalReport> report = EvaluateCheckpoint(options);
  if (!report.ok()) {
    std::fprintf(stderr, "rill eval: %s\n", std::string(report.status().message()).c_str());
    const absl::StatusCode code = report.status().code();
    const bool bad_input = code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kNotFound ||
                           code == absl::StatusCode::kFailedPrecondition;
    return bad_input ? 2 : 1;
  }
  std::fputs(FormatEvalReport(*report).c_str(), stdout);
  return 0;
}

}  // namespace rill::roles
