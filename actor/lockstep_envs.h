// LockstepEnvs: the envs an actor or the evaluator steps together, and the
// buffers one step of all of them fills: observations (the bytes of the
// env's observation type, so images stay uint8 up to the action source),
// the chosen actions (in the policy's [-1, 1], or indices for a discrete
// env) and what the behaviour policy knew (log-probabilities, distribution
// parameters).
//
// The envs are one envs::EnvBatch (envs/batch/interface.h) that
// envs::MakeEnvBatch makes from the config's env section: in this process
// (the registry's or a user's plugin library's), or on an env server
// (env.remote), with env.frame_stack applied by the batch. Step() steps
// them all through it, resets those whose episode ended (keeping the
// observation each ended on) and records each finished episode's return
// and length as Gymnasium's RecordEpisodeStatistics does, so the actor loop
// is the same wherever the envs live. Env i is seeded base_seed + i + 1.
//
// Rows: each env of K agents (a multi-agent env) is K rows, one per agent;
// size() and every buffer count rows, and "env i" below means row i. With
// env.joint_agents an env's K agents are one row (spec().joint_agents K),
// whose step also gives each agent's reward and termination
// (agent_rewards_row, agent_terminated_row).
//
// Global states: rows of an env offering one (spec().state_dim S > 0) keep
// their env's state beside their observation once TrackStates is called
// (an actor whose items record it): state_row is the state obs() was made
// in, and a Step writes next_state_row and final_state_row as it writes
// next_obs and final_obs.
//
// Not thread-safe: one step loop owns it.
#ifndef RILL_ACTOR_LOCKSTEP_ENVS_H_
#define RILL_ACTOR_LOCKSTEP_ENVS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "actor/action_sources/interface.h"
#include "envs/batch/interface.h"
#include "envs/episode_statistics.h"
#include "envs/render.h"
#include "envs/spec.h"
#include "proto/config.pb.h"

namespace rill::actor {

// What one env's step came to.
struct EnvOutcome {
  envs::StepResult result;
  // The episode ended in this step (terminated or truncated): its return
  // and length. The env has been reset; final_obs holds the observation
  // the episode ended on.
  std::optional<envs::EpisodeRecord> episode;
  // A remote or plugin env failed (its server or library named it in
  // `error`, or the server went away): it has been reset, and what was
  // pending for it must be dropped.
  bool failed = false;
  std::string error;
  // The env's agent left earlier in its episode (a multi-agent env's row,
  // envs/batch/interface.h): nothing happened to it and nothing is to be
  // recorded; its row comes back at its env's next episode.
  bool masked = false;
};

class LockstepEnvs {
 public:
  // `num_envs` envs (num_envs x K rows) of the config's env section (finalized: defaults filled
  // in, experiment/config.h). Errors: the registry's (an unknown name);
  // FrameStackedSpec's (env.frame_stack of an env that is not uint8
  // [C, H, W]); for a remote env, a server that cannot be reached within
  // env.remote.reconnect_seconds or whose spaces differ from the config's
  // (FailedPrecondition naming the difference).
  static absl::StatusOr<std::unique_ptr<LockstepEnvs>> Create(const v1::EnvConfig& env, int num_envs,
                                                              uint64_t base_seed);
  // An evaluation's envs: Create's, with the agents config.eval() scripts
  // (ScriptAgents).
  static absl::StatusOr<std::unique_ptr<LockstepEnvs>> CreateForEvaluation(const v1::ExperimentConfig& config,
                                                                           int num_envs, uint64_t base_seed);
  // The same over a batch made elsewhere (a test's); `remote`: whether its
  // envs are on a server.
  static std::unique_ptr<LockstepEnvs> OverBatch(std::unique_ptr<envs::EnvBatch> batch, bool remote);

  int size() const { return num_envs_; }
  const envs::EnvSpec& spec() const { return spec_; }
  // Whether the envs are on an env server (env.remote).
  bool remote() const { return remote_; }
  // Elements of one observation's row, of the env's type: obs_dim, or a
  // packed row's bytes (EnvSpec::stored_width).
  int obs_dim() const { return obs_dim_; }
  // Bytes in one observation (obs_dim floats, or obs_dim uint8 pixels).
  int obs_bytes() const { return obs_bytes_; }
  // Continuous: action dimensions; discrete: 1 (the index).
  int act_dim() const { return act_dim_; }
  int distribution_width() const { return distribution_width_; }

