#include "replay/testing/test_server.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace rill::replay {

absl::StatusOr<std::unique_ptr<TestShard>> TestShard::Start(const v1::TableConfig& table, int port,
                                                            int64_t max_message_bytes) {
  std::unique_ptr<TestShard> test_shard(new TestShard());
  test_shard->table_name_ = table.name();
  v1::ReplayConfig config;
  *config.add_tables() = table;
  config.set_max_message_bytes(max_message_bytes);
  ReplayShardOptions options;
  options.address = absl::StrCat("127.0.0.1:", port);
  GrpcServerOptions server_options;
  server_options.max_message_bytes = max_message_bytes;
  options.server_options = server_options;
  // Blocked calls end at once; connections get a few seconds to close.
  options.drain = absl::ZeroDuration();
  options.shutdown_grace = absl::Seconds(5);
  absl::StatusOr<std::unique_ptr<ReplayShard>> shard = ReplayShard::Start(config, std::move(options));
  if (!shard.ok()) return shard.status();
  test_shard->shard_ = *std::move(shard);
  return test_shard;
}

}  // namespace rill::replay
