#include "bench/agent_turns.h"

#include <algorithm>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/catalog.h"
#include "envs/registry.h"

namespace rill::bench {

absl::StatusOr<std::unique_ptr<AgentTurns>> AgentTurns::Create(const std::string& name, uint64_t seed) {
  ASSIGN_OR_RETURN(envs::EnvSpec spec, envs::LookupEnvSpec(name));
  ASSIGN_OR_RETURN(std::unique_ptr<envs::MultiAgentEnv> env, envs::MakeMultiAgentEnv(name, 0, seed));
  // One agent's spaces are every turn's.
  if (!env->spec().homogeneous()) {
    return absl::InvalidArgumentError(absl::StrCat(name, "'s agents differ in their spaces; turns of one env "
                                                   "need agents of one space"));
  }
  spec.name = absl::StrCat("AgentTurns(", name, ")");
  spec.max_episode_steps = env->max_episode_steps() * env->num_agents();
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new AgentTurns(std::move(spec), std::move(env)));
}

AgentTurns::AgentTurns(envs::EnvSpec spec, std::unique_ptr<envs::MultiAgentEnv> env)
    : Env(std::move(spec)),
      env_(std::move(env)),
      agents_(env_->num_agents()),
      obs_dim_(obs_dim()),
      action_width_(discrete() ? 1 : act_dim()),
      obs_(static_cast<size_t>(agents_) * obs_dim_),
      actions_(static_cast<size_t>(agents_) * action_width_),
      obs_rows_(agents_),
      action_rows_(agents_),
      results_(agents_) {
  for (int k = 0; k < agents_; ++k) {
    obs_rows_[k] = &obs_[static_cast<size_t>(k) * obs_dim_];
    action_rows_[k] = &actions_[static_cast<size_t>(k) * action_width_];
  }
}

void AgentTurns::Reset(float* obs) {
  env_->Reset(obs_rows_.data());
  turn_ = 0;
  std::fill(results_.begin(), results_.end(), envs::StepResult{});
  std::copy_n(obs_rows_[0], obs_dim_, obs);
}

absl::StatusOr<envs::StepResult> AgentTurns::Step(const float* action, float* next_obs) {
  const int acting = turn_;
  std::copy_n(action, action_width_, &actions_[static_cast<size_t>(acting) * action_width_]);
  envs::StepResult result;
  if (acting == agents_ - 1) {
    RETURN_IF_ERROR(env_->Step(action_rows_.data(), obs_rows_.data(), results_.data()));
    if (env_->episode_over()) result.truncated = true;
  }
  result.reward = results_[acting].reward;
  turn_ = (acting + 1) % agents_;
  std::copy_n(obs_rows_[turn_], obs_dim_, next_obs);
  return result;
}

}  // namespace rill::bench
