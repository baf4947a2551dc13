// MultiAgentServerBatch: the N multi-agent env instances
// (envs/multi_agent/interface.h) of one rill.v1.EnvService stream on the
// server's side, stepped with the protocol's multi-agent rules
// (proto/env.proto, "Multi-agent envs") as python/rill/multi_agent.py's
// MultiAgentEnvBatch steps a PettingZoo-parallel-style env. EnvServiceImpl
// (env_server.h) owns one per stream of a multi-agent server. No gRPC.
//
// Each env's agents lie side by side in its row, in the spec's agent order:
// actions [N, A] float32 (a discrete agent's index as a float), and
// observations [N, O], rewards, terminated, truncated and live [N, K],
// states [N, S].
//   - Instance i is made by the factory with open.seeds(i) (a C++ env takes
//     its seed at creation; later resets continue its random stream) and
//     reset at once: every agent live.
//   - A step gives each live agent its slot of the action row; an agent
//     that is not live has its slot ignored (a NaN there too), gets reward
//     0 and neither flag, and its slot of the observations keeps the one it
//     ended on. An agent leaves when its step terminates or truncates it
//     (the env's time limit truncates every live agent).
//   - An env whose last agent left is reset in that step: final_indices
//     names it, final_observations holds its row as it ended and
//     final_states its state then; its row is the next episode's first.
//   - An env that fails (its Step returns an error, a live discrete agent's
//     index is not a whole number in 0..n-1, an observation, reward or
//     state is not finite) is named in `errors` (index, field, agent where
//     there is one, message), reset, and its row holds the first
//     observations after that reset with rewards 0 and every agent
//     truncated. A reset whose observations or state are not finite leaves
//     the row zeros with no agent live, and the next step retries it (that
//     env's row then truncated again). (A C++ env's Reset cannot fail; a
//     plugin env's failed reset shows as its next Step's error, field
//     "step".)
//   - No row control: a step mask, defer_resets or a reset request is
//     refused with InvalidArgument naming it, as the Python server does.
//   - A render request draws one env, every agent in it (MultiAgentEnv::
//     Render through envs::RenderSceneInto), and touches nothing else.
//
// Thread-compatible: one stream's reactor calls it, one call at a time.
#ifndef RILL_ENVS_REMOTE_MULTI_AGENT_SERVER_BATCH_H_
#define RILL_ENVS_REMOTE_MULTI_AGENT_SERVER_BATCH_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/multi_agent/interface.h"
#include "envs/remote/env_server_batch.h"
#include "envs/render.h"
#include "proto/env.pb.h"

namespace rill::envs {

// Makes one instance of the served multi-agent env, its RNG seeded with
// `seed`. Called from the stream's thread, possibly from several streams at
// once.
using MultiAgentEnvFactory = std::function<absl::StatusOr<std::unique_ptr<MultiAgentEnv>>(uint64_t seed)>;

// Whether the protocol can carry `spec`'s envs: FailedPrecondition naming
// the env when it has no agents, and the agent whose observations are not
// float32.
absl::Status CheckServableAgents(const MultiAgentSpec& spec);

// What differs between the agents, spaces, state and time limit of `made`
// (an instance) and `served` (what the server announces), e.g. "agent
// prey's observation shape [14], the server's is [16]"; empty when they
// agree.
std::string MultiAgentSpecDifference(const MultiAgentSpec& made, const MultiAgentSpec& served);

class MultiAgentServerBatch final : public ServerBatch {
 public:
  // Makes open.num_envs instances of `spec`'s env, instance i with
  // factory(open.seeds(i)), resets each and fills `opened`: env_id, the
  // time limit, `agents` with their spaces, state_space (when the env has
  // a state), the cameras of the first instance, the first observations,
  // live masks and states, and the resets that failed. Errors, nothing
  // made: CheckOpenEnvs's; FailedPrecondition naming the instance when the
  // factory fails or makes an env whose agents or spaces differ from
  // `spec`'s.
  static absl::StatusOr<std::unique_ptr<MultiAgentServerBatch>> Open(const MultiAgentEnvFactory& factory,
                                                                     const MultiAgentSpec& spec,
                                                                     const v1::OpenEnvs& open, v1::EnvsOpened* opened);

