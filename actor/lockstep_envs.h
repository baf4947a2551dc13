// LockstepEnvs: the envs an actor or the evaluator steps together, and the
// buffers one step of all of them fills: observations, the chosen actions
// (in the policy's [-1, 1], or indices for a discrete env) and what the
// behaviour policy knew (log-probabilities, distribution parameters). Each
// env is wrapped to record its finished episodes (Gymnasium's
// RecordEpisodeStatistics). Env i is seeded base_seed + i + 1.
//
// Not thread-safe: one step loop owns it.
#ifndef RILL_ACTOR_LOCKSTEP_ENVS_H_
#define RILL_ACTOR_LOCKSTEP_ENVS_H_

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "actor/action_sources/interface.h"
#include "envs/episode_statistics.h"
#include "envs/spec.h"

namespace rill::actor {

class LockstepEnvs {
 public:
  // `num_envs` envs of Gymnasium id `name` (time limit `max_episode_steps`,
  // 0: the env's). The registry's errors (an unknown name).
  static absl::StatusOr<std::unique_ptr<LockstepEnvs>> Create(const std::string& name, int max_episode_steps,
                                                              int num_envs, uint64_t base_seed);

  int size() const { return static_cast<int>(envs_.size()); }
  const envs::EnvSpec& spec() const { return spec_; }
  int obs_dim() const { return obs_dim_; }
  // Continuous: action dimensions; discrete: 1 (the index).
  int act_dim() const { return act_dim_; }
  int distribution_width() const { return distribution_width_; }
  envs::EpisodeStatistics& env(int i) { return *envs_[i]; }

  // [size, obs_dim], the envs' current observations.
  std::vector<float>& obs() { return obs_; }
  float* obs_row(int i) { return &obs_[static_cast<size_t>(i) * obs_dim_]; }
  // The step's choices, filled by an ActionSource or RandomActions.
  ActionBuffers buffers();
  const float* action_row(int i) const { return &actions_[static_cast<size_t>(i) * act_dim_]; }
  int64_t action_index(int i) const { return action_indices_[i]; }
  float log_prob(int i) const { return log_probs_[i]; }
  const float* distribution_row(int i) const { return &distributions_[static_cast<size_t>(i) * distribution_width_]; }

  // Uniform random actions for every env (the warm-up of off-policy runs).
  void RandomActions(std::mt19937_64& rng);
  // Env i's chosen action in env units (the policy acts in [-1, 1], the
  // env in [low, high]; a discrete env gets its index as a float).
  void EnvAction(int i, float* env_action) const;
  // Resets every env into obs().
  void ResetAll();

 private:
  LockstepEnvs() = default;

  std::vector<std::unique_ptr<envs::EpisodeStatistics>> envs_;
  envs::EnvSpec spec_;
  int obs_dim_ = 0;
  int act_dim_ = 0;
  int distribution_width_ = 0;
  std::vector<float> obs_;               // [num_envs, obs_dim]
  std::vector<float> actions_;           // [num_envs, act_dim], policy space [-1, 1]
  std::vector<int64_t> action_indices_;  // [num_envs], discrete envs
  std::vector<float> log_probs_;         // [num_envs]
  std::vector<float> distributions_;     // [num_envs, distribution_width]
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_LOCKSTEP_ENVS_H_
