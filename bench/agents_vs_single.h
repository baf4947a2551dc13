// `rill bench env --bench_agents_vs_single`: issue 45's throughput target,
// "the actor loop with K agents costs no more per agent-step than a
// single-agent env of the same size (within 25%)", measured.
//
// Every side runs the same actor loop (ActorLoop in the .cc) over the same
// number of rows with the same policy: actor::LockstepEnvs over an
// envs::EnvBatch (the actor's stepping, episode statistics, masks and
// resets), actor::FixedPolicySource (one batched forward of the policy for
// every row, with the behaviour log-probabilities and distributions PPO's
// unrolls record) and the actor's per-row bookkeeping into an
// items::ItemBuilder of PPO unrolls of 25 steps (Actor::AddSteps without
// metrics and replay; ready items are dropped):
//   multi_agent: `num_envs` envs of the registry's multi-agent env (K
//     agents of one spec) through MakeEnvBatch: an AgentRowsEnvBatch of
//     num_envs x K rows;
//   single_agent, the target's reference: num_envs x K AgentTurns
//     (agent_turns.h) of the same env in a LocalEnvBatch: single-agent envs
//     of one agent's spaces doing exactly one agent's share of the same
//     env's work per step, so the ratio is the multi-agent path's own cost;
//   lone_agent, for agents of CooperativeNavigation's size only:
//     num_envs x K SoloNavigation (solo_navigation.h), one agent alone in
//     the same particle world: what a single-agent task of that size
//     costs, the agents' interaction (contacts, shared reward) left out.
// The loops are measured in three alternating rounds (multi, single, lone,
// multi, ...) so that drift in the machine's load falls on all; each loop
// also times its three parts (policy, env step, bookkeeping). Then each
// side's env layers are measured alone, with the same cycling actions, so
// a gap can be placed: the env's bare Step; for the multi-agent env with
// its MeasureStep (the metrics its batch adds up) and LocalMultiAgentEnvs'
// Step; the EnvBatch's Step (AgentRowsEnvBatch, LocalEnvBatch);
// LockstepEnvs'.
//
// Prints a summary to stderr and, as the last line of stdout, one JSON
// object: {"bench": "agents_vs_single", "env", "single_agent_env",
// "lone_agent_env" (null when not measured), "agents_per_env", "num_envs",
// "rows", "obs_dim", "num_actions", "policy_hidden", "items", "cores",
// "load_average_1m_before", "load_average_1m_after",
// "seconds_per_measurement", "multi_agent": {...}, "single_agent": {...},
// "lone_agent": {...} or null, "agent_step_cost_ratio" (multi's time per
// agent-step over single's), "target_cost_ratio" (1.25), "within_target",
// "agent_step_cost_ratio_beyond_bare_env" (the same with each env's bare
// Step taken out: the machinery's ratio), "lone_agent_cost_ratio" (multi's
// over lone's, or null)}, each side with "agent_steps_per_second",
// "env_steps_per_second" (agent-steps over the env's agents),
// "us_per_agent_step" and its parts "policy_us_per_agent_step",
// "env_us_per_agent_step", "bookkeeping_us_per_agent_step",
// "bare_env_agent_steps_per_second" (one env's Step in a tight loop),
// "us_per_agent_step_beyond_bare_env" (the loop less that) and
// "env_layers_us_per_agent_step" ({"env_step", ["env_step_and_metrics",
// "multi_agent_envs",] "env_batch", "lockstep_envs"}, each layer with
// those below it).
//
// Runs on the calling thread, BLAS limited to one thread. Not meant to run
// beside other work (it reports the load average it saw).
#ifndef RILL_BENCH_AGENTS_VS_SINGLE_H_
#define RILL_BENCH_AGENTS_VS_SINGLE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace rill::bench {

// `env`: a registry multi-agent env whose agents share their spaces: float
// observations and discrete actions. InvalidArgument otherwise (naming
// what differs); errors of the envs' and the policy's making, and of a
// step.
absl::Status RunAgentsVsSingle(const std::string& env, int num_envs, const std::vector<int>& hidden,
                               absl::Duration duration);

}  // namespace rill::bench

#endif  // RILL_BENCH_AGENTS_VS_SINGLE_H_
