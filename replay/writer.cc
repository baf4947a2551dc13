#include "replay/writer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/tensor_codec.h"
#include "replay/client_errors.h"

namespace rill::replay {
namespace {

constexpr uint64_t kSequenceMask = (uint64_t{1} << ReplayWriter::kSequenceBits) - 1;
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(2);

}  // namespace

absl::StatusOr<std::unique_ptr<ReplayWriter>> ReplayWriter::Create(const WriterOptions& options) {
  if (options.address.empty()) return absl::InvalidArgumentError("WriterOptions.address is empty");
  if (options.table.empty()) return absl::InvalidArgumentError("WriterOptions.table is empty");
  absl::Status st = CheckSignature(options.signature);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat("WriterOptions.signature: ", st.message()));
  if (options.batch_items < 1) {
    return absl::InvalidArgumentError(absl::StrCat("WriterOptions.batch_items ", options.batch_items, " must be >= 1"));
  }
  if (options.max_in_flight_batches < 1) {
    return absl::InvalidArgumentError(absl::StrCat("WriterOptions.max_in_flight_batches ",
                                                   options.max_in_flight_batches, " must be >= 1"));
  }
  if (options.key_prefix >= (uint64_t{1} << kKeyPrefixBits)) {
    return absl::InvalidArgumentError(
        absl::StrCat("WriterOptions.key_prefix ", options.key_prefix, " does not fit in ", kKeyPrefixBits, " bits"));
  }
  if (options.rpc_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("WriterOptions.rpc_timeout must be > 0");
  }
  std::vector<int64_t> column_bytes;
  int64_t item_bytes = 0;
  for (const v1::ColumnSpec& spec : options.signature.columns()) {
    column_bytes.push_back(*ItemBytes(spec));  // checked by CheckSignature
    item_bytes += column_bytes.back();
  }
  // Payload, a varint key per item and per-column headers.
  const int64_t batch_bytes = options.batch_items * (item_bytes + 10) +
                              64 * options.signature.columns_size() + 1024;
  if (batch_bytes > options.max_message_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("a batch of ", options.batch_items, " items needs about ",
                                                   batch_bytes, " bytes, over max_message_bytes ",
                                                   options.max_message_bytes, "; lower batch_items"));
  }
  std::unique_ptr<ReplayWriter> writer(new ReplayWriter(options, std::move(column_bytes)));
  std::shared_ptr<Stream> stream = writer->OpenStream();
  {
    absl::MutexLock lock(&writer->mu_);
    writer->stream_ = std::move(stream);
  }
  writer->sender_ = std::thread([w = writer.get()] { w->SenderLoop(); });
  writer->reader_ = std::thread([w = writer.get()] { w->ReaderLoop(); });
  return writer;
}

ReplayWriter::ReplayWriter(const WriterOptions& options, std::vector<int64_t> column_bytes)
    : options_(options),
      column_bytes_(std::move(column_bytes)),
      stub_(v1::ReplayService::NewStub(MakeChannel(options.address, options.max_message_bytes))),
      next_sequence_(options.first_sequence >= 0
                         ? static_cast<uint64_t>(options.first_sequence)
                         : static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()))) {}

ReplayWriter::~ReplayWriter() {
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    if (stream_ != nullptr) stream_->context.TryCancel();
  }
  if (sender_.joinable()) sender_.join();
  if (reader_.joinable()) reader_.join();
}

std::string ReplayWriter::Describe() const {
  return absl::StrCat("replay writer for table '", options_.table, "' at ", options_.address);
}

std::shared_ptr<ReplayWriter::Stream> ReplayWriter::OpenStream() {
  auto stream = std::make_shared<Stream>();
  // Wait for a restarting shard rather than failing at once, and send the
  // call's metadata with the first batch so that opening never blocks.
  stream->context.set_wait_for_ready(true);
  stream->context.set_initial_metadata_corked(true);
  stream->rw = stub_->Insert(&stream->context);
  return stream;
}

absl::Status ReplayWriter::WaitForRoomLocked(int num_batches, absl::Time deadline) {
  const size_t limit = static_cast<size_t>(std::max(options_.max_in_flight_batches, num_batches));
  auto room = [this, num_batches, limit]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || !error_.ok() || in_flight_.size() + num_batches <= limit;
  };
  const bool fits = mu_.AwaitWithDeadline(absl::Condition(&room), deadline);
  if (!error_.ok()) return error_;
  if (closed_) return absl::CancelledError(absl::StrCat(Describe(), " is closed"));
  if (!fits) {
    return absl::DeadlineExceededError(absl::StrCat(Describe(), ": ", in_flight_.size(),
                                                    " batches still await acknowledgement (max_in_flight_batches ",
                                                    options_.max_in_flight_batches, ")"));
  }
  return absl::OkStatus();
}

void ReplayWriter::SealPendingLocked() {
  for (int c = 0; c < pending_->columns_size(); ++c) pending_->mutable_columns(c)->set_shape(0, pending_items_);
  in_flight_.push_back(std::shared_ptr<const Batch>(std::move(pending_)));
  pending_items_ = 0;
}

