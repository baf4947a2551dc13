// Frame stacking for any env of uint8 images (env.frame_stack in the
// config): an env of [C, H, W] observations becomes one of [k*C, H, W]
// whose observation is its last k frames, oldest first, concatenated along
// the channels, as the Atari DQN stacks them (Mnih et al. 2015), so that a
// network sees motion in one observation.
//
// At an episode's start the stack is k copies of the reset frame
// (Gymnasium's FrameStackObservation padding "reset"; zeros would be an
// image the env never shows). No frame of an earlier episode is ever in a
// stack: every reset fills the whole stack anew, and the observation a step
// ends an episode on (a truncated episode's, for bootstrapping) is the
// ending episode's own stack.
//
// FrameHistory is the ring of one stream of frames. The actors' envs,
// local and remote alike, are stacked by envs::FrameStackBatch
// (envs/batch/frame_stack.h), one FrameHistory per row; FrameStack is the
// Env that wraps one env alone with one (WrapAsConfigured).
//
// Not thread-safe (see Env).
#ifndef RILL_ENVS_FRAME_STACK_H_
#define RILL_ENVS_FRAME_STACK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/spec.h"
#include "envs/wrapper.h"

namespace rill::envs {

// The most frames a stack may hold.
inline constexpr int kMaxFrameStack = 16;

// The spec of `spec`'s env with `frame_stack` frames stacked: observations
// [frame_stack * C, H, W], the rest as it is; `spec` itself for 0 or 1
// (no stacking). InvalidArgument naming the env when frame_stack is outside
// [0, kMaxFrameStack], or when it stacks an env whose observations are not
// uint8 [C, H, W] images.
absl::StatusOr<EnvSpec> FrameStackedSpec(const EnvSpec& spec, int frame_stack);

// The last `frame_stack` frames of one stream of frames, in a ring of
// frame_stack + 1 slots: a new frame is written into the free slot and joins
// the stack with Start or Push, so writing it (or failing to) leaves the
// stack as it was until then, and Write copies each frame once.
class FrameHistory {
 public:
  // frame_stack >= 1, frame_bytes >= 1.
  FrameHistory(int frame_stack, int frame_bytes);

  int frame_stack() const { return frame_stack_; }
  // Bytes of the stack Write writes: frame_stack frames.
  int64_t stacked_bytes() const { return static_cast<int64_t>(frame_stack_) * frame_bytes_; }

  // The free slot (frame_bytes bytes), which the next Start or Push takes.
  uint8_t* next_frame() { return Slot(Free()); }

  // The frame in next_frame() starts an episode: the stack is that frame,
  // frame_stack times.
  void Start();
  // The frame in next_frame() becomes the newest; the oldest drops out.
  void Push();
  // As above, copying `frame` (frame_bytes bytes) into next_frame() first.
  void Start(const void* frame);
  void Push(const void* frame);

  // Writes the stack, oldest frame first, to `stacked` (stacked_bytes()).
  // Before the first Start: zeros.
  void Write(void* stacked) const;

 private:
  int Free() const { return (newest_ + 1) % (frame_stack_ + 1); }
  uint8_t* Slot(int slot) { return &ring_[static_cast<size_t>(slot) * frame_bytes_]; }
  const uint8_t* Slot(int slot) const { return &ring_[static_cast<size_t>(slot) * frame_bytes_]; }

  int frame_stack_;
  int frame_bytes_;
  std::vector<uint8_t> ring_;  // [frame_stack + 1, frame_bytes]
  int newest_ = 0;             // the slot of the newest frame
  int frames_ = 1;             // frames of this episode in the stack, 1..frame_stack
};

class FrameStack final : public Wrapper {
 public:
  // Wraps `env` (uint8 [C, H, W] observations) to stack `frame_stack`
  // frames, 2..kMaxFrameStack. Errors: FrameStackedSpec's.
  static absl::StatusOr<std::unique_ptr<FrameStack>> Create(std::unique_ptr<Env> env, int frame_stack);

  // Resets the wrapped env and fills the stack with its first frame.
  void ResetRaw(void* obs) override;
  // Steps the wrapped env and pushes its frame. On an error (the wrapped
  // env's, returned as it is) the stack is unchanged.
  absl::StatusOr<StepResult> StepRaw(const float* action, void* next_obs) override;
  // The same, with the stack's values (0..255) written as floats, as every
  // uint8 env's Reset and Step give them.
  void Reset(float* obs) override;
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override;
 private:
  FrameStack(std::unique_ptr<Env> env, EnvSpec spec, int frame_stack);

  FrameHistory history_;
  std::vector<uint8_t> stacked_;  // the float calls' bytes
};

// `env` as env.frame_stack asks: wrapped in a FrameStack, or as it is for
// 0 or 1. Errors: FrameStackedSpec's.
absl::StatusOr<std::unique_ptr<Env>> StackFrames(std::unique_ptr<Env> env, int frame_stack);

}  // namespace rill::envs

#endif  // RILL_ENVS_FRAME_STACK_H_
