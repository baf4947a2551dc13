#include "parameters/parameter_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"
#include "common/logging.h"

namespace rill::parameters {

absl::Status ParameterStore::Publish(int64_t version, int64_t learner_updates, std::string blob) {
  auto update = std::make_shared<v1::ParameterUpdate>();
  update->set_version(version);
  update->set_learner_updates(learner_updates);
  update->set_published_unix_micros(absl::ToUnixMicros(absl::Now()));
  *update->mutable_blob() = std::move(blob);
  // Whether this version joins the pool, and the pool it then lists (one
  // training loop publishes, so the pool cannot change before the commit
  // below).
  bool snapshot = false;
  {
    absl::MutexLock lock(&mu_);
    if (pool_size_ > 0) {
      snapshot = pool_.empty() || learner_updates - pool_.back()->learner_updates() >= pool_every_;
      const size_t keep = snapshot ? static_cast<size_t>(pool_size_ - 1) : static_cast<size_t>(pool_size_);
      for (size_t i = pool_.size() > keep ? pool_.size() - keep : 0; i < pool_.size(); ++i) {
        update->add_pool_versions(pool_[i]->version());
      }
      if (snapshot) update->add_pool_versions(version);
    }
  }
  auto published = std::make_shared<PublishedVersion>();
  bool own_buffer = false;
  grpc::Status serialized = grpc::SerializationTraits<v1::ParameterUpdate>::Serialize(*update, &published->wire, &own_buffer);
  if (!serialized.ok()) {
    return absl::InternalError(absl::StrCat("cannot serialize parameter version ", version, ": ", serialized.error_message()));
  }
  published->update = std::move(update);
  absl::MutexLock lock(&mu_);
  if (latest_ != nullptr && version <= latest_->update->version()) {
    return absl::FailedPreconditionError(
        absl::StrCat("parameter version ", version, " is not newer than ", latest_->update->version()));
  }
  latest_ = std::move(published);
  if (snapshot) {
    pool_.push_back(latest_->update);
    while (static_cast<int>(pool_.size()) > pool_size_) pool_.pop_front();
  }
  return absl::OkStatus();  // releasing mu_ wakes the fan-out thread
}

ParameterStore::~ParameterStore() {
  std::thread fan_out;
  {
    absl::MutexLock lock(&mu_);
    destroying_ = true;
    fan_out = std::move(fan_out_);
  }
  if (fan_out.joinable()) fan_out.join();
}

void ParameterStore::FanOutLoop() {
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return destroying_ || closed_ || latest_ != fanned_out_; };
  bool told_region_failure = false;
  while (true) {
    PublishedPtr version;
    ParameterRegionWriter* region;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&ready));
      if (destroying_ || closed_) return;
      version = latest_;
      region = region_.get();
    }
    // In the region before any stream hears of it: a stream whose client
    // holds the region sends nothing for it.
    if (region != nullptr) {
      absl::Status written = region->Write(version->update);
      if (!written.ok() && !told_region_failure) {
        told_region_failure = true;
        RILL_LOG(WARNING) << "parameter versions over gRPC only: " << written.message();
      }
    }
    absl::MutexLock lock(&mu_);
    if (destroying_ || closed_) return;
    fanned_out_ = version;
    // Each call only starts a write (or keeps the version for later).
    for (ParameterListener* listener : listeners_) listener->OnPublished(fanned_out_);
  }
}

void ParameterStore::ShareOnHost(RegionServer* regions) {
  absl::MutexLock lock(&mu_);
  region_ = std::make_unique<ParameterRegionWriter>(regions);
}

ParameterRegionWriter* ParameterStore::region() const {
  absl::MutexLock lock(&mu_);
  return region_.get();
}

void ParameterStore::KeepSnapshots(int size, int64_t every_updates) {
  absl::MutexLock lock(&mu_);
  pool_size_ = std::max(0, size);
  pool_every_ = std::max<int64_t>(1, every_updates);
}

std::vector<ParameterUpdatePtr> ParameterStore::Snapshots() const {
  absl::MutexLock lock(&mu_);
  return {pool_.begin(), pool_.end()};
}

absl::Status ParameterStore::RestoreSnapshots(std::vector<v1::ParameterUpdate> snapshots) {
  for (size_t i = 1; i < snapshots.size(); ++i) {
    if (snapshots[i].version() <= snapshots[i - 1].version()) {
      return absl::InvalidArgumentError(absl::StrCat("the saved opponent pool's snapshot ", i, " (version ",
                                                     snapshots[i].version(), ") is not newer than the one before"));
    }
  }
  absl::MutexLock lock(&mu_);
  pool_.clear();
  const size_t keep = static_cast<size_t>(pool_size_);
  for (size_t i = snapshots.size() > keep ? snapshots.size() - keep : 0; i < snapshots.size(); ++i) {
    pool_.push_back(std::make_shared<const v1::ParameterUpdate>(std::move(snapshots[i])));
  }
  return absl::OkStatus();
}

