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
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "actor/action_sources/fixed.h"
#include "actor/evaluator.h"
#include "actor/lockstep_envs.h"
#include "common/blas.h"
#include "common/status_macros.h"
#include "experiment/config.h"
#include "common/json_string.h"
#include "flags/flags.h"
#include "learner/checkpoint.h"
#include "proto/config.pb.h"
#include "proto/parameters.pb.h"
#include "roles/checkpoint_folder.h"
#include "torch/torch.h"

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
  ASSIGN_OR_RETURN(const v1::ParameterSet policy, learner::ReadCheckpointPolicy(location.checkpoint));
  opened.parameter_version = CheckpointParameterVersion(location.checkpoint);

  ASSIGN_OR_RETURN(opened.envs, actor::LockstepEnvs::CreateForEvaluation(config, num_envs, base_seed));
  opened.env = opened.envs->spec().name;
  opened.source = std::make_unique<actor::FixedPolicySource>(opened.envs->spec(), base_seed);
  const absl::Status loaded = opened.source->Load(policy, opened.parameter_version);
  if (!loaded.ok()) return NotFitting(loaded, location.checkpoint, opened.env, opened.config);
  return opened;
}

absl::StatusOr<EvalReport> EvaluateCheckpoint(const EvalOptions& options) {
  if (options.episodes < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--episodes must be at least 1, got ", options.episodes));
  }
  ASSIGN_OR_RETURN(CheckpointedPolicy opened,
                   OpenCheckpointedPolicy(options.checkpoint_dir, options.config, options.episodes, options.seed));
  EvalReport report;
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
  if (!report.env_metrics.empty()) {
    absl::StrAppend(&out, "eval: ", actor::FormatEnvMetrics(report.env_metrics), " (means over env episodes)\n");
  }
  std::string env_metrics;
  for (const auto& [name, value] : report.env_metrics) {
    absl::StrAppendFormat(&env_metrics, "%s%s:%.10g", env_metrics.empty() ? "" : ",", JsonString(name), value);
  }
  absl::StrAppendFormat(&out,
                        "{\"episodes\":%d,\"return_mean\":%.10g,\"return_std\":%.10g,\"return_min\":%.10g,"
                        "\"return_max\":%.10g,\"length_mean\":%.10g,\"parameter_version\":%s,\"env\":%s,"
                        "\"checkpoint\":%s,\"config\":%s%s}\n",
                        report.episodes.size(), report.return_mean, report.return_std, report.return_min,
                        report.return_max, report.length_mean,
                        report.parameter_version > 0 ? absl::StrCat(report.parameter_version) : "null",
                        JsonString(report.env), JsonString(report.checkpoint), JsonString(report.config),
                        report.env_metrics.empty() ? "" : absl::StrCat(",\"env_metrics\":{", env_metrics, "}"));
  return out;
}

int EvalMain() {
  EvalOptions options;
  options.checkpoint_dir = absl::GetFlag(FLAGS_checkpoint_dir);
  // -1 (not given): EvalOptions' default.
  if (absl::GetFlag(FLAGS_episodes) != -1) options.episodes = absl::GetFlag(FLAGS_episodes);
  options.seed = absl::GetFlag(FLAGS_seed);
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
