// EnvServerBatch: the N env instances of one rill.v1.EnvService stream
// (proto/env.proto) on the server's side, stepped in lockstep with the
// protocol's episode and error rules. The C++ counterpart of
// python/rill/env_batch.py's EnvBatch; EnvServiceImpl (env_server.h) owns
// one per stream and turns its statuses into the stream's end. No gRPC.
// Observations travel as the env makes them (spec().observation_type:
// float32, or uint8 frames), through Env::ResetRaw / StepRaw.
//
//   - Each instance is made by the factory with its seed from OpenEnvs (a
//     C++ Env takes its seed at creation; its later resets continue that
//     instance's random stream) and reset at once.
//   - An instance whose episode ends in a step (terminated, or truncated by
//     the time limit inside the Env) is reset in the same step: its row of
//     `observations` is the first of its next episode, and the observation
//     the episode ended on goes to `final_observations`. A step with
//     defer_resets leaves it ended instead, its row the observation it
//     ended on, until Reset names it (the protocol's "Row control": what a
//     client needs to repeat actions and draw an episode's last frame).
//   - A step with a step_mask steps only the marked instances; the others'
//     envs are not called and their rows keep their observations.
//   - An instance that fails (its Step returns an error, a discrete action
//     outside 0..n-1, a non-finite float32 observation or reward) is named in
//     `errors` (index, field, message) and reset; its row then holds the
//     first observation after that reset, reward 0, truncated (with
//     defer_resets too). A reset whose observation is not finite leaves
//     the row zeros and is retried at the next step that steps it, or at
//     a reset request naming it. (A C++ Env's Reset cannot fail; a plugin env's
//     failed reset shows as its next Step's error, field "step".)
//   - A request that cannot be served at all is refused with a status
//     naming the field (see Open, Step and Reset); nothing is stepped or
//     reset then.
//   - A render request draws one instance through envs::RenderInto and
//     touches nothing else; a frame it cannot draw is answered with an
//     error naming the instance, and the stream goes on.
//
// Thread-compatible: one stream's reactor calls it, one call at a time.
#ifndef RILL_ENVS_REMOTE_ENV_SERVER_BATCH_H_
#define RILL_ENVS_REMOTE_ENV_SERVER_BATCH_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "envs/interface.h"
#include "envs/render.h"
#include "envs/spec.h"
#include "proto/env.pb.h"

namespace rill::envs {

// Makes one instance of the served env, its RNG seeded with `seed`. Called
// from the stream's thread, possibly from several streams at once.
using EnvFactory = std::function<absl::StatusOr<std::unique_ptr<Env>>(uint64_t seed)>;

// The most instances one stream may open (OpenEnvs.num_envs).
inline constexpr int kMaxEnvsPerStream = 4096;

// The rill.v1.Space messages of `spec`'s observation and action (a Box of
// the action's dimensions, or Discrete(n)).
v1::Space ObservationSpaceOf(const EnvSpec& spec);
v1::Space ActionSpaceOf(const EnvSpec& spec);

// What differs between the spaces and time limits of `made` (an instance)
// and `served` (what the server announces), e.g. "observation shape [3],
// the server's is [4]"; empty when they agree.
std::string SpecDifference(const EnvSpec& made, const EnvSpec& served);

// The checks of an open every stream takes: InvalidArgument naming
// open.num_envs (outside 1..kMaxEnvsPerStream) or open.seeds (not one per
// instance).
absl::Status CheckOpenEnvs(const v1::OpenEnvs& open);

// A render's answer: `frame` as rendered.frame, uint8 [height, width, 3]
// (rendered's env_index and error are left as they are).
void WriteFrame(const RgbImage& frame, v1::EnvRendered* rendered);

// A stream's instances, instance i made by factory(open.seeds(i)) (an Env
// or a MultiAgentEnv) and checked against the served `spec` by
// `difference(made spec, spec)`, which is empty when they agree.
// FailedPrecondition naming the instance and its seed when the factory
// fails or makes an env that differs; nothing is kept then.
template <typename EnvType, typename Factory, typename Spec, typename Difference>
absl::StatusOr<std::vector<std::unique_ptr<EnvType>>> MakeStreamEnvs(const Factory& factory, const Spec& spec,
                                                                     const v1::OpenEnvs& open,
                                                                     const Difference& difference) {
  std::vector<std::unique_ptr<EnvType>> envs;
  envs.reserve(static_cast<size_t>(open.num_envs()));
  for (int i = 0; i < open.num_envs(); ++i) {
    absl::StatusOr<std::unique_ptr<EnvType>> env = factory(open.seeds(i));
    if (!env.ok() || *env == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot make env ", i, " of ", spec.name, " (seed ", open.seeds(i), "): ",
                       env.ok() ? "the factory returned no env" : env.status().ToString()));
    }
    const std::string differs = difference((*env)->spec(), spec);
    if (!differs.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("env ", i, " of ", spec.name, " (seed ", open.seeds(i), ") has ", differs));
    }
    envs.push_back(*std::move(env));
  }
  return envs;
}

// The server's side of one stream's N instances after its open, whatever
// they are: single-agent (EnvServerBatch) or multi-agent
// (MultiAgentServerBatch, multi_agent_server_batch.h). EnvServiceImpl's
// reactor answers every request after the open through it; a method's
// error ends the stream with that status, nothing stepped or reset.
// Thread-compatible: one stream's reactor calls it, one call at a time.
class ServerBatch {
 public:
  virtual ~ServerBatch() = default;

