// How the replay clients (ReplayWriter, ReplaySampler) treat a broken stream:
// a permanent error is the server refusing what the client asks for (wrong
// signature, unknown table, a message too large): retrying would fail the
// same way, so it is reported to the caller. Anything else (the shard
// restarting, a network hiccup, a server shutting down) is transient: the
// client reopens its stream and carries on.
#ifndef RILL_REPLAY_CLIENT_CLIENT_ERRORS_H_
#define RILL_REPLAY_CLIENT_CLIENT_ERRORS_H_

#include "absl/status/status.h"

namespace rill::replay {

inline bool IsPermanentStreamError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kDataLoss:
      return true;
    default:  // kOk (server ended the stream), kUnavailable, kCancelled, kDeadlineExceeded, ...
      return false;
  }
}

}  // namespace rill::replay

#endif  // RILL_REPLAY_CLIENT_CLIENT_ERRORS_H_
