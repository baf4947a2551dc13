#include "envs/minatar/game_env.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::envs::minatar {

EnvSpec GameEnv::MakeSpec(const std::string& name, int channels, int num_actions) {
  EnvSpec spec;
  spec.name = name;
  spec.observation_shape = {channels, kGridSize, kGridSize};
  spec.observation_type = ObservationType::kUint8;
  spec.discrete = true;
  spec.num_actions = num_actions;
  spec.max_episode_steps = kDefaultMaxEpisodeSteps;
  return spec;
}

GameEnv::GameEnv(EnvSpec spec, std::vector<Action> action_set, uint64_t seed)
    : Env(spec),
      rng_(seed),
      time_limit_(spec.max_episode_steps),
      action_set_(std::move(action_set)),
      channels_(static_cast<int>(spec.observation_shape[0])),
      scratch_(static_cast<size_t>(spec.obs_dim())) {
  assert(static_cast<int>(action_set_.size()) == spec.num_actions);
}

int GameEnv::RandomBelow(int n) {
  // Uniform(0, 1) < 1, so the product lies below n; min guards rounding.
  return std::min(n - 1, static_cast<int>(RandomUnit() * n));
}

void GameEnv::ResetRaw(void* obs) {
  NewGame();
  time_limit_.StartEpisode();
  WriteObservation(static_cast<uint8_t*>(obs));
}

absl::StatusOr<StepResult> GameEnv::StepRaw(const float* action, void* next_obs) {
  RETURN_IF_ERROR(time_limit_.CheckCanStep(name()));
  const float index = action[0];
  if (!(index >= 0 && index < static_cast<float>(action_set_.size())) || index != std::floor(index)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name(), ": action index ", index, " is not one of 0..", action_set_.size() - 1));
  }
  Action applied = action_set_[static_cast<size_t>(index)];
  // MinAtar draws before every step, and the draw decides alone: the
  // repeated action may be the one asked for anyway.
  if (RandomUnit() < sticky_action_probability_) applied = last_action_;
  last_action_ = applied;
  const Outcome outcome = Act(applied);
  WriteObservation(static_cast<uint8_t*>(next_obs));
  StepResult result;
  result.reward = static_cast<float>(outcome.reward);
  result.terminated = outcome.terminal;
  time_limit_.EndStep(&result);
  return result;
}

void GameEnv::Reset(float* obs) {
  ResetRaw(scratch_.data());
  std::copy(scratch_.begin(), scratch_.end(), obs);
}

absl::StatusOr<StepResult> GameEnv::Step(const float* action, float* next_obs) {
  absl::StatusOr<StepResult> result = StepRaw(action, scratch_.data());
  if (result.ok()) std::copy(scratch_.begin(), scratch_.end(), next_obs);
  return result;
}

void GameEnv::WriteObservation(uint8_t* obs) const {
  std::memset(obs, 0, static_cast<size_t>(channels_) * kGridSize * kGridSize);
  Frame frame(obs, channels_);
  Draw(&frame);
}

}  // namespace rill::envs::minatar
