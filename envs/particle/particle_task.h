// ParticleTask: what the particle tasks of the MADDPG paper (Lowe et al.
// 2017; MPE) have in common, so that each task (cooperative_navigation.h,
// predator_prey.h, physical_deception.h) writes only what makes it a
// different game: where Reset puts the entities, what each agent sees, and
// what it is paid. MPE shares the same frame across its scenarios; keeping
// it here keeps the tasks from drifting apart in how they step, count time
// and draw.
//
// The frame, the same for every task:
//   Reset: PlaceEntities (the task's draws from rng_, in its documented
//   order), StartEpisode, then each agent's first observation.
//   Step: CheckStep; each agent's discrete action (5: 0 no-op, 1 left
//   (-x), 2 right (+x), 3 down (-y), 4 up (+y)) becomes a unit control
//   (force = the agent's sensitivity), or, in a task's continuous twin
//   (ContinuousActions, "<Task>Continuous-v0"), its action in [-1, 1]^2
//   (clipped to it) is the control itself, a fraction of the full force on
//   each axis, as MPE's continuous actions give; ParticleWorld::Step; then each
//   agent's observation and reward on the state after the step. Agents
//   never terminate: the time limit (EndStep) truncates them all together.
//   State: each agent's position and velocity, then each landmark's
//   position; a task may append its own (WriteWorldState).
//   One camera, "default": ParticleWorld::Draw, at MPE's 10 frames per
//   second.
//
// Callers are the tasks (as subclasses) and, through MultiAgentEnv, the
// batches that step them. Physics in double; observations, rewards and
// state rounded to float. Not thread-safe (see MultiAgentEnv).
#ifndef RILL_ENVS_PARTICLE_PARTICLE_TASK_H_
#define RILL_ENVS_PARTICLE_PARTICLE_TASK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/multi_agent/interface.h"
#include "envs/particle/particle_world.h"
#include "envs/seeded_rng.h"

namespace rill::envs::particle {

// How a particle task's agents act: the five discrete moves, or a control
// in [-1, 1]^2 (the task's continuous twin).
enum class ParticleActions { kDiscrete, kContinuous };

// `spec` as agents of `actions` act: unchanged for kDiscrete; for
// kContinuous every agent's action a Box [-1, 1]^2 and the env named
// "<Name>Continuous-v0" ("PredatorPrey-v0" -> "PredatorPreyContinuous-v0").
MultiAgentSpec WithActions(MultiAgentSpec spec, ParticleActions actions);

class ParticleTask : public MultiAgentEnv {
 public:
  // Every particle task's action space: no-op and the four moves.
  static constexpr int kNumActions = 5;

  void Reset(float* const* obs) final;
  absl::Status Step(const float* const* actions, float* const* next_obs, StepResult* results) final;
  // The agents' positions and velocities, then the landmarks' positions
  // (WriteWorldState); a task with more to say overrides it.
  void State(float* state) const override;

  // One camera, "default": the world's picture (ParticleWorld::Draw).
  // InvalidArgument for another camera or a size below 1x1.
  std::vector<std::string> cameras() const final;
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) final;
  // MPE's metadata["render_fps"].
  double render_fps() const final { return 10; }

  const ParticleWorld& world() const { return world_; }

 protected:
  // `spec`: the task's Spec() with this instance's time limit; `world`:
  // its entities, agents in row order.
  ParticleTask(MultiAgentSpec spec, uint64_t seed, ParticleWorld world);

  // Reset's draws: sets every entity's position (and velocity) and any
  // hidden state of the task from rng_, in the order the task documents,
  // which fixes what a seed gives.
  virtual void PlaceEntities() = 0;
  // Writes agent k's observation (agent_specs[k].obs_dim() floats) for the
  // current state.
  virtual void WriteObs(int agent, float* obs) const = 0;
  // Agent k's reward on the current state.
  virtual double Reward(int agent) const = 0;

  // For a task's scripted players (ScriptedAction): agent k's action, in
  // Step's units, for a wish to push along `direction`: the continuous
  // twin's control, `direction` scaled to unit length (none for a zero
  // one); a discrete agent's move most along it (the first of equal ones),
  // the no-op for a zero one.
  void WriteControl(int agent, Vec2 direction, float* action) const;

  // For PlaceEntities: every agent's position uniformly in
  // [-agent_bound, agent_bound]^2 (in agent order, x before y), then every
  // landmark's in [-landmark_bound, landmark_bound]^2, all velocities 0.
  void Scatter(double agent_bound, double landmark_bound);
  // Writes the shared part of the global state (see State) and returns
  // where it ended, for a task that appends to it.
  float* WriteWorldState(float* state) const;
  // For the tasks' SetPositions: places the agents and landmarks exactly
  // and stops the agents. InvalidArgument, with nothing changed, for a
  // wrong count; `landmarks_word` names the landmarks in it ("obstacles").
  absl::Status PlaceExactly(const std::vector<Vec2>& agents, const std::vector<Vec2>& landmarks,
                            const char* landmarks_word);

  SeededRng rng_;
  ParticleWorld world_;
};

// A particle task's continuous twin as the registry lists it (envs/
// env_list.h): Task's game with every agent's action a control in
// [-1, 1]^2 (PettingZoo MPE's continuous_actions), under its own name.
template <typename Task>
class ContinuousActions {
 public:
  static MultiAgentSpec Spec() { return WithActions(Task::Spec(), ParticleActions::kContinuous); }
  static absl::StatusOr<std::unique_ptr<Task>> Create(int max_episode_steps, uint64_t seed) {
    return Task::Create(max_episode_steps, seed, ParticleActions::kContinuous);
  }
};

}  // namespace rill::envs::particle

#endif  // RILL_ENVS_PARTICLE_PARTICLE_TASK_H_
