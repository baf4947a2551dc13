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
#include "envs/spec.h"
#include "proto/config.pb.h"

namespace rill::envs {

// The spec of the environment with Gymnasium id `name`, its time limit set
// to `max_episode_steps` (0: the env's default).
// Errors: NotFound for an unknown name (the message lists the known ones);
// InvalidArgument for a negative max_episode_steps.
absl::StatusOr<EnvSpec> LookupEnvSpec(const std::string& name, int max_episode_steps = 0);

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
// (env.plugin, envs/plugin/plugin_envs.h). InvalidArgument or NotFound
// naming the problem.
absl::StatusOr<EnvSpec> ConfiguredBaseEnvSpec(const v1::EnvConfig& env);

// Every catalogued name, sorted.
std::vector<std::string> KnownEnvNames();

}  // namespace rill::envs

#endif  // RILL_ENVS_CATALOG_H_
