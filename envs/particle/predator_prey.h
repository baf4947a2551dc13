// PredatorPrey: the predator-prey task of the MADDPG paper (Lowe et al.
// 2017; MPE's simple_tag), on a ParticleWorld (particle_world.h). Three
// slower predators chase one faster prey among two obstacles; the
// predators score each time one of them touches the prey.
//
//   Agents, in row order: predators "adversary_0".."adversary_2" (discs of
//   radius 0.075, sensitivity 3, max speed 1, red), then the prey
//   "agent_0" (radius 0.05, sensitivity 4, max speed 1.3, green). All
//   collide, move and have mass 1. Obstacles: two landmarks of radius 0.2
//   that collide but do not move. Reset draws every agent's position
//   uniformly in [-1, 1]^2 (in agent order, x before y) with velocities 0,
//   then each obstacle's uniformly in [-0.9, 0.9]^2.
//
//   Actions: discrete, 5: 0 no-op, 1 left (-x), 2 right (+x), 3 down (-y),
//   4 up (+y); a move is a unit control (force = the agent's sensitivity).
//
//   Observation of agent k: its velocity (2), its position (2), each
//   obstacle's position relative to it (2 x 2), each other agent's
//   position relative to it in agent order (3 x 2), then the velocity of
//   each other agent that is a prey, in order: 16 floats for a predator
//   (the prey's velocity), 14 for the prey (none). The agents' spaces
//   differ, so the spec is not homogeneous.
//
//   Rewards, on the state after the step: every predator gets +10 for each
//   predator touching the prey (shared by all predators); the prey gets
//   -10 for each predator touching it, minus a penalty for leaving the
//   arena, summed over its two coordinates: with x = |coordinate|, 0 for
//   x < 0.9, (x - 0.9) * 10 for x < 1, else min(exp(2x - 2), 10).
//   "Touching" is Colliding (particle_world.h).
//
//   Never terminates; every agent is truncated together after 25 steps by
//   default. The global state (State, for centralised critics), 20 floats:
//   each agent's position and velocity, then each obstacle's position.
//
// Physics in double; observations, rewards and state rounded to float.
// Not thread-safe (see MultiAgentEnv).
#ifndef RILL_ENVS_PARTICLE_PREDATOR_PREY_H_
#define RILL_ENVS_PARTICLE_PREDATOR_PREY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/multi_agent/interface.h"
#include "envs/particle/particle_task.h"
#include "envs/particle/particle_world.h"

namespace rill::envs::particle {

class PredatorPrey final : public ParticleTask {
 public:
  static constexpr int kNumPredators = 3;
  static constexpr int kNumPrey = 1;
  static constexpr int kNumAgents = kNumPredators + kNumPrey;
  static constexpr int kNumObstacles = 2;
  // Velocity, position, obstacles, other agents, then the prey's velocity
  // (a predator sees the one prey; the prey sees no other prey).
  static constexpr int kPredatorObsDim = 4 + 2 * kNumObstacles + 2 * (kNumAgents - 1) + 2 * kNumPrey;
  static constexpr int kPreyObsDim = 4 + 2 * kNumObstacles + 2 * (kNumAgents - 1) + 2 * (kNumPrey - 1);
  static constexpr int kStateDim = 4 * kNumAgents + 2 * kNumObstacles;
  static constexpr int kDefaultMaxEpisodeSteps = 25;
  static constexpr double kPredatorSize = 0.075;
  static constexpr double kPreySize = 0.05;
  static constexpr double kObstacleSize = 0.2;
  // What each touch is worth: + to every predator, - to the prey.
  static constexpr double kTouchReward = 10.0;

  // `max_episode_steps`: 0 = 25. InvalidArgument if negative.
  // `actions`: kContinuous for the twin of 2-D forces (ContinuousActions).
  static absl::StatusOr<std::unique_ptr<PredatorPrey>> Create(
      int max_episode_steps, uint64_t seed, ParticleActions actions = ParticleActions::kDiscrete);

  // The agents, their spaces, the state's shape and the default time
  // limit: the one place they are written.
  static MultiAgentSpec Spec();

  // Whether agent k is a predator (the first kNumPredators rows).
  static bool IsPredator(int agent) { return agent < kNumPredators; }

  // Render (ParticleTask's) draws the predators red, the prey green, the
  // obstacles dark grey.

  // Scripted players to measure learned ones against (eval.scripted_agents,
  // in evaluation rounds and `rill eval`), each acting on its own
  // observation alone, without randomness:
  //   - a predator heads straight for the prey (WriteControl's move or
  //     force along the prey's relative position);
  //   - the prey flees: it pushes away from every predator with a weight of
  //     1 / distance^2, and back toward the centre, kScriptedPreyPull per
  //     unit past kScriptedPreyRadius, where the arena's penalty begins
  //     near 0.9 and its obstacles are the predators' only cover.
  // The scripted predators touched, per episode (400 episodes, seed 3;
  // discrete moves, then the continuous twin): a prey that stands still
  // 14.0 and 16.1 times, a prey of uniform random actions 7.3 and 9.2,
  // the scripted prey 0.88 and 0.46 (whose return was then -11.1 and -6.0).
  bool ScriptedAction(int agent, const float* obs, float* action) override;
  static constexpr double kScriptedPreyRadius = 0.7;
  static constexpr double kScriptedPreyPull = 30.0;

  // The paper's figure, per episode: "touches", the sum of PreyTouches.
  std::vector<EnvMetric> metrics() const override { return {{"touches", EnvMetric::Over::kSum}}; }
  void MeasureStep(double* values) const override { values[0] = PreyTouches(); }

  // The task's metric, on the current state: the number of (predator,
  // prey) pairs whose discs overlap, the paper's touches per step.
  int PreyTouches() const;

  // For tests and tools: places the agents and obstacles exactly
  // (positions in world units, kNumAgents and kNumObstacles of them) and
  // stops the agents, without touching the step count. Call after Reset.
  // InvalidArgument, with nothing changed, for a wrong count.
  absl::Status SetPositions(const std::vector<Vec2>& agents, const std::vector<Vec2>& obstacles);

 private:
  PredatorPrey(int max_episode_steps, uint64_t seed, ParticleActions actions);

  void PlaceEntities() override;
  void WriteObs(int agent, float* obs) const override;
  double Reward(int agent) const override;
  // The number of predators touching prey `agent`.
  int TouchesOf(int prey) const;
};

}  // namespace rill::envs::particle

#endif  // RILL_ENVS_PARTICLE_PREDATOR_PREY_H_
