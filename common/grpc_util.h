// gRPC plumbing shared by every process: starting a server on HOST:PORT
// (port 0 picks a free one) with health checking and message limits, and
// client channels with keepalive.
#ifndef RILL_COMMON_GRPC_UTIL_H_
#define RILL_COMMON_GRPC_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace rill {

struct StartedServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

// Registers `services`, enables grpc.health.v1 and starts the server.
// Unavailable (naming the address) when the port cannot be bound.
absl::StatusOr<StartedServer> StartGrpcServer(const std::string& address,
                                              const std::vector<grpc::Service*>& services,
                                              int64_t max_message_bytes);

// An insecure channel with keepalive pings and the given message limit.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, int64_t max_message_bytes);

// Blocks until the channel is connected or the timeout passes.
bool WaitForConnected(grpc::Channel& channel, absl::Duration timeout);

// Calls grpc.health.v1.Health/Check; OK when the server reports SERVING.
absl::Status CheckHealth(grpc::Channel& channel, absl::Duration timeout);

inline std::chrono::system_clock::time_point DeadlineIn(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

}  // namespace rill

#endif  // RILL_COMMON_GRPC_UTIL_H_
