// JointAgentsEnvBatch: an EnvBatch of multi-agent envs in this process whose
// row is a whole env (interface.h, "Joint rows"; envs/multi_agent/joint.h):
// env e is row e, its K agents' observations concatenated, its action
// theirs. What algorithms that train on every agent at once (MADDPG, on
// env.joint_agents) step. The agents may differ in their spaces (a
// predator and its prey).
//
// A Step steps each env with a row in [0, active). Row e's action is in
// env units as the actor hands it (LockstepEnvs maps the policy's [-1, 1]
// to the spec's bounds, -1 and 1 for a discrete agent's one-hot, so it is
// the policy's): a discrete agent plays the index of the largest entry of
// its slot (the first on ties), a continuous agent its slot as it is. The
// row's observation is the agents' newest (an agent that left keeps the
// one it ended on), its reward the mean over all K agents of their
// rewards (one that left counts 0), and agent_rewards / agent_terminated
// hold each agent's own (interface.h). The row never masks. It ends when
// the env's episode is over (no agent live): terminated when every agent's
// episode ended by termination, else truncated; final_observations then
// holds the joint observation it ended on and the env resets inside the
// Step. A step error of an env (a bad action) is the Step's error, as for
// AgentRowsEnvBatch. The envs' metrics are reported as AgentRowsEnvBatch
// reports them (env_episode_metrics.h), first_row the env's row.
//
// Not thread-safe (see interface.h).
#ifndef RILL_ENVS_BATCH_JOINT_H_
#define RILL_ENVS_BATCH_JOINT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/batch/env_episode_metrics.h"
#include "envs/batch/interface.h"
#include "envs/multi_agent/interface.h"
#include "envs/multi_agent/joint.h"

namespace rill::envs {

class JointAgentsEnvBatch final : public EnvBatch {
 public:
  // A batch of `envs` (the same env, seeded apart), one row each, whose
  // spec is JointSpec(envs[0]->spec()). InvalidArgument for no envs, envs
  // of other agents or spaces than the first's, or JointSpec's (agents
  // that observe bytes).
  static absl::StatusOr<std::unique_ptr<JointAgentsEnvBatch>> Create(
      std::vector<std::unique_ptr<MultiAgentEnv>> envs);

  // Agents per env (per row): K.
  int agents_per_env() const { return agents_; }

  absl::Status Reset(uint8_t* observations) override;
  absl::StatusOr<int> Step(int active, const float* actions, const EnvBatchOutput& out) override;
  std::vector<std::string> cameras() const override { return envs_[0]->cameras(); }
  // Env `index`, every agent in it.
  absl::Status Render(int index, int width, int height, const std::string& camera, RgbImage* image) override;
  double render_fps() const override { return envs_[0]->render_fps(); }
  std::vector<EnvMetric> metrics() const override { return episode_metrics_.metrics(); }

 private:
  JointAgentsEnvBatch(EnvSpec row, std::vector<std::unique_ptr<MultiAgentEnv>> envs);
  // Env e's new episode: its first joint observation into row e of
  // `observations` and of last_obs_.
  void ResetEnv(int e, uint8_t* observations);
  // Points agent_actions_ at row e's action of `actions`, each live agent
  // its own (a discrete agent's index in scratch_actions_).
  void SplitAction(int e, const float* actions);
  // Writes env e's agents' outcomes of the step just taken (results_,
  // was_live_) to row e of `out`; returns the row's reward.
  float WriteAgents(int e, const EnvBatchOutput& out);
  float* Row(std::vector<float>& buffer, int row, int width) { return &buffer[static_cast<size_t>(row) * width]; }

  std::vector<std::unique_ptr<MultiAgentEnv>> envs_;
  int agents_;
  std::vector<JointSlot> layout_;  // [K]
  int obs_dim_;  // floats of a row's observation
  int act_dim_;  // floats of a row's action
  // [N, obs_dim]: each row's newest joint observation (a departed agent's
  // part the one it ended on).
  std::vector<float> last_obs_;
  std::vector<float> next_obs_;  // [N, obs_dim], one step's
  std::vector<float> scratch_actions_;  // [act_dim]: discrete agents' indices
  std::vector<StepResult> results_;  // [K], one env's step
  std::vector<const float*> agent_actions_;  // [K]
  std::vector<float*> obs_parts_;  // [K]
  std::vector<uint8_t> was_live_;  // [K], one env's agents live before its step
  // [N]: 1 once an agent of env e's episode was truncated.
  std::vector<uint8_t> any_truncated_;
  EnvEpisodeMetrics episode_metrics_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_JOINT_H_
