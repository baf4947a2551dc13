#include "envs/classic/cartpole.h"

#include <cmath>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/render/canvas.h"

namespace rill::envs {

EnvSpec CartPole::Spec() {
  EnvSpec spec;
  spec.name = "CartPole-v1";
  spec.observation_shape = {4};
  spec.discrete = true;
  spec.num_actions = 2;
  spec.max_episode_steps = kDefaultMaxEpisodeSteps;
  return spec;
}

absl::StatusOr<std::unique_ptr<CartPole>> CartPole::Create(
    int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(
                                        max_episode_steps,
                                        kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new CartPole(steps, seed));
}

CartPole::CartPole(int max_episode_steps, uint64_t seed)
    : Env(WithTimeLimit(Spec(), max_episode_steps)), rng_(seed), time_limit_(max_episode_steps) {}

void CartPole::Reset(float* obs) {
  x_ = rng_.Uniform(-0.05, 0.05);
  x_dot_ = rng_.Uniform(-0.05, 0.05);
  theta_ = rng_.Uniform(-0.05, 0.05);
  theta_dot_ = rng_.Uniform(-0.05, 0.05);
  time_limit_.StartEpisode();
  WriteObs(obs);
}

absl::StatusOr<StepResult> CartPole::Step(const float* action,
                                          float* next_obs) {
  RETURN_IF_ERROR(time_limit_.CheckCanStep(name()));
  const float a = action[0];
  if (a != 0.0f && a != 1.0f) {
    return absl::InvalidArgumentError(absl::StrCat(
        name(), ": action must be 0 or 1 (as a float), got ", a));
  }
  const double force = a == 1.0f ? kForceMag : -kForceMag;
  const double costheta = std::cos(theta_);
  const double sintheta = std::sin(theta_);
  const double temp =
      (force + kPoleMassLength * (theta_dot_ * theta_dot_) * sintheta) /
      kTotalMass;
  const double thetaacc =
      (kGravity * sintheta - costheta * temp) /
      (kLength *
       (4.0 / 3.0 - kMassPole * (costheta * costheta) / kTotalMass));
  const double xacc =
      temp - kPoleMassLength * thetaacc * costheta / kTotalMass;

  x_ = x_ + kTau * x_dot_;
  x_dot_ = x_dot_ + kTau * xacc;
  theta_ = theta_ + kTau * theta_dot_;
  theta_dot_ = theta_dot_ + kTau * thetaacc;
  WriteObs(next_obs);

  StepResult result;
  result.reward = 1.0f;
  result.terminated = x_ < -kXThreshold || x_ > kXThreshold ||
                      theta_ < -kThetaThresholdRadians ||
                      theta_ > kThetaThresholdRadians;
  time_limit_.EndStep(&result);
  return result;
}

void CartPole::SetState(double x, double x_dot, double theta,
                        double theta_dot) {
  x_ = x;
  x_dot_ = x_dot;
  theta_ = theta;
  theta_dot_ = theta_dot;
}

void CartPole::WriteObs(float* obs) const {
  obs[0] = static_cast<float>(x_);
  obs[1] = static_cast<float>(x_dot_);
  obs[2] = static_cast<float>(theta_);
  obs[3] = static_cast<float>(theta_dot_);
}

std::vector<std::string> CartPole::cameras() const { return {"default"}; }

absl::Status CartPole::Render(int width, int height, const std::string& camera, uint8_t* rgb) {
  // Gymnasium's 600x400 frame, 125 px to the unit: the track's 4.8 units
  // across, 3.2 up, the cart's centre 0.8 over the bottom edge. The cart is
  // 50x30 px, the pole 10 px wide and 2 * kLength long from the axle,
  // which sits a quarter of the cart's height over its centre; theta > 0
  // leans the pole right (clockwise).
  render::Canvas canvas(width, height, rgb);
  canvas.SetView(-kXThreshold, kXThreshold, 0, 3.2);
  constexpr double kCartY = 0.8;
  constexpr double kCartHalfWidth = 0.2;
  constexpr double kCartHalfHeight = 0.12;
  constexpr double kPoleHalfWidth = 0.04;
  const render::Point axle = {x_, kCartY + kCartHalfHeight / 2};
  canvas.Fill({255, 255, 255});
  canvas.FillRect(x_ - kCartHalfWidth, kCartY - kCartHalfHeight, x_ + kCartHalfWidth, kCartY + kCartHalfHeight,
                  {0, 0, 0});
  const double pole_length = 2 * kLength;
  const render::Point pole[4] = {
      render::Place({-kPoleHalfWidth, -kPoleHalfWidth}, -theta_, axle),
      render::Place({kPoleHalfWidth, -kPoleHalfWidth}, -theta_, axle),
      render::Place({kPoleHalfWidth, pole_length - kPoleHalfWidth}, -theta_, axle),
      render::Place({-kPoleHalfWidth, pole_length - kPoleHalfWidth}, -theta_, axle),
  };
  canvas.FillConvexPolygon(pole, {202, 152, 101});
  canvas.FillCircle(axle, kPoleHalfWidth, {129, 132, 203});
  // The track, over the whole width (Gymnasium's 1 px line, here 2 px at
  // 600x400 and never under one pixel).
  canvas.DrawLine({-kXThreshold, kCartY}, {kXThreshold, kCartY}, canvas.VisibleWidth(0.016), {0, 0, 0});
  return absl::OkStatus();
}

}  // namespace rill::envs
