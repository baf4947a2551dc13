#include "replay/server/replay_shard.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "replay/server/server_options.h"

namespace rill::replay {
namespace {

// "HOST" of "HOST:PORT" (brackets of an IPv6 host kept).
std::string HostOf(const std::string& address) {
  const size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReplayShard>> ReplayShard::Start(const v1::ReplayConfig& config,
                                                                 ReplayShardOptions options) {
  std::unique_ptr<ReplayShard> shard(new ReplayShard());
  shard->config_ = config;
  shard->options_ = std::move(options);
  const ReplayShardOptions& opts = shard->options_;

  absl::StatusOr<std::vector<std::unique_ptr<Table>>> tables = CreateTables(config);
  if (!tables.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("bad replay config: ", tables.status().message()));
  }
  // Restore before serving: the tables are rebuilt from disk first.
  const v1::DurabilityConfig& durability = config.durability();
  if (durability.mode() != v1::DurabilityConfig::NONE) {
    if (opts.durability_dir.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("bad replay config: durability mode ",
                                                     v1::DurabilityConfig::Mode_Name(durability.mode()),
                                                     " needs a durability dir"));
    }
    absl::StatusOr<std::unique_ptr<ShardDurability>> opened =
        ShardDurability::Open(config, opts.durability_dir, &*tables, opts.registry);
    if (!opened.ok()) {
      return absl::Status(opened.status().code(), absl::StrCat("cannot restore the shard from '", opts.durability_dir,
                                                               "': ", opened.status().message()));
    }
    shard->durability_ = *std::move(opened);
    RILL_LOG(INFO) << "durability mode " << v1::DurabilityConfig::Mode_Name(durability.mode()) << " in '" << opts.durability_dir
                   << "' (checkpoint every " << durability.checkpoint_interval_seconds() << " s, keeping "
                   << durability.keep_latest() << "): " << shard->durability_->RestoreReport();
  }
  const int64_t max_message_bytes =
      config.max_message_bytes() > 0 ? config.max_message_bytes() : kDefaultMaxMessageBytes;
  shard->service_ =
      std::make_unique<ReplayServiceImpl>(*std::move(tables), opts.shard_index, max_message_bytes, opts.registry);
  if (shard->durability_ != nullptr) {
    shard->service_->AttachDurability(shard->durability_.get(), config.max_in_flight_inserts_per_stream());
    shard->durability_->Start(shard->service_->tables());
  }
  absl::StatusOr<StartedServer> server =
      StartGrpcServer(opts.address, {shard->service_.get()},
                      opts.server_options.has_value() ? *opts.server_options : ReplayServerOptions(config));
  if (!server.ok()) return server.status();
  shard->server_ = std::move(server->server);
  shard->port_ = server->port;
  shard->address_ = absl::StrCat(HostOf(opts.address), ":", shard->port_);
  if (opts.report_blocked) {
    std::vector<const Table*> watched;
    for (Table* table : shard->service_->tables()) watched.push_back(table);
    shard->blocked_reporter_ = std::make_unique<BlockedReporter>(std::move(watched), BlockedReporterOptions());
  }
  return shard;
}

ReplayShard::~ReplayShard() { Stop().IgnoreError(); }

void ReplayShard::SetNotServing() {
  if (server_ != nullptr) server_->GetHealthCheckService()->SetServingStatus(false);
}

absl::Status ReplayShard::Stop() {
  if (stopped_) return absl::OkStatus();
  stopped_ = true;
  blocked_reporter_.reset();
  if (server_ == nullptr) {
    // Start failed part way: nothing was served, so nothing to checkpoint.
    if (durability_ != nullptr) return durability_->Stop(/*final_checkpoint=*/false);
    return absl::OkStatus();
  }
  service_->Shutdown(options_.drain);
  server_->Shutdown(DeadlineIn(options_.shutdown_grace));
  server_->Wait();
  absl::Status final_checkpoint;
  if (durability_ != nullptr) {
    // Nothing is inserted any more: the final checkpoint holds everything.
    final_checkpoint = durability_->Stop(options_.final_checkpoint);
    if (!options_.final_checkpoint) return final_checkpoint;
    if (final_checkpoint.ok()) {
      const v1::CheckpointInfo info = durability_->Info();
      RILL_LOG(INFO) << "final checkpoint '" << info.path() << "': " << info.items() << " items in "
                     << info.duration_seconds() << " s";
    } else {
      RILL_LOG(ERROR) << "final checkpoint failed: " << final_checkpoint;
    }
  }
  return final_checkpoint;
}

}  // namespace rill::replay
