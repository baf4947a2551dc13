// MaskedPick: Rill's own task for action masks (EnvSpec::action_mask). Eight
// items, each worth a value drawn U(0, 1) at reset; six of them, drawn at
// random, can be picked. Each step picks one item (Discrete(8)): an item
// that can be picked pays its value and is gone; four picks end the
// episode (terminated). The best return is the sum of the four best
// pickable values (2.57 on average); picking among the pickable ones at
// random gets 2.0.
//
// Observation (16 floats): the eight values (0 once picked), then the mask,
// 1 for each item that can still be picked. A policy that honours the mask
// only has to learn which values are high; one that ignores it
// (env.ignore_action_mask) can also pick an item it may not, which pays
// -1 and ends the episode, and has to learn from the mask's elements in
// its observation which ones those are.
//
// Renders (one camera, "default") the items as bars of their value:
// green while pickable, grey when not. Not thread-safe (see Env).
#ifndef RILL_ENVS_GAMES_MASKED_PICK_H_
#define RILL_ENVS_GAMES_MASKED_PICK_H_

#include <array>
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

class MaskedPick final : public Env {
 public:
  static constexpr char kName[] = "MaskedPick-v0";
  static constexpr int kItems = 8;
  static constexpr int kPickable = 6;  // at reset
  static constexpr int kPicks = 4;     // per episode
  // What picking an item that cannot be picked pays (and it ends the episode).
  static constexpr float kForbiddenReward = -1.f;
  static constexpr int kDefaultMaxEpisodeSteps = kPicks;

  // `max_episode_steps`: 0 = 4. InvalidArgument if negative.
  static absl::StatusOr<std::unique_ptr<MaskedPick>> Create(int max_episode_steps, uint64_t seed);
  static EnvSpec Spec();

  void Reset(float* obs) override;
  // action[0]: the item, a whole number in 0..7 (else InvalidArgument).
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override;

  std::vector<std::string> cameras() const override { return {"default"}; }
  double render_fps() const override { return 2; }
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) override;

 private:
  MaskedPick(int max_episode_steps, uint64_t seed);
  void WriteObs(float* obs) const;

  SeededRng rng_;
  TimeLimit time_limit_;
  std::array<float, kItems> values_{};
  std::array<bool, kItems> pickable_{};
  int picks_ = 0;
};

}  // namespace rill::envs::games

#endif  // RILL_ENVS_GAMES_MASKED_PICK_H_
