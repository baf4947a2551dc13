#include "actor/lockstep_envs.h"

#include <utility>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "envs/action_mask.h"
#include "envs/catalog.h"
#include "common/status_macros.h"
#include "envs/batch/make.h"

namespace rill::actor {

absl::StatusOr<std::unique_ptr<LockstepEnvs>> LockstepEnvs::Create(const v1::EnvConfig& env, int num_envs,
                                                                   uint64_t base_seed) {
  ASSIGN_OR_RETURN(std::unique_ptr<envs::EnvBatch> batch, envs::MakeEnvBatch(env, num_envs, base_seed));
  std::unique_ptr<LockstepEnvs> lockstep = OverBatch(std::move(batch), env.has_remote());
  lockstep->env_name_ = env.name();
  // The batch keeps the env's own spec (a server's mask is compared with
  // the config's); what acts here ignores the mask when told to.
  if (env.ignore_action_mask()) lockstep->spec_.action_mask = false;
  return lockstep;
}

absl::StatusOr<std::unique_ptr<LockstepEnvs>> LockstepEnvs::CreateForEvaluation(const v1::ExperimentConfig& config,
                                                                                int num_envs, uint64_t base_seed) {
  ASSIGN_OR_RETURN(std::unique_ptr<LockstepEnvs> envs, Create(config.env(), num_envs, base_seed));
  const std::vector<std::string> scripted(config.eval().scripted_agents().begin(),
                                          config.eval().scripted_agents().end());
  RETURN_IF_ERROR(envs->ScriptAgents(scripted));
  return envs;
}

absl::Status LockstepEnvs::ScriptAgents(const std::vector<std::string>& agents) {
  scripted_agents_.clear();
  scripted_rows_.clear();
  if (agents.empty()) return absl::OkStatus();
  absl::StatusOr<envs::MultiAgentSpec> multi = envs::LookupMultiAgentSpec(env_name_);
  if (!multi.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("eval.scripted_agents: ", env_name_.empty() ? "this env" : env_name_, " is no multi-agent env"));
  }
  for (const std::string& name : agents) {
    const auto found = std::find(multi->agents.begin(), multi->agents.end(), name);
    if (found == multi->agents.end()) {
      return absl::InvalidArgumentError(absl::StrCat("eval.scripted_agents: ", env_name_, " has no agent '", name,
                                                     "'; its agents: ", absl::StrJoin(multi->agents, ", ")));
    }
    scripted_agents_.push_back(static_cast<int>(found - multi->agents.begin()));
  }
  scripted_rows_.assign(static_cast<size_t>(num_envs_), 0);
  scripted_actions_.assign(static_cast<size_t>(num_envs_) * act_dim_, 0.f);
  for (int agent : scripted_agents_) {
    // Asked once now, so an env that scripts no such player is refused at
    // start rather than at the first round.
    ASSIGN_OR_RETURN(const std::vector<int> rows, batch_->ScriptAgent(agent, obs_.data(), scripted_actions_.data()));
    for (int row : rows) scripted_rows_[row] = 1;
  }
  return absl::OkStatus();
}

absl::Status LockstepEnvs::ApplyScripts() {
  for (int agent : scripted_agents_) {
    ASSIGN_OR_RETURN(const std::vector<int> rows, batch_->ScriptAgent(agent, obs_.data(), scripted_actions_.data()));
    for (int row : rows) {
      const float* action = &scripted_actions_[static_cast<size_t>(row) * act_dim_];
      if (spec_.discrete) {
        action_indices_[row] = static_cast<int64_t>(action[0]);
        continue;
      }
      // Env units back to the policy's [-1, 1] (EnvAction's inverse).
      for (int j = 0; j < act_dim_; ++j) {
        const float span = spec_.action_high[j] - spec_.action_low[j];
        actions_[static_cast<size_t>(row) * act_dim_ + j] = 2.f * (action[j] - spec_.action_low[j]) / span - 1.f;
      }
    }
  }
  return absl::OkStatus();
}

