// Env: one reinforcement-learning environment instance, stepped by an actor.
//
// Actors create environments through MakeEnv (registry.h) and drive them with
// Reset/Step; the observation layout, action space and episode semantics
// follow Gymnasium's environment of the same name, so that results compare
// with Python baselines.
//
// Episodes end in one of two ways, which the learner must tell apart:
//   terminated: the MDP reached a true terminal state; the value of the next
//               observation is zero, so the learner does not bootstrap.
//   truncated:  the time limit (max_episode_steps) cut the episode; the next
//               observation is an ordinary state and the learner bootstraps.
// The time limit lives inside each Env (Gymnasium's TimeLimit wrapper), so a
// caller never wraps an Env to get it.
//
// Thread safety: none. One Env is owned and stepped by one thread; run several
// instances to use several threads.
#ifndef RILL_ENVS_INTERFACE_H_
#define RILL_ENVS_INTERFACE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/spec.h"

namespace rill::envs {

// The outcome of one Step. At most one of `terminated` and `truncated` is
// true: when the step that reaches the time limit is also terminal, only
// `terminated` is set, because no bootstrapping must happen there.
struct StepResult {
  float reward = 0;
  bool terminated = false;
  bool truncated = false;
};

class Env {
 public:
  virtual ~Env() = default;

  // The env's spaces, with max_episode_steps its actual time limit.
  const EnvSpec& spec() const { return spec_; }
  // The Gymnasium id, e.g. "Pendulum-v1".
  const std::string& name() const { return spec_.name; }
  // Number of elements in an observation.
  int obs_dim() const { return spec_.obs_dim(); }
  // Continuous: number of action dimensions. Discrete: number of actions.
  int act_dim() const { return spec_.action_dim(); }
  bool discrete() const { return spec_.discrete; }
  // Continuous actions lie in [-action_high, action_high] (the first
  // dimension's bound); 0 for discrete.
  float action_high() const { return spec_.action_high.empty() ? 0.f : spec_.action_high[0]; }
  // Steps after which an episode is truncated.
  int max_episode_steps() const { return spec_.max_episode_steps; }

  // Starts a new episode and writes obs_dim floats to `obs`. The initial state
  // is drawn from the Env's own RNG, seeded at creation, so a given seed
  // yields the same sequence of episodes. Never blocks, never fails.
  virtual void Reset(float* obs) = 0;

  // Advances the episode by one step and writes obs_dim floats of the next
  // observation to `next_obs` (the real one, also on the last step of an
  // episode; the caller calls Reset afterwards).
  //   Continuous: `action` holds act_dim floats in env units, clipped to the
  //     bounds as Gymnasium does.
  //   Discrete: action[0] holds the action index as a float, 0..act_dim-1.
  // Errors (the episode is left unchanged and the step is not counted):
  //   InvalidArgument: a discrete index that is out of range or not a whole
  //     number, or a NaN continuous action.
  //   FailedPrecondition: no Reset yet, or the episode already ended.
  virtual absl::StatusOr<StepResult> Step(const float* action,
                                          float* next_obs) = 0;

  // The same, with the observation as the bytes of spec().observation_type
  // (spec().obs_bytes() of them): what the actors and the env server call,
  // so uint8 observations (images) stay uint8. A float32 env needs nothing
  // more (these call Reset and Step); an env of uint8 observations
  // overrides them, and its Reset and Step give the same values as floats.
  virtual void ResetRaw(void* obs) { Reset(static_cast<float*>(obs)); }
  virtual absl::StatusOr<StepResult> StepRaw(const float* action, void* next_obs) {
    return Step(action, static_cast<float*>(next_obs));
  }

  // Rendering: what `rill render`, the evaluator's videos and pixel
  // observations draw with (envs/render.h has the checked entry point,
  // RenderFrame).
  //
  // The cameras this env can draw from, its default first; empty when it
  // cannot render at all (`rill envs` lists them).
  virtual std::vector<std::string> cameras() const { return {}; }

  // Draws the current state into `rgb`: `height` rows of `width` RGB
  // pixels, top row first, 3 bytes a pixel. `camera` is one of cameras()
  // (callers check: RenderFrame). Deterministic: the same state drawn at
  // the same size from the same camera gives the same bytes. Reads the state
  // only: rendering never changes an episode. Errors: Unimplemented when
  // cameras() is empty; FailedPrecondition when the env's renderer cannot
  // start (for MuJoCo, no OpenGL context: the message names the Debian
  // packages that provide one).
  virtual absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) {
    return absl::UnimplementedError(name() + " cannot render");
  }

  // The frame rate of a video of this env, one frame a step: Gymnasium's
  // metadata["render_fps"] (for MuJoCo, real time: 1 / the step's
  // simulated seconds).
  virtual double render_fps() const { return 30; }

 protected:
  // `spec`: the class's Spec() with max_episode_steps set to this
  // instance's limit.
  explicit Env(EnvSpec spec) : spec_(std::move(spec)) {}

 private:
  EnvSpec spec_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_INTERFACE_H_
