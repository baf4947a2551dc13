// LocalMultiAgentEnvs: the MultiAgentEnvs (multi_agent_envs.h) of N
// MultiAgentEnv objects in this process (the registry's C++ tasks), each
// stepped in turn. Their metrics are added up over each env's episode
// (env_episode_metrics.h); their scripted players and renders are theirs.
// A step error of an env (a bad action) is the Step's error, or, for envs
// that may fail on their own (a plugin library's), that env's failure
// (multi_agent_envs.h "Failures").
//
// Not thread-safe (see multi_agent_envs.h).
#ifndef RILL_ENVS_BATCH_LOCAL_MULTI_AGENT_ENVS_H_
#define RILL_ENVS_BATCH_LOCAL_MULTI_AGENT_ENVS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/batch/env_episode_metrics.h"
#include "envs/batch/multi_agent_envs.h"
#include "envs/multi_agent/interface.h"

namespace rill::envs {

class LocalMultiAgentEnvs final : public MultiAgentEnvs {
 public:
  enum class StepErrors {
    kFailStep,  // an env's Step error is Step's error
    kFailEnv,   // it is that env's failure; the env is reset
  };

  // `envs`: the same env, seeded apart. InvalidArgument for no envs, envs
  // of other agents or agent spaces than the first's, or agents whose
  // observations are not float32.
  static absl::StatusOr<std::unique_ptr<LocalMultiAgentEnvs>> Create(std::vector<std::unique_ptr<MultiAgentEnv>> envs,
                                                                     StepErrors errors = StepErrors::kFailStep);

  bool live(int env, int agent) const override { return envs_[env]->live(agent); }
  absl::Status Reset(float* observations) override;
  absl::StatusOr<int> Step(int active, const float* actions, const MultiAgentEnvsOutput& out) override;
  void State(int env, float* state) const override { envs_[env]->State(state); }
  std::vector<EnvMetric> metrics() const override { return episode_metrics_.metrics(); }
  bool ScriptedAction(int env, int agent, const float* obs, float* action) override {
    return envs_[env]->ScriptedAction(agent, obs, action);
  }
  std::vector<std::string> cameras() const override { return envs_[0]->cameras(); }
  absl::Status Render(int env, int width, int height, const std::string& camera, RgbImage* image) override;
  double render_fps() const override { return envs_[0]->render_fps(); }

 private:
  LocalMultiAgentEnvs(std::vector<std::unique_ptr<MultiAgentEnv>> envs, StepErrors errors);
  // Env e's new episode: its first observations into row e of last_obs_
  // and of `observations`.
  void ResetEnv(int e, float* observations);
  // Writes env e's agents' outcomes of the step just taken (results_,
  // was_live_, next_obs_) to `out` and last_obs_.
  void WriteEnv(int e, const MultiAgentEnvsOutput& out);
  // Env e failed its step with `status`: listed, reset, every agent as
  // having acted and been cut off with no reward.
  void FailEnv(int e, const absl::Status& status, const MultiAgentEnvsOutput& out);
  float* Row(std::vector<float>& buffer, int e) { return &buffer[static_cast<size_t>(e) * obs_width()]; }

  std::vector<std::unique_ptr<MultiAgentEnv>> envs_;
  StepErrors errors_;
  // [N, obs_width]: each agent's newest observation (one that left, the
  // one it ended on).
  std::vector<float> last_obs_;
  std::vector<float> next_obs_;            // [obs_width], one env's step
  std::vector<StepResult> results_;        // [K], one env's step
  std::vector<const float*> action_parts_;  // [K]
  std::vector<float*> obs_parts_;          // [K]
  std::vector<uint8_t> was_live_;          // [K], one env's agents live before its step
  EnvEpisodeMetrics episode_metrics_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_LOCAL_MULTI_AGENT_ENVS_H_
