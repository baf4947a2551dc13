#include "envs/batch/local_multi_agent_envs.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::envs {

absl::StatusOr<std::unique_ptr<LocalMultiAgentEnvs>> LocalMultiAgentEnvs::Create(
    std::vector<std::unique_ptr<MultiAgentEnv>> envs, StepErrors errors) {
  if (envs.empty()) return absl::InvalidArgumentError("a batch of multi-agent envs needs an env");
  const MultiAgentSpec& first = envs[0]->spec();
  for (const std::unique_ptr<MultiAgentEnv>& env : envs) {
    const MultiAgentSpec& spec = env->spec();
    if (spec.agents != first.agents) {
      return absl::InvalidArgumentError(
          absl::StrCat("a batch of ", first.name, " was given an env of other agents: ", env->name()));
    }
    for (int k = 0; k < spec.num_agents(); ++k) {
      const EnvSpec& agent = spec.agent_specs[k];
      const EnvSpec& want = first.agent_specs[k];
      if (agent.uint8_observations()) {
        return absl::InvalidArgumentError(
            absl::StrCat(env->name(), ": agent ", spec.agents[k], "'s observations must be float32"));
      }
      if (agent.observation_shape != want.observation_shape || agent.discrete != want.discrete ||
          agent.action_dim() != want.action_dim()) {
        return absl::InvalidArgumentError(absl::StrCat("a batch of ", first.name, " was given an env whose agent ",
                                                       spec.agents[k], " has other spaces: ", env->name()));
      }
    }
  }
  return std::unique_ptr<LocalMultiAgentEnvs>(new LocalMultiAgentEnvs(std::move(envs), errors));
}

LocalMultiAgentEnvs::LocalMultiAgentEnvs(std::vector<std::unique_ptr<MultiAgentEnv>> envs, StepErrors errors)
    : MultiAgentEnvs(envs[0]->spec(), static_cast<int>(envs.size())),
      envs_(std::move(envs)),
      errors_(errors),
      last_obs_(static_cast<size_t>(size()) * obs_width(), 0.f),
      next_obs_(static_cast<size_t>(obs_width()), 0.f),
      results_(num_agents()),
      action_parts_(num_agents(), nullptr),
      obs_parts_(num_agents(), nullptr),
      was_live_(num_agents(), 0),
      episode_metrics_(envs_[0]->metrics(), size()) {}

void LocalMultiAgentEnvs::ResetEnv(int e, float* observations) {
  episode_metrics_.StartEpisode(e);
  float* row = Row(last_obs_, e);
  for (int k = 0; k < num_agents(); ++k) obs_parts_[k] = row + obs_offset(k);
  envs_[e]->Reset(obs_parts_.data());
  std::copy_n(row, obs_width(), observations + static_cast<size_t>(e) * obs_width());
}

absl::Status LocalMultiAgentEnvs::Reset(float* observations) {
  for (int e = 0; e < size(); ++e) ResetEnv(e, observations);
  return absl::OkStatus();
}

void LocalMultiAgentEnvs::WriteEnv(int e, const MultiAgentEnvsOutput& out) {
  const int agents = num_agents();
  float* last = Row(last_obs_, e);
  const size_t row = static_cast<size_t>(e) * obs_width();
  for (int k = 0; k < agents; ++k) {
    const size_t at = static_cast<size_t>(e) * agents + k;
    out.acted[at] = was_live_[k];
    if (was_live_[k] == 0) {
      out.rewards[at] = 0;
      out.terminated[at] = 0;
      out.truncated[at] = 0;
      continue;
    }
    const StepResult& result = results_[k];
    const int offset = obs_offset(k);
    const int dim = spec().agent_specs[k].obs_dim();
    std::copy_n(&next_obs_[offset], dim, last + offset);
    out.rewards[at] = result.reward;
    out.terminated[at] = result.terminated ? 1 : 0;
    out.truncated[at] = result.truncated && !result.terminated ? 1 : 0;
    if (result.terminated || result.truncated) std::copy_n(&next_obs_[offset], dim, out.final_observations + row + offset);
  }
  std::copy_n(last, obs_width(), out.observations + row);
}

absl::StatusOr<int> LocalMultiAgentEnvs::Step(int active, const float* actions, const MultiAgentEnvsOutput& out) {
  out.failures->clear();
  if (out.env_episodes != nullptr) out.env_episodes->clear();
  const int envs = std::clamp(active, 0, size());
  for (int e = 0; e < envs; ++e) {
    MultiAgentEnv& env = *envs_[e];
    const float* row = actions + static_cast<size_t>(e) * action_width();
    for (int k = 0; k < num_agents(); ++k) {
      was_live_[k] = env.live(k) ? 1 : 0;  // whom this step moves
      action_parts_[k] = was_live_[k] != 0 ? row + action_offset(k) : nullptr;
      obs_parts_[k] = &next_obs_[obs_offset(k)];
      results_[k] = StepResult{};
    }
    absl::Status stepped = env.Step(action_parts_.data(), obs_parts_.data(), results_.data());
    if (!stepped.ok() && errors_ == StepErrors::kFailEnv) {
      FailEnv(e, stepped, out);
      continue;
    }
    RETURN_IF_ERROR(stepped);
    episode_metrics_.Measure(e, env);
    WriteEnv(e, out);
    if (out.final_states != nullptr && spec().state_dim() > 0) {
      env.State(out.final_states + static_cast<size_t>(e) * spec().state_dim());
    }
    out.episode_ended[e] = env.episode_over() ? 1 : 0;
    // The last agent ended: the whole env starts over.
    if (env.episode_over()) {
      if (out.env_episodes != nullptr && !episode_metrics_.empty()) {
        out.env_episodes->push_back(episode_metrics_.Figures(e, e));
      }
      ResetEnv(e, out.observations);
    }
  }
  return envs;
}

void LocalMultiAgentEnvs::FailEnv(int e, const absl::Status& status, const MultiAgentEnvsOutput& out) {
  WriteFailedEnv(e, std::string(status.message()), out);
  ResetEnv(e, out.observations);
}

absl::Status LocalMultiAgentEnvs::Render(int env, int width, int height, const std::string& camera,
                                         RgbImage* image) {
  MultiAgentEnv& source = *envs_[env];
  return RenderSceneInto(
      source.name(), source.cameras(),
      [&source](int w, int h, const std::string& c, uint8_t* rgb) { return source.Render(w, h, c, rgb); }, width,
      height, camera, image);
}

}  // namespace rill::envs
