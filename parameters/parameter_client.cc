#include "parameters/parameter_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/backoff.h"
#include "common/grpc_status.h"
#include "common/grpc_util.h"
#include "common/logging.h"

namespace rill::parameters {
namespace {

// `update` as received now, its blob decoded; DataLoss when it does not
// parse.
absl::StatusOr<ReceivedParameters> Decode(const v1::ParameterUpdate& update) {
  ReceivedParameters received;
  received.received = absl::Now();
  received.published = absl::FromUnixMicros(update.published_unix_micros());
  received.version = update.version();
  received.learner_updates = update.learner_updates();
  received.pool_versions.assign(update.pool_versions().begin(), update.pool_versions().end());
  if (!received.parameters.ParseFromString(update.blob())) {
    return absl::DataLossError(absl::StrCat("parameter version ", update.version(), " does not parse"));
  }
  return received;
}

}  // namespace

ParameterClient::ParameterClient(const std::string& learner_address, int64_t max_message_bytes,
                                 ParameterUpdateCallback on_update, std::string policy)
    : channel_(MakeChannel(learner_address, max_message_bytes)),
      stub_(v1::ParameterService::NewStub(channel_)),
      on_update_(std::move(on_update)),
      policy_(std::move(policy)),
      thread_([this] { Run(); }) {}

ParameterClient::~ParameterClient() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (active_context_ != nullptr) active_context_->TryCancel();
  }
  thread_.join();
}

std::optional<ReceivedParameters> ParameterClient::TakeNewer() {
  absl::MutexLock lock(&mu_);
  std::optional<ReceivedParameters> taken = std::move(pending_);
  pending_.reset();
  return taken;
}

bool ParameterClient::WaitForVersionAfter(int64_t version, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto newer = [this, version]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return latest_version_.load() > version || stopping_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&newer), timeout);
  return latest_version_.load() > version;
}

void ParameterClient::Run() {
  Backoff backoff;
  while (true) {
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      active_context_ = &context;
    }
    // after_version 0: the latest version comes first, even if a restarted
    // learner resumed from a checkpoint older than what this actor has.
    v1::SubscribeRequest request;
    request.set_policy(policy_);
    std::unique_ptr<grpc::ClientReader<v1::ParameterUpdate>> reader = stub_->Subscribe(&context, request);
    v1::ParameterUpdate update;
    while (reader->Read(&update)) {
      backoff.Reset();
      if (on_update_) {
        const int64_t version = update.version();
        on_update_(std::move(update));
        update.Clear();  // moved from; Read fills it again
        absl::MutexLock lock(&mu_);
        latest_version_.store(version);
        continue;
      }
      absl::StatusOr<ReceivedParameters> decoded = Decode(update);
      if (!decoded.ok()) {
        RILL_LOG(ERROR) << decoded.status().message() << "; skipped";
        continue;
      }
      ReceivedParameters received = *std::move(decoded);
      absl::MutexLock lock(&mu_);
      // Stored under the lock so that WaitForVersionAfter's condition sees it.
      latest_version_.store(update.version());
      pending_ = std::move(received);
    }
    grpc::Status status = reader->Finish();
    absl::MutexLock lock(&mu_);
    active_context_ = nullptr;
    if (stopping_) return;
    const absl::Duration wait = backoff.Next();
    RILL_LOG(WARNING) << "parameter stream ended (" << status.error_message() << "); reconnecting in "
                      << absl::FormatDuration(wait);
    auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithTimeout(absl::Condition(&stop), wait);
  }
}

absl::StatusOr<ReceivedParameters> ParameterClient::FetchVersion(int64_t version, absl::Duration timeout) const {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(timeout));
  v1::GetVersionRequest request;
  request.set_version(version);
  request.set_policy(policy_);
  v1::ParameterUpdate update;
  const grpc::Status status = stub_->GetVersion(&context, request, &update);
  if (!status.ok()) return FromGrpcStatus(status);
  return Decode(update);
}

}  // namespace rill::parameters
