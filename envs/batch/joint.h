// JointAgentsEnvBatch: an EnvBatch of multi-agent envs (a MultiAgentEnvs,
// multi_agent_envs.h: in this process or on an env server) whose row is a
// whole env (interface.h, "Joint rows"; envs/multi_agent/joint.h):
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
// Step. A step error of a local env (a bad action) is the Step's error, as
// for AgentRowsEnvBatch; a failed remote env's row is listed in `failures`
// (reward 0, truncated). The envs' metrics are reported as AgentRowsEnvBatch
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
#include "envs/batch/interface.h"
#include "envs/batch/multi_agent_envs.h"
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
  // The same over any source of envs (a remote one: remote_multi_agent_envs.h).
  // `use_action_masks` false (env.ignore_action_mask): a masked agent plays
  // its largest entry as any other does.
  static absl::StatusOr<std::unique_ptr<JointAgentsEnvBatch>> CreateOver(std::unique_ptr<MultiAgentEnvs> envs,
                                                                         bool use_action_masks = true);

  // Agents per env (per row): K.
  int agents_per_env() const { return agents_; }
  // The envs, one a row (their global state: MultiAgentEnvs::State).
  const MultiAgentEnvs& envs() const { return *envs_; }

  absl::Status Reset(uint8_t* observations) override;
  absl::StatusOr<int> Step(int active, const float* actions, const EnvBatchOutput& out) override;
  std::vector<std::string> cameras() const override { return envs_->cameras(); }
  // Env `index`, every agent in it.
  absl::Status Render(int index, int width, int height, const std::string& camera, RgbImage* image) override {
    return envs_->Render(index, width, height, camera, image);
  }
  double render_fps() const override { return envs_->render_fps(); }
  std::vector<EnvMetric> metrics() const override { return envs_->metrics(); }
  // A joint row is every agent's, so no row is the scripted agent's alone:
  // from the first call on, every Step plays agent `agent` of each env with
  // its env's scripted action for the agent's observation (whatever the
  // row's slot holds), and the call returns no rows. InvalidArgument for an
  // agent the envs do not have; FailedPrecondition when they script no
  // player for it.
  absl::StatusOr<std::vector<int>> ScriptAgent(int agent, const uint8_t* observations, float* actions) override;

 private:
  JointAgentsEnvBatch(EnvSpec row, std::unique_ptr<MultiAgentEnvs> envs, bool use_action_masks);
  // Row e's action of `actions` as the envs take it, into row e of
  // env_actions_: each live agent its own (a discrete agent its index).
  void SplitAction(int e, const float* actions);
  // Writes env e's agents' outcomes of the step just taken to row e of
  // `out`; returns the row's reward.
  float WriteAgents(int e, const EnvBatchOutput& out);
  // Every live masked agent's mask in current_obs_ is 0s and 1s allowing
  // something; InvalidArgument naming the row, the agent and the mask.
  absl::Status CheckMasks() const;
  // The first `rows` rows of `observations` into current_obs_ (when an
  // agent is masked): what the next step's actions are chosen from.
  void KeepObservations(const uint8_t* observations, int rows);

  std::unique_ptr<MultiAgentEnvs> envs_;
  int agents_;
  std::vector<JointSlot> layout_;  // [K]
  int act_dim_;  // floats of a row's action
  std::vector<float> env_actions_;  // [N, envs_->action_width()]
  // [N, obs_width]: each agent's observation at its end this episode.
  std::vector<float> final_obs_;
  std::vector<float> agent_rewards_;  // [N, K], one Step's
  std::vector<uint8_t> agent_terminated_;  // [N, K]
  std::vector<uint8_t> agent_truncated_;  // [N, K]
  std::vector<uint8_t> acted_;  // [N, K]
  std::vector<uint8_t> episode_ended_;  // [N]
  std::vector<EnvFailure> env_failures_;
  // [N]: 1 once an agent of env e's episode was truncated.
  std::vector<uint8_t> any_truncated_;
  // [N, obs_width]: the rows acted from; empty when no agent is masked or
  // scripted.
  std::vector<float> current_obs_;
  // [K]: 1 for an agent its envs' scripts play (ScriptAgent).
  std::vector<uint8_t> scripted_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_JOINT_H_
