// Test-only: a replay shard (ReplayShard) on 127.0.0.1 serving one table, for
// client tests. Port 0 picks a free port; passing a port again restarts a
// shard where a stopped one was, for reconnect tests.
#ifndef RILL_REPLAY_TESTING_TEST_SERVER_H_
#define RILL_REPLAY_TESTING_TEST_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/grpc_util.h"
#include "proto/config.pb.h"
#include "replay/server/replay_service.h"
#include "replay/server/replay_shard.h"

namespace rill::replay {

class TestShard {
 public:
  static absl::StatusOr<std::unique_ptr<TestShard>> Start(const v1::TableConfig& table, int port = 0,
                                                          int64_t max_message_bytes = kDefaultMaxMessageBytes);
  // Stop()s.
  ~TestShard() = default;

  // Closes the tables and shuts the server down (blocked calls end CANCELLED).
  void Stop() { shard_->Stop().IgnoreError(); }

  int port() const { return shard_->port(); }
  std::string address() const { return shard_->address(); }
  ReplayServiceImpl& service() { return shard_->service(); }
  Table& table() { return *shard_->FindTable(table_name_); }

 private:
  TestShard() = default;
  std::string table_name_;
  std::unique_ptr<ReplayShard> shard_;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_TESTING_TEST_SERVER_H_