std::unique_ptr<LockstepEnvs> LockstepEnvs::OverBatch(std::unique_ptr<envs::EnvBatch> batch, bool remote) {
  std::unique_ptr<LockstepEnvs> lockstep(new LockstepEnvs());
  lockstep->remote_ = remote;
  lockstep->batch_ = std::move(batch);
  // Rows: an env of K agents is K of them.
  lockstep->num_envs_ = lockstep->batch_->size();
  lockstep->episode_start_.assign(static_cast<size_t>(lockstep->num_envs_), 1);
  lockstep->spec_ = lockstep->batch_->spec();
  lockstep->metrics_ = lockstep->batch_->metrics();
  const envs::EnvSpec& spec = lockstep->spec_;
  lockstep->obs_dim_ = spec.stored_width();
  lockstep->obs_bytes_ = spec.obs_bytes();
  lockstep->act_dim_ = spec.discrete ? 1 : spec.action_dim();
  lockstep->distribution_width_ = spec.discrete ? spec.num_actions : 2 * lockstep->act_dim_;
  const size_t n = static_cast<size_t>(lockstep->num_envs_);
  lockstep->obs_.assign(n * lockstep->obs_bytes_, 0);
  lockstep->actions_.assign(n * lockstep->act_dim_, 0.f);
  lockstep->action_indices_.assign(n, 0);
  lockstep->log_probs_.assign(n, 0.f);
  lockstep->distributions_.assign(n * lockstep->distribution_width_, 0.f);
  lockstep->env_actions_.assign(n * lockstep->act_dim_, 0.f);
  lockstep->rewards_.assign(n, 0.f);
  lockstep->terminated_.assign(n, 0);
  lockstep->truncated_.assign(n, 0);
  lockstep->masked_.assign(n, 0);
  lockstep->joint_agents_ = std::max(0, spec.joint_agents);
  lockstep->agent_rewards_.assign(n * lockstep->joint_agents_, 0.f);
  lockstep->agent_terminated_.assign(n * lockstep->joint_agents_, 0);
  lockstep->returns_.assign(n, 0.0);
  lockstep->lengths_.assign(n, 0);
  return lockstep;
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
  if (spec_.action_mask) {
    for (int i = 0; i < num_envs_; ++i) action_indices_[i] = envs::UniformAllowedAction(spec_, obs_row(i), rng);
  } else if (spec_.discrete) {
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

absl::Status LockstepEnvs::Render(int i, int width, int height, const std::string& camera, envs::RgbImage* image) {
  if (i < 0 || i >= num_envs_) {
    return absl::InvalidArgumentError(absl::StrCat("no env ", i, " to render: there are ", num_envs_));
  }
  return batch_->Render(i, width, height, camera, image);
}

absl::Status LockstepEnvs::TrackStates() {
  if (spec_.state_dim <= 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        spec_.name, " offers no global state for its rows (only agents of a multi-agent env with a state do)"));
  }
  state_dim_ = spec_.state_dim;
  const size_t size = static_cast<size_t>(num_envs_) * state_dim_;
  states_.assign(size, 0.f);
  next_states_.assign(size, 0.f);
  final_states_.assign(size, 0.f);
  return absl::OkStatus();
}

absl::Status LockstepEnvs::ResetAll() {
  env_episodes_.clear();
  episode_start_.assign(static_cast<size_t>(num_envs_), 1);
  returns_.assign(static_cast<size_t>(num_envs_), 0.0);
  lengths_.assign(static_cast<size_t>(num_envs_), 0);
  RETURN_IF_ERROR(batch_->Reset(obs_.data()));
  if (state_dim_ > 0) batch_->States(states_.data());
  return CheckMasks(obs_.data(), num_envs_, nullptr);
}

