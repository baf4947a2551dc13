#include "cli/deterministic_launch.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/launch_role.h"
#include "cli/run_folder.h"
#include "cli/run_history.h"
#include "common/os.h"
#include "roles/lockstep_run.h"
#include "roles/role.h"

namespace rill::cli {

namespace {

// The summary of a finished lock-step run.
RunSummary Summarize(const roles::LockstepResult& result, const std::string& run_dir, RunIdentity identity,
                     double wall_seconds) {
  RunSummary summary;
  summary.identity = std::move(identity);
  summary.env_steps = static_cast<double>(result.env_steps);
  summary.learner_updates = static_cast<double>(result.learner_updates);
  summary.replay_items_inserted = static_cast<double>(result.items_inserted);
  summary.wall_seconds = wall_seconds;
  summary.eval_return_mean = result.eval_return_mean;
  summary.eval_episodes = result.eval_episodes;
  summary.eval_parameter_version = static_cast<double>(result.eval_parameter_version);
  summary.final_eval = result.final_eval;
  summary.num_actors = 1;
  summary.replay_shards = 1;
  summary.run_dir = run_dir;
  summary.deterministic = true;
  summary.policy_digest = result.policy_digest;
  return summary;
}

}  // namespace

int LaunchDeterministic(const v1::ExperimentConfig& config, const std::string& run_dir, RunIdentity identity,
                        const DeterministicOptions& options, const absl::Notification& stop) {
  const absl::Time start = absl::Now();
  absl::Status described = WriteFileAtomically(run_dir + "/run.json", IdentityJson(identity) + "\n");
  if (!described.ok()) return roles::ExitWith("run folder", described);
  const std::string tables_and_learners =
      config.policies_size() == 0
          ? std::string("its table and the learner")
          : absl::StrCat("the tables and learner states of ", config.policies_size(), " policies");
  std::printf("rill launch --deterministic: %s, one actor (%d envs), %s in this process, "
              "%s env steps, seed %llu; files in %s\n",
              config.env().name().c_str(), config.actor().num_envs(), tables_and_learners.c_str(),
              FormatCount(static_cast<double>(config.max_env_steps())).c_str(),
              static_cast<unsigned long long>(config.seed()), run_dir.c_str());
  std::fflush(stdout);
  RunHistory history;
  roles::LockstepOptions lockstep;
  lockstep.config = config;
  lockstep.run_dir = run_dir;
  lockstep.progress_every = options.progress_every;
  lockstep.on_progress = [&history, start](int64_t env_steps, int64_t updates) {
    const RunHistory::Progress& row = history.AddProgress(absl::Now() - start, env_steps, static_cast<double>(updates));
    std::printf("[%6.1fs] env steps %s (%.0f/s) | updates %s (%.0f/s)\n", row.seconds,
                FormatCount(static_cast<double>(row.env_steps)).c_str(), row.env_steps_per_second,
                FormatCount(row.learner_updates).c_str(), row.updates_per_second);
    std::fflush(stdout);
  };
  absl::StatusOr<roles::LockstepResult> result = roles::RunLockstep(lockstep, stop);
  if (!result.ok()) {
    RefreshRunReport(run_dir);
    std::fprintf(stderr, "rill launch failed: %s\n", std::string(result.status().message()).c_str());
    return absl::IsInvalidArgument(result.status()) ? roles::kExitBadInput : roles::kExitFailure;
  }
  const absl::Time end = absl::Now();
  history.AddProgress(end - start, result->env_steps, static_cast<double>(result->learner_updates));
  if (result->eval_return_mean.has_value()) {
    RunHistory::Evaluation evaluation;
    evaluation.seconds = absl::ToDoubleSeconds(end - start);
    evaluation.env_steps = result->env_steps;
    evaluation.learner_updates = static_cast<double>(result->learner_updates);
    evaluation.parameter_version = static_cast<double>(result->eval_parameter_version);
    evaluation.return_mean = *result->eval_return_mean;
    history.AddEvaluation(evaluation);
  }
  RunSummary summary = Summarize(*result, run_dir, std::move(identity), absl::ToDoubleSeconds(end - start));
  summary.plots = WritePlots(history, run_dir, options.plot_python);
  absl::Status written = WriteRunSummary(summary, run_dir, options.summary_json);
  if (!written.ok()) return roles::ExitWith("summary", written);
  return 0;
}

}  // namespace rill::cli
