#include "replay/sync_replay_service.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "replay/checkpoint.h"
#include "replay/record_file.h"

namespace rill::replay {
namespace {

constexpr int64_t kDefaultMaxMessageBytes = 64 << 20;

absl::Time CallDeadline(const grpc::ServerContext& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

// Wire size of a sampled batch, generously: payload, a varint key and a
// double probability per item, and per-column headers.
int64_t EstimatedBatchBytes(const Table& table, int64_t batch_size) {
  return batch_size * (table.item_bytes() + 10 + 8) + 64 * table.signature().columns_size() + 1024;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SyncReplayServiceImpl>> SyncReplayServiceImpl::Create(
    const v1::ReplayConfig& config, int shard_index, prometheus::Registry* registry) {
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<Table>> tables, CreateTables(config));
  const int64_t max_message_bytes =
      config.max_message_bytes() > 0 ? config.max_message_bytes() : kDefaultMaxMessageBytes;
  return std::make_unique<SyncReplayServiceImpl>(std::move(tables), shard_index, max_message_bytes, registry);
}

SyncReplayServiceImpl::SyncReplayServiceImpl(std::vector<std::unique_ptr<Table>> tables, int shard_index,
                                     int64_t max_message_bytes, prometheus::Registry* registry)
    : shard_index_(shard_index), max_message_bytes_(max_message_bytes), tables_(std::move(tables)) {
  for (const auto& table : tables_) tables_by_name_[table->name()] = table.get();
  if (registry == nullptr) return;

  auto& inserted = prometheus::BuildCounter()
                       .Name("rill_replay_items_inserted_total")
                       .Help("Items stored in a replay table (retries not counted again).")
                       .Register(*registry);
  auto& sampled = prometheus::BuildCounter()
                      .Name("rill_replay_items_sampled_total")
                      .Help("Items drawn from a replay table.")
                      .Register(*registry);
  auto& size = prometheus::BuildGauge()
                   .Name("rill_replay_table_size")
                   .Help("Items a replay table holds.")
                   .Register(*registry);
  auto& bytes = prometheus::BuildGauge()
                    .Name("rill_replay_table_bytes")
                    .Help("Payload bytes a replay table holds.")
                    .Register(*registry);
  auto& blocked = prometheus::BuildCounter()
                      .Name("rill_replay_rate_limiter_blocked_seconds_total")
                      .Help("Time during which at least one caller of a side waited on the rate limiter.")
                      .Register(*registry);
  auto& rpc = prometheus::BuildHistogram()
                  .Name("rill_replay_rpc_seconds")
                  .Help("Latency of replay RPCs: per request for Insert (stored and acknowledged), "
                        "per batch for Sample.")
                  .Register(*registry);
  for (const auto& table : tables_) {
    auto metrics = std::make_unique<TableMetrics>();
    const std::string& name = table->name();
    metrics->inserted = &inserted.Add({{"table", name}});
    metrics->sampled = &sampled.Add({{"table", name}});
    metrics->size = &size.Add({{"table", name}});
    metrics->bytes = &bytes.Add({{"table", name}});
    metrics->insert_blocked_seconds = &blocked.Add({{"table", name}, {"side", "insert"}});
    metrics->sample_blocked_seconds = &blocked.Add({{"table", name}, {"side", "sample"}});
    metrics_[table.get()] = std::move(metrics);
  }
  for (const char* method : {"Insert", "Sample", "UpdatePriorities", "Info"}) {
    rpc_seconds_[method] = &rpc.Add({{"method", method}}, LatencyBuckets());
  }
}

class SyncReplayServiceImpl::ActiveCall {
 public:
  ActiveCall(SyncReplayServiceImpl* service, grpc::ServerContext* context) : service_(service), context_(context) {
    absl::MutexLock lock(&service_->mu_);
    service_->active_calls_.insert(context_);
    if (service_->shutting_down_) context_->TryCancel();
  }
  ~ActiveCall() {
    absl::MutexLock lock(&service_->mu_);
    service_->active_calls_.erase(context_);
  }

 private:
  SyncReplayServiceImpl* const service_;
  grpc::ServerContext* const context_;
};

// A request read from a stream and not yet answered: Shutdown's drain waits
// for these.
class SyncReplayServiceImpl::BusyRequest {
 public:
  explicit BusyRequest(SyncReplayServiceImpl* service) : service_(service) { service_->AddBusy(1); }
  ~BusyRequest() { service_->AddBusy(-1); }
  BusyRequest(const BusyRequest&) = delete;
  BusyRequest& operator=(const BusyRequest&) = delete;

 private:
  SyncReplayServiceImpl* const service_;
};

SyncReplayServiceImpl::~SyncReplayServiceImpl() { Shutdown(); }

void SyncReplayServiceImpl::AttachDurability(ShardDurability* durability, int max_in_flight_inserts) {
  durability_ = durability;
  max_in_flight_inserts_ = std::max(1, max_in_flight_inserts);
}

std::vector<Table*> SyncReplayServiceImpl::tables() const {
  std::vector<Table*> tables;
  for (const auto& table : tables_) tables.push_back(table.get());
  return tables;
}

void SyncReplayServiceImpl::Shutdown(absl::Duration drain) {
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return busy_requests_ == 0; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&drained), drain)) {
      RILL_LOG(WARNING) << "replay shard " << shard_index_ << ": " << busy_requests_
                        << " requests still unacknowledged after a drain of " << absl::FormatDuration(drain)
                        << "; their writers resend them";
    }
  }
  for (const auto& table : tables_) table->Close();
  absl::MutexLock lock(&mu_);
  for (grpc::ServerContext* context : active_calls_) context->TryCancel();
}

