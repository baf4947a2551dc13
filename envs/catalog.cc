#include "envs/catalog.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/spelling.h"
#include "common/status_macros.h"
#include "envs/action_mask.h"
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

// The spec of one agent row of `multi`, named as the env, with its env's
// state: the spec of `row_agents` (env.row_agents: one policy's agents,
// which must share their spaces) when given; else every agent's, which
// must share their action space, observations of different sizes
// zero-padded to the widest (flat float32 only). InvalidArgument naming
// the agents otherwise.
absl::StatusOr<EnvSpec> AgentRowSpec(const MultiAgentSpec& multi, const std::vector<std::string>& row_agents = {}) {
  const auto described = [&multi](int k) { return absl::StrCat(multi.agents[k], " ", AgentSpaces(multi.agent_specs[k])); };
  std::vector<int> chosen;
  for (const std::string& name : row_agents) {
    const auto found = std::find(multi.agents.begin(), multi.agents.end(), name);
    if (found == multi.agents.end()) {
      return absl::InvalidArgumentError(absl::StrCat("env.row_agents: ", multi.name, " has no agent '", name,
                                                     "'; its agents: ", absl::StrJoin(multi.agents, ", ")));
    }
    chosen.push_back(static_cast<int>(found - multi.agents.begin()));
  }
  for (int k : chosen) {
    if (!MultiAgentSpec::SameSpaces(multi.agent_specs[k], multi.agent_specs[chosen[0]])) {
      return absl::InvalidArgumentError(absl::StrCat("env.row_agents: ", described(chosen[0]), " and ", described(k),
                                                     " differ in their spaces, so they cannot be rows of one policy"));
    }
  }
  const auto row_of = [&multi](EnvSpec row) {
    row.name = multi.name;
    row.state_dim = multi.state_dim();  // each row carries its env's state
    return row;
  };
  if (!chosen.empty()) return row_of(multi.agent_specs[chosen[0]]);
  if (multi.homogeneous()) return row_of(multi.agent_specs[0]);
  // Agents that act alike and observe flat vectors of different sizes
  // share rows zero-padded to the widest (what PettingZoo users pad by
  // hand for parameter sharing).
  bool paddable = true;
  EnvSpec widest = multi.agent_specs[0];
  for (const EnvSpec& agent : multi.agent_specs) {
    // A mask must end its row: padding would follow it.
    paddable = paddable && MultiAgentSpec::SameActions(agent, multi.agent_specs[0]) &&
               agent.observation_shape.size() == 1 && !agent.uint8_observations() && !agent.action_mask;
    if (agent.obs_dim() > widest.obs_dim()) widest = agent;
  }
  if (!paddable) {
    std::vector<std::string> agents;
    for (int k = 0; k < multi.num_agents(); ++k) agents.push_back(described(k));
    return absl::InvalidArgumentError(absl::StrCat(multi.name, "'s agents differ in their spaces (",
                                                   absl::StrJoin(agents, "; "),
                                                   "), so they cannot all be rows of one batch: rows share one "
                                                   "action space and flat observations; env.joint_agents steps "
                                                   "them as one row, as learner.maddpg does"));
  }
  return row_of(widest);
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

bool IsMultiAgentSection(const v1::EnvConfig& env) {
  if (env.has_plugin()) return IsPluginMultiAgentEnv(env.plugin());
  if (env.has_remote()) return env.remote().agents_size() > 0;
  return IsMultiAgentEnv(env.name());
}

absl::StatusOr<MultiAgentSpec> ConfiguredMultiAgentSpec(const v1::EnvConfig& env) {
  if (!IsMultiAgentSection(env)) {
    return absl::NotFoundError(absl::StrCat("env section names no multi-agent env ('", env.name(), "'",
                                            env.has_remote() ? ", a remote env without env.remote.agents" : "", ")"));
  }
  if (env.has_plugin()) return PluginMultiAgentSpec(env.plugin(), env.max_episode_steps());
  if (!env.has_remote()) return LookupMultiAgentSpec(env.name(), env.max_episode_steps());
  MultiAgentSpec multi;
  multi.name = env.name().empty() ? "remote" : env.name();
  multi.max_episode_steps = env.max_episode_steps();
  for (int k = 0; k < env.remote().agents_size(); ++k) {
    const v1::AgentSpaces& agent = env.remote().agents(k);
    const std::string path = absl::StrCat("env.remote.agents[", k, "]");
    const std::string field = absl::StrCat(path, " (", agent.name(), ")");
    absl::StatusOr<EnvSpec> spec = SpecFromSpaces(multi.name, agent.observation_space(), agent.action_space(),
                                                  env.max_episode_steps(), SpaceSource::Config(path));
    if (!spec.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(spec.status().message(), " (agent ", agent.name(), ")"));
    }
    if (spec->uint8_observations()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": a multi-agent env's observations are float32"));
    }
    spec->action_mask = agent.action_mask();
    if (absl::Status mask = CheckActionMaskSpec(*spec); !mask.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".action_mask: ", mask.message()));
    }
    if (agent.name().empty() || std::find(multi.agents.begin(), multi.agents.end(), agent.name()) != multi.agents.end()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": agents need distinct, non-empty names"));
    }
    multi.agents.push_back(agent.name());
    multi.agent_specs.push_back(*std::move(spec));
  }
  multi.state_shape.assign(env.remote().state_shape().begin(), env.remote().state_shape().end());
  return multi;
}

