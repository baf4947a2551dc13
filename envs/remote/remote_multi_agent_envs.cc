#include "envs/remote/remote_multi_agent_envs.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "envs/remote/spaces.h"

namespace rill::envs {

std::optional<std::string> RemoteMultiAgentEnvs::Difference(const MultiAgentSpec& announced,
                                                            const MultiAgentSpec& expected) {
  if (announced.agents != expected.agents) {
    return absl::StrCat("agents [", absl::StrJoin(announced.agents, ", "), "], the config says [",
                        absl::StrJoin(expected.agents, ", "), "]");
  }
  for (int k = 0; k < announced.num_agents(); ++k) {
    if (std::optional<std::string> difference = SpaceDifference(announced.agent_specs[k], expected.agent_specs[k])) {
      return absl::StrCat("agent ", announced.agents[k], ": ", *difference);
    }
  }
  if (announced.state_shape != expected.state_shape) {
    return absl::StrCat("a state of shape [", absl::StrJoin(announced.state_shape, ","), "], the config says [",
                        absl::StrJoin(expected.state_shape, ","), "]");
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<RemoteMultiAgentEnvs>> RemoteMultiAgentEnvs::Create(Options options) {
  if (options.spec.agents.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("remote multi-agent envs at ", options.address, " need agents"));
  }
  std::unique_ptr<RemoteMultiAgentEnvs> envs(new RemoteMultiAgentEnvs(std::move(options)));
  RETURN_IF_ERROR(envs->Open());
  return envs;
}

RemoteMultiAgentEnvs::RemoteMultiAgentEnvs(Options options)
    : MultiAgentEnvs(options.spec, options.num_envs),
      options_(std::move(options)),
      live_(static_cast<size_t>(size()) * num_agents(), 0),
      states_(static_cast<size_t>(size()) * spec().state_dim(), 0.f) {}

absl::Status RemoteMultiAgentEnvs::Open() {
  remote_.reset();
  const std::string& address = options_.address;
  // As RemoteEnvBatch: the first stream seeds env i with base_seed + i + 1.
  const uint64_t seed = options_.base_seed + static_cast<uint64_t>(opened_) * static_cast<uint64_t>(size());
  ASSIGN_OR_RETURN(std::unique_ptr<RemoteEnvs> opened,
                   RemoteEnvs::OpenWithBackoff(address, size(), seed, options_.reconnect_seconds, options_.transport,
                                               opened_ == 0));
  if (!opened->multi_agent()) {
    return absl::FailedPreconditionError(absl::StrCat("env server at ", address, " (", opened->spec().name,
                                                      ") serves single-agent envs; the config names agents (",
                                                      absl::StrJoin(spec().agents, ", "), ")"));
  }
  if (std::optional<std::string> difference = Difference(opened->multi_agent_spec(), spec())) {
    return absl::FailedPreconditionError(
        absl::StrCat("env server at ", address, " (", opened->spec().name, ") announces ", *difference));
  }
  remote_ = std::move(opened);
  ++opened_;
  fresh_ = true;
  live_ = remote_->first_live();
  if (spec().state_dim() > 0) states_ = remote_->first_states();
  return absl::OkStatus();
}

absl::Status RemoteMultiAgentEnvs::Reset(float* observations) {
  if (!fresh_) RETURN_IF_ERROR(Open());
  const std::vector<uint8_t>& first = remote_->first_observations();
  std::memcpy(observations, first.data(), first.size());
  return absl::OkStatus();
}

absl::StatusOr<int> RemoteMultiAgentEnvs::FailAll(const absl::Status& status, const MultiAgentEnvsOutput& out) {
  RILL_LOG(WARNING) << status.message() << "; reconnecting";
  RETURN_IF_ERROR(Open());
  fresh_ = false;
  const std::vector<uint8_t>& first = remote_->first_observations();
  std::memcpy(out.observations, first.data(), first.size());
  const size_t cells = static_cast<size_t>(size()) * num_agents();
  std::fill_n(out.rewards, cells, 0.f);
  std::fill_n(out.terminated, cells, 0);
  std::fill_n(out.truncated, cells, 1);
  std::fill_n(out.acted, cells, 1);
  std::fill_n(out.episode_ended, size(), 0);
  for (int e = 0; e < size(); ++e) out.failures->push_back(EnvFailure{e, std::string(status.message())});
  return size();
}

void RemoteMultiAgentEnvs::WriteFinals(int e, const float* ended, const MultiAgentEnvsOutput& out) {
  const size_t row = static_cast<size_t>(e) * obs_width();
  const float* observations = reinterpret_cast<const float*>(step_.observations.data()) + row;
  for (int k = 0; k < num_agents(); ++k) {
    const size_t at = static_cast<size_t>(e) * num_agents() + k;
    if (out.acted[at] == 0 || (out.terminated[at] == 0 && out.truncated[at] == 0)) continue;
    const float* from = ended != nullptr ? ended : observations;
    std::copy_n(from + obs_offset(k), spec().agent_specs[k].obs_dim(), out.final_observations + row + obs_offset(k));
  }
}

absl::StatusOr<int> RemoteMultiAgentEnvs::Step(int /*active*/, const float* actions, const MultiAgentEnvsOutput& out) {
  out.failures->clear();
  if (out.env_episodes != nullptr) out.env_episodes->clear();
  fresh_ = false;
  absl::Status stepped = remote_ != nullptr ? remote_->Step(actions, &step_) : absl::UnavailableError("no stream");
  if (!stepped.ok()) return FailAll(stepped, out);
  std::memcpy(out.observations, step_.observations.data(), step_.observations.size());
  const size_t cells = static_cast<size_t>(size()) * num_agents();
  for (size_t at = 0; at < cells; ++at) {
    out.acted[at] = live_[at];  // who was live before this step
    out.rewards[at] = live_[at] != 0 ? step_.rewards[at] : 0.f;
    out.terminated[at] = live_[at] != 0 && step_.terminated[at] != 0 ? 1 : 0;
    out.truncated[at] = live_[at] != 0 && step_.truncated[at] != 0 && step_.terminated[at] == 0 ? 1 : 0;
  }
  std::fill_n(out.episode_ended, size(), 0);
  // The server names a failed env once or more (once per bad field), in
  // any order.
  std::vector<std::string> failed(static_cast<size_t>(size()));
  for (const RemoteEnvError& error : step_.errors) {
    std::string& message = failed[error.env_index];
    absl::StrAppend(&message, message.empty() ? "" : "; ", error.agent.empty() ? "" : "agent " + error.agent + ": ",
                    error.field, ": ", error.message);
  }
  const int state_dim = spec().state_dim();
  if (out.final_states != nullptr && state_dim > 0) {
    // Each env's state after its step: the one it goes on from, or for an
    // env that ended, the one it ended in (below).
    std::copy(step_.states.begin(), step_.states.end(), out.final_states);
  }
  for (size_t k = 0; k < step_.final_indices.size(); ++k) {
    const int e = step_.final_indices[k];
    if (!failed[e].empty()) continue;
    out.episode_ended[e] = 1;
    WriteFinals(e, reinterpret_cast<const float*>(step_.final_observations.data()) + k * obs_width(), out);
    if (out.final_states != nullptr && state_dim > 0) {
      std::copy_n(&step_.final_states[k * state_dim], state_dim, out.final_states + static_cast<size_t>(e) * state_dim);
    }
  }
  for (int e = 0; e < size(); ++e) {
    if (failed[e].empty()) {
      if (out.episode_ended[e] == 0) WriteFinals(e, nullptr, out);
      continue;
    }
    WriteFailedEnv(e, failed[e], out);
  }
  live_ = step_.live;
  if (spec().state_dim() > 0) states_ = step_.states;
  return size();
}

void RemoteMultiAgentEnvs::State(int env, float* state) const {
  const int dim = spec().state_dim();
  std::copy_n(&states_[static_cast<size_t>(env) * dim], dim, state);
}

std::vector<std::string> RemoteMultiAgentEnvs::cameras() const {
  return remote_ == nullptr ? std::vector<std::string>{} : remote_->cameras();
}

absl::Status RemoteMultiAgentEnvs::Render(int env, int width, int height, const std::string& camera,
                                          RgbImage* image) {
  if (remote_ == nullptr) return absl::UnavailableError(absl::StrCat("the env server of ", spec().name, " is not open"));
  ASSIGN_OR_RETURN(*image, remote_->Render(env, width, height, camera));
  return absl::OkStatus();
}

}  // namespace rill::envs
