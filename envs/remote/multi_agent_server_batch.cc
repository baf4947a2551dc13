#include "envs/remote/multi_agent_server_batch.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/shape.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"

namespace rill::envs {
namespace {

// [rows, cols] of `data` as the wire carries it (cols 0: [rows, 0]).
template <typename T>
void WriteMatrix(v1::DType dtype, int64_t rows, int64_t cols, const T* data, v1::Tensor* tensor) {
  tensor->set_dtype(dtype);
  tensor->clear_shape();
  tensor->add_shape(rows);
  tensor->add_shape(cols);
  tensor->mutable_data()->assign(reinterpret_cast<const char*>(data), static_cast<size_t>(rows * cols) * sizeof(T));
}

void AddError(int index, const std::string& field, const std::string& agent, const std::string& message,
              google::protobuf::RepeatedPtrField<v1::EnvError>* errors) {
  v1::EnvError* error = errors->Add();
  error->set_env_index(index);
  error->set_field(field);
  error->set_agent(agent);
  error->set_message(message);
}

// Why `count` floats cannot be sent ("holds NaN or infinity ([2] = nan)"),
// if they cannot.
std::optional<std::string> NonFinite(const float* values, int count) {
  for (int j = 0; j < count; ++j) {
    if (!std::isfinite(values[j])) return absl::StrCat("holds NaN or infinity ([", j, "] = ", values[j], ")");
  }
  return std::nullopt;
}

// A discrete action as Python prints a float: "3.0", "1.5", "nan".
std::string ActionValue(float value) {
  return std::isfinite(value) && value == std::floor(value) ? absl::StrCat(value, ".0") : absl::StrCat(value);
}

}  // namespace

absl::Status CheckServableAgents(const MultiAgentSpec& spec) {
  if (spec.agents.empty()) return absl::FailedPreconditionError(absl::StrCat(spec.name, " has no agents"));
  for (int k = 0; k < spec.num_agents(); ++k) {
    if (spec.agent_specs[k].uint8_observations()) {
      return absl::FailedPreconditionError(absl::StrCat(spec.name, ": agent ", spec.agents[k],
                                                        " observes uint8; a multi-agent env's observations travel "
                                                        "as float32"));
    }
  }
  return absl::OkStatus();
}

std::string MultiAgentSpecDifference(const MultiAgentSpec& made, const MultiAgentSpec& served) {
  if (made.agents != served.agents) {
    return absl::StrCat("agents [", absl::StrJoin(made.agents, ", "), "], the server's are [",
                        absl::StrJoin(served.agents, ", "), "]");
  }
  for (int k = 0; k < made.num_agents(); ++k) {
    const std::string difference = SpecDifference(made.agent_specs[k], served.agent_specs[k]);
    if (!difference.empty()) return absl::StrCat("agent ", made.agents[k], "'s ", difference);
  }
  if (made.state_shape != served.state_shape) {
    return absl::StrCat("state shape ", ShapeString(made.state_shape), ", the server's is ",
                        ShapeString(served.state_shape));
  }
  if (made.max_episode_steps != served.max_episode_steps) {
    return absl::StrCat("time limit ", made.max_episode_steps, ", the server's is ", served.max_episode_steps);
  }
  return "";
}

MultiAgentServerBatch::MultiAgentServerBatch(MultiAgentSpec spec, std::vector<std::unique_ptr<MultiAgentEnv>> envs)
    : spec_(std::move(spec)), num_agents_(spec_.num_agents()), state_dim_(spec_.state_dim()), envs_(std::move(envs)) {
  for (const EnvSpec& agent : spec_.agent_specs) {
    obs_offsets_.push_back(obs_width_);
    action_offsets_.push_back(action_width_);
    obs_width_ += agent.obs_dim();
    action_width_ += agent.discrete ? 1 : agent.action_dim();
  }
  const size_t n = envs_.size();
  const size_t cells = n * static_cast<size_t>(num_agents_);
  failed_.assign(n, false);
  observations_.assign(n * obs_width_, 0.f);
  live_.assign(cells, 0);
  states_.assign(n * state_dim_, 0.f);
  actions_.assign(n * action_width_, 0.f);
  rewards_.assign(cells, 0.f);
  terminated_.assign(cells, 0);
  truncated_.assign(cells, 0);
  next_obs_.assign(obs_width_, 0.f);
  next_state_.assign(state_dim_, 0.f);
  results_.resize(num_agents_);
  action_parts_.assign(num_agents_, nullptr);
  obs_parts_.assign(num_agents_, nullptr);
}

absl::StatusOr<std::unique_ptr<MultiAgentServerBatch>> MultiAgentServerBatch::Open(const MultiAgentEnvFactory& factory,
                                                                                   const MultiAgentSpec& spec,
                                                                                   const v1::OpenEnvs& open,
                                                                                   v1::EnvsOpened* opened) {
  RETURN_IF_ERROR(CheckOpenEnvs(open));
  const int n = open.num_envs();
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<MultiAgentEnv>> envs,
                   MakeStreamEnvs<MultiAgentEnv>(factory, spec, open, MultiAgentSpecDifference));
  std::unique_ptr<MultiAgentServerBatch> batch(new MultiAgentServerBatch(spec, std::move(envs)));
  opened->Clear();
  opened->set_env_id(spec.name);
  opened->set_max_episode_steps(spec.max_episode_steps);
  for (int k = 0; k < spec.num_agents(); ++k) {
    v1::AgentSpaces* agent = opened->add_agents();
    agent->set_name(spec.agents[k]);
    *agent->mutable_observation_space() = ObservationSpaceOf(spec.agent_specs[k]);
    *agent->mutable_action_space() = ActionSpaceOf(spec.agent_specs[k]);
    agent->set_action_mask(spec.agent_specs[k].action_mask);
  }
  if (batch->state_dim_ > 0) {
    v1::BoxSpace* state = opened->mutable_state_space();
    for (int64_t d : spec.state_shape) state->add_shape(d);
    state->set_dtype(v1::DTYPE_FLOAT32);
  }
  for (const std::string& camera : batch->envs_[0]->cameras()) opened->add_cameras(camera);
  for (int e = 0; e < n; ++e) batch->failed_[e] = !batch->ResetEnv(e, opened->mutable_errors());
  WriteMatrix(v1::DTYPE_FLOAT32, n, batch->obs_width_, batch->observations_.data(), opened->mutable_observations());
  WriteMatrix(v1::DTYPE_BOOL, n, batch->num_agents_, batch->live_.data(), opened->mutable_live());
  if (batch->state_dim_ > 0) {
    WriteMatrix(v1::DTYPE_FLOAT32, n, batch->state_dim_, batch->states_.data(), opened->mutable_states());
  }
  return batch;
}

