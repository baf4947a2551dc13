// AgentRowsEnvBatch: an EnvBatch of multi-agent envs in this process whose
// rows are agents (interface.h, "Rows that are agents"): env e's agent k
// is row e * K + k. What agents sharing one policy step through: its rows
// are one row spec, so every agent of the envs must have the same spaces
// (MultiAgentSpec::homogeneous).
//
// A Step steps each env with a row in [0, active) (whole envs: it returns
// the rows of the envs it stepped). An agent that leaves before its env's
// episode is over is masked until the env resets; the env resets inside
// the Step in which its last agent ends, and every row of it then holds the
// next episode's first observation. A step error of an env (a bad action)
// is the Step's error, as for the registry's single-agent envs. The envs'
// metrics (MultiAgentEnv::metrics) are added up over each env's episode
// and reported when it ends (EnvBatchOutput::env_episodes).
//
// Not thread-safe (see interface.h).
#ifndef RILL_ENVS_BATCH_AGENT_ROWS_H_
#define RILL_ENVS_BATCH_AGENT_ROWS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/batch/env_episode_metrics.h"
#include "envs/batch/interface.h"
#include "envs/multi_agent/interface.h"

namespace rill::envs {

class AgentRowsEnvBatch final : public EnvBatch {
 public:
  // A batch of `envs` (the same env, seeded apart), whose rows are `row`
  // (the spec of one agent, named as the env). InvalidArgument for no envs,
  // envs of different agents, agents whose spaces differ from each other or
  // from `row`, or observations that are not float32.
  static absl::StatusOr<std::unique_ptr<AgentRowsEnvBatch>> Create(EnvSpec row,
                                                                   std::vector<std::unique_ptr<MultiAgentEnv>> envs);

  // Agents per env: K.
  int agents_per_env() const { return agents_; }

  absl::Status Reset(uint8_t* observations) override;
  absl::StatusOr<int> Step(int active, const float* actions, const EnvBatchOutput& out) override;
  std::vector<std::string> cameras() const override { return envs_[0]->cameras(); }
  // Row `index`'s env, every agent in it.
  absl::Status Render(int index, int width, int height, const std::string& camera, RgbImage* image) override;
  double render_fps() const override { return envs_[0]->render_fps(); }
  std::vector<EnvMetric> metrics() const override { return episode_metrics_.metrics(); }
  absl::StatusOr<std::vector<int>> ScriptAgent(int agent, const uint8_t* observations, float* actions) override;

 private:
  AgentRowsEnvBatch(EnvSpec row, std::vector<std::unique_ptr<MultiAgentEnv>> envs);
  // Env e's new episode: each of its rows' first observation into
  // `observations` and into last_obs_.
  void ResetEnv(int e, uint8_t* observations);
  float* Row(std::vector<float>& buffer, int row, int width) { return &buffer[static_cast<size_t>(row) * width]; }

  std::vector<std::unique_ptr<MultiAgentEnv>> envs_;
  int agents_;
  int obs_dim_;  // floats of one row's observation
  int act_dim_;  // floats of one row's action
  // [N, obs_dim]: each row's newest observation (a masked row's is the
  // one its agent ended on).
  std::vector<float> last_obs_;
  std::vector<float> next_obs_;  // [N, obs_dim], one step's
  std::vector<StepResult> results_;  // [K], one env's step
  std::vector<const float*> action_rows_;  // [K]
  std::vector<float*> obs_rows_;  // [K]
  std::vector<uint8_t> was_live_;  // [K], one env's agents live before its step
  EnvEpisodeMetrics episode_metrics_;  // the envs' metrics, per env's episode
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_AGENT_ROWS_H_
