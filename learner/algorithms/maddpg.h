// MADDPG (Lowe et al. 2017, "Multi-Agent Actor-Critic for Mixed
// Cooperative-Competitive Environments") on the joint rows of a
// multi-agent env (env.joint_agents, envs/multi_agent/joint.h): one
// transition holds all K agents, obs and next_obs their observations
// concatenated, action their actions concatenated (a discrete agent's as a
// one-hot of its num_actions entries), agent_rewards and agent_terminated
// [B, K] each agent's own reward and termination.
//
// Per agent k: an actor MLP (hidden, ReLU) on its observation slice whose
// output is its action width (a discrete agent's logits; a continuous
// agent's pre-tanh action), and a critic MLP -> 1 on every agent's
// observation and action (CENTRALISED) or on its own (OWN: independent
// DDPG), each with a target copy. Per update, agent after agent:
//   a'_j = one_hot(argmax actor'_j(s'_j)) (discrete) or tanh(actor'_j(s'_j))
//   y_k  = r_k + g (1 - terminated_k) Q'_k(s', a'), g = gamma, or the
//          batch's discount column (n-step items) when it has one;
//   critic: loss = mean_i w_i (Q_k(s_i, a_i) - y_k,i)^2, one Adam step;
//   actor: a_k~ = straight-through hard Gumbel-softmax of actor_k(s_k) at
//          gumbel_temperature (one-hot forward, softmax((logits + G) / T)
//          gradient) or tanh(actor_k(s_k)); loss = -mean Q_k(s, a with
//          agent k's slice replaced by a_k~) + policy_regularization *
//          mean(actor_k(s_k)^2), one Adam step through the updated critic;
// every gradient clipped to max_grad_norm per network; then every target
// moves by Polyak averaging (tau). The targets y are computed once, before
// any agent's step.
//
// The actors run the agents' actors as one PerAgentPolicy
// (policies/per_agent.h). Networks are small: the update uses autograd on
// one flat parameter tensor per network (one Adam pass, one clip, one lerp_
// each).
//
// Thread safety: not thread-safe; one thread calls all methods.
#ifndef RILL_LEARNER_ALGORITHMS_MADDPG_H_
#define RILL_LEARNER_ALGORITHMS_MADDPG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/multi_agent/joint.h"
#include "envs/spec.h"
#include "learner/algorithms/context.h"
#include "learner/algorithms/interface.h"
#include "learner/algorithms/training_state.h"
#include "learner/algorithms/transitions.h"
#include "learner/flat_adam.h"
#include "proto/config.pb.h"
#include "proto/parameters.pb.h"
#include "torch/torch.h"

namespace rill::learner {

// Defaults are MaddpgConfig's.
struct MaddpgOptions {
  // The joint row's spec (joint_agents K, the row's bounds) and where each
  // agent's parts lie in it (envs::JointLayout).
  envs::EnvSpec env;
  std::vector<envs::JointSlot> slots;
  std::vector<int> hidden = {64, 64};
  double actor_lr = 0.01;
  double critic_lr = 0.01;
  v1::MaddpgConfig::Critic critic = v1::MaddpgConfig::CENTRALISED;
  double gumbel_temperature = 1.0;      // > 0
  double policy_regularization = 1e-3;  // >= 0
  double max_grad_norm = 0.5;           // per network; 0: no clip
  double exploration_noise = 0.1;       // published for continuous agents
  double gamma = 0.99;
  double tau = 0.01;  // 0 freezes the targets
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

class Maddpg final : public Algorithm {
 public:
  // From a finalized config: learner.maddpg, gamma, tau,
  // network.hidden_sizes, and the layout of env.name's agents
  // (envs::ConfiguredMultiAgentSpec: catalogued or remote). InvalidArgument when learner.maddpg is
  // not selected, the env's rows are not joint (env.joint_agents) or a
  // value is out of range; FailedPrecondition for an unavailable device.
  static absl::StatusOr<std::unique_ptr<Algorithm>> FromConfig(const AlgorithmContext& context);
  // InvalidArgument naming the option for slots that do not tile the row,
  // bad sizes or hyperparameters; FailedPrecondition for an unavailable
  // device.
  static absl::StatusOr<std::unique_ptr<Maddpg>> Create(const MaddpgOptions& options);

