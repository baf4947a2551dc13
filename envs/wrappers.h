// The wrappers a config's env section puts around every env the actors
// step, in one place and one order, so that the spec every process derives
// (config finalization, the learner's networks, the actors' buffers) is the
// spec of the env the actors make:
//   env.action_repeat (envs/action_repeat.h), then
//   env.pixels        (envs/pixels.h), then
//   env.frame_stack   (envs/frame_stack.h).
// Action repeat goes first so that a pixel env renders once per agent step;
// stacking goes last so that it stacks the frames the agent sees. Each is
// a batch wrapper (envs/batch/), the same for local, plugin and remote
// envs; MakeEnvBatch (envs/batch/make.h) puts them on.
//
// Thread-safe: pure functions.
#ifndef RILL_ENVS_WRAPPERS_H_
#define RILL_ENVS_WRAPPERS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/pixels.h"
#include "envs/spec.h"
#include "proto/config.pb.h"

namespace rill::envs {

// env.pixels as PixelsOptions, the declared defaults (proto/config.proto)
// where a size is 0.
PixelsOptions PixelsOptionsOf(const v1::PixelsConfig& pixels);

// The spec of the envs the section's wrappers make of envs of `base`,
// its action mask dropped with env.ignore_action_mask. InvalidArgument
// whose message starts with the config field at fault ("env.action_repeat:
// ...", "env.pixels: ...", "env.frame_stack: ...", also for a wrapper
// that cannot keep an action mask), or a mask `base` cannot have
// (CheckActionMaskSpec).
absl::StatusOr<EnvSpec> WrappedSpec(const EnvSpec& base, const v1::EnvConfig& env);

}  // namespace rill::envs

#endif  // RILL_ENVS_WRAPPERS_H_
