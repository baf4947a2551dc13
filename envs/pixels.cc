#include "envs/pixels.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::envs {
namespace {

int Channels(const PixelsOptions& options) { return options.grayscale ? 1 : 3; }

}  // namespace

absl::StatusOr<EnvSpec> PixelsSpec(const EnvSpec& spec, const PixelsOptions& options) {
  if (options.width < 1 || options.width > kMaxPixelsSize || options.height < 1 || options.height > kMaxPixelsSize) {
    return absl::InvalidArgumentError(absl::StrCat("frames of ", options.width, "x", options.height,
                                                   " pixels: width and height must lie in 1..", kMaxPixelsSize));
  }
  EnvSpec pixels = spec;
  pixels.observation_shape = {Channels(options), options.height, options.width};
  pixels.observation_type = ObservationType::kUint8;
  return pixels;
}

absl::StatusOr<std::unique_ptr<Pixels>> Pixels::Create(std::unique_ptr<Env> env, const PixelsOptions& options) {
  ASSIGN_OR_RETURN(EnvSpec spec, PixelsSpec(env->spec(), options));
  ASSIGN_OR_RETURN(std::string camera, ResolveCamera(*env, options.camera));
  std::unique_ptr<Pixels> pixels(new Pixels(std::move(env), std::move(spec), options, std::move(camera)));
  // One frame now: an env whose renderer cannot start fails here, before
  // any episode, rather than at its first step.
  RETURN_IF_ERROR(pixels->Draw(pixels->last_frame_.data()));
  return pixels;
}

Pixels::Pixels(std::unique_ptr<Env> env, EnvSpec spec, const PixelsOptions& options, std::string camera)
    : Wrapper(std::move(env), std::move(spec)),
      options_(options),
      camera_(std::move(camera)),
      state_(static_cast<size_t>(env_->spec().obs_bytes())),
      last_frame_(static_cast<size_t>(this->spec().obs_bytes()), 0) {}

absl::Status Pixels::Draw(uint8_t* frame) {
  RETURN_IF_ERROR(RenderInto(*env_, options_.width, options_.height, camera_, &image_));
  const size_t plane = static_cast<size_t>(options_.width) * options_.height;
  const uint8_t* rgb = image_.rgb.data();
  if (options_.grayscale) {
    // ITU-R BT.601 luma, rounded: (299 R + 587 G + 114 B) / 1000.
    for (size_t p = 0; p < plane; ++p) {
      const uint32_t luma = 299u * rgb[3 * p] + 587u * rgb[3 * p + 1] + 114u * rgb[3 * p + 2];
      frame[p] = static_cast<uint8_t>((luma + 500u) / 1000u);
    }
  } else {
    // [H, W, 3] to [3, H, W].
    for (size_t p = 0; p < plane; ++p) {
      frame[p] = rgb[3 * p];
      frame[plane + p] = rgb[3 * p + 1];
      frame[2 * plane + p] = rgb[3 * p + 2];
    }
  }
  std::memcpy(last_frame_.data(), frame, last_frame_.size());
  return absl::OkStatus();
}

void Pixels::ResetRaw(void* obs) {
  env_->ResetRaw(state_.data());
  // Create drew a frame, so the renderer works; a later failure leaves the
  // last frame, which Reset (which cannot fail) hands on.
  if (!Draw(static_cast<uint8_t*>(obs)).ok()) std::memcpy(obs, last_frame_.data(), last_frame_.size());
}

absl::StatusOr<StepResult> Pixels::StepRaw(const float* action, void* next_obs) {
  ASSIGN_OR_RETURN(const StepResult result, env_->StepRaw(action, state_.data()));
  absl::Status drawn = Draw(static_cast<uint8_t*>(next_obs));
  if (!drawn.ok()) {
    std::memcpy(next_obs, last_frame_.data(), last_frame_.size());
    return absl::Status(drawn.code(), absl::StrCat("cannot draw ", name(), "'s frame: ", drawn.message()));
  }
  return result;
}

void Pixels::Reset(float* obs) {
  std::vector<uint8_t> frame(last_frame_.size());
  ResetRaw(frame.data());
  std::copy(frame.begin(), frame.end(), obs);
}

absl::StatusOr<StepResult> Pixels::Step(const float* action, float* next_obs) {
  std::vector<uint8_t> frame(last_frame_.size());
  absl::StatusOr<StepResult> result = StepRaw(action, frame.data());
  std::copy(frame.begin(), frame.end(), next_obs);
  return result;
}

}  // namespace rill::envs
