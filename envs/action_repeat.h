// Action repeat (env.action_repeat in the config): the agent chooses an
// action every k env steps and the env steps k times with it, as DrQ-v2 and
// the DeepMind Control pixel benchmarks do (k = 2 for most tasks there), so
// that a policy of the same size sees further ahead and a pixel env renders
// once per k physics steps.
//
// A repeated step sums the k rewards and stops at the first step that ends
// the episode: its terminated or truncated flag is the repeated step's, and
// its observation the one the episode ended on. The wrapped env's time
// limit counts env steps, so the repeated env's limit is ceil(T / k) of its
// own steps (its spec says so), and an episode truncates where the wrapped
// one does.
//
// Rendering draws the wrapped env as it is. Not thread-safe (see Env).
#ifndef RILL_ENVS_ACTION_REPEAT_H_
#define RILL_ENVS_ACTION_REPEAT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/spec.h"
#include "envs/wrapper.h"

namespace rill::envs {

// The most steps one action may be repeated for.
inline constexpr int kMaxActionRepeat = 64;

// The spec of `spec`'s env with each action repeated `repeat` times: the
// time limit ceil(max_episode_steps / repeat), the rest as it is; `spec`
// itself for 0 or 1. InvalidArgument when repeat is outside
// [0, kMaxActionRepeat].
absl::StatusOr<EnvSpec> ActionRepeatedSpec(const EnvSpec& spec, int repeat);

class ActionRepeat final : public Wrapper {
 public:
  // Wraps `env` to repeat every action `repeat` times, 2..kMaxActionRepeat.
  static absl::StatusOr<std::unique_ptr<ActionRepeat>> Create(std::unique_ptr<Env> env, int repeat);

  void Reset(float* obs) override { env_->Reset(obs); }
  void ResetRaw(void* obs) override { env_->ResetRaw(obs); }
  // Steps the wrapped env up to `repeat` times with `action`. An error of
  // the first step is returned as it is (nothing happened); an error of a
  // later one too, the steps before it having happened (the episode goes
  // on from there, as an env's error leaves it).
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override;
  absl::StatusOr<StepResult> StepRaw(const float* action, void* next_obs) override;
  // One frame per repeated step plays at the wrapped env's rate / repeat.
  double render_fps() const override { return env_->render_fps() / repeat_; }

  int repeat() const { return repeat_; }

 private:
  ActionRepeat(std::unique_ptr<Env> env, EnvSpec spec, int repeat);
  // The loop both Step and StepRaw run, over the wrapped env's `step`.
  template <typename Observation>
  absl::StatusOr<StepResult> Repeat(const float* action, Observation* next_obs,
                                    absl::StatusOr<StepResult> (Env::*step)(const float*, Observation*));

  int repeat_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_ACTION_REPEAT_H_
