// Acrobot: Gymnasium's Acrobot-v1, two links hanging from a fixed pivot with
// a motor only at the joint between them; the agent swings the tip above the
// line one link length over the pivot. Three actions: torque -1, 0 or +1 at
// the middle joint. Observation [cos th1, sin th1, cos th2, sin th2, thdot1,
// thdot2]; reward -1 per step and 0 on the step that reaches the goal;
// terminated when -cos(th1) - cos(th1 + th2) > 1; truncated after 500 steps.
//
// The dynamics are Sutton and Barto's book equations (Gymnasium's default,
// book_or_nips = "book"), integrated over one 0.2 s step with a single
// classic fourth-order Runge-Kutta step, as Gymnasium's rk4 does with the
// time points [0, dt]. Angles are then wrapped into [-pi, pi] and the
// velocities clipped to 4 pi and 9 pi. The state is double, except that
// Reset rounds the drawn state to float as Gymnasium's astype(float32) does.
// Not thread-safe (see Env).
#ifndef RILL_ENVS_CLASSIC_ACROBOT_H_
#define RILL_ENVS_CLASSIC_ACROBOT_H_

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

namespace rill::envs {

class Acrobot final : public Env {
 public:
  static constexpr int kDefaultMaxEpisodeSteps = 500;
  static constexpr double kPi = 3.14159265358979323846;
  static constexpr double kDt = 0.2;
  static constexpr double kLinkLength1 = 1.0;
  static constexpr double kLinkMass1 = 1.0;
  static constexpr double kLinkMass2 = 1.0;
  static constexpr double kLinkComPos1 = 0.5;
  static constexpr double kLinkComPos2 = 0.5;
  static constexpr double kLinkMoi = 1.0;
  static constexpr double kGravity = 9.8;
  static constexpr double kMaxVel1 = 4 * kPi;
  static constexpr double kMaxVel2 = 9 * kPi;

  // The state [th1, th2, thdot1, thdot2].
  using State = std::array<double, 4>;

  // `max_episode_steps`: 0 = 500. Returns InvalidArgument if negative.
  static absl::StatusOr<std::unique_ptr<Acrobot>> Create(int max_episode_steps, uint64_t seed);

  // The spaces and the default time limit; the registry's only source.
  static EnvSpec Spec();

  // Time derivative of `state` under `torque` at the middle joint (the book
  // equations): [thdot1, thdot2, thddot1, thddot2]. Public for tests and the
  // benchmark's bare-dynamics reference.
  static State Derivatives(const State& state, double torque);

  // Each state variable ~ U(-0.1, 0.1), rounded to float.
  void Reset(float* obs) override;
  // action[0] must be 0, 1 or 2 (as a float): torque -1, 0, +1; anything
  // else -> InvalidArgument.
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override;

  // One camera, "default": the scene as Gymnasium's renderer lays it out,
  // stretched to the size asked for.
  std::vector<std::string> cameras() const override;
  // Gymnasium's metadata["render_fps"].
  double render_fps() const override { return 15; }
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) override;

  // For tests and tools: overwrites the state of the open episode without
  // touching the step count. Call after Reset.
  void SetState(const State& state) { state_ = state; }
  const State& state() const { return state_; }

 private:
  Acrobot(int max_episode_steps, uint64_t seed);
  void WriteObs(float* obs) const;

  SeededRng rng_;
  TimeLimit time_limit_;
  State state_ = {0, 0, 0, 0};
};

}  // namespace rill::envs

#endif  // RILL_ENVS_CLASSIC_ACROBOT_H_
