// CartPole: Gymnasium's CartPole-v1, a pole balanced on a cart that the agent
// pushes left (action 0) or right (action 1) with a fixed force. Observation
// [x, x_dot, theta, theta_dot]; reward 1 on every step, the terminating one
// included; terminated when |x| > 2.4 or |theta| > 12 degrees; truncated
// after 500 steps by default.
//
// Physics runs in double (Euler integration, as Gymnasium's default), and only
// the outputs are rounded to float. Not thread-safe (see Env).
#ifndef RILL_ENVS_CLASSIC_CARTPOLE_H_
#define RILL_ENVS_CLASSIC_CARTPOLE_H_

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

class CartPole final : public Env {
 public:
  static constexpr int kDefaultMaxEpisodeSteps = 500;
  static constexpr double kGravity = 9.8;
  static constexpr double kMassCart = 1.0;
  static constexpr double kMassPole = 0.1;
  static constexpr double kTotalMass = kMassPole + kMassCart;
  static constexpr double kLength = 0.5;  // Half the pole's length.
  static constexpr double kPoleMassLength = kMassPole * kLength;
  static constexpr double kForceMag = 10.0;
  static constexpr double kTau = 0.02;  // Seconds per step.
  static constexpr double kXThreshold = 2.4;
  static constexpr double kThetaThresholdRadians =
      12 * 2 * 3.14159265358979323846 / 360;

  // `max_episode_steps`: 0 = 500. Returns InvalidArgument if negative.
  static absl::StatusOr<std::unique_ptr<CartPole>> Create(
      int max_episode_steps, uint64_t seed);

  // The spaces and the default time limit; the registry's only source.
  static EnvSpec Spec();


  // x, x_dot, theta, theta_dot each ~ U(-0.05, 0.05).
  void Reset(float* obs) override;
  // action[0] must be 0.0 (push left) or 1.0 (push right); anything else ->
  // InvalidArgument.
  absl::StatusOr<StepResult> Step(const float* action,
                                  float* next_obs) override;

  // One camera, "default": the scene as Gymnasium's renderer lays it out,
  // stretched to the size asked for.
  std::vector<std::string> cameras() const override;
  // Gymnasium's metadata["render_fps"].
  double render_fps() const override { return 50; }
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) override;

  // For tests and tools: overwrites the physical state of the open episode
  // without touching the step count. Call after Reset.
  void SetState(double x, double x_dot, double theta, double theta_dot);

 private:
  CartPole(int max_episode_steps, uint64_t seed);
  void WriteObs(float* obs) const;

  SeededRng rng_;
  TimeLimit time_limit_;
  double x_ = 0;
  double x_dot_ = 0;
  double theta_ = 0;
  double theta_dot_ = 0;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_CLASSIC_CARTPOLE_H_
