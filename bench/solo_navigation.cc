#include "bench/solo_navigation.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/particle/cooperative_navigation.h"
#include "envs/particle/particle_task.h"

namespace rill::bench {
namespace {

using envs::particle::CooperativeNavigation;
using envs::particle::Entity;
using envs::particle::ParticleWorld;
using envs::particle::Vec2;

// ParticleTask's controls: none, left, right, down, up.
constexpr Vec2 kMoves[envs::particle::ParticleTask::kNumActions] = {{0, 0}, {-1, 0}, {1, 0}, {0, -1}, {0, 1}};

}  // namespace

envs::EnvSpec SoloNavigation::Spec() {
  envs::EnvSpec spec = CooperativeNavigation::Spec().agent_specs[0];
  spec.name = "SoloNavigation";
  return spec;
}

SoloNavigation::SoloNavigation(uint64_t seed) : Env(Spec()), rng_(seed), world_(CooperativeNavigation::MakeWorld(/*num_agents=*/1)) {}

void SoloNavigation::Reset(float* obs) {
  std::uniform_real_distribution<double> uniform(-1, 1);
  Entity& agent = world_.agent(0);
  // Braced initialisers run in order: x is drawn before y.
  agent.position = {uniform(rng_), uniform(rng_)};
  agent.velocity = {0, 0};
  for (int j = 0; j < world_.num_landmarks(); ++j) world_.landmark(j).position = {uniform(rng_), uniform(rng_)};
  elapsed_steps_ = 0;
  episode_open_ = true;
  WriteObs(obs);
}

absl::StatusOr<envs::StepResult> SoloNavigation::Step(const float* action, float* next_obs) {
  if (!episode_open_) return absl::FailedPreconditionError("SoloNavigation: Step without an open episode");
  const int move = static_cast<int>(action[0]);
  if (move < 0 || move >= envs::particle::ParticleTask::kNumActions) {
    return absl::InvalidArgumentError(absl::StrCat("SoloNavigation: action ", action[0], " is not in [0, 5)"));
  }
  RETURN_IF_ERROR(world_.Step({kMoves[move]}));
  WriteObs(next_obs);
  envs::StepResult result;
  double distance_sum = 0;
  for (int j = 0; j < world_.num_landmarks(); ++j) {
    distance_sum += envs::particle::Distance(world_.landmark(j), world_.agent(0));
  }
  result.reward = static_cast<float>(-distance_sum);
  if (++elapsed_steps_ >= max_episode_steps()) {
    result.truncated = true;
    episode_open_ = false;
  }
  return result;
}

void SoloNavigation::WriteObs(float* obs) const {
  const Entity& self = world_.agent(0);
  const Vec2& p = self.position;
  *obs++ = static_cast<float>(self.velocity[0]);
  *obs++ = static_cast<float>(self.velocity[1]);
  *obs++ = static_cast<float>(p[0]);
  *obs++ = static_cast<float>(p[1]);
  for (int j = 0; j < world_.num_landmarks(); ++j) {
    const Vec2& q = world_.landmark(j).position;
    *obs++ = static_cast<float>(q[0] - p[0]);
    *obs++ = static_cast<float>(q[1] - p[1]);
  }
  // The absent agents' relative positions and communication channels.
  for (int i = 0; i < 4 * (CooperativeNavigation::kNumAgents - 1); ++i) *obs++ = 0;
}

}  // namespace rill::bench
