#include "replay/client/writer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/backoff.h"
#include "common/grpc_status.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/tensor_codec.h"
#include "replay/client/client_errors.h"

namespace rill::replay {
namespace {

constexpr uint64_t kSequenceMask = (uint64_t{1} << ReplayWriter::kSequenceBits) - 1;

}  // namespace

absl::StatusOr<std::unique_ptr<ReplayWriter>> ReplayWriter::Create(const WriterOptions& options) {
  if (options.addresses.empty()) return absl::InvalidArgumentError("WriterOptions.addresses is empty");
  for (size_t i = 0; i < options.addresses.size(); ++i) {
    if (options.addresses[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("WriterOptions.addresses[", i, "] is empty"));
    }
  }
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
  const std::pair<const char*, absl::Duration> durations[] = {{"rpc_timeout", options.rpc_timeout},
                                                               {"ack_timeout", options.ack_timeout},
                                                               {"probe_timeout", options.probe_timeout},
                                                               {"probe_interval", options.probe_interval},
                                                               {"rebind_grace", options.rebind_grace}};
  for (const auto& [name, duration] : durations) {
    if (duration <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat("WriterOptions.", name, " must be > 0"));
    }
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
  std::unique_ptr<ReplayWriter> writer(new ReplayWriter(options, std::move(column_bytes), batch_bytes));
  const int num_shards = static_cast<int>(options.addresses.size());
  {
    absl::MutexLock lock(&writer->mu_);
    for (int i = 0; i < num_shards; ++i) writer->shards_[i].stream = writer->OpenStream(i);
  }
  for (int i = 0; i < num_shards; ++i) {
    writer->threads_.emplace_back([w = writer.get(), i] { w->SenderLoop(i); });
    writer->threads_.emplace_back([w = writer.get(), i] { w->ReaderLoop(i); });
  }
  writer->threads_.emplace_back([w = writer.get()] { w->MonitorLoop(); });
  return writer;
}

ReplayWriter::ReplayWriter(const WriterOptions& options, std::vector<int64_t> column_bytes, int64_t batch_bytes)
    : options_(options),
      column_bytes_(std::move(column_bytes)),
      home_(static_cast<int>(options.key_prefix % options.addresses.size())),
      shards_(options.addresses.size()),
      current_(home_),
      next_sequence_(options.first_sequence >= 0
                         ? static_cast<uint64_t>(options.first_sequence)
                         : static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()))) {
  LinkWindowOptions window;
  window.min_batches = options.max_in_flight_batches;
  window.max_batches = static_cast<int>(std::min<int64_t>(options.max_in_flight_bytes / batch_bytes, 1 << 20));
  for (ShardState& shard : shards_) shard.window = LinkWindow(window);
  for (const std::string& address : options.addresses) {
    channels_.push_back(MakeChannel(address, options.max_message_bytes));
    stubs_.push_back(v1::ReplayService::NewStub(channels_.back()));
  }
}

ReplayWriter::~ReplayWriter() {
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (ShardState& shard : shards_) {
      if (shard.stream != nullptr) shard.stream->context.TryCancel();
    }
  }
  for (std::thread& thread : threads_) thread.join();
}

std::string ReplayWriter::Describe() const {
  return absl::StrCat("replay writer for table '", options_.table, "'");
}

std::string ReplayWriter::DescribeShard(int shard) const {
  return absl::StrCat("replay shard ", shard, " at ", options_.addresses[shard]);
}

std::shared_ptr<ReplayWriter::Stream> ReplayWriter::OpenStream(int shard) {
  auto stream = std::make_shared<Stream>();
  // Wait for a restarting shard rather than failing at once, and send the
  // call's metadata with the first batch so that opening never blocks.
  stream->context.set_wait_for_ready(true);
  stream->context.set_initial_metadata_corked(true);
  stream->rw = stubs_[shard]->Insert(&stream->context);
  return stream;
}

size_t ReplayWriter::TotalInFlightLocked() const {
  size_t total = 0;
  for (const ShardState& shard : shards_) total += shard.in_flight.size();
  return total;
}

