// ReplayServiceImpl: the gRPC face of one replay shard (proto/replay.proto),
// on gRPC's callback API. Every call is a reactor, not a thread: a shard
// holds thousands of writer streams with the threads of an idle server.
//
// Insert and Sample streams are InsertReactor and SampleReactor (in
// replay_service.cc, one class per streaming RPC with its own mutex). A
// request the rate limiter holds back waits in its table's AdmissionQueue
// (replay/admission_queue.h): served in arrival order, woken by the other
// side's progress, never polled. A stream reads its next request only once
// the previous one is stored (with a log: once at most
// max_in_flight_inserts_per_stream wait for it), so unread requests stay in
// the transport and HTTP/2 flow control, under the server's memory quota,
// holds fast writers back.
//
// Durability (replay/durability.h): with a write-ahead log attached, a
// request is stored, appended to the log, and acknowledged from the log's
// group-commit callback once synced; acknowledgements go out in order.
//
// Thread-safety: all methods are thread-safe. Lock order: the service's
// calls_mu_, then a reactor's mutex, then the service's busy_mu_ (and a
// table's mutex, for metrics). A reactor
// never calls an AdmissionQueue or WriteAheadLog::OnDurable while holding
// its own mutex (their callbacks take it). The tables are owned here and
// outlive the server that serves them (destroy the server first).
#ifndef RILL_REPLAY_SERVER_REPLAY_SERVICE_H_
#define RILL_REPLAY_SERVER_REPLAY_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "proto/config.pb.h"
#include "proto/replay.grpc.pb.h"
#include "replay/admission_queue.h"
#include "replay/durability/shard_durability.h"
#include "replay/table.h"

namespace rill::replay {

class ReplayServiceImpl final : public v1::ReplayService::CallbackService {
 public:
  // Builds one Table per config.tables() (InvalidArgument / Unimplemented as
  // Table::Create says, naming the table). `max_message_bytes` is the
  // server's message limit: Sample rejects batches that could not be sent.
  // `registry` receives the rill_replay_* metrics; nullptr: no metrics.
  static absl::StatusOr<std::unique_ptr<ReplayServiceImpl>> Create(const v1::ReplayConfig& config,
                                                                   int shard_index,
                                                                   prometheus::Registry* registry);

  // Serves the given tables (unique names).
  ReplayServiceImpl(std::vector<std::unique_ptr<Table>> tables, int shard_index,
                    int64_t max_message_bytes, prometheus::Registry* registry);
  ~ReplayServiceImpl() override;

  // Makes inserts durable as `durability` says (its log, if any) and reports
  // it in Info; `max_in_flight_inserts` bounds the unacknowledged requests of
  // one stream waiting for the log. Call before the server starts serving;
  // `durability` outlives the server. nullptr: mode "none".
  void AttachDurability(ShardDurability* durability, int max_in_flight_inserts);

  // The tables in config order.
  std::vector<Table*> tables() const;

  // Each request is stored (queued as the rate limiter says, up to the
  // client's deadline) and then answered with its keys. The stream ends with
  // NOT_FOUND for an unknown table, INVALID_ARGUMENT naming the field for a
  // bad request (items of earlier requests stay stored), CANCELLED on
  // shutdown; the client sees DEADLINE_EXCEEDED at its deadline.
  grpc::ServerBidiReactor<v1::InsertRequest, v1::InsertResponse>* Insert(
      grpc::CallbackServerContext* context) override;

  // Each request grants num_batches credits (table and batch_size may be
  // left empty / 0 after the first request to keep the previous ones); one
  // whole batch is written per credit as soon as the table allows. The stream
  // ends with NOT_FOUND, INVALID_ARGUMENT (bad batch_size, a batch over the
  // message limit), CANCELLED on shutdown.
  grpc::ServerBidiReactor<v1::SampleRequest, v1::SampleResponse>* Sample(
      grpc::CallbackServerContext* context) override;

  // Sets the priorities of the listed keys still in the table (others were
  // evicted meanwhile and are skipped) and answers how many it set.
  // UNIMPLEMENTED for tables whose selector has no priorities (uniform,
  // fifo); INVALID_ARGUMENT naming the index and key of a NaN, infinite or
  // negative priority, or for mismatched counts, and then nothing changes.
  grpc::ServerUnaryReactor* UpdatePriorities(grpc::CallbackServerContext* context,
                                             const v1::UpdatePrioritiesRequest* request,
                                             v1::UpdatePrioritiesResponse* response) override;

  // Every table's TableInfo, the durability mode and the last checkpoint.
  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* context, const v1::InfoRequest* request,
                                 v1::InfoResponse* response) override;

  // The run is stopping: every table admits every insert from now on
  // (Table::ReleaseInserts), so that the actors' last batches are stored
  // without waiting for samples. Answers the tables that were blocked.
  grpc::ServerUnaryReactor* ReleaseInserts(grpc::CallbackServerContext* context,
                                           const v1::ReleaseInsertsRequest* request,
                                           v1::ReleaseInsertsResponse* response) override;

