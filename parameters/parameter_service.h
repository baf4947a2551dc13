// The learner's parameter service. The training loop publishes each new
// policy version into a ParameterStore ONCE: encoded into one blob, and that
// message serialized once into a gRPC byte buffer whose slices every
// subscriber stream writes by reference, so the cost of a version does not
// grow with the number of actors beyond the socket copies (a typed stream
// would serialize a copy per actor: 1,000 actors x a 263 KB policy is
// 263 MB of copying and transient memory per version).
//
// The service uses gRPC's callback API: a Subscribe stream is a
// SubscribeReactor registered with the store, not a thread. The store's one
// fan-out thread hands each new version to every registered reactor, which
// starts a write at once or, while its previous write is still on the wire,
// keeps only the newest version for when that write completes (a slow actor
// skips versions, it never queues them). No thread per stream waits and
// nothing polls, so a learner holds a thousand subscribers with the threads
// of an idle server.
//
// Why a fan-out thread: a write started outside gRPC's threads runs its
// framing and `sendmsg` on the caller's thread. Done in Publish, that was
// 12% of the training loop's thread in IMPALA on CartPole (a version per
// update to five subscribers); Publish now only serializes and signals.
//
// ParameterStore is thread-safe. Lock order: the store's mutex, then a
// reactor's; a reactor never calls into the store while holding its own.
#ifndef RILL_PARAMETERS_PARAMETER_SERVICE_H_
#define RILL_PARAMETERS_PARAMETER_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/region_server.h"
#include "parameters/parameter_region.h"
#include "proto/parameters.grpc.pb.h"

namespace rill::parameters {

using ParameterUpdatePtr = std::shared_ptr<const v1::ParameterUpdate>;

// A published version and its wire form, shared by every stream writing it.
struct PublishedVersion {
  ParameterUpdatePtr update;
  grpc::ByteBuffer wire;  // update, serialized once
};
using PublishedPtr = std::shared_ptr<const PublishedVersion>;

// What the store tells a subscriber: a new version, or that it closed. Both
// are called with the store's mutex held and must not block or call back
// into the store.
class ParameterListener {
 public:
  virtual ~ParameterListener() = default;
  virtual void OnPublished(const PublishedPtr& version) = 0;
  virtual void OnStoreClosed() = 0;
};

class ParameterStore {
 public:
  ParameterStore() = default;
  ParameterStore(const ParameterStore&) = delete;
  ParameterStore& operator=(const ParameterStore&) = delete;
  // Stops the fan-out thread; listeners must be removed before.
  ~ParameterStore();

  // Makes `blob` (a serialized ParameterSet) the latest version; versions must
  // increase (FailedPrecondition otherwise). Wakes every waiting caller; the
  // fan-out thread tells every listener (the newest version, once each).
  absl::Status Publish(int64_t version, int64_t learner_updates, std::string blob) ABSL_LOCKS_EXCLUDED(mu_);

  // The newest version, or null before the first Publish.
  ParameterUpdatePtr Latest() const ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until a version newer than `after_version` exists (returns it),
  // the deadline passes (DeadlineExceeded) or Close() is called (Cancelled).
  absl::StatusOr<ParameterUpdatePtr> WaitNewer(int64_t after_version, absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);

  // Registers `listener` and, under the same lock, tells it the current
  // state: OnPublished(latest) if there is a version, OnStoreClosed() if the
  // store is closed (then it is not registered). Remove it before it dies.
  // The first listener starts the fan-out thread.
  void AddListener(ParameterListener* listener) ABSL_LOCKS_EXCLUDED(mu_);
  // After this returns the listener is never called again.
  void RemoveListener(ParameterListener* listener) ABSL_LOCKS_EXCLUDED(mu_);
  // Registered listeners: one per open Subscribe stream.
  int64_t listeners() const ABSL_LOCKS_EXCLUDED(mu_);

  // Wakes waiters with Cancelled and tells every listener; idempotent.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  // Self-play's opponent pool (proto/config.proto's SelfPlayConfig): from
  // now on Publish takes a version into the pool when the pool is empty or
  // it comes at least `every_updates` learner updates after the newest
  // snapshot, and the oldest snapshot leaves once more than `size` are
  // kept. Each published update lists the pool's versions then
  // (ParameterUpdate.pool_versions). Called before the first Publish.
  void KeepSnapshots(int size, int64_t every_updates) ABSL_LOCKS_EXCLUDED(mu_);
  // The pool's snapshots, oldest first (a checkpoint saves them).
  std::vector<ParameterUpdatePtr> Snapshots() const ABSL_LOCKS_EXCLUDED(mu_);
  // Puts a saved pool back (a resumed learner, before its first Publish):
  // the newest `size` of `snapshots`, which must be in increasing version
  // order (InvalidArgument naming the first that is not).
  absl::Status RestoreSnapshots(std::vector<v1::ParameterUpdate> snapshots) ABSL_LOCKS_EXCLUDED(mu_);
  // Version `version` of the pool, or the latest when it is that one;
  // NotFound naming the versions there are otherwise.
  absl::StatusOr<ParameterUpdatePtr> Version(int64_t version) const ABSL_LOCKS_EXCLUDED(mu_);