grpc::Status SyncReplayServiceImpl::ShuttingDownStatus() const {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      absl::StrCat("replay shard ", shard_index_,
                                   " is shutting down; unacknowledged items go to another shard or wait for its restart"));
}

void SyncReplayServiceImpl::AddBusy(int delta) {
  absl::MutexLock lock(&mu_);
  busy_requests_ += delta;
}

bool SyncReplayServiceImpl::shutting_down() const {
  absl::MutexLock lock(&mu_);
  return shutting_down_;
}

Table* SyncReplayServiceImpl::FindTable(const std::string& name) const {
  auto it = tables_by_name_.find(name);
  return it == tables_by_name_.end() ? nullptr : it->second;
}

absl::StatusOr<Table*> SyncReplayServiceImpl::LookupTable(const std::string& name) const {
  if (Table* table = FindTable(name)) return table;
  std::vector<std::string> known;
  for (const auto& table : tables_) known.push_back(table->name());
  return absl::NotFoundError(absl::StrCat("no replay table '", name, "' on shard ", shard_index_,
                                          " (known: ", absl::StrJoin(known, ", "), ")"));
}

template <typename Attempt>
absl::Status SyncReplayServiceImpl::RunBlocking(grpc::ServerContext* context, Table* table, Attempt attempt) {
  const absl::Time call_deadline = CallDeadline(*context);
  while (true) {
    absl::Status status = attempt(std::min(call_deadline, absl::Now() + kCancelCheckPeriod));
    if (status.code() != absl::StatusCode::kDeadlineExceeded) return status;
    UpdateMetrics(table);  // so that blocked time shows while it accrues
    if (context->IsCancelled()) return absl::CancelledError("the client cancelled the call");
    if (shutting_down()) return absl::CancelledError("the replay shard is shutting down");
    if (absl::Now() >= call_deadline) return status;
  }
}

void SyncReplayServiceImpl::UpdateMetrics(Table* table) {
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
  m.size->Set(static_cast<double>(stats.size));
  m.bytes->Set(static_cast<double>(stats.bytes));
}

void SyncReplayServiceImpl::ObserveRpc(const std::string& method, absl::Duration latency) {
  auto it = rpc_seconds_.find(method);
  if (it != rpc_seconds_.end()) it->second->Observe(absl::ToDoubleSeconds(latency));
}

