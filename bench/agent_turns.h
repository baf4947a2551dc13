// AgentTurns: a single-agent env that does exactly one agent's share of a
// multi-agent env's work per step, the reference `rill bench env
// --bench_agents_vs_single` holds its actor loop against. Bench-local, not
// in the registry: nobody trains on it.
//
// It holds one env of K agents whose agents share their spaces (a
// homogeneous one: CooperativeNavigation-v0) and takes their turns: Step
// call t is agent t mod K's action, and every K-th call steps the env once
// with the K actions gathered. So K calls do one env Step, the same code
// on the same state as the multi-agent path runs, and each call is one
// agent-step's worth of it; its spaces are one agent's. What it does not do
// is what the multi-agent path adds around the env (LocalMultiAgentEnvs'
// metrics and copies, AgentRowsEnvBatch's masks), which is what the bench
// sets out to measure.
//
//   Reset: the env's Reset; the observation is agent 0's.
//   Step: as above; the observation returned is the next agent's (the one
//   whose turn comes), the reward the acting agent's from the env's last
//   Step. The episode ends, truncated, on the call that completes the
//   env's last step (every agent gone): K times the env's length.
//
// Not thread-safe (see envs::Env).
#ifndef RILL_BENCH_AGENT_TURNS_H_
#define RILL_BENCH_AGENT_TURNS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/multi_agent/interface.h"

namespace rill::bench {

class AgentTurns final : public envs::Env {
 public:
  // Over the registry's multi-agent env `name`, seeded `seed`. Errors: the
  // registry's; InvalidArgument when its agents' spaces differ.
  static absl::StatusOr<std::unique_ptr<AgentTurns>> Create(const std::string& name, uint64_t seed);

  void Reset(float* obs) override;
  // Errors: the env's Step (an action out of range, named).
  absl::StatusOr<envs::StepResult> Step(const float* action, float* next_obs) override;

 private:
  AgentTurns(envs::EnvSpec spec, std::unique_ptr<envs::MultiAgentEnv> env);

  std::unique_ptr<envs::MultiAgentEnv> env_;
  int agents_;
  int obs_dim_;
  int action_width_;  // floats of one agent's action
  int turn_ = 0;      // the agent whose action the next Step takes
  std::vector<float> obs_, actions_;  // [K, obs_dim], [K, action_width]
  std::vector<float*> obs_rows_;
  std::vector<const float*> action_rows_;
  std::vector<envs::StepResult> results_;
};

}  // namespace rill::bench

#endif  // RILL_BENCH_AGENT_TURNS_H_
