#include "envs/particle/particle_task.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/render/canvas.h"

namespace rill::envs::particle {
namespace {

// The control of each discrete action: none, left, right, down, up.
constexpr Vec2 kMoves[ParticleTask::kNumActions] = {{0, 0}, {-1, 0}, {1, 0}, {0, -1}, {0, 1}};

}  // namespace

MultiAgentSpec WithActions(MultiAgentSpec spec, ParticleActions actions) {
  if (actions == ParticleActions::kDiscrete) return spec;
  const size_t version = spec.name.rfind("-v");
  spec.name = version == std::string::npos
                  ? absl::StrCat(spec.name, "Continuous")
                  : absl::StrCat(spec.name.substr(0, version), "Continuous", spec.name.substr(version));
  for (EnvSpec& agent : spec.agent_specs) {
    agent.name = spec.name;
    agent.discrete = false;
    agent.num_actions = 0;
    agent.action_low = {-1, -1};
    agent.action_high = {1, 1};
  }
  return spec;
}

ParticleTask::ParticleTask(MultiAgentSpec spec, uint64_t seed, ParticleWorld world)
    : MultiAgentEnv(std::move(spec)), rng_(seed), world_(std::move(world)) {}

void ParticleTask::Reset(float* const* obs) {
  PlaceEntities();
  StartEpisode();
  for (int k = 0; k < num_agents(); ++k) WriteObs(k, obs[k]);
}

absl::Status ParticleTask::Step(const float* const* actions, float* const* next_obs, StepResult* results) {
  RETURN_IF_ERROR(CheckStep(actions));
  // Every agent is live here: they all leave together, at the time limit.
  const int n = num_agents();
  std::vector<Vec2> controls(n);
  for (int k = 0; k < n; ++k) {
    if (spec().agent_specs[k].discrete) {
      controls[k] = kMoves[static_cast<int>(actions[k][0])];
    } else {
      // Clipped to the Box: an actor's exploration noise may step past it.
      controls[k] = {std::clamp(static_cast<double>(actions[k][0]), -1.0, 1.0),
                     std::clamp(static_cast<double>(actions[k][1]), -1.0, 1.0)};
    }
  }
  RETURN_IF_ERROR(world_.Step(controls));
  for (int k = 0; k < n; ++k) {
    WriteObs(k, next_obs[k]);
    results[k].reward = static_cast<float>(Reward(k));
    results[k].terminated = false;
    results[k].truncated = false;
  }
  // The time limit truncates them all together.
  EndStep(results);
  return absl::OkStatus();
}

void ParticleTask::WriteControl(int agent, Vec2 direction, float* action) const {
  const double length = std::hypot(direction[0], direction[1]);
  if (!spec().agent_specs[agent].discrete) {
    action[0] = length > 0 ? static_cast<float>(direction[0] / length) : 0.f;
    action[1] = length > 0 ? static_cast<float>(direction[1] / length) : 0.f;
    return;
  }
  int best = 0;
  double best_along = 0;
  for (int move = 1; move < kNumActions && length > 0; ++move) {
    const double along = kMoves[move][0] * direction[0] + kMoves[move][1] * direction[1];
    if (along > best_along) {
      best = move;
      best_along = along;
    }
  }
  action[0] = static_cast<float>(best);
}

void ParticleTask::State(float* state) const { WriteWorldState(state); }

float* ParticleTask::WriteWorldState(float* state) const {
  for (int k = 0; k < world_.num_agents(); ++k) {
    const Entity& agent = world_.agent(k);
    *state++ = static_cast<float>(agent.position[0]);
    *state++ = static_cast<float>(agent.position[1]);
    *state++ = static_cast<float>(agent.velocity[0]);
    *state++ = static_cast<float>(agent.velocity[1]);
  }
  for (int j = 0; j < world_.num_landmarks(); ++j) {
    const Entity& landmark = world_.landmark(j);
    *state++ = static_cast<float>(landmark.position[0]);
    *state++ = static_cast<float>(landmark.position[1]);
  }
  return state;
}

void ParticleTask::Scatter(double agent_bound, double landmark_bound) {
  // Braced initialisers run in order: x is drawn before y.
  for (int k = 0; k < world_.num_agents(); ++k) {
    Entity& agent = world_.agent(k);
    agent.position = {rng_.Uniform(-agent_bound, agent_bound), rng_.Uniform(-agent_bound, agent_bound)};
    agent.velocity = {0, 0};
  }
  for (int j = 0; j < world_.num_landmarks(); ++j) {
    Entity& landmark = world_.landmark(j);
    landmark.position = {rng_.Uniform(-landmark_bound, landmark_bound), rng_.Uniform(-landmark_bound, landmark_bound)};
    landmark.velocity = {0, 0};
  }
}

absl::Status ParticleTask::PlaceExactly(const std::vector<Vec2>& agents, const std::vector<Vec2>& landmarks,
                                        const char* landmarks_word) {
  const int num_agents = world_.num_agents();
  const int num_landmarks = world_.num_landmarks();
  if (static_cast<int>(agents.size()) != num_agents || static_cast<int>(landmarks.size()) != num_landmarks) {
    return absl::InvalidArgumentError(absl::StrCat(name(), ": SetPositions takes ", num_agents, " agents and ",
                                                   num_landmarks, " ", landmarks_word, ", got ", agents.size(),
                                                   " and ", landmarks.size()));
  }
  for (int k = 0; k < num_agents; ++k) {
    world_.agent(k).position = agents[k];
    world_.agent(k).velocity = {0, 0};
  }
  for (int j = 0; j < num_landmarks; ++j) world_.landmark(j).position = landmarks[j];
  return absl::OkStatus();
}

std::vector<std::string> ParticleTask::cameras() const { return {"default"}; }

absl::Status ParticleTask::Render(int width, int height, const std::string& camera, uint8_t* rgb) {
  if (camera != "default") {
    return absl::InvalidArgumentError(absl::StrCat(name(), " has no camera \"", camera, "\" (only \"default\")"));
  }
  if (width < 1 || height < 1) {
    return absl::InvalidArgumentError(absl::StrCat(name(), ": cannot render ", width, "x", height));
  }
  render::Canvas canvas(width, height, rgb);
  world_.Draw(canvas);
  return absl::OkStatus();
}

}  // namespace rill::envs::particle
