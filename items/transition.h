// TransitionBuilder: turns the steps of an actor's envs into transition
// items for a replay table, filling the table's columns BY NAME from its
// signature (any column order; a signature that lacks a needed column or
// gives one another dtype or shape is refused at start-up, naming it).
//
// Columns (item shapes):
//   obs        float32 [obs_dim]     the observation the action was taken in
//              (uint8 for an env of uint8 observations, as obs_next)
//   action     float32 [action_dim]  continuous, in the policy's [-1, 1] units
//              int64   []            discrete: the action index
//   reward     float32 []            n = 1: the reward; n > 1: the discounted
//                                    sum r_t + g r_t+1 + ... over the item's
//                                    steps (fewer than n where the episode
//                                    ended sooner)
//   terminated float32 []            1 if the episode terminated within the
//                                    item's steps (no bootstrapping)
//   next_obs   float32 [obs_dim]     the observation after the item's last step
//   discount   float32 []            required when n_step > 1: g^k for an
//                                    item of k steps, 0 if it terminated, the
//                                    factor to apply to the value of next_obs
// and, exactly when env.joint_agents is K > 0 (a joint row, refused
// otherwise), each agent's own:
//   agent_rewards    float32 [K]     agent k's reward, summed over the
//                                    item's steps as `reward` is
//   agent_terminated float32 [K]     1 if agent k terminated within the
//                                    item's steps (or had left before one
//                                    of them: Step::agent_terminated)
//
// n-step items are built per env over a window of the last n steps: an
// item is complete once n steps followed it, or when its episode ends. A
// truncation (time limit) bootstraps from the real last next_obs with g^k; a
// termination does not bootstrap (discount 0), at every n.
//
// Thread safety: none; the actor's loop thread owns it.
#ifndef RILL_ITEMS_TRANSITION_H_
#define RILL_ITEMS_TRANSITION_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/spec.h"
#include "items/interface.h"
#include "proto/tensor.pb.h"

namespace rill::items {

struct TransitionBuilderOptions {
  envs::EnvSpec env;
  int num_envs = 1;
  int n_step = 1;
  double gamma = 0.99;
  // The replay table's signature.
  v1::Signature signature;
};

class TransitionBuilder final : public ItemBuilder {
 public:
  // The signature config finalization derives for a table left without one:
  // obs, action, reward, terminated, next_obs, discount when n_step > 1,
  // and agent_rewards and agent_terminated for a joint row.
  static v1::Signature DefaultSignature(const envs::EnvSpec& env, int n_step);

  // InvalidArgument naming the column when `signature` lacks a column the
  // builder must fill (discount only when n_step > 1; the agent columns
  // when env.joint_agents > 0), gives one another dtype or item shape, or
  // has a column the builder does not know (the agent columns of an env
  // that is not a joint row among them).
  static absl::Status CheckSignature(const v1::Signature& signature, const envs::EnvSpec& env, int n_step);

  // InvalidArgument for a bad signature (as CheckSignature), num_envs < 1,
  // n_step < 1 or gamma outside [0, 1].
  static absl::StatusOr<std::unique_ptr<TransitionBuilder>> Create(const TransitionBuilderOptions& options);

  // The step's final_obs is the item's next observation. A joint row's
  // step carries agent_rewards and agent_terminated.
  void AddStep(int env, const Step& step) override;

  // Records one step of env `env` (0 <= env < num_envs): `obs` the
  // observation the action was taken in, `next_obs` the real observation
  // after it (also on an episode's last step). Completed items are appended
  // to the column buffers. Continuous envs pass `action` (action_dim
  // floats); discrete envs pass `action_index`.
  // Observations are EnvSpec::obs_bytes() bytes of the env's type. Not
  // for a joint row (its agents' outcomes come with a Step).
  void AddStep(int env, const void* obs, const float* action, float reward, bool terminated, bool truncated,
               const void* next_obs);
  void AddStep(int env, const void* obs, int64_t action_index, float reward, bool terminated, bool truncated,
               const void* next_obs);

  // Ends every open window as if truncated now: the pending items of each
  // env (fewer than n steps) become complete, bootstrapping from the last
  // next_obs. Called when the actor stops mid-episode.
  void FlushPending() override;
  void DropPending(int env) override;

  bool needs_behaviour() const override { return false; }
  int64_t ready() const override { return ready_; }
  std::vector<const void*> Columns() const override;
  void ClearReady() override;
  // Steps of `env` waiting in its window for later steps (< n_step).
  int pending(int env) const { return static_cast<int>(windows_[env].size()); }

 private:
  enum class Field { kObs, kAction, kReward, kTerminated, kNextObs, kDiscount, kAgentRewards, kAgentTerminated };
  // One env's window: a ring of n_step step slots in the flat *_ring_
  // buffers, starting at slot env * n_step. Fixed size, so a step costs no
  // heap allocation.
  struct Window {
    int head = 0;   // slot of the oldest pending step, in [0, n_step)
    int count = 0;  // pending steps, in [0, n_step)
    int size() const { return count; }
  };

  explicit TransitionBuilder(const TransitionBuilderOptions& options);
  // `agent_rewards` and `agent_terminated`: [K] for a joint row, else
  // null.
  void Add(int env, const uint8_t* obs, const float* action, int64_t index, float reward, bool terminated,
           bool truncated, const uint8_t* next_obs, const float* agent_rewards, const uint8_t* agent_terminated);
  // Emits the item starting at the window's front, covering all its steps,
  // ending in `next_obs`; `terminated` when its last step terminated. Pops
  // the front step.
  void EmitFront(int env, bool terminated, const uint8_t* next_obs);
  // Appends the agent column `field` of the item of `steps` steps at the
  // front of `env`'s window to `out` (K floats).
  void EmitAgents(int env, int steps, Field field, std::vector<float>* out) const;
  // Index of the ring slot `i` steps after the front of `env`'s window.
  int Slot(int env, int i) const;

  TransitionBuilderOptions options_;
  int obs_bytes_ = 0;          // bytes per observation
  int action_dim_ = 0;         // floats per continuous action; 0 when discrete
  int agents_ = 0;             // K of a joint row; 0 otherwise
  std::vector<Field> fields_;  // per signature column
  std::vector<double> gamma_powers_;  // gamma^k for k in [0, n_step]
  std::vector<Window> windows_;
  // The steps in the windows, num_envs * n_step slots.
  std::vector<uint8_t> obs_ring_;    // obs_bytes per slot
  std::vector<float> action_ring_;   // action_dim per slot (continuous)
  std::vector<int64_t> index_ring_;  // one per slot (discrete)
  std::vector<float> reward_ring_;   // one per slot
  std::vector<float> agent_reward_ring_;        // K per slot (joint rows)
  std::vector<uint8_t> agent_terminated_ring_;  // K per slot (joint rows)
  // Per env: the next_obs of its latest step (for FlushPending), obs_bytes each.
  std::vector<uint8_t> last_next_obs_;
  // Column buffers of the ready items, one per signature column: the
  // discrete action column in index_columns_, obs and next_obs in
  // obs_columns_ (bytes), every other in float_columns_.
  // ClearReady keeps their capacity, so a warm builder appends without
  // allocating.
  std::vector<std::vector<float>> float_columns_;
  std::vector<std::vector<int64_t>> index_columns_;
  std::vector<std::vector<uint8_t>> obs_columns_;
  int64_t ready_ = 0;
};

}  // namespace rill::items

#endif  // RILL_ITEMS_TRANSITION_H_
