#include "envs/wrappers.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/action_repeat.h"
#include "envs/frame_stack.h"

namespace rill::envs {
namespace {

// `status` with the config field it concerns in front of its message.
absl::Status InField(const char* field, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(field, ": ", status.message()));
}

}  // namespace

PixelsOptions PixelsOptionsOf(const v1::PixelsConfig& pixels) {
  PixelsOptions options;
  if (pixels.width() != 0) options.width = pixels.width();
  if (pixels.height() != 0) options.height = pixels.height();
  options.camera = pixels.camera();
  options.grayscale = pixels.grayscale();
  return options;
}

absl::StatusOr<EnvSpec> WrappedSpec(const EnvSpec& base, const v1::EnvConfig& env) {
  if (env.has_remote()) {
    if (env.action_repeat() > 1) {
      return absl::InvalidArgumentError(
          "env.action_repeat: a remote env is stepped on its server; repeat actions there (or leave it 0)");
    }
    if (env.has_pixels()) {
      return absl::InvalidArgumentError(
          "env.pixels: a remote env is stepped on its server; have it return images (uint8 [C, H, W]) itself");
    }
  }
  absl::StatusOr<EnvSpec> spec = ActionRepeatedSpec(base, env.action_repeat());
  if (!spec.ok()) return InField("env.action_repeat", spec.status());
  if (env.has_pixels()) {
    spec = PixelsSpec(*spec, PixelsOptionsOf(env.pixels()));
    if (!spec.ok()) return InField("env.pixels", spec.status());
  }
  spec = FrameStackedSpec(*spec, env.frame_stack());
  if (!spec.ok()) return InField("env.frame_stack", spec.status());
  return spec;
}

absl::StatusOr<std::unique_ptr<Env>> WrapInstanceAsConfigured(std::unique_ptr<Env> env, const v1::EnvConfig& config) {
  RETURN_IF_ERROR(WrappedSpec(env->spec(), config).status());
  if (config.action_repeat() > 1) {
    absl::StatusOr<std::unique_ptr<ActionRepeat>> repeated = ActionRepeat::Create(std::move(env), config.action_repeat());
    if (!repeated.ok()) return InField("env.action_repeat", repeated.status());
    env = *std::move(repeated);
  }
  if (config.has_pixels()) {
    absl::StatusOr<std::unique_ptr<Pixels>> pixels = Pixels::Create(std::move(env), PixelsOptionsOf(config.pixels()));
    if (!pixels.ok()) return InField("env.pixels", pixels.status());
    env = *std::move(pixels);
  }
  return env;
}

absl::StatusOr<std::unique_ptr<Env>> WrapAsConfigured(std::unique_ptr<Env> env, const v1::EnvConfig& config) {
  ASSIGN_OR_RETURN(env, WrapInstanceAsConfigured(std::move(env), config));
  absl::StatusOr<std::unique_ptr<Env>> stacked = StackFrames(std::move(env), config.frame_stack());
  if (!stacked.ok()) return InField("env.frame_stack", stacked.status());
  return stacked;
}

}  // namespace rill::envs