  // [size, obs_bytes], the envs' current observations.
  std::vector<uint8_t>& obs() { return obs_; }
  const uint8_t* obs_row(int i) const { return &obs_[static_cast<size_t>(i) * obs_bytes_]; }
  // obs() as an action source takes it (valid until the next Step).
  // Each row says whether its observation is an episode's first (a
  // recurrent policy resets its state there).
  ObservationRows observation_rows() const {
    return ObservationRows{obs_.data(), spec_.observation_type, num_envs_, obs_dim_, episode_start_.data()};
  }
  // The step's choices, filled by an ActionSource or RandomActions; with
  // `core_states`, also the core state each env acted from (a recurrent
  // policy, set_core_state_size).
  ActionBuffers buffers(bool core_states = false);

  // A recurrent policy acts: room for `size` floats of core state per env.
  void set_core_state_size(int size);
  int core_state_size() const { return core_state_size_; }
  // Env i's core state at its last choice (when buffers asked for it).
  const float* core_state_row(int i) const { return &core_states_[static_cast<size_t>(i) * core_state_size_]; }
  const float* action_row(int i) const { return &actions_[static_cast<size_t>(i) * act_dim_]; }
  int64_t action_index(int i) const { return action_indices_[i]; }
  // A joint row's agents' outcomes of the last Step (K each, as
  // envs::EnvBatchOutput's agent_rewards and agent_terminated); null when
  // the rows are not joint.
  const float* agent_rewards_row(int i) const {
    return joint_agents_ > 0 ? &agent_rewards_[static_cast<size_t>(i) * joint_agents_] : nullptr;
  }
  const uint8_t* agent_terminated_row(int i) const {
    return joint_agents_ > 0 ? &agent_terminated_[static_cast<size_t>(i) * joint_agents_] : nullptr;
  }
  // Keeps each row's env state from now on (see the header). Needs
  // spec().state_dim > 0: FailedPrecondition naming the env otherwise.
  // Takes effect at the next ResetAll.
  absl::Status TrackStates();
  bool tracks_states() const { return state_dim_ > 0; }
  // Row i's env state (S floats) at obs(), at the last Step's next_obs and
  // at its final_obs (where the row's episode ended in it; otherwise the
  // next state). Only while tracks_states().
  const float* state_row(int i) const { return &states_[static_cast<size_t>(i) * state_dim_]; }
  const float* next_state_row(int i) const { return &next_states_[static_cast<size_t>(i) * state_dim_]; }
  const float* final_state_row(int i) const { return &final_states_[static_cast<size_t>(i) * state_dim_]; }
  // The last Step's next states become the current ones: the caller moves
  // next_obs into obs() at the same time.
  void AdvanceStates() { states_.swap(next_states_); }
  float log_prob(int i) const { return log_probs_[i]; }
  const float* distribution_row(int i) const { return &distributions_[static_cast<size_t>(i) * distribution_width_]; }

  // Scripted agents (a multi-agent env's own players, eval.scripted_agents):
  // from now on ApplyScripts gives the rows of the agents named their
  // env's scripted actions. InvalidArgument naming an agent the env does
  // not have, or a single-agent env; FailedPrecondition when the env
  // scripts no player for one of them.
  absl::Status ScriptAgents(const std::vector<std::string>& agents);
  // Whether row i is a scripted agent's: its episodes are no policy's.
  bool scripted(int i) const { return !scripted_rows_.empty() && scripted_rows_[i] != 0; }
  // Overwrites the scripted rows' chosen actions with their env's (after
  // the policy acted on every row). Errors: the batch's.
  absl::Status ApplyScripts();

  // Uniform random actions for every env (the warm-up of off-policy runs),
  // among the actions each row's mask allows where the env has one.
  void RandomActions(std::mt19937_64& rng);
  // Env i's chosen action in env units (the policy acts in [-1, 1], the
  // env in [low, high]; a discrete env gets its index as a float).
  void EnvAction(int i, float* env_action) const;

  // Rendering (rill render, the evaluator's videos). The cameras env i
  // draws from (the same for every env), its default first; empty when the
  // envs cannot render (a plugin's, or a server that announces none).
  std::vector<std::string> cameras() const { return batch_->cameras(); }
  // Env i's current state at width x height from `camera` ("" for the
  // default) into `image` (envs::RenderInto's checks and errors). A remote
  // env's frame is its server's (a Python env draws at its own size, which
  // may differ from the one asked). Does not step or disturb any episode.
  absl::Status Render(int i, int width, int height, const std::string& camera, envs::RgbImage* image);
  // The frame rate at which a video of these envs plays in real time.
  double render_fps() const { return batch_->render_fps(); }