int RowsPerEnv(const v1::EnvConfig& env) {
  if (env.joint_agents() || !IsMultiAgentSection(env)) return 1;
  absl::StatusOr<MultiAgentSpec> multi = ConfiguredMultiAgentSpec(env);
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
    return AgentRowSpec(multi);
  }
  // The closest id when one is a likely typo, else the whole list (a short
  // one: the ids compiled in; plugins and served envs are named otherwise).
  const std::vector<std::string> known = KnownEnvNames();
  if (std::optional<std::string> closest = ClosestName(name, known); closest.has_value()) {
    return absl::NotFoundError(absl::StrCat("unknown environment '", name, "' (did you mean '", *closest,
                                            "'?); `rill envs` lists all ", known.size()));
  }
  return absl::NotFoundError(absl::StrCat("unknown environment '", name, "'; known: ", absl::StrJoin(known, ", ")));
}

absl::StatusOr<EnvSpec> ConfiguredEnvSpec(const v1::EnvConfig& env) {
  ASSIGN_OR_RETURN(const EnvSpec base, ConfiguredBaseEnvSpec(env));
  if (IsMultiAgentSection(env)) {
    // The wrappers act on one env's frames or steps; an env of agents
    // takes none of them yet.
    const char* field = env.has_pixels()        ? "env.pixels"
                        : env.action_repeat() > 1 ? "env.action_repeat"
                        : env.frame_stack() > 1   ? "env.frame_stack"
                                                  : nullptr;
    if (field != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", env.has_plugin() ? env.plugin().id() : env.name().empty() ? "remote" : env.name(),
                       " is a multi-agent env, which takes no such wrapper"));
    }
  }
  return WrappedSpec(base, env);
}

absl::StatusOr<EnvSpec> ConfiguredBaseEnvSpec(const v1::EnvConfig& env) {
  if (env.joint_agents()) {
    if (env.row_agents_size() > 0) {
      return absl::InvalidArgumentError("env.row_agents: set with env.joint_agents, whose row is every agent");
    }
    if (!env.has_plugin() && !env.has_remote() && !IsMultiAgentEnv(env.name())) {
      // An unknown name is that first, with the known ones listed.
      RETURN_IF_ERROR(LookupEnvSpec(env.name(), env.max_episode_steps()).status());
    }
    if (!IsMultiAgentSection(env)) {
      const std::string what = env.has_plugin()   ? std::string("a plugin's env")
                               : env.has_remote() ? std::string("a remote env without env.remote.agents")
                                                  : absl::StrCat("'", env.name(), "'");
      return absl::InvalidArgumentError(absl::StrCat("env.joint_agents: ", what, " is not a multi-agent env"));
    }
    ASSIGN_OR_RETURN(const MultiAgentSpec multi, ConfiguredMultiAgentSpec(env));
    return JointSpec(multi);
  }
  if (env.has_plugin() && !IsMultiAgentSection(env)) return PluginEnvSpec(env.plugin(), env.max_episode_steps());
  if (env.row_agents_size() > 0 && !IsMultiAgentSection(env)) {
    return absl::InvalidArgumentError(absl::StrCat("env.row_agents: '", env.name(), "' is not a multi-agent env"));
  }
  if (!env.has_remote() && !env.has_plugin() && !IsMultiAgentEnv(env.name())) {
    return LookupEnvSpec(env.name(), env.max_episode_steps());
  }
  if (IsMultiAgentSection(env)) {
    ASSIGN_OR_RETURN(const MultiAgentSpec multi, ConfiguredMultiAgentSpec(env));
    return AgentRowSpec(multi, {env.row_agents().begin(), env.row_agents().end()});
  }
  ASSIGN_OR_RETURN(EnvSpec spec, SpecFromSpaces(env.name().empty() ? "remote" : env.name(),
                                                env.remote().observation_space(), env.remote().action_space(),
                                                env.max_episode_steps(), SpaceSource::Config("env.remote")));
  spec.action_mask = env.remote().action_mask();
  return spec;
}

absl::StatusOr<EnvSpec> PolicyRowSpec(const v1::EnvConfig& env, const std::vector<int>& agent_policy, int policy) {
  const bool one_policy = std::all_of(agent_policy.begin(), agent_policy.end(), [&](int p) { return p == policy; });
  if (one_policy || env.joint_agents() || !IsMultiAgentSection(env)) return ConfiguredEnvSpec(env);
  ASSIGN_OR_RETURN(const MultiAgentSpec multi, ConfiguredMultiAgentSpec(env));
  if (static_cast<int>(agent_policy.size()) != multi.num_agents()) {
    return absl::InvalidArgumentError(absl::StrCat("the agent-to-policy map has ", agent_policy.size(),
                                                   " agents; ", multi.name, " has ", multi.num_agents()));
  }
  v1::EnvConfig mine = env;
  mine.clear_row_agents();
  for (int k = 0; k < multi.num_agents(); ++k) {
    if (agent_policy[k] == policy) mine.add_row_agents(multi.agents[k]);
  }
  if (mine.row_agents_size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat("policy ", policy, " plays no agent of ", multi.name));
  }
  return ConfiguredEnvSpec(mine);
}

std::vector<std::string> KnownEnvNames() {
  std::vector<std::string> names;
  for (EnvSpec (*spec)() : Specs()) names.push_back(spec().name);
  for (MultiAgentSpec (*spec)() : MultiAgentSpecs()) names.push_back(spec().name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace rill::envs
