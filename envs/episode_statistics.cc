#include "envs/episode_statistics.h"

#include <utility>

#include "common/status_macros.h"

namespace rill::envs {

EpisodeStatistics::EpisodeStatistics(std::unique_ptr<Env> env) : Env(env->spec()), env_(std::move(env)) {}

void EpisodeStatistics::Reset(float* obs) {
  env_->Reset(obs);
  Started();
}

void EpisodeStatistics::ResetRaw(void* obs) {
  env_->ResetRaw(obs);
  Started();
}

absl::StatusOr<StepResult> EpisodeStatistics::Step(const float* action, float* next_obs) {
  ASSIGN_OR_RETURN(const StepResult result, env_->Step(action, next_obs));
  return Record(result);
}

absl::StatusOr<StepResult> EpisodeStatistics::StepRaw(const float* action, void* next_obs) {
  ASSIGN_OR_RETURN(const StepResult result, env_->StepRaw(action, next_obs));
  return Record(result);
}

void EpisodeStatistics::Started() {
  running_return_ = 0;
  running_length_ = 0;
  finished_.reset();
}

StepResult EpisodeStatistics::Record(StepResult result) {
  finished_.reset();
  running_return_ += result.reward;
  ++running_length_;
  if (result.terminated || result.truncated) {
    finished_ = EpisodeRecord{running_return_, running_length_, result.terminated};
    ++episodes_;
    running_return_ = 0;
    running_length_ = 0;
  }
  return result;
}

}  // namespace rill::envs
