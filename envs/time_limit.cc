#include "envs/time_limit.h"

#include "absl/strings/str_cat.h"

namespace rill::envs {

absl::StatusOr<int> ResolveMaxEpisodeSteps(int requested, int env_default) {
  if (requested < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_episode_steps must be >= 0 (0 = env default), got ", requested));
  }
  return requested == 0 ? env_default : requested;
}

TimeLimit::TimeLimit(int max_episode_steps)
    : max_episode_steps_(max_episode_steps) {}

void TimeLimit::StartEpisode() {
  elapsed_steps_ = 0;
  episode_open_ = true;
}

absl::Status TimeLimit::CheckCanStep(absl::string_view env_name) const {
  if (episode_open_) return absl::OkStatus();
  if (elapsed_steps_ == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(env_name, ": Step called before Reset"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat(env_name, ": Step called after the episode ended (after ",
                   elapsed_steps_, " steps); call Reset first"));
}

void TimeLimit::EndStep(StepResult* result) {
  ++elapsed_steps_;
  result->truncated =
      !result->terminated && elapsed_steps_ >= max_episode_steps_;
  if (result->terminated || result->truncated) episode_open_ = false;
}

}  // namespace rill::envs
