// UnrollBuilder: turns the steps of an actor's envs into IMPALA unrolls, T
// consecutive steps of one env with what the behaviour policy knew, filling
// the replay table's columns BY NAME (any order; a signature that lacks a
// needed column, gives one another dtype or shape -- a T that is not
// unroll_length, an obs or action size that is not the env's -- or has a
// column the builder does not know is refused at start-up, naming it).
//
// Columns (item shapes; D = obs_dim, A = action_dim or num_actions):
//   obs                 float32 [T+1, D]  x_0 .. x_T (uint8 for an env of
//                                         uint8 observations, as final_obs);
//                                         x_T is the bootstrap
//                                         observation, the x_0 of the env's
//                                         next unroll
//   action              float32 [T, A]    continuous, policy units [-1, 1]
//                       int64   [T]       discrete: the action index
//   reward              float32 [T]
//   terminated          float32 [T]       1: x_{t+1} would follow a terminal
//                                         state (nothing to bootstrap)
//   truncated           float32 [T]       1: the time limit cut the episode
//                                         off after step t
//   final_obs           float32 [T, D]    where truncated: the episode's real
//                                         last observation, to bootstrap
//                                         from; zeros elsewhere
//   behaviour_log_prob  float32 [T]       log mu(a_t | x_t)
//   behaviour_logits    float32 [T, A]    discrete, optional: mu's logits
//   behaviour_mean      float32 [T, A]    continuous, optional: mu's
//   behaviour_log_std   float32 [T, A]      pre-tanh Gaussian
//   policy_version      int64   []        the parameter version of the
//                                         unroll's first step (the oldest
//                                         that acted in it)
//   core_state          float32 [S]       recurrent policies only (S = 2 x
//                                         LSTM units, h then c): the core
//                                         state the unroll's first action
//                                         was computed from (zeros at an
//                                         episode's first step)
//   state               float32 [T+1, G]  optional, rows of an env offering
//                                         a global state (G = EnvSpec::
//                                         state_dim): s_0 .. s_T, the env's
//                                         state at each x_t (s_T the
//                                         bootstrap state, as x_T)
//   final_state         float32 [T, G]    optional, with state: where
//                                         truncated, the state the episode
//                                         ended in (final_obs's); zeros
//                                         elsewhere
//
// Episode boundaries inside an unroll are marked by the masks, never by
// dropping steps: after a boundary at t, x_{t+1} is the next episode's first
// observation and the unroll goes on. Consecutive unrolls of one env overlap
// by one observation. An unroll is complete after its T-th step; when the
// actor stops, an unroll of fewer steps is dropped (FlushPending).
//
// Thread safety: none; the actor's loop thread owns it.
#ifndef RILL_ITEMS_UNROLL_H_
#define RILL_ITEMS_UNROLL_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/spec.h"
#include "items/interface.h"
#include "proto/tensor.pb.h"

namespace rill::items {

struct UnrollBuilderOptions {
  envs::EnvSpec env;
  int num_envs = 1;
  int unroll_length = 20;  // T
  // The replay table's signature.
  v1::Signature signature;
  // Floats of a recurrent policy's core state (core_state column); 0: a
  // feed-forward policy, no such column.
  int core_state_size = 0;
};

class UnrollBuilder final : public ItemBuilder {
 public:
  // Every column above, the behaviour distribution's included; the state
  // columns when `global_state` (and the env has a state).
  static v1::Signature DefaultSignature(const envs::EnvSpec& env, int unroll_length, int core_state_size = 0,
                                        bool global_state = false);

  // InvalidArgument naming the column when `signature` lacks a required
  // column, gives one another dtype or item shape, or has a column the
  // builder does not know.
  static absl::Status CheckSignature(const v1::Signature& signature, const envs::EnvSpec& env, int unroll_length,
                                     int core_state_size = 0);

  // InvalidArgument for a bad signature (as CheckSignature), num_envs < 1 or
  // unroll_length < 1.
  static absl::StatusOr<std::unique_ptr<UnrollBuilder>> Create(const UnrollBuilderOptions& options);

  void AddStep(int env, const Step& step) override;
  // Drops every partial unroll.
  void FlushPending() override;
  void DropPending(int env) override;
  bool needs_behaviour() const override { return true; }
  bool needs_core_state(int env) const override { return options_.core_state_size > 0 && steps_[env] == 0; }
  // The signature has the state columns.
  bool needs_state() const override { return needs_state_; }
  int64_t ready() const override { return ready_; }
  std::vector<const void*> Columns() const override;
  void ClearReady() override;

  // Steps of `env`'s current unroll (< unroll_length).
  int pending(int env) const { return steps_[env]; }

 private:
  enum class Field {
    kObs, kAction, kReward, kTerminated, kTruncated, kFinalObs, kLogProb, kLogits, kMean, kLogStd, kVersion,
    kCoreState, kState, kFinalState,
  };

  explicit UnrollBuilder(const UnrollBuilderOptions& options);

  UnrollBuilderOptions options_;
  int obs_bytes_ = 0;   // bytes per observation
  int action_dim_ = 0;  // floats per continuous action, logits per discrete step
  bool needs_state_ = false;
  std::vector<Field> fields_;          // per signature column
  std::vector<int64_t> item_sizes_;    // elements per item, per signature column
  std::vector<bool> index_column_;     // per signature column: int64 (else float32)
  std::vector<bool> obs_column_;       // per signature column: observations (bytes)
  // Per env, per column: the unroll being filled (item_sizes_[c] elements);
  // int64 columns (discrete action, version) in index_staging_,
  // observations (as bytes) in obs_staging_.
  std::vector<std::vector<std::vector<float>>> staging_;
  std::vector<std::vector<std::vector<int64_t>>> index_staging_;
  std::vector<std::vector<std::vector<uint8_t>>> obs_staging_;
  std::vector<int> steps_;  // per env
  // Ready unrolls, one buffer per column (capacity kept across ClearReady).
  std::vector<std::vector<float>> float_columns_;
  std::vector<std::vector<int64_t>> index_columns_;
  std::vector<std::vector<uint8_t>> obs_columns_;
  int64_t ready_ = 0;
};

}  // namespace rill::items

#endif  // RILL_ITEMS_UNROLL_H_
