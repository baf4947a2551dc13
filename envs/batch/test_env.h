// TickEnv: a scripted env for the batch tests. Its observation is one
// uint8 pixel ([1, 1, 1]): 100 + the episode's number (0, 1, ...) at a
// reset, then the step's number within the episode (1, 2, ...). Its
// episodes terminate at step `length`, each step's reward is the step's
// number, and an action of -1 fails the step (FailedPrecondition "tick
// refused"), leaving the episode as it was.
#ifndef RILL_ENVS_BATCH_TEST_ENV_H_
#define RILL_ENVS_BATCH_TEST_ENV_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/spec.h"

namespace rill::envs {

class TickEnv final : public Env {
 public:
  static EnvSpec Spec() {
    EnvSpec spec;
    spec.name = "Tick-v0";
    spec.observation_shape = {1, 1, 1};
    spec.observation_type = ObservationType::kUint8;
    spec.discrete = true;
    spec.num_actions = 2;
    spec.max_episode_steps = 1000;
    return spec;
  }
  explicit TickEnv(int length) : Env(Spec()), length_(length) {}

  void Reset(float* obs) override {
    uint8_t pixel;
    ResetRaw(&pixel);
    obs[0] = pixel;
  }
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override {
    uint8_t pixel;
    absl::StatusOr<StepResult> result = StepRaw(action, &pixel);
    if (result.ok()) next_obs[0] = pixel;
    return result;
  }
  void ResetRaw(void* obs) override {
    step_ = 0;
    *static_cast<uint8_t*>(obs) = static_cast<uint8_t>(100 + episodes_++);
  }
  absl::StatusOr<StepResult> StepRaw(const float* action, void* next_obs) override {
    if (action[0] == -1) return absl::FailedPreconditionError("tick refused");
    ++step_;
    *static_cast<uint8_t*>(next_obs) = static_cast<uint8_t>(step_);
    return StepResult{static_cast<float>(step_), step_ == length_, false};
  }

 private:
  int length_;
  int step_ = 0;
  int episodes_ = 0;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_TEST_ENV_H_
