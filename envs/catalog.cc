#include "envs/catalog.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "envs/env_list.h"
#include "envs/multi_agent/joint.h"
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

// The spec functions of envs/env_list.h's multi-agent envs.
const std::vector<MultiAgentSpec (*)()>& MultiAgentSpecs() {
#define RILL_CATALOG_ENTRY(type, spec) &spec,
  static const std::vector<MultiAgentSpec (*)()>* const kSpecs =
      new std::vector<MultiAgentSpec (*)()>{RILL_MULTI_AGENT_ENV_LIST(RILL_CATALOG_ENTRY)};
#undef RILL_CATALOG_ENTRY
  return *kSpecs;
}

// The spaces of one agent, as a config's text would state them.
std::string AgentSpaces(const EnvSpec& agent) {
  return absl::StrCat("(", absl::StrJoin(agent.observation_shape, ","), ") ",
                      agent.discrete ? absl::StrCat(agent.num_actions, " actions")
                                     : absl::StrCat(agent.action_dim(), "-dim actions"));
}

}  // namespace

absl::StatusOr<MultiAgentSpec> LookupMultiAgentSpec(const std::string& name, int max_episode_steps) {
  for (MultiAgentSpec (*spec)() : MultiAgentSpecs()) {
    MultiAgentSpec found = spec();
    if (found.name != name) continue;
    ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, found.max_episode_steps));
    return WithTimeLimit(std::move(found), steps);
  }
  return absl::NotFoundError(absl::StrCat("'", name, "' is no multi-agent environment"));
}

bool IsMultiAgentEnv(const std::string& name) {
  for (MultiAgentSpec (*spec)() : MultiAgentSpecs()) {
    if (spec().name == name) return true;
  }
  return false;
}

int RowsPerEnv(const v1::EnvConfig& env) {
  if (env.joint_agents() || env.has_plugin() || env.has_remote()) return 1;
  absl::StatusOr<MultiAgentSpec> multi = LookupMultiAgentSpec(env.name());
  return multi.ok() ? multi->num_agents() : 1;
}

absl::StatusOr<EnvSpec> LookupEnvSpec(const std::string& name, int max_episode_steps) {
  for (EnvSpec (*spec)() : Specs()) {
    EnvSpec found = spec();
    if (found.name != name) continue;
    ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, found.max_episode_steps));
    return WithTimeLimit(std::move(found), steps);
  }
  if (IsMultiAgentEnv(name)) {
    ASSIGN_OR_RETURN(const MultiAgentSpec multi, LookupMultiAgentSpec(name, max_episode_steps));
    if (!multi.homogeneous()) {
      std::vector<std::string> agents;
      for (int k = 0; k < multi.num_agents(); ++k) {
        agents.push_back(absl::StrCat(multi.agents[k], " ", AgentSpaces(multi.agent_specs[k])));
      }
      return absl::InvalidArgumentError(absl::StrCat(name, "'s agents differ in their spaces (",
                                                     absl::StrJoin(agents, "; "),
                                                     "), so they cannot all be rows of one policy; "
                                                     "env.joint_agents steps them as one row, as "
                                                     "learner.maddpg does"));
    }
    EnvSpec row = multi.agent_specs[0];
    row.name = name;
    return row;
  }
  return absl::NotFoundError(absl::StrCat("unknown environment '", name, "'; known: ",
                                          absl::StrJoin(KnownEnvNames(), ", ")));
}

absl::StatusOr<EnvSpec> ConfiguredEnvSpec(const v1::EnvConfig& env) {
  ASSIGN_OR_RETURN(const EnvSpec base, ConfiguredBaseEnvSpec(env));
  if (!env.has_plugin() && !env.has_remote() && IsMultiAgentEnv(env.name())) {
    // The wrappers act on one env's frames or steps; an env of agents
    // takes none of them yet.
    const char* field = env.has_pixels()        ? "env.pixels"
                        : env.action_repeat() > 1 ? "env.action_repeat"
                        : env.frame_stack() > 1   ? "env.frame_stack"
                                                  : nullptr;
    if (field != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", env.name(), " is a multi-agent env, which takes no such wrapper"));
    }
  }
  return WrappedSpec(base, env);
}

absl::StatusOr<EnvSpec> ConfiguredBaseEnvSpec(const v1::EnvConfig& env) {
  if (env.joint_agents()) {
    if (!env.has_plugin() && !env.has_remote() && !IsMultiAgentEnv(env.name())) {
      // An unknown name is that first, with the known ones listed.
      RETURN_IF_ERROR(LookupEnvSpec(env.name(), env.max_episode_steps()).status());
    }
    if (env.has_plugin() || env.has_remote() || !IsMultiAgentEnv(env.name())) {
      const std::string what = env.has_plugin()   ? std::string("a plugin's env")
                               : env.has_remote() ? std::string("a remote env")
                                                  : absl::StrCat("'", env.name(), "'");
      return absl::InvalidArgumentError(absl::StrCat("env.joint_agents: ", what, " is not a multi-agent env"));
    }
    ASSIGN_OR_RETURN(const MultiAgentSpec multi, LookupMultiAgentSpec(env.name(), env.max_episode_steps()));
    return JointSpec(multi);
  }
  if (env.has_plugin()) return PluginEnvSpec(env.plugin(), env.max_episode_steps());
  if (!env.has_remote()) return LookupEnvSpec(env.name(), env.max_episode_steps());
  return SpecFromSpaces(env.name().empty() ? "remote" : env.name(), env.remote().observation_space(),
                        env.remote().action_space(), env.max_episode_steps());
}

std::vector<std::string> KnownEnvNames() {
  std::vector<std::string> names;
  for (EnvSpec (*spec)() : Specs()) names.push_back(spec().name);
  for (MultiAgentSpec (*spec)() : MultiAgentSpecs()) names.push_back(spec().name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace rill::envs
