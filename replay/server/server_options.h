// The gRPC server options of a replay shard, from its config: the message
// limit, the memory quota that turns a flood of writers into HTTP/2 flow
// control (replay.grpc_memory_quota_bytes), and the thread bound. Called by
// replay_main before it starts the server. Pure function; thread-safe.
#ifndef RILL_REPLAY_SERVER_SERVER_OPTIONS_H_
#define RILL_REPLAY_SERVER_SERVER_OPTIONS_H_

#include "common/grpc_util.h"
#include "proto/config.pb.h"

namespace rill::replay {

// Most threads a shard's gRPC server runs. The replay service uses the
// callback API, so its streams hold no thread however many are open; the
// bound only caps threads of sync-API services in the same server and keeps
// a runaway client from exhausting the process. Sync calls beyond it fail
// RESOURCE_EXHAUSTED.
inline constexpr int kReplayServerMaxThreads = 1024;

// Options from a finalized config (experiment/config.h fills the defaults).
GrpcServerOptions ReplayServerOptions(const v1::ReplayConfig& config);

}  // namespace rill::replay

#endif  // RILL_REPLAY_SERVER_SERVER_OPTIONS_H_
