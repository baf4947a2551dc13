// The environment catalogue: every environment's spec (spaces, default time
// limit) by Gymnasium id, without the environments' code. Config
// finalization, the learner and every tool that needs an env's sizes read
// it here, so a process that steps no env (rill-replay) links no physics
// engine. The registry (registry.h) creates the envs it lists.
//
// The envs it lists are envs/env_list.h's, one line each, the same lines
// the registry makes its factories from (adding one: docs/extending.md).
//
// Thread-safe: a constant table and pure functions.
#ifndef RILL_ENVS_CATALOG_H_
#define RILL_ENVS_CATALOG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/multi_agent/interface.h"
#include "envs/spec.h"
#include "proto/config.pb.h"

namespace rill::envs {

// The spec of the environment with Gymnasium id `name`, its time limit set
// to `max_episode_steps` (0: the env's default). For a multi-agent env, the
// spec of one of its rows: an agent's, named as the env (every agent
// shares it: MultiAgentSpec::homogeneous).
// Errors: NotFound for an unknown name (the message lists the known ones);
// InvalidArgument for a negative max_episode_steps, or for a multi-agent
// env whose agents' spaces differ.
absl::StatusOr<EnvSpec> LookupEnvSpec(const std::string& name, int max_episode_steps = 0);

// The spec of the multi-agent env `name` (envs/multi_agent/interface.h),
// its time limit set as above. NotFound for a name that is no multi-agent
// env; InvalidArgument for a negative max_episode_steps.
absl::StatusOr<MultiAgentSpec> LookupMultiAgentSpec(const std::string& name, int max_episode_steps = 0);

// Whether `name` is a catalogued multi-agent env.
bool IsMultiAgentEnv(const std::string& name);

// Whether a config's `env` section names a multi-agent env: a catalogued
// one (env.name, no plugin or remote), one of a plugin library's
// multi-agent envs (env.plugin, loading the library), or a remote one
// whose env.remote.agents are set.
bool IsMultiAgentSection(const v1::EnvConfig& env);

// The agents and spaces of the multi-agent env a config's `env` section
// names: LookupMultiAgentSpec's for a catalogued one, the library's for a
// plugin's (envs/plugin/plugin_envs.h), env.remote.agents and
// state_shape for a remote one (named env.name or "remote"; what its server
// must announce). NotFound for a section that names no multi-agent env;
// InvalidArgument naming env.remote.agents for agents whose spaces the
// actors cannot take (observations not float32, repeated names).
absl::StatusOr<MultiAgentSpec> ConfiguredMultiAgentSpec(const v1::EnvConfig& env);

// The rows one env of a config's `env` section fills in an actor's batch:
// its agents for a multi-agent env whose agents are rows (catalogued or
// remote), else 1 (a
// single-agent env, or env.joint_agents: all agents one row). What turns actor.num_envs into
// the rows an actor steps, acts for and builds items for.
int RowsPerEnv(const v1::EnvConfig& env);

// The spec of the envs a config's `env` section makes, as the actors step
// them and the learner's networks see them: ConfiguredBaseEnvSpec with the
// section's wrappers applied (env.action_repeat, env.pixels, env.frame_stack:
// envs/wrappers.h).
// InvalidArgument or NotFound naming the problem.
absl::StatusOr<EnvSpec> ConfiguredEnvSpec(const v1::EnvConfig& env);

// The spec of the env a config's `env` section names, before its wrappers:
// a registered one (LookupEnvSpec), a remote one from the spaces the
// section states (env.remote, envs/remote/spaces.h; what its server must
// announce), named env.name or "remote", or a plugin's from its library
// (env.plugin, envs/plugin/plugin_envs.h). With env.joint_agents, the
// joint row of the catalogued multi-agent env env.name
// (envs/multi_agent/joint.h's JointSpec), of a plugin's multi-agent env or
// of a remote one with env.remote.agents; InvalidArgument naming
// env.joint_agents for a single-agent env (a plugin's too) or a remote one
// without agents. A remote or plugin multi-agent env without
// env.joint_agents: an agent's spec, named as the env (its agents must
// share their spaces, as LookupEnvSpec's).
// InvalidArgument or NotFound naming the problem.
absl::StatusOr<EnvSpec> ConfiguredBaseEnvSpec(const v1::EnvConfig& env);

// Every catalogued name, single- and multi-agent, sorted.
std::vector<std::string> KnownEnvNames();

}  // namespace rill::envs

#endif  // RILL_ENVS_CATALOG_H_
