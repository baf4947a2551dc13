#include "envs/catalog.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "envs/env_list.h"
#include "envs/plugin/plugin_envs.h"
#include "envs/remote/spaces.h"
#include "envs/time_limit.h"
#include "envs/wrappers.h"

namespace rill::envs {
namespace {

// The spec functions of envs/env_list.h.
const std::vector<EnvSpec (*)()>& Specs() {
#define RILL_CATALOG_ENTRY(type, spec) &spec,
  static const std::vector<EnvSpec (*)()>* const kSpecs =
      new std::vector<EnvSpec (*)()>{RILL_ENV_LIST(RILL_CATALOG_ENTRY)};
#undef RILL_CATALOG_ENTRY
  return *kSpecs;
}

}  // namespace

absl::StatusOr<EnvSpec> LookupEnvSpec(const std::string& name, int max_episode_steps) {
  for (EnvSpec (*spec)() : Specs()) {
    EnvSpec found = spec();
    if (found.name != name) continue;
    ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, found.max_episode_steps));
    return WithTimeLimit(std::move(found), steps);
  }
  return absl::NotFoundError(absl::StrCat("unknown environment '", name, "'; known: ",
                                          absl::StrJoin(KnownEnvNames(), ", ")));
}

absl::StatusOr<EnvSpec> ConfiguredEnvSpec(const v1::EnvConfig& env) {
  ASSIGN_OR_RETURN(const EnvSpec base, ConfiguredBaseEnvSpec(env));
  return WrappedSpec(base, env);
}

absl::StatusOr<EnvSpec> ConfiguredBaseEnvSpec(const v1::EnvConfig& env) {
  if (env.has_plugin()) return PluginEnvSpec(env.plugin(), env.max_episode_steps());
  if (!env.has_remote()) return LookupEnvSpec(env.name(), env.max_episode_steps());
  return SpecFromSpaces(env.name().empty() ? "remote" : env.name(), env.remote().observation_space(),
                        env.remote().action_space(), env.max_episode_steps());
}

std::vector<std::string> KnownEnvNames() {
  std::vector<std::string> names;
  for (EnvSpec (*spec)() : Specs()) names.push_back(spec().name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace rill::envs