  // Stops the service in two steps. Drain: new calls and requests waiting
  // in an admission queue end (CANCELLED), an Insert stream ends
  // (UNAVAILABLE, "shutting down") right after acknowledging the request it
  // is working on, and Shutdown waits up to `drain` for every request
  // already read to be stored and acknowledged. Then it closes every table
  // and finishes every open stream (CANCELLED; one waiting for its next
  // request included), so that grpc::Server::Shutdown finishes promptly.
  // Clients resend what was not acknowledged. Blocks up to `drain`;
  // idempotent.
  void Shutdown(absl::Duration drain = absl::ZeroDuration()) ABSL_LOCKS_EXCLUDED(calls_mu_, busy_mu_);

  // Brings every table's metrics up to date. Completions and Info do so as
  // they happen; a caller that wants the blocked time of a long wait to show
  // while it accrues calls this periodically (replay_main: every second).
  void RefreshMetrics();

  // nullptr if there is no such table.
  Table* FindTable(const std::string& name) const;
  // NotFound naming `name` and listing the known tables.
  absl::StatusOr<Table*> LookupTable(const std::string& name) const;
  // The admission queue of a table of this service.
  AdmissionQueue* queue(const Table* table) const;
  // Open Insert / Sample streams (reactors not yet done), for tests.
  int64_t open_streams() const ABSL_LOCKS_EXCLUDED(calls_mu_);

  // Bucket bounds of rill_replay_admitted_seconds (seconds).
  static prometheus::Histogram::BucketBoundaries AdmittedBuckets();

  // A streaming reactor as the service sees it: Shutdown ends it.
  class Call {
   public:
    virtual ~Call() = default;
    // Finishes the stream with `status` (now, or once its outstanding
    // operations complete). Called with calls_mu_ held.
    virtual void Stop(grpc::Status status) = 0;
  };

 private:
  template <typename Request, typename Response>
  friend class QueuedReactor;
  friend class InsertReactor;
  friend class SampleReactor;

  // Per-table metrics; counters advance by the table's counter deltas.
  struct TableMetrics {
    prometheus::Counter* inserted = nullptr;
    prometheus::Counter* sampled = nullptr;
    prometheus::Gauge* inserted_at_stop = nullptr;
    prometheus::Gauge* size = nullptr;
    prometheus::Gauge* bytes = nullptr;
    prometheus::Counter* insert_blocked_seconds = nullptr;
    prometheus::Counter* sample_blocked_seconds = nullptr;
    absl::Mutex mu;
    TableStats reported ABSL_GUARDED_BY(mu);
  };

  void UpdateMetrics(Table* table);
  // Per request: a lookup by the literal method name, no std::string made.
  void ObserveRpc(absl::string_view method, absl::Duration latency);
  void ObserveAdmitted(absl::string_view method, absl::Duration latency);
  // UNAVAILABLE, naming the shard: how a stream ends once Shutdown began.
  grpc::Status ShuttingDownStatus() const;
  // Registers an open stream; false (not registered) once Shutdown began.
  bool Register(Call* call) ABSL_LOCKS_EXCLUDED(calls_mu_);
  void Unregister(Call* call) ABSL_LOCKS_EXCLUDED(calls_mu_);
  // Lock-free: reactors ask while holding their own mutex.
  bool shutting_down() const;
  // Adds `delta` to busy_requests_ (see Shutdown's drain).
  void AddBusy(int delta) ABSL_LOCKS_EXCLUDED(busy_mu_);
  // The log inserts wait for; nullptr without one.
  WriteAheadLog* wal() const { return durability_ == nullptr ? nullptr : durability_->wal(); }

  const int shard_index_;
  const int64_t max_message_bytes_;
  std::vector<std::unique_ptr<Table>> tables_;  // immutable after construction
  absl::flat_hash_map<std::string, Table*> tables_by_name_;
  absl::flat_hash_map<const Table*, std::unique_ptr<AdmissionQueue>> queues_;  // one per table
  absl::flat_hash_map<const Table*, std::unique_ptr<TableMetrics>> metrics_;  // empty without registry
  absl::flat_hash_map<std::string, prometheus::Histogram*> rpc_seconds_;      // by method
  absl::flat_hash_map<std::string, prometheus::Histogram*> admitted_seconds_;  // by method
  ShardDurability* durability_ = nullptr;  // set before serving
  int max_in_flight_inserts_ = 8;

  mutable absl::Mutex calls_mu_;
  // Set once, under calls_mu_ so that Register sees it or Shutdown sees the call.
  std::atomic<bool> shutting_down_{false};
  absl::flat_hash_set<Call*> calls_ ABSL_GUARDED_BY(calls_mu_);

  mutable absl::Mutex busy_mu_;
  // Requests read from a stream and not yet acknowledged (or refused).
  int busy_requests_ ABSL_GUARDED_BY(busy_mu_) = 0;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_SERVER_REPLAY_SERVICE_H_
