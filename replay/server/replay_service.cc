#include "replay/server/replay_service.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "replay/durability/record_file.h"

namespace rill::replay {
namespace {


// Wire size of a sampled batch, generously: payload, a varint key and a
// double probability per item, and per-column headers.
int64_t EstimatedBatchBytes(const Table& table, int64_t batch_size) {
  return batch_size * (table.item_bytes() + 10 + 8) + 64 * table.signature().columns_size() + 1024;
}

grpc::Status ShutdownCancelled() {
  return grpc::Status(grpc::StatusCode::CANCELLED, "the replay shard is shutting down");
}

}  // namespace

// What the Insert and Sample reactors share, from construction until gRPC
// calls OnDone: registration with the service (Shutdown Stops what is
// registered), a finish where the first status wins and Finish goes out
// only once no operation or callback is outstanding, and a cancel that
// takes the stream's entry out of its table's admission queue without a
// trace. A subclass starts its first operation (StartLocked), says what it
// still has outstanding besides a write and a queued entry
// (MoreOutstandingLocked), and may settle its books just before Finish
// (BeforeFinishLocked).
template <typename Request, typename Response>
class QueuedReactor : public grpc::ServerBidiReactor<Request, Response>, public ReplayServiceImpl::Call {
 public:
  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_) {
    AdmissionQueue* queue = nullptr;
    {
      absl::MutexLock lock(&mu_);
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, cancelled_message_));
      // Once the lock is released the reactor may be gone unless queued.
      if (!queued_) return;
      queue = service_->queue(table_);
    }
    // Leaves no trace in the queue; if the entry already completed, its
    // callback finishes the stream instead (and `this` must not be touched).
    if (queue->Cancel(this)) {
      absl::MutexLock lock(&mu_);
      queued_ = false;
      MaybeFinishLocked();
    }
  }

  void OnDone() override {
    if (registered_) service_->Unregister(this);
    // Finish may have been called under mu_ from outside a reaction (the
    // admission queue, the WAL's commit thread, Shutdown): wait until that
    // caller has let go of the lock before the reactor goes.
    { absl::MutexLock lock(&mu_); }
    delete this;
  }

  void Stop(grpc::Status status) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    FinishLocked(std::move(status));
  }

 protected:
  // `cancelled_message` ends the stream when the client cancels.
  QueuedReactor(ReplayServiceImpl* service, const char* cancelled_message)
      : service_(service), cancelled_message_(cancelled_message) {}

  // Registers and starts; call last in the subclass's constructor, once
  // every member exists: Shutdown may Stop the stream from then on.
  void Register() ABSL_LOCKS_EXCLUDED(mu_) {
    registered_ = service_->Register(this);
    absl::MutexLock lock(&mu_);
    if (!registered_) {
      FinishLocked(ShutdownCancelled());
    } else if (!finishing_) {  // Shutdown may have stopped it already
      StartLocked();
    }
  }

  virtual void StartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  virtual bool MoreOutstandingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return false; }
  virtual void BeforeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {}

  // A cancel between queued_ = true and the queue call found nothing to
  // remove: remove the entry now, so that it leaves no trace. Call right
  // after queueing, inside a reaction (gRPC runs OnDone only after it).
  void RemoveIfCancelled(AdmissionQueue* queue) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      if (!finishing_ || !queued_) return;
    }
    if (queue->Cancel(this)) {
      absl::MutexLock lock(&mu_);
      queued_ = false;
      MaybeFinishLocked();
    }
  }

  // The first status wins; every caller (an operation that just completed
  // among them) lets Finish go out if nothing is outstanding any more.
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!finishing_) {
      finishing_ = true;
      final_status_ = std::move(status);
    }
    MaybeFinishLocked();
  }

  // Finish may go out only once no operation or callback is outstanding
  // (a read may be: it completes with ok = false).
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!finishing_ || finished_ || writing_ || queued_ || MoreOutstandingLocked()) return;
    finished_ = true;
    BeforeFinishLocked();
    this->Finish(final_status_);
  }

  ReplayServiceImpl* const service_;
  absl::Mutex mu_;
  Table* table_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool queued_ ABSL_GUARDED_BY(mu_) = false;   // an entry in the admission queue
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // a write on the wire
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;

 private:
  const char* const cancelled_message_;
  bool registered_ = false;  // with the service, for Shutdown; set by Register only
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
};