absl::Status ReplayWriter::WaitForRoomLocked(int num_batches, absl::Time deadline) {
  // The current shard may change while we wait (a failover makes room), and
  // its window may grow.
  auto room = [this, num_batches]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const ShardState& shard = shards_[current_];
    const size_t limit = static_cast<size_t>(std::max(shard.window.batches(), num_batches));
    return closed_ || !error_.ok() || shard.in_flight.size() + num_batches <= limit;
  };
  const absl::Time start = absl::Now();
  const bool fits = mu_.AwaitWithDeadline(absl::Condition(&room), deadline);
  blocked_ += absl::Now() - start;
  if (!error_.ok()) return error_;
  if (closed_) return absl::CancelledError(absl::StrCat(Describe(), " is closed"));
  if (!fits) {
    return absl::DeadlineExceededError(absl::StrCat(Describe(), ": ", shards_[current_].in_flight.size(),
                                                    " batches still await acknowledgement by ",
                                                    DescribeShard(current_), " (its window: ",
                                                    shards_[current_].window.batches(), " batches)"));
  }
  return absl::OkStatus();
}

void ReplayWriter::SealPendingLocked() {
  for (int c = 0; c < pending_->columns_size(); ++c) pending_->mutable_columns(c)->set_shape(0, pending_items_);
  shards_[current_].in_flight.push_back(std::shared_ptr<const Batch>(std::move(pending_)));
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
    return closed_ || !error_.ok() || TotalInFlightLocked() == 0;
  };
  const bool all_acked = mu_.AwaitWithDeadline(absl::Condition(&acked), deadline);
  if (!error_.ok()) return error_;
  if (!all_acked) {
    std::string where;
    for (size_t i = 0; i < shards_.size(); ++i) {
      if (shards_[i].in_flight.empty()) continue;
      absl::StrAppend(&where, where.empty() ? "" : ", ", shards_[i].in_flight.size(), " on shard ", i,
                      shards_[i].up ? "" : " (down)");
    }
    return absl::DeadlineExceededError(absl::StrCat(Describe(), ": batches still unacknowledged after ",
                                                    absl::FormatDuration(timeout), ": ", where));
  }
  return absl::OkStatus();
}

absl::Status ReplayWriter::FlushWhileAcknowledged(absl::Duration idle_timeout) {
  int64_t acked = acked_items();
  while (true) {
    absl::Status flushed = Flush(idle_timeout);
    if (!absl::IsDeadlineExceeded(flushed)) return flushed;
    const int64_t now_acked = acked_items();
    if (now_acked == acked) return flushed;
    acked = now_acked;
  }
}

int64_t ReplayWriter::acked_items() const {
  absl::MutexLock lock(&mu_);
  return acked_items_;
}

std::vector<int64_t> ReplayWriter::acked_items_by_shard() const {
  absl::MutexLock lock(&mu_);
  std::vector<int64_t> acked;
  for (const ShardState& shard : shards_) acked.push_back(shard.acked_items);
  return acked;
}

int64_t ReplayWriter::reconnects() const {
  absl::MutexLock lock(&mu_);
  return reconnects_;
}

absl::Duration ReplayWriter::blocked() const {
  absl::MutexLock lock(&mu_);
  return blocked_;
}

int64_t ReplayWriter::failovers() const {
  absl::MutexLock lock(&mu_);
  return failovers_;
}

int64_t ReplayWriter::rebound_batches() const {
  absl::MutexLock lock(&mu_);
  return rebound_batches_;
}

int ReplayWriter::current_shard() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

bool ReplayWriter::shard_up(int shard) const {
  absl::MutexLock lock(&mu_);
  return shard >= 0 && shard < static_cast<int>(shards_.size()) && shards_[shard].up;
}

int ReplayWriter::window_batches() const {
  absl::MutexLock lock(&mu_);
  return shards_[current_].window.batches();
}

WriterStats ReplayWriter::stats() const {
  absl::MutexLock lock(&mu_);
  return {failovers_, blocked_, current_, shards_[current_].window.batches()};
}

absl::Duration ReplayWriter::round_trip() const {
  absl::MutexLock lock(&mu_);
  return shards_[current_].window.round_trip();
}

void ReplayWriter::MoveBatchesLocked(int from, size_t from_index) {
  ShardState& source = shards_[from];
  if (from == current_ || from_index >= source.in_flight.size()) return;
  ShardState& target = shards_[current_];
  for (size_t i = from_index; i < source.in_flight.size(); ++i) target.in_flight.push_back(source.in_flight[i]);
  source.in_flight.erase(source.in_flight.begin() + static_cast<std::ptrdiff_t>(from_index), source.in_flight.end());
  source.sent = std::min(source.sent, source.in_flight.size());
  source.sent_at.resize(source.sent);
  source.ever_sent = std::min(source.ever_sent, source.in_flight.size());
}

