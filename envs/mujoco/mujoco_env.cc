#include "envs/mujoco/mujoco_env.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::envs {

MujocoEnv::MujocoEnv(EnvSpec spec, std::shared_ptr<const MujocoModel> model, const Dynamics& dynamics,
                     int max_episode_steps, uint64_t seed)
    : Env(WithTimeLimit(std::move(spec), max_episode_steps)),
      data_(mj_makeData(model->get())),
      model_(std::move(model)),
      frame_skip_(dynamics.frame_skip),
      reset_noise_scale_(dynamics.reset_noise_scale),
      velocity_noise_(dynamics.velocity_noise),
      rng_(seed),
      time_limit_(max_episode_steps) {}

MujocoEnv::~MujocoEnv() { mj_deleteData(data_); }

void MujocoEnv::Reset(float* obs) {
  const mjModel* m = model();
  mj_resetData(m, data_);
  const double s = reset_noise_scale_;
  for (int i = 0; i < m->nq; ++i) data_->qpos[i] = m->qpos0[i] + rng_.Uniform(-s, s);
  for (int i = 0; i < m->nv; ++i) {
    data_->qvel[i] = velocity_noise_ == VelocityNoise::kNormal ? s * rng_.Normal() : rng_.Uniform(-s, s);
  }
  mj_forward(m, data_);
  time_limit_.StartEpisode();
  WriteObs(obs);
}

absl::StatusOr<StepResult> MujocoEnv::Step(const float* action, float* next_obs) {
  RETURN_IF_ERROR(time_limit_.CheckCanStep(name()));
  const mjModel* m = model();
  for (int i = 0; i < m->nu; ++i) {
    if (!std::isfinite(action[i])) {
      return absl::InvalidArgumentError(absl::StrCat(name(), ": action[", i, "] is ", action[i]));
    }
  }
  const double position_before = ForwardPosition();
  for (int i = 0; i < m->nu; ++i) data_->ctrl[i] = action[i];
  for (int i = 0; i < frame_skip_; ++i) mj_step(m, data_);
  // mj_step leaves cfrc_ext (contact forces per body) uncomputed unless a
  // sensor needs it; Gymnasium computes it after every step, and so do we.
  mj_rnePostConstraint(m, data_);
  const double position_after = ForwardPosition();

  StepResult result;
  result.reward = static_cast<float>(Reward((position_after - position_before) / dt(), action));
  result.terminated = Terminated();
  WriteObs(next_obs);
  time_limit_.EndStep(&result);
  return result;
}

std::vector<std::string> MujocoEnv::cameras() const { return MujocoRenderer::CameraNames(model()); }

absl::Status MujocoEnv::Render(int width, int height, const std::string& camera, uint8_t* rgb) {
  if (renderer_ == nullptr) {
    ASSIGN_OR_RETURN(renderer_, MujocoRenderer::Create(model()));
  }
  return renderer_->Render(model(), data_, width, height, camera, rgb);
}

void MujocoEnv::SetState(const double* qpos, const double* qvel) {
  const mjModel* m = model();
  for (int i = 0; i < m->nq; ++i) data_->qpos[i] = qpos[i];
  for (int i = 0; i < m->nv; ++i) data_->qvel[i] = qvel[i];
  mj_forward(m, data_);
}

absl::Status CheckMujocoModelSizes(const MujocoModel& model, int nq, int nv, int nu) {
  const mjModel* m = model.get();
  if (m->nq != nq || m->nv != nv || m->nu != nu) {
    return absl::InternalError(absl::StrCat("MuJoCo model ", model.name(), " has nq=", m->nq, " nv=", m->nv,
                                            " nu=", m->nu, "; the task expects nq=", nq, " nv=", nv, " nu=", nu));
  }
  return absl::OkStatus();
}

double SumOfSquares(const float* values, int n) {
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += static_cast<double>(values[i]) * values[i];
  return sum;
}

}  // namespace rill::envs
