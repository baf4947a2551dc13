#include "envs/remote/remote_envs.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/shape.h"
#include "common/shared_region.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"
#include "envs/action_mask.h"

namespace rill::envs {
namespace {

constexpr int64_t kMaxMessageBytes = int64_t{256} << 20;

// Copies `tensor` into `out` (resized, in bytes) after checking it is
// `dtype` of `shape`; InvalidArgument naming `field` otherwise.
template <typename T>
absl::Status Take(const v1::Tensor& tensor, v1::DType dtype, const std::vector<int64_t>& shape,
                  const std::string& field, std::vector<T>* out) {
  const std::vector<int64_t> got(tensor.shape().begin(), tensor.shape().end());
  if (tensor.dtype() != dtype || got != shape) {
    return absl::InvalidArgumentError(absl::StrCat("env server answered ", field, " of dtype ",
                                                   v1::DType_Name(tensor.dtype()), " and shape ", ShapeString(got),
                                                   "; the protocol says ", v1::DType_Name(dtype), " ",
                                                   ShapeString(shape)));
  }
  // `shape` is the protocol's (checked sizes from the spec), `dtype` one
  // whose elements fill whole T's.
  const size_t bytes = static_cast<size_t>(*NumElements(shape)) * static_cast<size_t>(*DTypeSize(dtype));
  if (tensor.data().size() != bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("env server answered ", field, " with ", tensor.data().size(), " bytes; ", bytes, " expected"));
  }
  out->resize(bytes / sizeof(T));
  if (bytes > 0) std::memcpy(out->data(), tensor.data().data(), bytes);
  return absl::OkStatus();
}

v1::DType ObservationDType(const EnvSpec& spec) {
  return spec.uint8_observations() ? v1::DTYPE_UINT8 : v1::DTYPE_FLOAT32;
}

// One observation's shape in the server's tensors: a scalar's [] (its [N]
// tensors; the spec's [1], envs/remote/spaces.h), a box's own, or a
// Dict's row width (proto/env.proto, DictSpace).
std::vector<int64_t> WireObservationShape(const v1::Space& space, const EnvSpec& spec) {
  if (space.has_dict()) return {spec.stored_width()};
  return std::vector<int64_t>(space.box().shape().begin(), space.box().shape().end());
}

std::vector<int64_t> Batched(int64_t n, const std::vector<int64_t>& item) {
  std::vector<int64_t> shape = {n};
  shape.insert(shape.end(), item.begin(), item.end());
  return shape;
}

std::vector<RemoteEnvError> ErrorsOf(const google::protobuf::RepeatedPtrField<v1::EnvError>& errors) {
  std::vector<RemoteEnvError> out;
  for (const v1::EnvError& e : errors) out.push_back({e.env_index(), e.field(), e.message(), e.agent()});
  return out;
}

}  // namespace

