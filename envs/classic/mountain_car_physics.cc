#include "envs/classic/mountain_car_physics.h"

#include <algorithm>
#include <cmath>

namespace rill::envs {

MountainCarPhysics::MountainCarPhysics(double goal_position, double goal_velocity, Storage storage)
    : goal_position_(goal_position), goal_velocity_(goal_velocity), storage_(storage) {}

void MountainCarPhysics::Reset(SeededRng& rng, float* obs) {
  position_ = rng.Uniform(-0.6, -0.4);
  velocity_ = 0;
  obs[0] = static_cast<float>(position_);
  obs[1] = static_cast<float>(velocity_);
}

bool MountainCarPhysics::Step(double push, float* next_obs) {
  double velocity = velocity_ + push - kGravity * std::cos(3 * position_);
  velocity = std::clamp(velocity, -kMaxSpeed, kMaxSpeed);
  const double position = std::clamp(position_ + velocity, kMinPosition, kMaxPosition);
  if (position == kMinPosition && velocity < 0) velocity = 0;
  const bool reached = position >= goal_position_ && velocity >= goal_velocity_;
  next_obs[0] = static_cast<float>(position);
  next_obs[1] = static_cast<float>(velocity);
  if (storage_ == Storage::kFloat) {
    // Stored from the observation, not by `x = static_cast<float>(x)` on both
    // members: GCC 12's SLP vectorizer at -O2 drops that round trip.
    position_ = next_obs[0];
    velocity_ = next_obs[1];
  } else {
    position_ = position;
    velocity_ = velocity;
  }
  return reached;
}

void MountainCarPhysics::SetState(double position, double velocity) {
  position_ = position;
  velocity_ = velocity;
}

}  // namespace rill::envs
