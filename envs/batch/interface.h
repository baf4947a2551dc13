// EnvBatch: N instances of one environment stepped together, in EnvPool's
// spirit: one Reset and one Step over all of them, with observations,
// rewards, terminated, truncated and final observations in contiguous
// row-major buffers ([N, ...], row i is instance i) and the instances that
// failed named row by row. The actor loop (actor/lockstep_envs.h) holds one
// and knows nothing of where the envs live.
//
// Implementations (MakeEnvBatch in envs/batch/make.h picks one from the
// config's env section):
//   LocalEnvBatch (local.h): Env objects in this process, the registry's;
//     a step error fails the whole Step.
//   LocalEnvBatch over a plugin library's envs (env.plugin): the same,
//     except that an instance's step error is that row's failure.
//   RemoteEnvBatch (envs/remote/remote_env_batch.h): instances on an env
//     server, one stream for all of them, reconnected when it goes away.
//   AgentRowsEnvBatch (agent_rows.h): multi-agent envs, each agent a row.
//   JointAgentsEnvBatch (joint.h): multi-agent envs, each env's agents one
//     row (env.joint_agents, envs/multi_agent/joint.h).
// Batch wrappers change what every implementation returns, the same way,
// in this order (envs/wrappers.h): ActionRepeatBatch (action_repeat.h) for
// env.action_repeat, PixelsBatch (pixels.h) for env.pixels, FrameStackBatch
// (frame_stack.h) for env.frame_stack. The first two need row control
// (below), which local, plugin and remote single-agent batches have.
//
// Episodes: an instance whose episode ends in a Step (terminated, or
// truncated by its time limit) is reset inside that Step: its row of
// `observations` is the first observation of its next episode and its row
// of `final_observations` the one the episode ended on (for bootstrapping a
// truncation). Instance i is seeded base_seed + i + 1.
//
// Failures: an instance that fails (a plugin's or a server's env reported
// an error, or the server went away) is listed in `failures` and has been
// reset; its row of `observations` is its new episode's first, its reward
// 0, and what the caller was building for it must be dropped. Errors that
// end a Step instead are a local env's own, and a server that stays away
// longer than its reconnect deadline.
//
// Rows that are agents: a row is whatever acts. An env of K agents
// (envs/multi_agent/interface.h) is one entry of a batch that fills K
// consecutive rows (AgentRowsEnvBatch, agent_rows.h), one observation,
// reward, terminated and truncated per agent. An agent whose step ended
// while others of its env go on is masked in the Steps that follow: its
// row's `masked` is 1, nothing happened to it (reward 0, neither flag),
// its observation is the one it ended on, and the caller records nothing
// for it. When the env's last agent ends, the env resets all its agents
// together, inside that Step as above. A batch of single-agent envs is the
// K = 1 case and never masks: spec() and size() describe rows, not envs.
//
// Global states: a batch whose spec().state_dim is S > 0 (agent rows of an
// env offering one, MultiAgentEnv::State) gives each row its env's state:
// States() the current one of every row (the state at its observation,
// after Reset or a Step), and a Step with final_states the state an agent
// ended on, where its observation is written to final_observations.
//
// Joint rows: a batch whose spec().joint_agents is K > 0 (JointAgentsEnvBatch)
// steps an env's K agents as one row that never masks; its Step also
// writes each agent's own reward and termination (agent_rewards,
// agent_terminated below).
//
// Row control (row_control()): StepRows steps chosen rows only, and can
// leave a row whose episode ended unreset (its observation the one it
// ended on, drawable by Render) until ResetRows starts its next episode.
// Action repeat stops stepping a row whose episode ended mid-repeat; pixel
// observations draw an episode's last state before its reset. A remote
// batch has it when its server announces it (proto/env.proto, "Row
// control"); agent and joint rows do not.
//
// Not thread-safe: one step loop owns a batch (Render included).
#ifndef RILL_ENVS_BATCH_INTERFACE_H_
#define RILL_ENVS_BATCH_INTERFACE_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "envs/render.h"
#include "envs/spec.h"

namespace rill::envs {

// One instance that failed in a Step, and why (the env's or the server's
// words: "reward: not finite", ...).
struct EnvFailure {
  int index = 0;
  std::string message;
};

// One env's episode that ended in a Step, with its figures: the values of
// the batch's metrics() over that episode, in their order.
struct EnvEpisodeFigures {
  int first_row = 0;  // the env's first row (its agent 0)
  std::vector<double> values;
};

// Where a Step writes, in buffers the caller owns, each with size() rows.
struct EnvBatchOutput {
  uint8_t* observations = nullptr;        // [N, spec().obs_bytes()]
  uint8_t* final_observations = nullptr;  // [N, obs_bytes]: rows of ended, not failed, instances
  float* rewards = nullptr;               // [N]
  uint8_t* terminated = nullptr;          // [N], 0 or 1
  uint8_t* truncated = nullptr;           // [N], 0 or 1; never with terminated
  uint8_t* masked = nullptr;              // [N], 0 or 1: an agent gone until its env resets
  std::vector<EnvFailure>* failures = nullptr;  // replaced: the failed rows, ascending
  // Replaced when not null: the envs whose episode ended in this Step,
  // ascending, each with its figures (envs with metrics() only).
  std::vector<EnvEpisodeFigures>* env_episodes = nullptr;
  // Written only by a batch whose spec().joint_agents is K > 0, when not
  // null (a joint batch's callers pass both). Agent k of row i:
  //   agent_rewards[i * K + k]: its own reward of the step (0 once it has
  //     left);
  //   agent_terminated[i * K + k]: 1 when it terminated in this step or
  //     had left before it (nothing of its future is bootstrapped), 0 when
  //     it is live or was truncated in this step.
  float* agent_rewards = nullptr;     // [N, K]
  uint8_t* agent_terminated = nullptr;  // [N, K], 0 or 1
  // Written only by a batch whose spec().state_dim is S > 0, when not null:
  // the rows of final_observations, each its env's state after the step
  // its agent ended in (what a centralised value bootstraps a truncation
  // from).
  float* final_states = nullptr;  // [N, S]
};

class EnvBatch {
 public:
  virtual ~EnvBatch() = default;

