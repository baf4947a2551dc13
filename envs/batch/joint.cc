#include "envs/batch/joint.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/action_mask.h"
#include "envs/batch/local_multi_agent_envs.h"

namespace rill::envs {

absl::StatusOr<std::unique_ptr<JointAgentsEnvBatch>> JointAgentsEnvBatch::Create(
    std::vector<std::unique_ptr<MultiAgentEnv>> envs) {
  if (envs.empty()) return absl::InvalidArgumentError("a joint batch needs an env");
  // JointSpec's errors (agents that observe bytes) first, as before.
  RETURN_IF_ERROR(JointSpec(envs[0]->spec()).status());
  ASSIGN_OR_RETURN(std::unique_ptr<LocalMultiAgentEnvs> local, LocalMultiAgentEnvs::Create(std::move(envs)));
  return CreateOver(std::move(local));
}

absl::StatusOr<std::unique_ptr<JointAgentsEnvBatch>> JointAgentsEnvBatch::CreateOver(std::unique_ptr<MultiAgentEnvs> envs,
                                                                                  bool use_action_masks) {
  ASSIGN_OR_RETURN(EnvSpec row, JointSpec(envs->spec()));
  return std::unique_ptr<JointAgentsEnvBatch>(
      new JointAgentsEnvBatch(std::move(row), std::move(envs), use_action_masks));
}

JointAgentsEnvBatch::JointAgentsEnvBatch(EnvSpec row, std::unique_ptr<MultiAgentEnvs> envs, bool use_action_masks)
    : EnvBatch(std::move(row), envs->size()),
      envs_(std::move(envs)),
      agents_(envs_->num_agents()),
      layout_(JointLayout(envs_->spec())),
      act_dim_(spec().action_dim()),
      env_actions_(static_cast<size_t>(size()) * envs_->action_width(), 0.f),
      final_obs_(static_cast<size_t>(size()) * envs_->obs_width(), 0.f),
      agent_rewards_(static_cast<size_t>(size()) * agents_, 0.f),
      agent_terminated_(agent_rewards_.size(), 0),
      agent_truncated_(agent_rewards_.size(), 0),
      acted_(agent_rewards_.size(), 0),
      episode_ended_(static_cast<size_t>(size()), 0),
      any_truncated_(static_cast<size_t>(size()), 0),
      scripted_(static_cast<size_t>(agents_), 0) {
  if (!use_action_masks) {
    for (JointSlot& slot : layout_) slot.masked = false;
  }
  // The rows acted from, for agents whose action masks pick their actions.
  if (std::any_of(layout_.begin(), layout_.end(), [](const JointSlot& slot) { return slot.masked; })) {
    current_obs_.assign(static_cast<size_t>(size()) * envs_->obs_width(), 0.f);
  }
}

absl::Status JointAgentsEnvBatch::Reset(uint8_t* observations) {
  std::fill(any_truncated_.begin(), any_truncated_.end(), 0);
  // A joint row is the env's row of agents (JointLayout's offsets).
  RETURN_IF_ERROR(envs_->Reset(reinterpret_cast<float*>(observations)));
  KeepObservations(observations, size());
  return absl::OkStatus();
}

absl::Status JointAgentsEnvBatch::CheckMasks() const {
  if (current_obs_.empty()) return absl::OkStatus();
  const MultiAgentSpec& spec = envs_->spec();
  for (int e = 0; e < size(); ++e) {
    const float* row = &current_obs_[static_cast<size_t>(e) * envs_->obs_width()];
    for (int k = 0; k < agents_; ++k) {
      const JointSlot& slot = layout_[k];
      if (!slot.masked || !envs_->live(e, k)) continue;
      const float* own = row + slot.obs_offset;
      // A failed reset leaves zeros (its next step fails the env), as for
      // masked rows.
      if (std::all_of(own, own + slot.obs_dim, [](float x) { return x == 0.f; })) continue;
      if (absl::Status mask = CheckActionMask(spec.agent_specs[k], own); !mask.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(spec.name, " (joint row ", e, ", agent ", spec.agents[k],
                                                       "): its observation ends in an ", mask.message()));
      }
    }
  }
  return absl::OkStatus();
}

void JointAgentsEnvBatch::KeepObservations(const uint8_t* observations, int rows) {
  if (current_obs_.empty()) return;
  std::memcpy(current_obs_.data(), observations, static_cast<size_t>(rows) * envs_->obs_width() * sizeof(float));
}

