#include "replay/sampler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "replay/client_errors.h"

namespace rill::replay {
namespace {

constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(2);

}  // namespace

absl::StatusOr<std::unique_ptr<ReplaySampler>> ReplaySampler::Create(const SamplerOptions& options) {
  if (options.addresses.empty()) return absl::InvalidArgumentError("SamplerOptions.addresses is empty");
  for (const std::string& address : options.addresses) {
    if (address.empty()) return absl::InvalidArgumentError("SamplerOptions.addresses has an empty address");
  }
  if (options.table.empty()) return absl::InvalidArgumentError("SamplerOptions.table is empty");
  if (options.batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("SamplerOptions.batch_size ", options.batch_size, " must be >= 1"));
  }
  if (options.prefetch_batches < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("SamplerOptions.prefetch_batches ", options.prefetch_batches, " must be >= 1"));
  }
  std::unique_ptr<ReplaySampler> sampler(new ReplaySampler(options));
  for (const std::string& address : options.addresses) {
    sampler->threads_.emplace_back([s = sampler.get(), address] { s->ShardLoop(address); });
  }
  return sampler;
}

ReplaySampler::ReplaySampler(const SamplerOptions& options)
    : options_(options), queue_(static_cast<size_t>(options.prefetch_batches)) {}

ReplaySampler::~ReplaySampler() {
  Close();
  for (std::thread& thread : threads_) thread.join();
}

void ReplaySampler::Close() {
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (grpc::ClientContext* context : open_calls_) context->TryCancel();
  }
  queue_.Close();
}

int64_t ReplaySampler::reconnects() const {
  absl::MutexLock lock(&mu_);
  return reconnects_;
}

absl::StatusOr<std::unique_ptr<v1::SampleResponse>> ReplaySampler::Next(absl::Duration timeout) {
  {
    absl::MutexLock lock(&mu_);
    if (!error_.ok()) return error_;
    if (closed_) return absl::CancelledError("the replay sampler is closed");
  }
  absl::StatusOr<Item> item = queue_.Pop(timeout);
  if (!item.ok()) {
    if (item.status().code() == absl::StatusCode::kDeadlineExceeded) {
      return absl::DeadlineExceededError(absl::StrCat("no batch of table '", options_.table, "' from ",
                                                      options_.addresses.size(), " replay shard(s) within ",
                                                      absl::FormatDuration(timeout)));
    }
    return item.status();
  }
  if (item->batch == nullptr) return item->error;
  return std::move(item->batch);
}

absl::Status ReplaySampler::RunStream(v1::ReplayService::Stub& stub) {
  grpc::ClientContext context;
  // Wait for a (re)starting shard, and send the call's metadata with the
  // first request so that opening never blocks.
  context.set_wait_for_ready(true);
  context.set_initial_metadata_corked(true);
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::CancelledError("closed");
    open_calls_.insert(&context);
  }
  std::unique_ptr<grpc::ClientReaderWriter<v1::SampleRequest, v1::SampleResponse>> stream = stub.Sample(&context);
  v1::SampleRequest request;
  request.set_table(options_.table);
  request.set_batch_size(options_.batch_size);
  request.set_num_batches(options_.prefetch_batches);
  bool open = stream->Write(request);
  v1::SampleRequest credit;
  credit.set_num_batches(1);
  while (open) {
    auto batch = std::make_unique<v1::SampleResponse>();
    if (!stream->Read(batch.get())) break;
    if (!queue_.Push(Item{std::move(batch), absl::OkStatus()}, absl::InfiniteDuration()).ok()) {
      context.TryCancel();  // closed
      break;
    }
    open = stream->Write(credit);
  }
  if (!open) {
    // The write side broke; drain what the server still sent so that Finish
    // reports its status.
    v1::SampleResponse ignored;
    while (stream->Read(&ignored)) {
    }
  }
  const absl::Status status = FromGrpcStatus(stream->Finish());
  absl::MutexLock lock(&mu_);
  open_calls_.erase(&context);
  return status;
}

void ReplaySampler::ShardLoop(const std::string& address) {
  std::unique_ptr<v1::ReplayService::Stub> stub =
      v1::ReplayService::NewStub(MakeChannel(address, options_.max_message_bytes));
  absl::Duration backoff = kFirstBackoff;
  while (true) {
    const absl::Time started = absl::Now();
    const absl::Status status = RunStream(*stub);
    if (IsPermanentStreamError(status)) {
      const absl::Status error(status.code(), absl::StrCat("replay sampler for table '", options_.table,
                                                           "' at ", address, ": ", status.message()));
      RILL_LOG(ERROR) << error.ToString();
      {
        absl::MutexLock lock(&mu_);
        if (closed_) return;
        if (error_.ok()) error_ = error;
      }
      // Wakes a Next waiting on an empty queue.
      queue_.Push(Item{nullptr, error}, absl::InfiniteDuration()).IgnoreError();
      return;
    }
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    RILL_LOG(WARNING) << "replay sampler for table '" << options_.table << "' at " << address
                      << ": stream ended (" << status.ToString() << "); reopening it";
    // A stream that worked for a while restarts the backoff.
    if (absl::Now() - started > kMaxBackoff) backoff = kFirstBackoff;
    mu_.AwaitWithTimeout(absl::Condition(&closed_), backoff);
    if (closed_) return;
    backoff = std::min(2 * backoff, kMaxBackoff);
    ++reconnects_;
  }
}

}  // namespace rill::replay
