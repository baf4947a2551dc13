// Where `rill export` and `rill eval` find a learner checkpoint from the
// folder a user names with --checkpoint_dir: one checkpoint, a learner's
// checkpoint folder, or a whole run folder (what `rill launch --run_dir`
// makes), and where they find that run's config. One home for the layout
// of a run folder as these commands read it.
//
// Thread-safe free functions (they only read the file system).
#ifndef RILL_ROLES_CHECKPOINT_FOLDER_H_
#define RILL_ROLES_CHECKPOINT_FOLDER_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace rill::roles {

// A run folder's layout: the learner checkpoints into
// RUN/checkpoints/learner, its newest checkpoint in the `latest` folder
// there, and the run's effective config is RUN/config.textpb.
inline constexpr char kRunLearnerCheckpoints[] = "checkpoints/learner";
inline constexpr char kLatestCheckpoint[] = "latest";
inline constexpr char kRunConfigFile[] = "config.textpb";

struct CheckpointLocation {
  // The one checkpoint folder found (it holds policy.pb), spelled from the
  // folder asked for, e.g. "RUN/checkpoints/learner/latest".
  std::string checkpoint;
  // The folder asked for was a run folder: its learner's checkpoint folder
  // was used.
  bool in_run_folder = false;
};

// The checkpoint `dir` names, tried in this order: `dir` itself holds one
// (policy.pb); `dir` is a learner's checkpoint folder (dir/latest); `dir`
// is a run folder (dir/checkpoints/learner/latest). A run of several
// policies is NotFound naming each policy's folder (FindPolicyCheckpoints). InvalidArgument for an
// empty `dir`; NotFound when `dir` does not exist, or when none of these
// holds a checkpoint (the message names every path looked for and where a
// run folder keeps its checkpoints).
absl::StatusOr<CheckpointLocation> FindCheckpoint(const std::string& dir);

// A run of several policies (config.policies): its learner folder
// (RUN/checkpoints/learner) and each policy's newest checkpoint in it
// (<learner folder>/<policy>/latest), by policy name, sorted.
struct PolicyCheckpoints {
  std::string learner_folder;
  std::vector<std::pair<std::string, std::string>> checkpoints;
};

// The policies' checkpoints when `dir` is the run folder or the learner
// folder of a run of several policies (one that holds no checkpoint of its
// own but policy folders that do); nullopt otherwise.
std::optional<PolicyCheckpoints> FindPolicyCheckpoints(const std::string& dir);

// The run's config.textpb: in `checkpoint` or one of its three enclosing
// folders (RUN/checkpoints/learner/latest is three below RUN), no further,
// so that an unrelated config higher up is never taken. nullopt when there
// is none.
std::optional<std::string> FindRunConfig(const std::string& checkpoint);

}  // namespace rill::roles

#endif  // RILL_ROLES_CHECKPOINT_FOLDER_H_
