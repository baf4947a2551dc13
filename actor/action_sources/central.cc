#include "actor/action_sources/central.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_util.h"
#include "common/logging.h"

namespace rill::actor {
namespace {

// The bytes of a float32 / int64 tensor of exactly `shape`, or an error
// naming the field.
absl::Status CheckTensor(const v1::Tensor& tensor, const std::string& field, v1::DType dtype,
                         std::initializer_list<int64_t> shape, size_t element_bytes) {
  bool same = tensor.dtype() == dtype && tensor.shape_size() == static_cast<int>(shape.size());
  int64_t elements = 1;
  int d = 0;
  for (int64_t size : shape) {
    same = same && tensor.shape(d++) == size;
    elements *= size;
  }
  if (!same || tensor.data().size() != static_cast<size_t>(elements) * element_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("ActResponse.", field, " does not have the shape and dtype asked for"));
  }
  return absl::OkStatus();
}

}  // namespace

CentralActionSource::CentralActionSource(std::string address, int64_t max_message_bytes, std::string policy)
    : address_(std::move(address)), policy_(std::move(policy)), channel_(MakeChannel(address_, max_message_bytes)),
      stub_(v1::InferenceService::NewStub(channel_)) {}

CentralActionSource::~CentralActionSource() {
  if (context_ != nullptr) context_->TryCancel();
  if (stream_ != nullptr) stream_->Finish();
}

void CentralActionSource::Open() {
  if (context_ != nullptr) {
    context_->TryCancel();
    stream_->Finish();
  }
  context_ = std::make_unique<grpc::ClientContext>();
  context_->set_wait_for_ready(true);
  stream_ = stub_->Act(context_.get());
}

absl::Status CentralActionSource::Act(const ObservationRows& observations, bool /*deterministic*/, bool behaviour,
                                      const absl::Notification& stop, const ActionBuffers& out) {
  absl::StatusOr<CentralAnswer> answer = Exchange(observations, behaviour, stop, out);
  if (!answer.ok()) return answer.status();
  version_ = answer->version;
  return absl::OkStatus();
}

absl::StatusOr<CentralAnswer> CentralActionSource::Exchange(const ObservationRows& observations, bool behaviour,
                                                            const absl::Notification& stop,
                                                            const ActionBuffers& out) {
  const int rows = observations.rows;
  request_.Clear();
  v1::Tensor* tensor = request_.mutable_observations();
  tensor->set_dtype(observations.type == envs::ObservationType::kUint8 ? v1::DTYPE_UINT8 : v1::DTYPE_FLOAT32);
  tensor->add_shape(rows);
  tensor->add_shape(observations.obs_dim);
  tensor->mutable_data()->assign(static_cast<const char*>(observations.data),
                                 static_cast<size_t>(observations.bytes()));
  request_.set_behaviour(behaviour);
  // The flags only when one is set: most steps begin no episode.
  const uint8_t* episode_start = observations.episode_start;
  if (episode_start != nullptr && std::any_of(episode_start, episode_start + rows, [](uint8_t f) { return f != 0; })) {
    request_.set_episode_start(episode_start, static_cast<size_t>(rows));
  }
  request_.set_return_core_state(out.core_states != nullptr);
  request_.set_policy(policy_);
  while (true) {
    if (stream_ == nullptr) Open();
    if (stream_->Write(request_) && stream_->Read(&response_)) {
      backoff_.Reset();
      absl::Status decoded = Decode(response_, rows, behaviour, out);
      if (!decoded.ok()) return decoded;
      return CentralAnswer{response_.version(), response_.batch_rows()};
    }
    const grpc::Status status = stream_->Finish();
    stream_.reset();
    context_.reset();
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      return absl::InvalidArgumentError(absl::StrCat("the inference service at ", address_,
                                                     " refused this actor's observations: ", status.error_message()));
    }
    ++reconnects_;
    const absl::Duration wait = backoff_.Next();
    RILL_LOG(WARNING) << "inference stream to " << address_ << " ended (" << status.error_message()
                      << "); reopening in " << wait;
    if (stop.WaitForNotificationWithTimeout(wait)) return absl::CancelledError("stopped while reconnecting");
  }
}

absl::Status CentralActionSource::Decode(const v1::ActResponse& response, int rows, bool behaviour,
                                         const ActionBuffers& out) const {
  if (out.action_dim > 0) {
    absl::Status ok = CheckTensor(response.actions(), "actions", v1::DTYPE_FLOAT32, {rows, out.action_dim}, 4);
    if (!ok.ok()) return ok;
    std::memcpy(out.actions, response.actions().data().data(), response.actions().data().size());
  } else {
    absl::Status ok = CheckTensor(response.actions(), "actions", v1::DTYPE_INT64, {rows}, 8);
    if (!ok.ok()) return ok;
    std::memcpy(out.action_indices, response.actions().data().data(), response.actions().data().size());
  }
  if (behaviour) {
    absl::Status ok = CheckTensor(response.log_prob(), "log_prob", v1::DTYPE_FLOAT32, {rows}, 4);
    if (ok.ok()) {
      ok = CheckTensor(response.distribution(), "distribution", v1::DTYPE_FLOAT32, {rows, out.distribution_width}, 4);
    }
    if (!ok.ok()) return ok;
    std::memcpy(out.log_probs, response.log_prob().data().data(), response.log_prob().data().size());
    std::memcpy(out.distributions, response.distribution().data().data(), response.distribution().data().size());
  }
  if (out.core_states != nullptr) {
    const v1::Tensor& core_state = response.core_state();
    if (core_state.shape_size() == 0 && core_state.data().empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("ActResponse.core_state is empty: the items record a recurrent policy's core state, but the "
                       "service's policy (version ",
                       response.version(), ") is feed-forward"));
    }
    absl::Status ok = CheckTensor(core_state, "core_state", v1::DTYPE_FLOAT32, {rows, out.state_width}, 4);
    if (!ok.ok()) return ok;
    std::memcpy(out.core_states, core_state.data().data(), core_state.data().size());
  }
  return absl::OkStatus();
}

}  // namespace rill::actor
