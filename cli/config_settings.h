// `--set`: config fields given on the command line as dotted paths
// ("learner.sac.actor_lr=1e-3"), merged over a loaded config. `rill launch`
// takes one value per path for its one run; `rill sweep` takes a list per
// path and runs every combination (cli/sweep.h).
//
// Thread-safe: pure functions.
#ifndef RILL_CLI_CONFIG_SETTINGS_H_
#define RILL_CLI_CONFIG_SETTINGS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/config.pb.h"

namespace rill::cli {

// One setting: a dotted config path and its values as text.
struct SweptSetting {
  std::string path;  // "learner.sac.actor_lr"
  std::vector<std::string> values;
};

// "learner.sac.actor_lr=1e-3,3e-4;learner.batch_size=128,256".
// InvalidArgument naming the part that is not PATH=V1[,V2...].
absl::StatusOr<std::vector<SweptSetting>> ParseSettings(const std::string& text);

// `config` with each (path, value) set: the path's last part is a scalar
// field, the others messages ("learner.sac.actor_lr=1e-3" is
// learner { sac { actor_lr: 1e-3 } }), merged over what the config has.
// InvalidArgument naming the setting the config's schema refuses, with the
// closest field's name for a mistyped one.
absl::StatusOr<v1::ExperimentConfig> ApplySettings(const v1::ExperimentConfig& config,
                                                   const std::vector<std::pair<std::string, std::string>>& settings);

// The settings of `rill launch --set=TEXT` (ParseSettings' syntax), each
// (path, its one value). InvalidArgument for a setting of several values
// (a sweep: `rill sweep`). Empty TEXT: none.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> LaunchSettings(const std::string& text);

// LaunchSettings(TEXT) applied to `config`, then the config finalized
// again. InvalidArgument for a setting the schema or the config's rules
// refuse. Empty TEXT: `config` as it is. `rill launch` applies them to the
// config as given instead (experiment::ConfigEdit), so that a setting of
// the env sizes what finalization fills from it.
absl::StatusOr<v1::ExperimentConfig> ApplyLaunchSettings(const v1::ExperimentConfig& config, const std::string& text);

}  // namespace rill::cli

#endif  // RILL_CLI_CONFIG_SETTINGS_H_
