// Human-readable text of a replay shard's InfoResponse, for `rill replay
// info`: per table its fill, counters, rate limiter and what blocks it now,
// and the shard's durability mode, last checkpoint and what start-up
// recovery lost to damaged files, if anything. Pure functions;
// thread-safe.
#ifndef RILL_REPLAY_SERVER_INFO_FORMAT_H_
#define RILL_REPLAY_SERVER_INFO_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "proto/replay.pb.h"

namespace rill::replay {

// Several lines, each ending in '\n'. `address` names the shard in the
// heading; `now` dates the checkpoint ("12 s ago").
std::string FormatReplayInfo(const v1::InfoResponse& info, const std::string& address, absl::Time now);

// "999 B", "1.5 KB", "40.0 MB", "1.20 GB" (powers of 1000).
std::string FormatBytes(int64_t bytes);

}  // namespace rill::replay

#endif  // RILL_REPLAY_SERVER_INFO_FORMAT_H_