bool MultiAgentServerBatch::ResetEnv(int e, Errors* errors) {
  float* row = obs_row(e);
  std::fill_n(row, obs_width_, 0.f);
  for (int k = 0; k < num_agents_; ++k) obs_parts_[k] = row + obs_offsets_[k];
  MultiAgentEnv& env = *envs_[e];
  env.Reset(obs_parts_.data());
  for (int k = 0; k < num_agents_; ++k) live_[cell(e, k)] = env.live(k) ? 1 : 0;
  bool sent = true;
  for (int k = 0; k < num_agents_ && sent; ++k) {
    if (std::optional<std::string> problem = NonFinite(obs_parts_[k], spec_.agent_specs[k].obs_dim())) {
      AddError(e, "observation", spec_.agents[k],
               absl::StrCat("reset's observation of ", spec_.agents[k], " ", *problem), errors);
      sent = false;
    }
  }
  if (sent && state_dim_ > 0) {
    env.State(state_row(e));
    if (std::optional<std::string> problem = NonFinite(state_row(e), state_dim_)) {
      AddError(e, "state", "", absl::StrCat("state() after reset ", *problem), errors);
      sent = false;
    }
  }
  if (sent) return true;
  std::fill_n(row, obs_width_, 0.f);
  std::fill_n(&live_[cell(e, 0)], num_agents_, 0);
  std::fill_n(state_row(e), state_dim_, 0.f);
  return false;
}

void MultiAgentServerBatch::FailEnv(int e, const Failure& failure, v1::EnvsStepped* stepped) {
  AddError(e, failure.field, failure.agent, failure.message, stepped->mutable_errors());
  std::fill_n(&rewards_[cell(e, 0)], num_agents_, 0.f);
  std::fill_n(&terminated_[cell(e, 0)], num_agents_, 0);
  std::fill_n(&truncated_[cell(e, 0)], num_agents_, 1);
  failed_[e] = !ResetEnv(e, stepped->mutable_errors());
}

