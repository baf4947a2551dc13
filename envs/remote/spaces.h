// The EnvSpec of rill.v1.Space messages (proto/env.proto): what a remote
// env's server announces, and what a config's env.remote states. No gRPC:
// the config's rules (experiment/config.cc) and the replay shard use it too.
//
// Thread-safe: pure functions.
#ifndef RILL_ENVS_REMOTE_SPACES_H_
#define RILL_ENVS_REMOTE_SPACES_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "envs/spec.h"
#include "proto/env.pb.h"

namespace rill::envs {

// The EnvSpec of the spaces (float32 or uint8 observations of any shape; a Box
// action of any shape, flattened, or Discrete(n)), named `name` and with
// time limit `max_episode_steps`. InvalidArgument naming the space that
// cannot be used.
absl::StatusOr<EnvSpec> SpecFromSpaces(const std::string& name, const v1::Space& observation,
                                       const v1::Space& action, int max_episode_steps);

// How `announced` (a server's) differs from `expected` (the config's), e.g.
// "observations float32 [5], the config says float32 [4]"; nullopt when the spaces
// agree. Names and time limits are not compared.
std::optional<std::string> SpaceDifference(const EnvSpec& announced, const EnvSpec& expected);

}  // namespace rill::envs

#endif  // RILL_ENVS_REMOTE_SPACES_H_
