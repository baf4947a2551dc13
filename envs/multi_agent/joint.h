// The joint row of a multi-agent env (env.joint_agents): its K agents as
// one row of an actor's batch, what algorithms that train on every agent's
// observation and action at once (MADDPG's centralised critics) step.
//   observation: the agents' observations concatenated in agent order
//     (float32, agent k's obs_dim floats at its obs_offset);
//   action: continuous, the agents' actions concatenated; a discrete agent
//     takes num_actions entries, a one-hot in [-1, 1] units (bounds -1 and
//     1), of which the env plays the largest (ties: the first) that the
//     agent's action mask allows, when its observation ends in one; a
//     continuous agent its action_dim entries with its own bounds;
//   reward: the mean of the agents' rewards (a team's return per agent,
//     comparable with the rows of agents that act alone); the agents' own
//     rewards and terminations go with each step (EnvBatchOutput's
//     agent_rewards and agent_terminated) to the transitions' columns.
//
// Thread-safe: pure functions.
#ifndef RILL_ENVS_MULTI_AGENT_JOINT_H_
#define RILL_ENVS_MULTI_AGENT_JOINT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "envs/multi_agent/interface.h"
#include "envs/spec.h"

namespace rill::envs {

// Where agent k's parts lie in a joint row.
struct JointSlot {
  int obs_offset = 0;     // first float of its observation in the row's
  int obs_dim = 0;
  int action_offset = 0;  // first entry of its action in the row's
  int action_width = 0;   // num_actions (one-hot) or action_dim
  bool discrete = false;
  // Discrete agents only: its observation ends in its action mask (the
  // last action_width floats of its slice; EnvSpec::action_mask). The row
  // plays the largest entry the mask allows, and MADDPG gives the others
  // no probability.
  bool masked = false;
};

// Agent k's slot is element k.
std::vector<JointSlot> JointLayout(const MultiAgentSpec& spec);

// The spec of `spec`'s joint row, named as the env, joint_agents K.
// InvalidArgument for an env whose observations are not float32.
absl::StatusOr<EnvSpec> JointSpec(const MultiAgentSpec& spec);

}  // namespace rill::envs

#endif  // RILL_ENVS_MULTI_AGENT_JOINT_H_
