// ItemBuilder: what an actor's loop feeds its env steps to and takes replay
// items from, whatever the item kind (items/transition.h for the
// replay-based algorithms, items/unroll.h for IMPALA). The builder
// fills the replay table's columns by name; the loop hands its ready items
// to the ReplayWriter as they are.
//
// Thread safety: none; the actor's loop thread owns a builder.
#ifndef RILL_ITEMS_INTERFACE_H_
#define RILL_ITEMS_INTERFACE_H_

#include <cstdint>
#include <vector>

namespace rill::items {

// One env step as the actor saw it.
struct Step {
  // Observations are the bytes of the env's observation type
  // (EnvSpec::obs_bytes() each: float32, or uint8 images).
  // The observation the action was taken in.
  const void* obs = nullptr;
  // Continuous envs: action_dim floats in the policy's [-1, 1] units (null
  // for discrete envs); discrete envs: the action index.
  const float* action = nullptr;
  int64_t action_index = 0;
  float reward = 0;
  bool terminated = false;  // a terminal state: nothing to bootstrap from
  bool truncated = false;   // cut off by the time limit: bootstrap from final_obs
  // The env's real observation after the step (also on an episode's last step).
  const void* final_obs = nullptr;
  // The observation the env goes on from: final_obs, or after an episode
  // ended the first observation of the next episode (the env auto-resets).
  const void* next_obs = nullptr;
  // A joint row's (EnvSpec::joint_agents K > 0; envs/batch/interface.h's
  // EnvBatchOutput): each agent's own reward of the step and whether it
  // terminated in it or had left before it ([K] each); null otherwise.
  const float* agent_rewards = nullptr;
  const uint8_t* agent_terminated = nullptr;
  // A row of an env offering a global state (EnvSpec::state_dim S > 0),
  // for builders whose needs_state() is true; null otherwise. S floats
  // each: the state `obs` was made in, the one `next_obs` was (the next
  // episode's first after an end), and the one `final_obs` was.
  const float* state = nullptr;
  const float* next_state = nullptr;
  const float* final_state = nullptr;

  // The behaviour policy, for builders whose needs_behaviour() is true:
  // log mu(action | obs), the parameters of the distribution the action was
  // drawn from (categorical: num_actions logits; Gaussian: action_dim means
  // then action_dim log-stds), and the parameter version that acted.
  float log_prob = 0;
  const float* distribution = nullptr;
  int64_t version = 0;
  // A recurrent policy's core state the action was computed from (h then
  // c), null for a feed-forward one.
  const float* core_state = nullptr;
};

class ItemBuilder {
 public:
  virtual ~ItemBuilder() = default;

  // Records one step of env `env` (0 <= env < num_envs). Completed items are
  // appended to the ready items. The caller guarantees the sizes (the env's
  // spec; a mismatch is a programming error).
  virtual void AddStep(int env, const Step& step) = 0;

  // Called when the actor stops mid-episode: items that can still be
  // completed are (transitions bootstrap from the last observation); what
  // cannot is dropped (a partial unroll).
  virtual void FlushPending() = 0;

  // Forgets what env `env` was building (its env failed and was reset):
  // nothing of it becomes an item.
  virtual void DropPending(int env) = 0;

  // Whether steps must carry the behaviour policy (log_prob, distribution,
  // version): the actor then never acts at random.
  virtual bool needs_behaviour() const = 0;

  // Whether the next step of env `env` must carry the policy's core state
  // (Step::core_state): it begins an item that records it.
  virtual bool needs_core_state(int env) const { return false; }

  // Whether steps must carry the env's global state (Step::state,
  // next_state, final_state): the table records it.
  virtual bool needs_state() const { return false; }

  // Items completed and not yet taken.
  virtual int64_t ready() const = 0;
  // One pointer per signature column, in the signature's order, to `ready()`
  // contiguous items: what ReplayWriter::Append takes.
  virtual std::vector<const void*> Columns() const = 0;
  // Forgets the ready items (once the writer has them).
  virtual void ClearReady() = 0;
};

}  // namespace rill::items

#endif  // RILL_ITEMS_INTERFACE_H_
