#include "roles/envs_main.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "envs/catalog.h"

namespace rill::roles {

std::string DescribeActionSpace(const envs::EnvSpec& spec) {
  if (spec.discrete) return absl::StrCat("Discrete(", spec.num_actions, ")");
  const bool uniform = std::all_of(spec.action_low.begin(), spec.action_low.end(),
                                   [&](float v) { return v == spec.action_low[0]; }) &&
                       std::all_of(spec.action_high.begin(), spec.action_high.end(),
                                   [&](float v) { return v == spec.action_high[0]; });
  if (uniform && !spec.action_low.empty()) {
    return absl::StrCat("Box(", spec.action_low[0], ", ", spec.action_high[0], ", (", spec.action_low.size(), ",))");
  }
  return absl::StrCat("Box([", absl::StrJoin(spec.action_low, ", "), "], [", absl::StrJoin(spec.action_high, ", "),
                      "])");
}

int ListEnvsMain() {
  std::printf("%-26s %-12s %-22s %s\n", "ENV", "OBSERVATION", "ACTIONS", "MAX_EPISODE_STEPS");
  for (const std::string& name : envs::KnownEnvNames()) {
    absl::StatusOr<envs::EnvSpec> spec = envs::LookupEnvSpec(name);
    if (!spec.ok()) {
      std::fprintf(stderr, "rill envs: %s: %s\n", name.c_str(), std::string(spec.status().message()).c_str());
      return 1;
    }
    const std::string shape = absl::StrCat("(", absl::StrJoin(spec->observation_shape, ","), ",)");
    std::printf("%-26s %-12s %-22s %d\n", name.c_str(), shape.c_str(), DescribeActionSpace(*spec).c_str(),
                spec->max_episode_steps);
  }
  return 0;
}

}  // namespace rill::roles
