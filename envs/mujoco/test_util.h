// Helpers shared by the MuJoCo task tests: snapshots of mjData, the checks
// every task must pass in the same way (NaN refusal, determinism, reset
// noise), and model facts (total mass, gears) to compare with the standard
// bodies.
#ifndef RILL_ENVS_MUJOCO_TEST_UTIL_H_
#define RILL_ENVS_MUJOCO_TEST_UTIL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "envs/mujoco/mujoco_env.h"
#include "mujoco/mujoco.h"

namespace rill::envs {

using MujocoEnvFactory = std::function<std::unique_ptr<MujocoEnv>(int max_episode_steps, uint64_t seed)>;

// The current observation.
std::vector<float> Observation(const MujocoEnv& env);

// qpos, then qvel.
std::vector<double> PhysicsState(const MujocoEnv& env);

// Sum of the bodies' masses.
double TotalMass(const mjModel* m);

// The first gear entry of every actuator, in actuator order.
std::vector<double> Gears(const mjModel* m);

// A deterministic action inside [-bound, bound]: bound * sin(0.3 step + i).
std::vector<float> WavyAction(int nu, int step, double bound);

// Steps an env with a NaN in each action position in turn and expects
// InvalidArgument every time, with the physics state, time and step count
// unchanged (the time limit of 2 then truncates on the second real step).
void ExpectNonFiniteActionsRefused(const MujocoEnvFactory& make);

// Two envs with equal seeds give bit-equal episodes (reset and 30 steps),
// and a third with another seed starts elsewhere.
void ExpectEqualSeedsGiveEqualEpisodes(const MujocoEnvFactory& make);

// Over many resets, qpos - qpos0 lies in [-scale, scale] (free joints'
// quaternions aside, which mj_forward normalizes after the noise) and qvel in
// [-scale, scale] (uniform noise) or has standard deviation about `scale`
// (normal noise).
void ExpectResetNoise(const MujocoEnvFactory& make, double scale, bool normal_velocity);

}  // namespace rill::envs

#endif  // RILL_ENVS_MUJOCO_TEST_UTIL_H_
