#include "cli/run_folder.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/run_report.h"
#include "cli/version.h"
#include "common/logging.h"
#include "common/os.h"
#include "common/status_macros.h"
#include "experiment/config.h"
#include "google/protobuf/util/message_differencer.h"
#include "learner/algorithms/spec.h"
#include "learner/checkpoint.h"

namespace rill::cli {

absl::StatusOr<std::string> ChooseRunDir(const std::string& run_dir, const std::string& resume) {
  if (resume.empty()) return run_dir;
  if (!run_dir.empty() && std::filesystem::weakly_canonical(run_dir) != std::filesystem::weakly_canonical(resume)) {
    return absl::InvalidArgumentError(absl::StrCat("--resume=", resume, " and --run_dir=", run_dir,
                                                   " name two folders: --resume alone continues the run in its "
                                                   "folder"));
  }
  if (!std::filesystem::exists(resume + "/config.textpb")) {
    return absl::NotFoundError(absl::StrCat("no run to resume in '", resume,
                                            "': it has no config.textpb (--resume takes the folder a `rill launch` "
                                            "made, its --run_dir)"));
  }
  return resume;
}

std::string DefaultRunDir(const v1::ExperimentConfig& config) {
  return absl::StrCat(".rill-runs/", config.name().empty() ? "run" : config.name(), "-",
                      absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::LocalTimeZone()));
}

absl::StatusOr<std::optional<RunProgress>> EarlierParts(const v1::ExperimentConfig& config,
                                                        const std::string& run_dir, bool resume, bool deterministic) {
  // A folder that holds a run's progress is that run continued: with
  // --resume, or relaunched into it with the same config.
  std::optional<RunProgress> previous;
  absl::StatusOr<RunProgress> progress = ReadProgress(run_dir + "/progress.json");
  if (progress.ok()) {
    previous = *progress;
  } else if (!absl::IsNotFound(progress.status())) {
    return progress.status();
  } else if (resume) {
    std::printf("no progress.json in %s (its launcher stopped before its first progress line): starting its run "
                "from the beginning\n", run_dir.c_str());
  }
  if (deterministic && (previous.has_value() || std::filesystem::exists(run_dir + "/run.json"))) {
    return absl::InvalidArgumentError(absl::StrCat("'", run_dir, "' holds a run: a deterministic run starts from "
                                                   "scratch in a new --run_dir"));
  }
  if (previous.has_value() && !resume) RETURN_IF_ERROR(CheckSameRun(config, run_dir));
  if (previous.has_value() && config.max_env_steps() > 0 && previous->env_steps >= config.max_env_steps()) {
    return absl::InvalidArgumentError(absl::StrCat("the run in '", run_dir, "' has made ", previous->env_steps,
                                                   " of its ", config.max_env_steps(),
                                                   " env steps: raise --max_env_steps to go on"));
  }
  return previous;
}

absl::Status CheckSameRun(const v1::ExperimentConfig& config, const std::string& run_dir) {
  absl::StatusOr<v1::ExperimentConfig> stored = experiment::LoadExperimentConfig(run_dir + "/config.textpb");
  if (!stored.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("'", run_dir, "' holds a run whose config cannot be read (",
                                                   stored.status().message(), "): choose another --run_dir"));
  }
  v1::ExperimentConfig mine = config;
  for (v1::ExperimentConfig* each : {&mine, &*stored}) {
    each->clear_max_env_steps();
    each->mutable_topology()->clear_num_actors();
  }
  std::string difference;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&difference);
  if (differencer.Compare(*stored, mine)) return absl::OkStatus();
  const std::string first = difference.substr(0, difference.find('\n'));
  return absl::InvalidArgumentError(absl::StrCat(
      "'", run_dir, "' holds a run of another config (", first,
      "): continue that run with --resume=", run_dir, " (its own config), or choose another --run_dir"));
}

std::vector<std::string> LatestLearnerCheckpoints(const v1::ExperimentConfig& config, const std::string& run_dir) {
  const std::string learner = run_dir + "/checkpoints/learner";
  if (config.policies_size() == 0) return {learner + "/latest"};
  std::vector<std::string> latest;
  for (const v1::PolicyConfig& policy : config.policies()) latest.push_back(absl::StrCat(learner, "/", policy.name(), "/latest"));
  return latest;
}

absl::StatusOr<std::string> WriteEffectiveConfig(const v1::ExperimentConfig& config, const std::string& run_dir,
                                                 bool continued) {
  std::error_code error;
  std::filesystem::create_directories(run_dir, error);
  const std::string effective = run_dir + "/config.textpb";
  RETURN_IF_ERROR(experiment::WriteExperimentConfig(config, effective));
  // A learner killed while it swapped its checkpoint in left the one before.
  bool recovered = false;
  for (const std::string& latest : LatestLearnerCheckpoints(config, run_dir)) {
    recovered = continued && learner::RecoverCheckpoint(latest) ? true : recovered;
  }
  if (!recovered) return effective;
  // The run's own config.textpb keeps its setting.
  v1::ExperimentConfig resumed = config;
  resumed.mutable_actor()->set_learning_starts(0);
  const std::string path = run_dir + "/config-resumed.textpb";
  RETURN_IF_ERROR(experiment::WriteExperimentConfig(resumed, path));
  return path;
}

RunIdentity DescribeRun(const v1::ExperimentConfig& config, const std::string& config_file) {
  RunIdentity identity;
  identity.config_name = config.name();
  identity.config_file = config_file;
  identity.env = config.env().name();
  absl::StatusOr<const learner::AlgorithmSpec*> algorithm = learner::FindAlgorithmSpec(config.learner());
  identity.algorithm = algorithm.ok() ? (*algorithm)->name : "";
  identity.seed = config.seed();
  identity.rill_commit = BuildCommit();
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) identity.host = host;
  identity.started_at = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  // The command line as typed, from /proc (the launcher has no argv).
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string arg;
  while (std::getline(in, arg, '\0')) identity.command_line.push_back(arg);
  return identity;
}

void RefreshRunReport(const std::string& run_dir) {
  absl::Status report = WriteRunReport(run_dir);
  if (!report.ok()) RILL_LOG(WARNING) << "the run's report page could not be written: " << report.message();
}

absl::Status WriteRunSummary(RunSummary summary, const std::string& run_dir, const std::string& summary_json) {
  summary.report = ReportPath(run_dir);
  RETURN_IF_ERROR(WriteSummary(summary, summary_json));
  RETURN_IF_ERROR(WriteFileAtomically(run_dir + "/summary.json", SummaryJson(summary) + "\n"));
  RefreshRunReport(run_dir);
  return absl::OkStatus();
}

}  // namespace rill::cli
