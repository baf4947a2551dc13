// Test-only: a replay shard (ReplayServiceImpl behind a real gRPC server) on
// 127.0.0.1, for client tests. Port 0 picks a free port; passing a port
// again restarts a shard where a stopped one was, for reconnect tests.
#ifndef RILL_REPLAY_TEST_SERVER_H_
#define RILL_REPLAY_TEST_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "proto/config.pb.h"
#include "replay/replay_service.h"

namespace rill::replay {

class TestShard {
 public:
  static absl::StatusOr<std::unique_ptr<TestShard>> Start(const v1::TableConfig& table, int port = 0,
                                                          int64_t max_message_bytes = 64 << 20);
  // Stop()s.
  ~TestShard();

  // Closes the tables and shuts the server down (blocked calls end CANCELLED).
  void Stop();

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  ReplayServiceImpl& service() { return *service_; }
  Table& table() { return *service_->FindTable(table_name_); }

 private:
  TestShard() = default;
  std::string table_name_;
  std::unique_ptr<ReplayServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_TEST_SERVER_H_
