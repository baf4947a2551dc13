#include "envs/minatar/game_env.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
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

render::Rgb GameEnv::ChannelColour(int channel) {
  // Distinct at a glance, and none close to the background.
  static constexpr render::Rgb kPalette[] = {
      {255, 225, 25},  {60, 180, 75},  {0, 130, 200},  {245, 130, 48},  {145, 30, 180},
      {70, 240, 240},  {240, 50, 230}, {230, 25, 75},  {210, 245, 60},  {250, 190, 212},
  };
  constexpr int kColours = sizeof(kPalette) / sizeof(kPalette[0]);
  return kPalette[channel % kColours];
}

std::vector<std::string> GameEnv::cameras() const { return {"default"}; }

absl::Status GameEnv::Render(int width, int height, const std::string& camera, uint8_t* rgb) {
  WriteObservation(scratch_.data());
  // Each cell's colour: later channels paint over earlier ones.
  render::Rgb cells[kGridSize][kGridSize];
  for (auto& row : cells) std::fill(std::begin(row), std::end(row), kBackground);
  for (int channel = 0; channel < channels_; ++channel) {
    const uint8_t* plane = &scratch_[static_cast<size_t>(channel) * kGridSize * kGridSize];
    for (int r = 0; r < kGridSize; ++r) {
      for (int c = 0; c < kGridSize; ++c) {
        if (plane[r * kGridSize + c] != 0) cells[r][c] = ChannelColour(channel);
      }
    }
  }
  // One image row per cell row is drawn; the cell's other rows copy it.
  const size_t row_bytes = static_cast<size_t>(width) * 3;
  for (int r = 0; r < kGridSize; ++r) {
    const int first_y = r * height / kGridSize;
    const int end_y = (r + 1) * height / kGridSize;
    if (first_y == end_y) continue;
    uint8_t* first_row = rgb + first_y * row_bytes;
    for (int c = 0; c < kGridSize; ++c) {
      const render::Rgb colour = cells[r][c];
      for (int x = c * width / kGridSize; x < (c + 1) * width / kGridSize; ++x) {
        first_row[3 * x] = colour.r;
        first_row[3 * x + 1] = colour.g;
        first_row[3 * x + 2] = colour.b;
      }
    }
    for (int y = first_y + 1; y < end_y; ++y) std::memcpy(rgb + y * row_bytes, first_row, row_bytes);
  }
  return absl::OkStatus();
}

}  // namespace rill::envs::minatar
