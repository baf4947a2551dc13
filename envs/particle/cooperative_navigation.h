// CooperativeNavigation: the cooperative-navigation task of the MADDPG
// paper (Lowe et al. 2017; MPE's simple_spread), on a ParticleWorld
// (particle_world.h). Three agents must cover three landmarks between them
// without bumping into each other.
//
//   Agents "agent_0".."agent_2": discs of radius 0.15 that collide, mass 1,
//   sensitivity 5. Landmarks: three discs of radius 0.05 that neither
//   collide nor move. Reset draws every position uniformly in [-1, 1]^2
//   (agents, then landmarks, x before y) with velocities 0.
//
//   Actions: discrete, 5: 0 no-op, 1 left (-x), 2 right (+x), 3 down (-y),
//   4 up (+y); a move is a unit control (force 5).
//
//   Observation of agent k, 18 floats: its velocity (2), its position (2),
//   each landmark's position relative to it (3 x 2), each other agent's
//   position relative to it in agent order (2 x 2), then 4 zeros: the
//   communication channels of the other two agents, who are silent here,
//   kept so that the size is the published 18.
//
//   Reward of agent k, on the state after the step: minus the sum over
//   landmarks of the distance to the nearest agent (shared by all), minus
//   1 for each other agent whose disc overlaps k's.
//
//   Never terminates; every agent is truncated together after 25 steps by
//   default. The global state (State, for centralised critics), 18 floats:
//   each agent's position and velocity, then each landmark's position.
//
// Physics in double; observations, rewards and state rounded to float.
// Not thread-safe (see MultiAgentEnv).
#ifndef RILL_ENVS_PARTICLE_COOPERATIVE_NAVIGATION_H_
#define RILL_ENVS_PARTICLE_COOPERATIVE_NAVIGATION_H_

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

class CooperativeNavigation final : public ParticleTask {
 public:
  static constexpr int kNumAgents = 3;
  static constexpr int kNumLandmarks = 3;
  static constexpr int kObsDim = 18;
  static constexpr int kStateDim = 4 * kNumAgents + 2 * kNumLandmarks;
  static constexpr int kDefaultMaxEpisodeSteps = 25;
  static constexpr double kAgentSize = 0.15;
  static constexpr double kLandmarkSize = 0.05;

  // `max_episode_steps`: 0 = 25. InvalidArgument if negative.
  // `actions`: kContinuous for the twin of 2-D forces (ContinuousActions).
  static absl::StatusOr<std::unique_ptr<CooperativeNavigation>> Create(
      int max_episode_steps, uint64_t seed, ParticleActions actions = ParticleActions::kDiscrete);

  // The agents, their spaces, the state's shape and the default time
  // limit: the one place they are written.
  static MultiAgentSpec Spec();

  // The task's world with `num_agents` agents (the task's kNumAgents; a
  // benchmark's lone agent, 1) and its kNumLandmarks landmarks, every
  // entity's size, mass, sensitivity and colour as the task has them.
  static ParticleWorld MakeWorld(int num_agents = kNumAgents);

  // Render (ParticleTask's) draws the agents blue, the landmarks dark grey.

  // The paper's figures, per episode: "landmark_distance", the mean over
  // its steps of MeanLandmarkDistance, and "collisions", the sum of
  // Collisions.
  std::vector<EnvMetric> metrics() const override;
  void MeasureStep(double* values) const override;

  // The task's own metrics, on the current state: the mean over landmarks
  // of the distance to the nearest agent, and the number of pairs of
  // agents whose discs overlap.
  double MeanLandmarkDistance() const;
  int Collisions() const;

  // For tests and tools: places the agents and landmarks exactly (positions
  // in world units, kNumAgents and kNumLandmarks of them) and stops the
  // agents, without touching the step count. Call after Reset.
  // InvalidArgument, with nothing changed, for a wrong count.
  absl::Status SetPositions(const std::vector<Vec2>& agents, const std::vector<Vec2>& landmarks);

 private:
  CooperativeNavigation(int max_episode_steps, uint64_t seed, ParticleActions actions);

  void PlaceEntities() override;
  void WriteObs(int agent, float* obs) const override;
  double Reward(int agent) const override;
  // Sum over landmarks of the distance to the nearest agent.
  double LandmarkDistanceSum() const;
};

}  // namespace rill::envs::particle

#endif  // RILL_ENVS_PARTICLE_COOPERATIVE_NAVIGATION_H_