// One Insert stream, from Insert() until gRPC calls OnDone. One request is
// read, then stored through the table's admission queue; without a log its
// acknowledgement is written and only then the next request read. With a
// log, the stored request is appended and the next one read while the log
// syncs, up to max_in_flight_inserts unacknowledged; acknowledgements are
// written in order from the log's callbacks. At most one read, one write
// and one queued request are outstanding; Finish waits for all of them and
// for the log's callbacks, so that no callback outlives the reactor.
class InsertReactor final : public QueuedReactor<v1::InsertRequest, v1::InsertResponse> {
 public:
  explicit InsertReactor(ReplayServiceImpl* service)
      : QueuedReactor(service, "the writer cancelled the call"), wal_(service->wal()) {
    Register();
  }

  void OnReadDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    AdmissionQueue* queue = nullptr;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      if (!ok) {
        // The writer half-closed (or went away): end once every stored
        // request is acknowledged.
        read_done_ = true;
        MaybeEndLocked();
        return;
      }
      if (finishing_) return;
      ++busy_;
      service_->AddBusy(1);
      start_ = absl::Now();
      absl::StatusOr<Table*> table = service_->LookupTable(request_.table());
      if (!table.ok()) {
        FinishLocked(ToGrpcStatus(table.status()));
        return;
      }
      table_ = *table;
      // A bad request is refused at once, not after the ones queued before
      // it. Its compressed columns are compressed here, on this stream's
      // thread: streams compress in parallel, outside the table's lock.
      absl::Status valid = table_->Prepare(&request_, &prepared_);
      if (!valid.ok()) {
        FinishLocked(ToGrpcStatus(valid));
        return;
      }
      queued_ = true;
      queue = service_->queue(table_);
    }
    queue->Insert(this, &prepared_, &stored_keys_, [this](absl::Status status) { OnStored(std::move(status)); });
    // Safe to touch `this`: gRPC runs OnDone only after this reaction returns.
    RemoveIfCancelled(queue);
  }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the writer went away before its acknowledgement"));
      return;
    }
    const absl::Time now = absl::Now();
    service_->ObserveRpc("Insert", now - acks_.front().start);
    service_->ObserveAdmitted("Insert", now - acks_.front().admitted);
    acks_.pop_front();
    --busy_;
    service_->AddBusy(-1);
    if (finishing_) {
      MaybeFinishLocked();
      return;
    }
    WriteNextLocked();
    const int room = wal_ == nullptr ? 1 : service_->max_in_flight_inserts_;
    if (!reading_ && !queued_ && !read_done_ && !draining_ && static_cast<int>(acks_.size()) < room) {
      StartReadLocked();
    }
    MaybeEndLocked();
  }

 private:
  struct Ack {
    v1::InsertResponse response;
    uint64_t ticket = 0;  // in the log; 0 without one
    bool durable = false;
    absl::Time start;     // read
    absl::Time admitted;  // stored: past the rate limiter
  };

  // The queue's callback: the request is stored (or failed).
  void OnStored(absl::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    uint64_t ticket = 0;
    {
      absl::MutexLock lock(&mu_);
      queued_ = false;
      service_->UpdateMetrics(table_);
      if (finishing_) {
        MaybeFinishLocked();
        return;
      }
      if (!status.ok()) {
        FinishLocked(ToGrpcStatus(status));
        return;
      }
      Ack& ack = acks_.emplace_back();
      ack.response.mutable_keys()->Add(stored_keys_.begin(), stored_keys_.end());
      ack.start = start_;
      ack.admitted = absl::Now();
      if (wal_ == nullptr) {
        ack.durable = true;
        WriteNextLocked();
        return;
      }
      // Stored, then logged: a checkpoint that rotates the log after this
      // append snapshots the table after this store (see wal.h). The log
      // holds the request as the table does, compressed columns compressed.
      std::string record(kRecordHeaderBytes, '\0');
      prepared_.AppendLogRecord(&record);
      ticket = ack.ticket = wal_->Append(std::move(record), static_cast<uint32_t>(prepared_.num_items()));
      ++durable_callbacks_;
      if (static_cast<int>(acks_.size()) < service_->max_in_flight_inserts_) StartReadLocked();
    }
    wal_->OnDurable(ticket, [this, ticket](absl::Status durable) { OnDurable(ticket, std::move(durable)); });
  }

  // The log's callback: `ticket` is synced (or the log failed).
  void OnDurable(uint64_t ticket, absl::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    --durable_callbacks_;
    if (finishing_) {
      MaybeFinishLocked();
      return;
    }
    if (!status.ok()) {
      FinishLocked(ToGrpcStatus(status));
      return;
    }
    for (Ack& ack : acks_) {
      if (ack.ticket == ticket) ack.durable = true;
    }
    WriteNextLocked();
  }

  void StartLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { StartReadLocked(); }

  void StartReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // Once Shutdown began, no new request is taken: the stream ends after
    // acknowledging the ones it has.
    if (service_->shutting_down()) {
      draining_ = true;
      MaybeEndLocked();
      return;
    }
    reading_ = true;
    StartRead(&request_);
  }

  // Writes the oldest acknowledgement if it is ready and nothing is on the wire.
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || acks_.empty() || !acks_.front().durable) return;
    writing_ = true;
    StartWrite(&acks_.front().response);
  }

  // Ends the stream once it read its last request (or stopped reading for
  // Shutdown) and acknowledged everything stored.
  void MaybeEndLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_ || reading_ || queued_ || !acks_.empty()) return;
    if (draining_) {
      FinishLocked(service_->ShuttingDownStatus());
    } else if (read_done_) {
      FinishLocked(grpc::Status::OK);
    }
  }

  bool MoreOutstandingLocked() const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return durable_callbacks_ > 0; }

  void BeforeFinishLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // Requests never acknowledged no longer hold up Shutdown's drain.
    if (busy_ > 0) service_->AddBusy(-busy_);
    busy_ = 0;
  }

  WriteAheadLog* const wal_;

  // Filled by the read, then taken by Table::Prepare into prepared_; while
  // queued_ the admission queue alone uses prepared_ and stored_keys_
  // (outside mu_), until it calls OnStored or Cancel returns true.
  v1::InsertRequest request_ ABSL_GUARDED_BY(mu_);
  EncodedInsert prepared_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> stored_keys_ ABSL_GUARDED_BY(mu_);
  absl::Time start_ ABSL_GUARDED_BY(mu_);
  std::deque<Ack> acks_ ABSL_GUARDED_BY(mu_);  // stored, not yet acknowledged, in order
  int busy_ ABSL_GUARDED_BY(mu_) = 0;          // this stream's share of busy_requests_
  int durable_callbacks_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool read_done_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

