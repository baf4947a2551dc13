#include "replay/plane_pool.h"

#include <algorithm>
#include <string_view>

#include "absl/hash/hash.h"
#include "common/logging.h"

namespace rill::replay {
namespace {

// Bytes of planes per storage block.
constexpr int64_t kBlockBytes = int64_t{1} << 20;

}  // namespace

PlanePool::PlanePool(int64_t plane_bytes)
    : plane_bytes_(plane_bytes),
      planes_per_block_(std::max<int64_t>(1, kBlockBytes / std::max<int64_t>(plane_bytes, 1))),
      index_(0, IdHash{this}, IdEq{this}) {}

uint64_t PlanePool::Hash(const char* plane, int64_t plane_bytes) {
  return absl::Hash<std::string_view>{}(std::string_view(plane, static_cast<size_t>(plane_bytes)));
}

uint32_t PlanePool::TakeId() {
  if (!free_ids_.empty()) {
    const uint32_t id = free_ids_.back();
    free_ids_.pop_back();
    return id;
  }
  const int64_t id = static_cast<int64_t>(hashes_.size());
  if (id > kMaxPlanes) {
    RILL_LOG(FATAL) << "plane pool: more planes than 32-bit ids (the table's config bounds them below)";
  }
  if (id == static_cast<int64_t>(blocks_.size()) * planes_per_block_) {
    // Default-initialized on purpose: a block's pages are committed as planes fill them.
    blocks_.emplace_back(new char[static_cast<size_t>(planes_per_block_ * plane_bytes_)]);
  }
  hashes_.push_back(0);
  refs_.push_back(0);
  return static_cast<uint32_t>(id);
}

uint32_t PlanePool::Acquire(const char* plane, uint64_t hash) {
  const Probe probe{hash, plane};
  auto it = index_.find(probe);
  if (it != index_.end()) {
    ++refs_[*it];
    return *it;
  }
  const uint32_t id = TakeId();
  std::memcpy(const_cast<char*>(this->plane(id)), plane, static_cast<size_t>(plane_bytes_));
  hashes_[id] = hash;
  refs_[id] = 1;
  index_.insert(id);
  return id;
}

void PlanePool::Release(uint32_t id) {
  if (--refs_[id] > 0) return;
  index_.erase(id);
  free_ids_.push_back(id);
}

void PlanePool::AppendIds(std::vector<uint32_t>* ids) const {
  for (size_t id = 0; id < refs_.size(); ++id) {
    if (refs_[id] > 0) ids->push_back(static_cast<uint32_t>(id));
  }
}

}  // namespace rill::replay
