#include "envs/particle/cooperative_navigation.h"

#include <algorithm>
#include <limits>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/render/canvas.h"
#include "envs/time_limit.h"

namespace rill::envs::particle {
namespace {

constexpr char kName[] = "CooperativeNavigation-v0";
// MPE's colours: agents (0.35, 0.35, 0.85), landmarks (0.25, 0.25, 0.25).
constexpr render::Rgb kAgentColour = {89, 89, 217};
constexpr render::Rgb kLandmarkColour = {64, 64, 64};

}  // namespace

ParticleWorld CooperativeNavigation::MakeWorld(int num_agents) {
  Entity agent;
  agent.size = kAgentSize;
  agent.mass = 1.0;
  agent.collide = true;
  agent.movable = true;
  agent.sensitivity = 5.0;
  agent.colour = kAgentColour;
  Entity landmark;
  landmark.size = kLandmarkSize;
  landmark.collide = false;
  landmark.movable = false;
  landmark.colour = kLandmarkColour;
  return ParticleWorld(std::vector<Entity>(num_agents, agent),
                       std::vector<Entity>(kNumLandmarks, landmark));
}

MultiAgentSpec CooperativeNavigation::Spec() {
  MultiAgentSpec spec;
  spec.name = kName;
  EnvSpec agent;
  agent.name = kName;
  agent.observation_shape = {kObsDim};
  agent.discrete = true;
  agent.num_actions = kNumActions;
  agent.max_episode_steps = kDefaultMaxEpisodeSteps;
  for (int k = 0; k < kNumAgents; ++k) {
    spec.agents.push_back(absl::StrCat("agent_", k));
    spec.agent_specs.push_back(agent);
  }
  spec.state_shape = {kStateDim};
  spec.max_episode_steps = kDefaultMaxEpisodeSteps;
  return spec;
}

absl::StatusOr<std::unique_ptr<CooperativeNavigation>> CooperativeNavigation::Create(int max_episode_steps,
                                                                                     uint64_t seed,
                                                                                     ParticleActions actions) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new CooperativeNavigation(steps, seed, actions));
}

CooperativeNavigation::CooperativeNavigation(int max_episode_steps, uint64_t seed, ParticleActions actions)
    : ParticleTask(WithTimeLimit(WithActions(Spec(), actions), max_episode_steps), seed, MakeWorld()) {}

void CooperativeNavigation::PlaceEntities() { Scatter(/*agent_bound=*/1, /*landmark_bound=*/1); }

void CooperativeNavigation::WriteObs(int k, float* obs) const {
  const Entity& self = world_.agent(k);
  const Vec2& p = self.position;
  *obs++ = static_cast<float>(self.velocity[0]);
  *obs++ = static_cast<float>(self.velocity[1]);
  *obs++ = static_cast<float>(p[0]);
  *obs++ = static_cast<float>(p[1]);
  for (int j = 0; j < kNumLandmarks; ++j) {
    const Vec2& q = world_.landmark(j).position;
    *obs++ = static_cast<float>(q[0] - p[0]);
    *obs++ = static_cast<float>(q[1] - p[1]);
  }
  for (int other = 0; other < kNumAgents; ++other) {
    if (other == k) continue;
    const Vec2& q = world_.agent(other).position;
    *obs++ = static_cast<float>(q[0] - p[0]);
    *obs++ = static_cast<float>(q[1] - p[1]);
  }
  // The silent agents' communication channels: 2 per other agent.
  for (int i = 0; i < 2 * (kNumAgents - 1); ++i) *obs++ = 0;
}

double CooperativeNavigation::LandmarkDistanceSum() const {
  double sum = 0;
  for (int j = 0; j < kNumLandmarks; ++j) {
    double nearest = std::numeric_limits<double>::infinity();
    for (int k = 0; k < kNumAgents; ++k) nearest = std::min(nearest, Distance(world_.landmark(j), world_.agent(k)));
    sum += nearest;
  }
  return sum;
}

double CooperativeNavigation::Reward(int k) const {
  double reward = -LandmarkDistanceSum();
  for (int other = 0; other < kNumAgents; ++other) {
    if (other != k && Colliding(world_.agent(k), world_.agent(other))) reward -= 1;
  }
  return reward;
}

std::vector<EnvMetric> CooperativeNavigation::metrics() const {
  return {{"landmark_distance", EnvMetric::Over::kMean}, {"collisions", EnvMetric::Over::kSum}};
}

void CooperativeNavigation::MeasureStep(double* values) const {
  values[0] = MeanLandmarkDistance();
  values[1] = Collisions();
}

double CooperativeNavigation::MeanLandmarkDistance() const { return LandmarkDistanceSum() / kNumLandmarks; }

int CooperativeNavigation::Collisions() const {
  int pairs = 0;
  for (int a = 0; a < kNumAgents; ++a) {
    for (int b = a + 1; b < kNumAgents; ++b) {
      if (Colliding(world_.agent(a), world_.agent(b))) ++pairs;
    }
  }
  return pairs;
}

absl::Status CooperativeNavigation::SetPositions(const std::vector<Vec2>& agents, const std::vector<Vec2>& landmarks) {
  return PlaceExactly(agents, landmarks, "landmarks");
}

}  // namespace rill::envs::particle