absl::Status ReplayWriter::Append(const std::vector<const void*>& column_data, int num_items) {
  if (static_cast<int>(column_data.size()) != options_.signature.columns_size()) {
    return absl::InvalidArgumentError(absl::StrCat(Describe(), ": Append got ", column_data.size(),
                                                   " columns but the signature has ",
                                                   options_.signature.columns_size()));
  }
  if (num_items < 0) return absl::InvalidArgumentError(absl::StrCat("Append of ", num_items, " items"));
  for (size_t c = 0; c < column_data.size(); ++c) {
    if (column_data[c] == nullptr && num_items > 0 && column_bytes_[c] > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Append: no data for column '", options_.signature.columns(c).name(), "'"));
    }
  }

  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  const int completed = (pending_items_ + num_items) / options_.batch_items;
  if (completed > 0) {
    absl::Status room = WaitForRoomLocked(completed, absl::Now() + options_.rpc_timeout);
    if (!room.ok()) return room;
  }
  int done = 0;
  while (done < num_items) {
    if (pending_ == nullptr) {
      pending_ = std::make_unique<Batch>();
      pending_->set_table(options_.table);
      pending_->mutable_keys()->Reserve(options_.batch_items);
      for (int c = 0; c < options_.signature.columns_size(); ++c) {
        const v1::ColumnSpec& spec = options_.signature.columns(c);
        v1::Tensor* column = pending_->add_columns();
        column->set_dtype(spec.dtype());
        column->add_shape(0);  // set when sealed
        for (int64_t d : spec.shape()) column->add_shape(d);
        column->mutable_data()->reserve(static_cast<size_t>(options_.batch_items * column_bytes_[c]));
      }
    }
    const int take = std::min(num_items - done, options_.batch_items - pending_items_);
    for (size_t c = 0; c < column_data.size(); ++c) {
      const char* from = static_cast<const char*>(column_data[c]) + done * column_bytes_[c];
      pending_->mutable_columns(c)->mutable_data()->append(from, static_cast<size_t>(take * column_bytes_[c]));
    }
    for (int i = 0; i < take; ++i) {
      pending_->add_keys((options_.key_prefix << kSequenceBits) | (next_sequence_++ & kSequenceMask));
    }
    pending_items_ += take;
    done += take;
    if (pending_items_ == options_.batch_items) SealPendingLocked();
  }
  return absl::OkStatus();
}

absl::Status ReplayWriter::Flush(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  if (pending_items_ > 0) {
    absl::Status room = WaitForRoomLocked(1, deadline);
    if (!room.ok()) return room;
    SealPendingLocked();
  }
  auto acked = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || !error_.ok() || in_flight_.empty();
  };
  const bool all_acked = mu_.AwaitWithDeadline(absl::Condition(&acked), deadline);
  if (!error_.ok()) return error_;
  if (!all_acked) {
    return absl::DeadlineExceededError(absl::StrCat(Describe(), ": ", in_flight_.size(),
                                                    " batches still unacknowledged after ",
                                                    absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

int64_t ReplayWriter::acked_items() const {
  absl::MutexLock lock(&mu_);
  return acked_items_;
}

int64_t ReplayWriter::reconnects() const {
  absl::MutexLock lock(&mu_);
  return reconnects_;
}

void ReplayWriter::SenderLoop() {
  while (true) {
    std::shared_ptr<const Batch> batch;
    std::shared_ptr<Stream> stream;
    {
      absl::MutexLock lock(&mu_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return closed_ || (error_.ok() && sent_ < in_flight_.size());
      };
      mu_.Await(absl::Condition(&work));
      if (closed_) return;
      batch = in_flight_[sent_++];
      stream = stream_;
    }
    // A failed write means a broken stream: the reader sees it end, reopens
    // it, and everything unacknowledged is sent again.
    stream->rw->Write(*batch);
  }
}

void ReplayWriter::HandleAck(const v1::InsertResponse& response) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return;
  const bool matches = !in_flight_.empty() && sent_ > 0 &&
                       response.keys_size() == in_flight_.front()->keys_size() &&
                       std::equal(response.keys().begin(), response.keys().end(),
                                  in_flight_.front()->keys().begin());
  if (!matches) {
    error_ = absl::InternalError(absl::StrCat(Describe(), ": an acknowledgement of ", response.keys_size(),
                                              " keys does not match the oldest unacknowledged batch"));
    stream_->context.TryCancel();
    return;
  }
  acked_items_ += response.keys_size();
  in_flight_.pop_front();
  --sent_;
}

void ReplayWriter::ReaderLoop() {
  absl::Duration backoff = kFirstBackoff;
  while (true) {
    std::shared_ptr<Stream> stream;
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return;
      stream = stream_;
    }
    v1::InsertResponse response;
    while (stream->rw->Read(&response)) {
      HandleAck(response);
      backoff = kFirstBackoff;
    }
    const absl::Status status = FromGrpcStatus(stream->rw->Finish());

    absl::MutexLock lock(&mu_);
    if (closed_ || !error_.ok()) return;
    if (IsPermanentStreamError(status)) {
      error_ = absl::Status(status.code(), absl::StrCat(Describe(), ": ", status.message()));
      RILL_LOG(ERROR) << error_.ToString();
      return;
    }
    RILL_LOG(WARNING) << Describe() << ": stream ended (" << status.ToString() << "); reopening it and resending "
                      << in_flight_.size() << " unacknowledged batches";
    mu_.AwaitWithTimeout(absl::Condition(&closed_), backoff);
    if (closed_) return;
    backoff = std::min(2 * backoff, kMaxBackoff);
    // OpenStream does not block: the call starts with its first write.
    stream_ = OpenStream();
    sent_ = 0;
    ++reconnects_;
  }
}

}  // namespace rill::replay
