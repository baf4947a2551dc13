// Action repeat (env.action_repeat in the config): the agent chooses an
// action every k env steps and the env steps k times with it, as DrQ-v2 and
// the DeepMind Control pixel benchmarks do (k = 2 for most tasks there), so
// that a policy of the same size sees further ahead and a pixel env renders
// once per k physics steps. ActionRepeatBatch (envs/batch/action_repeat.h)
// does it for every kind of env; this is its rule and its spec.
//
// A repeated step sums the k rewards and stops at the first step that ends
// the episode: its terminated or truncated flag is the repeated step's, and
// its observation the one the episode ended on. The wrapped env's time
// limit counts env steps, so the repeated env's limit is ceil(T / k) of its
// own steps (its spec says so), and an episode truncates where the wrapped
// one does.
//
// Thread-safe: a pure function.
#ifndef RILL_ENVS_ACTION_REPEAT_H_
#define RILL_ENVS_ACTION_REPEAT_H_

#include "absl/status/statusor.h"
#include "envs/spec.h"

namespace rill::envs {

// The most steps one action may be repeated for.
inline constexpr int kMaxActionRepeat = 64;

// The spec of `spec`'s env with each action repeated `repeat` times: the
// time limit ceil(max_episode_steps / repeat), the rest as it is; `spec`
// itself for 0 or 1. InvalidArgument when repeat is outside
// [0, kMaxActionRepeat].
absl::StatusOr<EnvSpec> ActionRepeatedSpec(const EnvSpec& spec, int repeat);

}  // namespace rill::envs

#endif  // RILL_ENVS_ACTION_REPEAT_H_
