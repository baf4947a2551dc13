#include "learner/parameter_service.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace rill::learner {

absl::Status ParameterStore::Publish(int64_t version, int64_t learner_updates, std::string blob) {
  auto update = std::make_shared<v1::ParameterUpdate>();
  update->set_version(version);
  update->set_learner_updates(learner_updates);
  update->set_published_unix_micros(absl::ToUnixMicros(absl::Now()));
  *update->mutable_blob() = std::move(blob);
  absl::MutexLock lock(&mu_);
  if (latest_ != nullptr && version <= latest_->version()) {
    return absl::FailedPreconditionError(
        absl::StrCat("parameter version ", version, " is not newer than ", latest_->version()));
  }
  latest_ = std::move(update);
  return absl::OkStatus();
}

std::shared_ptr<const v1::ParameterUpdate> ParameterStore::Latest() const {
  absl::MutexLock lock(&mu_);
  return latest_;
}

absl::StatusOr<std::shared_ptr<const v1::ParameterUpdate>> ParameterStore::WaitNewer(int64_t after_version,
                                                                                     absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [this, after_version]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || (latest_ != nullptr && latest_->version() > after_version);
  };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  if (closed_) return absl::CancelledError("parameter service is shutting down");
  if (latest_ == nullptr || latest_->version() <= after_version) {
    return absl::DeadlineExceededError(absl::StrCat("no parameter version newer than ", after_version));
  }
  return latest_;
}

void ParameterStore::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

void ParameterStore::SetProgress(int64_t updates, int64_t samples, double updates_per_second) {
  updates_.store(updates);
  samples_.store(samples);
  updates_per_second_.store(updates_per_second);
}

v1::LearnerStatus ParameterStore::Status() const {
  v1::LearnerStatus status;
  status.set_updates(updates_.load());
  status.set_samples(samples_.load());
  status.set_updates_per_second(updates_per_second_.load());
  std::shared_ptr<const v1::ParameterUpdate> latest = Latest();
  status.set_version(latest ? latest->version() : 0);
  return status;
}

grpc::Status ParameterServiceImpl::Subscribe(grpc::ServerContext* context, const v1::SubscribeRequest* request,
                                             grpc::ServerWriter<v1::ParameterUpdate>* writer) {
  int64_t after = request->after_version();
  while (!context->IsCancelled()) {
    // Wake regularly so a cancelled client frees this handler thread.
    absl::StatusOr<std::shared_ptr<const v1::ParameterUpdate>> update =
        store_->WaitNewer(after, absl::Now() + absl::Milliseconds(200));
    if (absl::IsDeadlineExceeded(update.status())) continue;
    if (!update.ok()) return ToGrpcStatus(update.status());
    if (!writer->Write(**update)) return grpc::Status(grpc::StatusCode::CANCELLED, "subscriber went away");
    after = (*update)->version();
  }
  return grpc::Status(grpc::StatusCode::CANCELLED, "subscriber cancelled");
}

grpc::Status ParameterServiceImpl::GetParameters(grpc::ServerContext*, const v1::GetParametersRequest*,
                                                 v1::ParameterUpdate* response) {
  std::shared_ptr<const v1::ParameterUpdate> latest = store_->Latest();
  if (latest == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no parameters published yet");
  *response = *latest;
  return grpc::Status::OK;
}

grpc::Status ParameterServiceImpl::Status(grpc::ServerContext*, const v1::LearnerStatusRequest*,
                                          v1::LearnerStatus* response) {
  *response = store_->Status();
  return grpc::Status::OK;
}

}  // namespace rill::learner
