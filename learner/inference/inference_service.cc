#include "learner/inference/inference_service.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/stream_finisher.h"
#include "common/torch_tensor.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

// One actor's stream, from Act() until it is both done (OnDone) and no
// longer awaited by the batcher; whichever comes last deletes it.
class ActReactor final : public grpc::ServerBidiReactor<v1::ActRequest, v1::ActResponse> {
 public:
  ActReactor(const InferenceBatchers* batchers, RegionServer* regions, int64_t stream)
      : batchers_(batchers), regions_(regions), stream_(stream) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (!ok) {  // the actor closed its side (or went away)
      FinishLocked(grpc::Status::OK);
      return;
    }
    HandleLocked(request_, /*through_region=*/false);
  }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (finisher_.WriteDone(*this)) return;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the actor went away before its actions"));
      return;
    }
    StartRead(&request_);
  }

  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the actor cancelled the stream"));
  }

  void OnDone() override {
    std::shared_ptr<HostedRegion> region;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      region = std::move(region_);
    }
    // Not under mu_: Close waits for the region's handlers, which take it.
    if (region != nullptr) regions_->Close(region.get());
    bool last;
    {
      absl::MutexLock lock(&mu_);
      if (batcher_ != nullptr) batcher_->StreamClosed(stream_);
      done_returned_ = true;
      last = !awaiting_batcher_;
    }
    if (last) delete this;
  }

 private:
  // A request from the gRPC stream or, `through_region`, a frame of the
  // shared region (its observations in the region).
  void HandleLocked(v1::ActRequest& request, bool through_region) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (batcher_ == nullptr) {
      // The stream's first request picks its policy's batcher.
      absl::StatusOr<InferenceBatcher*> batcher = Find(request.policy());
      if (!batcher.ok()) {
        FinishLocked(grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(batcher.status().message())));
        return;
      }
      batcher_ = *batcher;
      policy_ = request.policy();
    } else if (request.policy() != policy_) {
      FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                absl::StrCat("ActRequest.policy: '", request.policy(), "', but this stream acts for "
                                             "policy '", policy_, "' (one stream per policy)")));
      return;
    }
    if (request.deterministic() && request.behaviour()) {
      FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "ActRequest: behaviour asks for the exploring policy's distribution; "
                                "it cannot be combined with deterministic"));
      return;
    }
    absl::StatusOr<torch::Tensor> observations =
        through_region ? RegionObservationsLocked(request.observations()) : ToTorch(request.observations());
    if (!observations.ok()) {
      FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                absl::StrCat("ActRequest.observations: ", observations.status().message())));
      return;
    }
    if (!through_region && request.has_shared_memory() && region_ == nullptr && regions_ != nullptr) {
      absl::Status asked = CheckAsk(request.shared_memory());
      if (!asked.ok()) {
        FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  absl::StrCat("ActRequest.shared_memory.", asked.message())));
        return;
      }
      ask_ = request.shared_memory();
      offer_ = true;
    }
    const ActKind kind = request.deterministic() ? ActKind::kDeterministic
                         : request.behaviour()   ? ActKind::kExploreWithBehaviour
                                                  : ActKind::kExplore;
    CoreStateRequest core;
    core.episode_start = std::move(*request.mutable_episode_start());
    core.return_core_state = request.return_core_state();
    awaiting_batcher_ = true;
    absl::Status submitted = batcher_->Submit(
        stream_, std::move(*observations), kind,
        [this, through_region](absl::StatusOr<ActResult> result) { OnActed(std::move(result), through_region); },
        std::move(core));
    if (!submitted.ok()) {
      awaiting_batcher_ = false;
      // Submit's refusals open with the argument's name: the request's field.
      FinishLocked(absl::IsCancelled(submitted)
                       ? grpc::Status(grpc::StatusCode::CANCELLED, std::string(submitted.message()))
                       : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                      absl::StrCat("ActRequest.", submitted.message())));
    }
  }

  // On the inference thread.
  void OnActed(absl::StatusOr<ActResult> result, bool through_region) ABSL_LOCKS_EXCLUDED(mu_) {
    mu_.Lock();
    awaiting_batcher_ = false;
    if (done_) {
      const bool last = done_returned_;
      mu_.Unlock();
      if (last) delete this;
      return;
    }
    if (finisher_.finished()) {
      mu_.Unlock();
      return;
    }
    if (!result.ok()) {
      const grpc::StatusCode code = absl::IsInvalidArgument(result.status()) ? grpc::StatusCode::INVALID_ARGUMENT
                                                                             : ToGrpcStatus(result.status()).error_code();
      FinishLocked(grpc::Status(code, absl::StrCat("ActRequest.observations: ", result.status().message())));
      mu_.Unlock();
      return;
    }
    response_.Clear();
    absl::Status encoded =
        through_region ? EncodeIntoRegionLocked(*result, &response_) : Encode(*result, &response_);
    if (!encoded.ok()) {
      FinishLocked(ToGrpcStatus(encoded));
      mu_.Unlock();
      return;
    }
    if (through_region) {
      absl::Status answered = region_->Answer(response_.SerializeAsString());
      if (!answered.ok()) {
        FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED,
                                  absl::StrCat("the actor's shared region closed before its actions: ",
                                               answered.message())));
      }
      mu_.Unlock();
      return;
    }
    if (offer_) OfferRegionLocked(&response_);
    finisher_.WriteStarted();
    StartWrite(&response_);
    mu_.Unlock();
  }

  // A frame of the shared region, on its server's thread.
  void OnRegionFrame(std::string_view frame) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (done_ || finisher_.finished()) return;
    if (!region_request_.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
      FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "a frame of the shared region is not a serialized ActRequest"));
      return;
    }
    if (region_request_.has_shared_memory()) {
      FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "ActRequest.shared_memory: this stream's region is taken already"));
      return;
    }
    HandleLocked(region_request_, /*through_region=*/true);
    if (!counted_shared_ && batcher_ != nullptr && !finisher_.finished()) {
      counted_shared_ = true;  // its first request through the region has been submitted
      batcher_->StreamThroughSharedMemory(stream_);
    }
  }

  // The region serves no more (its server's thread).
  void OnRegionClosed(const absl::Status& why) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    // A client that never came, or left, goes on over gRPC or is gone (the
    // stream says which); one that broke the framing is refused.
    if (absl::IsInvalidArgument(why)) {
      FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(why.message())));
    }
  }

  // The ask's widths in range, the region no larger than kMaxRegionBytes.
  static absl::Status CheckAsk(const v1::ActRegionAsk& ask) {
    auto out_of_range = [](const char* field, int64_t value, int64_t low, int64_t high) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", value, " is out of range ", low, "..", high));
    };
    if (ask.rows() < 1 || ask.rows() > InferenceBatcher::kMaxRequestRows) {
      return out_of_range("rows", ask.rows(), 1, InferenceBatcher::kMaxRequestRows);
    }
    if (ask.observation_bytes() < 1 || ask.observation_bytes() > kMaxRowBytes) {
      return out_of_range("observation_bytes", ask.observation_bytes(), 1, kMaxRowBytes);
    }
    for (const auto& [field, width] : {std::pair<const char*, int32_t>{"action_dim", ask.action_dim()},
                                       {"distribution_width", ask.distribution_width()},
                                       {"state_width", ask.state_width()}}) {
      if (width < 0 || width > kMaxRowBytes / 4) return out_of_range(field, width, 0, kMaxRowBytes / 4);
    }
    const int64_t size = Layout(ask).size();
    if (size > kMaxRegionBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("rows: a region of ", size, " bytes for ", ask.rows(), " rows (at most ", kMaxRegionBytes, ")"));
    }
    return absl::OkStatus();
  }

  // The bytes of each of the region's arrays for `ask`.
  struct ArrayBytes {
    int64_t observations, actions, log_prob, distribution, core_state;
  };
  static ArrayBytes Bytes(const v1::ActRegionAsk& ask) {
    const int64_t rows = ask.rows();
    return {rows * ask.observation_bytes(), rows * std::max<int64_t>(4 * int64_t{ask.action_dim()}, 8), rows * 4,
            rows * 4 * int64_t{ask.distribution_width()}, rows * 4 * int64_t{ask.state_width()}};
  }

  // The region's arrays for `ask`, each aligned to 64 bytes.
  static v1::ActRegion Layout(const v1::ActRegionAsk& ask) {
    const ArrayBytes bytes = Bytes(ask);
    int64_t offset = 0;
    auto next = [&offset](int64_t size) {
      const int64_t at = offset;
      offset = (offset + size + 63) / 64 * 64;
      return at;
    };
    v1::ActRegion layout;
    layout.set_observations_offset(next(bytes.observations));
    layout.set_actions_offset(next(bytes.actions));
    layout.set_log_prob_offset(next(bytes.log_prob));
    layout.set_distribution_offset(next(bytes.distribution));
    layout.set_core_state_offset(next(bytes.core_state));
    layout.set_size(std::max<int64_t>(offset, 64));
    return layout;
  }

  // Offers the stream's region in `response` (the answer to the request
  // that asked); nothing when this host cannot.
  void OfferRegionLocked(v1::ActResponse* response) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    offer_ = false;
    v1::ActRegion layout = Layout(ask_);
    HostedRegion::Handlers handlers;
    handlers.on_message = [this](std::string_view frame) { OnRegionFrame(frame); };
    handlers.on_closed = [this](const absl::Status& why) { OnRegionClosed(why); };
    absl::StatusOr<std::shared_ptr<HostedRegion>> region =
        regions_->Offer(layout.size(), std::move(handlers), kAcceptWithin);
    if (!region.ok()) {
      RILL_LOG(WARNING) << "inference: no shared region for an actor stream (" << region.status()
                        << "); serving it over gRPC";
      return;
    }
    region_ = *std::move(region);
    layout.set_socket(region_->address().socket);
    layout.set_token(region_->address().token);
    *response->mutable_shared_memory() = std::move(layout);
    layout_ = response->shared_memory();
  }

  // A region request's observations: [rows, d] of float32 or uint8 in the
  // region, inside what the stream asked for.
  absl::StatusOr<torch::Tensor> RegionObservationsLocked(const v1::Tensor& tensor)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (tensor.dtype() != v1::DTYPE_FLOAT32 && tensor.dtype() != v1::DTYPE_UINT8) {
      return absl::InvalidArgumentError(
          absl::StrCat("dtype ", v1::DType_Name(tensor.dtype()), " (float32 or uint8 taken)"));
    }
    if (tensor.shape_size() != 2 || !tensor.data().empty()) {
      return absl::InvalidArgumentError(
          "through the shared region a [rows, obs_dim] tensor's dtype and shape, its bytes in the region");
    }
    const int64_t rows = tensor.shape(0), width = tensor.shape(1);
    const int64_t element = tensor.dtype() == v1::DTYPE_UINT8 ? 1 : 4;
    if (rows < 1 || rows > ask_.rows() || width < 1 || width * element > ask_.observation_bytes()) {
      return absl::InvalidArgumentError(absl::StrCat("shape [", rows, ", ", width, "] does not fit the region (",
                                                     ask_.rows(), " rows of ", ask_.observation_bytes(),
                                                     " bytes asked for)"));
    }
    const torch::ScalarType type = element == 1 ? torch::kUInt8 : torch::kFloat32;
    // A copy: the batch may run after a misbehaving client wrote again.
    return torch::from_blob(region_->at(layout_.observations_offset()), {rows, width}, type).clone();
  }

  // The result's tensors into the region, their dtypes and shapes into
  // `response`. FailedPrecondition when the policy's outputs are wider
  // than the stream asked for.
  absl::Status EncodeIntoRegionLocked(const ActResult& result, v1::ActResponse* response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const ArrayBytes bytes = Bytes(ask_);
    struct Output {
      const char* name;
      const torch::Tensor* tensor;
      v1::Tensor* (v1::ActResponse::*meta)();
      int64_t offset;
      int64_t capacity;
    };
    const Output outputs[] = {
        {"actions", &result.actions, &v1::ActResponse::mutable_actions, layout_.actions_offset(), bytes.actions},
        {"log_prob", &result.log_prob, &v1::ActResponse::mutable_log_prob, layout_.log_prob_offset(),
         bytes.log_prob},
        {"distribution", &result.distribution, &v1::ActResponse::mutable_distribution,
         layout_.distribution_offset(), bytes.distribution},
        {"core_state", &result.core_state, &v1::ActResponse::mutable_core_state, layout_.core_state_offset(),
         bytes.core_state}};
    for (const Output& output : outputs) {
      if (!output.tensor->defined()) continue;  // only what the result holds is set
      const torch::Tensor tensor = output.tensor->contiguous();
      ASSIGN_OR_RETURN(const v1::DType dtype, FromTorchDType(tensor.scalar_type()));
      const int64_t size = static_cast<int64_t>(tensor.nbytes());
      if (size > output.capacity) {
        return absl::FailedPreconditionError(
            absl::StrCat("the policy's ", output.name, " take ", size, " bytes, more than the ", output.capacity,
                         " the actor's shared region holds (its ActRegionAsk is narrower than the policy)"));
      }
      v1::Tensor* meta = (response->*output.meta)();
      meta->set_dtype(dtype);
      for (int64_t d : tensor.sizes()) meta->add_shape(d);
      if (size > 0) std::memcpy(region_->at(output.offset), tensor.data_ptr(), static_cast<size_t>(size));
    }
    response->set_version(result.version);
    response->set_batch_rows(result.batch_rows);
    return absl::OkStatus();
  }

  static absl::Status Encode(const ActResult& result, v1::ActResponse* response) {
    absl::StatusOr<v1::Tensor> actions = FromTorch(result.actions);
    if (!actions.ok()) return actions.status();
    *response->mutable_actions() = std::move(*actions);
    if (result.log_prob.defined()) {
      absl::StatusOr<v1::Tensor> log_prob = FromTorch(result.log_prob);
      absl::StatusOr<v1::Tensor> distribution = FromTorch(result.distribution);
      if (!log_prob.ok()) return log_prob.status();
      if (!distribution.ok()) return distribution.status();
      *response->mutable_log_prob() = std::move(*log_prob);
      *response->mutable_distribution() = std::move(*distribution);
    }
    if (result.core_state.defined()) {
      absl::StatusOr<v1::Tensor> core_state = FromTorch(result.core_state);
      if (!core_state.ok()) return core_state.status();
      *response->mutable_core_state() = std::move(*core_state);
    }
    response->set_version(result.version);
    response->set_batch_rows(result.batch_rows);
    return absl::OkStatus();
  }

  absl::StatusOr<InferenceBatcher*> Find(const std::string& policy) const {
    if (policy.empty()) return batchers_->front().second;
    std::vector<std::string> names;
    for (const auto& [name, batcher] : *batchers_) {
      if (name == policy) return batcher;
      names.push_back(name.empty() ? "(unnamed)" : name);
    }
    return absl::NotFoundError(absl::StrCat("ActRequest.policy: this inference service serves no policy '", policy,
                                            "'; its policies: ", absl::StrJoin(names, ", ")));
  }

  // Finishes once: at once, or after the write on the wire completes.
  // The region's socket is shut down too, so a client waiting on it reads
  // the status from the stream.
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finisher_.Finish(*this, std::move(status));
    if (region_ != nullptr) region_->Shutdown();
  }

  // How long a region waits for its client after the answer offering it.
  static constexpr absl::Duration kAcceptWithin = absl::Seconds(5);
  static constexpr int64_t kMaxRowBytes = int64_t{16} << 20;
  static constexpr int64_t kMaxRegionBytes = int64_t{1} << 30;

  const InferenceBatchers* const batchers_;
  RegionServer* const regions_;  // null: no shared memory on this host
  const int64_t stream_;
  absl::Mutex mu_;
  // The stream's policy and its batcher, from its first request on.
  InferenceBatcher* batcher_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::string policy_ ABSL_GUARDED_BY(mu_);
  v1::ActRequest request_;    // the read in progress or the request being acted on
  v1::ActResponse response_ ABSL_GUARDED_BY(mu_);
  StreamFinisher finisher_ ABSL_GUARDED_BY(mu_);
  bool awaiting_batcher_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;           // OnDone began
  bool done_returned_ ABSL_GUARDED_BY(mu_) = false;  // ...and no longer needs this
  // The shared region: asked for by the request being acted on (offer_,
  // with its ask), then offered and maybe taken.
  bool offer_ ABSL_GUARDED_BY(mu_) = false;
  v1::ActRegionAsk ask_ ABSL_GUARDED_BY(mu_);
  v1::ActRegion layout_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<HostedRegion> region_ ABSL_GUARDED_BY(mu_);
  v1::ActRequest region_request_ ABSL_GUARDED_BY(mu_);
  bool counted_shared_ ABSL_GUARDED_BY(mu_) = false;  // told the batcher
};

}  // namespace

grpc::ServerBidiReactor<v1::ActRequest, v1::ActResponse>* InferenceServiceImpl::Act(grpc::CallbackServerContext*) {
  return new ActReactor(&batchers_, regions_.get(), next_stream_.fetch_add(1));
}

InferenceServiceImpl::InferenceServiceImpl(InferenceBatchers batchers) : batchers_(std::move(batchers)) {
  absl::StatusOr<std::unique_ptr<RegionServer>> regions = RegionServer::Create("rill-inference");
  if (regions.ok()) {
    regions_ = *std::move(regions);
  } else {
    RILL_LOG(WARNING) << "inference: no shared memory on this host (" << regions.status()
                      << "); every actor stream goes over gRPC";
  }
}

InferenceServiceImpl::~InferenceServiceImpl() = default;

int InferenceServiceImpl::shared_memory_streams() const {
  return regions_ == nullptr ? 0 : regions_->connected_regions();
}

}  // namespace rill::learner
