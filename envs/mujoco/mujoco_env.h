// MujocoEnv: what every MuJoCo locomotion task shares, as Gymnasium's
// MujocoEnv base class does for the v4 tasks: the shared compiled model and
// this env's own mjData, reset noise around the model's initial pose, the
// control step (ctrl = action, frame_skip mj_step calls, then
// mj_rnePostConstraint so that cfrc_ext holds the contact forces), the
// forward velocity from a position read before and after the step, and the
// time limit. A task (half_cheetah.h, hopper.h, ...) is one small subclass
// that says where "forward" is read, what the reward and termination are and
// what the observation holds.
//
// Actions are used as given, as Gymnasium's v4 tasks do: the control cost is
// computed on them, and MuJoCo clamps each control to its actuator's
// ctrlrange inside the physics. Non-finite actions are refused.
//
// Rendering (Env::Render) goes through MuJoCo's own renderer
// (renderer.h), made on the first Render: cameras "track" (each task's
// model has one that follows the robot) and "free" (MuJoCo's default view
// of the model, fixed in the world). Drawing reads the state only.
//
// Not thread-safe (see Env); the model is shared read-only (model.h).
#ifndef RILL_ENVS_MUJOCO_MUJOCO_ENV_H_
#define RILL_ENVS_MUJOCO_MUJOCO_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/mujoco/model.h"
#include "envs/mujoco/renderer.h"
#include "envs/seeded_rng.h"
#include "envs/time_limit.h"
#include "mujoco/mujoco.h"

namespace rill::envs {

class MujocoEnv : public Env {
 public:
  ~MujocoEnv() override;

  // mj_resetData, then qpos = qpos0 + U(-s, s) per coordinate and qvel =
  // U(-s, s) or s * N(0, 1) per coordinate (the task's noise and scale s),
  // then mj_forward; writes the observation.
  void Reset(float* obs) final;
  // Errors (the episode is left unchanged): InvalidArgument for a NaN or
  // infinite action component (the index is named); FailedPrecondition
  // before Reset or after the episode ended.
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) final;

  // The model's cameras, then "free" (MujocoRenderer::CameraNames).
  std::vector<std::string> cameras() const final;
  // Real time: one frame per env step of dt() seconds (Gymnasium's
  // render_fps).
  double render_fps() const override { return 1.0 / dt(); }
  // Draws the state the last Reset, Step or SetState left (as Gymnasium's
  // render, the positions MuJoCo computed at the start of the last physics
  // step). The first call makes the renderer: FailedPrecondition, naming the
  // Debian packages, when there is no headless OpenGL (and the same on
  // every later call).
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) final;

  // For tests and tools.
  const mjModel* model() const { return model_->get(); }
  const mjData* data() const { return data_; }
  int frame_skip() const { return frame_skip_; }
  // Seconds per env step: timestep * frame_skip.
  double dt() const { return model()->opt.timestep * frame_skip_; }
  // Overwrites qpos (nq values) and qvel (nv values) of the open episode and
  // recomputes everything derived from them (mj_forward), as Gymnasium's
  // set_state; the step count is untouched. Call after Reset.
  void SetState(const double* qpos, const double* qvel);
  // The observation of the current state.
  void Observe(float* obs) const { WriteObs(obs); }

 protected:
  enum class VelocityNoise { kUniform, kNormal };
  struct Dynamics {
    int frame_skip = 1;
    double reset_noise_scale = 0;
    VelocityNoise velocity_noise = VelocityNoise::kUniform;
  };

  // `spec`: the task's Spec() with the instance's time limit. The caller has
  // checked that the model's sizes agree with the spec.
  MujocoEnv(EnvSpec spec, std::shared_ptr<const MujocoModel> model, const Dynamics& dynamics,
            int max_episode_steps, uint64_t seed);

  // The coordinate whose change over one env step, divided by dt(), is the
  // forward velocity the reward pays for (root x, torso x, centre of mass).
  virtual double ForwardPosition() const = 0;
  // The reward of the step just taken; `action` holds act_dim values as
  // given to Step.
  virtual double Reward(double x_velocity, const float* action) const = 0;
  // Whether the state after the step is terminal (unhealthy).
  virtual bool Terminated() const = 0;
  // Writes obs_dim floats describing the current state.
  virtual void WriteObs(float* obs) const = 0;

 private:
  mjData* data_;
  std::shared_ptr<const MujocoModel> model_;
  int frame_skip_;
  double reset_noise_scale_;
  VelocityNoise velocity_noise_;
  SeededRng rng_;
  TimeLimit time_limit_;
  std::unique_ptr<MujocoRenderer> renderer_;  // made on the first Render
};

// Checks that the compiled model has the sizes a task's spec and
// observation assume. Internal, naming the model and the size, otherwise.
absl::Status CheckMujocoModelSizes(const MujocoModel& model, int nq, int nv, int nu);

// Sum of squares of the first `n` values.
double SumOfSquares(const float* values, int n);

}  // namespace rill::envs

#endif  // RILL_ENVS_MUJOCO_MUJOCO_ENV_H_