absl::Status LockstepEnvs::CheckMasks(const uint8_t* observations, int rows,
                                      const std::vector<EnvOutcome>* outcomes) const {
  if (!spec_.action_mask) return absl::OkStatus();
  for (int i = 0; i < rows; ++i) {
    const uint8_t* row = observations + static_cast<size_t>(i) * obs_bytes_;
    // A failed instance's row holds no observation of its env: after a
    // Step its outcome says so; after ResetAll, which reports no failures,
    // it is all zeros (what a failed reset leaves; its next step fails it).
    if (outcomes != nullptr && ((*outcomes)[i].masked || (*outcomes)[i].failed)) continue;
    // An agent that left before its env's episode ended keeps the
    // observation it ended on, which may allow nothing; a single-agent
    // row that ended holds its next episode's first observation.
    if (outcomes != nullptr && batch_->rows_are_agents() &&
        ((*outcomes)[i].result.terminated || (*outcomes)[i].result.truncated)) {
      continue;
    }
    if (outcomes == nullptr && std::all_of(row, row + obs_bytes_, [](uint8_t byte) { return byte == 0; })) continue;
    absl::Status mask = envs::CheckActionMask(spec_, row);
    if (!mask.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec_.name, " (row ", i, "): its observation ends in an ", mask.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status LockstepEnvs::CheckActionsAllowed(int active) const {
  if (!spec_.action_mask) return absl::OkStatus();
  for (int i = 0; i < active; ++i) {
    // A row whose mask allows nothing is a failed instance's (CheckMasks
    // let no other through): the env ignores its action.
    if (masked_[i] != 0 || envs::ActionAllowed(spec_, obs_row(i), action_indices_[i]) ||
        envs::CountAllowed(spec_, obs_row(i)) == 0) {
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        spec_.name, " (row ", i, "): action ", action_indices_[i], " is forbidden by the observation's action mask ",
        envs::MaskString(spec_, obs_row(i)), "; the policy or scripted agent that chose it ignores the mask"));
  }
  return absl::OkStatus();
}

absl::Status LockstepEnvs::Step(int active, std::vector<uint8_t>* next_obs, std::vector<uint8_t>* final_obs,
                                std::vector<EnvOutcome>* outcomes) {
  next_obs->resize(obs_.size());
  final_obs->resize(obs_.size());
  outcomes->assign(static_cast<size_t>(num_envs_), EnvOutcome{});
  RETURN_IF_ERROR(CheckActionsAllowed(active));
  for (int i = 0; i < num_envs_; ++i) EnvAction(i, &env_actions_[static_cast<size_t>(i) * act_dim_]);
  envs::EnvBatchOutput out;
  out.observations = next_obs->data();
  out.final_observations = final_obs->data();
  out.rewards = rewards_.data();
  out.terminated = terminated_.data();
  out.truncated = truncated_.data();
  out.masked = masked_.data();
  out.failures = &failures_;
  out.env_episodes = &env_episodes_;
  if (joint_agents_ > 0) {
    out.agent_rewards = agent_rewards_.data();
    out.agent_terminated = agent_terminated_.data();
  }
  if (state_dim_ > 0) out.final_states = final_states_.data();
  ASSIGN_OR_RETURN(const int stepped, batch_->Step(active, env_actions_.data(), out));
  if (state_dim_ > 0) {
    batch_->States(next_states_.data());
    // A row that did not end: its final state is its next one.
    for (int i = 0; i < stepped; ++i) {
      if (terminated_[i] == 0 && truncated_[i] == 0) {
        std::copy_n(next_state_row(i), state_dim_, &final_states_[static_cast<size_t>(i) * state_dim_]);
      }
    }
  }
  for (envs::EnvFailure& failure : failures_) {
    EnvOutcome& outcome = (*outcomes)[failure.index];
    outcome.failed = true;
    outcome.error = std::move(failure.message);
  }
  // Each env's episode so far, as Gymnasium's RecordEpisodeStatistics
  // keeps it; a failed env's starts over.
  for (int i = 0; i < stepped; ++i) {
    EnvOutcome& outcome = (*outcomes)[i];
    outcome.result.reward = rewards_[i];
    outcome.result.terminated = terminated_[i] != 0;
    outcome.result.truncated = truncated_[i] != 0;
    if (masked_[i] != 0) {
      // An agent gone until its env resets: its episode was recorded when
      // it left, and its next observation it acts on is a new episode's
      // first.
      outcome.masked = true;
      episode_start_[i] = 1;
      continue;
    }
    if (outcome.failed) {
      returns_[i] = 0;
      lengths_[i] = 0;
    } else {
      returns_[i] += outcome.result.reward;
      ++lengths_[i];
      if (outcome.result.terminated || outcome.result.truncated) {
        outcome.episode = envs::EpisodeRecord{returns_[i], lengths_[i], outcome.result.terminated};
        returns_[i] = 0;
        lengths_[i] = 0;
      }
    }
    // What the next observations begin.
    episode_start_[i] = outcome.failed || outcome.result.terminated || outcome.result.truncated ? 1 : 0;
  }
  return CheckMasks(next_obs->data(), stepped, outcomes);
}

}  // namespace rill::actor
