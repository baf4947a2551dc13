#include "learner/inference/inference_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "common/stream_finisher.h"
#include "common/torch_tensor.h"

namespace rill::learner {
namespace {

// One actor's stream, from Act() until it is both done (OnDone) and no
// longer awaited by the batcher; whichever comes last deletes it.
class ActReactor final : public grpc::ServerBidiReactor<v1::ActRequest, v1::ActResponse> {
 public:
  ActReactor(const InferenceBatchers* batchers, int64_t stream) : batchers_(batchers), stream_(stream) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (!ok) {  // the actor closed its side (or went away)
      FinishLocked(grpc::Status::OK);
      return;
    }
    if (batcher_ == nullptr) {
      // The stream's first request picks its policy's batcher.
      absl::StatusOr<InferenceBatcher*> batcher = Find(request_.policy());
      if (!batcher.ok()) {
        FinishLocked(grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(batcher.status().message())));
        return;
      }
      batcher_ = *batcher;
      policy_ = request_.policy();
    } else if (request_.policy() != policy_) {
      FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                absl::StrCat("ActRequest.policy: '", request_.policy(), "', but this stream acts for "
                                             "policy '", policy_, "' (one stream per policy)")));
      return;
    }
    if (request_.deterministic() && request_.behaviour()) {
      FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "ActRequest: behaviour asks for the exploring policy's distribution; "
                                "it cannot be combined with deterministic"));
      return;
    }
    absl::StatusOr<torch::Tensor> observations = ToTorch(request_.observations());
    if (!observations.ok()) {
      FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                absl::StrCat("ActRequest.observations: ", observations.status().message())));
      return;
    }
    const ActKind kind = request_.deterministic() ? ActKind::kDeterministic
                         : request_.behaviour()   ? ActKind::kExploreWithBehaviour
                                                  : ActKind::kExplore;
    CoreStateRequest core;
    core.episode_start = std::move(*request_.mutable_episode_start());
    core.return_core_state = request_.return_core_state();
    awaiting_batcher_ = true;
    absl::Status submitted = batcher_->Submit(
        stream_, std::move(*observations), kind,
        [this](absl::StatusOr<ActResult> result) { OnActed(std::move(result)); }, std::move(core));
    if (!submitted.ok()) {
      awaiting_batcher_ = false;
      // Submit's refusals open with the argument's name: the request's field.
      FinishLocked(absl::IsCancelled(submitted)
                       ? grpc::Status(grpc::StatusCode::CANCELLED, std::string(submitted.message()))
                       : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                      absl::StrCat("ActRequest.", submitted.message())));
    }
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
    bool last;
    {
      absl::MutexLock lock(&mu_);
      if (batcher_ != nullptr) batcher_->StreamClosed(stream_);
      done_ = true;
      last = !awaiting_batcher_;
    }
    if (last) delete this;
  }

 private:
  // On the inference thread.
  void OnActed(absl::StatusOr<ActResult> result) ABSL_LOCKS_EXCLUDED(mu_) {
    mu_.Lock();
    awaiting_batcher_ = false;
    if (done_) {
      mu_.Unlock();
      delete this;
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
    absl::Status encoded = Encode(*result, &response_);
    if (!encoded.ok()) {
      FinishLocked(ToGrpcStatus(encoded));
      mu_.Unlock();
      return;
    }
    finisher_.WriteStarted();
    StartWrite(&response_);
    mu_.Unlock();
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
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finisher_.Finish(*this, std::move(status));
  }

  const InferenceBatchers* const batchers_;
  const int64_t stream_;
  absl::Mutex mu_;
  // The stream's policy and its batcher, from its first request on.
  InferenceBatcher* batcher_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::string policy_ ABSL_GUARDED_BY(mu_);
  v1::ActRequest request_;    // the read in progress or the request being acted on
  v1::ActResponse response_ ABSL_GUARDED_BY(mu_);
  StreamFinisher finisher_ ABSL_GUARDED_BY(mu_);
  bool awaiting_batcher_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

grpc::ServerBidiReactor<v1::ActRequest, v1::ActResponse>* InferenceServiceImpl::Act(grpc::CallbackServerContext*) {
  return new ActReactor(&batchers_, next_stream_.fetch_add(1));
}

}  // namespace rill::learner
