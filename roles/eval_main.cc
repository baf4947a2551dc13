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
#include "actor/evaluator.h"
#include "actor/lockstep_envs.h"
#include "common/blas.h"
#include "common/status_macros.h"
#include "experiment/config.h"
#include "common/json_string.h"
#include "envs/catalog.h"
#include "flags/flags.h"
#include "learner/checkpoint.h"
#include "policies/per_agent.h"
#include "proto/config.pb.h"
#include "proto/parameters.pb.h"
#include "roles/checkpoint_folder.h"
#include "torch/torch.h"

ABSL_FLAG(std::string, opponent_checkpoint_dir, "",
          "rill eval: cross-play: the run folder (its checkpoints/learner or one checkpoint) whose networks the "
          "agents named in --opponent_agents play, the others playing --checkpoint_dir's. Both runs learner.maddpg "
          "on the same env.");
ABSL_FLAG(std::vector<std::string>, opponent_agents, {},
          "rill eval: cross-play: the env's agents (comma-separated names, e.g. agent_0 of PredatorPrey-v0) that "
          "play --opponent_checkpoint_dir's networks.");

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

// Cross-play's flags come together.
absl::Status CheckCrossPlayFlags(const EvalOptions& options) {
  if (!options.opponent_agents.empty() && options.opponent_checkpoint_dir.empty()) {
    return absl::InvalidArgumentError(
        "--opponent_agents needs --opponent_checkpoint_dir: the run whose networks those agents play");
  }
  if (options.opponent_agents.empty() && !options.opponent_checkpoint_dir.empty()) {
    return absl::InvalidArgumentError(
        "--opponent_checkpoint_dir needs --opponent_agents: the agents that play its networks (e.g. agent_0)");
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

absl::StatusOr<CheckpointedPolicy> OpenCheckpointedPolicy(const std::string& checkpoint_dir,
                                                          const std::string& config_file, int num_envs,
                                                          int64_t seed) {
  ASSIGN_OR_RETURN(const CheckpointLocation location, FindCheckpoint(checkpoint_dir));
  CheckpointedPolicy opened;
  opened.checkpoint = location.checkpoint;
  if (!config_file.empty()) {
    opened.config = config_file;
  } else if (std::optional<std::string> found = FindRunConfig(location.checkpoint); found.has_value()) {
    opened.config = *found;
  } else {
    return absl::NotFoundError(absl::StrCat("no ", kRunConfigFile, " beside the checkpoint '", location.checkpoint,
                                            "' or in the three folders above it, where a run folder keeps it; name "
                                            "the run's config with --config=FILE"));
  }
  ASSIGN_OR_RETURN(v1::ExperimentConfig config, experiment::LoadExperimentConfig(opened.config));
  // An episode per env in lockstep, as the run's evaluator plays
  // eval.episodes: the config's bound on that is this one's.
  config.mutable_eval()->set_episodes(num_envs);
  absl::StatusOr<v1::ExperimentConfig> bounded = experiment::FinalizeExperimentConfig(config);
  if (!bounded.ok()) {
    return absl::Status(bounded.status().code(),
                        absl::StrCat("--episodes=", num_envs, ": ", bounded.status().message()));
  }
  const uint64_t base_seed = seed >= 0 ? static_cast<uint64_t>(seed) : config.seed();
  ASSIGN_OR_RETURN(opened.policy, learner::ReadCheckpointPolicy(location.checkpoint));
  opened.parameter_version = CheckpointParameterVersion(location.checkpoint);

  ASSIGN_OR_RETURN(opened.envs, actor::LockstepEnvs::CreateForEvaluation(config, num_envs, base_seed));
  opened.env = opened.envs->spec().name;
  opened.source = std::make_unique<actor::FixedPolicySource>(opened.envs->spec(), base_seed);
  const absl::Status loaded = opened.source->Load(opened.policy, opened.parameter_version);
  if (!loaded.ok()) return NotFitting(loaded, location.checkpoint, opened.env, opened.config);
  return opened;
}

absl::StatusOr<EvalReport> EvaluateCheckpoint(const EvalOptions& options) {
  if (options.episodes < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--episodes must be at least 1, got ", options.episodes));
  }
  RETURN_IF_ERROR(CheckCrossPlayFlags(options));
  ASSIGN_OR_RETURN(CheckpointedPolicy opened,
                   OpenCheckpointedPolicy(options.checkpoint_dir, options.config, options.episodes, options.seed));
  EvalReport report;
  if (!options.opponent_agents.empty()) {
    ASSIGN_OR_RETURN(report.opponent_checkpoint, LoadOpponent(options, opened));
    report.opponent_agents = options.opponent_agents;
  }
  report.checkpoint = opened.checkpoint;
  report.config = opened.config;
  report.parameter_version = opened.parameter_version;
  report.env = opened.env;

  // The policy's forwards are small: the BLAS's own threads would only
  // compete with the envs (as in the evaluator).
  SetBlasThreads(1);
  // Nothing stops a round early: Ctrl-C ends the process.
  const absl::Notification never;
  ASSIGN_OR_RETURN(actor::EvaluationRound round, actor::PlayEvaluationRound(*opened.envs, *opened.source, never));
  report.episodes = std::move(round.episodes);
  report.env_metrics = std::move(round.env_metrics);
  Summarize(&report);
  return report;
}

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
                        "%s, from %s\n",
                        report.episodes.size(), report.env, report.return_mean, report.return_std, report.return_min,
                        report.return_max, report.length_mean, version, report.checkpoint);
  if (!report.opponent_agents.empty()) {
    absl::StrAppend(&out, "eval: cross-play: ", absl::StrJoin(report.opponent_agents, ", "), " played ",
                    report.opponent_checkpoint, ", the other agents ", report.checkpoint, "\n");
  }
  if (!report.env_metrics.empty()) {
    absl::StrAppend(&out, "eval: ", actor::FormatEnvMetrics(report.env_metrics), " (means over env episodes)\n");
  }
  std::string env_metrics;
  for (const auto& [name, value] : report.env_metrics) {
    absl::StrAppendFormat(&env_metrics, "%s%s:%.10g", env_metrics.empty() ? "" : ",", JsonString(name), value);
  }
  std::string opponent;
  if (!report.opponent_agents.empty()) {
    std::vector<std::string> agents;
    for (const std::string& agent : report.opponent_agents) agents.push_back(JsonString(agent));
    opponent = absl::StrCat(",\"opponent_checkpoint\":", JsonString(report.opponent_checkpoint),
                            ",\"opponent_agents\":[", absl::StrJoin(agents, ","), "]");
  }
  absl::StrAppendFormat(&out,
                        "{\"episodes\":%d,\"return_mean\":%.10g,\"return_std\":%.10g,\"return_min\":%.10g,"
                        "\"return_max\":%.10g,\"length_mean\":%.10g,\"parameter_version\":%s,\"env\":%s,"
                        "\"checkpoint\":%s,\"config\":%s%s%s}\n",
                        report.episodes.size(), report.return_mean, report.return_std, report.return_min,
                        report.return_max, report.length_mean,
                        report.parameter_version > 0 ? absl::StrCat(report.parameter_version) : "null",
                        JsonString(report.env), JsonString(report.checkpoint), JsonString(report.config), opponent,
                        report.env_metrics.empty() ? "" : absl::StrCat(",\"env_metrics\":{", env_metrics, "}"));
  return out;
}

int EvalMain() {
  EvalOptions options;
  options.checkpoint_dir = absl::GetFlag(FLAGS_checkpoint_dir);
  // -1 (not given): EvalOptions' default.
  if (absl::GetFlag(FLAGS_episodes) != -1) options.episodes = absl::GetFlag(FLAGS_episodes);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.opponent_checkpoint_dir = absl::GetFlag(FLAGS_opponent_checkpoint_dir);
  options.opponent_agents = absl::GetFlag(FLAGS_opponent_agents);
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
