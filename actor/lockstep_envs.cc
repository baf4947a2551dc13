#include "actor/lockstep_envs.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "envs/catalog.h"
#include "envs/plugin/plugin_envs.h"
#include "envs/registry.h"
#include "envs/wrappers.h"

namespace rill::actor {

absl::StatusOr<std::unique_ptr<LockstepEnvs>> LockstepEnvs::Create(const v1::EnvConfig& env, int num_envs,
                                                                   uint64_t base_seed) {
  std::unique_ptr<LockstepEnvs> lockstep(new LockstepEnvs());
  lockstep->num_envs_ = num_envs;
  lockstep->episode_start_.assign(static_cast<size_t>(num_envs), 1);
  lockstep->base_seed_ = base_seed;
  ASSIGN_OR_RETURN(lockstep->base_spec_, envs::ConfiguredBaseEnvSpec(env));
  ASSIGN_OR_RETURN(lockstep->spec_, envs::WrappedSpec(lockstep->base_spec_, env));
  const envs::EnvSpec& spec = lockstep->spec_;
  lockstep->obs_dim_ = spec.obs_dim();
  lockstep->obs_bytes_ = spec.obs_bytes();
  lockstep->act_dim_ = spec.discrete ? 1 : spec.action_dim();
  lockstep->distribution_width_ = spec.discrete ? spec.num_actions : 2 * lockstep->act_dim_;
  const size_t n = static_cast<size_t>(num_envs);
  lockstep->obs_.assign(n * lockstep->obs_bytes_, 0);
  lockstep->actions_.assign(n * lockstep->act_dim_, 0.f);
  lockstep->action_indices_.assign(n, 0);
  lockstep->log_probs_.assign(n, 0.f);
  lockstep->distributions_.assign(n * lockstep->distribution_width_, 0.f);
  lockstep->env_actions_.assign(n * lockstep->act_dim_, 0.f);
  if (env.has_remote()) {
    lockstep->is_remote_ = true;
    lockstep->remote_config_ = env.remote();  // finalized: reconnect_seconds is set
    if (env.frame_stack() > 1) {
      lockstep->remote_frames_.assign(n, envs::FrameHistory(env.frame_stack(), lockstep->base_spec_.obs_bytes()));
    }
    RETURN_IF_ERROR(lockstep->OpenRemote());
    return lockstep;
  }
  lockstep->is_plugin_ = env.has_plugin();
  for (int i = 0; i < num_envs; ++i) {
    const uint64_t seed = base_seed + i + 1;
    ASSIGN_OR_RETURN(std::unique_ptr<envs::Env> made,
                     env.has_plugin() ? envs::MakePluginEnv(env.plugin(), env.max_episode_steps(), seed)
                                      : envs::MakeEnv(env.name(), env.max_episode_steps(), seed));
    ASSIGN_OR_RETURN(made, envs::WrapAsConfigured(std::move(made), env));
    lockstep->local_.push_back(std::make_unique<envs::EpisodeStatistics>(std::move(made)));
  }
  return lockstep;
}

absl::Status LockstepEnvs::OpenRemote() {
  remote_.reset();
  const std::string& address = remote_config_.address();
  const absl::Time deadline = absl::Now() + absl::Seconds(remote_config_.reconnect_seconds());
  absl::Duration backoff = absl::Milliseconds(100);
  while (true) {
    // The first stream seeds env i with base_seed + i + 1, as local envs
    // are; each later one moves on by num_envs.
    const uint64_t seed = base_seed_ + static_cast<uint64_t>(opened_) * static_cast<uint64_t>(num_envs_);
    const absl::Duration wait = std::clamp(deadline - absl::Now(), absl::Milliseconds(100), absl::Seconds(10));
    absl::StatusOr<std::unique_ptr<envs::RemoteEnvs>> opened = envs::RemoteEnvs::Open(
        address, num_envs_, seed, wait,
        remote_config_.has_shared_memory() && !remote_config_.shared_memory()
            ? envs::RemoteEnvs::Transport::kGrpc
            : envs::RemoteEnvs::Transport::kSharedMemoryWhenLocal);
    if (opened.ok()) {
      if (!(*opened)->shared_memory_note().empty() && opened_ == 0) {
        RILL_LOG(WARNING) << "env server at " << address << ": " << (*opened)->shared_memory_note();
      }
      if (std::optional<std::string> difference = envs::SpaceDifference((*opened)->spec(), base_spec_)) {
        return absl::FailedPreconditionError(absl::StrCat("env server at ", address, " (", (*opened)->spec().name,
                                                          ") announces ", *difference));
      }
      remote_ = *std::move(opened);
      ++opened_;
      const std::vector<uint8_t>& first = remote_->first_observations();
      if (remote_frames_.empty()) {
        std::copy(first.begin(), first.end(), obs_.begin());
      } else {
        const size_t frame_bytes = static_cast<size_t>(base_spec_.obs_bytes());
        for (int i = 0; i < num_envs_; ++i) {
          remote_frames_[i].Start(&first[i * frame_bytes]);
          remote_frames_[i].Write(&obs_[static_cast<size_t>(i) * obs_bytes_]);
        }
      }
      for (const envs::RemoteEnvError& error : remote_->open_errors()) {
        RILL_LOG(WARNING) << "env server at " << address << ": env " << error.env_index << " " << error.field << ": "
                          << error.message;
      }
      returns_.assign(static_cast<size_t>(num_envs_), 0.0);
      lengths_.assign(static_cast<size_t>(num_envs_), 0);
      fresh_ = true;
      return absl::OkStatus();
    }
    const absl::Status& status = opened.status();
    if (!absl::IsUnavailable(status) && !absl::IsDeadlineExceeded(status)) return status;
    if (absl::Now() + backoff > deadline) {
      return absl::UnavailableError(absl::StrCat(status.message(), "; gave up after ",
                                                 remote_config_.reconnect_seconds(), " s (env.remote.reconnect_seconds)"));
    }
    RILL_LOG(WARNING) << status.message() << "; retrying in " << absl::FormatDuration(backoff);
    absl::SleepFor(backoff);
    backoff = std::min(2 * backoff, absl::Seconds(5));
  }
}

void LockstepEnvs::set_core_state_size(int size) {
  core_state_size_ = size;
  core_states_.assign(static_cast<size_t>(num_envs_) * size, 0.f);
}

ActionBuffers LockstepEnvs::buffers(bool core_states) {
  ActionBuffers out;
  if (core_states && core_state_size_ > 0) {
    out.core_states = core_states_.data();
    out.state_width = core_state_size_;
  }
  out.actions = actions_.data();
  out.action_indices = action_indices_.data();
  out.log_probs = log_probs_.data();
  out.distributions = distributions_.data();
  out.action_dim = spec_.discrete ? 0 : act_dim_;
  out.distribution_width = distribution_width_;
  return out;
}

void LockstepEnvs::RandomActions(std::mt19937_64& rng) {
  if (spec_.discrete) {
    std::uniform_int_distribution<int64_t> uniform(0, spec_.num_actions - 1);
    for (int64_t& a : action_indices_) a = uniform(rng);
  } else {
    std::uniform_real_distribution<float> uniform(-1.f, 1.f);
    for (float& a : actions_) a = uniform(rng);
  }
}

void LockstepEnvs::EnvAction(int i, float* env_action) const {
  if (spec_.discrete) {
    env_action[0] = static_cast<float>(action_indices_[i]);
    return;
  }
  for (int j = 0; j < act_dim_; ++j) {
    const float a = actions_[static_cast<size_t>(i) * act_dim_ + j];
    env_action[j] = spec_.action_low[j] + (a + 1.f) * 0.5f * (spec_.action_high[j] - spec_.action_low[j]);
  }
}

std::vector<std::string> LockstepEnvs::cameras() const {
  if (is_remote_) return remote_ == nullptr ? std::vector<std::string>{} : remote_->cameras();
  return local_.empty() ? std::vector<std::string>{} : local_[0]->cameras();
}

absl::Status LockstepEnvs::Render(int i, int width, int height, const std::string& camera, envs::RgbImage* image) {
  if (i < 0 || i >= num_envs_) {
    return absl::InvalidArgumentError(absl::StrCat("no env ", i, " to render: there are ", num_envs_));
  }
  if (is_remote_) {
    if (remote_ == nullptr) return absl::UnavailableError(absl::StrCat("the env server of ", spec_.name, " is not open"));
    ASSIGN_OR_RETURN(*image, remote_->Render(i, width, height, camera));
    return absl::OkStatus();
  }
  return envs::RenderInto(*local_[i], width, height, camera, image);
}

double LockstepEnvs::render_fps() const {
  if (is_remote_ || local_.empty()) return 30;
  return local_[0]->render_fps();
}

absl::Status LockstepEnvs::ResetAll() {
  episode_start_.assign(static_cast<size_t>(num_envs_), 1);
  if (!is_remote_) {
    for (int i = 0; i < size(); ++i) local_[i]->ResetRaw(&obs_[static_cast<size_t>(i) * obs_bytes_]);
    return absl::OkStatus();
  }
  if (fresh_) return absl::OkStatus();  // obs_ holds the new stream's first observations
  return OpenRemote();
}

absl::Status LockstepEnvs::Step(int active, std::vector<uint8_t>* next_obs, std::vector<uint8_t>* final_obs,
                                std::vector<EnvOutcome>* outcomes) {
  next_obs->resize(obs_.size());
  final_obs->resize(obs_.size());
  outcomes->assign(static_cast<size_t>(num_envs_), EnvOutcome{});
  RETURN_IF_ERROR(is_remote_ ? StepRemote(next_obs->data(), final_obs->data(), outcomes)
                             : StepLocal(active, next_obs->data(), final_obs->data(), outcomes));
  // What the next observations begin (a remote server steps every env).
  const int stepped = is_remote_ ? num_envs_ : active;
  episode_start_.resize(static_cast<size_t>(num_envs_), 1);
  for (int i = 0; i < stepped; ++i) {
    const EnvOutcome& outcome = (*outcomes)[i];
    episode_start_[i] = outcome.failed || outcome.result.terminated || outcome.result.truncated ? 1 : 0;
  }
  return absl::OkStatus();
}

absl::Status LockstepEnvs::StepLocal(int active, uint8_t* next_obs, uint8_t* final_obs,
                                     std::vector<EnvOutcome>* outcomes) {
  for (int i = 0; i < active; ++i) {
    float* action = &env_actions_[static_cast<size_t>(i) * act_dim_];
    EnvAction(i, action);
    uint8_t* next = next_obs + static_cast<size_t>(i) * obs_bytes_;
    EnvOutcome& outcome = (*outcomes)[i];
    absl::StatusOr<envs::StepResult> stepped = local_[i]->StepRaw(action, next);
    if (!stepped.ok() && is_plugin_) {
      // A user's env failed (its library said so, or returned a NaN):
      // counted, reset and dropped like a remote env's failure.
      outcome.failed = true;
      outcome.error = std::string(stepped.status().message());
      local_[i]->ResetRaw(next);
      continue;
    }
    if (!stepped.ok()) return stepped.status();
    outcome.result = *stepped;
    if (outcome.result.terminated || outcome.result.truncated) {
      outcome.episode = local_[i]->finished();
      // Auto-reset: the env goes on from the next episode's first
      // observation; the caller still sees the real last one.
      std::copy_n(next, obs_bytes_, final_obs + static_cast<size_t>(i) * obs_bytes_);
      local_[i]->ResetRaw(next);
    }
  }
  return absl::OkStatus();
}

absl::Status LockstepEnvs::StepRemote(uint8_t* next_obs, uint8_t* final_obs, std::vector<EnvOutcome>* outcomes) {
  for (int i = 0; i < num_envs_; ++i) EnvAction(i, &env_actions_[static_cast<size_t>(i) * act_dim_]);
  fresh_ = false;
  absl::Status stepped = remote_ != nullptr ? remote_->Step(env_actions_.data(), &remote_step_)
                                            : absl::UnavailableError("no stream");
  if (!stepped.ok()) {
    // The server went away (or broke the protocol): every env starts over
    // on a new stream.
    RILL_LOG(WARNING) << stepped.message() << "; reconnecting";
    RETURN_IF_ERROR(OpenRemote());
    fresh_ = false;
    std::copy(obs_.begin(), obs_.end(), next_obs);
    for (EnvOutcome& outcome : *outcomes) {
      outcome.failed = true;
      outcome.result.truncated = true;
      outcome.error = std::string(stepped.message());
    }
    return absl::OkStatus();
  }
  const envs::RemoteStep& step = remote_step_;
  if (!remote_frames_.empty()) {
    StackRemoteStep(step, next_obs, final_obs);
  } else {
    std::copy(step.observations.begin(), step.observations.end(), next_obs);
    for (size_t k = 0; k < step.final_indices.size(); ++k) {
      std::copy_n(&step.final_observations[k * obs_bytes_], obs_bytes_,
                  final_obs + static_cast<size_t>(step.final_indices[k]) * obs_bytes_);
    }
  }
  for (const envs::RemoteEnvError& error : step.errors) {
    EnvOutcome& outcome = (*outcomes)[error.env_index];
    outcome.failed = true;
    outcome.error = absl::StrCat(error.field, ": ", error.message);
  }
  for (int i = 0; i < num_envs_; ++i) {
    EnvOutcome& outcome = (*outcomes)[i];
    outcome.result.reward = step.rewards[i];
    outcome.result.terminated = step.terminated[i] != 0;
    outcome.result.truncated = step.truncated[i] != 0 && !outcome.result.terminated;
    if (outcome.failed) {
      outcome.result.reward = 0;
      returns_[i] = 0;
      lengths_[i] = 0;
      continue;
    }
    returns_[i] += outcome.result.reward;
    ++lengths_[i];
    if (outcome.result.terminated || outcome.result.truncated) {
      outcome.episode = envs::EpisodeRecord{returns_[i], lengths_[i], outcome.result.terminated};
      returns_[i] = 0;
      lengths_[i] = 0;
    }
  }
  return absl::OkStatus();
}

void LockstepEnvs::StackRemoteStep(const envs::RemoteStep& step, uint8_t* next_obs, uint8_t* final_obs) {
  const size_t frame_bytes = static_cast<size_t>(base_spec_.obs_bytes());
  restarted_.assign(static_cast<size_t>(num_envs_), 0);
  // An episode that ended: its last frame joins its own stack, the
  // observation it ended on.
  for (size_t k = 0; k < step.final_indices.size(); ++k) {
    const int i = step.final_indices[k];
    remote_frames_[i].Push(&step.final_observations[k * frame_bytes]);
    remote_frames_[i].Write(final_obs + static_cast<size_t>(i) * obs_bytes_);
    restarted_[i] = 1;
  }
  for (const envs::RemoteEnvError& error : step.errors) restarted_[error.env_index] = 1;
  for (int i = 0; i < num_envs_; ++i) {
    // The server reset the envs whose episode ended or that failed: their
    // frame is the first of a new episode, which shares no frame with the
    // old one.
    const bool restarted = restarted_[i] != 0 || step.terminated[i] != 0 || step.truncated[i] != 0;
    const uint8_t* frame = &step.observations[static_cast<size_t>(i) * frame_bytes];
    if (restarted) {
      remote_frames_[i].Start(frame);
    } else {
      remote_frames_[i].Push(frame);
    }
    remote_frames_[i].Write(next_obs + static_cast<size_t>(i) * obs_bytes_);
  }
}

}  // namespace rill::actor
