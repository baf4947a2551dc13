#include "envs/wrappers.h"

#include "absl/strings/str_cat.h"
#include "common/declared_defaults.h"
#include "common/status_macros.h"
#include "envs/action_mask.h"
#include "envs/action_repeat.h"
#include "envs/frame_stack.h"

namespace rill::envs {
namespace {

// `status` with the config field it concerns in front of its message.
absl::Status InField(const char* field, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(field, ": ", status.message()));
}

}  // namespace

PixelsOptions PixelsOptionsOf(const v1::PixelsConfig& section) {
  // A section that config finalization has not filled (a test's, a tool's)
  // gets the same declared defaults.
  v1::PixelsConfig pixels = section;
  FillDeclaredDefaults(pixels);
  PixelsOptions options;
  options.width = pixels.width();
  options.height = pixels.height();
  options.camera = pixels.camera();
  options.grayscale = pixels.grayscale();
  options.state = pixels.state();
  return options;
}

absl::StatusOr<EnvSpec> WrappedSpec(const EnvSpec& masked, const v1::EnvConfig& env) {
  RETURN_IF_ERROR(CheckActionMaskSpec(masked));
  EnvSpec base = masked;
  if (env.ignore_action_mask()) base.action_mask = false;
  if (base.action_mask) {
    // Each would hide the mask of the state acted in: a repeated action
    // may be masked by the second step, a stack holds old masks, pixels
    // none.
    const char* field = env.action_repeat() > 1 ? "env.action_repeat"
                        : env.has_pixels()      ? "env.pixels"
                        : env.frame_stack() > 1 ? "env.frame_stack"
                                                : nullptr;
    if (field != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": ", base.name, "'s observations end in an action mask, which takes no such wrapper (",
          "env.ignore_action_mask: true drops the mask)"));
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

}  // namespace rill::envs
