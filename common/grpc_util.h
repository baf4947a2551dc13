// gRPC plumbing shared by every process: starting a server on HOST:PORT
// (port 0 picks a free one) with health checking, message limits and an
// optional memory / thread bound, and client channels with keepalive. Both
// use the process's TLS setting (common/tls.h): mutual TLS once
// ConfigureTls has been given certificates, plain text otherwise.
#ifndef RILL_COMMON_GRPC_UTIL_H_
#define RILL_COMMON_GRPC_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace rill {

// The largest gRPC message, in bytes, a Rill server or channel takes when
// nothing says otherwise: the declared default of replay.max_message_bytes
// (proto/config.proto), which experiment/defaults_test.cc checks against it.
inline constexpr int64_t kDefaultMaxMessageBytes = int64_t{64} << 20;

struct StartedServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

struct GrpcServerOptions {
  // Largest message received or sent, in bytes.
  int64_t max_message_bytes = kDefaultMaxMessageBytes;
  // Bound on the memory gRPC may take for this server's transport buffers (a
  // grpc::ResourceQuota): under pressure it shrinks the HTTP/2 windows it
  // grants, so that clients sending faster than the server reads are held
  // back by flow control instead of growing the heap. 0: no bound.
  int64_t memory_quota_bytes = 0;
  // Most threads the server may run (pollers and, with the sync API, one per
  // active call). A call that finds none free fails RESOURCE_EXHAUSTED, so
  // leave room for every stream a server is expected to hold. 0: no bound.
  int max_threads = 0;
};

// Registers `services`, enables grpc.health.v1 and starts the server (with
// TLS configured, it refuses clients without a certificate from the CA).
// Unavailable (naming the address) when the port cannot be bound;
// InvalidArgument for a negative or oversized option.
absl::StatusOr<StartedServer> StartGrpcServer(const std::string& address,
                                              const std::vector<grpc::Service*>& services,
                                              const GrpcServerOptions& options);
// The same with default options but for the message limit.
absl::StatusOr<StartedServer> StartGrpcServer(const std::string& address,
                                              const std::vector<grpc::Service*>& services,
                                              int64_t max_message_bytes);

// A channel with keepalive pings and the given message limit; TLS with the
// process's certificate when TLS is configured, plain text otherwise.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, int64_t max_message_bytes);

// Blocks until the channel is connected or the timeout passes.
bool WaitForConnected(grpc::Channel& channel, absl::Duration timeout);

// Calls grpc.health.v1.Health/Check; OK when the server reports SERVING.
absl::Status CheckHealth(grpc::Channel& channel, absl::Duration timeout);
// CheckHealth, and the round trip of its SERVING answer: what the replay
// clients size their windows from (replay/client/link_window.h).
absl::StatusOr<absl::Duration> TimedHealthCheck(grpc::Channel& channel, absl::Duration timeout);

// "HOST:PORT", bracketing an IPv6 host ("[::1]:50051").
std::string HostPort(const std::string& host, int port);

inline std::chrono::system_clock::time_point DeadlineIn(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

}  // namespace rill

#endif  // RILL_COMMON_GRPC_UTIL_H_
