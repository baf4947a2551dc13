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
// spec of one of its rows, named as the env: an agent's when every agent
// shares it (MultiAgentSpec::homogeneous), else the widest agent's, the
// others' observations zero-padded to it (agents that act alike and
// observe flat float vectors; what one policy over all of them sees).
// Errors: NotFound for an unknown name (the message lists the known ones);
// InvalidArgument for a negative max_episode_steps, or for a multi-agent
// env whose agents' spaces cannot share rows (different actions, or
// observations that are not flat float32).
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

// The spec of the rows policy `policy` plays in an actor's batch of the
// envs a config's `env` section makes, where env agent k plays for
// agent_policy[k] (experiment::ResolvePolicies): ConfiguredEnvSpec of the
// section with env.row_agents set to that policy's agents. The batch's own
// rows (every agent's, zero-padded to the widest observation) hold each
// agent's observation first, so a policy reads the first obs_dim values
// of each of its rows. ConfiguredEnvSpec(env) itself when every agent
// plays for `policy`, for env.joint_agents and for a single-agent env.
// InvalidArgument for a map of the wrong length, a policy of no agent, or
// agents of one policy that differ in their spaces.
absl::StatusOr<EnvSpec> PolicyRowSpec(const v1::EnvConfig& env, const std::vector<int>& agent_policy, int policy);

// The spec of the env a config's `env` section names, before its wrappers:
// a registered one (LookupEnvSpec), a remote one from the spaces the
// section states (env.remote, envs/remote/spaces.h; what its server must
// announce), named env.name or "remote", or a plugin's from its library
// (env.plugin, envs/plugin/plugin_envs.h). With env.joint_agents, the
// joint row of the catalogued multi-agent env env.name
// (envs/multi_agent/joint.h's JointSpec), of a plugin's multi-agent env or
// of a remote one with env.remote.agents; InvalidArgument naming
// env.joint_agents for a single-agent env (a plugin's too) or a remote one
// without agents. A multi-agent env without env.joint_agents: a row's
// spec, named as the env, as LookupEnvSpec's; with env.row_agents, the
// spec those agents share (InvalidArgument naming env.row_agents for an
// unknown agent or agents whose spaces differ).
// InvalidArgument or NotFound naming the problem.
absl::StatusOr<EnvSpec> ConfiguredBaseEnvSpec(const v1::EnvConfig& env);

// Every catalogued name, single- and multi-agent, sorted.
std::vector<std::string> KnownEnvNames();

}  // namespace rill::envs

#endif  // RILL_ENVS_CATALOG_H_