bool RemoteEnvs::IsLoopback(const std::string& address) {
  absl::string_view host = address;
  for (absl::string_view scheme : {"dns:///", "dns:", "ipv4:", "ipv6:"}) {
    if (absl::ConsumePrefix(&host, scheme)) break;
  }
  if (absl::ConsumePrefix(&host, "[")) {
    host = host.substr(0, host.find(']'));
  } else if (const size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::StatusOr<std::unique_ptr<RemoteEnvs>> RemoteEnvs::Open(const std::string& address, int num_envs,
                                                             uint64_t base_seed, absl::Duration timeout,
                                                             Transport transport) {
  if (num_envs < 1) return absl::InvalidArgumentError(absl::StrCat("num_envs ", num_envs, " must be >= 1"));
  std::unique_ptr<RemoteEnvs> envs(new RemoteEnvs());
  envs->address_ = address;
  envs->num_envs_ = num_envs;
  envs->timeout_ = timeout;
  envs->channel_ = MakeChannel(address, kMaxMessageBytes);
  if (!WaitForConnected(*envs->channel_, timeout)) {
    return absl::UnavailableError(absl::StrCat("env server at ", address, " is not reachable (waited ",
                                               absl::FormatDuration(timeout), ")"));
  }
  envs->context_ = std::make_unique<grpc::ClientContext>();
  envs->stream_ = v1::EnvService::NewStub(envs->channel_)->Connect(envs->context_.get());
  v1::OpenEnvs* open = envs->request_.mutable_open();
  open->set_num_envs(num_envs);
  for (int i = 0; i < num_envs; ++i) open->add_seeds(base_seed + static_cast<uint64_t>(i) + 1);
  const bool ask_for_region = transport == Transport::kSharedMemoryWhenLocal && IsLoopback(address);
  open->set_shared_memory(ask_for_region);
  if (!envs->stream_->Write(envs->request_) || !envs->stream_->Read(&envs->response_)) {
    return envs->Fail("open");
  }
  if (!envs->response_.has_opened()) {
    return absl::InvalidArgumentError(absl::StrCat("env server at ", address, " answered open with ",
                                                   envs->response_.kind_case() == v1::EnvResponse::kStepped
                                                       ? "a step"
                                                       : "nothing"));
  }
  const v1::EnvsOpened& opened = envs->response_.opened();
  if (opened.agents_size() > 0) {
    RETURN_IF_ERROR(envs->OpenAgents(opened));
  } else {
    absl::StatusOr<EnvSpec> spec = SpecFromSpaces(opened.env_id(), opened.observation_space(),
                                                  opened.action_space(), opened.max_episode_steps(),
                                                  SpaceSource::Server());
    if (!spec.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("env server at ", address, ": ", spec.status().message()));
    }
    envs->spec_ = *std::move(spec);
    envs->spec_.action_mask = opened.action_mask();
    envs->observation_shape_ = WireObservationShape(opened.observation_space(), envs->spec_);
  }
  if (envs->multi_agent()) {
    envs->action_shape_ = {static_cast<int64_t>(envs->spec_.action_low.size())};
  } else if (!envs->spec_.discrete) {
    envs->action_shape_.assign(opened.action_space().box().shape().begin(),
                               opened.action_space().box().shape().end());
  }
  RETURN_IF_ERROR(Take(opened.observations(), ObservationDType(envs->spec_),
                       Batched(num_envs, envs->observation_shape_),
                       "opened.observations", &envs->first_observations_));
  envs->open_errors_ = ErrorsOf(opened.errors());
  envs->observation_space_ = opened.observation_space();
  envs->action_space_ = opened.action_space();
  envs->cameras_.assign(opened.cameras().begin(), opened.cameras().end());
  envs->row_control_ = opened.row_control();
  if (opened.has_shared_memory()) {
    const int64_t n = num_envs;
    const int64_t actions = n * (envs->spec_.discrete ? int64_t{sizeof(int64_t)}
                                                      : static_cast<int64_t>(envs->spec_.action_low.size() *
                                                                             sizeof(float)));
    const int64_t observations = n * envs->spec_.obs_bytes();
    const int64_t k = std::max(envs->agents_, 1);
    const int64_t flags = n * k;
    const int64_t live = envs->multi_agent() ? n * k : 0;
    const int64_t states =
        envs->multi_agent() ? n * envs->multi_agent_spec_.state_dim() * int64_t{sizeof(float)} : 0;
    const v1::SharedMemory& layout = opened.shared_memory();
    const std::vector<RegionArray> arrays = {
        {"actions", layout.actions_offset(), actions},
        {"observations", layout.observations_offset(), observations},
        {"rewards", layout.rewards_offset(), flags * int64_t{sizeof(float)}},
        {"terminated", layout.terminated_offset(), flags},
        {"truncated", layout.truncated_offset(), flags},
        {"final_observations", layout.final_observations_offset(), observations},
        {"live", layout.live_offset(), live},
        {"states", layout.states_offset(), states},
        {"final_states", layout.final_states_offset(), states}};
    // The handover waits at least as long as the server waits for it.
    bool reached = false;
    absl::StatusOr<std::unique_ptr<SharedRegion>> region =
        SharedRegion::Connect({layout.socket(), layout.token(), layout.size()}, arrays,
                              std::max(timeout, absl::Seconds(5)), &reached);
    if (region.ok()) {
      envs->region_ = *std::move(region);
      envs->layout_ = opened.shared_memory();
    } else if (absl::IsInvalidArgument(region.status())) {
      return absl::InvalidArgumentError(absl::StrCat("env server at ", address, ": ", region.status().message()));
    } else if (reached) {
      // The server took the socket and serves the stream through it: the
      // stream cannot go on over gRPC. Unavailable: the caller reopens.
      return absl::UnavailableError(absl::StrCat("env server at ", address, ": ", region.status().message()));
    } else {
      // The server serves the stream over gRPC when the region is not taken.
      envs->shared_memory_note_ = absl::StrCat("its shared region is out of reach (", region.status().message(),
                                               "): stepping over gRPC");
    }
  } else if (ask_for_region) {
    envs->shared_memory_note_ = "the server offers no shared memory: stepping over gRPC";
  }
  envs->request_.Clear();
  return envs;
}

absl::Status RemoteEnvs::OpenAgents(const v1::EnvsOpened& opened) {
  const std::string server = absl::StrCat("env server at ", address_);
  MultiAgentSpec& multi = multi_agent_spec_;
  multi.name = opened.env_id();
  multi.max_episode_steps = opened.max_episode_steps();
  // The stream's row: every agent's observation and action side by side.
  spec_ = EnvSpec{};
  spec_.name = opened.env_id();
  spec_.max_episode_steps = opened.max_episode_steps();
  int64_t obs_width = 0;
  for (const v1::AgentSpaces& agent : opened.agents()) {
    absl::StatusOr<EnvSpec> spec = SpecFromSpaces(opened.env_id(), agent.observation_space(), agent.action_space(),
                                                  opened.max_episode_steps(), SpaceSource::Server(agent.name()));
    if (!spec.ok()) return absl::InvalidArgumentError(absl::StrCat(server, ": ", spec.status().message()));
    if (spec->uint8_observations()) {
      return absl::InvalidArgumentError(
          absl::StrCat(server, ": agent ", agent.name(), " observes uint8; multi-agent observations are float32"));
    }
    spec->action_mask = agent.action_mask();
    if (absl::Status mask = CheckActionMaskSpec(*spec); !mask.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(server, ": agent ", agent.name(), "'s ", mask.message()));
    }
    if (agent.name().empty() ||
        std::find(multi.agents.begin(), multi.agents.end(), agent.name()) != multi.agents.end()) {
      return absl::InvalidArgumentError(absl::StrCat(server, " announced agent '", agent.name(),
                                                     "': agents' names must be distinct and not empty"));
    }
    multi.agents.push_back(agent.name());
    obs_width += spec->obs_dim();
    if (spec->discrete) {  // its index, 0..n-1
      spec_.action_low.push_back(0);
      spec_.action_high.push_back(static_cast<float>(spec->num_actions - 1));
    } else {
      spec_.action_low.insert(spec_.action_low.end(), spec->action_low.begin(), spec->action_low.end());
      spec_.action_high.insert(spec_.action_high.end(), spec->action_high.begin(), spec->action_high.end());
    }
    multi.agent_specs.push_back(*std::move(spec));
  }
  spec_.observation_shape = {obs_width};
  observation_shape_ = spec_.observation_shape;
  multi.state_shape.assign(opened.state_space().shape().begin(), opened.state_space().shape().end());
  agents_ = multi.num_agents();
  agent_spaces_ = opened.agents();
  const int64_t n = num_envs_;
  RETURN_IF_ERROR(Take(opened.live(), v1::DTYPE_BOOL, {n, agents_}, "opened.live", &first_live_));
  if (multi.state_dim() > 0) {
    RETURN_IF_ERROR(
        Take(opened.states(), v1::DTYPE_FLOAT32, {n, int64_t{multi.state_dim()}}, "opened.states", &first_states_));
  }
  return absl::OkStatus();
}

