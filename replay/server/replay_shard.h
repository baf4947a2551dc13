// A replay shard as one object: the tables of a ReplayConfig, restored from
// disk when the config asks for durability, served by ReplayServiceImpl on a
// gRPC server, and stopped in order (drain, close, server, final
// checkpoint). `rill replay` (replay_main), the test shard and the
// benchmarks all start shards through it, so that a shard is set up one way.
//
// Thread-safety: Start and Stop from one owner thread; SetNotServing and
// RefreshMetrics from any thread while the shard lives; the accessors are
// immutable after Start.
#ifndef RILL_REPLAY_SERVER_REPLAY_SHARD_H_
#define RILL_REPLAY_SERVER_REPLAY_SHARD_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc_util.h"
#include "grpcpp/grpcpp.h"
#include "prometheus/registry.h"
#include "proto/config.pb.h"
#include "replay/durability/shard_durability.h"
#include "replay/server/blocked_reporter.h"
#include "replay/server/replay_service.h"
#include "replay/table.h"

namespace rill::replay {

struct ReplayShardOptions {
  // "HOST:PORT" to listen on; port 0 picks a free one.
  std::string address = "127.0.0.1:0";
  // This shard's index among the run's shards (reported by Info).
  int shard_index = 0;
  // The shard's own durability folder (ResolveDurabilityDir); required when
  // the config's durability mode is not "none", ignored otherwise.
  std::string durability_dir;
  // Receives the service's and the durability's metrics; nullptr: none.
  prometheus::Registry* registry = nullptr;
  // The gRPC server's options; unset: ReplayServerOptions(config).
  std::optional<GrpcServerOptions> server_options;
  // How long Stop waits for requests already read to be stored and
  // acknowledged before it cancels what is left.
  absl::Duration drain = absl::Seconds(2);
  // How long Stop then waits for calls and connections to end.
  absl::Duration shutdown_grace = absl::Seconds(2);
  // Logs every few seconds why a table keeps its writers or samplers waiting.
  bool report_blocked = false;
  // With durability, Stop writes one last checkpoint (what a restart then
  // restores without replaying the log).
  bool final_checkpoint = true;
};

class ReplayShard {
 public:
  // Creates the tables, restores them (durability mode "checkpoint" or
  // "wal") and starts serving. Errors name the stage: "bad replay config:
  // ..." (InvalidArgument), "cannot restore the shard from '<dir>': ..."
  // (FailedPrecondition for a checkpoint that does not match the config, or
  // for damaged files that lose acknowledged items while
  // durability.on_corruption is REFUSE: see shard_durability.h; Internal
  // for I/O), or the server's own error (the address is taken).
  static absl::StatusOr<std::unique_ptr<ReplayShard>> Start(const v1::ReplayConfig& config,
                                                           ReplayShardOptions options);
  // Stop()s.
  ~ReplayShard();

  ReplayShard(const ReplayShard&) = delete;
  ReplayShard& operator=(const ReplayShard&) = delete;

  // Readiness goes first on SIGTERM: grpc.health.v1 answers NOT_SERVING from
  // now on, while the shard still stores and acknowledges.
  void SetNotServing();
  // Drains (see ReplayServiceImpl::Shutdown), stops the server and, with
  // durability, writes the final checkpoint: its status is returned (and
  // logged). Idempotent; later calls return OK.
  absl::Status Stop();

  // Brings the table metrics up to date (replay_main: every second).
  void RefreshMetrics() { service_->RefreshMetrics(); }

  int port() const { return port_; }
  // "HOST:PORT" with the bound port.
  const std::string& address() const { return address_; }
  ReplayServiceImpl& service() { return *service_; }
  // nullptr if there is no such table.
  Table* FindTable(const std::string& name) const { return service_->FindTable(name); }
  // nullptr in durability mode "none".
  ShardDurability* durability() const { return durability_.get(); }

 private:
  ReplayShard() = default;

  v1::ReplayConfig config_;
  ReplayShardOptions options_;
  std::unique_ptr<ShardDurability> durability_;  // outlives the server
  std::unique_ptr<ReplayServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<BlockedReporter> blocked_reporter_;
  std::string address_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_SERVER_REPLAY_SHARD_H_
