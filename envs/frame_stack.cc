#include "envs/frame_stack.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace rill::envs {

absl::StatusOr<EnvSpec> FrameStackedSpec(const EnvSpec& spec, int frame_stack) {
  if (frame_stack < 0 || frame_stack > kMaxFrameStack) {
    return absl::InvalidArgumentError(
        absl::StrCat(frame_stack, " frames: out of range 0..", kMaxFrameStack, " (0 and 1 stack nothing)"));
  }
  if (frame_stack <= 1) return spec;
  const bool several_images = !spec.image_channels().empty();
  if (!spec.uint8_observations() || spec.observation_shape.size() != 3 || spec.flat_dim > 0 || several_images) {
    return absl::InvalidArgumentError(absl::StrCat("stacking ", frame_stack, " frames needs uint8 [C, H, W] images; ",
                                                   spec.name, " observes ", ObservationTypeName(spec.observation_type),
                                                   " [", absl::StrJoin(spec.observation_shape, ", "), "]",
                                                   spec.flat_dim > 0 ? " and flat leaves" : "",
                                                   several_images ? " as several image leaves" : ""));
  }
  EnvSpec stacked = spec;
  stacked.observation_shape[0] *= frame_stack;
  return stacked;
}

FrameHistory::FrameHistory(int frame_stack, int frame_bytes)
    : frame_stack_(frame_stack),
      frame_bytes_(frame_bytes),
      ring_(static_cast<size_t>(frame_stack + 1) * static_cast<size_t>(frame_bytes), 0) {}

void FrameHistory::Start() {
  newest_ = Free();
  frames_ = 1;
}

void FrameHistory::Push() {
  newest_ = Free();
  frames_ = std::min(frames_ + 1, frame_stack_);
}

void FrameHistory::Start(const void* frame) {
  std::memcpy(next_frame(), frame, static_cast<size_t>(frame_bytes_));
  Start();
}

void FrameHistory::Push(const void* frame) {
  std::memcpy(next_frame(), frame, static_cast<size_t>(frame_bytes_));
  Push();
}

void FrameHistory::Write(void* stacked) const {
  uint8_t* out = static_cast<uint8_t*>(stacked);
  const int slots = frame_stack_ + 1;
  for (int position = 0; position < frame_stack_; ++position) {
    // Frames before this episode's first are its first (the reset padding).
    const int back = std::min(frame_stack_ - 1 - position, frames_ - 1);
    const int slot = (newest_ - back + slots) % slots;
    std::memcpy(out + static_cast<size_t>(position) * frame_bytes_, Slot(slot), static_cast<size_t>(frame_bytes_));
  }
}

absl::StatusOr<std::unique_ptr<FrameStack>> FrameStack::Create(std::unique_ptr<Env> env, int frame_stack) {
  ASSIGN_OR_RETURN(EnvSpec spec, FrameStackedSpec(env->spec(), frame_stack));
  if (frame_stack < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("a FrameStack of ", env->name(), " needs 2..", kMaxFrameStack, " frames, got ", frame_stack));
  }
  return std::unique_ptr<FrameStack>(new FrameStack(std::move(env), std::move(spec), frame_stack));
}

FrameStack::FrameStack(std::unique_ptr<Env> env, EnvSpec spec, int frame_stack)
    : Wrapper(std::move(env), std::move(spec)),
      history_(frame_stack, env_->spec().obs_bytes()),
      stacked_(static_cast<size_t>(history_.stacked_bytes())) {}

void FrameStack::ResetRaw(void* obs) {
  env_->ResetRaw(history_.next_frame());
  history_.Start();
  history_.Write(obs);
}

absl::StatusOr<StepResult> FrameStack::StepRaw(const float* action, void* next_obs) {
  ASSIGN_OR_RETURN(const StepResult result, env_->StepRaw(action, history_.next_frame()));
  history_.Push();
  history_.Write(next_obs);
  return result;
}

void FrameStack::Reset(float* obs) {
  ResetRaw(stacked_.data());
  std::copy(stacked_.begin(), stacked_.end(), obs);
}

absl::StatusOr<StepResult> FrameStack::Step(const float* action, float* next_obs) {
  ASSIGN_OR_RETURN(const StepResult result, StepRaw(action, stacked_.data()));
  std::copy(stacked_.begin(), stacked_.end(), next_obs);
  return result;
}

absl::StatusOr<std::unique_ptr<Env>> StackFrames(std::unique_ptr<Env> env, int frame_stack) {
  if (frame_stack == 0 || frame_stack == 1) return env;
  ASSIGN_OR_RETURN(std::unique_ptr<FrameStack> stacked, FrameStack::Create(std::move(env), frame_stack));
  return std::unique_ptr<Env>(std::move(stacked));
}

}  // namespace rill::envs
