// `rill sweep`: a grid of runs and their comparison. Every combination of
// the --set values runs once per seed of --seeds, each as a normal `rill
// launch` with its own run folder under --sweep_dir (as many at once as the
// cores allow, --parallel); then the sweep writes comparison.csv (one row
// per run: setting, seed, final and best evaluation, wall, env steps/s),
// comparison.md (per setting the mean and spread over seeds, then every
// run) and return_by_env_steps.png (per setting the mean evaluation curve
// with its spread), and prints the per-setting table. With
// --cross_play_agents it then sets the settings' runs against each other
// (cli/cross_play.h).
#ifndef RILL_CLI_SWEEP_H_
#define RILL_CLI_SWEEP_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/config_settings.h"
#include "proto/config.pb.h"

namespace rill::cli {

// "1-5" (a range), "1,3,7" (a list) or both ("1-3,10"). InvalidArgument
// naming the bad part; at most 1,000 seeds.
absl::StatusOr<std::vector<int64_t>> ParseSeeds(const std::string& text);

// Every combination of the settings' values, each as (path, value) pairs
// in the settings' order; one empty combination when there are none.
std::vector<std::vector<std::pair<std::string, std::string>>> Grid(const std::vector<SweptSetting>& settings);

// A folder name for a combination: "actor_lr=0.001,batch_size=128" (the
// paths' last parts), "default" for none.
std::string CombinationName(const std::vector<std::pair<std::string, std::string>>& combination);

int SweepMain();

}  // namespace rill::cli

#endif  // RILL_CLI_SWEEP_H_