void ReplayWriter::MarkDownLocked(int shard, const std::string& why) {
  ShardState& state = shards_[shard];
  if (!state.up) return;
  state.up = false;
  state.down_since = absl::Now();
  RILL_LOG(WARNING) << Describe() << ": " << DescribeShard(shard) << " is down (" << why << ")";
  if (shard == current_) {
    const int num_shards = static_cast<int>(shards_.size());
    for (int k = 0; k < num_shards; ++k) {
      const int candidate = (home_ + k) % num_shards;
      if (candidate == shard || !shards_[candidate].up) continue;
      current_ = candidate;
      ++failovers_;
      RILL_LOG(WARNING) << Describe() << ": writing new batches to " << DescribeShard(candidate) << "; "
                        << state.ever_sent << " batches already sent to shard " << shard
                        << " stay bound to it until it returns";
      break;
    }
  }
  // Batches never written to the down shard cannot be stored there: they
  // may go to the current shard at once.
  MoveBatchesLocked(shard, state.ever_sent);
}

void ReplayWriter::MarkUpLocked(int shard, const std::string& why) {
  ShardState& state = shards_[shard];
  if (state.up) return;
  state.up = true;
  RILL_LOG(INFO) << Describe() << ": " << DescribeShard(shard) << " is back (" << why << ") after "
                 << absl::FormatDuration(absl::Now() - state.down_since);
  if (shard != current_ && (shard == home_ || !shards_[current_].up)) {
    const int previous = current_;
    current_ = shard;
    RILL_LOG(INFO) << Describe() << ": writing new batches to " << DescribeShard(shard)
                   << (shard == home_ ? " (home) again" : "");
    if (!shards_[previous].up) MoveBatchesLocked(previous, shards_[previous].ever_sent);
  }
}

void ReplayWriter::SenderLoop(int shard) {
  while (true) {
    std::shared_ptr<const Batch> batch;
    std::shared_ptr<Stream> stream;
    {
      absl::MutexLock lock(&mu_);
      auto work = [this, shard]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return closed_ || (error_.ok() && shards_[shard].sent < shards_[shard].in_flight.size());
      };
      mu_.Await(absl::Condition(&work));
      if (closed_) return;
      ShardState& state = shards_[shard];
      if (state.sent == 0) state.waiting_since = absl::Now();
      batch = state.in_flight[state.sent++];
      state.sent_at.push_back(absl::Now());
      state.sent_since_probe = true;
      state.ever_sent = std::max(state.ever_sent, state.sent);
      stream = state.stream;
    }
    // A failed write means a broken stream: the reader sees it end, reopens
    // it, and everything unacknowledged by this shard is sent again.
    stream->rw->Write(*batch);
  }
}

void ReplayWriter::HandleAck(int shard, uint64_t generation, const v1::InsertResponse& response) {
  absl::MutexLock lock(&mu_);
  ShardState& state = shards_[shard];
  if (!error_.ok() || generation != state.generation) return;
  const bool matches = !state.in_flight.empty() && state.sent > 0 &&
                       response.keys_size() == state.in_flight.front()->keys_size() &&
                       std::equal(response.keys().begin(), response.keys().end(),
                                  state.in_flight.front()->keys().begin());
  if (!matches) {
    error_ = absl::InternalError(absl::StrCat(Describe(), ": an acknowledgement of ", response.keys_size(),
                                              " keys from ", DescribeShard(shard),
                                              " does not match its oldest unacknowledged batch"));
    state.stream->context.TryCancel();
    return;
  }
  acked_items_ += response.keys_size();
  state.acked_items += response.keys_size();
  state.in_flight.pop_front();
  --state.sent;
  const absl::Time now = absl::Now();
  state.window.AddDelivered(1, now);
  if (options_.on_ack_latency) options_.on_ack_latency(now - state.sent_at.front());
  state.sent_at.pop_front();
  --state.ever_sent;
  state.waiting_since = state.sent > 0 ? now : absl::InfiniteFuture();
  MarkUpLocked(shard, "it acknowledged a batch");
}

