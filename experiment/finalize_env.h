// The env section of the experiment config, the first one finalized
// (experiment/config.h): every other section is checked against the spec
// it returns.
//
// Thread-safe: a pure function (a plugin env's library is opened to read
// its spaces).
#ifndef RILL_EXPERIMENT_FINALIZE_ENV_H_
#define RILL_EXPERIMENT_FINALIZE_ENV_H_

#include "absl/status/statusor.h"
#include "envs/spec.h"
#include "proto/config.pb.h"

namespace rill::experiment {

// Checks that the section names one env (by name, remote or plugin) with
// what each kind needs, fills its defaults (a remote or plugin env's name,
// a remote env's reconnect_seconds) and returns the spec every process
// derives from it (envs::ConfiguredEnvSpec: the base env's spaces through
// the section's wrappers). InvalidArgument (or the catalogue's code)
// naming the field.
absl::StatusOr<envs::EnvSpec> FinalizeEnv(v1::EnvConfig& env_config);

}  // namespace rill::experiment

#endif  // RILL_EXPERIMENT_FINALIZE_ENV_H_
