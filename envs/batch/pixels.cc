#include "envs/batch/pixels.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace rill::envs {
namespace {

void SortUnique(std::vector<EnvFailure>* failures) {
  std::stable_sort(failures->begin(), failures->end(),
                   [](const EnvFailure& a, const EnvFailure& b) { return a.index < b.index; });
  failures->erase(std::unique(failures->begin(), failures->end(),
                              [](const EnvFailure& a, const EnvFailure& b) { return a.index == b.index; }),
                  failures->end());
}

}  // namespace

absl::StatusOr<std::unique_ptr<PixelsBatch>> PixelsBatch::Create(std::unique_ptr<EnvBatch> batch,
                                                                 const PixelsOptions& options) {
  ASSIGN_OR_RETURN(EnvSpec spec, PixelsSpec(batch->spec(), options));
  const std::vector<std::string> cameras = batch->cameras();
  const std::string& name = batch->spec().name;
  if (cameras.empty()) return absl::UnimplementedError(absl::StrCat(name, " cannot render: it has no camera"));
  PixelsOptions resolved = options;
  if (resolved.camera.empty()) {
    resolved.camera = cameras.front();
  } else if (std::find(cameras.begin(), cameras.end(), resolved.camera) == cameras.end()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " has no camera '", resolved.camera,
                                                   "'; its cameras: ", absl::StrJoin(cameras, ", ")));
  }
  if (!batch->row_control()) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, "'s envs cannot be observed as pixels: their batch cannot defer a reset"));
  }
  std::unique_ptr<PixelsBatch> pixels(new PixelsBatch(std::move(batch), std::move(spec), resolved));
  // One frame now: an env whose renderer cannot start fails here, before
  // any episode, rather than at its first step.
  std::vector<uint8_t> frame(pixels->frame_bytes_);
  RETURN_IF_ERROR(pixels->Draw(0, frame.data()));
  return pixels;
}

PixelsBatch::PixelsBatch(std::unique_ptr<EnvBatch> batch, EnvSpec spec, const PixelsOptions& options)
    : EnvBatch(std::move(spec), batch->size()),
      batch_(std::move(batch)),
      options_(options),
      frame_bytes_(static_cast<size_t>(this->spec().obs_bytes())),
      states_(static_cast<size_t>(size()) * batch_->spec().obs_bytes()),
      final_states_(states_.size()),
      reset_(static_cast<size_t>(size())) {}

absl::Status PixelsBatch::Draw(int i, uint8_t* observations) {
  absl::Status drawn = batch_->Render(i, options_.width, options_.height, options_.camera, &image_);
  if (!drawn.ok()) {
    return absl::Status(drawn.code(),
                        absl::StrCat("cannot draw ", batch_->spec().name, " instance ", i, "'s frame: ", drawn.message()));
  }
  uint8_t* row = observations + static_cast<size_t>(i) * frame_bytes_;
  FrameOfImage(image_, options_, row);
  if (options_.state) {
    // The state the frame shows, its float32s after the frame's bytes.
    const size_t state_bytes = states_.size() / static_cast<size_t>(size());
    std::memcpy(row + frame_bytes_ - state_bytes, states_.data() + static_cast<size_t>(i) * state_bytes, state_bytes);
  }
  return absl::OkStatus();
}

absl::Status PixelsBatch::Reset(uint8_t* observations) {
  RETURN_IF_ERROR(batch_->Reset(states_.data()));
  for (int i = 0; i < size(); ++i) RETURN_IF_ERROR(Draw(i, observations));
  return absl::OkStatus();
}

absl::Status PixelsBatch::StepRows(const uint8_t* step, bool defer_resets, const float* actions,
                                   const EnvBatchOutput& out) {
  const int n = size();
  EnvBatchOutput states = out;
  states.observations = states_.data();
  states.final_observations = final_states_.data();
  // Always deferred: an ended row's last state is drawn before its reset.
  RETURN_IF_ERROR(batch_->StepRows(step, /*defer_resets=*/true, actions, states));
  std::fill(reset_.begin(), reset_.end(), 0);
  size_t failure = 0;
  bool any_reset = false;
  for (int i = 0; i < n; ++i) {
    // A failed row has been reset (every row, stepped or not, when a
    // remote batch's stream broke): its frame is its new state's.
    while (failure < out.failures->size() && (*out.failures)[failure].index < i) ++failure;
    if (failure < out.failures->size() && (*out.failures)[failure].index == i) {
      DrawFailed(i, out.observations);
      continue;
    }
    if (step[i] == 0) continue;
    RETURN_IF_ERROR(Draw(i, out.observations));
    if (out.terminated[i] == 0 && out.truncated[i] == 0) continue;
    std::memcpy(out.final_observations + static_cast<size_t>(i) * frame_bytes_,
                out.observations + static_cast<size_t>(i) * frame_bytes_, frame_bytes_);
    if (!defer_resets) {
      reset_[i] = 1;
      any_reset = true;
    }
  }
  if (!any_reset) return absl::OkStatus();
  RETURN_IF_ERROR(batch_->ResetRows(reset_.data(), states_.data(), &reset_failures_));
  // A reset that failed, or a stream that broke: those rows fail in this
  // step.
  for (const EnvFailure& failed : reset_failures_) {
    reset_[failed.index] = 2;
    out.rewards[failed.index] = 0;
  }
  for (int i = 0; i < n; ++i) {
    if (reset_[i] == 1) RETURN_IF_ERROR(Draw(i, out.observations));
    if (reset_[i] == 2) DrawFailed(i, out.observations);
  }
  if (reset_failures_.empty()) return absl::OkStatus();
  out.failures->insert(out.failures->end(), reset_failures_.begin(), reset_failures_.end());
  SortUnique(out.failures);
  return absl::OkStatus();
}

void PixelsBatch::DrawFailed(int i, uint8_t* observations) {
  if (!Draw(i, observations).ok()) std::memset(observations + static_cast<size_t>(i) * frame_bytes_, 0, frame_bytes_);
}

absl::Status PixelsBatch::ResetRows(const uint8_t* reset, uint8_t* observations, std::vector<EnvFailure>* failures) {
  RETURN_IF_ERROR(batch_->ResetRows(reset, states_.data(), failures));
  std::copy_n(reset, size(), reset_.begin());
  for (const EnvFailure& failed : *failures) reset_[failed.index] = 2;
  for (int i = 0; i < size(); ++i) {
    if (reset_[i] == 1) RETURN_IF_ERROR(Draw(i, observations));
    if (reset_[i] == 2) DrawFailed(i, observations);
  }
  return absl::OkStatus();
}

}  // namespace rill::envs
