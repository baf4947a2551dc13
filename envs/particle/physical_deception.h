// PhysicalDeception: the physical-deception task of the MADDPG paper (Lowe
// et al. 2017; MPE's simple_adversary), on a ParticleWorld
// (particle_world.h). Two good agents know which of two landmarks is the
// goal and must reach it while keeping an adversary, who does not know
// it, away from it: they gain by covering both landmarks so that the
// adversary cannot tell which one to go to.
//
//   Agents, in row order: "adversary_0" (red), then the good agents
//   "agent_0", "agent_1" (blue): discs of radius 0.15 that do not collide,
//   mass 1, sensitivity 5. Landmarks: two discs of radius 0.08 that
//   neither collide nor move; the goal is drawn green, the other dark
//   grey. Reset draws, in this order, the goal (each landmark with
//   probability 1/2), every agent's position uniformly in [-1, 1]^2 (in
//   agent order, x before y) with velocities 0, then every landmark's
//   position uniformly in [-1, 1]^2.
//
//   Actions: discrete, 5: 0 no-op, 1 left (-x), 2 right (+x), 3 down (-y),
//   4 up (+y); a move is a unit control (force 5).
//
//   Observations (no velocities): the adversary, 8 floats: each landmark's
//   position relative to it (2 x 2), then each other agent's (2 x 2); a
//   good agent, 10 floats: the goal's position relative to it (2), then
//   each landmark's (2 x 2), then each other agent's in agent order
//   (2 x 2). The agents' spaces differ, so the spec is not homogeneous.
//
//   Rewards, on the state after the step: the adversary gets minus its
//   distance to the goal; every good agent gets the sum over adversaries
//   of their distance to the goal minus the smallest distance of a good
//   agent to the goal (shared by the good agents).
//
//   Never terminates; every agent is truncated together after 25 steps by
//   default. The global state (State, for centralised critics), 18 floats:
//   each agent's position and velocity, each landmark's position, then a
//   one-hot of the goal (2).
//
// Physics in double; observations, rewards and state rounded to float.
// Not thread-safe (see MultiAgentEnv).
#ifndef RILL_ENVS_PARTICLE_PHYSICAL_DECEPTION_H_
#define RILL_ENVS_PARTICLE_PHYSICAL_DECEPTION_H_

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

class PhysicalDeception final : public ParticleTask {
 public:
  static constexpr int kNumAdversaries = 1;
  static constexpr int kNumGood = 2;
  static constexpr int kNumAgents = kNumAdversaries + kNumGood;
  static constexpr int kNumLandmarks = 2;
  static constexpr int kAdversaryObsDim = 2 * kNumLandmarks + 2 * (kNumAgents - 1);
  static constexpr int kGoodObsDim = 2 + 2 * kNumLandmarks + 2 * (kNumAgents - 1);
  static constexpr int kStateDim = 4 * kNumAgents + 2 * kNumLandmarks + kNumLandmarks;
  static constexpr int kDefaultMaxEpisodeSteps = 25;
  static constexpr double kAgentSize = 0.15;
  static constexpr double kLandmarkSize = 0.08;

  // `max_episode_steps`: 0 = 25. InvalidArgument if negative.
  // `actions`: kContinuous for the twin of 2-D forces (ContinuousActions).
  static absl::StatusOr<std::unique_ptr<PhysicalDeception>> Create(
      int max_episode_steps, uint64_t seed, ParticleActions actions = ParticleActions::kDiscrete);

  // The agents, their spaces, the state's shape and the default time
  // limit: the one place they are written.
  static MultiAgentSpec Spec();

  // Whether agent k is an adversary (the first kNumAdversaries rows).
  static bool IsAdversary(int agent) { return agent < kNumAdversaries; }

  // ParticleTask's state with a one-hot of the goal appended.
  void State(float* state) const override;

  // Render (ParticleTask's) draws the adversary red, the good agents blue,
  // the goal green, the other landmark dark grey.

  // Per episode, the means over its steps of AdversaryGoalDistance
  // ("adversary_goal_distance") and GoodGoalDistance
  // ("good_goal_distance").
  std::vector<EnvMetric> metrics() const override {
    return {{"adversary_goal_distance", EnvMetric::Over::kMean}, {"good_goal_distance", EnvMetric::Over::kMean}};
  }
  void MeasureStep(double* values) const override {
    values[0] = AdversaryGoalDistance();
    values[1] = GoodGoalDistance();
  }

  // The goal landmark's index, 0 or 1.
  int goal() const { return goal_; }

  // The task's metrics, on the current state: the adversary's distance to
  // the goal, and the smallest distance of a good agent to it.
  double AdversaryGoalDistance() const;
  double GoodGoalDistance() const;

  // For tests and tools: places the agents and landmarks exactly (positions
  // in world units, kNumAgents and kNumLandmarks of them) and stops the
  // agents, without touching the step count. Call after Reset.
  // InvalidArgument, with nothing changed, for a wrong count.
  absl::Status SetPositions(const std::vector<Vec2>& agents, const std::vector<Vec2>& landmarks);
  // For tests and tools: makes landmark `goal` the goal. Call after Reset.
  // InvalidArgument, with nothing changed, for an index not in 0..1.
  absl::Status SetGoal(int goal);

 private:
  PhysicalDeception(int max_episode_steps, uint64_t seed, ParticleActions actions);

  // Makes `goal` the goal and paints the landmarks accordingly.
  void ChooseGoal(int goal);
  void PlaceEntities() override;
  void WriteObs(int agent, float* obs) const override;
  double Reward(int agent) const override;
  // Agent k's distance to the goal.
  double GoalDistance(int agent) const;

  int goal_ = 0;
};

}  // namespace rill::envs::particle

#endif  // RILL_ENVS_PARTICLE_PHYSICAL_DECEPTION_H_
