// MountainCarContinuous: Gymnasium's MountainCarContinuous-v0, the mountain
// car with a continuous throttle in [-1, 1]. Observation [position,
// velocity]; reward -0.1 a^2 per step on the action as given (not clipped),
// plus 100 on the step that reaches the goal; terminated when position >=
// 0.45 with velocity >= 0; truncated after 999 steps.
//
// The car is pushed by clip(a, -1, 1) * 0.0015 a step (MountainCarPhysics
// holds the rest of the dynamics). Gymnasium stores the state as float32
// after every step, so this class rounds the stored state to float too
// (arithmetic within a step is double). Not thread-safe (see Env).
#ifndef RILL_ENVS_CLASSIC_MOUNTAIN_CAR_CONTINUOUS_H_
#define RILL_ENVS_CLASSIC_MOUNTAIN_CAR_CONTINUOUS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/classic/mountain_car_physics.h"
#include "envs/interface.h"
#include "envs/seeded_rng.h"
#include "envs/time_limit.h"

namespace rill::envs {

class MountainCarContinuous final : public Env {
 public:
  static constexpr int kDefaultMaxEpisodeSteps = 999;
  static constexpr double kMinAction = -1.0;
  static constexpr double kMaxAction = 1.0;
  static constexpr double kGoalPosition = 0.45;
  static constexpr double kGoalVelocity = 0.0;
  static constexpr double kPower = 0.0015;

  // `max_episode_steps`: 0 = 999. Returns InvalidArgument if negative.
  static absl::StatusOr<std::unique_ptr<MountainCarContinuous>> Create(int max_episode_steps, uint64_t seed);

  // The spaces and the default time limit; the registry's only source.
  static EnvSpec Spec();

  // position ~ U(-0.6, -0.4), velocity = 0.
  void Reset(float* obs) override;
  // The throttle is clipped to [-1, 1] in the dynamics, not in the cost;
  // NaN -> InvalidArgument.
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override;

  // One camera, "default": the scene as Gymnasium's renderer lays it out,
  // stretched to the size asked for.
  std::vector<std::string> cameras() const override;
  // Gymnasium's metadata["render_fps"].
  double render_fps() const override { return 30; }
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) override;

  // For tests and tools: overwrites the state of the open episode without
  // touching the step count. Call after Reset.
  void SetState(double position, double velocity);

 private:
  MountainCarContinuous(int max_episode_steps, uint64_t seed);

  SeededRng rng_;
  TimeLimit time_limit_;
  MountainCarPhysics car_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_CLASSIC_MOUNTAIN_CAR_CONTINUOUS_H_