absl::Status MultiAgentServerBatch::TakeActions(const v1::Tensor& actions) {
  const std::vector<int64_t> want = {size(), action_width_};
  const std::vector<int64_t> got(actions.shape().begin(), actions.shape().end());
  if (actions.dtype() != v1::DTYPE_FLOAT32 || got != want) {
    return absl::InvalidArgumentError(absl::StrCat("step.actions has dtype ", DTypeName(actions.dtype()), " and shape ",
                                                   ShapeString(got), "; this stream takes ",
                                                   DTypeName(v1::DTYPE_FLOAT32), " ", ShapeString(want)));
  }
  const size_t bytes = actions_.size() * sizeof(float);
  if (actions.data().size() != bytes) {
    return absl::InvalidArgumentError(absl::StrCat("step.actions holds ", actions.data().size(), " bytes; its dtype ",
                                                   "and shape ", ShapeString(got), " need ", bytes));
  }
  std::memcpy(actions_.data(), actions.data().data(), bytes);
  // A NaN in a slot the env never sees (an agent that left) is no one's
  // business; a live agent's ends the stream, as a single-agent NaN does.
  for (int e = 0; e < size(); ++e) {
    const float* row = actions_.data() + static_cast<size_t>(e) * action_width_;
    for (int k = 0; k < num_agents_; ++k) {
      if (live_[cell(e, k)] == 0) continue;
      const EnvSpec& agent = spec_.agent_specs[k];
      if (NonFinite(row + action_offsets_[k], agent.discrete ? 1 : agent.action_dim())) {
        return absl::InvalidArgumentError(
            absl::StrCat("step.actions of env ", e, " agent ", spec_.agents[k], " hold NaN or infinity"));
      }
    }
  }
  return absl::OkStatus();
}

std::optional<MultiAgentServerBatch::Failure> MultiAgentServerBatch::StepEnv(int e, bool* ended) {
  MultiAgentEnv& env = *envs_[e];
  const float* row = actions_.data() + static_cast<size_t>(e) * action_width_;
  for (int k = 0; k < num_agents_; ++k) {
    const bool live = live_[cell(e, k)] != 0;
    const EnvSpec& agent = spec_.agent_specs[k];
    action_parts_[k] = live ? row + action_offsets_[k] : nullptr;
    obs_parts_[k] = next_obs_.data() + obs_offsets_[k];
    results_[k] = StepResult{};
    if (!live || !agent.discrete) continue;
    const float index = row[action_offsets_[k]];  // finite: TakeActions checked it
    if (index != std::floor(index) || index < 0 || index >= agent.num_actions) {
      return Failure{"action", spec_.agents[k],
                     absl::StrCat("action ", ActionValue(index), " is outside Discrete(", agent.num_actions, ")")};
    }
  }
  if (absl::Status stepped = env.Step(action_parts_.data(), obs_parts_.data(), results_.data()); !stepped.ok()) {
    return Failure{"step", "", std::string(stepped.message())};
  }
  // Everything is checked before anything of the env's rows changes.
  for (int k = 0; k < num_agents_; ++k) {
    if (live_[cell(e, k)] == 0) continue;
    const std::string& name = spec_.agents[k];
    if (std::optional<std::string> problem = NonFinite(obs_parts_[k], spec_.agent_specs[k].obs_dim())) {
      return Failure{"observation", name, absl::StrCat("step's observation of ", name, " ", *problem)};
    }
    if (!std::isfinite(results_[k].reward)) {
      return Failure{"reward", name, absl::StrCat("reward of ", name, " is ", results_[k].reward)};
    }
  }
  if (state_dim_ > 0) {
    env.State(next_state_.data());
    if (std::optional<std::string> problem = NonFinite(next_state_.data(), state_dim_)) {
      return Failure{"state", "", absl::StrCat("state() ", *problem)};
    }
    std::copy(next_state_.begin(), next_state_.end(), state_row(e));
  }
  float* obs = obs_row(e);
  for (int k = 0; k < num_agents_; ++k) {
    const size_t at = cell(e, k);
    if (live_[at] == 0) continue;  // left earlier: its slot keeps what it ended on
    std::copy_n(obs_parts_[k], spec_.agent_specs[k].obs_dim(), obs + obs_offsets_[k]);
    rewards_[at] = results_[k].reward;
    terminated_[at] = results_[k].terminated ? 1 : 0;
    truncated_[at] = results_[k].truncated && !results_[k].terminated ? 1 : 0;
    live_[at] = env.live(k) ? 1 : 0;
  }
  *ended = env.episode_over();
  return std::nullopt;
}

