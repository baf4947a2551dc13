// VideoWriter: RGB frames in, an H.264 MP4 out, through Debian's ffmpeg
// command-line program. `rill render` and the evaluator's videos write with
// it.
//
// Why the ffmpeg CLI and not libavcodec linked in: no Rill binary carries
// libav* (its ABI moves with every Debian release: libavcodec59, 60, ...),
// the encoder runs in its own process on another core while the caller
// renders the next frames, an encoder that fails cannot take the caller down
// with it, and the program's flags stay stable where the library's API does
// not. The cost is one process per video and one copy of each frame through
// a pipe (0.7 MB at 480x480, a fraction of a millisecond).
//
// The MP4 is written to "<path>.partial" and renamed to `path` by Finish
// once ffmpeg has succeeded, so a half-written video never appears under
// the final name (a killed run leaves only the partial file).
//
// Encoding: libx264, yuv420p (what browsers and players decode), an odd
// width or height padded by one black pixel (yuv420p needs even sizes),
// `fps` frames a second, quality CRF 23, preset "veryfast".
//
// Not thread-safe: one thread writes a video.
#ifndef RILL_COMMON_VIDEO_WRITER_H_
#define RILL_COMMON_VIDEO_WRITER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rill {

class VideoWriter {
 public:
  // The ffmpeg program used: $RILL_FFMPEG when set (tests point it at a
  // missing file), else "ffmpeg" looked up on PATH.
  static std::string FfmpegProgram();

  // Whether FfmpegProgram() can be run; FailedPrecondition naming Debian's
  // package otherwise.
  static absl::Status CheckAvailable();

  // Starts ffmpeg writing `path` from frames of `width` x `height` RGB
  // pixels at `fps` frames a second. Errors: InvalidArgument for a size
  // outside 1..8192, an fps outside (0, 1000] or an empty path;
  // FailedPrecondition when ffmpeg cannot be found (naming the package) or
  // the folder of `path` does not exist; Internal when pipe or fork fail.
  static absl::StatusOr<std::unique_ptr<VideoWriter>> Open(const std::string& path, int width, int height,
                                                           double fps);

  // Abandons an unfinished video: ffmpeg is killed and the partial file
  // removed.
  ~VideoWriter();

  // Appends one frame: height rows of width RGB pixels, top row first
  // (3 * width * height bytes). Blocks while ffmpeg's pipe is full.
  // Errors: Internal when ffmpeg has gone (its log's tail in the message);
  // FailedPrecondition after Finish.
  absl::Status WriteFrame(const uint8_t* rgb);

  // Ends the stream, waits for ffmpeg and moves the video to its path.
  // Errors: Internal with ffmpeg's log tail when it fails; FailedPrecondition
  // for a video of no frames (none is written) or a second Finish.
  absl::Status Finish();

  const std::string& path() const { return path_; }
  int frames() const { return frames_; }

 private:
  VideoWriter() = default;
  // ffmpeg's stderr, for error messages.
  std::string LogTail() const;
  void Abandon();

  std::string path_;
  std::string partial_path_;
  std::string log_path_;
  int width_ = 0;
  int height_ = 0;
  int frames_ = 0;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  bool finished_ = false;
};

}  // namespace rill

#endif  // RILL_COMMON_VIDEO_WRITER_H_