// One Sample stream. Credits are served in the order granted: a request's
// batches are each queued, drawn and written before the next batch is
// queued, and the next request is read once they are all written (credits
// granted meanwhile wait in gRPC's buffers).
class SampleReactor final : public QueuedReactor<v1::SampleRequest, v1::SampleResponse> {
 public:
  explicit SampleReactor(ReplayServiceImpl* service) : QueuedReactor(service, "the sampler cancelled the call") {
    Register();
  }

  void OnReadDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      if (finishing_) return;
      if (!ok) {
        FinishLocked(grpc::Status::OK);
        return;
      }
      grpc::Status valid = TakeRequestLocked();
      if (!valid.ok()) {
        FinishLocked(std::move(valid));
        return;
      }
      if (credits_ == 0) {
        reading_ = true;
        StartRead(&request_);
        return;
      }
      queued_ = true;
    }
    QueueBatch();
  }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) {
        FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the sampler went away"));
        return;
      }
      const absl::Time now = absl::Now();
      service_->ObserveRpc("Sample", now - start_);
      service_->ObserveAdmitted("Sample", now - drawn_);
      if (finishing_) {
        MaybeFinishLocked();
        return;
      }
      if (--credits_ == 0) {
        reading_ = true;
        StartRead(&request_);
        return;
      }
      queued_ = true;
    }
    QueueBatch();
  }

 private:
  void StartLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    reading_ = true;
    StartRead(&request_);
  }

  // Checks request_ and takes its table, batch size and credits.
  grpc::Status TakeRequestLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!request_.table().empty()) {
      absl::StatusOr<Table*> found = service_->LookupTable(request_.table());
      if (!found.ok()) return ToGrpcStatus(found.status());
      table_ = *found;
    }
    if (table_ == nullptr) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first SampleRequest must name a table");
    }
    if (request_.batch_size() != 0) batch_size_ = request_.batch_size();
    if (batch_size_ <= 0 || batch_size_ > Table::kMaxSampleBatchSize) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("SampleRequest.batch_size ", batch_size_, " is out of range (1..",
                                       Table::kMaxSampleBatchSize, ")"));
    }
    if (request_.num_batches() < 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("SampleRequest.num_batches ", request_.num_batches(), " must be >= 0"));
    }
    const int64_t max_message_bytes = service_->max_message_bytes_;
    if (EstimatedBatchBytes(*table_, batch_size_) > max_message_bytes) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("a batch of ", batch_size_, " items of table '", table_->name(),
                                       "' needs about ", EstimatedBatchBytes(*table_, batch_size_),
                                       " bytes, over the max message size of ", max_message_bytes,
                                       "; ask for smaller batches"));
    }
    credits_ = request_.num_batches();
    return grpc::Status::OK;
  }

  // Queues the next batch (queued_ already set). Called from a reaction.
  void QueueBatch() ABSL_LOCKS_EXCLUDED(mu_) {
    Table* table;
    int batch_size;
    {
      absl::MutexLock lock(&mu_);
      response_.Clear();
      start_ = absl::Now();
      table = table_;
      batch_size = batch_size_;
    }
    AdmissionQueue* queue = service_->queue(table);
    queue->Sample(this, batch_size, &response_, [this](absl::Status status) { OnSampled(std::move(status)); });
    // Safe to touch `this`: QueueBatch runs inside a reaction, and gRPC runs
    // OnDone only after it returns.
    RemoveIfCancelled(queue);
  }

  void OnSampled(absl::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    queued_ = false;
    service_->UpdateMetrics(table_);
    if (finishing_) {
      MaybeFinishLocked();
      return;
    }
    if (!status.ok()) {
      FinishLocked(ToGrpcStatus(status));
      return;
    }
    drawn_ = absl::Now();
    writing_ = true;
    StartWrite(&response_);
  }

  v1::SampleRequest request_ ABSL_GUARDED_BY(mu_);
  // While queued_ the admission queue alone fills it (outside mu_); while
  // writing_ gRPC reads it.
  v1::SampleResponse response_ ABSL_GUARDED_BY(mu_);
  int batch_size_ ABSL_GUARDED_BY(mu_) = 0;
  int credits_ ABSL_GUARDED_BY(mu_) = 0;  // batches left of the current request
  absl::Time start_ ABSL_GUARDED_BY(mu_);  // the batch queued
  absl::Time drawn_ ABSL_GUARDED_BY(mu_);  // the batch drawn: past the rate limiter
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
};

