// MultiAgentEnvs: N multi-agent envs (envs/multi_agent/interface.h) of K
// agents stepped together, wherever they live: in this process
// (LocalMultiAgentEnvs, local_multi_agent_envs.h), on an env server
// (RemoteMultiAgentEnvs, envs/remote/remote_multi_agent_envs.h), later in
// a plugin. The seam under the two row layouts: AgentRowsEnvBatch (an
// agent a row) and JointAgentsEnvBatch (an env a row) are built on it, so
// either layout steps envs from any source.
//
// Buffers: an env's agents lie side by side in its row, in agent order,
// each agent's part flattened (the wire's layout, proto/env.proto,
// "Multi-agent envs"):
//   observations [N, obs_width()] float32, agent k's obs_dim floats at
//     obs_offset(k);
//   actions [N, action_width()] floats in env units, agent k's at
//     action_offset(k): a continuous agent's action_dim floats, a discrete
//     agent's index as one float.
// For agents of one space that is exactly [N * K, one agent's width]: the
// agent rows' layout.
//
// Agents leave as MultiAgentEnv's do: live(e, k) says whether agent k of
// env e acts in the next Step; one that is not keeps its observation (the
// one it ended on) and gets neither reward nor flags. An env whose last
// agent ends is reset inside that Step (episode_ended), its row then the
// next episode's first observations.
//
// Failures: an env that fails (a remote env misbehaved, the server went
// away) is listed in `failures`, has been reset (every agent live, its row
// the new first observations) and its rewards are 0; the caller drops what
// it was building for it. A local env's step error (a bad action) is the
// Step's error instead, as for the registry's single-agent envs.
//
// Not thread-safe: one step loop owns it (Render included).
#ifndef RILL_ENVS_BATCH_MULTI_AGENT_ENVS_H_
#define RILL_ENVS_BATCH_MULTI_AGENT_ENVS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/batch/interface.h"
#include "envs/multi_agent/interface.h"
#include "envs/render.h"
#include "envs/spec.h"

namespace rill::envs {

// Where a MultiAgentEnvs::Step writes, in buffers the caller owns.
struct MultiAgentEnvsOutput {
  // [N, obs_width]: every agent's newest observation (one that did not act
  // keeps its own; an env reset in the Step its next episode's first).
  float* observations = nullptr;
  // [N, obs_width]: the slot of each agent that ended in this Step
  // (terminated or truncated, its env not failed) gets the observation it
  // ended on; other slots are left alone.
  float* final_observations = nullptr;
  float* rewards = nullptr;      // [N, K]; 0 for an agent that did not act
  uint8_t* terminated = nullptr;  // [N, K], 0 or 1
  uint8_t* truncated = nullptr;   // [N, K], 0 or 1; never with terminated
  // [N, K]: 1 for the agents that acted in this Step (were live before
  // it), and for every agent of a failed env.
  uint8_t* acted = nullptr;
  // [N]: 1 when the env's episode ended in this Step (no agent left) and
  // it was reset.
  uint8_t* episode_ended = nullptr;
  // Replaced: the failed envs, ascending (EnvFailure::index an env).
  std::vector<EnvFailure>* failures = nullptr;
  // Replaced when not null: the envs whose episode ended, ascending, with
  // their metrics() figures (first_row: the env's index).
  std::vector<EnvEpisodeFigures>* env_episodes = nullptr;
  // [N, S] when not null, for envs whose spec has a state_shape: each
  // stepped env's state right after its step, before any reset (what a
  // centralised value bootstraps an ended agent from), a remote env's
  // as its server sent it (EnvsStepped.final_states).
  float* final_states = nullptr;
};

class MultiAgentEnvs {
 public:
  virtual ~MultiAgentEnvs() = default;

  // The envs' agents and spaces (all N alike).
  const MultiAgentSpec& spec() const { return spec_; }
  int size() const { return size_; }
  int num_agents() const { return spec_.num_agents(); }
  int obs_width() const { return obs_width_; }
  int action_width() const { return action_width_; }
  int obs_offset(int agent) const { return obs_offsets_[agent]; }
  int action_offset(int agent) const { return action_offsets_[agent]; }

  // Whether agent `agent` of env `env` acts in the next Step.
  virtual bool live(int env, int agent) const = 0;

  // Starts a fresh episode in every env and writes their first
  // observations ([N, obs_width]). Errors: a remote source's, when its
  // server cannot be reached within its reconnect deadline.
  virtual absl::Status Reset(float* observations) = 0;

  // Steps the envs [0, active) (a remote source: all N) with `actions`
  // ([N, action_width]; slots of agents not live are ignored) and writes
  // their outcomes to `out`. Returns how many envs it stepped; the rest of
  // `out` is left alone. Errors: see "Failures" above.
  virtual absl::StatusOr<int> Step(int active, const float* actions, const MultiAgentEnvsOutput& out) = 0;

  // Env `env`'s global state now (spec().state_dim() floats), for an env
  // whose spec has a state_shape.
  virtual void State(int env, float* state) const = 0;

  // The envs' own figures (spec.h), reported in env_episodes.
  virtual std::vector<EnvMetric> metrics() const { return {}; }

  // Env `env`'s scripted action for agent `agent` given `obs` (its
  // observation), in env units, into `action`; false when the envs script
  // no such agent (the default).
  virtual bool ScriptedAction(int /*env*/, int /*agent*/, const float* /*obs*/, float* /*action*/) { return false; }

  // Rendering, as EnvBatch's: an env, every agent in it.
  virtual std::vector<std::string> cameras() const = 0;
  virtual absl::Status Render(int env, int width, int height, const std::string& camera, RgbImage* image) = 0;
  virtual double render_fps() const = 0;

 protected:
  // Env `env` failed in this Step with `message` (see "Failures"): listed
  // in out.failures, and each of its agents as having acted and been cut
  // off (truncated) with no reward. Its observations are the caller's to
  // write (its reset's).
  void WriteFailedEnv(int env, std::string message, const MultiAgentEnvsOutput& out) const {
    out.failures->push_back(EnvFailure{env, std::move(message)});
    for (int k = 0; k < num_agents(); ++k) {
      const size_t at = static_cast<size_t>(env) * num_agents() + k;
      out.acted[at] = 1;
      out.rewards[at] = 0;
      out.terminated[at] = 0;
      out.truncated[at] = 1;
    }
    out.episode_ended[env] = 0;
  }

  MultiAgentEnvs(MultiAgentSpec spec, int size) : spec_(std::move(spec)), size_(size) {
    for (const EnvSpec& agent : spec_.agent_specs) {
      obs_offsets_.push_back(obs_width_);
      action_offsets_.push_back(action_width_);
      obs_width_ += agent.obs_dim();
      action_width_ += agent.discrete ? 1 : agent.action_dim();
    }
  }

 private:
  MultiAgentSpec spec_;
  int size_;
  int obs_width_ = 0;
  int action_width_ = 0;
  std::vector<int> obs_offsets_;     // [K]
  std::vector<int> action_offsets_;  // [K]
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_MULTI_AGENT_ENVS_H_
