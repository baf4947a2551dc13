#include "envs/classic/pendulum.h"

#include <algorithm>
#include <cmath>

#include "absl/memory/memory.h"
#include "common/status_macros.h"
#include "envs/render/canvas.h"

namespace rill::envs {
namespace {

constexpr double kPi = 3.14159265358979323846;

// ((x + pi) mod 2pi) - pi with Python's floored modulo, as Gymnasium's
// angle_normalize computes it.
double AngleNormalize(double x) {
  constexpr double kTwoPi = 2 * kPi;
  double m = std::fmod(x + kPi, kTwoPi);
  if (m < 0) m += kTwoPi;
  return m - kPi;
}

}  // namespace

EnvSpec Pendulum::Spec() {
  EnvSpec spec;
  spec.name = "Pendulum-v1";
  spec.observation_shape = {3};
  spec.discrete = false;
  spec.action_low = {static_cast<float>(-kMaxTorque)};
  spec.action_high = {static_cast<float>(kMaxTorque)};
  spec.max_episode_steps = kDefaultMaxEpisodeSteps;
  return spec;
}

absl::StatusOr<std::unique_ptr<Pendulum>> Pendulum::Create(
    int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(
                                        max_episode_steps,
                                        kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new Pendulum(steps, seed));
}

Pendulum::Pendulum(int max_episode_steps, uint64_t seed)
    : Env(WithTimeLimit(Spec(), max_episode_steps)), rng_(seed), time_limit_(max_episode_steps) {}

void Pendulum::Reset(float* obs) {
  th_ = rng_.Uniform(-kPi, kPi);
  thdot_ = rng_.Uniform(-1.0, 1.0);
  time_limit_.StartEpisode();
  WriteObs(obs);
}

absl::StatusOr<StepResult> Pendulum::Step(const float* action,
                                          float* next_obs) {
  RETURN_IF_ERROR(time_limit_.CheckCanStep(name()));
  if (std::isnan(action[0])) {
    return absl::InvalidArgumentError("Pendulum-v1: torque is NaN");
  }
  const double u = std::clamp<double>(action[0], -kMaxTorque, kMaxTorque);
  const double th_norm = AngleNormalize(th_);
  const double cost =
      th_norm * th_norm + 0.1 * thdot_ * thdot_ + 0.001 * (u * u);

  double newthdot =
      thdot_ + (3 * kGravity / (2 * kLength) * std::sin(th_) +
                3.0 / (kMass * kLength * kLength) * u) *
                   kDt;
  newthdot = std::clamp(newthdot, -kMaxSpeed, kMaxSpeed);
  th_ = th_ + newthdot * kDt;
  thdot_ = newthdot;
  WriteObs(next_obs);

  StepResult result;
  result.reward = static_cast<float>(-cost);
  result.terminated = false;
  time_limit_.EndStep(&result);
  return result;
}

void Pendulum::SetState(double th, double thdot) {
  th_ = th;
  thdot_ = thdot;
}

void Pendulum::WriteObs(float* obs) const {
  obs[0] = static_cast<float>(std::cos(th_));
  obs[1] = static_cast<float>(std::sin(th_));
  obs[2] = static_cast<float>(thdot_);
}

std::vector<std::string> Pendulum::cameras() const { return {"default"}; }

absl::Status Pendulum::Render(int width, int height, const std::string& camera, uint8_t* rgb) {
  // Gymnasium's layout: a [-2.2, 2.2] square about the pivot; a rod of
  // length 1 and width 0.2 with round ends, pointing up at th = 0 and
  // turning counterclockwise as th grows; a black axle over the pivot.
  // (Gymnasium's torque arrow is left out: the last action is not state.)
  constexpr double kBound = 2.2;
  constexpr double kRodHalfWidth = 0.1;
  constexpr render::Rgb kRod = {204, 77, 77};
  render::Canvas canvas(width, height, rgb);
  canvas.SetView(-kBound, kBound, -kBound, kBound);
  canvas.Fill({255, 255, 255});
  const render::Point pivot = {0, 0};
  const render::Point end = render::Place({kLength, 0}, th_ + kPi / 2, pivot);
  canvas.DrawLine(pivot, end, 2 * kRodHalfWidth, kRod);
  canvas.FillCircle(pivot, kRodHalfWidth, kRod);
  canvas.FillCircle(end, kRodHalfWidth, kRod);
  canvas.FillCircle(pivot, 0.05, {0, 0, 0});
  return absl::OkStatus();
}

}  // namespace rill::envs