absl::StatusOr<std::unique_ptr<ReplayServiceImpl>> ReplayServiceImpl::Create(
    const v1::ReplayConfig& config, int shard_index, prometheus::Registry* registry) {
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<Table>> tables, CreateTables(config));
  const int64_t max_message_bytes =
      config.max_message_bytes() > 0 ? config.max_message_bytes() : kDefaultMaxMessageBytes;
  return std::make_unique<ReplayServiceImpl>(std::move(tables), shard_index, max_message_bytes, registry);
}

ReplayServiceImpl::ReplayServiceImpl(std::vector<std::unique_ptr<Table>> tables, int shard_index,
                                     int64_t max_message_bytes, prometheus::Registry* registry)
    : shard_index_(shard_index), max_message_bytes_(max_message_bytes), tables_(std::move(tables)) {
  for (const auto& table : tables_) {
    tables_by_name_[table->name()] = table.get();
    queues_[table.get()] = std::make_unique<AdmissionQueue>(table.get());
  }
  if (registry == nullptr) return;
  // One family per metric, registered once; the tables' and methods' series
  // are added to it below. `builder`: prometheus::BuildCounter() and kin.
  auto family = [registry](auto builder, const char* name, const char* help) -> auto& {
    return builder.Name(name).Help(help).Register(*registry);
  };
  auto& inserted = family(prometheus::BuildCounter(), "rill_replay_items_inserted_total",
                          "Items stored in a replay table (retries not counted again).");
  auto& sampled =
      family(prometheus::BuildCounter(), "rill_replay_items_sampled_total", "Items drawn from a replay table.");
  auto& at_stop = family(prometheus::BuildGauge(), "rill_replay_items_inserted_at_stop",
                         "Of the items stored, those the run's stop admitted past the rate limiter "
                         "(ReleaseInserts): the actors' last batches, not learned from at the table's ratio.");
  auto& size = family(prometheus::BuildGauge(), "rill_replay_table_size", "Items a replay table holds.");
  auto& bytes = family(prometheus::BuildGauge(), "rill_replay_table_bytes", "Payload bytes a replay table holds.");
  auto& blocked = family(prometheus::BuildCounter(), "rill_replay_rate_limiter_blocked_seconds_total",
                         "Time during which at least one caller of a side waited on the rate limiter.");
  auto& rpc = family(prometheus::BuildHistogram(), "rill_replay_rpc_seconds",
                     "Latency of replay RPCs: per request for Insert (stored and acknowledged), "
                     "per batch for Sample.");
  for (const auto& table : tables_) {
    auto metrics = std::make_unique<TableMetrics>();
    const std::string& name = table->name();
    metrics->inserted = &inserted.Add({{"table", name}});
    metrics->sampled = &sampled.Add({{"table", name}});
    metrics->inserted_at_stop = &at_stop.Add({{"table", name}});
    metrics->size = &size.Add({{"table", name}});
    metrics->bytes = &bytes.Add({{"table", name}});
    metrics->insert_blocked_seconds = &blocked.Add({{"table", name}, {"side", "insert"}});
    metrics->sample_blocked_seconds = &blocked.Add({{"table", name}, {"side", "sample"}});
    metrics_[table.get()] = std::move(metrics);
  }
  for (const char* method : {"Insert", "Sample", "UpdatePriorities", "Info"}) {
    rpc_seconds_[method] = &rpc.Add({{"method", method}}, LatencyBuckets());
  }
  auto& admitted = family(prometheus::BuildHistogram(), "rill_replay_admitted_seconds",
                          "From the rate limiter's admission to the answer handed to the transport: per insert "
                          "request from stored (and, with a log, through its sync) to its acknowledgement, per "
                          "sampled batch from drawn to written. The shard's own serving latency, without the "
                          "wait the rate limiter imposes (rill_replay_rpc_seconds includes it).");
  for (const char* method : {"Insert", "Sample"}) {
    admitted_seconds_[method] = &admitted.Add({{"method", method}}, AdmittedBuckets());
  }
}

