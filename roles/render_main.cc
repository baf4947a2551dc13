#include "roles/render_main.h"

#include <cstdio>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/internal/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "actor/episode_video.h"
#include "actor/evaluator.h"
#include "common/blas.h"
#include "common/json_string.h"
#include "common/process.h"
#include "common/status_macros.h"
#include "envs/render.h"
#include "flags/flags.h"
#include "roles/eval_main.h"

ABSL_FLAG(std::string, size, "480x480", "rill render: the video's WIDTHxHEIGHT in pixels (each 1..4096).");
ABSL_FLAG(std::string, camera, "",
          "rill render: the camera to draw from (`rill envs` lists each env's; empty: the env's default).");
ABSL_FLAG(double, fps, 0, "rill render: the video's frames per second; 0: the env's real-time rate (a frame a step).");

namespace rill::roles {
namespace {

actor::EpisodeVideoOptions VideoOptions(const RenderOptions& options) {
  actor::EpisodeVideoOptions video;
  video.path = options.out;
  video.width = options.width;
  video.height = options.height;
  video.camera = options.camera;
  video.fps = options.fps;
  return video;
}

}  // namespace

absl::StatusOr<RenderReport> RenderCheckpoint(const RenderOptions& options) {
  if (options.episodes < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--episodes must be at least 1, got ", options.episodes));
  }
  if (options.fps < 0 || options.fps > 1000) {
    return absl::InvalidArgumentError(absl::StrCat("--fps=", options.fps, ": must lie in [0, 1000] (0: the env's)"));
  }
  ASSIGN_OR_RETURN(CheckpointedPolicy opened,
                   OpenCheckpointedPolicy(options.checkpoint_dir, options.config, /*num_envs=*/1, options.seed,
                                          {options.env_address, /*log_path=*/"", options.stop}));
  const actor::EpisodeVideoOptions video_options = VideoOptions(options);
  RETURN_IF_ERROR(actor::EpisodeVideo::CheckCanRecord(*opened.envs, video_options));

  RenderReport report;
  report.video = options.out;
  report.env = opened.env;
  report.checkpoint = opened.checkpoint;
  report.config = opened.config;
  report.parameter_version = opened.parameter_version;
  report.fps = options.fps > 0 ? options.fps : opened.envs->render_fps();

  // As `rill eval`: the policy's forwards are small.
  SetBlasThreads(1);
  const absl::Notification never;
  const absl::Time start = absl::Now();
  actor::EpisodeVideo video(video_options);
  for (int episode = 0; episode < options.episodes; ++episode) {
    ASSIGN_OR_RETURN(actor::EvaluationRound round,
                     actor::PlayEvaluationRound(*opened.envs, opened.acting(), options.stop ? *options.stop : never,
                                                &video));
    if (!round.finished) return absl::CancelledError("interrupted before the last episode had ended");
    report.episodes.push_back(round.episodes[0]);
  }
  report.frames = video.frames();
  RETURN_IF_ERROR(video.Finish());
  report.wall_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return report;
}

std::string FormatRenderReport(const RenderReport& report) {
  std::string out;
  std::vector<std::string> returns;
  for (size_t i = 0; i < report.episodes.size(); ++i) {
    const envs::EpisodeRecord& episode = report.episodes[i];
    absl::StrAppendFormat(&out, "episode %d: return %.1f, length %d%s\n", i + 1, episode.episode_return,
                          episode.length, episode.terminated ? "" : " (time limit)");
    returns.push_back(absl::StrFormat("%.10g", episode.episode_return));
  }
  const double seconds = report.fps > 0 ? report.frames / report.fps : 0;
  absl::StrAppendFormat(&out, "render: %d episodes of %s, %d frames (%.1f s at %.4g fps) in %.1f s, policy %s, to %s\n",
                        report.episodes.size(), report.env, report.frames, seconds, report.fps, report.wall_seconds,
                        report.parameter_version > 0 ? absl::StrCat("version ", report.parameter_version)
                                                     : std::string("version unknown"),
                        report.video);
  absl::StrAppendFormat(&out,
                        "{\"video\":%s,\"env\":%s,\"episodes\":%d,\"returns\":[%s],\"frames\":%d,\"fps\":%.10g,"
                        "\"video_seconds\":%.10g,\"wall_seconds\":%.10g,\"parameter_version\":%s,\"checkpoint\":%s,"
                        "\"config\":%s}\n",
                        JsonString(report.video), JsonString(report.env), report.episodes.size(),
                        absl::StrJoin(returns, ","), report.frames, report.fps, seconds, report.wall_seconds,
                        report.parameter_version > 0 ? absl::StrCat(report.parameter_version) : "null",
                        JsonString(report.checkpoint), JsonString(report.config));
  return out;
}

int RenderMain() {
  // Ctrl-C ends the play and stops the env server it started.
  absl::Notification& stop = InstallShutdownSignals();
  RenderOptions options;
  options.stop = &stop;
  options.env_address = absl::GetFlag(FLAGS_env_address);
  options.checkpoint_dir = absl::GetFlag(FLAGS_checkpoint_dir);
  if (absl::GetFlag(FLAGS_episodes) != -1) options.episodes = absl::GetFlag(FLAGS_episodes);
  if (!absl::GetFlag(FLAGS_out).empty()) options.out = absl::GetFlag(FLAGS_out);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.camera = absl::GetFlag(FLAGS_camera);
  options.fps = absl::GetFlag(FLAGS_fps);
  // --config as `rill eval` takes it: only when given.
  if (absl::flags_internal::WasPresentOnCommandLine("config")) options.config = absl::GetFlag(FLAGS_config);
  if (options.checkpoint_dir.empty()) {
    std::fprintf(stderr,
                 "rill render: --checkpoint_dir is required (a run folder, its checkpoints/learner folder or one "
                 "checkpoint)\n");
    return 2;
  }
  absl::Status size = envs::ParseRenderSize(absl::GetFlag(FLAGS_size), "--size", &options.width, &options.height);
  if (!size.ok()) {
    std::fprintf(stderr, "rill render: %s\n", std::string(size.message()).c_str());
    return 2;
  }
  absl::StatusOr<RenderReport> report = RenderCheckpoint(options);
  if (!report.ok()) {
    std::fprintf(stderr, "rill render: %s\n", std::string(report.status().message()).c_str());
    const absl::StatusCode code = report.status().code();
    const bool bad_input = code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kNotFound ||
                           code == absl::StatusCode::kFailedPrecondition || code == absl::StatusCode::kUnimplemented;
    return bad_input ? 2 : 1;
  }
  std::fputs(FormatRenderReport(*report).c_str(), stdout);
  return 0;
}

}  // namespace rill::roles
