#include "envs/action_repeat.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

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

absl::StatusOr<std::unique_ptr<ActionRepeat>> ActionRepeat::Create(std::unique_ptr<Env> env, int repeat) {
  if (repeat < 2 || repeat > kMaxActionRepeat) {
    return absl::InvalidArgumentError(absl::StrCat("an ActionRepeat of ", env->name(), " needs 2..", kMaxActionRepeat,
                                                   " repeats, got ", repeat));
  }
  ASSIGN_OR_RETURN(EnvSpec spec, ActionRepeatedSpec(env->spec(), repeat));
  return std::unique_ptr<ActionRepeat>(new ActionRepeat(std::move(env), std::move(spec), repeat));
}

ActionRepeat::ActionRepeat(std::unique_ptr<Env> env, EnvSpec spec, int repeat)
    : Wrapper(std::move(env), std::move(spec)), repeat_(repeat) {}

template <typename Observation>
absl::StatusOr<StepResult> ActionRepeat::Repeat(const float* action, Observation* next_obs,
                                                absl::StatusOr<StepResult> (Env::*step)(const float*, Observation*)) {
  StepResult total;
  for (int i = 0; i < repeat_; ++i) {
    ASSIGN_OR_RETURN(const StepResult one, (env_.get()->*step)(action, next_obs));
    total.reward += one.reward;
    total.terminated = one.terminated;
    total.truncated = one.truncated;
    if (one.terminated || one.truncated) break;
  }
  return total;
}

absl::StatusOr<StepResult> ActionRepeat::Step(const float* action, float* next_obs) {
  return Repeat(action, next_obs, &Env::Step);
}

absl::StatusOr<StepResult> ActionRepeat::StepRaw(const float* action, void* next_obs) {
  return Repeat(action, next_obs, &Env::StepRaw);
}

}  // namespace rill::envs
