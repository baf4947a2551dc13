#include "envs/action_mask.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rill::envs {
namespace {

// Element k of `obs`'s mask, as a float.
float MaskElement(const EnvSpec& spec, const void* obs, int64_t k) {
  if (spec.packed_observations()) {
    // The last of a packed row's flat float32s, after the image's bytes.
    float value;
    const size_t at = static_cast<size_t>(spec.obs_bytes() - 4 * (spec.num_actions - k));
    std::memcpy(&value, static_cast<const uint8_t*>(obs) + at, sizeof(value));
    return value;
  }
  const int64_t at = spec.obs_dim() - spec.num_actions + k;
  if (spec.uint8_observations()) return static_cast<const uint8_t*>(obs)[at];
  return static_cast<const float*>(obs)[at];
}

}  // namespace

absl::Status CheckActionMaskSpec(const EnvSpec& spec) {
  if (!spec.action_mask) return absl::OkStatus();
  if (!spec.discrete) {
    return absl::InvalidArgumentError(absl::StrCat(spec.name, ": an action mask needs discrete actions"));
  }
  if (spec.flat_dim > 0) {
    // A Dict observation with an image: the mask ends its flat leaves.
    if (spec.flat_dim >= spec.num_actions) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(spec.name, ": an action mask of ", spec.num_actions,
                                                   " actions ends the flat leaves, and there are ", spec.flat_dim));
  }
  if (spec.observation_shape.size() != 1 || spec.obs_dim() <= spec.num_actions) {
    return absl::InvalidArgumentError(absl::StrCat(
        spec.name, ": an action mask needs flat observations with more elements than its ", spec.num_actions,
        " actions (the mask is their last ", spec.num_actions, "); got shape [",
        absl::StrJoin(spec.observation_shape, ", "), "]"));
  }
  return absl::OkStatus();
}

bool ActionAllowed(const EnvSpec& spec, const void* obs, int64_t action) {
  return !spec.action_mask || MaskElement(spec, obs, action) > 0;
}

int CountAllowed(const EnvSpec& spec, const void* obs) {
  if (!spec.action_mask) return spec.num_actions;
  int allowed = 0;
  for (int64_t k = 0; k < spec.num_actions; ++k) allowed += MaskElement(spec, obs, k) > 0 ? 1 : 0;
  return allowed;
}

absl::Status CheckActionMask(const EnvSpec& spec, const void* obs) {
  if (!spec.action_mask) return absl::OkStatus();
  int allowed = 0;
  for (int64_t k = 0; k < spec.num_actions; ++k) {
    const float value = MaskElement(spec, obs, k);
    if (value != 0 && value != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("action mask ", MaskString(spec, obs), ": element ", k, " is ", value, ", not 0 or 1"));
    }
    allowed += value == 1 ? 1 : 0;
  }
  if (allowed == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("action mask ", MaskString(spec, obs), " allows no action in a state that must be acted from"));
  }
  return absl::OkStatus();
}

int64_t UniformAllowedAction(const EnvSpec& spec, const void* obs, std::mt19937_64& rng) {
  const int allowed = CountAllowed(spec, obs);
  int64_t pick = std::uniform_int_distribution<int64_t>(0, std::max(allowed, 1) - 1)(rng);
  for (int64_t k = 0; k < spec.num_actions; ++k) {
    if (ActionAllowed(spec, obs, k) && pick-- == 0) return k;
  }
  return 0;
}

std::string MaskString(const EnvSpec& spec, const void* obs) {
  constexpr int64_t kShown = 32;
  std::string out = "[";
  for (int64_t k = 0; k < std::min<int64_t>(spec.num_actions, kShown); ++k) {
    absl::StrAppend(&out, k > 0 ? ", " : "", MaskElement(spec, obs, k));
  }
  absl::StrAppend(&out, spec.num_actions > kShown ? ", ...]" : "]");
  return out;
}

}  // namespace rill::envs