std::vector<int64_t> RemoteEnvs::PerAgent() const {
  if (agents_ == 0) return {num_envs_};
  return {num_envs_, agents_};
}

absl::StatusOr<std::unique_ptr<RemoteEnvs>> RemoteEnvs::OpenWithBackoff(const std::string& address, int num_envs,
                                                                        uint64_t base_seed, double reconnect_seconds,
                                                                        Transport transport, bool first_stream) {
  const absl::Time deadline = absl::Now() + absl::Seconds(reconnect_seconds);
  absl::Duration backoff = absl::Milliseconds(100);
  while (true) {
    const absl::Duration wait = std::clamp(deadline - absl::Now(), absl::Milliseconds(100), absl::Seconds(10));
    absl::StatusOr<std::unique_ptr<RemoteEnvs>> opened = Open(address, num_envs, base_seed, wait, transport);
    if (opened.ok()) {
      if (!(*opened)->shared_memory_note().empty() && first_stream) {
        RILL_LOG(WARNING) << "env server at " << address << ": " << (*opened)->shared_memory_note();
      }
      for (const RemoteEnvError& error : (*opened)->open_errors()) {
        RILL_LOG(WARNING) << "env server at " << address << ": env " << error.env_index
                          << (error.agent.empty() ? "" : " agent " + error.agent) << " " << error.field << ": "
                          << error.message;
      }
      return opened;
    }
    const absl::Status& status = opened.status();
    if (!absl::IsUnavailable(status) && !absl::IsDeadlineExceeded(status)) return status;
    if (absl::Now() + backoff > deadline) {
      return absl::UnavailableError(absl::StrCat(status.message(), "; gave up after ", reconnect_seconds,
                                                 " s (env.remote.reconnect_seconds)"));
    }
    RILL_LOG(WARNING) << status.message() << "; retrying in " << absl::FormatDuration(backoff);
    absl::SleepFor(backoff);
    backoff = std::min(2 * backoff, absl::Seconds(5));
  }
}

