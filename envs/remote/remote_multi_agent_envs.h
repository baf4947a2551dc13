// RemoteMultiAgentEnvs: the MultiAgentEnvs (envs/batch/multi_agent_envs.h)
// of N multi-agent envs on an env server (a Python PettingZoo-parallel-style
// env served by python/rill/env_server.py; proto/env.proto, "Multi-agent
// envs"), stepped over one RemoteEnvs stream: one message (or one shared
// region exchange) with every env's agents' actions out, one with all their
// outcomes back. AgentRowsEnvBatch and JointAgentsEnvBatch lay its envs
// out as agent rows or joint rows.
//
// Create opens the stream as RemoteEnvBatch does (RemoteEnvs::
// OpenWithBackoff) and checks that the server's agents and spaces are the
// config's. Step steps every env, whatever `active` says. An env the server
// names in its errors (it raised, left out a live agent, named one it never
// declared, gave an agent an observation of another space, a reward that
// is not finite) is a failure: the server reset it, its rewards are 0 and
// every agent is truncated. When the stream breaks, the envs start over on
// a new one: every env of that Step fails with the stream's message.
// The envs report no metrics and script no agent.
//
// Errors: Create, Reset and Step return Unavailable when the server stays
// away past the reconnect deadline, FailedPrecondition for agents or spaces
// other than the config's (naming the agent and the difference) or a
// single-agent server, and RemoteEnvs::Open's other errors as they are.
//
// Not thread-safe (see multi_agent_envs.h).
#ifndef RILL_ENVS_REMOTE_REMOTE_MULTI_AGENT_ENVS_H_
#define RILL_ENVS_REMOTE_REMOTE_MULTI_AGENT_ENVS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/batch/multi_agent_envs.h"
#include "envs/multi_agent/interface.h"
#include "envs/remote/remote_envs.h"

namespace rill::envs {

class RemoteMultiAgentEnvs final : public MultiAgentEnvs {
 public:
  struct Options {
    std::string address;
    int num_envs = 1;
    uint64_t base_seed = 0;
    // What the server must announce (the config's agents and spaces).
    MultiAgentSpec spec;
    // How long a server may stay away, at the open and at every reconnect:
    // env.remote.reconnect_seconds, which config finalization sets.
    double reconnect_seconds = 0;
    RemoteEnvs::Transport transport = RemoteEnvs::Transport::kSharedMemoryWhenLocal;
  };

  static absl::StatusOr<std::unique_ptr<RemoteMultiAgentEnvs>> Create(Options options);

  // How the agents and spaces a server announced (`announced`) differ from
  // `expected`, e.g. "agent chaser: observations float32 [3], the config
  // says float32 [4]"; nullopt when they agree (names of the env and time
  // limits are not compared).
  static std::optional<std::string> Difference(const MultiAgentSpec& announced, const MultiAgentSpec& expected);

  bool live(int env, int agent) const override { return live_[static_cast<size_t>(env) * num_agents() + agent] != 0; }
  absl::Status Reset(float* observations) override;
  absl::StatusOr<int> Step(int active, const float* actions, const MultiAgentEnvsOutput& out) override;
  void State(int env, float* state) const override;
  std::vector<std::string> cameras() const override;
  absl::Status Render(int env, int width, int height, const std::string& camera, RgbImage* image) override;
  double render_fps() const override { return 30; }

 private:
  explicit RemoteMultiAgentEnvs(Options options);
  // Opens a new stream (see Create); on success it is fresh, and live_ and
  // states_ are its first.
  absl::Status Open();
  // Every env of a Step whose stream broke with `status`: failed, on the
  // new stream's first observations. Open's error when there is none.
  absl::StatusOr<int> FailAll(const absl::Status& status, const MultiAgentEnvsOutput& out);
  // The slots of env e's agents that ended in the Step just taken into
  // out.final_observations: from `ended` (its final row) or the step's
  // observations.
  void WriteFinals(int e, const float* ended, const MultiAgentEnvsOutput& out);

  Options options_;
  std::unique_ptr<RemoteEnvs> remote_;
  int opened_ = 0;      // streams opened so far (moves the seeds on)
  bool fresh_ = false;  // the stream is open and not stepped yet
  RemoteStep step_;
  std::vector<uint8_t> live_;  // [N, K]: who acts in the next Step
  std::vector<float> states_;  // [N, S]
};

}  // namespace rill::envs

#endif  // RILL_ENVS_REMOTE_REMOTE_MULTI_AGENT_ENVS_H_