void ReplayWriter::ReaderLoop(int shard) {
  Backoff backoff;
  while (true) {
    std::shared_ptr<Stream> stream;
    uint64_t generation;
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return;
      stream = shards_[shard].stream;
      generation = shards_[shard].generation;
    }
    v1::InsertResponse response;
    while (stream->rw->Read(&response)) {
      HandleAck(shard, generation, response);
      backoff.Reset();
    }
    const absl::Status status = FromGrpcStatus(stream->rw->Finish());

    absl::MutexLock lock(&mu_);
    if (closed_ || !error_.ok()) return;
    ShardState& state = shards_[shard];
    // Otherwise the monitor abandoned this stream (a rebind) and cancelled it.
    if (generation == state.generation) {
      if (IsPermanentStreamError(status)) {
        error_ = absl::Status(status.code(), absl::StrCat(Describe(), ": ", DescribeShard(shard), ": ",
                                                          status.message()));
        RILL_LOG(ERROR) << error_.ToString();
        return;
      }
      MarkDownLocked(shard, absl::StrCat("its stream ended: ", status.ToString()));
      RILL_LOG(WARNING) << Describe() << ": reopening the stream to " << DescribeShard(shard) << "; resending "
                        << state.in_flight.size() << " batches bound to it";
    }
    mu_.AwaitWithTimeout(absl::Condition(&closed_), backoff.Next());
    if (closed_) return;
    // OpenStream does not block: the call starts with its first write.
    state.stream = OpenStream(shard);
    ++state.generation;
    state.sent = 0;
    state.sent_at.clear();
    state.waiting_since = absl::InfiniteFuture();
    ++reconnects_;
  }
}

void ReplayWriter::RebindLocked(absl::Time now) {
  for (int i = 0; i < static_cast<int>(shards_.size()); ++i) {
    ShardState& state = shards_[i];
    if (state.up || i == current_ || state.in_flight.empty() || !shards_[current_].up ||
        now - state.down_since < options_.rebind_grace) {
      continue;
    }
    const size_t moved = state.in_flight.size();
    RILL_LOG(WARNING) << Describe() << ": " << DescribeShard(i) << " has been down for "
                      << absl::FormatDuration(now - state.down_since) << "; moving its " << moved
                      << " unacknowledged batches to " << DescribeShard(current_)
                      << ": an item it had stored without acknowledging may now be stored twice";
    rebound_batches_ += static_cast<int64_t>(moved);
    // Acks from the abandoned stream no longer match: ignore them.
    ++state.generation;
    state.stream->context.TryCancel();
    MoveBatchesLocked(i, 0);
    state.sent = 0;
    state.sent_at.clear();
    state.ever_sent = 0;
    state.waiting_since = absl::InfiniteFuture();
  }
}

void ReplayWriter::MonitorLoop() {
  while (true) {
    std::vector<int> to_probe;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&closed_), options_.probe_interval);
      if (closed_) return;
      const absl::Time now = absl::Now();
      // Down or stale shards, for failover; shards that carried batches
      // since the last probe, for the round trip their windows are sized
      // from.
      for (int i = 0; i < static_cast<int>(shards_.size()); ++i) {
        ShardState& state = shards_[i];
        if (!state.up || now - state.waiting_since >= options_.ack_timeout || state.sent_since_probe) {
          to_probe.push_back(i);
        }
        state.sent_since_probe = false;
      }
    }
    // Health checks block up to probe_timeout each: without the lock.
    std::vector<absl::StatusOr<absl::Duration>> health;
    for (int i : to_probe) health.push_back(TimedHealthCheck(*channels_[i], options_.probe_timeout));

    absl::MutexLock lock(&mu_);
    if (closed_) return;
    const absl::Time now = absl::Now();
    for (size_t p = 0; p < to_probe.size(); ++p) {
      const int i = to_probe[p];
      ShardState& state = shards_[i];
      if (health[p].ok()) {
        if (state.up) state.window.AddRoundTrip(*health[p], now);
        if (!state.up) {
          MarkUpLocked(i, "its health check answers SERVING");
        } else if (now - state.waiting_since >= options_.ack_timeout) {
          // Alive but holding acks back: backpressure, not a failure.
          state.waiting_since = now;
        }
      } else if (state.up && now - state.waiting_since >= options_.ack_timeout) {
        MarkDownLocked(i, absl::StrCat("no acknowledgement for ", absl::FormatDuration(now - state.waiting_since),
                                       " and its health check failed: ", health[p].status().message()));
      }
    }
    RebindLocked(now);
  }
}

}  // namespace rill::replay
