// The EnvSpec of rill.v1.Space messages (proto/env.proto): what a remote
// env's server announces, and what a config's env.remote states. No gRPC:
// the config's rules (experiment/config.cc) and the replay shard use it too.
//
// One rule for a Box, for observations and actions alike, whoever states
// it (python/rill/spaces.py applies the same one before a server announces
// a space):
//   - shape: any rank, every dimension >= 1. A scalar (shape [], which
//     Gymnasium allows) is one element, and becomes shape [1] in the
//     EnvSpec: the actors, items, replay and the networks see a vector of
//     one value. The server still sends [N] tensors for it, the same bytes
//     as [N, 1] (RemoteEnvs reads them so).
//   - low and high: each ONE value, which every element takes, or one value
//     per element (row-major over the shape); both empty: unbounded (an
//     observation only: an action box needs bounds). No NaN, low <= high
//     per element, and an action's bounds finite (an observation's may be
//     infinite).
//
// Thread-safe: pure functions.
#ifndef RILL_ENVS_REMOTE_SPACES_H_
#define RILL_ENVS_REMOTE_SPACES_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "envs/spec.h"
#include "proto/env.pb.h"

namespace rill::envs {

// Who stated a pair of spaces, as a refusal names their fields: the env
// server (its opened answer), whose fault a bad space then is, or the
// experiment config, whose field the user fixes.
class SpaceSource {
 public:
  // The server's spaces; `agent` names a multi-agent env's agent.
  static SpaceSource Server(absl::string_view agent = "") {
    return SpaceSource(agent.empty() ? std::string("env server's ")
                                     : absl::StrCat("env server's agent '", agent, "' "));
  }
  // The config's spaces under `path`, e.g. "env.remote" or
  // "env.remote.agents[0]".
  static SpaceSource Config(absl::string_view path) { return SpaceSource(absl::StrCat(path, ".")); }

  // `field` of the spaces ("action_space.box.low") as a message names it:
  // "env server's action_space.box.low", "env.remote.action_space.box.low".
  std::string Name(absl::string_view field) const { return absl::StrCat(prefix_, field); }

 private:
  explicit SpaceSource(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string prefix_;
};

// The EnvSpec of the spaces (float32 or uint8 observations of any shape, or
// a Dict of them laid out as proto/env.proto's DictSpace says; a Box
// action of any shape, flattened, or Discrete(n)), named `name` and with
// time limit `max_episode_steps`, under the rule above. InvalidArgument
// "<field>: <why>", the field named by `source` ("env.remote.action_space.box.low:
// 3 values for shape [2]; ...").
absl::StatusOr<EnvSpec> SpecFromSpaces(const std::string& name, const v1::Space& observation,
                                       const v1::Space& action, int max_episode_steps, const SpaceSource& source);

// `spec` with `action`'s space (a Box of any shape, flattened, or
// Discrete(n)); InvalidArgument naming the field as SpecFromSpaces does.
absl::StatusOr<EnvSpec> WithActionSpace(EnvSpec spec, const v1::Space& action, const SpaceSource& source);

// How `announced` (a server's) differs from `expected` (the config's), e.g.
// "observations float32 [5], the config says float32 [4]"; nullopt when the spaces
// agree. Names and time limits are not compared; a scalar and a shape of
// [1] agree (the actors see both as [1]).
std::optional<std::string> SpaceDifference(const EnvSpec& announced, const EnvSpec& expected);

}  // namespace rill::envs

#endif  // RILL_ENVS_REMOTE_SPACES_H_
