// The environment registry: the one place that turns an environment name
// from a config into an EnvSpec (config finalization, learner, actors) or an
// Env (actors, once per instance they run). Adding an env is one class with
// a static Spec() and Create(), and one line in registry.cc.
//
// Thread-safe: the registry is a constant table; the Envs it returns are not
// thread-safe (see interface.h).
#ifndef RILL_ACTOR_ENVS_REGISTRY_H_
#define RILL_ACTOR_ENVS_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "actor/envs/interface.h"
#include "actor/envs/spec.h"

namespace rill::actor {

// The spec of the environment with Gymnasium id `name`, its time limit set
// to `max_episode_steps` (0: the env's default).
// Errors: NotFound for an unknown name (the message lists the known ones);
// InvalidArgument for a negative max_episode_steps.
absl::StatusOr<EnvSpec> LookupEnvSpec(const std::string& name, int max_episode_steps = 0);

// Creates the environment with Gymnasium id `name` ("Pendulum-v1",
// "CartPole-v1"). `max_episode_steps` = 0 takes the environment's default
// (200, 500). The Env's RNG is seeded from `seed`: equal seeds give equal
// episode sequences, so give each instance its own seed.
// Errors: as LookupEnvSpec.
absl::StatusOr<std::unique_ptr<Env>> MakeEnv(const std::string& name,
                                             int max_episode_steps,
                                             uint64_t seed);

// The names MakeEnv accepts, sorted.
std::vector<std::string> KnownEnvNames();

}  // namespace rill::actor

#endif  // RILL_ACTOR_ENVS_REGISTRY_H_