grpc::Status SyncReplayServiceImpl::Insert(
    grpc::ServerContext* context, grpc::ServerReaderWriter<v1::InsertResponse, v1::InsertRequest>* stream) {
  if (durability_ != nullptr && durability_->wal() != nullptr) return InsertDurably(context, stream);
  ActiveCall active(this, context);
  v1::InsertRequest request;
  std::vector<uint64_t> stored_keys;
  while (stream->Read(&request)) {
    BusyRequest busy(this);
    const absl::Time start = absl::Now();
    absl::StatusOr<Table*> table = LookupTable(request.table());
    if (!table.ok()) return ToGrpcStatus(table.status());
    absl::Status status = RunBlocking(context, *table, [&](absl::Time deadline) {
      return (*table)->Insert(request, deadline, &stored_keys);
    });
    UpdateMetrics(*table);
    if (!status.ok()) return ToGrpcStatus(status);
    v1::InsertResponse response;
    response.mutable_keys()->Add(stored_keys.begin(), stored_keys.end());
    if (!stream->Write(response)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the writer went away before its acknowledgement");
    }
    ObserveRpc("Insert", absl::Now() - start);
    if (shutting_down()) return ShuttingDownStatus();
  }
  return grpc::Status::OK;
}

grpc::Status SyncReplayServiceImpl::InsertDurably(
    grpc::ServerContext* context, grpc::ServerReaderWriter<v1::InsertResponse, v1::InsertRequest>* stream) {
  ActiveCall active(this, context);
  WriteAheadLog* wal = durability_->wal();
  struct Pending {
    uint64_t ticket = 0;
    v1::InsertResponse response;
    absl::Time start;
  };
  absl::Mutex mu;
  std::deque<Pending> pending;  // guarded by mu, as are the next two
  bool reader_done = false;
  absl::Status writer_status;  // first failure of the writer thread
  bool draining = false;  // the reader stopped because Shutdown began

  // Acknowledges requests in order as their records become durable.
  std::thread writer([&] {
    while (true) {
      Pending next;
      {
        absl::MutexLock lock(&mu);
        auto ready = [&] { return !pending.empty() || reader_done; };
        mu.Await(absl::Condition(&ready));
        if (pending.empty()) return;
        next = std::move(pending.front());
      }
      absl::Status status;
      while (true) {
        status = wal->WaitDurable(next.ticket, absl::Now() + kCancelCheckPeriod);
        if (!absl::IsDeadlineExceeded(status)) break;
        // Shutdown's drain waits for logged requests to be acknowledged;
        // after it, it cancels the call.
        if (context->IsCancelled()) {
          status = absl::CancelledError("the call was cancelled");
          break;
        }
      }
      if (status.ok() && !stream->Write(next.response)) {
        status = absl::CancelledError("the writer went away before its acknowledgement");
      }
      absl::MutexLock lock(&mu);
      if (!status.ok()) {
        writer_status = status;
        // Wakes the handler thread out of Read.
        context->TryCancel();
        return;
      }
      ObserveRpc("Insert", absl::Now() - next.start);
      pending.pop_front();
      AddBusy(-1);
    }
  });

  absl::Status status;
  v1::InsertRequest request;
  std::vector<uint64_t> stored_keys;
  while (true) {
    {
      // At most max_in_flight_inserts_ requests wait for the log.
      absl::MutexLock lock(&mu);
      auto room = [&] {
        return static_cast<int>(pending.size()) < max_in_flight_inserts_ || !writer_status.ok();
      };
      mu.Await(absl::Condition(&room));
      if (!writer_status.ok()) break;
    }
    if (shutting_down()) {
      draining = true;
      break;
    }
    if (!stream->Read(&request)) break;
    BusyRequest busy(this);
    const absl::Time start = absl::Now();
    absl::StatusOr<Table*> table = LookupTable(request.table());
    if (!table.ok()) {
      status = table.status();
      break;
    }
    status = RunBlocking(context, *table, [&](absl::Time deadline) {
      return (*table)->Insert(request, deadline, &stored_keys);
    });
    UpdateMetrics(*table);
    if (!status.ok()) break;
    // Stored, then logged: a checkpoint that rotates the log after this
    // append snapshots the table after this store (see wal.h).
    std::string record(kRecordHeaderBytes, '\0');
    request.AppendToString(&record);
    Pending entry;
    entry.ticket = wal->Append(std::move(record));
    entry.response.mutable_keys()->Add(stored_keys.begin(), stored_keys.end());
    entry.start = start;
    AddBusy(1);  // until the writer thread acknowledges it
    absl::MutexLock lock(&mu);
    pending.push_back(std::move(entry));
  }
  {
    absl::MutexLock lock(&mu);
    reader_done = true;
  }
  // The writer acknowledges what is already logged before the stream ends.
  writer.join();
  absl::MutexLock lock(&mu);
  AddBusy(-static_cast<int>(pending.size()));  // never acknowledged
  if (!writer_status.ok()) return ToGrpcStatus(writer_status);
  if (draining && status.ok()) return ShuttingDownStatus();
  return ToGrpcStatus(status);
}

