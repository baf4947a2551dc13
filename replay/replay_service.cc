#include "replay/replay_service.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"
#include "common/metrics.h"
#include "common/status_macros.h"

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

absl::StatusOr<std::unique_ptr<ReplayServiceImpl>> ReplayServiceImpl::Create(
    const v1::ReplayConfig& config, int shard_index, prometheus::Registry* registry) {
  std::vector<std::unique_ptr<Table>> tables;
  for (const v1::TableConfig& table_config : config.tables()) {
    for (const auto& existing : tables) {
      if (existing->name() == table_config.name()) {
        return absl::InvalidArgumentError(absl::StrCat("table '", table_config.name(), "' is configured twice"));
      }
    }
    ASSIGN_OR_RETURN(std::unique_ptr<Table> table, Table::Create(table_config));
    tables.push_back(std::move(table));
  }
  const int64_t max_message_bytes =
      config.max_message_bytes() > 0 ? config.max_message_bytes() : kDefaultMaxMessageBytes;
  return std::make_unique<ReplayServiceImpl>(std::move(tables), shard_index, max_message_bytes, registry);
}

ReplayServiceImpl::ReplayServiceImpl(std::vector<std::unique_ptr<Table>> tables, int shard_index,
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

class ReplayServiceImpl::ActiveCall {
 public:
  ActiveCall(ReplayServiceImpl* service, grpc::ServerContext* context) : service_(service), context_(context) {
    absl::MutexLock lock(&service_->mu_);
    service_->active_calls_.insert(context_);
    if (service_->shutting_down_) context_->TryCancel();
  }
  ~ActiveCall() {
    absl::MutexLock lock(&service_->mu_);
    service_->active_calls_.erase(context_);
  }

 private:
  ReplayServiceImpl* const service_;
  grpc::ServerContext* const context_;
};

ReplayServiceImpl::~ReplayServiceImpl() { Shutdown(); }

void ReplayServiceImpl::Shutdown() {
  for (const auto& table : tables_) table->Close();
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
  for (grpc::ServerContext* context : active_calls_) context->TryCancel();
}

bool ReplayServiceImpl::shutting_down() const {
  absl::MutexLock lock(&mu_);
  return shutting_down_;
}

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

template <typename Attempt>
absl::Status ReplayServiceImpl::RunBlocking(grpc::ServerContext* context, Table* table, Attempt attempt) {
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
  m.size->Set(static_cast<double>(stats.size));
  m.bytes->Set(static_cast<double>(stats.bytes));
}

void ReplayServiceImpl::ObserveRpc(const std::string& method, absl::Duration latency) {
  auto it = rpc_seconds_.find(method);
  if (it != rpc_seconds_.end()) it->second->Observe(absl::ToDoubleSeconds(latency));
}

grpc::Status ReplayServiceImpl::Insert(
    grpc::ServerContext* context, grpc::ServerReaderWriter<v1::InsertResponse, v1::InsertRequest>* stream) {
  ActiveCall active(this, context);
  v1::InsertRequest request;
  std::vector<uint64_t> stored_keys;
  while (stream->Read(&request)) {
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
  }
  return grpc::Status::OK;
}

grpc::Status ReplayServiceImpl::Sample(
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

grpc::Status ReplayServiceImpl::UpdatePriorities(grpc::ServerContext* /*context*/,
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

grpc::Status ReplayServiceImpl::Info(grpc::ServerContext* /*context*/, const v1::InfoRequest* /*request*/,
                                     v1::InfoResponse* response) {
  const absl::Time start = absl::Now();
  response->set_shard(shard_index_);
  for (const auto& table : tables_) {
    *response->add_tables() = table->Info();
    UpdateMetrics(table.get());
  }
  ObserveRpc("Info", absl::Now() - start);
  return grpc::Status::OK;
}

}  // namespace rill::replay
