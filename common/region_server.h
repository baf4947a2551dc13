// RegionServer: the server's end of streams served through shared memory
// on one host (the client's end is common/shared_region.h; the protocol is
// proto/env.proto's "Shared memory", which central inference follows too).
//
// Offer() makes one stream's region: a memfd of the size asked, mapped
// here, and an abstract Unix socket of a fresh random name with a random
// 16-byte token, both for the stream's answer over gRPC. One thread serves
// every region of the server with epoll: it accepts a connection on a
// region's socket, reads the token (a connection with another one is
// closed and the region waits on), hands the client the memfd (one byte,
// SCM_RIGHTS), and from then on reads the client's frames (a 4-byte
// little-endian length, then that many bytes) and hands each whole one to
// the region's on_message. Answer() sends one frame back, from any thread.
//
// A region whose client does not come within its accept time, or whose
// client closes or breaks its socket, or that sends a frame over
// kMaxRegionMessageBytes, is closed and its on_closed says why, once. The
// server never blocks on a client: a frame may come in pieces, and a
// client that stops reading its answers is closed once its socket's buffer
// is full.
//
// Thread safety: Offer, Close and HostedRegion's methods may be called from
// any thread. Handlers run on the server's thread, one at a time, and must
// not block; they may call Close and Answer.
#ifndef RILL_COMMON_REGION_SERVER_H_
#define RILL_COMMON_REGION_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/shared_region.h"

namespace rill {

class RegionServer;

// One stream's region, as the server holds it.
class HostedRegion {
 public:
  struct Handlers {
    // A whole frame from the client (empty: a frame of length 0).
    std::function<void(std::string_view message)> on_message;
    // The region serves no more: its client never came (DeadlineExceeded),
    // closed or broke its socket (Unavailable), or broke the framing
    // (InvalidArgument). Not called after Close.
    std::function<void(const absl::Status& why)> on_closed;
  };

  ~HostedRegion();
  HostedRegion(const HostedRegion&) = delete;
  HostedRegion& operator=(const HostedRegion&) = delete;

  // What the stream's answer tells its client.
  const RegionAddress& address() const { return address_; }
  int64_t size() const { return address_.size; }
  // The region's bytes at `offset` (the caller's layout, inside size()).
  uint8_t* at(int64_t offset) { return base_ + offset; }

  // Whether the client holds the region (its token was proved).
  bool connected() const ABSL_LOCKS_EXCLUDED(io_mu_);
  // Sends one frame. Unavailable once the region is closed, its client
  // gone, or its socket's buffer full (the client stopped reading).
  absl::Status Answer(std::string_view message) ABSL_LOCKS_EXCLUDED(io_mu_);
  // Shuts the region's sockets down without waiting for its handlers: the
  // client's Exchange fails with Unavailable, and no client connects any
  // more. For a caller that may hold a lock a handler takes (Close waits
  // for the handlers); the region's on_closed then runs as for a client
  // that left. Any thread.
  void Shutdown() ABSL_LOCKS_EXCLUDED(io_mu_);

 private:
  friend class RegionServer;
  HostedRegion() = default;

