#include "actor/episode_video.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace rill::actor {

absl::Status EpisodeVideo::CheckCanRecord(const LockstepEnvs& envs, const EpisodeVideoOptions& options) {
  if (options.width < 1 || options.height < 1 || options.width > envs::kMaxRenderSize ||
      options.height > envs::kMaxRenderSize) {
    return absl::InvalidArgumentError(absl::StrCat("a video of ", options.width, "x", options.height,
                                                   " pixels: width and height must lie in 1..", envs::kMaxRenderSize));
  }
  const std::vector<std::string> cameras = envs.cameras();
  if (cameras.empty()) return absl::UnimplementedError(absl::StrCat(envs.spec().name, " cannot render"));
  if (!options.camera.empty() && std::find(cameras.begin(), cameras.end(), options.camera) == cameras.end()) {
    return absl::InvalidArgumentError(absl::StrCat(envs.spec().name, " has no camera '", options.camera,
                                                   "'; its cameras: ", absl::StrJoin(cameras, ", ")));
  }
  return VideoWriter::CheckAvailable();
}

void EpisodeVideo::Frame(LockstepEnvs& envs, int index) {
  if (!status_.ok()) return;
  status_ = envs.Render(index, options_.width, options_.height, options_.camera, &image_);
  if (!status_.ok()) return;
  if (writer_ == nullptr) {
    const double fps = options_.fps > 0 ? options_.fps : envs.render_fps();
    absl::StatusOr<std::unique_ptr<VideoWriter>> opened =
        VideoWriter::Open(options_.path, image_.width, image_.height, fps);
    if (!opened.ok()) {
      status_ = opened.status();
      return;
    }
    writer_ = *std::move(opened);
    first_width_ = image_.width;
    first_height_ = image_.height;
  } else if (image_.width != first_width_ || image_.height != first_height_) {
    status_ = absl::FailedPreconditionError(absl::StrCat("the env drew a frame of ", image_.width, "x", image_.height,
                                                         " after frames of ", first_width_, "x", first_height_,
                                                         "; a video keeps one size"));
    writer_.reset();  // abandons the partial file
    return;
  }
  status_ = writer_->WriteFrame(image_.rgb.data());
}

absl::Status EpisodeVideo::Finish() {
  if (!status_.ok()) {
    writer_.reset();
    return status_;
  }
  if (writer_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("the video '", options_.path, "' has no frames"));
  }
  return writer_->Finish();
}

}  // namespace rill::actor
