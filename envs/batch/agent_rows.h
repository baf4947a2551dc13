// AgentRowsEnvBatch: an EnvBatch of multi-agent envs whose rows are agents
// (interface.h, "Rows that are agents"): env e's agent k is row e * K + k.
// What agents sharing one policy step through: its rows are one row spec.
// Agents of different observation sizes (a predator's and its prey's) are
// rows zero-padded to the widest, each agent's observation first; every
// agent must act alike (envs/catalog.h's LookupEnvSpec). A policy of some
// agents reads the first values of its rows (PolicyRowSpec). The envs are a MultiAgentEnvs
// (multi_agent_envs.h): in this process, or on an env server.
//
// A Step steps each env with a row in [0, active) (whole envs: it returns
// the rows of the envs it stepped; a remote source steps all). An agent
// that leaves before its env's episode is over is masked until the env
// resets; the env resets inside the Step in which its last agent ends, and
// every row of it then holds the next episode's first observation. A step
// error of a local env (a bad action) is the Step's error, as for the
// registry's single-agent envs; a failed remote env's rows are each listed
// in `failures`. The envs' metrics (MultiAgentEnv::metrics) are added up
// over each env's episode and reported when it ends
// (EnvBatchOutput::env_episodes).
//
// Not thread-safe (see interface.h).
#ifndef RILL_ENVS_BATCH_AGENT_ROWS_H_
#define RILL_ENVS_BATCH_AGENT_ROWS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/batch/interface.h"
#include "envs/batch/multi_agent_envs.h"
#include "envs/multi_agent/interface.h"

namespace rill::envs {

class AgentRowsEnvBatch final : public EnvBatch {
 public:
  // A batch of `envs` (the same env, seeded apart), whose rows are `row`
  // (the spec of one row, named as the env: catalog.h's). InvalidArgument
  // for no envs, envs of different agents, agents that act otherwise than
  // `row` or observe more than it (or observe other than flat vectors of
  // fewer values), or observations that are not float32.
  static absl::StatusOr<std::unique_ptr<AgentRowsEnvBatch>> Create(EnvSpec row,
                                                                   std::vector<std::unique_ptr<MultiAgentEnv>> envs);
  // The same over any source of envs (a remote one: remote_multi_agent_envs.h).
  static absl::StatusOr<std::unique_ptr<AgentRowsEnvBatch>> CreateOver(EnvSpec row,
                                                                       std::unique_ptr<MultiAgentEnvs> envs);

  // Agents per env: K.
  int agents_per_env() const { return agents_; }
  bool rows_are_agents() const override { return true; }
  // The envs the rows are agents of (their global state: MultiAgentEnvs::
  // State of env row / K).
  const MultiAgentEnvs& envs() const { return *envs_; }

  absl::Status Reset(uint8_t* observations) override;
  absl::StatusOr<int> Step(int active, const float* actions, const EnvBatchOutput& out) override;
  std::vector<std::string> cameras() const override { return envs_->cameras(); }
  // Row `index`'s env, every agent in it.
  absl::Status Render(int index, int width, int height, const std::string& camera, RgbImage* image) override {
    return envs_->Render(index / agents_, width, height, camera, image);
  }
  double render_fps() const override { return envs_->render_fps(); }
  std::vector<EnvMetric> metrics() const override { return envs_->metrics(); }
  absl::StatusOr<std::vector<int>> ScriptAgent(int agent, const uint8_t* observations, float* actions) override;
  // Row e * K + k: env e's MultiAgentEnv::State (spec().state_dim floats).
  void States(float* states) const override;

 private:
  AgentRowsEnvBatch(EnvSpec row, std::unique_ptr<MultiAgentEnvs> envs);

  std::unique_ptr<MultiAgentEnvs> envs_;
  int agents_;
  int obs_dim_;  // floats of one row's observation
  int act_dim_;  // floats of one row's action
  std::vector<uint8_t> acted_;  // [N]: one Step's rows that acted
  std::vector<uint8_t> episode_ended_;  // [envs]
  std::vector<EnvFailure> env_failures_;  // one Step's, by env
  int state_dim_;  // floats of one env's global state; 0: none
  std::vector<float> env_final_states_;  // [envs, state_dim]: one Step's

  // Agents of different observation sizes: the envs write their layout
  // ([envs, obs_width]) here, and Unpack copies it into the padded rows.
  // Rows [e * K, (e + 1) * K) of `rows` from `packed` for envs [0, envs),
  // only the rows where `ended_only` is 1 when it is not null.
  void Unpack(int envs, const float* packed, float* rows, const uint8_t* ended_only) const;
  bool padded_;
  std::vector<float> packed_observations_;
  std::vector<float> packed_final_observations_;
  std::vector<uint8_t> ended_;  // [N]: one Step's rows that ended
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_AGENT_ROWS_H_
