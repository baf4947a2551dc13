#include "roles/checkpoint_folder.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "learner/checkpoint.h"

namespace rill::roles {
namespace {

namespace fs = std::filesystem;

bool HoldsCheckpoint(const fs::path& folder) {
  std::error_code error;
  return fs::is_regular_file(folder / learner::kCheckpointPolicyFile, error);
}

}  // namespace

absl::StatusOr<CheckpointLocation> FindCheckpoint(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("--checkpoint_dir is empty");
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    const bool exists = fs::exists(dir, error);
    return absl::NotFoundError(absl::StrCat("'", dir, "' ", exists ? "is not a folder" : "does not exist",
                                            "; give a run folder, its ", kRunLearnerCheckpoints,
                                            " folder or one checkpoint folder"));
  }
  const fs::path asked(dir);
  const fs::path learner_folder = asked / kLatestCheckpoint;
  const fs::path run_folder = asked / kRunLearnerCheckpoints / kLatestCheckpoint;
  // A learner killed while swapping its checkpoint in left the one before.
  for (const fs::path& latest : {learner_folder, run_folder}) learner::RecoverCheckpoint(latest.string());
  if (HoldsCheckpoint(asked)) return CheckpointLocation{asked.string(), false};
  if (HoldsCheckpoint(learner_folder)) return CheckpointLocation{learner_folder.string(), false};
  if (HoldsCheckpoint(run_folder)) return CheckpointLocation{run_folder.string(), true};
  // A run of several policies (config.policies) keeps one learner folder
  // per policy: the caller names one.
  if (std::optional<PolicyCheckpoints> policies = FindPolicyCheckpoints(dir); policies.has_value()) {
    std::vector<std::string> folders;
    for (const auto& [name, checkpoint] : policies->checkpoints) {
      folders.push_back((fs::path(policies->learner_folder) / name).string());
    }
    return absl::NotFoundError(absl::StrCat("'", dir, "' holds a run of several policies, a learner folder each: ",
                                            "name one of ", absl::StrJoin(folders, ", ")));
  }
  std::vector<std::string> looked_for;
  for (const fs::path& folder : {asked, learner_folder, run_folder}) {
    looked_for.push_back((folder / learner::kCheckpointPolicyFile).string());
  }
  return absl::NotFoundError(absl::StrCat(
      "no checkpoint in '", dir, "': looked for ", absl::StrJoin(looked_for, ", "),
      ". A run folder (rill launch --run_dir) keeps its learner's checkpoints in ", kRunLearnerCheckpoints,
      " inside it; the learner writes its first one after its first checkpoint interval"));
}

std::optional<PolicyCheckpoints> FindPolicyCheckpoints(const std::string& dir) {
  std::error_code error;
  const fs::path asked(dir);
  for (const fs::path& learner : {asked, asked / kRunLearnerCheckpoints}) {
    if (!fs::is_directory(learner, error) || HoldsCheckpoint(learner / kLatestCheckpoint)) continue;
    PolicyCheckpoints found;
    found.learner_folder = learner.string();
    for (const fs::directory_entry& entry : fs::directory_iterator(learner, error)) {
      const fs::path latest = entry.path() / kLatestCheckpoint;
      learner::RecoverCheckpoint(latest.string());
      if (HoldsCheckpoint(latest)) found.checkpoints.emplace_back(entry.path().filename().string(), latest.string());
    }
    if (found.checkpoints.empty()) continue;
    std::sort(found.checkpoints.begin(), found.checkpoints.end());
    return found;
  }
  return std::nullopt;
}

std::optional<std::string> FindRunConfig(const std::string& checkpoint) {
  std::error_code error;
  fs::path folder = fs::absolute(fs::path(checkpoint), error).lexically_normal();
  if (error) return std::nullopt;
  if (!folder.has_filename()) folder = folder.parent_path();  // "a/b/" -> "a/b"
  for (int up = 0; up <= 3; ++up) {
    const fs::path config = folder / kRunConfigFile;
    if (fs::is_regular_file(config, error)) return config.string();
    if (!folder.has_parent_path() || folder.parent_path() == folder) break;
    folder = folder.parent_path();
  }
  return std::nullopt;
}

}  // namespace rill::roles
