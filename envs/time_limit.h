// TimeLimit: the episode bookkeeping every Env shares. It counts steps since
// Reset, applies Gymnasium's TimeLimit rule (truncate on the step that
// reaches max_episode_steps) and refuses steps once an episode has ended.
//
// Owned by one Env and used from that Env's thread only; not thread-safe.
#ifndef RILL_ENVS_TIME_LIMIT_H_
#define RILL_ENVS_TIME_LIMIT_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envs/interface.h"

namespace rill::envs {

// Turns a requested step limit into the one to use: 0 means the Env's
// default. Returns InvalidArgument for a negative request.
absl::StatusOr<int> ResolveMaxEpisodeSteps(int requested, int env_default);

class TimeLimit {
 public:
  // `max_episode_steps` must be positive (see ResolveMaxEpisodeSteps).
  explicit TimeLimit(int max_episode_steps);

  int max_episode_steps() const { return max_episode_steps_; }
  // Steps taken in the current (or last) episode.
  int elapsed_steps() const { return elapsed_steps_; }

  // Call from Env::Reset: opens a new episode with zero steps taken.
  void StartEpisode();

  // Call at the top of Env::Step, before changing any state. Returns
  // FailedPrecondition (naming `env_name`) when no episode is open: before
  // the first Reset or after the episode ended.
  absl::Status CheckCanStep(absl::string_view env_name) const;

  // Call once per completed step, after the Env has set `result->terminated`.
  // Counts the step, sets `result->truncated` when it reaches the limit and
  // the state is not terminal, and closes the episode if either flag is set.
  void EndStep(StepResult* result);

 private:
  int max_episode_steps_;
  int elapsed_steps_ = 0;
  bool episode_open_ = false;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_TIME_LIMIT_H_
