#include "actor/lockstep_envs.h"

#include <utility>

#include "common/status_macros.h"
#include "envs/registry.h"

namespace rill::actor {

absl::StatusOr<std::unique_ptr<LockstepEnvs>> LockstepEnvs::Create(const std::string& name, int max_episode_steps,
                                                                   int num_envs, uint64_t base_seed) {
  std::unique_ptr<LockstepEnvs> lockstep(new LockstepEnvs());
  for (int i = 0; i < num_envs; ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<envs::Env> env, envs::MakeEnv(name, max_episode_steps, base_seed + i + 1));
    lockstep->envs_.push_back(std::make_unique<envs::EpisodeStatistics>(std::move(env)));
  }
  ASSIGN_OR_RETURN(lockstep->spec_, envs::LookupEnvSpec(name, max_episode_steps));
  const envs::EnvSpec& spec = lockstep->spec_;
  lockstep->obs_dim_ = spec.obs_dim();
  lockstep->act_dim_ = spec.discrete ? 1 : spec.action_dim();
  lockstep->distribution_width_ = spec.discrete ? spec.num_actions : 2 * lockstep->act_dim_;
  const size_t n = static_cast<size_t>(num_envs);
  lockstep->obs_.assign(n * lockstep->obs_dim_, 0.f);
  lockstep->actions_.assign(n * lockstep->act_dim_, 0.f);
  lockstep->action_indices_.assign(n, 0);
  lockstep->log_probs_.assign(n, 0.f);
  lockstep->distributions_.assign(n * lockstep->distribution_width_, 0.f);
  return lockstep;
}

ActionBuffers LockstepEnvs::buffers() {
  ActionBuffers out;
  out.actions = actions_.data();
  out.action_indices = action_indices_.data();
  out.log_probs = log_probs_.data();
  out.distributions = distributions_.data();
  out.action_dim = spec_.discrete ? 0 : act_dim_;
  out.distribution_width = distribution_width_;
  return out;
}

void LockstepEnvs::RandomActions(std::mt19937_64& rng) {
  if (spec_.discrete) {
    std::uniform_int_distribution<int64_t> uniform(0, spec_.num_actions - 1);
    for (int64_t& a : action_indices_) a = uniform(rng);
  } else {
    std::uniform_real_distribution<float> uniform(-1.f, 1.f);
    for (float& a : actions_) a = uniform(rng);
  }
}

void LockstepEnvs::EnvAction(int i, float* env_action) const {
  if (spec_.discrete) {
    env_action[0] = static_cast<float>(action_indices_[i]);
    return;
  }
  for (int j = 0; j < act_dim_; ++j) {
    const float a = actions_[static_cast<size_t>(i) * act_dim_ + j];
    env_action[j] = spec_.action_low[j] + (a + 1.f) * 0.5f * (spec_.action_high[j] - spec_.action_low[j]);
  }
}

void LockstepEnvs::ResetAll() {
  for (int i = 0; i < size(); ++i) envs_[i]->Reset(obs_row(i));
}

}  // namespace rill::actor
