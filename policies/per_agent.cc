#include "policies/per_agent.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "policies/spec.h"

namespace rill::policies {
namespace {

// The agent whose prefix `name` carries, or -1.
int AgentOf(const std::string& name, int num_agents) {
  for (int k = 0; k < num_agents; ++k) {
    if (absl::StartsWith(name, PerAgentPolicy::AgentPrefix(k))) return k;
  }
  return -1;
}

template <typename Values>
std::string List(const Values& values) {
  return absl::StrCat("[", absl::StrJoin(values, ", "), "]");
}

// Agent k of `other` fits agent k's place in `base`: the sizes its tensors
// and the row's layout depend on, and the bounds its actions are scaled to.
absl::Status CheckSameAgent(const v1::PolicySpec& base, const v1::PolicySpec& other, int k) {
  const auto differs = [k](const char* field, const std::string& mine, const std::string& theirs) {
    return absl::InvalidArgumentError(absl::StrCat("agent ", k, "'s ", field, " is ", mine,
                                                   " in the base policy but ", theirs, " in the other"));
  };
  if (base.kind() != other.kind()) return differs("kind", base.kind(), other.kind());
  if (base.obs_dim() != other.obs_dim()) {
    return differs("obs_dim", absl::StrCat(base.obs_dim()), absl::StrCat(other.obs_dim()));
  }
  if (base.action_dim() != other.action_dim()) {
    return differs("action_dim", absl::StrCat(base.action_dim()), absl::StrCat(other.action_dim()));
  }
  if (!std::equal(base.hidden_sizes().begin(), base.hidden_sizes().end(), other.hidden_sizes().begin(),
                  other.hidden_sizes().end())) {
    return differs("hidden_sizes", List(base.hidden_sizes()), List(other.hidden_sizes()));
  }
  if (!std::equal(base.action_low().begin(), base.action_low().end(), other.action_low().begin(),
                  other.action_low().end())) {
    return differs("action_low", List(base.action_low()), List(other.action_low()));
  }
  if (!std::equal(base.action_high().begin(), base.action_high().end(), other.action_high().begin(),
                  other.action_high().end())) {
    return differs("action_high", List(base.action_high()), List(other.action_high()));
  }
  return absl::OkStatus();
}

// Both sets are per_agent policies of as many agents; `agents` are distinct
// indices among them whose specs agree. The taken agents as flags.
absl::StatusOr<std::vector<bool>> CheckTakeable(const v1::ParameterSet& base, const v1::ParameterSet& other,
                                                const std::vector<int>& agents) {
  for (const auto& [set, which] : {std::pair{&base, "base"}, std::pair{&other, "other"}}) {
    if (set->policy().kind() != PerAgentPolicy::kKind) {
      return absl::InvalidArgumentError(absl::StrCat("the ", which, " policy is kind '", set->policy().kind(),
                                                     "', not per_agent: agents are taken from per_agent policies"));
    }
  }
  const int n = base.policy().agents_size();
  if (other.policy().agents_size() != n) {
    return absl::InvalidArgumentError(absl::StrCat("the base policy has ", n, " agents but the other ",
                                                   other.policy().agents_size()));
  }
  std::vector<bool> taken(static_cast<size_t>(n), false);
  for (int k : agents) {
    if (k < 0 || k >= n) {
      return absl::InvalidArgumentError(absl::StrCat("agent ", k, " is out of range: the policies have ", n,
                                                     " agents (0..", n - 1, ")"));
    }
    if (taken[k]) return absl::InvalidArgumentError(absl::StrCat("agent ", k, " is named twice"));
    taken[k] = true;
    RETURN_IF_ERROR(CheckSameAgent(base.policy().agents(k), other.policy().agents(k), k));
  }
  return taken;
}

}  // namespace

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

absl::StatusOr<v1::ParameterSet> TakeAgents(v1::ParameterSet base, const v1::ParameterSet& other,
                                            const std::vector<int>& agents) {
  ASSIGN_OR_RETURN(const std::vector<bool> taken, CheckTakeable(base, other, agents));
  const int n = static_cast<int>(taken.size());
  absl::flat_hash_map<std::string, const v1::Tensor*> theirs;
  for (const v1::NamedTensor& tensor : other.tensors()) theirs[tensor.name()] = &tensor.tensor();
  for (const v1::NamedTensor& tensor : base.tensors()) {
    const int k = AgentOf(tensor.name(), n);
    if (k < 0 || !taken[k]) continue;
    const auto found = theirs.find(tensor.name());
    if (found == theirs.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("agent ", k, ": the other policy has no tensor '", tensor.name(), "'"));
    }
    if (!std::equal(tensor.tensor().shape().begin(), tensor.tensor().shape().end(),
                    found->second->shape().begin(), found->second->shape().end())) {
      return absl::InvalidArgumentError(absl::StrCat("agent ", k, ": tensor '", tensor.name(), "' is ",
                                                     List(tensor.tensor().shape()), " in the base policy but ",
                                                     List(found->second->shape()), " in the other"));
    }
  }
  // Agent by agent in base's order: a taken agent's block is other's, whole.
  v1::ParameterSet taken_set;
  std::vector<bool> written(taken.size(), false);
  const auto write_theirs = [&](int k) {
    written[k] = true;
    for (const v1::NamedTensor& tensor : other.tensors()) {
      if (AgentOf(tensor.name(), n) == k) *taken_set.add_tensors() = tensor;
    }
  };
  for (v1::NamedTensor& tensor : *base.mutable_tensors()) {
    const int k = AgentOf(tensor.name(), n);
    if (k < 0 || !taken[k]) {
      *taken_set.add_tensors() = std::move(tensor);
    } else if (!written[k]) {
      write_theirs(k);
    }
  }
  for (int k = 0; k < n; ++k) {
    if (taken[k] && !written[k]) write_theirs(k);
  }
  *taken_set.mutable_policy() = std::move(*base.mutable_policy());
  for (int k = 0; k < n; ++k) {
    if (taken[k]) *taken_set.mutable_policy()->mutable_agents(k) = other.policy().agents(k);
  }
  return taken_set;
}

}  // namespace rill::policies
