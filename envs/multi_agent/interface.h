// MultiAgentEnv: one environment instance in which several agents act at
// once, in the shape of PettingZoo's parallel API: the env declares its
// possible agents and each one's spaces (agents may differ), a Step takes
// one action per live agent and gives each its observation, reward,
// terminated and truncated, and the env may offer a global state for
// centralised critics. Actors step these through an EnvBatch whose rows
// are agents (envs/batch/agent_rows.h): an env of K agents fills K
// consecutive rows; or, with env.joint_agents, through one whose row is a
// whole env, its agents together (envs/batch/joint.h; joint.h here).
//
// Agents leave: an agent whose step ends (terminated, or truncated by the
// time limit) is no longer live; it is not stepped, its action is ignored
// and its buffers are left alone until the next Reset, which brings every
// agent back. The episode is over when no agent is live. The time limit
// (max_episode_steps) truncates every agent still live, as Gymnasium's
// TimeLimit does for one agent; an env that ends all agents together (the
// particle tasks, a two-player game) simply never leaves one early.
//
// Observations are float32 (images come later); the global state is
// float32 too. Actions are as for Env (interface.h): continuous in env
// units, a discrete index as a float.
//
// Thread safety: none. One MultiAgentEnv is owned and stepped by one thread.
#ifndef RILL_ENVS_MULTI_AGENT_INTERFACE_H_
#define RILL_ENVS_MULTI_AGENT_INTERFACE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "envs/interface.h"
#include "envs/spec.h"

namespace rill::envs {

struct MultiAgentSpec {
  // The env's id, e.g. "CooperativeNavigation-v0".
  std::string name;
  // PettingZoo's possible_agents, in row order: "agent_0", ...
  std::vector<std::string> agents;
  // Agent k's spaces; each one's name is the env's and its
  // max_episode_steps the env's.
  std::vector<EnvSpec> agent_specs;
  // The shape of the global state (float32); empty when the env offers
  // none.
  std::vector<int64_t> state_shape;
  // Steps after which every live agent is truncated.
  int max_episode_steps = 0;

  int num_agents() const { return static_cast<int>(agents.size()); }
  int state_dim() const {
    int64_t n = state_shape.empty() ? 0 : 1;
    for (int64_t d : state_shape) n *= d;
    return static_cast<int>(n);
  }
  // Every agent has agent 0's spaces: what agents sharing one policy
  // (rows of one batch) need.
  bool homogeneous() const {
    for (const EnvSpec& spec : agent_specs) {
      if (!SameSpaces(spec, agent_specs[0])) return false;
    }
    return true;
  }

  // Whether two agents act alike: the same kind, count and bounds of
  // actions.
  static bool SameActions(const EnvSpec& a, const EnvSpec& b) {
    return a.discrete == b.discrete && a.num_actions == b.num_actions && a.action_low == b.action_low &&
           a.action_high == b.action_high;
  }
  // Whether two agents observe and act alike (their observations ending in
  // an action mask, or not, included).
  static bool SameSpaces(const EnvSpec& a, const EnvSpec& b) {
    return a.observation_shape == b.observation_shape && a.observation_type == b.observation_type &&
           a.action_mask == b.action_mask && SameActions(a, b);
  }
};

// `spec` with its time limit (and each agent's) replaced: the spec of a
// created env.
inline MultiAgentSpec WithTimeLimit(MultiAgentSpec spec, int max_episode_steps) {
  spec.max_episode_steps = max_episode_steps;
  for (EnvSpec& agent : spec.agent_specs) agent.max_episode_steps = max_episode_steps;
  return spec;
}

class MultiAgentEnv {
 public:
  virtual ~MultiAgentEnv() = default;

  const MultiAgentSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }
  int num_agents() const { return spec_.num_agents(); }
  int max_episode_steps() const { return spec_.max_episode_steps; }
  // Steps taken in the current (or last) episode.
  int elapsed_steps() const { return elapsed_steps_; }

