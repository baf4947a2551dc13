#include "envs/batch/agent_rows.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::envs {

absl::StatusOr<std::unique_ptr<AgentRowsEnvBatch>> AgentRowsEnvBatch::Create(
    EnvSpec row, std::vector<std::unique_ptr<MultiAgentEnv>> envs) {
  if (envs.empty()) return absl::InvalidArgumentError(absl::StrCat("a batch of ", row.name, " needs an env"));
  if (row.uint8_observations()) {
    return absl::InvalidArgumentError(absl::StrCat(row.name, ": agents' observations must be float32"));
  }
  const MultiAgentSpec& first = envs[0]->spec();
  for (const std::unique_ptr<MultiAgentEnv>& env : envs) {
    const MultiAgentSpec& spec = env->spec();
    if (spec.agents != first.agents) {
      return absl::InvalidArgumentError(
          absl::StrCat("a batch of ", row.name, " was given an env of other agents: ", env->name()));
    }
    if (!spec.homogeneous()) {
      return absl::InvalidArgumentError(absl::StrCat(
          env->name(), "'s agents differ in their spaces, so they cannot share one policy's rows"));
    }
    const EnvSpec& agent = spec.agent_specs[0];
    if (agent.obs_bytes() != row.obs_bytes() || agent.action_dim() != row.action_dim() ||
        agent.discrete != row.discrete || agent.uint8_observations()) {
      return absl::InvalidArgumentError(
          absl::StrCat("a batch of ", row.name, " was given an env of other spaces: ", env->name()));
    }
  }
  return std::unique_ptr<AgentRowsEnvBatch>(new AgentRowsEnvBatch(std::move(row), std::move(envs)));
}

AgentRowsEnvBatch::AgentRowsEnvBatch(EnvSpec row, std::vector<std::unique_ptr<MultiAgentEnv>> envs)
    : EnvBatch(std::move(row), static_cast<int>(envs.size()) * envs[0]->num_agents()),
      envs_(std::move(envs)),
      agents_(envs_[0]->num_agents()),
      obs_dim_(spec().obs_dim()),
      act_dim_(spec().discrete ? 1 : spec().action_dim()),
      last_obs_(static_cast<size_t>(size()) * obs_dim_, 0.f),
      next_obs_(static_cast<size_t>(size()) * obs_dim_, 0.f),
      results_(agents_),
      action_rows_(agents_, nullptr),
      obs_rows_(agents_, nullptr),
      was_live_(agents_, 0),
      episode_metrics_(envs_[0]->metrics(), static_cast<int>(envs_.size())) {}

void AgentRowsEnvBatch::ResetEnv(int e, uint8_t* observations) {
  episode_metrics_.StartEpisode(e);
  for (int k = 0; k < agents_; ++k) obs_rows_[k] = Row(last_obs_, e * agents_ + k, obs_dim_);
  envs_[e]->Reset(obs_rows_.data());
  const size_t bytes = static_cast<size_t>(agents_) * obs_dim_ * sizeof(float);
  std::memcpy(observations + static_cast<size_t>(e) * agents_ * obs_dim_ * sizeof(float),
              Row(last_obs_, e * agents_, obs_dim_), bytes);
}

absl::Status AgentRowsEnvBatch::Reset(uint8_t* observations) {
  for (int e = 0; e < static_cast<int>(envs_.size()); ++e) ResetEnv(e, observations);
  return absl::OkStatus();
}

absl::StatusOr<int> AgentRowsEnvBatch::Step(int active, const float* actions, const EnvBatchOutput& out) {
  out.failures->clear();
  if (out.env_episodes != nullptr) out.env_episodes->clear();
  const size_t row_bytes = static_cast<size_t>(obs_dim_) * sizeof(float);
  const int envs = std::min(static_cast<int>(envs_.size()), (active + agents_ - 1) / agents_);
  for (int e = 0; e < envs; ++e) {
    MultiAgentEnv& env = *envs_[e];
    const int base = e * agents_;
    for (int k = 0; k < agents_; ++k) {
      action_rows_[k] = env.live(k) ? actions + static_cast<size_t>(base + k) * act_dim_ : nullptr;
      obs_rows_[k] = Row(next_obs_, base + k, obs_dim_);
      results_[k] = StepResult{};
      was_live_[k] = env.live(k) ? 1 : 0;  // whom this step moves
    }
    RETURN_IF_ERROR(env.Step(action_rows_.data(), obs_rows_.data(), results_.data()));
    episode_metrics_.Measure(e, env);
    for (int k = 0; k < agents_; ++k) {
      const int i = base + k;
      uint8_t* observation = out.observations + static_cast<size_t>(i) * row_bytes;
      out.masked[i] = was_live_[k] != 0 ? 0 : 1;
      if (was_live_[k] == 0) {
        out.rewards[i] = 0;
        out.terminated[i] = 0;
        out.truncated[i] = 0;
        std::memcpy(observation, Row(last_obs_, i, obs_dim_), row_bytes);
        continue;
      }
      const StepResult& result = results_[k];
      out.rewards[i] = result.reward;
      out.terminated[i] = result.terminated ? 1 : 0;
      out.truncated[i] = result.truncated && !result.terminated ? 1 : 0;
      std::memcpy(Row(last_obs_, i, obs_dim_), Row(next_obs_, i, obs_dim_), row_bytes);
      std::memcpy(observation, Row(next_obs_, i, obs_dim_), row_bytes);
      if (result.terminated || result.truncated) {
        std::memcpy(out.final_observations + static_cast<size_t>(i) * row_bytes, observation, row_bytes);
      }
    }
    // The last agent ended: the whole env starts over, every row at the
    // next episode's first observation.
    if (env.episode_over()) {
      if (out.env_episodes != nullptr && !episode_metrics_.empty()) {
        out.env_episodes->push_back(episode_metrics_.Figures(e, base));
      }
      ResetEnv(e, out.observations);
    }
  }
  return std::min(size(), envs * agents_);
}

absl::StatusOr<std::vector<int>> AgentRowsEnvBatch::ScriptAgent(int agent, const uint8_t* observations,
                                                                 float* actions) {
  if (agent < 0 || agent >= agents_) {
    return absl::InvalidArgumentError(absl::StrCat(spec().name, " has no agent ", agent, " (it has ", agents_, ")"));
  }
  std::vector<int> rows;
  for (int e = 0; e < static_cast<int>(envs_.size()); ++e) {
    const int row = e * agents_ + agent;
    const float* obs = reinterpret_cast<const float*>(observations) + static_cast<size_t>(row) * obs_dim_;
    if (!envs_[e]->ScriptedAction(agent, obs, actions + static_cast<size_t>(row) * act_dim_)) {
      return absl::FailedPreconditionError(
          absl::StrCat(spec().name, " scripts no player for its agent ", envs_[e]->spec().agents[agent]));
    }
    rows.push_back(row);
  }
  return rows;
}

absl::Status AgentRowsEnvBatch::Render(int index, int width, int height, const std::string& camera,
                                       RgbImage* image) {
  MultiAgentEnv& env = *envs_[index / agents_];
  return RenderSceneInto(
      env.name(), env.cameras(),
      [&env](int w, int h, const std::string& c, uint8_t* rgb) { return env.Render(w, h, c, rgb); }, width, height,
      camera, image);
}

}  // namespace rill::envs
