// SharedRegion: the client's end of a stream served through shared memory
// on one host: the env protocol's (proto/env.proto, "Shared memory") and
// central inference's (proto/inference.proto), one handshake and one
// framing for both. Connect() reaches the server's abstract Unix socket,
// proves the stream's token, receives the region's file descriptor and
// maps it, after checking that every array the caller's layout names lies
// inside it without overlapping another; Exchange() sends one message on
// the socket and reads the answer. RemoteEnvs writes the actions into the
// region, exchanges an empty message, and reads the outcomes from the
// region; CentralActionSource does the same with observations and actions.
// The server's end is common/region_server.h.
//
// Errors name the socket: Unavailable when it cannot be reached or closes
// (the server ended the stream or died: the stream's gRPC status says
// why), DeadlineExceeded when an answer takes longer than the timeout,
// InvalidArgument for a layout or an answer that breaks the protocol.
//
// Not thread-safe: the stream's step loop owns it.
#ifndef RILL_COMMON_SHARED_REGION_H_
#define RILL_COMMON_SHARED_REGION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace rill {

// Where a server offers a region: its abstract socket's name (without the
// leading NUL), the 16 bytes a client proves itself with, and its size.
struct RegionAddress {
  std::string socket;
  std::string token;
  int64_t size = 0;
};

// One array of a region's layout: where it starts and the bytes it takes.
struct RegionArray {
  const char* name;
  int64_t offset = 0;
  int64_t bytes = 0;
};

// How long Exchange polls for an answer before it sleeps in poll(): a
// little longer than the server's recent answers take when they take at
// most max_nanos, at least min_nanos. The env protocol waits at least 100
// us awake (an env's step is short and the client has nothing else to do);
// central inference does not spin for a server whose answers take long
// (many actors share its batches and their cores: a spin is a core taken
// from them).
struct SpinRule {
  int64_t min_nanos = 100'000;
  int64_t max_nanos = 1'000'000;
};

class SharedRegion {
 public:
  // The bytes of one region's handshake token.
  static constexpr size_t kTokenBytes = 16;

  // `arrays`: the layout the server's answer gave, with the bytes each
  // array takes as the client sizes it. `reached` (optional) is set once
  // the socket was reached: from then on the server serves the stream
  // through the region, so a failure after it leaves the stream unusable
  // (not to be served over gRPC).
  static absl::StatusOr<std::unique_ptr<SharedRegion>> Connect(const RegionAddress& address,
                                                               const std::vector<RegionArray>& arrays,
                                                               absl::Duration timeout, bool* reached = nullptr,
                                                               SpinRule spin = {});
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
  SpinRule spin_;
  // The answers' recent time in nanoseconds (a moving average; -1 before
  // the first).
  int64_t answer_nanos_ = -1;
};

// Frames of the region's socket: a 4-byte little-endian length, then that
// many bytes.
inline constexpr uint32_t kMaxRegionMessageBytes = uint32_t{256} << 20;

}  // namespace rill

#endif  // RILL_COMMON_SHARED_REGION_H_
