// SoloNavigation: one agent of CooperativeNavigation-v0's particle world as
// a single-agent env, the "lone agent" `rill bench env
// --bench_agents_vs_single` steps beside the multi-agent env: what a
// single-agent task of one agent's size costs (its target's reference is
// AgentTurns, agent_turns.h, which does the same env work per agent-step).
// Bench-local, not in the registry: nobody trains on it.
//
// The same size: the same spaces as one agent (18 float observations, 5
// discrete actions), the same episode (25 steps, then truncated) and the
// same physics code (envs/particle/particle_world.h) on the same entities
// (CooperativeNavigation's agent disc and its three landmarks), stepped
// once per agent-step. What it leaves out is what only exists with other
// agents: the agent-agent contact forces, the other agents' positions in
// the observation (zeros here, where CooperativeNavigation writes them)
// and the collision penalty. So its step does less than one agent's share
// of CooperativeNavigation's work; the bench measures both bare steps per
// agent-step in the same run, so the difference is a figure, not a guess.
//
//   Reset: the agent and then each landmark uniformly in [-1, 1]^2 (x
//   before y), velocity 0.
//   Observation, 18 floats, CooperativeNavigation's layout: the agent's
//   velocity (2), its position (2), each landmark's position relative to
//   it (3 x 2), then 8 zeros (the two absent agents' relative positions and
//   communication channels).
//   Reward: minus the sum over landmarks of their distance to the agent.
//
// Not thread-safe (see envs::Env).
#ifndef RILL_BENCH_SOLO_NAVIGATION_H_
#define RILL_BENCH_SOLO_NAVIGATION_H_

#include <cstdint>
#include <random>

#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/particle/particle_world.h"

namespace rill::bench {

class SoloNavigation final : public envs::Env {
 public:
  // The spaces: one CooperativeNavigation agent's, named "SoloNavigation".
  static envs::EnvSpec Spec();

  explicit SoloNavigation(uint64_t seed);

  void Reset(float* obs) override;
  // InvalidArgument for an action outside [0, 5); FailedPrecondition before
  // the first Reset or after the episode ended.
  absl::StatusOr<envs::StepResult> Step(const float* action, float* next_obs) override;

 private:
  void WriteObs(float* obs) const;

  std::mt19937_64 rng_;
  envs::particle::ParticleWorld world_;
  int elapsed_steps_ = 0;
  bool episode_open_ = false;
};

}  // namespace rill::bench

#endif  // RILL_BENCH_SOLO_NAVIGATION_H_
