// FrameStackBatch: env.frame_stack for any EnvBatch (local, plugin or
// remote alike): each row's observation is its instance's last k frames,
// oldest first, along the channels (envs/frame_stack.h has the rules: an
// episode's first stack is its reset frame k times, and no stack ever holds
// a frame of another episode).
//
// The wrapped batch resets an instance inside the Step that ended its
// episode (or failed it); this wrapper pushes the ended episode's last
// frame onto that instance's own stack for the final observation, then
// starts a new stack from the next episode's first frame. One FrameHistory
// per row.
//
// Not thread-safe (see interface.h).
#ifndef RILL_ENVS_BATCH_FRAME_STACK_H_
#define RILL_ENVS_BATCH_FRAME_STACK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/batch/interface.h"
#include "envs/frame_stack.h"

namespace rill::envs {

class FrameStackBatch final : public EnvBatch {
 public:
  // `batch` (uint8 [C, H, W] observations) with `frame_stack` frames
  // stacked, 2..kMaxFrameStack. Errors: FrameStackedSpec's.
  static absl::StatusOr<std::unique_ptr<FrameStackBatch>> Create(std::unique_ptr<EnvBatch> batch, int frame_stack);

  absl::Status Reset(uint8_t* observations) override;
  absl::StatusOr<int> Step(int active, const float* actions, const EnvBatchOutput& out) override;
  // Rendering draws the wrapped instances as they are.
  std::vector<std::string> cameras() const override { return batch_->cameras(); }
  absl::Status Render(int index, int width, int height, const std::string& camera, RgbImage* image) override {
    return batch_->Render(index, width, height, camera, image);
  }
  double render_fps() const override { return batch_->render_fps(); }

 private:
  FrameStackBatch(std::unique_ptr<EnvBatch> batch, EnvSpec spec, int frame_stack);

  std::unique_ptr<EnvBatch> batch_;
  size_t frame_bytes_;
  size_t stacked_bytes_;
  std::vector<FrameHistory> stacks_;     // [N]
  std::vector<uint8_t> frames_;          // [N, frame_bytes]: the wrapped batch's observations
  std::vector<uint8_t> final_frames_;    // [N, frame_bytes]: its final observations
  std::vector<uint8_t> failed_;          // [N]: rows failed in the step being stacked
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_FRAME_STACK_H_
