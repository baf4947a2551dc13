#include "policies/per_agent.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "policies/spec.h"

namespace rill::policies {

std::string PerAgentPolicy::AgentPrefix(int k) { return absl::StrCat("agent_", k, "."); }

PerAgentPolicy::PerAgentPolicy(v1::PolicySpec spec, std::vector<Agent> agents)
    : spec_(std::move(spec)), agents_(std::move(agents)) {}

absl::StatusOr<std::unique_ptr<PerAgentPolicy>> PerAgentPolicy::Create(const v1::PolicySpec& spec, uint64_t seed,
                                                                       MakeAgentPolicy make) {
  RETURN_IF_ERROR(CheckPolicySpec(spec, PolicyKind::kPerAgent));
  std::vector<Agent> agents(static_cast<size_t>(spec.agents_size()));
  int obs_offset = 0, action_offset = 0;
  for (int k = 0; k < spec.agents_size(); ++k) {
    const v1::PolicySpec& inner = spec.agents(k);
    Agent& agent = agents[k];
    // Distinct streams per agent: agents of one spec do not draw alike.
    ASSIGN_OR_RETURN(agent.policy, make(inner, seed + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(k + 1)));
    agent.categorical = inner.kind() == PolicyKindName(PolicyKind::kCategorical);
    agent.obs_offset = obs_offset;
    agent.obs_dim = inner.obs_dim();
    agent.action_offset = action_offset;
    agent.action_width = inner.action_dim();
    obs_offset += inner.obs_dim();
    action_offset += inner.action_dim();
  }
  return std::unique_ptr<PerAgentPolicy>(new PerAgentPolicy(spec, std::move(agents)));
}

void PerAgentPolicy::Act(const float* obs, int64_t batch, bool deterministic, PolicyOutput* out) {
  const int64_t row = spec_.obs_dim();
  out->actions.resize(static_cast<size_t>(batch * spec_.action_dim()));
  out->indices.clear();
  for (Agent& agent : agents_) {
    agent.obs.resize(static_cast<size_t>(batch * agent.obs_dim));
    for (int64_t r = 0; r < batch; ++r) {
      const float* from = obs + r * row + agent.obs_offset;
      std::copy(from, from + agent.obs_dim, agent.obs.data() + r * agent.obs_dim);
    }
    agent.policy->Act(agent.obs.data(), batch, deterministic, &agent_out_);
    WriteActions(agent, batch, out->actions);
  }
}

void PerAgentPolicy::WriteActions(const Agent& agent, int64_t batch, std::vector<float>& actions) const {
  const int64_t width = spec_.action_dim();
  for (int64_t r = 0; r < batch; ++r) {
    float* to = actions.data() + r * width + agent.action_offset;
    if (agent.categorical) {
      std::fill(to, to + agent.action_width, 0.f);
      to[agent_out_.indices[r]] = 1.f;
    } else {
      const float* from = agent_out_.actions.data() + r * agent.action_width;
      std::copy(from, from + agent.action_width, to);
    }
  }
}

absl::Status PerAgentPolicy::LoadParameters(const v1::ParameterSet& params) {
  std::vector<v1::ParameterSet> parts(agents_.size());
  for (const v1::NamedTensor& tensor : params.tensors()) {
    int k = 0;
    while (k < num_agents() && !absl::StartsWith(tensor.name(), AgentPrefix(k))) ++k;
    if (k == num_agents()) {
      return absl::InvalidArgumentError(absl::StrCat("parameter '", tensor.name(), "' names none of the ",
                                                     num_agents(), " agents (prefix agent_<k>.)"));
    }
    v1::NamedTensor* part = parts[k].add_tensors();
    *part = tensor;
    part->set_name(tensor.name().substr(AgentPrefix(k).size()));
  }
  // Loads agent after agent; a refusal puts back the agents loaded before it.
  std::vector<v1::ParameterSet> previous;
  for (int k = 0; k < num_agents(); ++k) {
    ASSIGN_OR_RETURN(v1::ParameterSet old, agents_[k].policy->ExportParameters());
    *parts[k].mutable_policy() = spec_.agents(k);
    const absl::Status status = agents_[k].policy->LoadParameters(parts[k]);
    if (!status.ok()) {
      for (int j = 0; j < k; ++j) agents_[j].policy->LoadParameters(previous[j]).IgnoreError();
      return absl::InvalidArgumentError(absl::StrCat("agent ", k, " (parameters prefixed '", AgentPrefix(k),
                                                     "'): ", status.message()));
    }
    previous.push_back(std::move(old));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ParameterSet> PerAgentPolicy::ExportParameters() const {
  v1::ParameterSet set;
  for (int k = 0; k < num_agents(); ++k) {
    ASSIGN_OR_RETURN(v1::ParameterSet part, agents_[k].policy->ExportParameters());
    for (v1::NamedTensor& tensor : *part.mutable_tensors()) {
      tensor.set_name(AgentPrefix(k) + tensor.name());
      *set.add_tensors() = std::move(tensor);
    }
  }
  *set.mutable_policy() = spec_;
  return set;
}

}  // namespace rill::policies
