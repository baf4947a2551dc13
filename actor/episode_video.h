// EpisodeVideo: one env's episode drawn frame by frame into an MP4
// (common/video_writer.h). PlayEvaluationRound feeds it env 0's frames: the
// first after the reset, then one after every step until that env's episode
// ends (the state an episode ends on is not drawn: the env has been reset
// by then, and the frame before it shows where it was going). `rill render`
// and the evaluator's periodic videos both record this way.
//
// The video opens on the first frame, at that frame's size: a remote
// (Python) env draws at its own size, whatever was asked.
//
// Not thread-safe: the round's thread owns it.
#ifndef RILL_ACTOR_EPISODE_VIDEO_H_
#define RILL_ACTOR_EPISODE_VIDEO_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "actor/lockstep_envs.h"
#include "common/video_writer.h"
#include "envs/render.h"

namespace rill::actor {

struct EpisodeVideoOptions {
  std::string path;  // the MP4 to write
  int width = 480;
  int height = 480;
  std::string camera;  // "": the env's default
  double fps = 0;      // 0: the env's real-time rate (LockstepEnvs::render_fps)
};

class EpisodeVideo {
 public:
  explicit EpisodeVideo(EpisodeVideoOptions options) : options_(std::move(options)) {}

  // Checks, before any episode is played, that `envs` can render from the
  // camera asked and that ffmpeg is there: Unimplemented for envs that
  // cannot render, InvalidArgument for an unknown camera or a bad size,
  // FailedPrecondition without ffmpeg (naming the package).
  static absl::Status CheckCanRecord(const LockstepEnvs& envs, const EpisodeVideoOptions& options);

  // Draws env `index` of `envs` and appends the frame (opening the video on
  // the first). A video that fails stops recording and keeps its first
  // error in status(): the episode it was drawing goes on regardless (an
  // evaluation round never fails for its video). Errors kept: the render's
  // (LockstepEnvs::Render), the writer's, and FailedPrecondition for a frame
  // of another size than the first.
  void Frame(LockstepEnvs& envs, int index = 0);

  // Ends the video and moves it to options.path. status() when the video
  // had failed; the writer's errors; FailedPrecondition when no frame came.
  absl::Status Finish();

  // OK, or the error that stopped the recording.
  const absl::Status& status() const { return status_; }
  int frames() const { return writer_ == nullptr ? 0 : writer_->frames(); }
  const std::string& path() const { return options_.path; }

 private:
  EpisodeVideoOptions options_;
  envs::RgbImage image_;
  std::unique_ptr<VideoWriter> writer_;
  int first_width_ = 0;
  int first_height_ = 0;
  absl::Status status_;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_EPISODE_VIDEO_H_