  // N, the instances the stream opened.
  virtual int size() const = 0;
  // Steps the instances and writes every field of `stepped` (a message
  // reused from the last step keeps its buffers).
  virtual absl::Status Step(const v1::StepEnvs& step, v1::EnvsStepped* stepped) = 0;
  // Answers a reset request (row control), or refuses it.
  virtual absl::Status Reset(const v1::ResetEnvs& reset, v1::EnvsReset* answer) = 0;
  // Draws one instance into `rendered`, or says there why it cannot;
  // never ends the stream and steps nothing.
  virtual void Render(const v1::RenderEnv& render, v1::EnvRendered* rendered) = 0;
};

class EnvServerBatch final : public ServerBatch {
 public:
  // Makes open.num_envs instances of `spec`'s env, instance i with
  // factory(open.seeds(i)), resets each and fills `opened` (env_id, spaces,
  // time limit, first observations, errors, and row_control: Step and Reset
  // serve it). Errors, nothing made:
  //   CheckOpenEnvs's;
  //   FailedPrecondition naming the instance when the factory fails or
  //     makes an env whose spaces differ from `spec`.
  // `opened` lists the first instance's cameras (Env::cameras()).
  static absl::StatusOr<std::unique_ptr<EnvServerBatch>> Open(const EnvFactory& factory, const EnvSpec& spec,
                                                              const v1::OpenEnvs& open, v1::EnvsOpened* opened);

  EnvServerBatch(const EnvServerBatch&) = delete;
  EnvServerBatch& operator=(const EnvServerBatch&) = delete;

  int size() const override { return static_cast<int>(envs_.size()); }

  // Steps the instances step.step_mask marks (every instance when it is
  // absent), each with its row of step.actions ([N] int64 for a discrete
  // action space, [N, action_dim] float32 for a Box), and writes every
  // field of `stepped` (a message reused from the last step keeps its
  // buffers). An unmarked instance's env is not called and its action is
  // not looked at: its row is its current observation, reward 0, flags
  // false, and it is never in final_indices or errors. With
  // step.defer_resets an instance whose episode ends is left ended (see
  // Reset); stepping an ended instance fails it (field "step"), which
  // resets it. InvalidArgument naming step.actions for a tensor of the
  // wrong dtype, shape or byte count, or a marked Box action holding NaN
  // or infinity, and naming step.step_mask for a mask that is not [N]
  // bool; no instance is stepped then.
  absl::Status Step(const v1::StepEnvs& step, v1::EnvsStepped* stepped) override;

  // Resets the instances reset.env_indices names, ended or not (an
  // instance's random stream goes on), and writes their first observations
  // in that order, and the resets that failed, to `answer` (zeros for such
  // an instance, whose next step retries its reset). InvalidArgument naming
  // reset.env_indices when they are not ascending, each in 0..N-1 and
  // named once; nothing is reset then.
  absl::Status Reset(const v1::ResetEnvs& reset, v1::EnvsReset* answer) override;

  // Draws instance render.env_index at render.width x render.height from
  // render.camera ("" for the default) into `rendered` (a message reused
  // from the last render keeps its buffer); an ended instance is drawn as
  // its episode ended. Never fails the stream: an
  // index outside 0..N-1, a size outside 1..kMaxRenderSize, an unknown
  // camera or the env's own failure (Env::Render) is answered in
  // rendered->error, naming the instance. Steps nothing.
  void Render(const v1::RenderEnv& render, v1::EnvRendered* rendered) override;

 private:
  EnvServerBatch(EnvSpec spec, std::vector<std::unique_ptr<Env>> envs);

  // Checks step.step_mask and returns its N bytes (nonzero: step that
  // instance), or nullptr when the step has none (step every instance).
  // The bytes are the request's: valid while `step` is.
  absl::StatusOr<const uint8_t*> TakeStepMask(const v1::StepEnvs& step) const;
  // Checks `actions` and leaves them in actions_, one row of action_width_
  // floats per instance (a discrete index as a float), and for a discrete
  // space the raw indices in indices_. Rows `mask` leaves out are copied
  // but not checked.
  absl::Status TakeActions(const v1::Tensor& actions, const uint8_t* mask);
  // Resets instance i into its row, ending its ended state; false (an
  // error added, the row zeros) when the observation cannot be sent.
  bool ResetInstance(int i, google::protobuf::RepeatedPtrField<v1::EnvError>* errors);
  // Names instance i's failure, marks it truncated and resets it.
  void FailInstance(int i, const std::string& field, const std::string& message, v1::EnvsStepped* stepped);

  uint8_t* row(int i) { return observations_.data() + static_cast<size_t>(i) * obs_bytes_; }

  const EnvSpec spec_;
  const int obs_bytes_;
  const int action_width_;  // floats of one instance's action: 1 when discrete
  std::vector<std::unique_ptr<Env>> envs_;
  // Instances whose last reset failed: the next step retries it.
  std::vector<bool> failed_;
  // Instances whose episode ended in a step with defer_resets: their row
  // and env hold the episode's last state until a reset.
  std::vector<bool> ended_;
  // [N, obs_bytes]: each instance's current observation, as the bytes of
  // spec_.observation_type (Env::ResetRaw / StepRaw write them).
  std::vector<uint8_t> observations_;
  std::vector<uint8_t> final_observations_;
  // The first observations of a reset request's instances, in its order.
  std::vector<uint8_t> reset_observations_;
  std::vector<float> actions_;
  std::vector<int64_t> indices_;
  std::vector<float> rewards_;
  std::vector<uint8_t> terminated_;
  std::vector<uint8_t> truncated_;
  // The last frame drawn, reused so that frames allocate once.
  RgbImage frame_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_REMOTE_ENV_SERVER_BATCH_H_
