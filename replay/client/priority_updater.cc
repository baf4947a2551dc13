#include "replay/client/priority_updater.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/grpc_util.h"
#include "common/logging.h"

namespace rill::replay {
namespace {

// Failed updates are logged at most this often.
constexpr absl::Duration kErrorLogPeriod = absl::Seconds(10);

}  // namespace

absl::StatusOr<std::unique_ptr<PriorityUpdater>> PriorityUpdater::Create(const PriorityUpdaterOptions& options) {
  if (options.addresses.empty()) return absl::InvalidArgumentError("priority updater: no replay address");
  if (options.table.empty()) return absl::InvalidArgumentError("priority updater: empty table name");
  if (options.max_pending < 1) {
    return absl::InvalidArgumentError(absl::StrCat("priority updater: max_pending ", options.max_pending, " must be >= 1"));
  }
  return std::unique_ptr<PriorityUpdater>(new PriorityUpdater(options));
}

PriorityUpdater::PriorityUpdater(const PriorityUpdaterOptions& options)
    : options_(options), pending_per_shard_(options.addresses.size(), 0) {
  for (const std::string& address : options_.addresses) {
    stubs_.push_back(v1::ReplayService::NewStub(MakeChannel(address, options_.max_message_bytes)));
  }
  sender_ = std::thread([this] { SendLoop(); });
}

PriorityUpdater::~PriorityUpdater() {
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  sender_.join();
}

absl::Status PriorityUpdater::Enqueue(int shard, std::vector<uint64_t> keys, std::vector<double> priorities) {
  if (shard < 0 || shard >= static_cast<int>(stubs_.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority update for shard ", shard, " of ", stubs_.size()));
  }
  if (keys.size() != priorities.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority update with ", keys.size(), " keys but ", priorities.size(), " priorities"));
  }
  Pending pending;
  pending.shard = shard;
  pending.request.set_table(options_.table);
  pending.request.mutable_keys()->Add(keys.begin(), keys.end());
  pending.request.mutable_priorities()->Add(priorities.begin(), priorities.end());
  absl::MutexLock lock(&mu_);
  if (pending_per_shard_[shard] >= options_.max_pending) {
    // Drop this shard's oldest: newer priorities are the better advice.
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->shard != shard) continue;
      queue_.erase(it);
      --pending_per_shard_[shard];
      ++stats_.dropped;
      break;
    }
  }
  queue_.push_back(std::move(pending));
  ++pending_per_shard_[shard];
  return absl::OkStatus();
}

absl::Status PriorityUpdater::Flush(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queue_.empty() && !sending_; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&drained), timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat(queue_.size(), " priority updates still queued after ", absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

PriorityUpdaterStats PriorityUpdater::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void PriorityUpdater::SendLoop() {
  while (true) {
    Pending pending;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (closed_) return;
      pending = std::move(queue_.front());
      queue_.pop_front();
      --pending_per_shard_[pending.shard];
      sending_ = true;
    }
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(options_.rpc_timeout));
    v1::UpdatePrioritiesResponse response;
    const absl::Time start = absl::Now();
    const grpc::Status status = stubs_[pending.shard]->UpdatePriorities(&context, pending.request, &response);
    if (status.ok() && options_.on_rpc_latency) options_.on_rpc_latency(absl::Now() - start);
    absl::MutexLock lock(&mu_);
    sending_ = false;
    if (status.ok()) {
      ++stats_.sent;
      stats_.keys_updated += response.updated();
      continue;
    }
    ++stats_.failed;
    const absl::Time now = absl::Now();
    if (now - last_error_log_ >= kErrorLogPeriod) {
      last_error_log_ = now;
      RILL_LOG(WARNING) << "priority update to replay shard " << pending.shard << " ("
                        << options_.addresses[pending.shard] << ") failed: " << FromGrpcStatus(status)
                        << " (" << stats_.failed << " failed so far; the items keep their older priorities)";
    }
  }
}

}  // namespace rill::replay
