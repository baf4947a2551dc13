#include "actor/action_sources/central.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace rill::actor {
namespace {

// How long a round trip through the region may take before the stream is
// taken for broken and reopened (the gRPC path waits as long as it takes;
// a region's socket cannot tell a slow service from a stuck one).
constexpr absl::Duration kRegionAnswerWithin = absl::Seconds(60);
// An actor does not spin for a service whose answers take long: many
// actors share its batches, and their cores (common/shared_region.h).
constexpr SpinRule kSpin{0, 500'000};

// Where the bytes of `tensor`, exactly of `dtype` and `shape`, are: in the
// message, or (`region` not null: the tensor carries no data) at `region`.
// An error names the field.
absl::StatusOr<const char*> TensorBytes(const v1::Tensor& tensor, const std::string& field, v1::DType dtype,
                                        std::initializer_list<int64_t> shape, size_t element_bytes,
                                        const uint8_t* region) {
  bool same = tensor.dtype() == dtype && tensor.shape_size() == static_cast<int>(shape.size());
  int64_t elements = 1;
  int d = 0;
  for (int64_t size : shape) {
    same = same && tensor.shape(d++) == size;
    elements *= size;
  }
  const size_t data = region != nullptr ? 0 : static_cast<size_t>(elements) * element_bytes;
  if (!same || tensor.data().size() != data) {
    return absl::InvalidArgumentError(absl::StrCat("ActResponse.", field, " does not have the shape and dtype asked for"));
  }
  return region != nullptr ? reinterpret_cast<const char*>(region) : tensor.data().data();
}

}  // namespace

CentralActionSource::CentralActionSource(CentralOptions options)
    : options_(std::move(options)), channel_(MakeChannel(options_.address, options_.max_message_bytes)),
      stub_(v1::InferenceService::NewStub(channel_)) {}

CentralActionSource::~CentralActionSource() {
  region_.reset();
  if (context_ != nullptr) context_->TryCancel();
  if (stream_ != nullptr) stream_->Finish();
}

void CentralActionSource::Open() {
  region_.reset();
  asked_ = false;
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

void CentralActionSource::Request(const ObservationRows& observations, bool behaviour, const ActionBuffers& out,
                                  bool through_region) {
  const int rows = observations.rows;
  request_.Clear();
  v1::Tensor* tensor = request_.mutable_observations();
  tensor->set_dtype(observations.type == envs::ObservationType::kUint8 ? v1::DTYPE_UINT8 : v1::DTYPE_FLOAT32);
  tensor->add_shape(rows);
  tensor->add_shape(observations.obs_dim);
  if (through_region) {
    std::memcpy(region_->at(layout_.observations_offset()), observations.data,
                static_cast<size_t>(observations.bytes()));
  } else {
    tensor->mutable_data()->assign(static_cast<const char*>(observations.data),
                                   static_cast<size_t>(observations.bytes()));
  }
  request_.set_behaviour(behaviour);
  // The flags only when one is set: most steps begin no episode.
  const uint8_t* episode_start = observations.episode_start;
  if (episode_start != nullptr && std::any_of(episode_start, episode_start + rows, [](uint8_t f) { return f != 0; })) {
    request_.set_episode_start(episode_start, static_cast<size_t>(rows));
  }
  request_.set_return_core_state(out.core_states != nullptr);
  request_.set_policy(options_.policy);
  if (!through_region && options_.shared_memory && !asked_ && !out_of_reach_) {
    asked_ = true;
    v1::ActRegionAsk* ask = request_.mutable_shared_memory();
    region_rows_ = std::max(options_.max_rows, rows);
    ask->set_rows(region_rows_);
    ask->set_observation_bytes(observations.bytes() / std::max(rows, 1));
    ask->set_action_dim(out.action_dim);
    ask->set_distribution_width(out.distribution_width);
    ask->set_state_width(out.state_width);
  }
}

absl::Status CentralActionSource::ExchangeThroughRegion(const ObservationRows& observations, bool behaviour,
                                                        const ActionBuffers& out) {
  Request(observations, behaviour, out, /*through_region=*/true);
  frame_.clear();
  request_.AppendToString(&frame_);
  RETURN_IF_ERROR(region_->Exchange(frame_, &answer_, kRegionAnswerWithin));
  response_.Clear();
  if (!response_.ParseFromString(answer_)) {
    return absl::InvalidArgumentError("the shared region's answer is not a serialized ActResponse");
  }
  return Decode(response_, observations.rows, behaviour, out, /*in_region=*/true);
}

absl::Status CentralActionSource::TakeRegion(const v1::ActRegion& layout, const ActionBuffers& out) {
  const int64_t rows = region_rows_;
  const int64_t observation_bytes = request_.shared_memory().observation_bytes();
  const std::vector<RegionArray> arrays = {
      {"observations", layout.observations_offset(), rows * observation_bytes},
      {"actions", layout.actions_offset(), rows * std::max<int64_t>(4 * int64_t{out.action_dim}, 8)},
      {"log_prob", layout.log_prob_offset(), rows * 4},
      {"distribution", layout.distribution_offset(), rows * 4 * int64_t{out.distribution_width}},
      {"core_state", layout.core_state_offset(), rows * 4 * int64_t{out.state_width}}};
  bool reached = false;
  absl::StatusOr<std::unique_ptr<SharedRegion>> region = SharedRegion::Connect(
      {layout.socket(), layout.token(), layout.size()}, arrays, absl::Seconds(5), &reached, kSpin);
  if (region.ok()) {
    region_ = *std::move(region);
    layout_ = layout;
    // Once per process: an actor has one stream per policy, a bench hundreds.
    static std::atomic<bool> told{false};
    if (!told.exchange(true)) {
      RILL_LOG(INFO) << "inference stream to " << options_.address << " through shared region @" << layout.socket();
    }
    return absl::OkStatus();
  }
  if (reached) return absl::UnavailableError(std::string(region.status().message()));
  out_of_reach_ = true;
  RILL_LOG(INFO) << "inference stream to " << options_.address << ": its shared region is out of reach ("
                 << region.status().message() << "); acting over gRPC";
  return absl::OkStatus();
}

absl::StatusOr<CentralAnswer> CentralActionSource::Exchange(const ObservationRows& observations, bool behaviour,
                                                            const absl::Notification& stop,
                                                            const ActionBuffers& out) {
  const int rows = observations.rows;
  while (true) {
    if (stream_ == nullptr) Open();
    absl::Status broken;
    if (region_ != nullptr && rows <= region_rows_) {
      broken = ExchangeThroughRegion(observations, behaviour, out);
      if (broken.ok()) {
        backoff_.Reset();
        return CentralAnswer{response_.version(), response_.batch_rows()};
      }
      if (absl::IsInvalidArgument(broken) || absl::IsFailedPrecondition(broken)) return broken;
      // The socket broke: the service ended the stream (its status says
      // why), died, or does not answer.
      region_.reset();
      if (!absl::IsUnavailable(broken)) context_->TryCancel();
    } else {
      Request(observations, behaviour, out, /*through_region=*/false);
      if (stream_->Write(request_) && stream_->Read(&response_)) {
        backoff_.Reset();
        RETURN_IF_ERROR(Decode(response_, rows, behaviour, out, /*in_region=*/false));
        if (response_.has_shared_memory()) broken = TakeRegion(response_.shared_memory(), out);
        if (broken.ok()) return CentralAnswer{response_.version(), response_.batch_rows()};
        context_->TryCancel();
      }
    }
    const grpc::Status status = stream_->Finish();
    stream_.reset();
    context_.reset();
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      return absl::InvalidArgumentError(absl::StrCat("the inference service at ", options_.address,
                                                     " refused this actor's observations: ", status.error_message()));
    }
    ++reconnects_;
    const absl::Duration wait = backoff_.Next();
    RILL_LOG(WARNING) << "inference stream to " << options_.address << " ended ("
                      << (broken.ok() ? status.error_message() : std::string(broken.message())) << "); reopening in "
                      << wait;
    if (stop.WaitForNotificationWithTimeout(wait)) return absl::CancelledError("stopped while reconnecting");
  }
}

absl::Status CentralActionSource::Decode(const v1::ActResponse& response, int rows, bool behaviour,
                                         const ActionBuffers& out, bool in_region) const {
  // Through the region the tensors carry no data: it lies at their offsets.
  auto at = [&](int64_t offset) -> const uint8_t* { return in_region ? region_->at(offset) : nullptr; };
  if (out.action_dim > 0) {
    ASSIGN_OR_RETURN(const char* actions, TensorBytes(response.actions(), "actions", v1::DTYPE_FLOAT32,
                                                      {rows, out.action_dim}, 4, at(layout_.actions_offset())));
    std::memcpy(out.actions, actions, static_cast<size_t>(rows) * out.action_dim * 4);
  } else {
    ASSIGN_OR_RETURN(const char* actions, TensorBytes(response.actions(), "actions", v1::DTYPE_INT64, {rows}, 8,
                                                      at(layout_.actions_offset())));
    std::memcpy(out.action_indices, actions, static_cast<size_t>(rows) * 8);
  }
  if (behaviour) {
    ASSIGN_OR_RETURN(const char* log_prob, TensorBytes(response.log_prob(), "log_prob", v1::DTYPE_FLOAT32, {rows},
                                                       4, at(layout_.log_prob_offset())));
    ASSIGN_OR_RETURN(const char* distribution,
                     TensorBytes(response.distribution(), "distribution", v1::DTYPE_FLOAT32,
                                 {rows, out.distribution_width}, 4, at(layout_.distribution_offset())));
    std::memcpy(out.log_probs, log_prob, static_cast<size_t>(rows) * 4);
    std::memcpy(out.distributions, distribution, static_cast<size_t>(rows) * out.distribution_width * 4);
  }
  if (out.core_states != nullptr) {
    const v1::Tensor& core_state = response.core_state();
    if (core_state.shape_size() == 0 && core_state.data().empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("ActResponse.core_state is empty: the items record a recurrent policy's core state, but the "
                       "service's policy (version ",
                       response.version(), ") is feed-forward"));
    }
    ASSIGN_OR_RETURN(const char* state, TensorBytes(core_state, "core_state", v1::DTYPE_FLOAT32,
                                                    {rows, out.state_width}, 4, at(layout_.core_state_offset())));
    std::memcpy(out.core_states, state, static_cast<size_t>(rows) * out.state_width * 4);
  }
  return absl::OkStatus();
}

}  // namespace rill::actor
