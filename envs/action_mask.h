// Action masks (EnvSpec::action_mask): the last num_actions elements of an
// observation say which actions its state allows, 1 allowed and 0 not, as
// Gymnasium's "action_mask" leaf does. One place reads and checks them for
// the actors' side: the step loop checks every observation acted from and
// every action before it reaches the env, and draws the warm-up's uniform
// actions among the allowed ones.
//
// Thread-safe: pure functions.
#ifndef RILL_ENVS_ACTION_MASK_H_
#define RILL_ENVS_ACTION_MASK_H_

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "envs/spec.h"

namespace rill::envs {

// OK when `spec`'s mask can be: discrete actions and flat (1-D)
// observations with more elements than actions, or a Dict observation's
// flat leaves (EnvSpec::flat_dim) at least as many as the actions (the
// mask ends them, float32 in a packed row). InvalidArgument naming
// what is not so; OK without a mask.
absl::Status CheckActionMaskSpec(const EnvSpec& spec);

// Whether the observation `obs` (one row, spec.obs_bytes() bytes of
// spec.observation_type) allows action `action` (0..num_actions-1): its
// mask element is above 0. Every action is allowed when the spec has no
// mask.
bool ActionAllowed(const EnvSpec& spec, const void* obs, int64_t action);

// How many actions `obs` allows (num_actions without a mask).
int CountAllowed(const EnvSpec& spec, const void* obs);

// OK when `obs`'s mask is one an agent can act from: every element 0 or 1
// and at least one 1. InvalidArgument otherwise, naming the first element
// that is neither ("action mask [1, 0.5, 0]: element 1 is 0.5, not 0 or
// 1") or saying that it allows no action. OK without a mask.
absl::Status CheckActionMask(const EnvSpec& spec, const void* obs);

// One of the actions `obs` allows, uniformly (any action without a mask);
// the caller has checked the mask.
int64_t UniformAllowedAction(const EnvSpec& spec, const void* obs, std::mt19937_64& rng);

// The mask of `obs` as "[1, 0, 1]" (its first 32 elements, then "...").
std::string MaskString(const EnvSpec& spec, const void* obs);

}  // namespace rill::envs

#endif  // RILL_ENVS_ACTION_MASK_H_
