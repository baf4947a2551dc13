#include "envs/classic/cartpole.h"

#include <cmath>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

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

}  // namespace rill::envs
