// What every role's entry point (replay, learner, actor) does first: log
// role, shutdown signals, the config from --config (with --seed applied),
// and the metrics exposer from --host/--metrics_port. Exit codes are shared:
// kExitBadInput for a bad flag or config, kExitFailure for a runtime error.
#ifndef RILL_ROLES_ROLE_H_
#define RILL_ROLES_ROLE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/metrics.h"
#include "common/scalar_log.h"
#include "experiment/config.h"
#include "proto/config.pb.h"

namespace rill::roles {

inline constexpr int kExitBadInput = 2;
inline constexpr int kExitFailure = 1;

// Loads and finalizes the config named by --config; --seed >= 0 overrides.
// With `ask`, a remote env's spaces that the config leaves out come from it
// (`rill launch` passes roles/env_spaces.h's; a role reads the run folder's
// config, which has them). With `edit`, the config as given is changed
// before it is finalized (`rill launch --set`).
absl::StatusOr<v1::ExperimentConfig> LoadConfigFromFlags(const experiment::EnvSpacesSource& ask = nullptr,
                                                         const experiment::ConfigEdit& edit = nullptr);

// The exposer on --host:--metrics_port, or null when --metrics_port is -1.
absl::StatusOr<std::unique_ptr<MetricsServer>> StartMetricsFromFlags();

// The scalar log --scalars_file names (common/scalar_log.h), open for
// appending; null without the flag. PermissionDenied when it cannot be
// opened.
absl::StatusOr<std::unique_ptr<ScalarLog>> OpenScalarLogFromFlags();

// Logs `status` with `what` and returns the exit code for it.
int ExitWith(const std::string& what, const absl::Status& status);

}  // namespace rill::roles

#endif  // RILL_ROLES_ROLE_H_
