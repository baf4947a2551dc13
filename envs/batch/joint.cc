#include "envs/batch/joint.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::envs {

absl::StatusOr<std::unique_ptr<JointAgentsEnvBatch>> JointAgentsEnvBatch::Create(
    std::vector<std::unique_ptr<MultiAgentEnv>> envs) {
  if (envs.empty()) return absl::InvalidArgumentError("a joint batch needs an env");
  const MultiAgentSpec& first = envs[0]->spec();
  ASSIGN_OR_RETURN(EnvSpec row, JointSpec(first));
  for (const std::unique_ptr<MultiAgentEnv>& env : envs) {
    const MultiAgentSpec& spec = env->spec();
    if (spec.agents != first.agents) {
      return absl::InvalidArgumentError(
          absl::StrCat("a joint batch of ", row.name, " was given an env of other agents: ", env->name()));
    }
    for (int k = 0; k < spec.num_agents(); ++k) {
      const EnvSpec& agent = spec.agent_specs[k];
      const EnvSpec& want = first.agent_specs[k];
      if (agent.observation_shape != want.observation_shape || agent.observation_type != want.observation_type ||
          agent.discrete != want.discrete || agent.action_dim() != want.action_dim()) {
        return absl::InvalidArgumentError(absl::StrCat("a joint batch of ", row.name, " was given an env whose agent ",
                                                       spec.agents[k], " has other spaces: ", env->name()));
      }
    }
  }
  return std::unique_ptr<JointAgentsEnvBatch>(new JointAgentsEnvBatch(std::move(row), std::move(envs)));
}

JointAgentsEnvBatch::JointAgentsEnvBatch(EnvSpec row, std::vector<std::unique_ptr<MultiAgentEnv>> envs)
    : EnvBatch(std::move(row), static_cast<int>(envs.size())),
      envs_(std::move(envs)),
      agents_(envs_[0]->num_agents()),
      layout_(JointLayout(envs_[0]->spec())),
      obs_dim_(spec().obs_dim()),
      act_dim_(spec().action_dim()),
      last_obs_(static_cast<size_t>(size()) * obs_dim_, 0.f),
      next_obs_(static_cast<size_t>(size()) * obs_dim_, 0.f),
      scratch_actions_(static_cast<size_t>(act_dim_), 0.f),
      results_(agents_),
      agent_actions_(agents_, nullptr),
      obs_parts_(agents_, nullptr),
      was_live_(agents_, 0),
      any_truncated_(static_cast<size_t>(size()), 0),
      episode_metrics_(envs_[0]->metrics(), size()) {}

void JointAgentsEnvBatch::ResetEnv(int e, uint8_t* observations) {
  episode_metrics_.StartEpisode(e);
  any_truncated_[e] = 0;
  float* row = Row(last_obs_, e, obs_dim_);
  for (int k = 0; k < agents_; ++k) obs_parts_[k] = row + layout_[k].obs_offset;
  envs_[e]->Reset(obs_parts_.data());
  const size_t bytes = static_cast<size_t>(obs_dim_) * sizeof(float);
  std::memcpy(observations + static_cast<size_t>(e) * bytes, row, bytes);
}

absl::Status JointAgentsEnvBatch::Reset(uint8_t* observations) {
  for (int e = 0; e < size(); ++e) ResetEnv(e, observations);
  return absl::OkStatus();
}

void JointAgentsEnvBatch::SplitAction(int e, const float* actions) {
  const float* row = actions + static_cast<size_t>(e) * act_dim_;
  for (int k = 0; k < agents_; ++k) {
    const JointSlot& slot = layout_[k];
    if (!envs_[e]->live(k)) {
      agent_actions_[k] = nullptr;
    } else if (slot.discrete) {
      const float* part = row + slot.action_offset;
      // max_element keeps the first of equal largest entries.
      scratch_actions_[slot.action_offset] =
          static_cast<float>(std::max_element(part, part + slot.action_width) - part);
      agent_actions_[k] = &scratch_actions_[slot.action_offset];
    } else {
      agent_actions_[k] = row + slot.action_offset;
    }
  }
}

float JointAgentsEnvBatch::WriteAgents(int e, const EnvBatchOutput& out) {
  float* last = Row(last_obs_, e, obs_dim_);
  const float* next = Row(next_obs_, e, obs_dim_);
  double reward = 0;
  for (int k = 0; k < agents_; ++k) {
    const size_t at = static_cast<size_t>(e) * agents_ + k;
    float agent_reward = 0;
    uint8_t agent_terminated = 1;  // an agent that had left
    if (was_live_[k] != 0) {
      const JointSlot& slot = layout_[k];
      std::copy_n(next + slot.obs_offset, slot.obs_dim, last + slot.obs_offset);
      agent_reward = results_[k].reward;
      agent_terminated = results_[k].terminated ? 1 : 0;
      if (results_[k].truncated && !results_[k].terminated) any_truncated_[e] = 1;
    }
    reward += agent_reward;
    if (out.agent_rewards != nullptr) out.agent_rewards[at] = agent_reward;
    if (out.agent_terminated != nullptr) out.agent_terminated[at] = agent_terminated;
  }
  return static_cast<float>(reward / agents_);
}

absl::StatusOr<int> JointAgentsEnvBatch::Step(int active, const float* actions, const EnvBatchOutput& out) {
  out.failures->clear();
  if (out.env_episodes != nullptr) out.env_episodes->clear();
  const size_t row_bytes = static_cast<size_t>(obs_dim_) * sizeof(float);
  const int rows = std::min(size(), active);
  for (int e = 0; e < rows; ++e) {
    MultiAgentEnv& env = *envs_[e];
    SplitAction(e, actions);
    float* next = Row(next_obs_, e, obs_dim_);
    for (int k = 0; k < agents_; ++k) {
      obs_parts_[k] = next + layout_[k].obs_offset;
      results_[k] = StepResult{};
      was_live_[k] = env.live(k) ? 1 : 0;  // whom this step moves
    }
    RETURN_IF_ERROR(env.Step(agent_actions_.data(), obs_parts_.data(), results_.data()));
    episode_metrics_.Measure(e, env);
    out.rewards[e] = WriteAgents(e, out);
    out.masked[e] = 0;
    uint8_t* observation = out.observations + static_cast<size_t>(e) * row_bytes;
    std::memcpy(observation, Row(last_obs_, e, obs_dim_), row_bytes);
    const bool over = env.episode_over();
    out.terminated[e] = over && any_truncated_[e] == 0 ? 1 : 0;
    out.truncated[e] = over && any_truncated_[e] != 0 ? 1 : 0;
    if (over) {
      std::memcpy(out.final_observations + static_cast<size_t>(e) * row_bytes, observation, row_bytes);
      if (out.env_episodes != nullptr && !episode_metrics_.empty()) {
        out.env_episodes->push_back(episode_metrics_.Figures(e, e));
      }
      ResetEnv(e, out.observations);
    }
  }
  return rows;
}

absl::Status JointAgentsEnvBatch::Render(int index, int width, int height, const std::string& camera,
                                         RgbImage* image) {
  MultiAgentEnv& env = *envs_[index];
  return RenderSceneInto(
      env.name(), env.cameras(),
      [&env](int w, int h, const std::string& c, uint8_t* rgb) { return env.Render(w, h, c, rgb); }, width, height,
      camera, image);
}

}  // namespace rill::envs
