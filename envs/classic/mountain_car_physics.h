// MountainCarPhysics: the valley both mountain-car envs drive through
// (MountainCar-v0 and MountainCarContinuous-v0), which differ only in how an
// action becomes a push, in the reward and in where the goal stands.
//
// Per step: velocity += push - 0.0025 cos(3 position), clipped to
// [-0.07, 0.07]; position += velocity, clipped to [-1.2, 0.6]; hitting the
// left wall stops the car. Arithmetic within a step is double; the state is
// kept between steps as double or, where Gymnasium stores float32, rounded
// to float (Storage).
//
// Owned by one Env and used from that Env's thread only; not thread-safe.
#ifndef RILL_ENVS_CLASSIC_MOUNTAIN_CAR_PHYSICS_H_
#define RILL_ENVS_CLASSIC_MOUNTAIN_CAR_PHYSICS_H_

#include "envs/seeded_rng.h"

namespace rill::envs {

class MountainCarPhysics {
 public:
  static constexpr double kMinPosition = -1.2;
  static constexpr double kMaxPosition = 0.6;
  static constexpr double kMaxSpeed = 0.07;
  static constexpr double kGravity = 0.0025;

  // How the state is kept between steps.
  enum class Storage { kDouble, kFloat };

  // The goal is reached at position >= `goal_position` with velocity >=
  // `goal_velocity`.
  MountainCarPhysics(double goal_position, double goal_velocity, Storage storage);

  // position ~ U(-0.6, -0.4), velocity = 0, as double whatever the Storage;
  // writes [position, velocity], rounded to float, to `obs`.
  void Reset(SeededRng& rng, float* obs);
  // One step of the dynamics above with `push` (the env's action times its
  // force) added to the velocity; writes the observation to `next_obs`.
  // Returns whether the car reached the goal, judged before the state is
  // stored.
  bool Step(double push, float* next_obs);
  // Overwrites the state as given, without rounding.
  void SetState(double position, double velocity);

  double position() const { return position_; }

 private:
  const double goal_position_;
  const double goal_velocity_;
  const Storage storage_;
  double position_ = 0;
  double velocity_ = 0;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_CLASSIC_MOUNTAIN_CAR_PHYSICS_H_