RemoteEnvs::~RemoteEnvs() {
  region_.reset();  // closes its socket: the server's stream ends
  if (stream_ != nullptr) {
    context_->TryCancel();
    stream_->Finish().IgnoreError();
  }
}

absl::Status RemoteEnvs::Fail(const std::string& what) {
  grpc::Status status = stream_->Finish();
  stream_.reset();
  const std::string where = absl::StrCat("env server at ", address_, " (", what, "): ");
  if (status.ok()) return absl::UnavailableError(where + "the stream ended");
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), where + status.error_message());
}

absl::Status RemoteEnvs::FailRegion(const std::string& what, const absl::Status& status) {
  region_.reset();
  // A closed socket: the server ended the stream (its status says why) or
  // died (the stream's status says so).
  if (absl::IsUnavailable(status)) return Fail(what);
  context_->TryCancel();
  stream_->Finish().IgnoreError();
  stream_.reset();
  return absl::Status(status.code(), absl::StrCat("env server at ", address_, " (", what, "): ", status.message()));
}

absl::Status RemoteEnvs::Exchange(const float* actions, const uint8_t* step_mask, bool defer_resets) {
  v1::StepEnvs* step = request_.mutable_step();
  if (step_mask != nullptr) {
    v1::Tensor* mask = step->mutable_step_mask();
    mask->clear_shape();
    mask->add_shape(num_envs_);
    mask->set_dtype(v1::DTYPE_BOOL);
    mask->set_data(step_mask, static_cast<size_t>(num_envs_));
  } else {
    step->clear_step_mask();
  }
  step->set_defer_resets(defer_resets);
  if (region_ != nullptr) {
    uint8_t* out = region_->at(layout_.actions_offset());
    if (spec_.discrete) {
      for (int i = 0; i < num_envs_; ++i) {
        const int64_t index = static_cast<int64_t>(std::lround(actions[i]));
        std::memcpy(out + static_cast<size_t>(i) * sizeof(int64_t), &index, sizeof(int64_t));
      }
    } else {
      std::memcpy(out, actions, static_cast<size_t>(num_envs_) * spec_.action_low.size() * sizeof(float));
    }
    // A plain step is an empty message; one with row control carries it
    // (and no actions: those are in the region).
    step_bytes_.clear();
    if (step_mask != nullptr || defer_resets) {
      v1::EnvRequest controlled;
      if (step_mask != nullptr) *controlled.mutable_step()->mutable_step_mask() = step->step_mask();
      controlled.mutable_step()->set_defer_resets(defer_resets);
      controlled.SerializeToString(&step_bytes_);
    }
    if (absl::Status exchanged = region_->Exchange(step_bytes_, &answer_, timeout_); !exchanged.ok()) {
      return FailRegion("step", exchanged);
    }
    response_.Clear();
    if (!answer_.empty() && (!response_.ParseFromString(answer_) || !response_.has_stepped())) {
      return absl::InvalidArgumentError(absl::StrCat("env server at ", address_,
                                                     " answered a step in its shared region with no stepped answer"));
    }
    return absl::OkStatus();
  }
  v1::Tensor* tensor = request_.mutable_step()->mutable_actions();
  tensor->clear_shape();
  tensor->add_shape(num_envs_);
  if (spec_.discrete) {
    indices_.resize(static_cast<size_t>(num_envs_));
    for (int i = 0; i < num_envs_; ++i) indices_[i] = static_cast<int64_t>(std::lround(actions[i]));
    tensor->set_dtype(v1::DTYPE_INT64);
    tensor->set_data(indices_.data(), indices_.size() * sizeof(int64_t));
  } else {
    for (int64_t d : action_shape_) tensor->add_shape(d);
    tensor->set_dtype(v1::DTYPE_FLOAT32);
    tensor->set_data(actions, static_cast<size_t>(num_envs_) * spec_.action_low.size() * sizeof(float));
  }
  if (!stream_->Write(request_) || !stream_->Read(&response_)) return Fail("step");
  if (!response_.has_stepped()) {
    return absl::InvalidArgumentError(absl::StrCat("env server at ", address_, " answered a step with ",
                                                   response_.has_opened() ? "an open" : "no stepped answer"));
  }
  return absl::OkStatus();
}