grpc::Status SyncReplayServiceImpl::Sample(
    grpc::ServerContext* context, grpc::ServerReaderWriter<v1::SampleResponse, v1::SampleRequest>* stream) {
  ActiveCall active(this, context);
  v1::SampleRequest request;
  Table* table = nullptr;
  int batch_size = 0;
  // Credits are served in the order granted: a request's batches are all
  // written before the next request is read, and credits granted meanwhile
  // wait in gRPC's buffers.
  while (stream->Read(&request)) {
    if (!request.table().empty()) {
      absl::StatusOr<Table*> found = LookupTable(request.table());
      if (!found.ok()) return ToGrpcStatus(found.status());
      table = *found;
    }
    if (table == nullptr) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first SampleRequest must name a table");
    }
    if (request.batch_size() != 0) batch_size = request.batch_size();
    if (batch_size <= 0 || batch_size > Table::kMaxSampleBatchSize) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("SampleRequest.batch_size ", batch_size, " is out of range (1..",
                                       Table::kMaxSampleBatchSize, ")"));
    }
    if (request.num_batches() < 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("SampleRequest.num_batches ", request.num_batches(), " must be >= 0"));
    }
    if (EstimatedBatchBytes(*table, batch_size) > max_message_bytes_) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("a batch of ", batch_size, " items of table '", table->name(),
                                       "' needs about ", EstimatedBatchBytes(*table, batch_size),
                                       " bytes, over the max message size of ", max_message_bytes_,
                                       "; ask for smaller batches"));
    }
    for (int i = 0; i < request.num_batches(); ++i) {
      const absl::Time start = absl::Now();
      v1::SampleResponse response;
      absl::Status status = RunBlocking(context, table, [&](absl::Time deadline) {
        return table->Sample(batch_size, deadline, &response);
      });
      UpdateMetrics(table);
      if (!status.ok()) return ToGrpcStatus(status);
      if (!stream->Write(response)) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "the sampler went away");
      }
      ObserveRpc("Sample", absl::Now() - start);
    }
  }
  return grpc::Status::OK;
}

grpc::Status SyncReplayServiceImpl::UpdatePriorities(grpc::ServerContext* /*context*/,
                                                 const v1::UpdatePrioritiesRequest* request,
                                                 v1::UpdatePrioritiesResponse* response) {
  const absl::Time start = absl::Now();
  absl::StatusOr<Table*> table = LookupTable(request->table());
  if (!table.ok()) return ToGrpcStatus(table.status());
  int64_t updated = 0;
  absl::Status status = (*table)->UpdatePriorities(*request, &updated);
  response->set_updated(updated);
  ObserveRpc("UpdatePriorities", absl::Now() - start);
  return ToGrpcStatus(status);
}

grpc::Status SyncReplayServiceImpl::Info(grpc::ServerContext* /*context*/, const v1::InfoRequest* /*request*/,
                                     v1::InfoResponse* response) {
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
  return grpc::Status::OK;
}

}  // namespace rill::replay