  // "maddpg", the config's oneof field name.
  const std::string& name() const override { return name_; }
  // obs, action ([action_dim] float32), reward, terminated, next_obs,
  // optional discount, agent_rewards and agent_terminated ([K] float32).
  std::vector<ColumnRequirement> Columns() const override;
  // One step of every agent as described above. InvalidArgument naming the
  // column for a missing one or a wrong shape, dtype or device (nothing is
  // changed then); Internal if LibTorch fails.
  absl::Status Update(const Batch& batch) override;
  // The same on the typed view (tests).
  absl::Status Update(const TransitionBatch& batch);
  int64_t updates() const override { return updates_; }
  // A "per_agent" spec whose agents[k] is agent k's "categorical" (discrete)
  // or "deterministic" spec (hidden sizes, its obs_dim and action width,
  // exploration_noise and its slice of the row's bounds), with tensors
  // "agent_<k>.policy.layers.<l>.weight" / ".bias" in agent order.
  absl::StatusOr<v1::ParameterSet> ExportPolicy() const override;
  // |TD error| of each item of the last update, averaged over the agents:
  // [B] float32 on the device.
  torch::Tensor Priorities() const override;
  // Losses "critic" and "actor" (the agents' last losses, averaged), and
  // statistic "q_mean" (every agent's critic on the batch's actions, before
  // its step).
  std::vector<Statistic> Statistics() const override;
  // Per agent k: "agent_<k>.actor", ".actor_target", ".critic",
  // ".critic_target", the Adam states ".actor_adam.*", ".critic_adam.*";
  // then "updates" and, on the CPU, "generator" (the Gumbel noise).
  TrainingState& state() override { return state_; }
  int64_t UpdateMatmulFlops(int64_t batch) const override;

  const MaddpgOptions& options() const { return options_; }
  int num_agents() const { return static_cast<int>(agents_.size()); }

  // y [B, K] for `batch` from the target networks as they are now (no
  // step). InvalidArgument naming the column for a bad batch.
  absl::StatusOr<torch::Tensor> CriticTargets(const TransitionBatch& batch) const;
  // The actors' deterministic joint action for obs [B, obs_dim]: a
  // discrete agent's one-hot argmax of its logits, a continuous agent's
  // tanh, concatenated [B, action_dim] (what the published PerAgentPolicy
  // acts with deterministic = true).
  torch::Tensor DeterministicActions(const torch::Tensor& obs) const;
  // The width of agent k's critic input: obs_dim + action_dim of the row
  // (CENTRALISED), or of agent k alone (OWN).
  int64_t CriticInputWidth(int k) const;

  // ---- Test-only hooks.
  // Live views of every parameter: "agent_<k>.<net>.layers.<l>.weight"
  // ([out, in]) and ".bias" ([out]) for net in actor, actor_target,
  // critic, critic_target. Write into them under a NoGradGuard.
  std::map<std::string, torch::Tensor> ParametersForTesting();

 private:
  // An MLP (ReLU hidden layers, linear output) whose parameters are one
  // flat float32 tensor, torch.nn.Linear's layer after layer: weight
  // [out, in], then bias [out].
  struct Layers {
    std::vector<int64_t> sizes;  // input, hidden..., output
    int64_t numel() const;
    std::vector<torch::Tensor> Views(const torch::Tensor& flat) const;
    torch::Tensor Forward(const torch::Tensor& flat, const torch::Tensor& x) const;
    // "<prefix>.layers.<l>.weight" / ".bias", the views of `flat`.
    std::vector<std::pair<std::string, torch::Tensor>> Named(const std::string& prefix,
                                                             const torch::Tensor& flat) const;
  };
  struct Agent {
    envs::JointSlot slot;
    Layers actor_layers, critic_layers;
    // Flat parameters; actor and critic are autograd leaves.
    torch::Tensor actor, actor_target, critic, critic_target;
    FlatAdam actor_adam, critic_adam;
  };
  // What Statistics and Priorities read, from the last update.
  struct Last {
    torch::Tensor q;            // [B, K] critics on the batch's actions, before their step
    torch::Tensor target;       // [B, K]
    torch::Tensor weight;       // [B] or undefined
    torch::Tensor actor_loss;   // [K]
  };

  Maddpg(const MaddpgOptions& options, std::vector<Agent> agents);

  absl::Status CheckBatch(const TransitionBatch& batch) const;
  torch::Tensor TargetsUnchecked(const TransitionBatch& batch) const;
  // Agent k's critic input from the row's obs and action [B, *].
  torch::Tensor CriticInput(int k, const torch::Tensor& obs, const torch::Tensor& action) const;
  // One critic step of agent k towards y [B]; returns Q [B] before it.
  absl::StatusOr<torch::Tensor> CriticStep(int k, const TransitionBatch& batch, const torch::Tensor& y);
  // One actor step of agent k; returns its loss [].
  absl::StatusOr<torch::Tensor> ActorStep(int k, const TransitionBatch& batch);
  // Agent k's action with gradient from its actor's output `out`.
  torch::Tensor DifferentiableAction(int k, const torch::Tensor& out);
  // Clips `grad`, averages it over ranks and steps `params` with `adam`.
  absl::Status Step(torch::Tensor& params, torch::Tensor grad, FlatAdam& adam);
  absl::Status UpdateUnchecked(const TransitionBatch& batch);

  MaddpgOptions options_;
  std::string name_;
  std::vector<Agent> agents_;
  c10::optional<at::Generator> generator_;  // CPU; the device's default generator elsewhere
  int64_t updates_ = 0;
  TrainingState state_;
  Last last_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_MADDPG_H_
