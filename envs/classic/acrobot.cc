#include "envs/classic/acrobot.h"

#include <algorithm>
#include <cmath>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/render/canvas.h"

namespace rill::envs {
namespace {

// Shifts `x` by whole turns of (high - low) until it lies in [low, high],
// Gymnasium's wrap(): a loop, not fmod, so that values already inside the
// range (the bounds included) come back bit for bit.
double Wrap(double x, double low, double high) {
  const double range = high - low;
  while (x > high) x -= range;
  while (x < low) x += range;
  return x;
}

Acrobot::State Add(const Acrobot::State& a, double scale, const Acrobot::State& b) {
  return {a[0] + scale * b[0], a[1] + scale * b[1], a[2] + scale * b[2], a[3] + scale * b[3]};
}

}  // namespace

EnvSpec Acrobot::Spec() {
  EnvSpec spec;
  spec.name = "Acrobot-v1";
  spec.observation_shape = {6};
  spec.discrete = true;
  spec.num_actions = 3;
  spec.max_episode_steps = kDefaultMaxEpisodeSteps;
  return spec;
}

absl::StatusOr<std::unique_ptr<Acrobot>> Acrobot::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new Acrobot(steps, seed));
}

Acrobot::Acrobot(int max_episode_steps, uint64_t seed)
    : Env(WithTimeLimit(Spec(), max_episode_steps)), rng_(seed), time_limit_(max_episode_steps) {}

Acrobot::State Acrobot::Derivatives(const State& state, double torque) {
  const double m1 = kLinkMass1, m2 = kLinkMass2, l1 = kLinkLength1;
  const double lc1 = kLinkComPos1, lc2 = kLinkComPos2, i1 = kLinkMoi, i2 = kLinkMoi;
  const double g = kGravity;
  const double theta1 = state[0], theta2 = state[1], dtheta1 = state[2], dtheta2 = state[3];
  const double d1 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * std::cos(theta2)) + i1 + i2;
  const double d2 = m2 * (lc2 * lc2 + l1 * lc2 * std::cos(theta2)) + i2;
  const double phi2 = m2 * lc2 * g * std::cos(theta1 + theta2 - kPi / 2.0);
  const double phi1 = -m2 * l1 * lc2 * dtheta2 * dtheta2 * std::sin(theta2) -
                      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * std::sin(theta2) +
                      (m1 * lc1 + m2 * l1) * g * std::cos(theta1 - kPi / 2) + phi2;
  // The book's equation keeps the m2 l1 lc2 thdot1^2 sin(th2) term that the
  // NIPS paper dropped.
  const double ddtheta2 =
      (torque + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1 * dtheta1 * std::sin(theta2) - phi2) /
      (m2 * lc2 * lc2 + i2 - d2 * d2 / d1);
  const double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  return {dtheta1, dtheta2, ddtheta1, ddtheta2};
}

void Acrobot::Reset(float* obs) {
  for (double& v : state_) v = static_cast<float>(rng_.Uniform(-0.1, 0.1));
  time_limit_.StartEpisode();
  WriteObs(obs);
}

absl::StatusOr<StepResult> Acrobot::Step(const float* action, float* next_obs) {
  RETURN_IF_ERROR(time_limit_.CheckCanStep(name()));
  const float a = action[0];
  if (a != 0.0f && a != 1.0f && a != 2.0f) {
    return absl::InvalidArgumentError(absl::StrCat(name(), ": action must be 0, 1 or 2 (as a float), got ", a));
  }
  const double torque = static_cast<double>(a) - 1.0;

  // One Runge-Kutta step over [0, dt], the torque held constant.
  const double half = kDt / 2.0;
  const State k1 = Derivatives(state_, torque);
  const State k2 = Derivatives(Add(state_, half, k1), torque);
  const State k3 = Derivatives(Add(state_, half, k2), torque);
  const State k4 = Derivatives(Add(state_, kDt, k3), torque);
  State next;
  for (int i = 0; i < 4; ++i) {
    next[i] = state_[i] + kDt / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  }
  next[0] = Wrap(next[0], -kPi, kPi);
  next[1] = Wrap(next[1], -kPi, kPi);
  next[2] = std::min(std::max(next[2], -kMaxVel1), kMaxVel1);
  next[3] = std::min(std::max(next[3], -kMaxVel2), kMaxVel2);
  state_ = next;
  WriteObs(next_obs);

  StepResult result;
  result.terminated = -std::cos(state_[0]) - std::cos(state_[1] + state_[0]) > 1.0;
  result.reward = result.terminated ? 0.0f : -1.0f;
  time_limit_.EndStep(&result);
  return result;
}

void Acrobot::WriteObs(float* obs) const {
  obs[0] = static_cast<float>(std::cos(state_[0]));
  obs[1] = static_cast<float>(std::sin(state_[0]));
  obs[2] = static_cast<float>(std::cos(state_[1]));
  obs[3] = static_cast<float>(std::sin(state_[1]));
  obs[4] = static_cast<float>(state_[2]);
  obs[5] = static_cast<float>(state_[3]);
}

std::vector<std::string> Acrobot::cameras() const { return {"default"}; }

absl::Status Acrobot::Render(int width, int height, const std::string& camera, uint8_t* rgb) {
  // Gymnasium's layout: a [-2.2, 2.2] square about the fixed pivot; the
  // goal line at height 1 (one link over the pivot); each link 0.2 wide
  // with a round joint at its start. th1 = 0 hangs link 1 straight down,
  // and th2 is link 2's angle relative to link 1, both counterclockwise.
  constexpr double kBound = 2.2;
  constexpr double kLinkHalfWidth = 0.1;
  constexpr double kLinkLength2 = 1.0;
  constexpr render::Rgb kLink = {0, 204, 204};
  constexpr render::Rgb kJoint = {204, 204, 0};
  render::Canvas canvas(width, height, rgb);
  canvas.SetView(-kBound, kBound, -kBound, kBound);
  canvas.Fill({255, 255, 255});
  // Gymnasium's 1 px goal line, here 2 px at 500x500 and never under one.
  canvas.DrawLine({-kBound, kLinkLength1}, {kBound, kLinkLength1}, canvas.VisibleWidth(0.0176), {0, 0, 0});
  const double angles[2] = {state_[0] - kPi / 2, state_[0] + state_[1] - kPi / 2};
  const double lengths[2] = {kLinkLength1, kLinkLength2};
  render::Point start = {0, 0};
  for (int link = 0; link < 2; ++link) {
    const render::Point corners[4] = {
        render::Place({0, -kLinkHalfWidth}, angles[link], start),
        render::Place({lengths[link], -kLinkHalfWidth}, angles[link], start),
        render::Place({lengths[link], kLinkHalfWidth}, angles[link], start),
        render::Place({0, kLinkHalfWidth}, angles[link], start),
    };
    canvas.FillConvexPolygon(corners, kLink);
    canvas.FillCircle(start, kLinkHalfWidth, kJoint);
    start = render::Place({lengths[link], 0}, angles[link], start);
  }
  return absl::OkStatus();
}

}  // namespace rill::envs
