#include "common/grpc_util.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "grpcpp/resource_quota.h"
#include "common/grpc_status.h"
#include "common/tls.h"
#include "proto/health.grpc.pb.h"

namespace rill {

absl::StatusOr<StartedServer> StartGrpcServer(const std::string& address,
                                              const std::vector<grpc::Service*>& services,
                                              int64_t max_message_bytes) {
  GrpcServerOptions options;
  options.max_message_bytes = max_message_bytes;
  return StartGrpcServer(address, services, options);
}

absl::StatusOr<StartedServer> StartGrpcServer(const std::string& address,
                                              const std::vector<grpc::Service*>& services,
                                              const GrpcServerOptions& options) {
  if (options.max_message_bytes <= 0 || options.max_message_bytes > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("gRPC max_message_bytes ", options.max_message_bytes, " is out of range (1..2^31-1)"));
  }
  if (options.memory_quota_bytes < 0 || options.max_threads < 0) {
    return absl::InvalidArgumentError(absl::StrCat("gRPC memory_quota_bytes ", options.memory_quota_bytes,
                                                   " and max_threads ", options.max_threads, " must be >= 0"));
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  StartedServer started;
  builder.AddListeningPort(address, MakeServerCredentials(), &started.port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  if (options.memory_quota_bytes > 0 || options.max_threads > 0) {
    grpc::ResourceQuota quota("rill_server_quota");
    if (options.memory_quota_bytes > 0) quota.Resize(static_cast<size_t>(options.memory_quota_bytes));
    if (options.max_threads > 0) quota.SetMaxThreads(options.max_threads);
    builder.SetResourceQuota(quota);
  }
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // gRPC binds with SO_REUSEPORT by default, so a second process on a port
  // in use would start and silently take half of its connections: a taken
  // port is an error instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  for (grpc::Service* service : services) builder.RegisterService(service);
  started.server = builder.BuildAndStart();
  if (started.server == nullptr || started.port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot start a gRPC server on ", address, " (is the port in use by another process?)"));
  }
  return started;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, int64_t max_message_bytes) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(max_message_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(max_message_bytes));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // A pod that is replaced comes back under the same DNS name with a new IP.
  // A channel whose connection broke asks the resolver again, but gRPC's
  // default spaces two resolutions 30 s apart, so a restarted replay shard or
  // learner would be unreachable that long; one second is enough to coalesce
  // the reconnect storm of a failing peer.
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 1000);
  return grpc::CreateCustomChannel(address, MakeChannelCredentials(), args);
}

bool WaitForConnected(grpc::Channel& channel, absl::Duration timeout) {
  return channel.WaitForConnected(DeadlineIn(timeout));
}

absl::Status CheckHealth(grpc::Channel& channel, absl::Duration timeout) {
  // The stub needs a shared_ptr; the caller keeps the channel alive.
  std::shared_ptr<grpc::Channel> alias(std::shared_ptr<grpc::Channel>(), &channel);
  auto stub = grpc::health::v1::Health::NewStub(alias);
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(timeout));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::UnavailableError("server is not serving");
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> TimedHealthCheck(grpc::Channel& channel, absl::Duration timeout) {
  const absl::Time start = absl::Now();
  absl::Status health = CheckHealth(channel, timeout);
  if (!health.ok()) return health;
  return absl::Now() - start;
}

std::string HostPort(const std::string& host, int port) {
  if (host.find(':') != std::string::npos && host.front() != '[') return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

}  // namespace rill
