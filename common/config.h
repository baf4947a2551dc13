// Loading, defaulting and validating the experiment config (a textproto
// rill.v1.ExperimentConfig) that every process reads. Zero fields take the
// defaults documented in proto/config.proto. Table signatures that the config
// leaves empty are derived from the environment's spaces
// (TransitionSignature), so replay, actors and learner always agree.
#ifndef RILL_COMMON_CONFIG_H_
#define RILL_COMMON_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "proto/config.pb.h"
#include "proto/tensor.pb.h"

namespace rill {

// What the rest of the system needs to know of an environment's spaces.
struct EnvSpaces {
  int obs_dim = 0;
  // Continuous: action dimensions. Discrete: number of actions.
  int act_dim = 0;
  bool discrete = false;
};

// The environments Rill ships; NotFound naming the known ones otherwise.
absl::StatusOr<EnvSpaces> LookupEnvSpaces(const std::string& env_name);

// obs [obs_dim] f32, action [act_dim] f32 (continuous, in [-1, 1]) or []
// int64 (discrete), reward [] f32, terminated [] f32, next_obs [obs_dim] f32.
v1::Signature TransitionSignature(const EnvSpaces& spaces);

// Parses the text, fills defaults and validates. InvalidArgument names the
// field (and the line, for a parse error).
absl::StatusOr<v1::ExperimentConfig> ParseExperimentConfig(const std::string& text);

// Reads the file; NotFound if it is missing.
absl::StatusOr<v1::ExperimentConfig> LoadExperimentConfig(const std::string& path);

// Writes the config as text (atomic rename), e.g. next to checkpoints.
absl::Status WriteExperimentConfig(const v1::ExperimentConfig& config, const std::string& path);

// Fills defaults and checks ranges; used by ParseExperimentConfig and after
// command-line overrides.
absl::StatusOr<v1::ExperimentConfig> FinalizeExperimentConfig(v1::ExperimentConfig config);

}  // namespace rill

#endif  // RILL_COMMON_CONFIG_H_
