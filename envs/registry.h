// The environment registry: creates an Env by its Gymnasium id (actors, the
// evaluator, `rill bench env`, once per instance they run). The specs of
// the same envs, without their code, are in the catalogue (catalog.h).
//
// Thread-safe: the registry is a constant table; the Envs it returns are not
// thread-safe (see interface.h).
#ifndef RILL_ENVS_REGISTRY_H_
#define RILL_ENVS_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "envs/catalog.h"
#include "envs/interface.h"
#include "envs/multi_agent/interface.h"

namespace rill::envs {

// Creates the environment with Gymnasium id `name` ("Pendulum-v1",
// "CartPole-v1"). `max_episode_steps` = 0 takes the environment's default
// (200, 500). The Env's RNG is seeded from `seed`: equal seeds give equal
// episode sequences, so give each instance its own seed.
// Errors: as LookupEnvSpec; Internal for a catalogued env without a factory.
absl::StatusOr<std::unique_ptr<Env>> MakeEnv(const std::string& name,
                                             int max_episode_steps,
                                             uint64_t seed);

// Creates the multi-agent environment `name` (envs/multi_agent/interface.h)
// as MakeEnv creates a single-agent one. Errors: as LookupMultiAgentSpec;
// Internal for a catalogued env without a factory.
absl::StatusOr<std::unique_ptr<MultiAgentEnv>> MakeMultiAgentEnv(const std::string& name, int max_episode_steps,
                                                                 uint64_t seed);

}  // namespace rill::envs

#endif  // RILL_ENVS_REGISTRY_H_
