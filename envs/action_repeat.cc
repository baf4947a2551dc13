#include "envs/action_repeat.h"

#include "absl/strings/str_cat.h"

namespace rill::envs {

absl::StatusOr<EnvSpec> ActionRepeatedSpec(const EnvSpec& spec, int repeat) {
  if (repeat < 0 || repeat > kMaxActionRepeat) {
    return absl::InvalidArgumentError(
        absl::StrCat("repeating each action ", repeat, " times: out of range 0..", kMaxActionRepeat,
                     " (0 and 1 repeat nothing)"));
  }
  if (repeat <= 1) return spec;
  EnvSpec repeated = spec;
  repeated.max_episode_steps = (spec.max_episode_steps + repeat - 1) / repeat;
  return repeated;
}

}  // namespace rill::envs
