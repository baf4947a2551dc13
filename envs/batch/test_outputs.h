// StepBuffers: the buffers of one EnvBatch Step (interface.h's
// EnvBatchOutput) for the batch tests, read back as floats. The masked and
// agent buffers start at values no Step writes (7, -9), so a test sees
// what a Step left alone.
#ifndef RILL_ENVS_BATCH_TEST_OUTPUTS_H_
#define RILL_ENVS_BATCH_TEST_OUTPUTS_H_

#include <cstdint>
#include <cstring>
#include <vector>

#include "envs/batch/interface.h"

namespace rill::envs {

struct StepBuffers {
  // `rows` rows of `obs_dim` floats; with `agents` > 0, joint rows of that
  // many agents (agent_rewards and agent_terminated too).
  explicit StepBuffers(int rows, int obs_dim = 1, int agents = 0)
      : obs(static_cast<size_t>(rows) * obs_dim * sizeof(float)), final_obs(obs.size(), 0), rewards(rows),
        terminated(rows), truncated(rows), masked(rows, 7), agent_rewards(static_cast<size_t>(rows) * agents, -9),
        agent_terminated(static_cast<size_t>(rows) * agents, 7) {}
  EnvBatchOutput out() {
    EnvBatchOutput out{obs.data(),       final_obs.data(), rewards.data(), terminated.data(),
                       truncated.data(), masked.data(),    &failures,      &env_episodes};
    if (!agent_rewards.empty()) {
      out.agent_rewards = agent_rewards.data();
      out.agent_terminated = agent_terminated.data();
    }
    return out;
  }
  static std::vector<float> Floats(const std::vector<uint8_t>& bytes) {
    std::vector<float> values(bytes.size() / sizeof(float));
    std::memcpy(values.data(), bytes.data(), bytes.size());
    return values;
  }
  std::vector<float> observations() const { return Floats(obs); }
  std::vector<float> final_observations() const { return Floats(final_obs); }

  std::vector<uint8_t> obs, final_obs;
  std::vector<float> rewards;
  std::vector<uint8_t> terminated, truncated, masked;
  std::vector<float> agent_rewards;
  std::vector<uint8_t> agent_terminated;
  std::vector<EnvFailure> failures;
  std::vector<EnvEpisodeFigures> env_episodes;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_TEST_OUTPUTS_H_