absl::StatusOr<ParameterUpdatePtr> ParameterStore::Version(int64_t version) const {
  absl::MutexLock lock(&mu_);
  if (latest_ != nullptr && latest_->update->version() == version) return latest_->update;
  std::string versions;
  for (const ParameterUpdatePtr& snapshot : pool_) {
    if (snapshot->version() == version) return snapshot;
    absl::StrAppend(&versions, versions.empty() ? "" : ", ", snapshot->version());
  }
  return absl::NotFoundError(absl::StrCat("parameter version ", version, " is neither the latest (",
                                          latest_ != nullptr ? absl::StrCat(latest_->update->version()) : "none",
                                          ") nor in the opponent pool (", versions.empty() ? "empty" : versions, ")"));
}

ParameterUpdatePtr ParameterStore::Latest() const {
  absl::MutexLock lock(&mu_);
  return latest_ == nullptr ? nullptr : latest_->update;
}

absl::StatusOr<ParameterUpdatePtr> ParameterStore::WaitNewer(int64_t after_version, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [this, after_version]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || (latest_ != nullptr && latest_->update->version() > after_version);
  };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  if (closed_) return absl::CancelledError("parameter service is shutting down");
  if (latest_ == nullptr || latest_->update->version() <= after_version) {
    return absl::DeadlineExceededError(absl::StrCat("no parameter version newer than ", after_version));
  }
  return latest_->update;
}

void ParameterStore::AddListener(ParameterListener* listener) {
  absl::MutexLock lock(&mu_);
  if (closed_) {
    listener->OnStoreClosed();
    return;
  }
  listeners_.insert(listener);
  if (latest_ != nullptr) listener->OnPublished(latest_);
  if (!fan_out_.joinable()) fan_out_ = std::thread(&ParameterStore::FanOutLoop, this);
}

void ParameterStore::RemoveListener(ParameterListener* listener) {
  absl::MutexLock lock(&mu_);
  listeners_.erase(listener);
}

int64_t ParameterStore::listeners() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(listeners_.size());
}

void ParameterStore::Close() {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  closed_ = true;
  for (ParameterListener* listener : listeners_) listener->OnStoreClosed();
  listeners_.clear();
}

void ParameterStore::SetProgress(int64_t updates, int64_t samples, double updates_per_second) {
  updates_.store(updates);
  samples_.store(samples);
  updates_per_second_.store(updates_per_second);
}

v1::LearnerStatus ParameterStore::Status() const {
  v1::LearnerStatus status;
  status.set_updates(updates_.load());
  status.set_samples(samples_.load());
  status.set_updates_per_second(updates_per_second_.load());
  const ParameterUpdatePtr latest = Latest();
  status.set_version(latest ? latest->version() : 0);
  return status;
}

namespace {

// One Subscribe stream, from Subscribe() until gRPC calls OnDone. At most one
// write is on the wire; `pending_` holds the newest version not yet written,
// replaced (not queued) when a newer one arrives meanwhile. The bytes
// written are the store's shared serialized version, kept alive by
// `in_flight_`.
//
// With shared memory (`region_`): the stream's first write is the region's
// offer, made with the first version the region holds; from the moment
// its client holds the region, versions are not written (the region has
// them), unless the region is retired.
class SubscribeReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer>, public ParameterListener {
 public:
  SubscribeReactor(ParameterStore* store, int64_t after_version, ParameterRegionWriter* region)
      : store_(store), region_(region), newest_version_(after_version) {
    // Reactions may start in the constructor; gRPC holds them until the
    // stream is bound.
    store_->AddListener(this);
  }

  void OnPublished(const PublishedPtr& version) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (finishing_) return;
    // Tried with every version the store hands out: the first may come
    // before the region holds one.
    if (region_ != nullptr && !offered_) OfferLocked();
    if (version->update->version() <= newest_version_) {
      if (offer_pending_ && !writing_) WriteLocked();
      return;
    }
    newest_version_ = version->update->version();
    if (ClientHoldsRegionLocked()) return;
    pending_ = version;
    if (!writing_) WriteLocked();
  }

