// Learner checkpoints on disk: one folder per checkpoint holding
//   state.pt    every tensor of the algorithm's TrainingState (a LibTorch
//               archive, CPU tensors by name), and
//   policy.pb   the exported policy (a ParameterSet with its PolicySpec),
//               which `rill export` turns into TorchScript without knowing
//               the algorithm, and
//   pool.pb     self-play's opponent pool, in a run that has one.
// The same format for every algorithm. Writing is atomic: the folder is
// written under a temporary name, then swapped in by rename, so a crash
// leaves either the old checkpoint or the new one, never half of one.
//
// Thread-compatible free functions.
#ifndef RILL_LEARNER_CHECKPOINT_H_
#define RILL_LEARNER_CHECKPOINT_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/torch_types.h"
#include "proto/parameters.pb.h"

namespace rill::learner {

inline constexpr char kCheckpointStateFile[] = "state.pt";
inline constexpr char kCheckpointPolicyFile[] = "policy.pb";
// Self-play's opponent pool (a v1::ParameterPool), when the run has one.
inline constexpr char kCheckpointPoolFile[] = "pool.pb";

// Writes `tensors` and `policy` to the folder `dir`, with `files` (name,
// bytes) beside them (self-play's pool.pb), replacing an older checkpoint
// there atomically. InvalidArgument for an empty folder name,
// PermissionDenied when the folder cannot be created, Internal on I/O errors.
absl::Status WriteCheckpoint(const std::string& dir,
                             const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                             const v1::ParameterSet& policy,
                             const std::vector<std::pair<std::string, std::string>>& files = {});

// The bytes of file `name` that WriteCheckpoint put beside the state in
// `dir`. NotFound when the checkpoint has none, DataLoss when it cannot be
// read.
absl::StatusOr<std::string> ReadCheckpointFile(const std::string& dir, const std::string& name);

// Reads the tensors of the checkpoint in `dir`. NotFound when there is none,
// DataLoss when the file cannot be read.
absl::StatusOr<std::map<std::string, torch::Tensor>> ReadCheckpointState(const std::string& dir);

// WriteCheckpoint swaps the new checkpoint in with two renames; a process
// killed between them leaves no `dir`, only its complete predecessor at
// `dir`.previous. This puts that one back. True when `dir` holds a
// checkpoint folder afterwards (already, or restored).
bool RecoverCheckpoint(const std::string& dir);

// Reads the exported policy of the checkpoint in `dir`. NotFound when there
// is none, DataLoss when it cannot be parsed.
absl::StatusOr<v1::ParameterSet> ReadCheckpointPolicy(const std::string& dir);

}  // namespace rill::learner

#endif  // RILL_LEARNER_CHECKPOINT_H_