absl::Status MultiAgentServerBatch::Step(const v1::StepEnvs& step, v1::EnvsStepped* stepped) {
  if (step.has_step_mask()) {
    return absl::InvalidArgumentError("step.step_mask: a multi-agent stream has no row control");
  }
  if (step.defer_resets()) {
    return absl::InvalidArgumentError("step.defer_resets: a multi-agent stream has no row control");
  }
  RETURN_IF_ERROR(TakeActions(step.actions()));
  stepped->clear_final_indices();
  stepped->clear_errors();
  final_observations_.clear();
  final_states_.clear();
  std::fill(rewards_.begin(), rewards_.end(), 0.f);
  std::fill(terminated_.begin(), terminated_.end(), 0);
  std::fill(truncated_.begin(), truncated_.end(), 0);
  for (int e = 0; e < size(); ++e) {
    if (failed_[e]) {
      // Its last reset failed: retry it; this step is its error row.
      std::fill_n(&truncated_[cell(e, 0)], num_agents_, 1);
      failed_[e] = !ResetEnv(e, stepped->mutable_errors());
      continue;
    }
    bool ended = false;
    if (std::optional<Failure> failure = StepEnv(e, &ended)) {
      FailEnv(e, *failure, stepped);
      continue;
    }
    if (!ended) continue;
    stepped->add_final_indices(e);
    final_observations_.insert(final_observations_.end(), obs_row(e), obs_row(e) + obs_width_);
    final_states_.insert(final_states_.end(), state_row(e), state_row(e) + state_dim_);
    failed_[e] = !ResetEnv(e, stepped->mutable_errors());
  }
  const int n = size();
  const int ended = stepped->final_indices_size();
  WriteMatrix(v1::DTYPE_FLOAT32, n, obs_width_, observations_.data(), stepped->mutable_observations());
  WriteMatrix(v1::DTYPE_FLOAT32, n, num_agents_, rewards_.data(), stepped->mutable_rewards());
  WriteMatrix(v1::DTYPE_BOOL, n, num_agents_, terminated_.data(), stepped->mutable_terminated());
  WriteMatrix(v1::DTYPE_BOOL, n, num_agents_, truncated_.data(), stepped->mutable_truncated());
  WriteMatrix(v1::DTYPE_BOOL, n, num_agents_, live_.data(), stepped->mutable_live());
  WriteMatrix(v1::DTYPE_FLOAT32, ended, obs_width_, final_observations_.data(), stepped->mutable_final_observations());
  if (state_dim_ > 0) {
    WriteMatrix(v1::DTYPE_FLOAT32, n, state_dim_, states_.data(), stepped->mutable_states());
    WriteMatrix(v1::DTYPE_FLOAT32, ended, state_dim_, final_states_.data(), stepped->mutable_final_states());
  }
  return absl::OkStatus();
}

absl::Status MultiAgentServerBatch::Reset(const v1::ResetEnvs& /*reset*/, v1::EnvsReset* /*answer*/) {
  return absl::InvalidArgumentError("reset: a multi-agent stream has no row control");
}

void MultiAgentServerBatch::Render(const v1::RenderEnv& render, v1::EnvRendered* rendered) {
  const int i = render.env_index();
  rendered->Clear();
  rendered->set_env_index(i);
  if (i < 0 || i >= size()) {
    rendered->set_error(absl::StrCat("render.env_index ", i, " is out of range (0..", size() - 1, ")"));
    return;
  }
  MultiAgentEnv& env = *envs_[i];
  const absl::Status drawn = RenderSceneInto(
      env.name(), env.cameras(),
      [&env](int width, int height, const std::string& camera, uint8_t* rgb) {
        return env.Render(width, height, camera, rgb);
      },
      render.width(), render.height(), render.camera(), &frame_);
  if (!drawn.ok()) {
    rendered->set_error(absl::StrCat("env ", i, " of ", spec_.name, ": ", drawn.message()));
    return;
  }
  WriteFrame(frame_, rendered);
}

}  // namespace rill::envs
