#include "envs/particle/predator_prey.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/render/canvas.h"
#include "envs/time_limit.h"

namespace rill::envs::particle {
namespace {

constexpr char kName[] = "PredatorPrey-v0";
// MPE's colours: predators (0.85, 0.35, 0.35), the prey (0.35, 0.85, 0.35),
// obstacles (0.25, 0.25, 0.25).
constexpr render::Rgb kPredatorColour = {217, 89, 89};
constexpr render::Rgb kPreyColour = {89, 217, 89};
constexpr render::Rgb kObstacleColour = {64, 64, 64};

// Reset's ranges: agents in [-1, 1]^2, obstacles in [-0.9, 0.9]^2.
constexpr double kAgentBound = 1.0;
constexpr double kObstacleBound = 0.9;

ParticleWorld MakeWorld() {
  Entity predator;
  predator.size = PredatorPrey::kPredatorSize;
  predator.mass = 1.0;
  predator.collide = true;
  predator.movable = true;
  predator.sensitivity = 3.0;
  predator.max_speed = 1.0;
  predator.colour = kPredatorColour;
  Entity prey;
  prey.size = PredatorPrey::kPreySize;
  prey.mass = 1.0;
  prey.collide = true;
  prey.movable = true;
  prey.sensitivity = 4.0;
  prey.max_speed = 1.3;
  prey.colour = kPreyColour;
  Entity obstacle;
  obstacle.size = PredatorPrey::kObstacleSize;
  obstacle.collide = true;
  obstacle.movable = false;
  obstacle.colour = kObstacleColour;
  std::vector<Entity> agents(PredatorPrey::kNumPredators, predator);
  agents.insert(agents.end(), PredatorPrey::kNumPrey, prey);
  return ParticleWorld(std::move(agents), std::vector<Entity>(PredatorPrey::kNumObstacles, obstacle));
}

// The prey's penalty for one coordinate of its position: nothing well
// inside the arena, a linear ramp near its edge, then an exponential wall
// capped at 10.
double BoundaryPenalty(double coordinate) {
  const double x = std::abs(coordinate);
  if (x < 0.9) return 0;
  if (x < 1.0) return (x - 0.9) * 10;
  return std::min(std::exp(2 * x - 2), 10.0);
}

}  // namespace

MultiAgentSpec PredatorPrey::Spec() {
  MultiAgentSpec spec;
  spec.name = kName;
  EnvSpec agent;
  agent.name = kName;
  agent.discrete = true;
  agent.num_actions = kNumActions;
  agent.max_episode_steps = kDefaultMaxEpisodeSteps;
  for (int k = 0; k < kNumAgents; ++k) {
    if (IsPredator(k)) {
      spec.agents.push_back(absl::StrCat("adversary_", k));
      agent.observation_shape = {kPredatorObsDim};
    } else {
      spec.agents.push_back(absl::StrCat("agent_", k - kNumPredators));
      agent.observation_shape = {kPreyObsDim};
    }
    spec.agent_specs.push_back(agent);
  }
  spec.state_shape = {kStateDim};
  spec.max_episode_steps = kDefaultMaxEpisodeSteps;
  return spec;
}

absl::StatusOr<std::unique_ptr<PredatorPrey>> PredatorPrey::Create(int max_episode_steps, uint64_t seed,
                                                                   ParticleActions actions) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new PredatorPrey(steps, seed, actions));
}

PredatorPrey::PredatorPrey(int max_episode_steps, uint64_t seed, ParticleActions actions)
    : ParticleTask(WithTimeLimit(WithActions(Spec(), actions), max_episode_steps), seed, MakeWorld()) {}

void PredatorPrey::PlaceEntities() { Scatter(kAgentBound, kObstacleBound); }

void PredatorPrey::WriteObs(int k, float* obs) const {
  const Entity& self = world_.agent(k);
  const Vec2& p = self.position;
  *obs++ = static_cast<float>(self.velocity[0]);
  *obs++ = static_cast<float>(self.velocity[1]);
  *obs++ = static_cast<float>(p[0]);
  *obs++ = static_cast<float>(p[1]);
  for (int j = 0; j < kNumObstacles; ++j) {
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
  for (int other = 0; other < kNumAgents; ++other) {
    if (other == k || IsPredator(other)) continue;
    const Vec2& v = world_.agent(other).velocity;
    *obs++ = static_cast<float>(v[0]);
    *obs++ = static_cast<float>(v[1]);
  }
}

int PredatorPrey::TouchesOf(int prey) const {
  int touches = 0;
  for (int k = 0; k < kNumPredators; ++k) {
    if (Colliding(world_.agent(k), world_.agent(prey))) ++touches;
  }
  return touches;
}

int PredatorPrey::PreyTouches() const {
  int touches = 0;
  for (int prey = kNumPredators; prey < kNumAgents; ++prey) touches += TouchesOf(prey);
  return touches;
}

double PredatorPrey::Reward(int k) const {
  if (IsPredator(k)) return kTouchReward * PreyTouches();
  const Vec2& p = world_.agent(k).position;
  return -kTouchReward * TouchesOf(k) - BoundaryPenalty(p[0]) - BoundaryPenalty(p[1]);
}

bool PredatorPrey::ScriptedAction(int agent, const float* obs, float* action) {
  if (agent < 0 || agent >= kNumAgents) return false;
  // The other agents' relative positions start after the agent's velocity,
  // position and the obstacles'.
  const float* others = obs + 4 + 2 * kNumObstacles;
  if (IsPredator(agent)) {
    // The prey is the last of a predator's others.
    const float* prey = others + 2 * (kNumAgents - 2);
    WriteControl(agent, {prey[0], prey[1]}, action);
    return true;
  }
  Vec2 away = {0, 0};
  for (int k = 0; k < kNumPredators; ++k) {
    const double dx = others[2 * k], dy = others[2 * k + 1];
    const double squared = std::max(dx * dx + dy * dy, 1e-3);
    away[0] -= dx / squared;
    away[1] -= dy / squared;
  }
  const double x = obs[2], y = obs[3];
  const double radius = std::hypot(x, y);
  if (radius > kScriptedPreyRadius) {
    const double pull = kScriptedPreyPull * (radius - kScriptedPreyRadius) / radius;
    away[0] -= pull * x;
    away[1] -= pull * y;
  }
  WriteControl(agent, away, action);
  return true;
}

absl::Status PredatorPrey::SetPositions(const std::vector<Vec2>& agents, const std::vector<Vec2>& obstacles) {
  return PlaceExactly(agents, obstacles, "obstacles");
}

}  // namespace rill::envs::particle
