#include "parameters/parameter_region.h"

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace rill::parameters {
namespace {

constexpr uint64_t kMagic = 0x314d52504c4c4952ULL;  // "RILLPRM1", little-endian

// The header's fields, by offset.
constexpr int64_t kMagicAt = 0;
constexpr int64_t kCapacityAt = 8;
constexpr int64_t kSlotsAt = 16;
constexpr int64_t kRetiredAt = 20;
constexpr int64_t kLatestVersionAt = 24;
constexpr int64_t kLatestSlotAt = 32;
constexpr int64_t kWaitersAt = 36;
constexpr int64_t kWritesAt = 40;
// A slot header's.
constexpr int64_t kSequenceAt = 0;
constexpr int64_t kBytesAt = 8;

// The shared fields are read and written with the compiler's atomic
// builtins: other processes change them under us.
template <typename T>
T* Field(uint8_t* base, int64_t offset) {
  return reinterpret_cast<T*>(base + offset);
}
template <typename T>
T Load(uint8_t* base, int64_t offset) {
  return __atomic_load_n(Field<T>(base, offset), __ATOMIC_ACQUIRE);
}
template <typename T>
void Store(uint8_t* base, int64_t offset, T value) {
  __atomic_store_n(Field<T>(base, offset), value, __ATOMIC_RELEASE);
}

int64_t SlotOffset(int64_t capacity, int slot) {
  return kParameterRegionHeaderBytes + slot * (kParameterSlotHeaderBytes + capacity);
}

int64_t RegionBytes(int64_t capacity) { return SlotOffset(capacity, kParameterSlots); }

long Futex(uint32_t* word, int op, uint32_t value, const timespec* timeout) {
  return ::syscall(SYS_futex, word, op, value, timeout, nullptr, 0);
}

}  // namespace

ParameterRegionWriter::~ParameterRegionWriter() {
  absl::MutexLock lock(&mu_);
  if (base_ != nullptr) ::munmap(base_, static_cast<size_t>(size_));
  if (memfd_ >= 0) ::close(memfd_);
}

absl::Status ParameterRegionWriter::Create(int64_t first_bytes) {
  // Room for the same network's versions to grow a little (a longer
  // opponent pool list, a varint more) without retiring the region.
  capacity_ = (std::max(2 * first_bytes, first_bytes + (int64_t{64} << 10)) + 4095) / 4096 * 4096;
  size_ = RegionBytes(capacity_);
  memfd_ = ::memfd_create("rill-parameters", MFD_CLOEXEC);
  if (memfd_ < 0) return absl::UnavailableError(absl::StrCat("memfd_create: ", std::strerror(errno)));
  if (::ftruncate(memfd_, size_) != 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("a parameter region of ", size_, " bytes: ftruncate: ", std::strerror(errno)));
  }
  void* base = ::mmap(nullptr, static_cast<size_t>(size_), PROT_READ | PROT_WRITE, MAP_SHARED, memfd_, 0);
  if (base == MAP_FAILED) return absl::ResourceExhaustedError(absl::StrCat("mmap: ", std::strerror(errno)));
  base_ = static_cast<uint8_t*>(base);
  *Field<uint64_t>(base_, kCapacityAt) = static_cast<uint64_t>(capacity_);
  *Field<uint32_t>(base_, kSlotsAt) = kParameterSlots;
  *Field<uint32_t>(base_, kLatestSlotAt) = kParameterSlots - 1;  // the first write takes slot 0
  Store<uint64_t>(base_, kMagicAt, kMagic);
  return absl::OkStatus();
}

absl::Status ParameterRegionWriter::Write(std::shared_ptr<const v1::ParameterUpdate> update) {
  absl::MutexLock lock(&mu_);
  if (retired_) return absl::FailedPreconditionError("the parameter region is retired");
  if (unavailable_) return absl::UnavailableError("no parameter region on this host");
  // The first version is written whoever reads: it sizes the region, and
  // an offer needs a region to offer.
  if (base_ != nullptr && open_ways_->load() == 0) {
    kept_ = std::move(update);
    return absl::OkStatus();
  }
  kept_.reset();
  return WriteLocked(*update);
}

