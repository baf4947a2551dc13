#include "envs/particle/physical_deception.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/render/canvas.h"
#include "envs/time_limit.h"

namespace rill::envs::particle {
namespace {

constexpr char kName[] = "PhysicalDeception-v0";
// MPE's colours: the adversary (0.85, 0.35, 0.35), good agents
// (0.35, 0.35, 0.85), landmarks (0.15, 0.15, 0.15), the goal
// (0.15, 0.65, 0.15).
constexpr render::Rgb kAdversaryColour = {217, 89, 89};
constexpr render::Rgb kGoodColour = {89, 89, 217};
constexpr render::Rgb kLandmarkColour = {38, 38, 38};
constexpr render::Rgb kGoalColour = {38, 166, 38};

ParticleWorld MakeWorld() {
  Entity agent;
  agent.size = PhysicalDeception::kAgentSize;
  agent.mass = 1.0;
  agent.collide = false;
  agent.movable = true;
  agent.sensitivity = 5.0;
  std::vector<Entity> agents;
  for (int k = 0; k < PhysicalDeception::kNumAgents; ++k) {
    agent.colour = PhysicalDeception::IsAdversary(k) ? kAdversaryColour : kGoodColour;
    agents.push_back(agent);
  }
  Entity landmark;
  landmark.size = PhysicalDeception::kLandmarkSize;
  landmark.collide = false;
  landmark.movable = false;
  landmark.colour = kLandmarkColour;
  return ParticleWorld(std::move(agents), std::vector<Entity>(PhysicalDeception::kNumLandmarks, landmark));
}

}  // namespace

MultiAgentSpec PhysicalDeception::Spec() {
  MultiAgentSpec spec;
  spec.name = kName;
  EnvSpec agent;
  agent.name = kName;
  agent.discrete = true;
  agent.num_actions = kNumActions;
  agent.max_episode_steps = kDefaultMaxEpisodeSteps;
  for (int k = 0; k < kNumAgents; ++k) {
    if (IsAdversary(k)) {
      spec.agents.push_back(absl::StrCat("adversary_", k));
      agent.observation_shape = {kAdversaryObsDim};
    } else {
      spec.agents.push_back(absl::StrCat("agent_", k - kNumAdversaries));
      agent.observation_shape = {kGoodObsDim};
    }
    spec.agent_specs.push_back(agent);
  }
  spec.state_shape = {kStateDim};
  spec.max_episode_steps = kDefaultMaxEpisodeSteps;
  return spec;
}

absl::StatusOr<std::unique_ptr<PhysicalDeception>> PhysicalDeception::Create(int max_episode_steps, uint64_t seed,
                                                                             ParticleActions actions) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new PhysicalDeception(steps, seed, actions));
}

PhysicalDeception::PhysicalDeception(int max_episode_steps, uint64_t seed, ParticleActions actions)
    : ParticleTask(WithTimeLimit(WithActions(Spec(), actions), max_episode_steps), seed, MakeWorld()) {
  ChooseGoal(0);
}

void PhysicalDeception::PlaceEntities() {
  // The goal first, then the positions. A landmark index uniform in
  // 0..kNumLandmarks-1; the min guards the upper end against rounding.
  ChooseGoal(std::min(static_cast<int>(rng_.Uniform(0, kNumLandmarks)), kNumLandmarks - 1));
  Scatter(/*agent_bound=*/1, /*landmark_bound=*/1);
}

void PhysicalDeception::State(float* state) const {
  state = WriteWorldState(state);
  for (int j = 0; j < kNumLandmarks; ++j) *state++ = j == goal_ ? 1.0f : 0.0f;
}

void PhysicalDeception::ChooseGoal(int goal) {
  goal_ = goal;
  for (int j = 0; j < kNumLandmarks; ++j) world_.landmark(j).colour = j == goal_ ? kGoalColour : kLandmarkColour;
}

void PhysicalDeception::WriteObs(int k, float* obs) const {
  const Vec2& p = world_.agent(k).position;
  if (!IsAdversary(k)) {
    const Vec2& goal = world_.landmark(goal_).position;
    *obs++ = static_cast<float>(goal[0] - p[0]);
    *obs++ = static_cast<float>(goal[1] - p[1]);
  }
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
}

double PhysicalDeception::GoalDistance(int k) const { return Distance(world_.agent(k), world_.landmark(goal_)); }

double PhysicalDeception::AdversaryGoalDistance() const {
  double sum = 0;
  for (int k = 0; k < kNumAgents; ++k) {
    if (IsAdversary(k)) sum += GoalDistance(k);
  }
  return sum;
}

double PhysicalDeception::GoodGoalDistance() const {
  double nearest = std::numeric_limits<double>::infinity();
  for (int k = 0; k < kNumAgents; ++k) {
    if (!IsAdversary(k)) nearest = std::min(nearest, GoalDistance(k));
  }
  return nearest;
}

double PhysicalDeception::Reward(int k) const {
  if (IsAdversary(k)) return -GoalDistance(k);
  return AdversaryGoalDistance() - GoodGoalDistance();
}

absl::Status PhysicalDeception::SetPositions(const std::vector<Vec2>& agents, const std::vector<Vec2>& landmarks) {
  return PlaceExactly(agents, landmarks, "landmarks");
}

absl::Status PhysicalDeception::SetGoal(int goal) {
  if (goal < 0 || goal >= kNumLandmarks) {
    return absl::InvalidArgumentError(
        absl::StrCat(kName, ": SetGoal takes a landmark index in 0..", kNumLandmarks - 1, ", got ", goal));
  }
  ChooseGoal(goal);
  return absl::OkStatus();
}

}  // namespace rill::envs::particle