  // Whether agent k acts in the next Step: every agent after Reset; none
  // once its step ended, until the next Reset.
  bool live(int agent) const { return live_[agent] != 0; }
  // Whether no agent is live (before the first Reset too).
  bool episode_over() const {
    for (uint8_t l : live_) {
      if (l != 0) return false;
    }
    return true;
  }

  // Starts a new episode with every agent live and writes agent k's first
  // observation to obs[k] (agent_specs[k].obs_dim() floats). The initial
  // state is drawn from the env's own RNG, seeded at creation. Never fails.
  virtual void Reset(float* const* obs) = 0;

  // Advances the episode by one step. For each live agent k: actions[k]
  // holds its action (Env::Step's units), and the step writes its next
  // observation to next_obs[k] (the real one, also on its last step) and
  // its outcome to results[k]. Agents not live are left alone (their
  // actions may be null). An agent whose result is terminated or truncated
  // leaves. Errors (nothing changes and the step is not counted):
  //   InvalidArgument naming the agent: a NaN continuous action, or a
  //     discrete index out of range or not a whole number;
  //   FailedPrecondition: no Reset yet, or the episode is over (each
  //     named).
  virtual absl::Status Step(const float* const* actions, float* const* next_obs, StepResult* results) = 0;

  // The global state (spec().state_dim() floats): what a centralised
  // critic sees. Only for an env whose state_shape is not empty.
  virtual void State(float* /*state*/) const {}

  // The task's own figures (spec.h's EnvMetric), none by default, and
  // their values for the step just taken (or the state after Reset): the
  // batch adds them up over each episode of this env.
  virtual std::vector<EnvMetric> metrics() const { return {}; }
  virtual void MeasureStep(double* /*values*/) const {}

  // A scripted player the env offers to measure a policy against (a
  // game's own opponent): writes agent k's action (Step's units) for its
  // observation `obs`. False when the env scripts no agent (the default)
  // or not agent k. Deterministic given the env's seed.
  virtual bool ScriptedAction(int /*agent*/, const float* /*obs*/, float* /*action*/) { return false; }

  // Rendering, as Env's (interface.h): the whole scene, every agent in it.
  // Callers check the size and the camera (envs/render.h's
  // RenderSceneInto, as AgentRowsEnvBatch::Render does).
  virtual std::vector<std::string> cameras() const { return {}; }
  virtual absl::Status Render(int /*width*/, int /*height*/, const std::string& /*camera*/, uint8_t* /*rgb*/) {
    return absl::UnimplementedError(name() + " cannot render");
  }
  virtual double render_fps() const { return 30; }

 protected:
  // `spec`: the class's Spec() with this instance's time limit.
  explicit MultiAgentEnv(MultiAgentSpec spec)
      : spec_(std::move(spec)), live_(static_cast<size_t>(spec_.num_agents()), 0) {}

  // For implementations. Reset calls StartEpisode: every agent live, no
  // step taken.
  void StartEpisode() {
    live_.assign(live_.size(), 1);
    elapsed_steps_ = 0;
    started_ = true;
  }
  // Step calls it last, after writing the live agents' `results` (their
  // terminated set, truncated false): counts the step, truncates every
  // live agent that is not terminated when it reaches the time limit, and
  // the agents whose step ended leave.
  void EndStep(StepResult* results) {
    ++elapsed_steps_;
    const bool limit = elapsed_steps_ >= spec_.max_episode_steps;
    for (size_t k = 0; k < live_.size(); ++k) {
      if (live_[k] == 0) continue;
      if (limit && !results[k].terminated) results[k].truncated = true;
      if (results[k].terminated) results[k].truncated = false;
      if (results[k].terminated || results[k].truncated) live_[k] = 0;
    }
  }
  // The checks every Step begins with: an open episode and, for each live
  // agent, an action of its space. FailedPrecondition or InvalidArgument
  // as Step documents.
  absl::Status CheckStep(const float* const* actions) const;

 private:
  MultiAgentSpec spec_;
  std::vector<uint8_t> live_;  // [num_agents], 1 while agent k is live
  int elapsed_steps_ = 0;
  bool started_ = false;  // a Reset has happened
};

}  // namespace rill::envs

#endif  // RILL_ENVS_MULTI_AGENT_INTERFACE_H_
