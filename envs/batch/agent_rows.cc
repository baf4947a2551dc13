#include "envs/batch/agent_rows.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/batch/local_multi_agent_envs.h"

namespace rill::envs {

absl::StatusOr<std::unique_ptr<AgentRowsEnvBatch>> AgentRowsEnvBatch::Create(
    EnvSpec row, std::vector<std::unique_ptr<MultiAgentEnv>> envs) {
  if (envs.empty()) return absl::InvalidArgumentError(absl::StrCat("a batch of ", row.name, " needs an env"));
  if (row.uint8_observations()) {
    return absl::InvalidArgumentError(absl::StrCat(row.name, ": agents' observations must be float32"));
  }
  for (const std::unique_ptr<MultiAgentEnv>& env : envs) {
    if (env->spec().agents != envs[0]->spec().agents) {
      return absl::InvalidArgumentError(
          absl::StrCat("a batch of ", row.name, " was given an env of other agents: ", env->name()));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<LocalMultiAgentEnvs> local, LocalMultiAgentEnvs::Create(std::move(envs)));
  return CreateOver(std::move(row), std::move(local));
}

absl::StatusOr<std::unique_ptr<AgentRowsEnvBatch>> AgentRowsEnvBatch::CreateOver(EnvSpec row,
                                                                             std::unique_ptr<MultiAgentEnvs> envs) {
  if (row.uint8_observations()) {
    return absl::InvalidArgumentError(absl::StrCat(row.name, ": agents' observations must be float32"));
  }
  const MultiAgentSpec& spec = envs->spec();
  for (int k = 0; k < spec.num_agents(); ++k) {
    const EnvSpec& agent = spec.agent_specs[k];
    if (!MultiAgentSpec::SameActions(agent, row) || agent.uint8_observations() ||
        agent.obs_dim() > row.obs_dim() || (agent.obs_dim() < row.obs_dim() && agent.observation_shape.size() != 1)) {
      return absl::InvalidArgumentError(absl::StrCat("a batch of ", row.name, " was given an env of other spaces: ",
                                                     spec.name, "'s agent ", spec.agents[k], " does not fit its rows"));
    }
  }
  row.state_dim = spec.state_dim();  // the rows carry their env's state
  return std::unique_ptr<AgentRowsEnvBatch>(new AgentRowsEnvBatch(std::move(row), std::move(envs)));
}

AgentRowsEnvBatch::AgentRowsEnvBatch(EnvSpec row, std::unique_ptr<MultiAgentEnvs> envs)
    : EnvBatch(std::move(row), envs->size() * envs->num_agents()),
      envs_(std::move(envs)),
      agents_(envs_->num_agents()),
      obs_dim_(spec().obs_dim()),
      act_dim_(spec().discrete ? 1 : spec().action_dim()),
      acted_(static_cast<size_t>(size()), 0),
      episode_ended_(static_cast<size_t>(envs_->size()), 0),
      state_dim_(spec().state_dim),
      env_final_states_(static_cast<size_t>(envs_->size()) * state_dim_, 0.f),
      padded_(envs_->obs_width() != agents_ * obs_dim_) {
  if (padded_) {
    packed_observations_.assign(static_cast<size_t>(envs_->size()) * envs_->obs_width(), 0.f);
    packed_final_observations_.assign(packed_observations_.size(), 0.f);
  }
}

void AgentRowsEnvBatch::Unpack(int envs, const float* packed, float* rows, const uint8_t* ended_only) const {
  const MultiAgentSpec& spec = envs_->spec();
  for (int e = 0; e < envs; ++e) {
    for (int k = 0; k < agents_; ++k) {
      const int i = e * agents_ + k;
      if (ended_only != nullptr && ended_only[i] == 0) continue;
      const int width = spec.agent_specs[k].obs_dim();
      float* row = rows + static_cast<size_t>(i) * obs_dim_;
      std::copy_n(packed + static_cast<size_t>(e) * envs_->obs_width() + envs_->obs_offset(k), width, row);
      std::fill(row + width, row + obs_dim_, 0.f);
    }
  }
}

absl::Status AgentRowsEnvBatch::Reset(uint8_t* observations) {
  auto* rows = reinterpret_cast<float*>(observations);
  // Agents of one space: an env's row of agents is its agents' rows, the
  // layouts agree.
  if (!padded_) return envs_->Reset(rows);
  RETURN_IF_ERROR(envs_->Reset(packed_observations_.data()));
  Unpack(envs_->size(), packed_observations_.data(), rows, nullptr);
  return absl::OkStatus();
}

absl::StatusOr<int> AgentRowsEnvBatch::Step(int active, const float* actions, const EnvBatchOutput& out) {
  out.failures->clear();
  MultiAgentEnvsOutput agents;
  agents.observations = padded_ ? packed_observations_.data() : reinterpret_cast<float*>(out.observations);
  agents.final_observations =
      padded_ ? packed_final_observations_.data() : reinterpret_cast<float*>(out.final_observations);
  agents.rewards = out.rewards;
  agents.terminated = out.terminated;
  agents.truncated = out.truncated;
  agents.acted = acted_.data();
  agents.episode_ended = episode_ended_.data();
  agents.failures = &env_failures_;
  agents.env_episodes = out.env_episodes;
  if (state_dim_ > 0 && out.final_states != nullptr) agents.final_states = env_final_states_.data();
  ASSIGN_OR_RETURN(const int envs, envs_->Step((active + agents_ - 1) / agents_, actions, agents));
  const int rows = std::min(size(), envs * agents_);
  for (int i = 0; i < rows; ++i) out.masked[i] = acted_[i] != 0 ? 0 : 1;
  if (padded_) {
    Unpack(envs, packed_observations_.data(), reinterpret_cast<float*>(out.observations), nullptr);
    // The final observation of each agent that ended, as agents of one
    // space get theirs.
    ended_.assign(static_cast<size_t>(rows), 0);
    for (int i = 0; i < rows; ++i) {
      ended_[i] = acted_[i] != 0 && (out.terminated[i] != 0 || out.truncated[i] != 0) ? 1 : 0;
    }
    Unpack(envs, packed_final_observations_.data(), reinterpret_cast<float*>(out.final_observations), ended_.data());
  }
  if (agents.final_states != nullptr) {
    // Each ended agent's row gets its env's state after the step.
    for (int i = 0; i < rows; ++i) {
      if (acted_[i] == 0 || (out.terminated[i] == 0 && out.truncated[i] == 0)) continue;
      std::copy_n(&env_final_states_[static_cast<size_t>(i / agents_) * state_dim_], state_dim_,
                  out.final_states + static_cast<size_t>(i) * state_dim_);
    }
  }
  for (const EnvFailure& failure : env_failures_) {
    for (int k = 0; k < agents_; ++k) out.failures->push_back(EnvFailure{failure.index * agents_ + k, failure.message});
  }
  if (out.env_episodes != nullptr) {
    for (EnvEpisodeFigures& figures : *out.env_episodes) figures.first_row *= agents_;
  }
  return rows;
}

void AgentRowsEnvBatch::States(float* states) const {
  if (state_dim_ == 0) return;
  const size_t width = static_cast<size_t>(state_dim_);
  for (int e = 0; e < envs_->size(); ++e) {
    float* first = states + static_cast<size_t>(e) * agents_ * width;
    envs_->State(e, first);
    for (int k = 1; k < agents_; ++k) std::copy_n(first, width, first + k * width);
  }
}

absl::StatusOr<std::vector<int>> AgentRowsEnvBatch::ScriptAgent(int agent, const uint8_t* observations,
                                                                 float* actions) {
  if (agent < 0 || agent >= agents_) {
    return absl::InvalidArgumentError(absl::StrCat(spec().name, " has no agent ", agent, " (it has ", agents_, ")"));
  }
  std::vector<int> rows;
  for (int e = 0; e < envs_->size(); ++e) {
    const int row = e * agents_ + agent;
    const float* obs = reinterpret_cast<const float*>(observations) + static_cast<size_t>(row) * obs_dim_;
    if (!envs_->ScriptedAction(e, agent, obs, actions + static_cast<size_t>(row) * act_dim_)) {
      return absl::FailedPreconditionError(
          absl::StrCat(spec().name, " scripts no player for its agent ", envs_->spec().agents[agent]));
    }
    rows.push_back(row);
  }
  return rows;
}

}  // namespace rill::envs