absl::Status ParameterRegionWriter::WriteLocked(const v1::ParameterUpdate& update) {
  const int64_t bytes = static_cast<int64_t>(update.ByteSizeLong());
  if (base_ == nullptr) {
    absl::Status created = Create(bytes);
    if (!created.ok()) {
      unavailable_ = true;
      return created;
    }
  }
  if (bytes > capacity_) {
    retired_ = true;
    Store<uint32_t>(base_, kRetiredAt, 1);
    __atomic_add_fetch(Field<uint32_t>(base_, kWritesAt), 1, __ATOMIC_SEQ_CST);
    Futex(Field<uint32_t>(base_, kWritesAt), FUTEX_WAKE, INT_MAX, nullptr);
    return absl::FailedPreconditionError(absl::StrCat("parameter version ", update.version(), " has ", bytes,
                                                      " bytes, more than the region's slots hold (", capacity_,
                                                      "): versions go over gRPC from now on"));
  }
  const int slot = static_cast<int>((Load<uint32_t>(base_, kLatestSlotAt) + 1) % kParameterSlots);
  uint8_t* header = base_ + SlotOffset(capacity_, slot);
  uint64_t* sequence = Field<uint64_t>(header, kSequenceAt);
  // Odd: readers of this slot retry. The fence keeps the bytes below from
  // being written before the odd sequence is seen.
  __atomic_store_n(sequence, *sequence + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  update.SerializeWithCachedSizesToArray(header + kParameterSlotHeaderBytes);
  __atomic_store_n(Field<uint64_t>(header, kBytesAt), static_cast<uint64_t>(bytes), __ATOMIC_RELAXED);
  __atomic_store_n(sequence, *sequence + 1, __ATOMIC_RELEASE);
  Store<uint32_t>(base_, kLatestSlotAt, static_cast<uint32_t>(slot));
  Store<int64_t>(base_, kLatestVersionAt, update.version());
  // Sequentially consistent against a waiter's count and its look at the
  // word: either it sees the new word (and does not sleep) or this sees it
  // counted (and wakes it).
  __atomic_add_fetch(Field<uint32_t>(base_, kWritesAt), 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(Field<uint32_t>(base_, kWaitersAt), __ATOMIC_SEQ_CST) > 0) {
    Futex(Field<uint32_t>(base_, kWritesAt), FUTEX_WAKE, INT_MAX, nullptr);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<HostedRegion>> ParameterRegionWriter::Offer(absl::Duration accept_within) {
  absl::MutexLock lock(&mu_);
  if (base_ == nullptr || retired_) {
    return absl::FailedPreconditionError(base_ == nullptr ? "no parameter version written yet"
                                                          : "the parameter region is retired");
  }
  // Counted before the kept version is written: a Write from now on
  // writes too, so the client finds the newest whichever came first.
  auto way = std::make_shared<Way>(open_ways_);
  if (kept_ != nullptr) {
    const absl::Status written = WriteLocked(*kept_);
    kept_.reset();
    if (!written.ok()) {
      way->Close();
      return written;
    }
  }
  // The subscriber never sends frames; it holds its socket while it reads.
  HostedRegion::Handlers handlers;
  handlers.on_message = [](std::string_view) {};
  handlers.on_closed = [way](const absl::Status&) { way->Close(); };
  absl::StatusOr<std::shared_ptr<HostedRegion>> hosted =
      regions_->OfferFile(memfd_, size_, std::move(handlers), accept_within);
  if (!hosted.ok()) {
    way->Close();
    return hosted.status();
  }
  ways_[hosted->get()] = std::move(way);
  return hosted;
}

void ParameterRegionWriter::Withdraw(HostedRegion* region) {
  regions_->Close(region);
  absl::MutexLock lock(&mu_);
  const auto way = ways_.find(region);
  if (way == ways_.end()) return;
  way->second->Close();
  ways_.erase(way);
}

bool ParameterRegionWriter::retired() const {
  absl::MutexLock lock(&mu_);
  return retired_;
}

absl::StatusOr<std::unique_ptr<ParameterRegionReader>> ParameterRegionReader::Open(
    std::unique_ptr<SharedRegion> region, int64_t size) {
  const std::string where = absl::StrCat("parameter region @", region->socket_name());
  if (size < kParameterRegionHeaderBytes) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", size, " bytes hold no header"));
  }
  uint8_t* base = region->at(0);
  if (Load<uint64_t>(base, kMagicAt) != kMagic) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": not a parameter region (its magic)"));
  }
  const uint64_t capacity = Load<uint64_t>(base, kCapacityAt);
  const uint32_t slots = Load<uint32_t>(base, kSlotsAt);
  if (slots != kParameterSlots || capacity == 0 || capacity > static_cast<uint64_t>(size) ||
      RegionBytes(static_cast<int64_t>(capacity)) > size) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", slots, " slots of ", capacity,
                                                   " bytes do not fit its ", size, " bytes"));
  }
  return std::unique_ptr<ParameterRegionReader>(
      new ParameterRegionReader(std::move(region), static_cast<int64_t>(capacity)));
}