ReplayServiceImpl::~ReplayServiceImpl() { Shutdown(); }

void ReplayServiceImpl::AttachDurability(ShardDurability* durability, int max_in_flight_inserts) {
  durability_ = durability;
  max_in_flight_inserts_ = std::max(1, max_in_flight_inserts);
}

std::vector<Table*> ReplayServiceImpl::tables() const {
  std::vector<Table*> tables;
  for (const auto& table : tables_) tables.push_back(table.get());
  return tables;
}

void ReplayServiceImpl::Shutdown(absl::Duration drain) {
  {
    absl::MutexLock lock(&calls_mu_);
    shutting_down_.store(true);
  }
  // Requests the rate limiter holds back end now; others still proceed.
  for (const auto& [table, queue] : queues_) {
    queue->Drain(absl::CancelledError("the replay shard is shutting down"));
  }
  {
    absl::MutexLock lock(&busy_mu_);
    auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(busy_mu_) { return busy_requests_ == 0; };
    if (!busy_mu_.AwaitWithTimeout(absl::Condition(&drained), drain)) {
      RILL_LOG(WARNING) << "replay shard " << shard_index_ << ": " << busy_requests_
                        << " requests still unacknowledged after a drain of " << absl::FormatDuration(drain)
                        << "; their writers resend them";
    }
  }
  for (const auto& table : tables_) table->Close();
  absl::MutexLock lock(&calls_mu_);
  for (Call* call : calls_) call->Stop(ShutdownCancelled());
}