absl::Status RemoteEnvs::CheckRowControl(const char* what) const {
  if (row_control_ && !multi_agent()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("env server at ", address_, " (", spec_.name, ") cannot ", what,
                                                    ": it announced no row control (proto/env.proto)"));
}

absl::Status RemoteEnvs::Step(const float* actions, RemoteStep* step, const uint8_t* step_mask, bool defer_resets) {
  if (stream_ == nullptr) return absl::FailedPreconditionError(absl::StrCat("env server at ", address_, ": stream closed"));
  if (step_mask != nullptr || defer_resets) RETURN_IF_ERROR(CheckRowControl("step chosen envs or defer resets"));
  RETURN_IF_ERROR(Exchange(actions, step_mask, defer_resets));
  const v1::EnvsStepped& stepped = response_.stepped();
  const int64_t n = num_envs_;
  const size_t obs_bytes = static_cast<size_t>(spec_.obs_bytes());
  if (region_ != nullptr) {
    // The tensors are in the region, as the protocol lays them out.
    const auto copy = [&](int64_t offset, size_t bytes, auto* out) {
      out->resize(bytes / sizeof((*out)[0]));
      if (bytes > 0) std::memcpy(out->data(), region_->at(offset), bytes);
    };
    const size_t k = static_cast<size_t>(std::max(agents_, 1));
    copy(layout_.observations_offset(), n * obs_bytes, &step->observations);
    copy(layout_.rewards_offset(), n * k * sizeof(float), &step->rewards);
    copy(layout_.terminated_offset(), n * k, &step->terminated);
    copy(layout_.truncated_offset(), n * k, &step->truncated);
    if (multi_agent()) {
      copy(layout_.live_offset(), n * k, &step->live);
      copy(layout_.states_offset(), n * multi_agent_spec_.state_dim() * sizeof(float), &step->states);
    }
  } else {
    const std::vector<int64_t> per_agent = PerAgent();
    RETURN_IF_ERROR(Take(stepped.observations(), ObservationDType(spec_), Batched(n, observation_shape_),
                         "stepped.observations", &step->observations));
    RETURN_IF_ERROR(Take(stepped.rewards(), v1::DTYPE_FLOAT32, per_agent, "stepped.rewards", &step->rewards));
    RETURN_IF_ERROR(Take(stepped.terminated(), v1::DTYPE_BOOL, per_agent, "stepped.terminated", &step->terminated));
    RETURN_IF_ERROR(Take(stepped.truncated(), v1::DTYPE_BOOL, per_agent, "stepped.truncated", &step->truncated));
    if (multi_agent()) {
      RETURN_IF_ERROR(Take(stepped.live(), v1::DTYPE_BOOL, per_agent, "stepped.live", &step->live));
      if (multi_agent_spec_.state_dim() > 0) {
        RETURN_IF_ERROR(Take(stepped.states(), v1::DTYPE_FLOAT32, {n, int64_t{multi_agent_spec_.state_dim()}},
                             "stepped.states", &step->states));
      }
    }
  }
  step->final_indices.assign(stepped.final_indices().begin(), stepped.final_indices().end());
  for (size_t k = 0; k < step->final_indices.size(); ++k) {
    const int index = step->final_indices[k];
    if (index < 0 || index >= num_envs_ || (k > 0 && index <= step->final_indices[k - 1])) {
      return absl::InvalidArgumentError(absl::StrCat("env server answered final_indices [",
                                                     absl::StrJoin(step->final_indices, ", "),
                                                     "]: not ascending indices below ", num_envs_));
    }
  }
  const int64_t ended = static_cast<int64_t>(step->final_indices.size());
  const int64_t state_dim = multi_agent() ? multi_agent_spec_.state_dim() : 0;
  if (region_ != nullptr) {
    const size_t bytes = step->final_indices.size() * obs_bytes;  // at most N rows: checked ascending below N
    step->final_observations.resize(bytes);
    if (bytes > 0) std::memcpy(step->final_observations.data(), region_->at(layout_.final_observations_offset()), bytes);
    step->final_states.resize(static_cast<size_t>(ended * state_dim));
    if (!step->final_states.empty()) {
      std::memcpy(step->final_states.data(), region_->at(layout_.final_states_offset()),
                  step->final_states.size() * sizeof(float));
    }
  } else {
    RETURN_IF_ERROR(Take(stepped.final_observations(), ObservationDType(spec_),
                         Batched(ended, observation_shape_), "stepped.final_observations",
                         &step->final_observations));
    step->final_states.clear();
    if (state_dim > 0 && ended > 0) {
      RETURN_IF_ERROR(Take(stepped.final_states(), v1::DTYPE_FLOAT32, {ended, state_dim}, "stepped.final_states",
                           &step->final_states));
    }
  }
  step->errors = ErrorsOf(stepped.errors());
  for (const RemoteEnvError& error : step->errors) {
    if (error.env_index < 0 || error.env_index >= num_envs_) {
      return absl::InvalidArgumentError(
          absl::StrCat("env server answered an error for env ", error.env_index, " of ", num_envs_));
    }
  }
  return absl::OkStatus();
}

