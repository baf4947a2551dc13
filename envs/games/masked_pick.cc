#include "envs/games/masked_pick.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/render/canvas.h"

namespace rill::envs::games {
namespace {

constexpr render::Rgb kBackground = {16, 16, 24};
constexpr render::Rgb kPickableColour = {64, 200, 96};
constexpr render::Rgb kGoneColour = {96, 96, 104};

}  // namespace

EnvSpec MaskedPick::Spec() {
  EnvSpec spec;
  spec.name = kName;
  spec.observation_shape = {2 * kItems};
  spec.discrete = true;
  spec.num_actions = kItems;
  spec.max_episode_steps = kDefaultMaxEpisodeSteps;
  spec.action_mask = true;
  return spec;
}

absl::StatusOr<std::unique_ptr<MaskedPick>> MaskedPick::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  return std::unique_ptr<MaskedPick>(new MaskedPick(steps, seed));
}

MaskedPick::MaskedPick(int max_episode_steps, uint64_t seed)
    : Env(WithTimeLimit(Spec(), max_episode_steps)), rng_(seed), time_limit_(max_episode_steps) {}

void MaskedPick::Reset(float* obs) {
  time_limit_.StartEpisode();
  picks_ = 0;
  for (float& value : values_) value = static_cast<float>(rng_.Uniform(0, 1));
  // kPickable of the items, by a partial Fisher-Yates shuffle.
  std::array<int, kItems> order;
  for (int k = 0; k < kItems; ++k) order[k] = k;
  for (int k = 0; k < kPickable; ++k) {
    const int j = k + std::min(kItems - k - 1, static_cast<int>(rng_.Uniform(0, kItems - k)));
    std::swap(order[k], order[j]);
  }
  pickable_.fill(false);
  for (int k = 0; k < kPickable; ++k) pickable_[order[k]] = true;
  WriteObs(obs);
}

absl::StatusOr<StepResult> MaskedPick::Step(const float* action, float* next_obs) {
  RETURN_IF_ERROR(time_limit_.CheckCanStep(kName));
  const float a = action[0];
  if (!(a >= 0 && a < kItems) || a != std::floor(a)) {
    return absl::InvalidArgumentError(absl::StrCat(kName, ": action ", a, " is not an item 0..", kItems - 1));
  }
  const int item = static_cast<int>(a);
  StepResult result;
  if (pickable_[item]) {
    result.reward = values_[item];
    values_[item] = 0;
    pickable_[item] = false;
    result.terminated = ++picks_ == kPicks;
  } else {
    result.reward = kForbiddenReward;
    result.terminated = true;
  }
  time_limit_.EndStep(&result);
  WriteObs(next_obs);
  return result;
}

void MaskedPick::WriteObs(float* obs) const {
  for (int k = 0; k < kItems; ++k) {
    obs[k] = values_[k];
    obs[kItems + k] = pickable_[k] ? 1.f : 0.f;
  }
}

absl::Status MaskedPick::Render(int width, int height, const std::string& camera, uint8_t* rgb) {
  if (camera != "default") {
    return absl::InvalidArgumentError(absl::StrCat(kName, " has no camera \"", camera, "\" (only \"default\")"));
  }
  if (width < 1 || height < 1) {
    return absl::InvalidArgumentError(absl::StrCat(kName, ": cannot render ", width, "x", height));
  }
  render::Canvas canvas(width, height, rgb);
  canvas.SetView(0, kItems, 0, 1);
  canvas.Fill(kBackground);
  for (int k = 0; k < kItems; ++k) {
    // A picked item keeps a sliver, so that it still shows where it was.
    canvas.FillRect(k + 0.15, 0, k + 0.85, std::max(values_[k], 0.02f), pickable_[k] ? kPickableColour : kGoneColour);
  }
  return absl::OkStatus();
}

}  // namespace rill::envs::games
