#include "envs/batch/local.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::envs {

absl::StatusOr<std::unique_ptr<LocalEnvBatch>> LocalEnvBatch::Create(EnvSpec spec,
                                                                     std::vector<std::unique_ptr<Env>> envs,
                                                                     StepErrors step_errors) {
  if (envs.empty()) return absl::InvalidArgumentError(absl::StrCat("a batch of ", spec.name, " needs an env"));
  for (const std::unique_ptr<Env>& env : envs) {
    if (env->spec().obs_bytes() != spec.obs_bytes() || env->spec().action_dim() != spec.action_dim() ||
        env->spec().discrete != spec.discrete) {
      return absl::InvalidArgumentError(
          absl::StrCat("a batch of ", spec.name, " was given an env of other spaces: ", env->name()));
    }
  }
  return std::unique_ptr<LocalEnvBatch>(new LocalEnvBatch(std::move(spec), std::move(envs), step_errors));
}

LocalEnvBatch::LocalEnvBatch(EnvSpec spec, std::vector<std::unique_ptr<Env>> envs, StepErrors step_errors)
    : EnvBatch(std::move(spec), static_cast<int>(envs.size())),
      envs_(std::move(envs)),
      step_errors_(step_errors),
      obs_bytes_(this->spec().obs_bytes()),
      act_dim_(this->spec().discrete ? 1 : this->spec().action_dim()),
      ended_(envs_.size(), 0) {}

absl::Status LocalEnvBatch::Reset(uint8_t* observations) {
  for (size_t i = 0; i < envs_.size(); ++i) envs_[i]->ResetRaw(observations + i * obs_bytes_);
  std::fill(ended_.begin(), ended_.end(), 0);
  return absl::OkStatus();
}

absl::StatusOr<int> LocalEnvBatch::Step(int active, const float* actions, const EnvBatchOutput& out) {
  out.failures->clear();
  for (int i = 0; i < active; ++i) RETURN_IF_ERROR(StepRow(i, actions, /*defer_reset=*/false, out));
  return active;
}

absl::Status LocalEnvBatch::StepRows(const uint8_t* step, bool defer_resets, const float* actions,
                                     const EnvBatchOutput& out) {
  out.failures->clear();
  for (int i = 0; i < size(); ++i) {
    if (step[i] != 0) RETURN_IF_ERROR(StepRow(i, actions, defer_resets, out));
  }
  return absl::OkStatus();
}

absl::Status LocalEnvBatch::ResetRows(const uint8_t* reset, uint8_t* observations, std::vector<EnvFailure>* failures) {
  failures->clear();
  for (int i = 0; i < size(); ++i) {
    if (reset[i] == 0) continue;
    envs_[i]->ResetRaw(observations + static_cast<size_t>(i) * obs_bytes_);
    ended_[i] = 0;
  }
  return absl::OkStatus();
}

absl::Status LocalEnvBatch::StepRow(int i, const float* actions, bool defer_reset, const EnvBatchOutput& out) {
  Env& env = *envs_[i];
  if (ended_[i] != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(env.name(), " instance ", i, " was stepped after its episode ended, before ResetRows"));
  }
  uint8_t* next = out.observations + static_cast<size_t>(i) * obs_bytes_;
  absl::StatusOr<StepResult> stepped = env.StepRaw(actions + static_cast<size_t>(i) * act_dim_, next);
  out.masked[i] = 0;
  if (!stepped.ok() && step_errors_ == StepErrors::kFailInstance) {
    // A user's env failed (its library said so, or returned a NaN):
    // reset and reported, like a remote env's failure.
    out.failures->push_back(EnvFailure{i, std::string(stepped.status().message())});
    out.rewards[i] = 0;
    out.terminated[i] = 0;
    out.truncated[i] = 0;
    env.ResetRaw(next);
    return absl::OkStatus();
  }
  if (!stepped.ok()) return stepped.status();
  out.rewards[i] = stepped->reward;
  out.terminated[i] = stepped->terminated ? 1 : 0;
  out.truncated[i] = stepped->truncated ? 1 : 0;
  if (stepped->terminated || stepped->truncated) {
    // The caller sees the real last observation; the instance goes on from
    // the next episode's first, now or at ResetRows.
    std::copy_n(next, obs_bytes_, out.final_observations + static_cast<size_t>(i) * obs_bytes_);
    if (defer_reset) {
      ended_[i] = 1;
    } else {
      env.ResetRaw(next);
    }
  }
  return absl::OkStatus();
}

absl::Status LocalEnvBatch::Render(int index, int width, int height, const std::string& camera, RgbImage* image) {
  return RenderInto(*envs_[index], width, height, camera, image);
}

}  // namespace rill::envs
