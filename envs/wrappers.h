// The wrappers a config's env section puts around every env the actors
// step, in one place and one order, so that the spec every process derives
// (config finalization, the learner's networks, the actors' buffers) is the
// spec of the env the actors make:
//   env.action_repeat (envs/action_repeat.h), then
//   env.pixels        (envs/pixels.h), then
//   env.frame_stack   (envs/frame_stack.h).
// Action repeat goes first so that a pixel env renders once per agent step;
// stacking goes last so that it stacks the frames the agent sees.
//
// Remote envs are stepped on their server: only frame stacking applies to
// them (a batch wrapper, envs/batch/frame_stack.h, as for local envs), and
// action repeat and pixels are refused for them by name.
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

// env.pixels as PixelsOptions (0 width or height: 84).
PixelsOptions PixelsOptionsOf(const v1::PixelsConfig& pixels);

// The spec of the env WrapAsConfigured makes of an env of `base`.
// InvalidArgument whose message starts with the config field at fault
// ("env.action_repeat: ...", "env.pixels: ...", "env.frame_stack: ...").
absl::StatusOr<EnvSpec> WrappedSpec(const EnvSpec& base, const v1::EnvConfig& env);

// `env` (a local or plugin env, made from `config`'s section) wrapped in
// the section's per-instance wrappers: action repeat and pixels. Frame
// stacking is the batch's (envs/batch/frame_stack.h), for local and remote
// envs alike. Errors: WrappedSpec's, and the wrappers' own (a pixel env
// whose renderer cannot start, an unknown camera), each prefixed with its
// field.
absl::StatusOr<std::unique_ptr<Env>> WrapInstanceAsConfigured(std::unique_ptr<Env> env, const v1::EnvConfig& config);

// One env alone (no batch) wrapped as the section asks: the per-instance
// wrappers, then a FrameStack. Errors: as WrapInstanceAsConfigured.
absl::StatusOr<std::unique_ptr<Env>> WrapAsConfigured(std::unique_ptr<Env> env, const v1::EnvConfig& config);

}  // namespace rill::envs

#endif  // RILL_ENVS_WRAPPERS_H_
