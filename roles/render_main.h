// `rill render --checkpoint_dir=DIR [--episodes=N] [--out=episode.mp4]
// [--size=480x480] [--camera=NAME] [--fps=F] [--config=C] [--seed=S]`:
// plays a checkpoint's deterministic policy, as `rill eval` does (the
// actors' own policy code on the run's env), and writes what the env shows
// as an H.264 MP4: N episodes one after another in one video. It prints a
// line per episode and, last, one JSON object (the video, its frames,
// seconds and frame rate, the episodes' returns, the wall time).
//
// The video plays in real time by default (the env's render_fps: one frame
// a step). Envs that cannot render are refused by name at the start, as
// is a missing ffmpeg (common/video_writer.h says why the program and not
// the library). Remote envs play as `rill eval` plays them: on the server
// of --env_address, or on the one env.remote.command starts, stopped at the
// end, on every error and on Ctrl-C or SIGTERM.
//
// Thread-compatible: RenderCheckpoint runs on the calling thread; only
// `stop` is notified from another.
#ifndef RILL_ROLES_RENDER_MAIN_H_
#define RILL_ROLES_RENDER_MAIN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "envs/episode_statistics.h"

namespace rill::roles {

struct RenderOptions {
  // A run folder, a learner's checkpoint folder or one checkpoint.
  std::string checkpoint_dir;
  // As EvalOptions': empty takes the run's config.textpb.
  std::string config;
  int episodes = 1;
  int64_t seed = -1;
  // The MP4 written (its folder must exist).
  std::string out = "episode.mp4";
  int width = 480;
  int height = 480;
  std::string camera;  // "": the env's default
  double fps = 0;      // 0: the env's real-time rate
  // As EvalOptions': a running env server for remote envs (HOST:PORT), and
  // what ends the play early (Cancelled; may be null).
  std::string env_address;
  const absl::Notification* stop = nullptr;
};

struct RenderReport {
  std::string video;
  std::string env;
  std::string checkpoint;
  std::string config;
  int64_t parameter_version = 0;
  std::vector<envs::EpisodeRecord> episodes;
  int frames = 0;
  double fps = 0;
  // Wall seconds from the first reset to the finished file.
  double wall_seconds = 0;
};

// Plays and records options.episodes episodes. Errors: InvalidArgument for
// episodes < 1, a bad size or fps, an unknown camera; Unimplemented for an
// env that cannot render; FailedPrecondition without ffmpeg or a folder for
// --out; OpenCheckpointedPolicy's; the env's renderer's; Cancelled when
// options.stop is notified before the last episode has ended.
absl::StatusOr<RenderReport> RenderCheckpoint(const RenderOptions& options);

// What `rill render` prints: a line per episode, the summary line, and the
// JSON object as the last line.
std::string FormatRenderReport(const RenderReport& report);

// The flags as RenderOptions, RenderCheckpoint, FormatRenderReport to
// stdout; Ctrl-C or SIGTERM stops it (and the env server it started).
// Returns the exit code: 0; 2 for bad flags or input (the message says
// which); 1 for other failures and interruptions.
int RenderMain();

}  // namespace rill::roles

#endif  // RILL_ROLES_RENDER_MAIN_H_
