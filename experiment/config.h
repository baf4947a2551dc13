// Loading, defaulting and validating the experiment config (a textproto
// rill.v1.ExperimentConfig) that every process reads. Zero fields take the
// defaults documented in proto/config.proto. The environment's spaces come
// from the env registry (envs/registry.h), the learner section's rules
// from the algorithm specs (learner/algorithms/spec.h), and table signatures
// that the config leaves empty from the item builder
// (items/transition.h), so replay, actors and learner always agree and
// no rule is written twice.
#ifndef RILL_EXPERIMENT_CONFIG_H_
#define RILL_EXPERIMENT_CONFIG_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/config.pb.h"
#include "proto/tensor.pb.h"

namespace rill::experiment {

// Fills in the spaces of a remote env whose config leaves them out, by
// asking the env (roles/env_spaces.h); its errors name the field.
using EnvSpacesSource = std::function<absl::Status(v1::EnvConfig& env)>;

// Whether `env` is served (env.remote) and its config states neither its
// spaces nor its agents: what an EnvSpacesSource fills.
bool LacksRemoteSpaces(const v1::EnvConfig& env);

// A change to a config as its text gives it, before finalization fills
// anything from it (`rill launch --set`, a sweep's settings): a change of
// env then sizes the replay signature, the networks and the algorithm's
// defaults as if the text had said it.
using ConfigEdit = std::function<absl::Status(v1::ExperimentConfig& given)>;

// Parses the text, fills defaults and validates. InvalidArgument names the
// field (and the line, for a parse error). With `edit`, the config as
// given is changed first. With `ask`, a remote env's spaces that the text
// leaves out come from it before the config is finalized; without, they
// are required.
absl::StatusOr<v1::ExperimentConfig> ParseExperimentConfig(const std::string& text,
                                                           const EnvSpacesSource& ask = nullptr,
                                                           const ConfigEdit& edit = nullptr);

// Reads the file (then as ParseExperimentConfig); NotFound if it is missing.
absl::StatusOr<v1::ExperimentConfig> LoadExperimentConfig(const std::string& path,
                                                          const EnvSpacesSource& ask = nullptr,
                                                          const ConfigEdit& edit = nullptr);

// Writes the config as text (atomic rename), e.g. next to checkpoints.
absl::Status WriteExperimentConfig(const v1::ExperimentConfig& config, const std::string& path);

// Fills defaults and checks ranges; used by ParseExperimentConfig and after
// command-line overrides. Every value that sizes memory, threads, processes
// or a wait is bounded (by what a message, a sample or an item key can hold,
// and by this machine's memory), so that a config no role could run is
// refused here, naming its field, instead of crashing or hanging the run.
absl::StatusOr<v1::ExperimentConfig> FinalizeExperimentConfig(v1::ExperimentConfig config);

// The update-to-data ratio an off-policy run of a finalized config holds
// to: learner.updates_per_env_step where stated (or defaulted with the
// first table's limiter), else what that table's own rate limiter states
// (samples_per_insert / batch_size); none for an algorithm of unrolls or a
// table that bounds its sampling otherwise.
std::optional<double> UpdatesPerEnvStep(const v1::ExperimentConfig& config);

}  // namespace rill::experiment

#endif  // RILL_EXPERIMENT_CONFIG_H_
