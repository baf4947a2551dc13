// AgentReturns: each agent's episode return in a batch of multi-agent
// envs, for the `agent` label of the actor's and the evaluator's metrics
// (rill_actor_agent_episode_return, rill_eval_agent_return_mean). With
// agent rows (an env's K agents are K consecutive rows) a row's episode is
// its agent's: agent = row mod K. With joint rows (env.joint_agents, one
// row per env) the row's reward is the agents' mean, so each agent's own
// rewards (LockstepEnvs::agent_rewards_row) are added up over the episode.
//
// Not thread-safe: one step loop owns it.
#ifndef RILL_ACTOR_AGENT_RETURNS_H_
#define RILL_ACTOR_AGENT_RETURNS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proto/config.pb.h"

namespace rill::actor {

class AgentReturns {
 public:
  // For the envs `env` makes, `rows` rows in all; null for a single-agent
  // env (or one whose agents cannot be read: the batch's creation names
  // that).
  static std::unique_ptr<AgentReturns> ForEnv(const v1::EnvConfig& env, int rows);

  // The agents, in their env's order.
  const std::vector<std::string>& agents() const { return agents_; }
  int num_agents() const { return static_cast<int>(agents_.size()); }

  // Adds a joint row's agents' rewards of one step (K floats; ignored for
  // agent rows and for null).
  void AddStep(int row, const float* agent_rewards);
  // Row `row`'s episode ended with return `row_return`: each of its
  // agents' returns as (agent index, return), and the row starts over.
  std::vector<std::pair<int, double>> EndEpisode(int row, double row_return);
  // Row `row`'s env failed and was reset: what it had added up is dropped.
  void Drop(int row);

 private:
  AgentReturns(std::vector<std::string> agents, bool joint, int rows);

  std::vector<std::string> agents_;
  bool joint_;
  std::vector<double> sums_;  // joint: [rows, K], each agent's return so far
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_AGENT_RETURNS_H_