bool ReplayServiceImpl::Register(Call* call) {
  absl::MutexLock lock(&calls_mu_);
  if (shutting_down_.load()) return false;
  calls_.insert(call);
  return true;
}

void ReplayServiceImpl::Unregister(Call* call) {
  absl::MutexLock lock(&calls_mu_);
  calls_.erase(call);
}

int64_t ReplayServiceImpl::open_streams() const {
  absl::MutexLock lock(&calls_mu_);
  return static_cast<int64_t>(calls_.size());
}

grpc::Status ReplayServiceImpl::ShuttingDownStatus() const {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      absl::StrCat("replay shard ", shard_index_,
                                   " is shutting down; unacknowledged items go to another shard or wait for its restart"));
}

void ReplayServiceImpl::AddBusy(int delta) {
  absl::MutexLock lock(&busy_mu_);
  busy_requests_ += delta;
}

bool ReplayServiceImpl::shutting_down() const { return shutting_down_.load(); }

Table* ReplayServiceImpl::FindTable(const std::string& name) const {
  auto it = tables_by_name_.find(name);
  return it == tables_by_name_.end() ? nullptr : it->second;
}

absl::StatusOr<Table*> ReplayServiceImpl::LookupTable(const std::string& name) const {
  if (Table* table = FindTable(name)) return table;
  std::vector<std::string> known;
  for (const auto& table : tables_) known.push_back(table->name());
  return absl::NotFoundError(absl::StrCat("no replay table '", name, "' on shard ", shard_index_,
                                          " (known: ", absl::StrJoin(known, ", "), ")"));
}

void ReplayServiceImpl::RefreshMetrics() {
  for (const auto& table : tables_) UpdateMetrics(table.get());
}

AdmissionQueue* ReplayServiceImpl::queue(const Table* table) const {
  auto it = queues_.find(table);
  return it == queues_.end() ? nullptr : it->second.get();
}

