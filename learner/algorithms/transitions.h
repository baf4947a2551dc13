// What the off-policy algorithms (SAC, TD3 / DDPG, SAC-discrete) share: the
// transition columns they read from a sampled Batch by name, the typed view
// they update on, and the one rule for the bootstrap discount.
//
// Thread-compatible free functions.
#ifndef RILL_LEARNER_ALGORITHMS_TRANSITIONS_H_
#define RILL_LEARNER_ALGORITHMS_TRANSITIONS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "common/torch_types.h"
#include "envs/spec.h"
#include "learner/algorithms/interface.h"

namespace rill::learner {

// Tensors on the algorithm's device. Continuous actions are float32 in the
// policy's [-1, 1] units; discrete actions int64 indices.
struct TransitionBatch {
  torch::Tensor obs;         // [B, obs_dim] float32 (uint8 images scaled by 1/255)
  torch::Tensor action;      // [B, act_dim] float32, or [B] int64 (discrete)
  torch::Tensor reward;      // [B] float32 (the discounted n-step sum for n > 1)
  torch::Tensor terminated;  // [B] float32, 1 where the episode ended in a terminal state (not on truncation)
  torch::Tensor next_obs;    // [B, obs_dim] float32
  // [B] float32: the factor on the bootstrapped value of next_obs (gamma^k,
  // 0 after a termination), as n-step items carry it. Undefined:
  // gamma * (1 - terminated), the one-step rule.
  torch::Tensor discount;
  // [B] importance-sampling weights of a prioritized table (SampleResponse's
  // importance_weights): each transition's term of the critic loss is
  // scaled by its weight, which undoes the bias of drawing it with
  // probability != 1/N (Schaul et al. 2016). Undefined: all 1.
  torch::Tensor weight;
  // Joint rows (env.joint_agents K > 0) only, read when the batch has them
  // (undefined otherwise): [B, K] float32, each agent's own reward, and 1
  // where agent k's future is not bootstrapped (it terminated).
  torch::Tensor agent_rewards;
  torch::Tensor agent_terminated;
};

// The columns of each agent's reward and termination in a joint row's
// transitions ([K] float32 per item).
inline constexpr char kAgentRewardsColumn[] = "agent_rewards";
inline constexpr char kAgentTerminatedColumn[] = "agent_terminated";

// obs, action, reward, terminated, next_obs and the optional discount, with
// the dtypes and item shapes `env` gives them.
std::vector<ColumnRequirement> TransitionColumns(const envs::EnvSpec& env);

// agent_rewards and agent_terminated ([joint_agents] float32, required);
// none for an env whose rows are one agent (joint_agents 0).
std::vector<ColumnRequirement> JointAgentColumns(const envs::EnvSpec& env);

// The typed view of a sampled batch (no copies, but for uint8 observations,
// which become float32 / 255 here; a Dict observation's packed rows, of
// `flat_dim` flat leaves, their image scaled and their floats beside it:
// FloatObservations). InvalidArgument naming the column when a required
// one is missing.
absl::StatusOr<TransitionBatch> ToTransitionBatch(const Batch& batch, int64_t flat_dim = 0);

// The checks every transition algorithm makes before an update: obs and
// next_obs [B, obs_dim] float32 with B > 0, action [B, act_dim] float32 or,
// for act_dim 0 (discrete), [B] int64, reward and terminated [B], and the
// optional discount and weight [B], all on `device`. InvalidArgument naming
// the field and what it should be.
absl::Status CheckTransitionBatch(const TransitionBatch& batch, int64_t obs_dim, int64_t act_dim,
                                  const torch::Device& device);

// batch.discount, or gamma * (1 - terminated) when it is undefined.
torch::Tensor BootstrapDiscount(const TransitionBatch& batch, double gamma);

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_TRANSITIONS_H_
