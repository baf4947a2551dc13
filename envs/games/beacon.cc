#include "envs/games/beacon.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/render/canvas.h"

namespace rill::envs::games {
namespace {

constexpr uint8_t kOn = 255;
constexpr int kCells = BeaconEnv::kSize * BeaconEnv::kSize;
constexpr render::Rgb kBackground = {16, 16, 24};
constexpr render::Rgb kGridColour = {48, 48, 60};
constexpr render::Rgb kAgentColour = {64, 160, 255};
constexpr render::Rgb kBeaconColour = {255, 200, 40};

// A cell drawn uniformly, from one draw of the env's stream.
int DrawCell(SeededRng& rng) { return std::min(kCells - 1, static_cast<int>(rng.Uniform(0, kCells))); }

}  // namespace

EnvSpec BeaconEnv::MakeSpec(const std::string& name, View view) {
  EnvSpec spec;
  spec.name = name;
  spec.discrete = true;
  spec.num_actions = kActions;
  spec.max_episode_steps = kDefaultMaxEpisodeSteps;
  const ObservationLeaf image{"image", {1, kSize, kSize}, ObservationType::kUint8};
  const ObservationLeaf beacon{"beacon", {2}, ObservationType::kFloat32};
  switch (view) {
    case View::kBoth:
      spec.observation_leaves = {image, beacon};
      spec.observation_shape = image.shape;
      spec.observation_type = ObservationType::kUint8;
      spec.flat_dim = 2;
      break;
    case View::kImage:
      spec.observation_shape = image.shape;
      spec.observation_type = ObservationType::kUint8;
      break;
    case View::kPosition:
      spec.observation_shape = beacon.shape;
      break;
    case View::kCameras:
      // Two image leaves of one size: one [2, 7, 7] image in a row, a
      // torso each.
      spec.observation_leaves = {{"agent", {1, kSize, kSize}, ObservationType::kUint8},
                                 {"beacon", {1, kSize, kSize}, ObservationType::kUint8}};
      spec.observation_shape = {2, kSize, kSize};
      spec.observation_type = ObservationType::kUint8;
      break;
  }
  return spec;
}

BeaconEnv::BeaconEnv(EnvSpec spec, View view, uint64_t seed)
    : Env(spec),
      view_(view),
      rng_(seed),
      time_limit_(spec.max_episode_steps),
      bytes_(static_cast<size_t>(spec.obs_bytes())) {}

absl::StatusOr<std::unique_ptr<Beacon>> Beacon::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  return std::unique_ptr<Beacon>(new Beacon(WithTimeLimit(Spec(), steps), View::kBoth, seed));
}
absl::StatusOr<std::unique_ptr<BeaconImage>> BeaconImage::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  return std::unique_ptr<BeaconImage>(new BeaconImage(WithTimeLimit(Spec(), steps), View::kImage, seed));
}
absl::StatusOr<std::unique_ptr<BeaconCameras>> BeaconCameras::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  return std::unique_ptr<BeaconCameras>(new BeaconCameras(WithTimeLimit(Spec(), steps), View::kCameras, seed));
}
absl::StatusOr<std::unique_ptr<BeaconPosition>> BeaconPosition::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  return std::unique_ptr<BeaconPosition>(new BeaconPosition(WithTimeLimit(Spec(), steps), View::kPosition, seed));
}

void BeaconEnv::Start() {
  time_limit_.StartEpisode();
  const int agent = DrawCell(rng_);
  // The beacon on one of the other 48 cells.
  int beacon = std::min(kCells - 2, static_cast<int>(rng_.Uniform(0, kCells - 1)));
  if (beacon >= agent) ++beacon;
  agent_col_ = agent % kSize;
  agent_row_ = agent / kSize;
  beacon_col_ = beacon % kSize;
  beacon_row_ = beacon / kSize;
}

void BeaconEnv::ResetRaw(void* obs) {
  Start();
  WriteBytes(static_cast<uint8_t*>(obs));
}

void BeaconEnv::Reset(float* obs) {
  Start();
  WriteFloats(obs);
}

absl::StatusOr<StepResult> BeaconEnv::Step(const float* action, float* next_obs) {
  ASSIGN_OR_RETURN(const StepResult result, StepRaw(action, bytes_.data()));
  WriteFloats(next_obs);
  return result;
}

