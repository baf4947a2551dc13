#include "actor/agent_returns.h"

#include <algorithm>

#include "absl/status/statusor.h"
#include "envs/catalog.h"

namespace rill::actor {

std::unique_ptr<AgentReturns> AgentReturns::ForEnv(const v1::EnvConfig& env, int rows) {
  if (!envs::IsMultiAgentSection(env)) return nullptr;
  absl::StatusOr<envs::MultiAgentSpec> multi = envs::ConfiguredMultiAgentSpec(env);
  if (!multi.ok()) return nullptr;
  return std::unique_ptr<AgentReturns>(new AgentReturns(multi->agents, env.joint_agents(), rows));
}

AgentReturns::AgentReturns(std::vector<std::string> agents, bool joint, int rows)
    : agents_(std::move(agents)), joint_(joint) {
  if (joint_) sums_.assign(static_cast<size_t>(rows) * agents_.size(), 0.0);
}

void AgentReturns::AddStep(int row, const float* agent_rewards) {
  if (!joint_ || agent_rewards == nullptr) return;
  const int k = num_agents();
  for (int a = 0; a < k; ++a) sums_[static_cast<size_t>(row) * k + a] += agent_rewards[a];
}

std::vector<std::pair<int, double>> AgentReturns::EndEpisode(int row, double row_return) {
  const int k = num_agents();
  if (!joint_) return {{row % k, row_return}};
  std::vector<std::pair<int, double>> returns;
  for (int a = 0; a < k; ++a) returns.emplace_back(a, sums_[static_cast<size_t>(row) * k + a]);
  Drop(row);
  return returns;
}

void AgentReturns::Drop(int row) {
  if (!joint_) return;
  const int k = num_agents();
  std::fill_n(sums_.begin() + static_cast<size_t>(row) * k, k, 0.0);
}

}  // namespace rill::actor