void JointAgentsEnvBatch::SplitAction(int e, const float* actions) {
  const float* row = actions + static_cast<size_t>(e) * act_dim_;
  float* env_row = &env_actions_[static_cast<size_t>(e) * envs_->action_width()];
  for (int k = 0; k < agents_; ++k) {
    const JointSlot& slot = layout_[k];
    if (!envs_->live(e, k)) continue;
    const float* part = row + slot.action_offset;
    float* to = env_row + envs_->action_offset(k);
    if (scripted_[k] != 0) {
      // ScriptAgent made current_obs_: the agent's own observation.
      const float* own = &current_obs_[static_cast<size_t>(e) * envs_->obs_width() + slot.obs_offset];
      if (envs_->ScriptedAction(e, k, own, to)) continue;
    }
    if (slot.masked) {
      // The largest entry the agent's mask (the last action_width floats of
      // its observation) allows; the first of equal ones.
      const float* mask = &current_obs_[static_cast<size_t>(e) * envs_->obs_width() + slot.obs_offset +
                                        slot.obs_dim - slot.action_width];
      int best = -1;
      for (int a = 0; a < slot.action_width; ++a) {
        if (mask[a] > 0 && (best < 0 || part[a] > part[best])) best = a;
      }
      *to = static_cast<float>(best >= 0 ? best : std::max_element(part, part + slot.action_width) - part);
    } else if (slot.discrete) {
      // max_element keeps the first of equal largest entries.
      *to = static_cast<float>(std::max_element(part, part + slot.action_width) - part);
    } else {
      std::copy_n(part, slot.action_width, to);
    }
  }
}

absl::StatusOr<std::vector<int>> JointAgentsEnvBatch::ScriptAgent(int agent, const uint8_t* observations,
                                                                   float* /*actions*/) {
  if (agent < 0 || agent >= agents_) {
    return absl::InvalidArgumentError(absl::StrCat(spec().name, " has no agent ", agent, " (it has ", agents_, ")"));
  }
  if (scripted_[agent] != 0) return std::vector<int>{};
  const JointSlot& slot = layout_[agent];
  std::vector<float> action(static_cast<size_t>(std::max(1, slot.action_width)));
  const float* own = reinterpret_cast<const float*>(observations) + slot.obs_offset;
  if (!envs_->ScriptedAction(0, agent, own, action.data())) {
    return absl::FailedPreconditionError(
        absl::StrCat(spec().name, " scripts no player for its agent ", envs_->spec().agents[agent]));
  }
  scripted_[agent] = 1;
  if (current_obs_.empty()) {
    // The scripts act on the newest observations from now on.
    current_obs_.assign(static_cast<size_t>(size()) * envs_->obs_width(), 0.f);
    KeepObservations(observations, size());
  }
  return std::vector<int>{};
}

float JointAgentsEnvBatch::WriteAgents(int e, const EnvBatchOutput& out) {
  double reward = 0;
  for (int k = 0; k < agents_; ++k) {
    const size_t at = static_cast<size_t>(e) * agents_ + k;
    float agent_reward = 0;
    uint8_t agent_terminated = 1;  // an agent that had left
    if (acted_[at] != 0) {
      agent_reward = agent_rewards_[at];
      agent_terminated = agent_terminated_[at];
      if (agent_truncated_[at] != 0) any_truncated_[e] = 1;
    }
    reward += agent_reward;
    if (out.agent_rewards != nullptr) out.agent_rewards[at] = agent_reward;
    if (out.agent_terminated != nullptr) out.agent_terminated[at] = agent_terminated;
  }
  return static_cast<float>(reward / agents_);
}

absl::StatusOr<int> JointAgentsEnvBatch::Step(int active, const float* actions, const EnvBatchOutput& out) {
  out.failures->clear();
  RETURN_IF_ERROR(CheckMasks());
  // Every row's action is split: a remote source steps all of them.
  for (int e = 0; e < size(); ++e) SplitAction(e, actions);
  MultiAgentEnvsOutput agents;
  agents.observations = reinterpret_cast<float*>(out.observations);
  agents.final_observations = final_obs_.data();
  agents.rewards = agent_rewards_.data();
  agents.terminated = agent_terminated_.data();
  agents.truncated = agent_truncated_.data();
  agents.acted = acted_.data();
  agents.episode_ended = episode_ended_.data();
  agents.failures = &env_failures_;
  agents.env_episodes = out.env_episodes;
  ASSIGN_OR_RETURN(const int rows, envs_->Step(std::min(size(), active), env_actions_.data(), agents));
  const size_t row_floats = static_cast<size_t>(envs_->obs_width());
  for (int e = 0; e < rows; ++e) {
    out.rewards[e] = WriteAgents(e, out);
    out.masked[e] = 0;
    const bool over = episode_ended_[e] != 0;
    out.terminated[e] = over && any_truncated_[e] == 0 ? 1 : 0;
    out.truncated[e] = over && any_truncated_[e] != 0 ? 1 : 0;
    if (over) {
      std::memcpy(out.final_observations + e * row_floats * sizeof(float), &final_obs_[e * row_floats],
                  row_floats * sizeof(float));
      any_truncated_[e] = 0;
    }
  }
  for (const EnvFailure& failure : env_failures_) {
    const int e = failure.index;
    out.failures->push_back(failure);
    out.rewards[e] = 0;
    out.terminated[e] = 0;
    out.truncated[e] = 1;
    any_truncated_[e] = 0;
  }
  KeepObservations(out.observations, rows);
  return rows;
}

}  // namespace rill::envs