absl::StatusOr<StepResult> BeaconEnv::StepRaw(const float* action, void* next_obs) {
  RETURN_IF_ERROR(time_limit_.CheckCanStep(name()));
  const float a = action[0];
  if (!(a >= 0 && a < kActions) || a != std::floor(a)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name(), ": action ", a, " is not one of 0 (up), 1 (right), 2 (down), 3 (left)"));
  }
  static constexpr int kCol[kActions] = {0, 1, 0, -1};
  static constexpr int kRow[kActions] = {-1, 0, 1, 0};
  const int move = static_cast<int>(a);
  agent_col_ = std::clamp(agent_col_ + kCol[move], 0, kSize - 1);
  agent_row_ = std::clamp(agent_row_ + kRow[move], 0, kSize - 1);
  StepResult result;
  result.terminated = agent_col_ == beacon_col_ && agent_row_ == beacon_row_;
  result.reward = result.terminated ? kBeaconReward : kStepReward;
  time_limit_.EndStep(&result);
  WriteBytes(static_cast<uint8_t*>(next_obs));
  return result;
}

void BeaconEnv::WriteBytes(uint8_t* obs) const {
  const float beacon[2] = {beacon_col_ / static_cast<float>(kSize - 1), beacon_row_ / static_cast<float>(kSize - 1)};
  if (view_ == View::kPosition) {
    std::memcpy(obs, beacon, sizeof(beacon));
    return;
  }
  std::fill_n(obs, kCells, 0);
  obs[agent_row_ * kSize + agent_col_] = kOn;
  if (view_ == View::kCameras) {
    // The second image: the beacon's cell.
    std::fill_n(obs + kCells, kCells, 0);
    obs[kCells + beacon_row_ * kSize + beacon_col_] = kOn;
    return;
  }
  // The flat leaf's float32s follow the image's bytes, at any alignment.
  if (view_ == View::kBoth) std::memcpy(obs + kCells, beacon, sizeof(beacon));
}

void BeaconEnv::WriteFloats(float* obs) {
  WriteBytes(bytes_.data());
  if (view_ == View::kPosition) {
    std::memcpy(obs, bytes_.data(), bytes_.size());
    return;
  }
  for (int k = 0; k < spec().shape_elements(); ++k) obs[k] = bytes_[k];
  if (view_ == View::kBoth) std::memcpy(obs + kCells, bytes_.data() + kCells, 2 * sizeof(float));
}

void BeaconEnv::SetCellsForTesting(int agent_col, int agent_row, int beacon_col, int beacon_row) {
  agent_col_ = agent_col;
  agent_row_ = agent_row;
  beacon_col_ = beacon_col;
  beacon_row_ = beacon_row;
}

absl::Status BeaconEnv::Render(int width, int height, const std::string& camera, uint8_t* rgb) {
  if (camera != "default") {
    return absl::InvalidArgumentError(absl::StrCat(name(), " has no camera \"", camera, "\" (only \"default\")"));
  }
  if (width < 1 || height < 1) {
    return absl::InvalidArgumentError(absl::StrCat(name(), ": cannot render ", width, "x", height));
  }
  render::Canvas canvas(width, height, rgb);
  // y up: row r of the grid (row 0 at the top, as the image leaf has it)
  // spans y from kSize - 1 - r to kSize - r.
  canvas.SetView(0, kSize, 0, kSize);
  canvas.Fill(kBackground);
  for (int k = 1; k < kSize; ++k) {
    canvas.DrawLine({static_cast<double>(k), 0}, {static_cast<double>(k), kSize}, 0.03, kGridColour);
    canvas.DrawLine({0, static_cast<double>(k)}, {kSize, static_cast<double>(k)}, 0.03, kGridColour);
  }
  const double beacon_y = kSize - 1 - beacon_row_;
  canvas.FillRect(beacon_col_ + 0.15, beacon_y + 0.15, beacon_col_ + 0.85, beacon_y + 0.85, kBeaconColour);
  canvas.FillCircle({agent_col_ + 0.5, kSize - 1 - agent_row_ + 0.5}, 0.32, kAgentColour);
  return absl::OkStatus();
}

}  // namespace rill::envs::games
