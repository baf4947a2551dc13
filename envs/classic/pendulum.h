// Pendulum: Gymnasium's Pendulum-v1, a torque-controlled pendulum that the
// agent learns to swing up and hold upright. Continuous, one action (torque
// in [-2, 2]); observation [cos th, sin th, thdot]; reward
// -(angle_normalize(th)^2 + 0.1 thdot^2 + 0.001 u^2) on the state before the
// step; never terminates, truncated after 200 steps by default.
//
// Physics runs in double, as Gymnasium's numpy float64 state does, and only
// the outputs are rounded to float. Not thread-safe (see Env).
#ifndef RILL_ENVS_CLASSIC_PENDULUM_H_
#define RILL_ENVS_CLASSIC_PENDULUM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/seeded_rng.h"
#include "envs/time_limit.h"

namespace rill::envs {

class Pendulum final : public Env {
 public:
  static constexpr int kDefaultMaxEpisodeSteps = 200;
  static constexpr double kMaxSpeed = 8.0;
  static constexpr double kMaxTorque = 2.0;
  static constexpr double kDt = 0.05;
  static constexpr double kGravity = 10.0;
  static constexpr double kMass = 1.0;
  static constexpr double kLength = 1.0;

  // `max_episode_steps`: 0 = 200. Returns InvalidArgument if negative.
  static absl::StatusOr<std::unique_ptr<Pendulum>> Create(
      int max_episode_steps, uint64_t seed);

  // The spaces and the default time limit; the registry's only source.
  static EnvSpec Spec();


  // th ~ U(-pi, pi), thdot ~ U(-1, 1).
  void Reset(float* obs) override;
  // The torque is clipped to [-2, 2]; NaN -> InvalidArgument.
  absl::StatusOr<StepResult> Step(const float* action,
                                  float* next_obs) override;

  // One camera, "default": the scene as Gymnasium's renderer lays it out,
  // stretched to the size asked for.
  std::vector<std::string> cameras() const override;
  // Gymnasium's metadata["render_fps"].
  double render_fps() const override { return 30; }
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) override;

  // For tests and tools: overwrites the physical state of the open episode
  // (th in radians, any value; thdot in rad/s) without touching the step
  // count. Call after Reset.
  void SetState(double th, double thdot);

 private:
  Pendulum(int max_episode_steps, uint64_t seed);
  void WriteObs(float* obs) const;

  SeededRng rng_;
  TimeLimit time_limit_;
  double th_ = 0;
  double thdot_ = 0;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_CLASSIC_PENDULUM_H_
