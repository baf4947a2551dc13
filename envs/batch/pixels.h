// PixelsBatch: env.pixels for any EnvBatch with row control (local, plugin
// or remote alike): each row's observation is the frame its instance's
// renderer draws of the state it is in (envs/pixels.h has the frame and
// the spec), the state observation dropped.
//
// A Step steps the wrapped batch with its resets deferred, draws every
// stepped row, and for a row whose episode ended keeps that frame (the
// episode's last state) as its final observation before resetting it
// (ResetRows) and drawing its next episode's first state. A remote row is
// drawn by its server (one render request a row and step), at the size the
// server draws, sampled to the configured size.
//
// Errors: a frame that cannot be drawn is an error of the Reset or Step
// that needed it, naming the row and the renderer's reason (the wrapped
// instances have moved). Create draws one frame, so envs whose renderer
// cannot start (no OpenGL for MuJoCo) are refused before any episode.
//
// Rendering (videos) draws the wrapped instances at any size, as they are.
// Not thread-safe (see interface.h).
#ifndef RILL_ENVS_BATCH_PIXELS_H_
#define RILL_ENVS_BATCH_PIXELS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/batch/interface.h"
#include "envs/pixels.h"

namespace rill::envs {

class PixelsBatch final : public EnvBatch {
 public:
  // `batch` observed through its renderer. Errors: PixelsSpec's;
  // Unimplemented for envs that cannot render and InvalidArgument for a
  // camera they do not have (naming the ones they have); FailedPrecondition
  // for a batch without row control; the renderer's own, found by drawing
  // row 0 now.
  static absl::StatusOr<std::unique_ptr<PixelsBatch>> Create(std::unique_ptr<EnvBatch> batch,
                                                             const PixelsOptions& options);

  absl::Status Reset(uint8_t* observations) override;
  absl::StatusOr<int> Step(int active, const float* actions, const EnvBatchOutput& out) override {
    return StepFirstRows(active, actions, out);
  }
  bool row_control() const override { return true; }
  absl::Status StepRows(const uint8_t* step, bool defer_resets, const float* actions,
                        const EnvBatchOutput& out) override;
  absl::Status ResetRows(const uint8_t* reset, uint8_t* observations, std::vector<EnvFailure>* failures) override;
  std::vector<EnvMetric> metrics() const override { return batch_->metrics(); }
  std::vector<std::string> cameras() const override { return batch_->cameras(); }
  absl::Status Render(int index, int width, int height, const std::string& camera, RgbImage* image) override {
    return batch_->Render(index, width, height, camera, image);
  }
  double render_fps() const override { return batch_->render_fps(); }

 private:
  PixelsBatch(std::unique_ptr<EnvBatch> batch, EnvSpec spec, const PixelsOptions& options);
  // Row i's current state as its frame, into its row of `observations`.
  absl::Status Draw(int i, uint8_t* observations);
  // The same for a failed row, whose env may not draw: a black frame then
  // (the caller drops the row's step anyway).
  void DrawFailed(int i, uint8_t* observations);

  std::unique_ptr<EnvBatch> batch_;
  PixelsOptions options_;  // its camera resolved
  size_t frame_bytes_;
  std::vector<uint8_t> states_;        // [N, state bytes]: the wrapped observations, dropped
  std::vector<uint8_t> final_states_;  // [N, state bytes]: the wrapped final ones, dropped
  // [N]: 1 for rows to reset after drawing their last frame, 2 for rows
  // that failed.
  std::vector<uint8_t> reset_;
  std::vector<EnvFailure> reset_failures_;
  RgbImage image_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_PIXELS_H_
