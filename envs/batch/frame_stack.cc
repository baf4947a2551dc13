#include "envs/batch/frame_stack.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::envs {

absl::StatusOr<std::unique_ptr<FrameStackBatch>> FrameStackBatch::Create(std::unique_ptr<EnvBatch> batch,
                                                                         int frame_stack) {
  if (frame_stack < 2 || frame_stack > kMaxFrameStack) {
    return absl::InvalidArgumentError(
        absl::StrCat("a frame stack batch stacks 2..", kMaxFrameStack, " frames, not ", frame_stack));
  }
  ASSIGN_OR_RETURN(EnvSpec spec, FrameStackedSpec(batch->spec(), frame_stack));
  return std::unique_ptr<FrameStackBatch>(new FrameStackBatch(std::move(batch), std::move(spec), frame_stack));
}

FrameStackBatch::FrameStackBatch(std::unique_ptr<EnvBatch> batch, EnvSpec spec, int frame_stack)
    : EnvBatch(std::move(spec), batch->size()),
      batch_(std::move(batch)),
      frame_bytes_(static_cast<size_t>(batch_->spec().obs_bytes())),
      stacked_bytes_(static_cast<size_t>(this->spec().obs_bytes())),
      stacks_(static_cast<size_t>(size()), FrameHistory(frame_stack, static_cast<int>(frame_bytes_))),
      frames_(static_cast<size_t>(size()) * frame_bytes_),
      final_frames_(static_cast<size_t>(size()) * frame_bytes_),
      failed_(static_cast<size_t>(size()), 0) {}

absl::Status FrameStackBatch::Reset(uint8_t* observations) {
  RETURN_IF_ERROR(batch_->Reset(frames_.data()));
  for (int i = 0; i < size(); ++i) {
    stacks_[i].Start(&frames_[i * frame_bytes_]);
    stacks_[i].Write(observations + i * stacked_bytes_);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> FrameStackBatch::Step(int active, const float* actions, const EnvBatchOutput& out) {
  EnvBatchOutput frames = out;
  frames.observations = frames_.data();
  frames.final_observations = final_frames_.data();
  ASSIGN_OR_RETURN(const int stepped, batch_->Step(active, actions, frames));
  failed_.assign(failed_.size(), 0);
  for (const EnvFailure& failure : *out.failures) failed_[failure.index] = 1;
  for (int i = 0; i < stepped; ++i) {
    FrameHistory& stack = stacks_[i];
    const uint8_t* frame = &frames_[i * frame_bytes_];
    if (out.masked[i] != 0) {
      // An agent gone until its env resets: its stack stays as it was.
      stack.Write(out.observations + i * stacked_bytes_);
      continue;
    }
    const bool ended = out.terminated[i] != 0 || out.truncated[i] != 0;
    if (ended && failed_[i] == 0) {
      // The ended episode's last frame joins its own stack: the
      // observation it ended on.
      stack.Push(&final_frames_[i * frame_bytes_]);
      stack.Write(out.final_observations + i * stacked_bytes_);
    }
    // The wrapped batch reset the instances that ended or failed: their
    // frame is the first of a new episode, which shares no frame with the
    // old one.
    if (ended || failed_[i] != 0) {
      stack.Start(frame);
    } else {
      stack.Push(frame);
    }
    stack.Write(out.observations + i * stacked_bytes_);
  }
  return stepped;
}

}  // namespace rill::envs