  RegionServer* server_ = nullptr;
  uint64_t id_ = 0;
  RegionAddress address_;
  Handlers handlers_;
  uint8_t* base_ = nullptr;
  absl::Time accept_deadline_;
  // Held while a handler runs (on the server's thread) and by Close, so no
  // handler runs once Close has returned.
  absl::Mutex handler_mu_;
  mutable absl::Mutex io_mu_ ABSL_ACQUIRED_AFTER(handler_mu_);
  bool closed_ ABSL_GUARDED_BY(io_mu_) = false;
  int memfd_ ABSL_GUARDED_BY(io_mu_) = -1;
  int listener_ ABSL_GUARDED_BY(io_mu_) = -1;
  int pending_ ABSL_GUARDED_BY(io_mu_) = -1;     // a connection that has not proved the token yet
  int connection_ ABSL_GUARDED_BY(io_mu_) = -1;  // the client's, once proved
  // The server's thread alone: bytes of the frames being read.
  std::string token_read_;
  std::string read_;
  std::string frame_;  // the frame being sent, its buffer kept
};

class RegionServer {
 public:
  // Starts the server's thread. Unavailable where this host cannot serve a
  // region (no memfd_create, epoll or abstract sockets): the caller serves
  // over gRPC. `name` prefixes the sockets' names ("rill-inference").
  static absl::StatusOr<std::unique_ptr<RegionServer>> Create(std::string name);
  ~RegionServer();  // closes every region (no on_closed) and ends the thread
  RegionServer(const RegionServer&) = delete;
  RegionServer& operator=(const RegionServer&) = delete;

  // A region of `size` bytes (1 .. 4 GiB) for one client, which must prove
  // itself within `accept_within`.
  absl::StatusOr<std::shared_ptr<HostedRegion>> Offer(int64_t size, HostedRegion::Handlers handlers,
                                                      absl::Duration accept_within) ABSL_LOCKS_EXCLUDED(mu_);
  // The same for a region whose bytes are `memfd`'s (the caller's, of at
  // least `size` bytes; duplicated, so the caller keeps its own): several
  // clients then read one set of bytes, each through its own socket and
  // token (the learner's parameter versions, parameters/parameter_region.h).
  // InvalidArgument for a file shorter than `size`.
  absl::StatusOr<std::shared_ptr<HostedRegion>> OfferFile(int memfd, int64_t size, HostedRegion::Handlers handlers,
                                                          absl::Duration accept_within) ABSL_LOCKS_EXCLUDED(mu_);

  // Closes `region`: its socket (the client's Exchange fails with
  // Unavailable) and its handlers (none runs after this returns). From a
  // handler of another region, or its own, too. Idempotent.
  void Close(HostedRegion* region) ABSL_LOCKS_EXCLUDED(mu_);

  // Regions whose client holds them now.
  int connected_regions() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  RegionServer() = default;
  // Offer's and OfferFile's work: `memfd` -1 makes the region a file of
  // its own.
  absl::StatusOr<std::shared_ptr<HostedRegion>> OfferRegion(int memfd, int64_t size, HostedRegion::Handlers handlers,
                                                            absl::Duration accept_within) ABSL_LOCKS_EXCLUDED(mu_);
  // The region's memfd (a new one, or a duplicate of `memfd`), mapping and
  // listening socket; the caller holds its io_mu_.
  absl::Status MakeRegion(HostedRegion& region, int memfd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(region.io_mu_);
  void Loop();
  // The server's thread: one readiness event of `region`'s descriptor `fd`.
  void Serve(const std::shared_ptr<HostedRegion>& region, int fd);
  void Handshake(HostedRegion& region, int fd);
  void ReadFrames(HostedRegion& region, int fd);
  // Ends `region` from the server's thread and tells its on_closed.
  void Fail(HostedRegion& region, const absl::Status& why);
  // The earliest accept deadline of a region still waiting for its client.
  absl::Time NextDeadline() ABSL_LOCKS_EXCLUDED(mu_);
  void ExpireDeadlines() ABSL_LOCKS_EXCLUDED(mu_);
  bool OnLoopThread() const { return std::this_thread::get_id() == thread_.get_id(); }
  // Closes the region's descriptors; the caller holds its io_mu_.
  void CloseDescriptors(HostedRegion& region) ABSL_EXCLUSIVE_LOCKS_REQUIRED(region.io_mu_);

  std::string name_;
  int epoll_ = -1;
  int wake_ = -1;  // an eventfd: a new deadline, or stop
  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<uint64_t, std::shared_ptr<HostedRegion>> regions_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace rill

#endif  // RILL_COMMON_REGION_SERVER_H_
