#include "replay/test_server.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"

namespace rill::replay {

absl::StatusOr<std::unique_ptr<TestShard>> TestShard::Start(const v1::TableConfig& table, int port,
                                                            int64_t max_message_bytes) {
  std::unique_ptr<TestShard> shard(new TestShard());
  shard->table_name_ = table.name();
  v1::ReplayConfig config;
  *config.add_tables() = table;
  config.set_max_message_bytes(max_message_bytes);
  absl::StatusOr<std::unique_ptr<ReplayServiceImpl>> service =
      ReplayServiceImpl::Create(config, /*shard_index=*/0, /*registry=*/nullptr);
  if (!service.ok()) return service.status();
  shard->service_ = *std::move(service);
  absl::StatusOr<StartedServer> server =
      StartGrpcServer(absl::StrCat("127.0.0.1:", port), {shard->service_.get()}, max_message_bytes);
  if (!server.ok()) return server.status();
  shard->server_ = std::move(server->server);
  shard->port_ = server->port;
  return shard;
}

TestShard::~TestShard() { Stop(); }

void TestShard::Stop() {
  if (server_ == nullptr) return;
  service_->Shutdown();
  server_->Shutdown(DeadlineIn(absl::Seconds(5)));
  server_->Wait();
  server_.reset();
}

}  // namespace rill::replay
