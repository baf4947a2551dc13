// EpisodeStatistics: Gymnasium's RecordEpisodeStatistics for Rill, an Env
// that wraps another and keeps the undiscounted return and the length of
// the episode in progress; when a step ends the episode (terminated or
// truncated) it records them as the last finished episode, for the actor
// or the evaluator to log and export as metrics. Everything else passes
// through unchanged: spaces, time limit, errors (a refused step counts for
// nothing).
//
// Not thread-safe (see Env).
#ifndef RILL_ENVS_EPISODE_STATISTICS_H_
#define RILL_ENVS_EPISODE_STATISTICS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/interface.h"

namespace rill::envs {

// One finished episode.
struct EpisodeRecord {
  // Sum of the rewards, in double so that 1000-step returns keep their
  // float rewards exactly enough.
  double episode_return = 0;
  // Steps in the episode, the last one included.
  int length = 0;
  // Ended by a terminal state (true) or by the time limit (false).
  bool terminated = false;
};

class EpisodeStatistics final : public Env {
 public:
  explicit EpisodeStatistics(std::unique_ptr<Env> env);

  // Starts a new episode: the running return and length go back to zero
  // (an episode abandoned by an early Reset is not recorded).
  void Reset(float* obs) override;
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override;
  void ResetRaw(void* obs) override;
  absl::StatusOr<StepResult> StepRaw(const float* action, void* next_obs) override;
  // Rendering draws the wrapped env as it is.
  std::vector<std::string> cameras() const override { return env_->cameras(); }
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) override {
    return env_->Render(width, height, camera, rgb);
  }
  double render_fps() const override { return env_->render_fps(); }

  // The episode that the last Step ended, if it ended one; cleared by the
  // next Step. Read it after each step to see every finished episode.
  const std::optional<EpisodeRecord>& finished() const { return finished_; }
  // Return and length so far of the episode in progress.
  double running_return() const { return running_return_; }
  int running_length() const { return running_length_; }
  // Episodes finished since creation.
  int64_t episodes() const { return episodes_; }

  Env& wrapped() { return *env_; }

 private:
  void Started();
  StepResult Record(StepResult result);

  std::unique_ptr<Env> env_;
  double running_return_ = 0;
  int running_length_ = 0;
  int64_t episodes_ = 0;
  std::optional<EpisodeRecord> finished_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_EPISODE_STATISTICS_H_
