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
                                 ParameterUpdateCallback on_update, std::string policy, bool shared_memory)
    : address_(learner_address),
      channel_(MakeChannel(learner_address, max_message_bytes)),
      stub_(v1::ParameterService::NewStub(channel_)),
      on_update_(std::move(on_update)),
      policy_(std::move(policy)),
      ask_region_(shared_memory && on_update_ == nullptr),
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
  std::optional<ReceivedParameters> taken;
  std::shared_ptr<ParameterRegionReader> region;
  int64_t have;
  {
    absl::MutexLock lock(&mu_);
    taken = std::move(pending_);
    pending_.reset();
    region = RegionLocked();
    have = std::max(taken_version_, taken.has_value() ? taken->version : 0);
  }
  if (region != nullptr) {
    // Parsed here, on the caller's thread, and only the version taken up.
    absl::StatusOr<std::optional<v1::ParameterUpdate>> read = region->ReadNewer(have);
    if (!read.ok()) {
      if (region_errors_++ % 1000 == 0) RILL_LOG(ERROR) << read.status().message() << "; skipped";
    } else if (read->has_value()) {
      absl::StatusOr<ReceivedParameters> decoded = Decode(**read);
      if (decoded.ok()) {
        taken = *std::move(decoded);
      } else {
        if (region_errors_++ % 1000 == 0) RILL_LOG(ERROR) << decoded.status().message() << "; skipped";
      }
    }
  }
  if (taken.has_value()) {
    absl::MutexLock lock(&mu_);
    taken_version_ = std::max(taken_version_, taken->version);
  }
  return taken;
}

std::shared_ptr<ParameterRegionReader> ParameterClient::Region() {
  absl::MutexLock lock(&mu_);
  return RegionLocked();
}

const std::shared_ptr<ParameterRegionReader>& ParameterClient::RegionLocked() {
  if (region_ != nullptr && region_->retired()) {
    RILL_LOG(INFO) << "the learner retired its parameter region; versions come over gRPC";
    region_.reset();
  }
  return region_;
}

int64_t ParameterClient::latest_version() const {
  absl::MutexLock lock(&mu_);
  return std::max(latest_version_.load(), region_ != nullptr ? region_->latest_version() : 0);
}

bool ParameterClient::shared_memory() const {
  absl::MutexLock lock(&mu_);
  return region_ != nullptr;
}

bool ParameterClient::WaitForVersionAfter(int64_t version, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::shared_ptr<ParameterRegionReader> region;
    {
      absl::MutexLock lock(&mu_);
      // Over the stream: woken by the version, a region or stopping.
      auto newer = [this, version]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return latest_version_.load() > version || stopping_ || region_ != nullptr;
      };
      mu_.AwaitWithDeadline(absl::Condition(&newer), deadline);
      if (latest_version_.load() > version) return true;
      if (stopping_) return false;
      region = region_;
    }
    if (region == nullptr) return false;  // the deadline
    // In the region: woken by the learner's write. Slices of 100 ms see a
    // dropped region or a stopping client.
    const absl::Duration left = deadline - absl::Now();
    if (region->WaitNewer(version, std::min(left, absl::Milliseconds(100)))) return true;
    if (left <= absl::Milliseconds(100)) return region->latest_version() > version;
    if (Region() == nullptr) continue;  // retired: the stream again
  }
}

void ParameterClient::TakeRegion(const v1::ParameterRegionOffer& offer) {
  RegionAddress address;
  address.socket = offer.socket();
  address.token = offer.token();
  address.size = offer.size();
  bool reached = false;
  absl::StatusOr<std::unique_ptr<SharedRegion>> mapped =
      SharedRegion::Connect(address, {{"parameters", 0, offer.size()}}, absl::Seconds(5), &reached);
  absl::StatusOr<std::unique_ptr<ParameterRegionReader>> region =
      mapped.ok() ? ParameterRegionReader::Open(*std::move(mapped), offer.size()) : mapped.status();
  if (!region.ok()) {
    // Another host (the socket is not there): the stream it is.
    if (reached) {
      RILL_LOG(WARNING) << region.status().message() << "; parameter versions from " << address_ << " over gRPC";
    } else {
      RILL_LOG(INFO) << "parameter versions from " << address_ << " over gRPC: its shared region is out of reach ("
                     << region.status().message() << ")";
    }
    return;
  }
  RILL_LOG(INFO) << "parameter versions from " << address_ << " through shared region @" << offer.socket();
  absl::MutexLock lock(&mu_);
  region_ = *std::move(region);
  taken_version_ = 0;
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
    request.set_shared_memory(ask_region_);
    std::unique_ptr<grpc::ClientReader<v1::ParameterUpdate>> reader = stub_->Subscribe(&context, request);
    v1::ParameterUpdate update;
    while (reader->Read(&update)) {
      backoff.Reset();
      if (update.has_shared_memory()) {
        TakeRegion(update.shared_memory());
        continue;
      }
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
    region_.reset();  // the learner's: the next stream offers its new one
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