absl::Status RemoteEnvs::ResetSome(const std::vector<int>& indices, std::vector<uint8_t>* observations,
                                   std::vector<RemoteEnvError>* errors) {
  const std::string server = absl::StrCat("env server at ", address_);
  if (stream_ == nullptr) return absl::FailedPreconditionError(absl::StrCat(server, ": stream closed"));
  RETURN_IF_ERROR(CheckRowControl("reset chosen envs"));
  for (size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] < 0 || indices[k] >= num_envs_ || (k > 0 && indices[k] <= indices[k - 1])) {
      return absl::InvalidArgumentError(absl::StrCat(server, ": a reset of envs [", absl::StrJoin(indices, ", "),
                                                     "]: not ascending indices below ", num_envs_));
    }
  }
  observations->clear();
  errors->clear();
  if (indices.empty()) return absl::OkStatus();
  v1::EnvRequest request;
  request.mutable_reset()->mutable_env_indices()->Assign(indices.begin(), indices.end());
  v1::EnvResponse response;
  if (region_ != nullptr) {
    request.SerializeToString(&render_bytes_);
    if (absl::Status exchanged = region_->Exchange(render_bytes_, &answer_, timeout_); !exchanged.ok()) {
      return FailRegion("reset", exchanged);
    }
    if (!response.ParseFromString(answer_)) response.Clear();
  } else if (!stream_->Write(request) || !stream_->Read(&response)) {
    return Fail("reset");
  }
  if (!response.has_reset()) {
    return absl::InvalidArgumentError(absl::StrCat(server, " answered a reset with no reset answer"));
  }
  const size_t obs_bytes = static_cast<size_t>(spec_.obs_bytes());
  if (region_ != nullptr) {
    // Each instance's first observation is in its row of the region's.
    observations->resize(indices.size() * obs_bytes);
    const uint8_t* rows = region_->at(layout_.observations_offset());
    for (size_t k = 0; k < indices.size(); ++k) {
      std::memcpy(observations->data() + k * obs_bytes, rows + static_cast<size_t>(indices[k]) * obs_bytes, obs_bytes);
    }
  } else {
    RETURN_IF_ERROR(Take(response.reset().observations(), ObservationDType(spec_),
                         Batched(static_cast<int64_t>(indices.size()), observation_shape_), "reset.observations",
                         observations));
  }
  *errors = ErrorsOf(response.reset().errors());
  for (const RemoteEnvError& error : *errors) {
    if (!std::binary_search(indices.begin(), indices.end(), error.env_index)) {
      return absl::InvalidArgumentError(
          absl::StrCat(server, " answered a reset error for env ", error.env_index, ", which it was not asked to reset"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RgbImage> RemoteEnvs::Render(int index, int width, int height, const std::string& camera) {
  const std::string server = absl::StrCat("env server at ", address_);
  if (cameras_.empty()) {
    return absl::UnimplementedError(
        absl::StrCat(server, " (", spec_.name, ") does not render: it announced no cameras"));
  }
  if (index < 0 || index >= num_envs_) {
    return absl::InvalidArgumentError(
        absl::StrCat(server, ": render of env ", index, ": the stream has envs 0..", num_envs_ - 1));
  }
  if (width < 1 || height < 1 || width > kMaxRenderSize || height > kMaxRenderSize) {
    return absl::InvalidArgumentError(absl::StrCat(server, ": a render of ", width, "x", height,
                                                   " pixels: width and height must lie in 1..", kMaxRenderSize));
  }
  if (!camera.empty() && std::find(cameras_.begin(), cameras_.end(), camera) == cameras_.end()) {
    return absl::InvalidArgumentError(absl::StrCat(server, " has no camera '", camera,
                                                   "'; its cameras: ", absl::StrJoin(cameras_, ", ")));
  }
  if (stream_ == nullptr) return absl::FailedPreconditionError(absl::StrCat(server, ": stream closed"));
  v1::RenderEnv* render = render_request_.mutable_render();
  render->set_env_index(index);
  render->set_width(width);
  render->set_height(height);
  render->set_camera(camera);
  if (region_ != nullptr) {
    render_request_.SerializeToString(&render_bytes_);
    if (absl::Status exchanged = region_->Exchange(render_bytes_, &answer_, timeout_); !exchanged.ok()) {
      return FailRegion("render", exchanged);
    }
    if (!render_response_.ParseFromString(answer_)) render_response_.Clear();
  } else if (!stream_->Write(render_request_) || !stream_->Read(&render_response_)) {
    return Fail("render");
  }
  if (!render_response_.has_rendered()) {
    return absl::InvalidArgumentError(absl::StrCat(server, " answered a render with no rendered answer"));
  }
  const v1::EnvRendered& rendered = render_response_.rendered();
  if (rendered.env_index() != index) {
    return absl::InvalidArgumentError(
        absl::StrCat(server, " answered a render of env ", index, " for env ", rendered.env_index()));
  }
  if (!rendered.error().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(server, " cannot render env ", index, ": ", rendered.error()));
  }
  // The frame's shape is the server's to choose; only its form is checked.
  const v1::Tensor& frame = rendered.frame();
  const std::vector<int64_t> shape(frame.shape().begin(), frame.shape().end());
  if (frame.dtype() != v1::DTYPE_UINT8 || shape.size() != 3 || shape[2] != 3 || shape[0] < 1 || shape[1] < 1 ||
      shape[0] > kMaxRenderSize || shape[1] > kMaxRenderSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        server, " answered rendered.frame of dtype ", v1::DType_Name(frame.dtype()), " and shape ", ShapeString(shape),
        "; the protocol says DTYPE_UINT8 [height, width, 3], height and width in 1..", kMaxRenderSize));
  }
  const size_t bytes = static_cast<size_t>(shape[0] * shape[1] * 3);
  if (frame.data().size() != bytes) {
    return absl::InvalidArgumentError(absl::StrCat(server, " answered rendered.frame of shape ", ShapeString(shape),
                                                   " with ", frame.data().size(), " bytes; ", bytes, " expected"));
  }
  RgbImage image;
  image.height = static_cast<int>(shape[0]);
  image.width = static_cast<int>(shape[1]);
  image.rgb.assign(frame.data().begin(), frame.data().end());
  return image;
}

}  // namespace rill::envs