  // The spaces of one row, wrappers included; max_episode_steps its time
  // limit.
  const EnvSpec& spec() const { return spec_; }
  // Rows: N (envs times their agents).
  int size() const { return size_; }

  // Starts a fresh episode in every instance and writes their first
  // observations to `observations` ([N, obs_bytes]). A remote batch opens a
  // new stream unless the one it has has not been stepped yet (the seeds
  // move on with each stream, so rounds differ). Errors: a server that
  // cannot be reached within its reconnect deadline.
  virtual absl::Status Reset(uint8_t* observations) = 0;

  // Steps the instances [0, active) with `actions` ([N, act_dim] floats in
  // env units; a discrete env's index as a float, one per row) and writes
  // their outcomes to `out`. Returns how many rows it stepped: `active`, or
  // N for a batch that steps all its instances at once (a remote one); rows
  // past that are left as they were. Errors: see "Failures" above.
  virtual absl::StatusOr<int> Step(int active, const float* actions, const EnvBatchOutput& out) = 0;

  // Whether StepRows and ResetRows work (see "Row control" above).
  virtual bool row_control() const { return false; }

  // Whether the rows are a multi-agent env's agents (AgentRowsEnvBatch):
  // then a row that ended while its env goes on (an agent that left) keeps
  // the observation it ended on, rather than a next episode's first.
  virtual bool rows_are_agents() const { return false; }

  // Steps the rows i whose `step[i]` is 1 ([N] bytes) with their rows of
  // `actions` and writes their outcomes to `out` as Step does; the rows of
  // `out` of the others are left as they were. With `defer_resets` a row
  // whose episode ends is not reset: its row of `observations` is the
  // observation it ended on (written to `final_observations` too), and it
  // must go through ResetRows before it steps again. A failed row is reset
  // either way. Errors: Step's; FailedPrecondition without row control.
  virtual absl::Status StepRows(const uint8_t* /*step*/, bool /*defer_resets*/, const float* /*actions*/,
                                const EnvBatchOutput& /*out*/) {
    return absl::FailedPreconditionError(absl::StrCat(spec().name, "'s batch cannot step chosen rows"));
  }

  // Starts the next episode of the rows i whose `reset[i]` is 1 and writes
  // their first observations to their rows of `observations`; the others'
  // rows are left as they were. `failures` is replaced by the rows that
  // failed instead (a reset that failed: the row's observation is zeros
  // and its next step fails it again; or every row, each holding a new
  // first observation, when a remote batch's stream broke). Errors: as
  // StepRows.
  virtual absl::Status ResetRows(const uint8_t* /*reset*/, uint8_t* /*observations*/,
                                 std::vector<EnvFailure>* /*failures*/) {
    return absl::FailedPreconditionError(absl::StrCat(spec().name, "'s batch cannot reset chosen rows"));
  }

  // The rows of agent `agent` (its index in the env's agents) in every env,
  // ascending, each given its env's scripted action (MultiAgentEnv::
  // ScriptedAction, in env units) for its row of `observations` in its row
  // of `actions` ([N, act_dim]); other rows are left alone. Errors:
  // FailedPrecondition when the envs script no such agent (the default).
  virtual absl::StatusOr<std::vector<int>> ScriptAgent(int agent, const uint8_t* /*observations*/,
                                                       float* /*actions*/) {
    return absl::FailedPreconditionError(absl::StrCat(spec().name, " scripts no agent ", agent));
  }

  // A batch whose spec().state_dim is S > 0: every row's env's current
  // global state into `states` ([N, S]): after Reset its first, after a
  // Step the one its observation was made in (the next episode's first
  // where the env reset). A batch without states writes nothing.
  virtual void States(float* /*states*/) const {}

  // The envs' own figures (spec.h), reported in env_episodes; none for
  // most envs.
  virtual std::vector<EnvMetric> metrics() const { return {}; }

  // Rendering (rill render, the evaluator's videos). The cameras an
  // instance draws from (the same for all), its default first; empty when
  // they cannot render.
  virtual std::vector<std::string> cameras() const = 0;
  // Instance `index`'s current state at width x height from `camera` (""
  // for the default) into `image`; steps nothing. A remote frame is its
  // server's, at the size it drew. Errors: envs::RenderInto's or
  // RemoteEnvs::Render's; Unavailable when no stream is open.
  virtual absl::Status Render(int index, int width, int height, const std::string& camera, RgbImage* image) = 0;
  // The frame rate at which a video of these envs plays in real time.
  virtual double render_fps() const = 0;

 protected:
  EnvBatch(EnvSpec spec, int size) : spec_(std::move(spec)), size_(size) {}

  // Step for a batch that steps through its StepRows (a batch wrapper):
  // the rows [0, active), resets not deferred.
  absl::StatusOr<int> StepFirstRows(int active, const float* actions, const EnvBatchOutput& out) {
    first_rows_.assign(static_cast<size_t>(size_), 0);
    std::fill_n(first_rows_.begin(), active, 1);
    absl::Status stepped = StepRows(first_rows_.data(), /*defer_resets=*/false, actions, out);
    if (!stepped.ok()) return stepped;
    return active;
  }

 private:
  EnvSpec spec_;
  int size_;
  std::vector<uint8_t> first_rows_;  // StepFirstRows's mask, kept for its buffer
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_INTERFACE_H_
