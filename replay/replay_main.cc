#include "replay/replay_main.h"

#include <malloc.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "common/config.h"
#include "common/flags.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/process.h"
#include "replay/checkpoint.h"
#include "replay/durability.h"
#include "replay/blocked_reporter.h"
#include "replay/replay_service.h"
#include "replay/server_options.h"

ABSL_FLAG(int32_t, shard_index, 0, "Index of this replay shard among the run's shards (reported by Info).");

namespace rill::replay {
namespace {

// How long the server waits for calls and connections to end after the
// tables are closed and the streams cancelled. What remains then is idle
// client connections: a sync gRPC client polls its socket only during a
// call, so it may never answer the server's GOAWAY.
constexpr absl::Duration kShutdownGrace = absl::Seconds(2);

// How long a stopping shard waits for the requests it has read to be stored
// and acknowledged before it cancels what is left (see Shutdown).
constexpr absl::Duration kDrain = absl::Seconds(2);

// How often freed heap memory is returned to the system.
constexpr absl::Duration kTrimPeriod = absl::Seconds(5);
constexpr absl::Duration kMetricsPeriod = absl::Seconds(1);

// "HOST:PORT", bracketing an IPv6 host.
std::string HostPort(const std::string& host, int port) {
  if (host.find(':') != std::string::npos && host.front() != '[') return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

}  // namespace

int ReplayMain() {
  absl::Notification& shutdown = InstallShutdownSignals();
  const int shard = absl::GetFlag(FLAGS_shard_index);
  SetLogRole(absl::StrCat("replay/", shard));
  const std::string host = absl::GetFlag(FLAGS_host);
  const int port = absl::GetFlag(FLAGS_port);
  const int metrics_port = absl::GetFlag(FLAGS_metrics_port);
  if (shard < 0) {
    RILL_LOG(ERROR) << "--shard_index " << shard << " must be >= 0";
    return 2;
  }
  if (port < 0 || port > 65535 || metrics_port < -1 || metrics_port > 65535) {
    RILL_LOG(ERROR) << "--port " << port << " / --metrics_port " << metrics_port << " out of range";
    return 2;
  }

  absl::StatusOr<v1::ExperimentConfig> config = LoadExperimentConfig(absl::GetFlag(FLAGS_config));
  if (!config.ok()) {
    RILL_LOG(ERROR) << "bad experiment config: " << config.status().ToString();
    return 2;
  }

  std::unique_ptr<MetricsServer> metrics;
  if (metrics_port >= 0) {
    absl::StatusOr<std::unique_ptr<MetricsServer>> created = MetricsServer::Create(HostPort(host, metrics_port));
    if (!created.ok()) {
      RILL_LOG(ERROR) << created.status().ToString();
      return 1;
    }
    metrics = *std::move(created);
  }

  prometheus::Registry* registry = metrics ? &metrics->registry() : nullptr;
  absl::StatusOr<std::vector<std::unique_ptr<Table>>> created = CreateTables(config->replay());
  if (!created.ok()) {
    RILL_LOG(ERROR) << "bad replay config: " << created.status().ToString();
    return 2;
  }
  // Restore before serving: the tables are rebuilt from disk first.
  const v1::DurabilityConfig& durability_config = config->replay().durability();
  std::unique_ptr<ShardDurability> durability;
  if (durability_config.mode() != "none") {
    absl::StatusOr<std::string> dir =
        ResolveDurabilityDir(absl::GetFlag(FLAGS_checkpoint_dir), durability_config.dir(), shard);
    if (!dir.ok()) {
      RILL_LOG(ERROR) << "bad replay config: " << dir.status().message();
      return 2;
    }
    absl::StatusOr<std::unique_ptr<ShardDurability>> opened =
        ShardDurability::Open(config->replay(), *dir, &*created, registry);
    if (!opened.ok()) {
      RILL_LOG(ERROR) << "cannot restore the shard from '" << *dir << "': " << opened.status().ToString();
      return absl::IsFailedPrecondition(opened.status()) || absl::IsInvalidArgument(opened.status()) ? 2 : 1;
    }
    durability = *std::move(opened);
    RILL_LOG(INFO) << "durability mode " << durability_config.mode() << " in '" << *dir << "' (checkpoint every "
                   << durability_config.checkpoint_interval_seconds() << " s, keeping "
                   << durability_config.keep_latest() << "): " << durability->RestoreReport();
  }
  const int64_t max_message_bytes = config->replay().max_message_bytes() > 0 ? config->replay().max_message_bytes()
                                                                               : int64_t{64} << 20;
  auto service = std::make_unique<ReplayServiceImpl>(*std::move(created), shard, max_message_bytes, registry);
  if (durability) {
    service->AttachDurability(durability.get(), config->replay().max_in_flight_inserts_per_stream());
    durability->Start(service->tables());
  }
  absl::StatusOr<StartedServer> server =
      StartGrpcServer(HostPort(host, port), {service.get()}, ReplayServerOptions(config->replay()));
  if (!server.ok()) {
    RILL_LOG(ERROR) << server.status().ToString();
    return 1;
  }

  // On SIGTERM, readiness goes first, before the drain (common/process.h).
  std::unique_ptr<ShutdownHook> not_serving = OnShutdownSignal([&server] {
    server->server->GetHealthCheckService()->SetServingStatus(false);
    RILL_LOG(INFO) << "health: NOT_SERVING";
  });

  std::vector<std::string> tables;
  std::vector<const Table*> watched_tables;
  for (const v1::TableConfig& table : config->replay().tables()) {
    tables.push_back(absl::StrCat(table.name(), " (max_size ", table.max_size(), ")"));
    watched_tables.push_back(service->FindTable(table.name()));
  }
  // Logs every few seconds why a table keeps its writers or samplers waiting.
  BlockedReporter blocked_reporter(std::move(watched_tables), BlockedReporterOptions());
  const int bound_metrics_port = metrics ? metrics->port() : -1;
  RILL_LOG(INFO) << "replay shard " << shard << " serving " << absl::StrJoin(tables, ", ") << " on "
                 << HostPort(host, server->port) << ", metrics on port " << bound_metrics_port;
  absl::Status ready =
      AnnounceReady(absl::GetFlag(FLAGS_ready_fd), {{"grpc_port", server->port}, {"metrics_port", bound_metrics_port}});
  if (!ready.ok()) RILL_LOG(WARNING) << ready.ToString();

  // Request buffers come and go as items are copied into the tables; hand
  // the freed heap pages back every few seconds, so that resident memory
  // tracks the stored items rather than the largest burst of requests. The
  // same thread refreshes the table metrics every second, so that the
  // blocked time of requests waiting in an admission queue shows while it
  // accrues (no thread waits on the tables to report it).
  std::thread housekeeper([&shutdown, &service] {
    absl::Time next_trim = absl::Now() + kTrimPeriod;
    while (!shutdown.WaitForNotificationWithTimeout(kMetricsPeriod)) {
      service->RefreshMetrics();
      if (absl::Now() >= next_trim) {
        malloc_trim(0);
        next_trim = absl::Now() + kTrimPeriod;
      }
    }
  });
  shutdown.WaitForNotification();
  housekeeper.join();
  RILL_LOG(INFO) << "shutting down";
  service->Shutdown(kDrain);
  server->server->Shutdown(DeadlineIn(kShutdownGrace));
  server->server->Wait();
  if (durability) {
    // Nothing is inserted any more: the final checkpoint holds everything.
    absl::Status st = durability->Stop(/*final_checkpoint=*/true);
    if (st.ok()) {
      const v1::CheckpointInfo info = durability->Info();
      RILL_LOG(INFO) << "final checkpoint '" << info.path() << "': " << info.items() << " items in "
                     << info.duration_seconds() << " s";
    } else {
      RILL_LOG(ERROR) << "final checkpoint failed: " << st;
    }
  }
  for (const v1::TableConfig& table : config->replay().tables()) {
    const TableStats stats = service->FindTable(table.name())->Stats();
    RILL_LOG(INFO) << "table " << table.name() << ": " << stats.size << " items held, " << stats.items_inserted
                   << " inserted, " << stats.items_sampled << " sampled";
  }
  RILL_LOG(INFO) << "stopped";
  return 0;
}

}  // namespace rill::replay
