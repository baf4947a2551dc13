// Parameter versions through shared memory on one host: the learner writes
// each version once into one region (a memfd) that every subscriber on its
// host maps, and an actor reads the newest when it takes one up, between
// steps, on its own thread. No message per version, no thread woken per
// version, no decode of a version nobody takes: on the gRPC stream a
// subscriber's thread woke and decoded every version (770 a second per
// actor in IMPALA on CartPole, 31% of an actor's CPU in `perf`; MinAtar's
// 3.3 MB policy 94 times a second over loopback TCP).
//
// The region is handed over as the other shared streams are (common/
// region_server.h, proto/parameters.proto "Shared memory"): a Subscribe
// stream that asked gets an offer as its first message, and its client
// proves the offer's token on the offer's abstract socket and receives the
// region's descriptor. Each subscriber has its own socket and token; they
// all map the same file.
//
// Layout (little-endian; offsets in bytes):
//   0   header, 64 bytes: magic "RILLPRM1"; slot capacity (u64); slots
//       (u32); retired (u32, 1 once a version did not fit); latest version
//       (i64, 0 before the first); latest slot (u32); waiters (u32);
//       writes (u32, a futex word: +1 per version written)
//   64  kSlots slots, each 64 bytes of slot header (sequence u64, odd
//       while the slot is written; bytes u64) and `capacity` bytes: a
//       serialized rill.v1.ParameterUpdate.
// The writer fills the slot after the latest (three in turn), then points
// the header at it. A reader parses the latest slot in place and keeps
// the result only if the slot's sequence did not move meanwhile (a
// seqlock): a torn read is retried, never returned. A reader that waits
// for a version sleeps on the futex word; the writer wakes it only when
// the header counts a waiter.
//
// Nobody reading, nothing written: while no subscriber holds the region
// or has an offer of it open (a client in another pod lets its offer
// lapse), the writer keeps only a pointer to the newest version, and
// writes it when the next offer is made. On Kubernetes, where the actors
// are in other pods, the learner copies no version at all (MinAtar's
// 3.2 MB policy 94 times a second was 300 MB/s of copying).
//
// A version bigger than a slot retires the region: the header says so,
// the learner's streams send versions over gRPC again, and readers drop
// the region. Slots are sized from the first version with room to spare
// (twice its size, at least 64 KiB more), so a run's versions of one
// network always fit.
#ifndef RILL_PARAMETERS_PARAMETER_REGION_H_
#define RILL_PARAMETERS_PARAMETER_REGION_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/region_server.h"
#include "common/shared_region.h"
#include "proto/parameters.pb.h"

namespace rill::parameters {

inline constexpr int64_t kParameterRegionHeaderBytes = 64;
inline constexpr int64_t kParameterSlotHeaderBytes = 64;
inline constexpr int kParameterSlots = 3;

// The learner's end: one per ParameterStore. Thread-safe.
class ParameterRegionWriter {
 public:
  // `regions` (not owned, outlives this) hands the region to subscribers.
  explicit ParameterRegionWriter(RegionServer* regions) : regions_(regions) {}
  ~ParameterRegionWriter();
  ParameterRegionWriter(const ParameterRegionWriter&) = delete;
  ParameterRegionWriter& operator=(const ParameterRegionWriter&) = delete;

  // Makes `update` the region's latest version, creating the region at the
  // first (sized from it); while no way in is open it is only kept, for
  // the next Offer to write. A version that does not fit retires the
  // region (FailedPrecondition, then and after); Unavailable where the
  // region cannot be made (no memfd on this host).
  absl::Status Write(std::shared_ptr<const v1::ParameterUpdate> update) ABSL_LOCKS_EXCLUDED(mu_);

  // One more subscriber's way in, after writing the newest version kept:
  // FailedPrecondition before the first Write or once retired (a kept
  // version may retire it here); RegionServer::OfferFile's errors
  // otherwise. The way stays open until its offer lapses, its client
  // leaves, or Withdraw.
  absl::StatusOr<std::shared_ptr<HostedRegion>> Offer(absl::Duration accept_within) ABSL_LOCKS_EXCLUDED(mu_);

  // Closes a subscriber's way in (its stream ended); the others keep
  // theirs.
  void Withdraw(HostedRegion* region) ABSL_LOCKS_EXCLUDED(mu_);

  // A version did not fit: subscribers take versions over gRPC.
  bool retired() const ABSL_LOCKS_EXCLUDED(mu_);
  // Ways in open: offers not yet lapsed and clients holding the region.
  int open_ways() const { return open_ways_->load(); }

 private:
  // A way in, counted in open_ways_ until it closes, once (its offer
  // lapsed or its client left, on the RegionServer's thread, or
  // Withdraw). Shared with the region's handler, which may outlive this.
  struct Way {
    explicit Way(std::shared_ptr<std::atomic<int>> open) : count(std::move(open)) { count->fetch_add(1); }
    void Close() {
      if (!closed.exchange(true)) count->fetch_sub(1);
    }
    std::shared_ptr<std::atomic<int>> count;
    std::atomic<bool> closed{false};
  };

  absl::Status Create(int64_t first_bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteLocked(const v1::ParameterUpdate& update) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  RegionServer* const regions_;
  const std::shared_ptr<std::atomic<int>> open_ways_ = std::make_shared<std::atomic<int>>(0);
  mutable absl::Mutex mu_;
  // The newest version, while no way in was open to write it for.
  std::shared_ptr<const v1::ParameterUpdate> kept_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<HostedRegion*, std::shared_ptr<Way>> ways_ ABSL_GUARDED_BY(mu_);
  int memfd_ ABSL_GUARDED_BY(mu_) = -1;
  uint8_t* base_ ABSL_GUARDED_BY(mu_) = nullptr;
  int64_t size_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t capacity_ ABSL_GUARDED_BY(mu_) = 0;
  bool retired_ ABSL_GUARDED_BY(mu_) = false;
  bool unavailable_ ABSL_GUARDED_BY(mu_) = false;  // Create failed once: not tried again
};

// A subscriber's end, over the region its client connected to. Thread-safe
// (the region's bytes change under it by design; its own state is none).
class ParameterRegionReader {
 public:
  // InvalidArgument when `region`'s header is not a parameter region's or
  // its slots do not fit the region's size.
  static absl::StatusOr<std::unique_ptr<ParameterRegionReader>> Open(std::unique_ptr<SharedRegion> region,
                                                                     int64_t size);

  // The latest version written (0 before the first).
  int64_t latest_version() const;
  // The learner retired the region: take versions over gRPC.
  bool retired() const;

  // The latest version if it is newer than `after_version`; nothing when
  // it is not, or when the writer overtook three reads in a row (the next
  // call reads again). DataLoss for a slot that does not parse.
  absl::StatusOr<std::optional<v1::ParameterUpdate>> ReadNewer(int64_t after_version) const;

  // Waits until the latest version is newer than `after_version` (true),
  // the region is retired or `timeout` passes (false). Sleeps on the
  // header's futex word; the writer wakes it.
  bool WaitNewer(int64_t after_version, absl::Duration timeout) const;

 private:
  ParameterRegionReader(std::unique_ptr<SharedRegion> region, int64_t capacity)
      : region_(std::move(region)), capacity_(capacity) {}

  std::unique_ptr<SharedRegion> region_;
  const int64_t capacity_;
};

}  // namespace rill::parameters

#endif  // RILL_PARAMETERS_PARAMETER_REGION_H_
