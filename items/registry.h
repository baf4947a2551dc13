// The item kinds and the one place that turns an ItemOptions into a builder
// or a default table signature. The actor asks for the kind its entry point
// hands it (roles/actor_main.cc, from the algorithm's spec) and config
// finalization asks for the default signature of a table left without one,
// so neither names an algorithm. A new item kind is one builder file and
// one case here.
//
// Thread-safe: pure functions.
#ifndef RILL_ITEMS_REGISTRY_H_
#define RILL_ITEMS_REGISTRY_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "envs/spec.h"
#include "items/interface.h"
#include "proto/tensor.pb.h"

namespace rill::items {

enum class ItemKind {
  kTransition,  // (obs, action, reward, terminated, next_obs[, discount]): transition.h
  kUnroll,      // T steps of one env with the behaviour policy: unroll.h
};

// What items an actor writes, and their settings.
struct ItemOptions {
  ItemKind kind = ItemKind::kTransition;
  // Transitions: the n of n-step returns and the discount within them.
  int n_step = 1;
  double gamma = 0.99;
  // Unrolls: steps per unroll, and the floats of a recurrent policy's core
  // state each records (0: feed-forward).
  int unroll_length = 0;
  int core_state_size = 0;
  // Unrolls: whether the default signature records the env's global state
  // (the state and final_state columns; a centralised value's input).
  bool global_state = false;

  // Env steps one item covers (the learner's env-step accounting).
  int64_t env_steps_per_item() const { return kind == ItemKind::kUnroll ? unroll_length : 1; }
};

// The signature config finalization gives a table left without one.
v1::Signature DefaultSignature(const ItemOptions& options, const envs::EnvSpec& env);

// A builder for `num_envs` envs of `env` writing rows of `signature`.
// InvalidArgument as the builder's Create (a column missing or of another
// type, bad n_step, gamma or unroll_length).
absl::StatusOr<std::unique_ptr<ItemBuilder>> MakeItemBuilder(const ItemOptions& options, const envs::EnvSpec& env,
                                                             int num_envs, const v1::Signature& signature);

}  // namespace rill::items

#endif  // RILL_ITEMS_REGISTRY_H_
