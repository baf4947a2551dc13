// LearnerGroup: the data-parallel learner ranks of one run, on c10d (the
// collectives of torch.distributed, in Debian's LibTorch): rank 0 hosts a
// TCPStore at the group's address, every rank joins a ProcessGroupGloo
// through it (Gloo over TCP on the CPU; a CUDA LibTorch's NCCL would take
// its place for GPUs), and the group then averages each optimizer step's
// gradients with one allreduce (GradientAverager), broadcasts rank 0's
// training state at the start, and gathers what every rank must see the
// same of (the observation normaliser's batches).
//
// Joining checks what would otherwise hang or corrupt silently, and names
// it: a rank outside [0, world_size), a rank claimed twice, ranks started
// with different world sizes, a store that cannot be reached; each within
// the group's timeout. Every collective waits at most that timeout too. A
// rank that has gone (killed, crashed) makes the others' next collective
// fail with Unavailable, and the message names the ranks whose heartbeat
// (a key each rank refreshes in the store every second) no longer moves,
// or says that rank 0 (and its store) has gone.
//
// Joining sets SIGPIPE to be ignored, process-wide: a write to a rank that
// has gone then fails (and is reported) instead of ending the process.
//
// Thread safety: the collectives are called from the learner's thread; the
// heartbeat runs on its own thread. stats() may be read from any thread.
#ifndef RILL_LEARNER_LEARNER_GROUP_H_
#define RILL_LEARNER_LEARNER_GROUP_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/torch_types.h"
#include "learner/algorithms/gradient_averager.h"

namespace rill::learner {

struct LearnerGroupOptions {
  int rank = 0;
  int world_size = 1;
  // HOST:PORT of rank 0's store. Rank 0 listens on PORT (0: a free one,
  // then store_port() says which) on every interface; the others dial it.
  std::string store_address;
  // How long joining, and then each collective, may wait for the others.
  absl::Duration timeout = absl::Seconds(60);
  // Rank 0: called with the port its store listens on as soon as it does
  // (Join returns only once every rank has joined); may be empty.
  std::function<void(uint16_t port)> on_store_port;
};

// What the group's collectives have cost so far.
struct LearnerGroupStats {
  int64_t allreduces = 0;
  int64_t allreduce_bytes = 0;  // payload per rank: each float once
  double allreduce_seconds = 0;
};

class LearnerGroup final : public GradientAverager {
 public:
  // Joins the group (rank 0 first creates its store); returns once every
  // rank has joined. InvalidArgument for a bad rank or world size, a rank
  // claimed twice or world sizes that differ; DeadlineExceeded when the
  // store or the other ranks are not there within the timeout.
  static absl::StatusOr<std::unique_ptr<LearnerGroup>> Join(const LearnerGroupOptions& options);
  ~LearnerGroup() override;

  int rank() const { return options_.rank; }
  int world_size() const override { return options_.world_size; }
  // The port rank 0's store listens on (on rank 0; 0 elsewhere).
  uint16_t store_port() const { return store_port_; }

  // GradientAverager: one allreduce of all `tensors`, then divided by the
  // world size. CPU float32 tensors go through a buffer kept for their
  // sizes and Gloo's ring allreduce run on the calling thread (its pairs in
  // sync mode); others through c10d's process group.
  absl::Status Average(const std::vector<torch::Tensor>& tensors) override;
  // Rank 0's values of `tensors` into every rank's, in place (any dtype).
  absl::Status Broadcast(const std::vector<torch::Tensor>& tensors);
  // Every rank's `local` (the same shape on every rank) stacked in rank
  // order along a new first dimension: [world_size, ...local's shape].
  absl::StatusOr<torch::Tensor> AllGather(const torch::Tensor& local);
  // Whether `local` is true on any rank (one allreduce of one byte, not
  // counted in stats()): how the ranks agree to stop together, so that no
  // rank leaves another waiting in a collective it will never join.
  absl::StatusOr<bool> AnyRank(bool local);

  // A group of the same ranks over the same store whose collectives are
  // its own (its own Gloo pairs and keys under "groups/<name>/"): what a
  // rank's several policies, each training on a thread of its own, average
  // their gradients through, so that one policy's collectives never meet
  // another's. Every rank makes the same subgroups in the same order (a
  // rendezvous, within the timeout: DeadlineExceeded otherwise). The
  // subgroup shares this group's heartbeat and must not outlive it.
  // InvalidArgument for an empty name or one with '/'.
  absl::StatusOr<std::unique_ptr<LearnerGroup>> Subgroup(const std::string& name) const;

  LearnerGroupStats stats() const;

 private:
  explicit LearnerGroup(const LearnerGroupOptions& options);
  absl::Status Connect();
  void MakeCollectives();
  // Unavailable for a failed collective `what`, naming the ranks that have
  // gone as far as the store tells.
  absl::Status Failed(const std::string& what, const std::string& error);
  void Heartbeat();

  LearnerGroupOptions options_;
  std::string host_;
  uint16_t store_port_ = 0;
  // Where this group's collectives keep their keys: "" for the group that
  // joined, "groups/<name>/" for a subgroup (under "rill/").
  std::string prefix_;
  // The store and the process group (c10d's types stay in the .cc).
  struct C10d;
  std::unique_ptr<C10d> c10d_;
  absl::Notification stop_heartbeat_;
  std::thread heartbeat_;
  mutable absl::Mutex mu_;
  LearnerGroupStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_LEARNER_GROUP_H_
