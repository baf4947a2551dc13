// ActionRepeatBatch: env.action_repeat for any EnvBatch with row control
// (local, plugin or remote alike): the agent chooses an action every k env
// steps and each row's env steps k times with it (envs/action_repeat.h has
// the rules and the spec: the rewards summed, the time limit ceil(T / k)).
//
// A row stops at the first of its k steps that ends its episode or fails
// it: the wrapped batch steps only the rows still going (StepRows), so an
// episode that ended in the middle of a repeat never takes a step of the
// next one with a stale action. That row's flags are the ending step's, its
// final observation the one it ended on, and its observation the next
// episode's first (or, with deferred resets, the one it ended on, as the
// wrapped batch leaves it). A failed row's reward is 0 (interface.h). A
// Step error of the wrapped batch is this Step's: the repeats before it
// have happened, as a wrapped env's error leaves its episode.
//
// Not thread-safe (see interface.h).
#ifndef RILL_ENVS_BATCH_ACTION_REPEAT_H_
#define RILL_ENVS_BATCH_ACTION_REPEAT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/batch/interface.h"

namespace rill::envs {

class ActionRepeatBatch final : public EnvBatch {
 public:
  // `batch` with every action repeated `repeat` times, 2..kMaxActionRepeat.
  // Errors: ActionRepeatedSpec's; InvalidArgument for 0 or 1 (nothing to
  // wrap); FailedPrecondition for a batch without row control.
  static absl::StatusOr<std::unique_ptr<ActionRepeatBatch>> Create(std::unique_ptr<EnvBatch> batch, int repeat);

  absl::Status Reset(uint8_t* observations) override { return batch_->Reset(observations); }
  absl::StatusOr<int> Step(int active, const float* actions, const EnvBatchOutput& out) override {
    return StepFirstRows(active, actions, out);
  }
  bool row_control() const override { return true; }
  absl::Status StepRows(const uint8_t* step, bool defer_resets, const float* actions,
                        const EnvBatchOutput& out) override;
  absl::Status ResetRows(const uint8_t* reset, uint8_t* observations, std::vector<EnvFailure>* failures) override {
    return batch_->ResetRows(reset, observations, failures);
  }
  std::vector<EnvMetric> metrics() const override { return batch_->metrics(); }
  // Rendering draws the wrapped instances as they are; one frame per
  // repeated step plays at the wrapped rate / repeat.
  std::vector<std::string> cameras() const override { return batch_->cameras(); }
  absl::Status Render(int index, int width, int height, const std::string& camera, RgbImage* image) override {
    return batch_->Render(index, width, height, camera, image);
  }
  double render_fps() const override { return batch_->render_fps() / repeat_; }

 private:
  ActionRepeatBatch(std::unique_ptr<EnvBatch> batch, EnvSpec spec, int repeat);

  std::unique_ptr<EnvBatch> batch_;
  int repeat_;
  std::vector<uint8_t> going_;  // [N]: rows still stepping in this repeat
  // One repeated step's outcomes, [N] each.
  std::vector<float> rewards_;
  std::vector<uint8_t> terminated_;
  std::vector<uint8_t> truncated_;
  std::vector<uint8_t> masked_;
  std::vector<EnvFailure> failures_;
  std::vector<EnvEpisodeFigures> env_episodes_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_ACTION_REPEAT_H_