  void OnStoreClosed() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "parameter service is shutting down"));
  }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    in_flight_.reset();
    if (finishing_) {
      Finish(final_status_);
    } else if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "subscriber went away"));
    } else if (offer_pending_ || (pending_ != nullptr && !ClientHoldsRegionLocked())) {
      WriteLocked();
    } else {
      pending_ = nullptr;
    }
  }

  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "subscriber cancelled"));
  }

  void OnDone() override {
    store_->RemoveListener(this);
    // OnStoreClosed may have called Finish under mu_ from the store's thread:
    // wait until it has let go of the lock before the reactor goes.
    std::shared_ptr<HostedRegion> hosted;
    {
      absl::MutexLock lock(&mu_);
      hosted = std::move(hosted_);
    }
    if (hosted != nullptr) region_->Withdraw(hosted.get());
    delete this;
  }

 private:
  void WriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = true;
    if (offer_pending_) {
      offer_pending_ = false;
      StartWrite(&offer_wire_);
      return;
    }
    in_flight_ = std::move(pending_);
    pending_ = nullptr;
    StartWrite(&in_flight_->wire);
  }

  // Makes the stream's offer, once the region holds a version (until then
  // Offer says FailedPrecondition, and the next version tries again).
  void OfferLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<std::shared_ptr<HostedRegion>> hosted = region_->Offer(absl::Seconds(5));
    if (!hosted.ok()) {
      if (!absl::IsFailedPrecondition(hosted.status()) || region_->retired()) offered_ = true;
      return;
    }
    offered_ = true;
    hosted_ = *std::move(hosted);
    v1::ParameterUpdate offer;
    v1::ParameterRegionOffer* where = offer.mutable_shared_memory();
    where->set_socket(hosted_->address().socket);
    where->set_token(hosted_->address().token);
    where->set_size(hosted_->size());
    bool own_buffer = false;
    offer_pending_ =
        grpc::SerializationTraits<v1::ParameterUpdate>::Serialize(offer, &offer_wire_, &own_buffer).ok();
  }

  // The client maps the region, and the region takes every version.
  bool ClientHoldsRegionLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return hosted_ != nullptr && hosted_->connected() && !region_->retired();
  }

  // Finishes now, or when the write on the wire completes (a stream may
  // have only one operation of each kind outstanding at Finish).
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_) return;
    finishing_ = true;
    pending_ = nullptr;
    offer_pending_ = false;
    if (writing_) {
      final_status_ = std::move(status);
      return;
    }
    Finish(std::move(status));
  }

  ParameterStore* const store_;
  ParameterRegionWriter* const region_;  // null: no shared memory for this stream
  absl::Mutex mu_;
  int64_t newest_version_ ABSL_GUARDED_BY(mu_);
  bool offered_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<HostedRegion> hosted_ ABSL_GUARDED_BY(mu_);
  bool offer_pending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ByteBuffer offer_wire_ ABSL_GUARDED_BY(mu_);
  PublishedPtr pending_ ABSL_GUARDED_BY(mu_);
  PublishedPtr in_flight_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
};

// A stream refused before it starts.
class RefusedStream final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit RefusedStream(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* ParameterServiceImpl::Subscribe(grpc::CallbackServerContext*,
                                                                            const grpc::ByteBuffer* request) {
  grpc::ByteBuffer bytes(*request);  // Deserialize consumes its input
  v1::SubscribeRequest parsed;
  grpc::Status status = grpc::SerializationTraits<v1::SubscribeRequest>::Deserialize(&bytes, &parsed);
  if (!status.ok()) {
    return new RefusedStream(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                          "Subscribe: the request is not a rill.v1.SubscribeRequest"));
  }
  absl::StatusOr<ParameterStore*> store = Find(parsed.policy());
  if (!store.ok()) return new RefusedStream(grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(store.status().message())));
  return new SubscribeReactor(*store, parsed.after_version(), parsed.shared_memory() ? (*store)->region() : nullptr);
}

absl::StatusOr<ParameterStore*> ParameterServiceImpl::Find(const std::string& policy) const {
  if (policy.empty()) return stores_.front().second;
  std::vector<std::string> names;
  for (const auto& [name, store] : stores_) {
    if (name == policy) return store;
    names.push_back(name.empty() ? "(unnamed)" : name);
  }
  return absl::NotFoundError(absl::StrCat("this learner trains no policy '", policy, "'; its policies: ",
                                          absl::StrJoin(names, ", ")));
}

grpc::ServerUnaryReactor* ParameterServiceImpl::GetParameters(grpc::CallbackServerContext* context,
                                                              const v1::GetParametersRequest* request,
                                                              v1::ParameterUpdate* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<ParameterStore*> store = Find(request->policy());
  if (!store.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(store.status().message())));
    return reactor;
  }
  ParameterUpdatePtr latest = (*store)->Latest();
  if (latest == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "no parameters published yet"));
  } else {
    *response = *latest;
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerUnaryReactor* ParameterServiceImpl::GetVersion(grpc::CallbackServerContext* context,
                                                           const v1::GetVersionRequest* request,
                                                           v1::ParameterUpdate* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<ParameterStore*> store = Find(request->policy());
  if (!store.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(store.status().message())));
    return reactor;
  }
  absl::StatusOr<ParameterUpdatePtr> found = (*store)->Version(request->version());
  if (!found.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(found.status().message())));
  } else {
    *response = **found;
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerUnaryReactor* ParameterServiceImpl::Status(grpc::CallbackServerContext* context,
                                                       const v1::LearnerStatusRequest* request,
                                                       v1::LearnerStatus* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<ParameterStore*> store = Find(request->policy());
  if (!store.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(store.status().message())));
    return reactor;
  }
  *response = (*store)->Status();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace rill::parameters