int64_t ParameterRegionReader::latest_version() const { return Load<int64_t>(region_->at(0), kLatestVersionAt); }

bool ParameterRegionReader::retired() const { return Load<uint32_t>(region_->at(0), kRetiredAt) != 0; }

absl::StatusOr<std::optional<v1::ParameterUpdate>> ParameterRegionReader::ReadNewer(int64_t after_version) const {
  uint8_t* base = region_->at(0);
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (Load<int64_t>(base, kLatestVersionAt) <= after_version) return std::nullopt;
    const uint32_t slot = Load<uint32_t>(base, kLatestSlotAt);
    if (slot >= kParameterSlots) return absl::DataLossError("the parameter region names slot " + std::to_string(slot));
    uint8_t* header = base + SlotOffset(capacity_, static_cast<int>(slot));
    const uint64_t before = Load<uint64_t>(header, kSequenceAt);
    if (before % 2 != 0) continue;  // being written
    const uint64_t bytes = std::min<uint64_t>(Load<uint64_t>(header, kBytesAt), static_cast<uint64_t>(capacity_));
    v1::ParameterUpdate update;
    const bool parsed = update.ParseFromArray(header + kParameterSlotHeaderBytes, static_cast<int>(bytes));
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(Field<uint64_t>(header, kSequenceAt), __ATOMIC_RELAXED) != before) continue;  // torn
    if (!parsed) return absl::DataLossError(absl::StrCat("the parameter region's slot ", slot, " does not parse"));
    if (update.version() <= after_version) return std::nullopt;
    return update;
  }
  return std::nullopt;
}

bool ParameterRegionReader::WaitNewer(int64_t after_version, absl::Duration timeout) const {
  uint8_t* base = region_->at(0);
  uint32_t* writes = Field<uint32_t>(base, kWritesAt);
  uint32_t* waiters = Field<uint32_t>(base, kWaitersAt);
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const uint32_t seen = __atomic_load_n(writes, __ATOMIC_SEQ_CST);
    if (latest_version() > after_version) return true;
    if (retired()) return false;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    const timespec wait = absl::ToTimespec(left);
    __atomic_add_fetch(waiters, 1, __ATOMIC_SEQ_CST);
    // Sleeps only while the word is still `seen`: a write in between
    // returns at once (EAGAIN).
    Futex(writes, FUTEX_WAIT, seen, &wait);
    __atomic_sub_fetch(waiters, 1, __ATOMIC_SEQ_CST);
  }
}

}  // namespace rill::parameters
