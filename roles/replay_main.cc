#include "roles/replay_main.h"

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
#include "experiment/config.h"
#include "experiment/policies.h"
#include "flags/flags.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/process.h"
#include "replay/durability/shard_durability.h"
#include "replay/server/replay_shard.h"

ABSL_FLAG(std::string, on_corruption, "",
          "rill replay: what a shard does with damaged durability files that lose acknowledged items, overriding "
          "replay.durability.on_corruption: REFUSE (do not start, naming the file, offset and items), "
          "SKIP_RECORD (skip the damage, count the loss) or TRUNCATE (keep the log up to the damage, count the "
          "loss). Empty: the config's.");
ABSL_FLAG(int32_t, shard_index, 0, "Index of this replay shard among the run's shards (reported by Info).");

namespace rill::roles {

using replay::ReplayShard;
using replay::ReplayShardOptions;
using replay::ResolveDurabilityDir;
using replay::TableStats;
namespace {

// How long a stopping shard waits for the requests it has read to be stored
// and acknowledged before it cancels what is left, and then for calls and
// connections to end. What remains after that is idle client connections: a
// sync gRPC client polls its socket only during a call, so it may never
// answer the server's GOAWAY.
constexpr absl::Duration kDrain = absl::Seconds(2);
constexpr absl::Duration kShutdownGrace = absl::Seconds(2);

// How often freed heap memory is returned to the system.
constexpr absl::Duration kTrimPeriod = absl::Seconds(5);
constexpr absl::Duration kMetricsPeriod = absl::Seconds(1);

}  // namespace

int ReplayMain() {
  absl::Notification& shutdown = InstallShutdownSignals();
  const int shard_index = absl::GetFlag(FLAGS_shard_index);
  SetLogRole(absl::StrCat("replay/", shard_index));
  const std::string host = absl::GetFlag(FLAGS_host);
  const int port = absl::GetFlag(FLAGS_port);
  const int metrics_port = absl::GetFlag(FLAGS_metrics_port);
  if (shard_index < 0) {
    RILL_LOG(ERROR) << "--shard_index " << shard_index << " must be >= 0";
    return 2;
  }
  if (port < 0 || port > 65535 || metrics_port < -1 || metrics_port > 65535) {
    RILL_LOG(ERROR) << "--port " << port << " / --metrics_port " << metrics_port << " out of range";
    return 2;
  }

  absl::StatusOr<v1::ExperimentConfig> config = experiment::LoadExperimentConfig(absl::GetFlag(FLAGS_config));
  if (!config.ok()) {
    RILL_LOG(ERROR) << "bad experiment config: " << config.status().ToString();
    return 2;
  }

  if (const std::string choice = absl::GetFlag(FLAGS_on_corruption); !choice.empty()) {
    v1::DurabilityConfig::OnCorruption on_corruption;
    if (!v1::DurabilityConfig::OnCorruption_Parse(choice, &on_corruption)) {
      RILL_LOG(ERROR) << "--on_corruption=" << choice << " is not REFUSE, SKIP_RECORD or TRUNCATE";
      return 2;
    }
    config->mutable_replay()->mutable_durability()->set_on_corruption(on_corruption);
  }

  std::unique_ptr<MetricsServer> metrics;
  if (metrics_port >= 0) {
    absl::StatusOr<std::unique_ptr<MetricsServer>> created = MetricsServer::Create(HostPort(host, metrics_port));
    if (!created.ok()) {
      RILL_LOG(ERROR) << created.status().ToString();
      return 1;
    }
    metrics = *std::move(created);
    // Destroyed after the shard (declared before it): holds its last counts.
    metrics->set_final_snapshot_path(absl::GetFlag(FLAGS_final_metrics_file));
  }

  // Every policy's tables (config.policies), or the config's own.
  const absl::StatusOr<v1::ReplayConfig> replay = experiment::PolicyReplay(*config);
  if (!replay.ok()) {
    RILL_LOG(ERROR) << replay.status().ToString();
    return 1;
  }
  ReplayShardOptions options;
  options.address = HostPort(host, port);
  options.shard_index = shard_index;
  options.registry = metrics ? &metrics->registry() : nullptr;
  options.drain = kDrain;
  options.shutdown_grace = kShutdownGrace;
  options.report_blocked = true;
  const v1::DurabilityConfig& durability = config->replay().durability();
  if (durability.mode() != v1::DurabilityConfig::NONE) {
    absl::StatusOr<std::string> dir =
        ResolveDurabilityDir(absl::GetFlag(FLAGS_checkpoint_dir), durability.dir(), shard_index);
    if (!dir.ok()) {
      RILL_LOG(ERROR) << "bad replay config: " << dir.status().message();
      return 2;
    }
    options.durability_dir = *dir;
  }
  absl::StatusOr<std::unique_ptr<ReplayShard>> started = ReplayShard::Start(*replay, std::move(options));
  if (!started.ok()) {
    RILL_LOG(ERROR) << started.status().message();
    // A config or a checkpoint that does not fit it: the operator's to fix.
    return absl::IsInvalidArgument(started.status()) || absl::IsFailedPrecondition(started.status()) ? 2 : 1;
  }
  ReplayShard& shard = **started;

  // On SIGTERM, readiness goes first, before the drain (common/process.h).
  std::unique_ptr<ShutdownHook> not_serving = OnShutdownSignal([&shard] {
    shard.SetNotServing();
    RILL_LOG(INFO) << "health: NOT_SERVING";
  });

  std::vector<std::string> tables;
  for (const v1::TableConfig& table : replay->tables()) {
    tables.push_back(absl::StrCat(table.name(), " (max_size ", table.max_size(), ")"));
  }
  const int bound_metrics_port = metrics ? metrics->port() : -1;
  RILL_LOG(INFO) << "replay shard " << shard_index << " serving " << absl::StrJoin(tables, ", ") << " on "
                 << HostPort(host, shard.port()) << ", metrics on port " << bound_metrics_port;
  absl::Status ready =
      AnnounceReady(absl::GetFlag(FLAGS_ready_fd), {{"grpc_port", shard.port()}, {"metrics_port", bound_metrics_port}});
  if (!ready.ok()) RILL_LOG(WARNING) << ready.ToString();

  // Request buffers come and go as items are copied into the tables; hand
  // the freed heap pages back every few seconds, so that resident memory
  // tracks the stored items rather than the largest burst of requests. The
  // same thread refreshes the table metrics every second, so that the
  // blocked time of requests waiting in an admission queue shows while it
  // accrues (no thread waits on the tables to report it).
  std::thread housekeeper([&shutdown, &shard] {
    absl::Time next_trim = absl::Now() + kTrimPeriod;
    while (!shutdown.WaitForNotificationWithTimeout(kMetricsPeriod)) {
      shard.RefreshMetrics();
      if (absl::Now() >= next_trim) {
        malloc_trim(0);
        next_trim = absl::Now() + kTrimPeriod;
      }
    }
  });
  shutdown.WaitForNotification();
  housekeeper.join();
  RILL_LOG(INFO) << "shutting down";
  shard.Stop().IgnoreError();  // logged by Stop
  for (const v1::TableConfig& table : replay->tables()) {
    const TableStats stats = shard.FindTable(table.name())->Stats();
    RILL_LOG(INFO) << "table " << table.name() << ": " << stats.size << " items held, " << stats.items_inserted
                   << " inserted, " << stats.items_sampled << " sampled";
  }
  RILL_LOG(INFO) << "stopped";
  return 0;
}

}  // namespace rill::roles