  MultiAgentServerBatch(const MultiAgentServerBatch&) = delete;
  MultiAgentServerBatch& operator=(const MultiAgentServerBatch&) = delete;

  int size() const override { return static_cast<int>(envs_.size()); }

  // Steps every env's live agents with their slots of step.actions and
  // writes every field of `stepped` (see above; a message reused from the
  // last step keeps its buffers). InvalidArgument, nothing stepped:
  // step.step_mask or step.defer_resets (no row control); step.actions of
  // another dtype, shape or byte count than float32 [N, A]; NaN or
  // infinity in a live agent's slot (naming the env and the agent).
  absl::Status Step(const v1::StepEnvs& step, v1::EnvsStepped* stepped) override;

  // A multi-agent stream has no row control: InvalidArgument naming reset.
  absl::Status Reset(const v1::ResetEnvs& reset, v1::EnvsReset* answer) override;

  // Draws env render.env_index at render.width x render.height from
  // render.camera ("" for the default) into `rendered` (its buffer reused).
  // Never fails the stream: an index outside 0..N-1, a size outside
  // 1..kMaxRenderSize, an unknown camera or the env's own failure is
  // answered in rendered->error, naming the env. Steps nothing.
  void Render(const v1::RenderEnv& render, v1::EnvRendered* rendered) override;

 private:
  MultiAgentServerBatch(MultiAgentSpec spec, std::vector<std::unique_ptr<MultiAgentEnv>> envs);

  using Errors = google::protobuf::RepeatedPtrField<v1::EnvError>;

  // Checks step.actions ([N, A] float32, live agents' slots finite) and
  // leaves them in actions_.
  absl::Status TakeActions(const v1::Tensor& actions);
  // Resets env e into its rows (observations, live, state); false (an
  // error added, its rows zeros and no agent live) when what it reset to
  // cannot be sent.
  bool ResetEnv(int e, Errors* errors);
  // Why an env failed its step: EnvError's field, agent and message.
  struct Failure {
    std::string field;
    std::string agent;  // empty for the env as a whole
    std::string message;
  };
  // Steps env e's live agents and writes their outcomes to its rows, and
  // whether its episode ended (no agent left) to `ended`; or its failure,
  // with nothing of its rows written.
  std::optional<Failure> StepEnv(int e, bool* ended);
  // Names env e's failure, truncates each of its agents and resets it.
  void FailEnv(int e, const Failure& failure, v1::EnvsStepped* stepped);

  float* obs_row(int e) { return observations_.data() + static_cast<size_t>(e) * obs_width_; }
  float* state_row(int e) { return states_.data() + static_cast<size_t>(e) * state_dim_; }
  size_t cell(int e, int agent) const { return static_cast<size_t>(e) * num_agents_ + agent; }

  const MultiAgentSpec spec_;
  const int num_agents_;
  const int state_dim_;
  int obs_width_ = 0;                // O: every agent's observation floats
  int action_width_ = 0;             // A: a Box agent's action_dim, 1 a discrete agent
  std::vector<int> obs_offsets_;     // [K]
  std::vector<int> action_offsets_;  // [K]
  std::vector<std::unique_ptr<MultiAgentEnv>> envs_;
  // Envs whose last reset failed: the next step retries it.
  std::vector<bool> failed_;
  std::vector<float> observations_;        // [N, O]: each agent's newest observation
  std::vector<uint8_t> live_;              // [N, K]: who acts in the next step
  std::vector<float> states_;              // [N, S]
  std::vector<float> actions_;             // [N, A]
  std::vector<float> rewards_;             // [N, K]
  std::vector<uint8_t> terminated_;        // [N, K]
  std::vector<uint8_t> truncated_;         // [N, K]
  std::vector<float> final_observations_;  // [len(final_indices), O]
  std::vector<float> final_states_;        // [len(final_indices), S]
  // One env's step: where its agents' observations and outcomes go before
  // they are checked, and each agent's action (null when not live).
  std::vector<float> next_obs_;             // [O]
  std::vector<float> next_state_;           // [S]
  std::vector<StepResult> results_;         // [K]
  std::vector<const float*> action_parts_;  // [K]
  std::vector<float*> obs_parts_;           // [K]
  // The last frame drawn, reused so that frames allocate once.
  RgbImage frame_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_REMOTE_MULTI_AGENT_SERVER_BATCH_H_
