// Beacon: Rill's own task for Dict observations (EnvSpec::
// observation_leaves), one that needs both of its leaves. An agent walks a
// 7 x 7 grid towards a beacon; both start on distinct cells drawn at
// random. Actions (Discrete(4)): up, right, down, left; a move into the
// edge stays put. Reaching the beacon pays +1 and terminates the episode;
// every other step costs 0.02. Episodes are cut at 40 steps.
//
// Observation of Beacon-v0, a Dict of:
//   "image"  uint8 [1, 7, 7]: 255 on the agent's cell, 0 elsewhere;
//   "beacon" float32 [2]: the beacon's column and row, each / 6.
// Neither alone is enough to walk straight there: the image shows where the
// agent is and not the beacon, the vector where the beacon is and not the
// agent. Walking straight pays 0.93 on average (1 - 0.02 * (the Manhattan
// distance - 1), a distance of 4.57 on average). Two ablations observe one
// leaf each, as a plain Box: BeaconImage-v0 the image, BeaconPosition-v0
// the vector; the return each reaches measures what the other leaf adds
// (docs/algorithms.md, "Dict observations"). BeaconCameras-v0 observes a
// Dict of two images, "agent" and "beacon", uint8 [1, 7, 7] each (255 on
// the agent's, the beacon's cell): a torso runs on each
// (PolicySpec.image_channels).
//
// Renders (one camera, "default") the grid, the agent and the beacon.
// Not thread-safe (see Env).
#ifndef RILL_ENVS_GAMES_BEACON_H_
#define RILL_ENVS_GAMES_BEACON_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/seeded_rng.h"
#include "envs/time_limit.h"

namespace rill::envs::games {

class BeaconEnv : public Env {
 public:
  static constexpr int kSize = 7;
  static constexpr int kActions = 4;
  static constexpr float kBeaconReward = 1.f;
  static constexpr float kStepReward = -0.02f;
  static constexpr int kDefaultMaxEpisodeSteps = 40;

  // What a row observes.
  enum class View { kBoth, kImage, kPosition, kCameras };

  // The spec of `view` under `name`.
  static EnvSpec MakeSpec(const std::string& name, View view);

  // Starts an episode; writes obs_bytes() bytes (the image's, then the
  // beacon's two float32s for kBoth; the agent's image, then the beacon's,
  // for kCameras).
  void ResetRaw(void* obs) final;
  // action[0]: 0 up, 1 right, 2 down, 3 left (else InvalidArgument).
  absl::StatusOr<StepResult> StepRaw(const float* action, void* next_obs) final;
  // The same, every element as a float (the image's 0 or 255).
  void Reset(float* obs) final;
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) final;

  std::vector<std::string> cameras() const final { return {"default"}; }
  double render_fps() const final { return 5; }
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) final;

  // For tests: places the agent and the beacon (each 0..6).
  void SetCellsForTesting(int agent_col, int agent_row, int beacon_col, int beacon_row);

 protected:
  BeaconEnv(EnvSpec spec, View view, uint64_t seed);

 private:
  void Start();
  void WriteBytes(uint8_t* obs) const;
  // The same values as floats, through bytes_.
  void WriteFloats(float* obs);

  View view_;
  SeededRng rng_;
  TimeLimit time_limit_;
  int agent_col_ = 0, agent_row_ = 0;
  int beacon_col_ = 0, beacon_row_ = 0;
  std::vector<uint8_t> bytes_;  // one row of obs_bytes(), for the float path
};

// The three registered views, each a class for the env list (env_list.h).
class Beacon final : public BeaconEnv {
 public:
  static constexpr char kName[] = "Beacon-v0";
  static EnvSpec Spec() { return MakeSpec(kName, View::kBoth); }
  // `max_episode_steps`: 0 = 40. InvalidArgument if negative.
  static absl::StatusOr<std::unique_ptr<Beacon>> Create(int max_episode_steps, uint64_t seed);

 private:
  using BeaconEnv::BeaconEnv;
};

class BeaconImage final : public BeaconEnv {
 public:
  static constexpr char kName[] = "BeaconImage-v0";
  static EnvSpec Spec() { return MakeSpec(kName, View::kImage); }
  static absl::StatusOr<std::unique_ptr<BeaconImage>> Create(int max_episode_steps, uint64_t seed);

 private:
  using BeaconEnv::BeaconEnv;
};

class BeaconCameras final : public BeaconEnv {
 public:
  static constexpr char kName[] = "BeaconCameras-v0";
  static EnvSpec Spec() { return MakeSpec(kName, View::kCameras); }
  static absl::StatusOr<std::unique_ptr<BeaconCameras>> Create(int max_episode_steps, uint64_t seed);

 private:
  using BeaconEnv::BeaconEnv;
};

class BeaconPosition final : public BeaconEnv {
 public:
  static constexpr char kName[] = "BeaconPosition-v0";
  static EnvSpec Spec() { return MakeSpec(kName, View::kPosition); }
  static absl::StatusOr<std::unique_ptr<BeaconPosition>> Create(int max_episode_steps, uint64_t seed);

 private:
  using BeaconEnv::BeaconEnv;
};

}  // namespace rill::envs::games

#endif  // RILL_ENVS_GAMES_BEACON_H_