void ReplayServiceImpl::UpdateMetrics(Table* table) {
  auto it = metrics_.find(table);
  if (it == metrics_.end()) return;
  TableMetrics& m = *it->second;
  const TableStats stats = table->Stats();
  absl::MutexLock lock(&m.mu);
  // Two handlers may report out of order: only ever move forward.
  if (stats.items_inserted > m.reported.items_inserted) {
    m.inserted->Increment(static_cast<double>(stats.items_inserted - m.reported.items_inserted));
    m.reported.items_inserted = stats.items_inserted;
  }
  if (stats.items_sampled > m.reported.items_sampled) {
    m.sampled->Increment(static_cast<double>(stats.items_sampled - m.reported.items_sampled));
    m.reported.items_sampled = stats.items_sampled;
  }
  if (stats.insert_blocked > m.reported.insert_blocked) {
    m.insert_blocked_seconds->Increment(absl::ToDoubleSeconds(stats.insert_blocked - m.reported.insert_blocked));
    m.reported.insert_blocked = stats.insert_blocked;
  }
  if (stats.sample_blocked > m.reported.sample_blocked) {
    m.sample_blocked_seconds->Increment(absl::ToDoubleSeconds(stats.sample_blocked - m.reported.sample_blocked));
    m.reported.sample_blocked = stats.sample_blocked;
  }
  m.inserted_at_stop->Set(static_cast<double>(stats.items_inserted_at_stop));
  m.size->Set(static_cast<double>(stats.size));
  m.bytes->Set(static_cast<double>(stats.bytes));
}

void ReplayServiceImpl::ObserveRpc(absl::string_view method, absl::Duration latency) {
  auto it = rpc_seconds_.find(method);
  if (it != rpc_seconds_.end()) it->second->Observe(absl::ToDoubleSeconds(latency));
}

void ReplayServiceImpl::ObserveAdmitted(absl::string_view method, absl::Duration latency) {
  auto it = admitted_seconds_.find(method);
  if (it != admitted_seconds_.end()) it->second->Observe(absl::ToDoubleSeconds(latency));
}

prometheus::Histogram::BucketBoundaries ReplayServiceImpl::AdmittedBuckets() {
  // Fine around the tens of milliseconds a serving target is stated in.
  return {1e-4, 2.5e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1, 2, 5};
}

grpc::ServerBidiReactor<v1::InsertRequest, v1::InsertResponse>* ReplayServiceImpl::Insert(
    grpc::CallbackServerContext* /*context*/) {
  return new InsertReactor(this);
}

grpc::ServerBidiReactor<v1::SampleRequest, v1::SampleResponse>* ReplayServiceImpl::Sample(
    grpc::CallbackServerContext* /*context*/) {
  return new SampleReactor(this);
}

grpc::ServerUnaryReactor* ReplayServiceImpl::UpdatePriorities(grpc::CallbackServerContext* context,
                                                              const v1::UpdatePrioritiesRequest* request,
                                                              v1::UpdatePrioritiesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time start = absl::Now();
  absl::StatusOr<Table*> table = LookupTable(request->table());
  if (!table.ok()) {
    reactor->Finish(ToGrpcStatus(table.status()));
    return reactor;
  }
  int64_t updated = 0;
  absl::Status status = (*table)->UpdatePriorities(*request, &updated);
  response->set_updated(updated);
  ObserveRpc("UpdatePriorities", absl::Now() - start);
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* ReplayServiceImpl::ReleaseInserts(grpc::CallbackServerContext* context,
                                                            const v1::ReleaseInsertsRequest* /*request*/,
                                                            v1::ReleaseInsertsResponse* response) {
  for (const auto& table : tables_) {
    if (table->ReleaseInserts()) response->add_blocked_tables(table->name());
  }
  RILL_LOG(INFO) << "the run is stopping: every insert is admitted from now on, past the rate limiter"
                 << (response->blocked_tables_size() > 0
                         ? absl::StrCat(" (inserts were waiting for samples in ",
                                        absl::StrJoin(response->blocked_tables(), ", "), ")")
                         : std::string());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ReplayServiceImpl::Info(grpc::CallbackServerContext* context,
                                                  const v1::InfoRequest* /*request*/, v1::InfoResponse* response) {
  const absl::Time start = absl::Now();
  response->set_shard(shard_index_);
  if (durability_ != nullptr) {
    response->set_durability_mode(durability_->mode());
    *response->mutable_last_checkpoint() = durability_->Info();
  } else {
    response->set_durability_mode("none");
  }
  for (const auto& table : tables_) {
    *response->add_tables() = table->Info();
    UpdateMetrics(table.get());
  }
  ObserveRpc("Info", absl::Now() - start);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace rill::replay