  // The envs' own figures (envs::EnvMetric: a particle task's landmark
  // distance, a game's wins), empty for most envs, and the env episodes
  // that ended in the last Step with their values, in that order.
  const std::vector<envs::EnvMetric>& metrics() const { return metrics_; }
  const std::vector<envs::EnvEpisodeFigures>& env_episodes() const { return env_episodes_; }

  // Starts a fresh episode in every env, into obs(). Remote envs open a new
  // stream (their seeds move on with each call, so rounds differ).
  absl::Status ResetAll();

  // Steps envs [0, active) (a remote batch steps all of them) with their
  // chosen actions: each env's next observation into its row of `next_obs`
  // (the next episode's first where one ended), the observation an ended
  // episode ended on into its row of `final_obs`, and `outcomes`. A server
  // that went away is reconnected with backoff: every env fails that step
  // and starts over. Errors: a local env's Step error; a server that stays
  // away longer than env.remote.reconnect_seconds.
  //
  // Action masks (spec().action_mask): a row's chosen action that its
  // observation's mask forbids is refused before any env steps
  // (InvalidArgument naming the row, the action and the mask), and an
  // observation to act from whose mask is malformed or allows nothing
  // (after ResetAll too) is an InvalidArgument naming the env and row; a
  // failed instance's row is not checked (after ResetAll, a row of zeros).
  // UniformAllowedAction's rows and the policies' acting on such a row are
  // moot: the env ignores that action.
  absl::Status Step(int active, std::vector<uint8_t>* next_obs, std::vector<uint8_t>* final_obs,
                    std::vector<EnvOutcome>* outcomes);

 private:
  LockstepEnvs() = default;

  // Step's action-mask checks (see Step): `rows` observations from
  // `observations`, skipping the rows `outcomes` says left their env; the
  // chosen actions of rows [0, active) against obs().
  absl::Status CheckMasks(const uint8_t* observations, int rows, const std::vector<EnvOutcome>* outcomes) const;
  absl::Status CheckActionsAllowed(int active) const;

  int num_envs_ = 0;
  bool remote_ = false;
  envs::EnvSpec spec_;  // the batch's, with the config's wrappers
  std::unique_ptr<envs::EnvBatch> batch_;
  int obs_dim_ = 0;
  int obs_bytes_ = 0;
  int act_dim_ = 0;
  int distribution_width_ = 0;
  std::vector<uint8_t> obs_;             // [num_envs, obs_bytes]
  std::vector<float> actions_;           // [num_envs, act_dim], policy space [-1, 1]
  std::vector<int64_t> action_indices_;  // [num_envs], discrete envs
  std::vector<float> log_probs_;         // [num_envs]
  std::vector<float> distributions_;     // [num_envs, distribution_width]
  std::vector<float> env_actions_;       // [num_envs, act_dim], env units
  // [num_envs]: 1 where obs_'s row is an episode's first (after ResetAll,
  // an episode's end, or a failed env's reset).
  std::vector<uint8_t> episode_start_;
  int core_state_size_ = 0;
  std::vector<float> core_states_;  // [num_envs, core_state_size]

  // One step's outcomes as the batch writes them, and each env's running
  // episode (return and length so far).
  std::vector<float> rewards_;
  std::vector<uint8_t> terminated_;
  std::vector<uint8_t> truncated_;
  std::vector<uint8_t> masked_;
  int joint_agents_ = 0;                  // spec_.joint_agents: K, or 0
  std::vector<float> agent_rewards_;      // [num_envs, K] when joint
  std::vector<uint8_t> agent_terminated_;  // [num_envs, K] when joint
  int state_dim_ = 0;  // S while tracking states, else 0
  std::vector<float> states_, next_states_, final_states_;  // [num_envs, S] each
  std::vector<envs::EnvFailure> failures_;
  std::vector<envs::EnvMetric> metrics_;
  std::vector<envs::EnvEpisodeFigures> env_episodes_;
  std::string env_name_;                // the config's env.name
  std::vector<int> scripted_agents_;    // agent indices, ScriptAgents'
  std::vector<uint8_t> scripted_rows_;  // [num_envs]: 1 for a scripted agent's row; empty: none
  std::vector<float> scripted_actions_;  // [num_envs, act_dim], env units
  std::vector<double> returns_;
  std::vector<int> lengths_;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_LOCKSTEP_ENVS_H_