  // Shared memory (parameter_region.h): from now on each version is also
  // written into one region that Subscribe streams asking for it are
  // offered, through `regions` (not owned; outlives the store). Called
  // before the first Publish.
  void ShareOnHost(RegionServer* regions) ABSL_LOCKS_EXCLUDED(mu_);
  // The region's writer: null without ShareOnHost.
  ParameterRegionWriter* region() const ABSL_LOCKS_EXCLUDED(mu_);

  // Progress the Status RPC reports; set by the training loop.
  void SetProgress(int64_t updates, int64_t samples, double updates_per_second);
  v1::LearnerStatus Status() const;

 private:
  // Hands each version newer than the last it handed out to every listener,
  // under mu_ (so in order), until the store closes or is destroyed; writes
  // it into the shared region first, outside mu_ (a 3 MB policy's copy
  // does not hold Publish up).
  void FanOutLoop() ABSL_LOCKS_EXCLUDED(mu_);

  mutable absl::Mutex mu_;
  PublishedPtr latest_ ABSL_GUARDED_BY(mu_);
  PublishedPtr fanned_out_ ABSL_GUARDED_BY(mu_);  // the newest version listeners were given
  bool destroying_ ABSL_GUARDED_BY(mu_) = false;
  std::thread fan_out_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<ParameterListener*> listeners_ ABSL_GUARDED_BY(mu_);
  // The opponent pool: 0 snapshots kept when there is none.
  int pool_size_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t pool_every_ ABSL_GUARDED_BY(mu_) = 1;
  std::deque<ParameterUpdatePtr> pool_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ParameterRegionWriter> region_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> updates_{0};
  std::atomic<int64_t> samples_{0};
  std::atomic<double> updates_per_second_{0};
};

// Subscribe is a raw method (byte buffers in and out) so that streams write
// the shared serialized version; the others are typed.
class ParameterServiceImpl final
    : public v1::ParameterService::WithRawCallbackMethod_Subscribe<v1::ParameterService::CallbackService> {
 public:
  // `store` must outlive the service.
  explicit ParameterServiceImpl(ParameterStore* store) : stores_({{"", store}}) {}
  // Several policies' stores (config.policies), by name, in config order:
  // a request names its policy, and one that names none gets the first.
  // Each store must outlive the service; at least one.
  explicit ParameterServiceImpl(std::vector<std::pair<std::string, ParameterStore*>> stores)
      : stores_(std::move(stores)) {}

  // Every call reads the store of its request's policy; NOT_FOUND naming
  // the service's policies for one it has none of.
  //
  // Streams versions newer than request.after_version, the newest one each
  // time the stream can take a write, until the client cancels (CANCELLED)
  // or the store closes (CANCELLED, "shutting down"). INVALID_ARGUMENT for
  // a request that is not a SubscribeRequest. A request that asks for
  // shared memory, to a store that shares on its host, is offered the
  // region first and sent no versions while its client holds it.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Subscribe(grpc::CallbackServerContext* context,
                                                        const grpc::ByteBuffer* request) override;
  // The latest version; UNAVAILABLE before the first publish.
  grpc::ServerUnaryReactor* GetParameters(grpc::CallbackServerContext* context,
                                          const v1::GetParametersRequest* request,
                                          v1::ParameterUpdate* response) override;
  // ParameterStore::Version's answer; NOT_FOUND naming the pool's
  // versions.
  grpc::ServerUnaryReactor* GetVersion(grpc::CallbackServerContext* context, const v1::GetVersionRequest* request,
                                       v1::ParameterUpdate* response) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context, const v1::LearnerStatusRequest* request,
                                   v1::LearnerStatus* response) override;

 private:
  absl::StatusOr<ParameterStore*> Find(const std::string& policy) const;

  const std::vector<std::pair<std::string, ParameterStore*>> stores_;
};

}  // namespace rill::parameters

#endif  // RILL_PARAMETERS_PARAMETER_SERVICE_H_
