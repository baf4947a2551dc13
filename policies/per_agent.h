// PerAgentPolicy: the policy of a joint row (env.joint_agents,
// envs/multi_agent/joint.h), what MADDPG publishes: K inner policies, one
// per agent, each made by the registry (which hands Create its MakePolicy,
// so that this file does not depend on it) from spec.agents(k) (categorical for
// a discrete agent, deterministic for a continuous one) and fed its own
// contiguous slice of the row's observation. The row acts in a continuous
// space: PolicyOutput.actions [B, action_dim] is the agents' actions
// concatenated, a categorical agent's chosen index written as a one-hot of
// its action_dim entries (1 at the index, 0 elsewhere), a deterministic
// agent's actions as it gives them.
//
// Parameters (PolicySpec.agents): agent 0's tensors, each name prefixed
// "agent_0.", then agent 1's, and so on.
//
// Thread safety: none (see interface.h).
#ifndef RILL_POLICIES_PER_AGENT_H_
#define RILL_POLICIES_PER_AGENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "policies/interface.h"
#include "proto/parameters.pb.h"

namespace rill::policies {

class PerAgentPolicy final : public Policy {
 public:
  static constexpr char kKind[] = "per_agent";

  // Makes an agent's policy from its spec (registry.h's MakePolicy).
  using MakeAgentPolicy = absl::StatusOr<std::unique_ptr<Policy>> (*)(const v1::PolicySpec& spec, uint64_t seed);

  // InvalidArgument naming the field for a bad spec (CheckPolicySpec with
  // PolicyKind::kPerAgent: the agents, and sums that match them). Agent k's
  // policy is make(spec.agents(k), a seed derived from `seed` and k).
  static absl::StatusOr<std::unique_ptr<PerAgentPolicy>> Create(const v1::PolicySpec& spec, uint64_t seed,
                                                               MakeAgentPolicy make);

  const v1::PolicySpec& spec() const override { return spec_; }

  // out->actions [B, action_dim]: each agent's action in its slice; a
  // categorical agent's one-hot is the argmax when deterministic, a draw
  // from softmax(logits) otherwise; a deterministic agent explores with its
  // spec's noise. out->indices is left empty.
  void Act(const float* obs, int64_t batch, bool deterministic, PolicyOutput* out) override;

  // Splits `params` by the "agent_<k>." prefix and loads each agent's part.
  // InvalidArgument naming the agent and the tensor when a name carries no
  // agent's prefix or an agent's tensors differ from what its policy holds;
  // every agent keeps its old parameters then.
  absl::Status LoadParameters(const v1::ParameterSet& params) override;
  // Every agent's parameters, prefixed, with this policy's spec.
  absl::StatusOr<v1::ParameterSet> ExportParameters() const override;

  int num_agents() const { return static_cast<int>(agents_.size()); }

  // "agent_<k>.": the prefix of agent k's parameter names.
  static std::string AgentPrefix(int k);

 private:
  struct Agent {
    std::unique_ptr<Policy> policy;
    bool categorical = false;
    int obs_offset = 0, obs_dim = 0;
    int action_offset = 0, action_width = 0;
    std::vector<float> obs;  // [B, obs_dim]: its slice of the rows, reused across calls
  };

  PerAgentPolicy(v1::PolicySpec spec, std::vector<Agent> agents);

  // Writes agent_out_ (agent's output for `batch` rows) into its columns of
  // `actions` [B, action_dim].
  void WriteActions(const Agent& agent, int64_t batch, std::vector<float>& actions) const;

  v1::PolicySpec spec_;
  std::vector<Agent> agents_;
  PolicyOutput agent_out_;  // scratch, reused across calls
};

// Cross-play (`rill eval --opponent_checkpoint_dir`): `base` with the agents
// in `agents` (indices into PolicySpec.agents) playing `other`'s networks,
// the rest base's. Each taken agent's tensors ("agent_<k>." + name) and its
// spec (noise, normaliser) become other's, in base's order; the row's spec
// is base's. InvalidArgument naming the agent when either set is not kind
// per_agent, their agent counts differ, an index is out of range or
// repeated, a taken agent's spec differs from base's in kind, obs_dim,
// action_dim, hidden_sizes or bounds, or other lacks one of base's tensors
// for it (or has it in another shape). A pure function.
absl::StatusOr<v1::ParameterSet> TakeAgents(v1::ParameterSet base, const v1::ParameterSet& other,
                                            const std::vector<int>& agents);

}  // namespace rill::policies

#endif  // RILL_POLICIES_PER_AGENT_H_
