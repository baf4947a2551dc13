#include "items/registry.h"

#include <utility>

#include "common/status_macros.h"
#include "items/transition.h"
#include "items/unroll.h"

namespace rill::items {

v1::Signature DefaultSignature(const ItemOptions& options, const envs::EnvSpec& env) {
  switch (options.kind) {
    case ItemKind::kUnroll:
      return UnrollBuilder::DefaultSignature(env, options.unroll_length, options.core_state_size,
                                             options.global_state);
    case ItemKind::kTransition:
      break;
  }
  return TransitionBuilder::DefaultSignature(env, options.n_step);
}

absl::StatusOr<std::unique_ptr<ItemBuilder>> MakeItemBuilder(const ItemOptions& options, const envs::EnvSpec& env,
                                                             int num_envs, const v1::Signature& signature) {
  switch (options.kind) {
    case ItemKind::kUnroll: {
      UnrollBuilderOptions unroll;
      unroll.env = env;
      unroll.num_envs = num_envs;
      unroll.unroll_length = options.unroll_length;
      unroll.signature = signature;
      unroll.core_state_size = options.core_state_size;
      ASSIGN_OR_RETURN(std::unique_ptr<UnrollBuilder> builder, UnrollBuilder::Create(unroll));
      return std::unique_ptr<ItemBuilder>(std::move(builder));
    }
    case ItemKind::kTransition:
      break;
  }
  TransitionBuilderOptions transition;
  transition.env = env;
  transition.num_envs = num_envs;
  transition.n_step = options.n_step;
  transition.gamma = options.gamma;
  transition.signature = signature;
  ASSIGN_OR_RETURN(std::unique_ptr<TransitionBuilder> builder, TransitionBuilder::Create(transition));
  return std::unique_ptr<ItemBuilder>(std::move(builder));
}

}  // namespace rill::items
