// SyncReplayServiceImpl: the replay service on gRPC's sync API, kept beside
// ReplayServiceImpl (replay/replay_service.h, the callback API) until the
// callback service has run in production; nothing links it by default.
//
// Handlers are thin: they find the table, call Table::Insert / Sample /
// Info, and convert the absl::Status with common/grpc_status.h.
//
// It uses gRPC's SYNC API on purpose (not the callback API STYLE.md
// suggests): the table's rate limiter blocks a caller until the other side
// catches up, and with the sync API each stream has its own handler thread,
// so a writer or sampler held back by the limiter stalls only its own stream.
// Blocked handlers wait on the table in slices of at most kCancelCheckPeriod
// to notice a cancelled call or a shutting-down server.
//
// Durability (replay/durability.h): with a write-ahead log attached, an
// insert request is stored in its table, then appended to the log, and
// acknowledged only once the log has synced it. The stream is pipelined: a
// writer thread per stream sends acknowledgements in order as their records
// become durable while the handler thread keeps reading and storing later
// requests, at most max_in_flight_inserts_per_stream of them unacknowledged
// (then it stops reading, and HTTP/2 flow control holds the client back).
// Info reports the durability mode and the last checkpoint.
//
// Thread-safety: all methods are thread-safe; gRPC calls the handlers from
// many threads. The tables are owned here and outlive the server that serves
// them (destroy the server first).
#ifndef RILL_REPLAY_SYNC_REPLAY_SERVICE_H_
#define RILL_REPLAY_SYNC_REPLAY_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "proto/config.pb.h"
#include "proto/replay.grpc.pb.h"
#include "replay/durability.h"
#include "replay/table.h"

namespace rill::replay {

class SyncReplayServiceImpl final : public v1::ReplayService::Service {
 public:
  // How long a blocked handler waits on its table before checking whether
  // its call was cancelled or the service is shutting down.
  static constexpr absl::Duration kCancelCheckPeriod = absl::Milliseconds(100);

  // Builds one Table per config.tables() (InvalidArgument / Unimplemented as
  // Table::Create says, naming the table). `max_message_bytes` is the
  // server's message limit: Sample rejects batches that could not be sent.
  // `registry` receives the rill_replay_* metrics; nullptr: no metrics.
  static absl::StatusOr<std::unique_ptr<SyncReplayServiceImpl>> Create(const v1::ReplayConfig& config,
                                                                   int shard_index,
                                                                   prometheus::Registry* registry);

  // Serves the given tables (unique names).
  SyncReplayServiceImpl(std::vector<std::unique_ptr<Table>> tables, int shard_index,
                    int64_t max_message_bytes, prometheus::Registry* registry);
  ~SyncReplayServiceImpl() override;

  // Makes inserts durable as `durability` says (its log, if any) and reports
  // it in Info; `max_in_flight_inserts` bounds the unacknowledged requests of
  // one stream waiting for the log. Call before the server starts serving;
  // `durability` outlives the server. nullptr: mode "none".
  void AttachDurability(ShardDurability* durability, int max_in_flight_inserts);

  // The tables in config order.
  std::vector<Table*> tables() const;

  // Each request is stored (blocking as the rate limiter says, up to the
  // client's deadline) and then answered with its keys. The stream ends with
  // NOT_FOUND for an unknown table, INVALID_ARGUMENT naming the field for a
  // bad request (items of earlier requests stay stored), CANCELLED on
  // shutdown, DEADLINE_EXCEEDED at the client's deadline.
  grpc::Status Insert(grpc::ServerContext* context,
                      grpc::ServerReaderWriter<v1::InsertResponse, v1::InsertRequest>* stream) override;

  // Each request grants num_batches credits (table and batch_size may be
  // left empty / 0 after the first request to keep the previous ones); one
  // whole batch is written per credit as soon as the table allows. The stream
  // ends with NOT_FOUND, INVALID_ARGUMENT (bad batch_size, a batch over the
  // message limit), CANCELLED on shutdown.
  grpc::Status Sample(grpc::ServerContext* context,
                      grpc::ServerReaderWriter<v1::SampleResponse, v1::SampleRequest>* stream) override;

