// SharedRegion: the client's end of a stream stepped through shared memory
// (proto/env.proto, "Shared memory"). Connect() reaches the server's
// abstract Unix socket, proves the stream's token, receives the region's
// file descriptor and maps it, after checking that every array the layout
// names lies inside it without overlapping another; Exchange() sends one
// message on the socket and reads the answer. RemoteEnvs writes the actions
// into the region, exchanges an empty message, and reads the outcomes from
// the region.
//
// Errors name the socket: Unavailable when it cannot be reached or closes
// (the server ended the stream or died: the stream's gRPC status says
// why), DeadlineExceeded when an answer takes longer than the timeout,
// InvalidArgument for a layout or an answer that breaks the protocol.
//
// Not thread-safe: the stream's step loop owns it.
#ifndef RILL_ENVS_REMOTE_SHARED_REGION_H_
#define RILL_ENVS_REMOTE_SHARED_REGION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/env.pb.h"

namespace rill::envs {

// The bytes each array of a region takes, from the stream's spaces.
struct RegionSizes {
  int64_t actions = 0;
  int64_t observations = 0;  // N rows; the final observations take as many
  int64_t rewards = 0;
  int64_t flags = 0;  // terminated, and truncated as many
  // A multi-agent stream's live masks and states (0: none); its ended
  // envs' final states take as many as the states.
  int64_t live = 0;
  int64_t states = 0;
};

class SharedRegion {
 public:
  // `reached` (optional) is set once the socket was reached: from then on
  // the server serves the stream through the region, so a failure after it
  // leaves the stream unusable (not to be stepped over gRPC).
  static absl::StatusOr<std::unique_ptr<SharedRegion>> Connect(const v1::SharedMemory& shared, const RegionSizes& sizes,
                                                               absl::Duration timeout, bool* reached = nullptr);
  ~SharedRegion();
  SharedRegion(const SharedRegion&) = delete;
  SharedRegion& operator=(const SharedRegion&) = delete;

  // The region's bytes at `offset` (one of the layout's, checked at
  // Connect).
  uint8_t* at(int64_t offset) { return base_ + offset; }

  // Sends `request` (empty: a step whose actions are in the region) and
  // reads the answer into `answer` (empty: a step with nothing beyond its
  // tensors), waiting at most `timeout` for it.
  absl::Status Exchange(std::string_view request, std::string* answer, absl::Duration timeout);

  const std::string& socket_name() const { return name_; }

 private:
  SharedRegion() = default;
  absl::Status Send(std::string_view bytes);
  absl::Status Receive(char* out, size_t count, absl::Time deadline);
  // How long Receive polls before it sleeps, from the answers' recent time.
  int64_t SpinNanos() const;

  std::string name_;
  int socket_ = -1;
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  std::string message_;  // the message being sent, its buffer kept
  // The answers' recent time in nanoseconds (a moving average; -1 before
  // the first).
  int64_t answer_nanos_ = -1;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_REMOTE_SHARED_REGION_H_
