#include "replay/server/server_options.h"

namespace rill::replay {

GrpcServerOptions ReplayServerOptions(const v1::ReplayConfig& config) {
  GrpcServerOptions options;
  if (config.max_message_bytes() > 0) options.max_message_bytes = config.max_message_bytes();
  options.memory_quota_bytes = config.grpc_memory_quota_bytes();
  options.max_threads = kReplayServerMaxThreads;
  return options;
}

}  // namespace rill::replay