  // Sets the priorities of the listed keys still in the table (others were
  // evicted meanwhile and are skipped) and answers how many it set.
  // UNIMPLEMENTED for tables whose selector has no priorities (uniform,
  // fifo); INVALID_ARGUMENT naming the index and key of a NaN, infinite or
  // negative priority, or for mismatched counts, and then nothing changes.
  grpc::Status UpdatePriorities(grpc::ServerContext* context, const v1::UpdatePrioritiesRequest* request,
                                v1::UpdatePrioritiesResponse* response) override;

  // Every table's TableInfo, the durability mode and the last checkpoint.
  grpc::Status Info(grpc::ServerContext* context, const v1::InfoRequest* request,
                    v1::InfoResponse* response) override;

  // Stops the service in two steps. Drain: new calls and calls blocked on
  // a rate limiter end (CANCELLED), an Insert stream ends (UNAVAILABLE,
  // "shutting down") right after acknowledging the request it is working
  // on, and Shutdown waits up to `drain` for every request already read to
  // be stored and acknowledged. Then it closes every table and cancels every
  // open stream (one waiting for its next request included), so that
  // grpc::Server::Shutdown finishes promptly instead of waiting out its
  // deadline. Clients resend what was not acknowledged. Blocks up to
  // `drain`; idempotent.
  void Shutdown(absl::Duration drain = absl::ZeroDuration()) ABSL_LOCKS_EXCLUDED(mu_);

  // nullptr if there is no such table.
  Table* FindTable(const std::string& name) const;
  // NotFound naming `name` and listing the known tables.
  absl::StatusOr<Table*> LookupTable(const std::string& name) const;

 private:
  // Per-table metrics; counters advance by the table's counter deltas.
  struct TableMetrics {
    prometheus::Counter* inserted = nullptr;
    prometheus::Counter* sampled = nullptr;
    prometheus::Gauge* size = nullptr;
    prometheus::Gauge* bytes = nullptr;
    prometheus::Counter* insert_blocked_seconds = nullptr;
    prometheus::Counter* sample_blocked_seconds = nullptr;
    absl::Mutex mu;
    TableStats reported ABSL_GUARDED_BY(mu);
  };

  // Runs `attempt(deadline)` in slices of kCancelCheckPeriod until it stops
  // returning DeadlineExceeded, the call's own deadline passes, the call is
  // cancelled or the service shuts down.
  template <typename Attempt>
  absl::Status RunBlocking(grpc::ServerContext* context, Table* table, Attempt attempt);
  void UpdateMetrics(Table* table);
  void ObserveRpc(const std::string& method, absl::Duration latency);
  bool shutting_down() const ABSL_LOCKS_EXCLUDED(mu_);
  // UNAVAILABLE, naming the shard: how a stream ends once Shutdown began.
  grpc::Status ShuttingDownStatus() const;
  // Adds `delta` to busy_requests_ (see Shutdown's drain).
  void AddBusy(int delta) ABSL_LOCKS_EXCLUDED(mu_);
  // Insert with a write-ahead log: the pipelined stream described above.
  grpc::Status InsertDurably(grpc::ServerContext* context,
                             grpc::ServerReaderWriter<v1::InsertResponse, v1::InsertRequest>* stream);
  // Streams register while their handler runs, so that Shutdown can cancel them.
  class ActiveCall;
  class BusyRequest;

  const int shard_index_;
  const int64_t max_message_bytes_;
  std::vector<std::unique_ptr<Table>> tables_;  // immutable after construction
  absl::flat_hash_map<std::string, Table*> tables_by_name_;
  absl::flat_hash_map<const Table*, std::unique_ptr<TableMetrics>> metrics_;  // empty without registry
  absl::flat_hash_map<std::string, prometheus::Histogram*> rpc_seconds_;      // by method
  ShardDurability* durability_ = nullptr;  // set before serving
  int max_in_flight_inserts_ = 8;

  mutable absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  // Requests read from a stream and not yet acknowledged (or refused).
  int busy_requests_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_set<grpc::ServerContext*> active_calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_SYNC_REPLAY_SERVICE_H_
