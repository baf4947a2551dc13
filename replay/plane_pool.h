// PlanePool: the distinct planes of a replay table's share_planes columns
// (proto/config.proto, TableConfig.ColumnCompression.share_planes), each
// stored once and counted by the items that hold it.
//
// Why: a transition of frame-stacked images holds its k frames in obs and
// k in next_obs, and the next transition holds k - 1 of them again: stored
// as is, every frame is kept 2k times. An item of a share_planes column is
// a run of planes (its last two dimensions, H x W); the table keeps one id
// per plane and the pool one copy of each distinct plane, so a table of
// such transitions grows by about one frame per item.
//
// Planes are matched byte for byte: a hash of the plane finds the
// candidates and memcmp decides, so two planes that merely hash alike are
// never merged. Storage: fixed-size planes in blocks of about 1 MiB,
// allocated as the pool grows and reused through a free list (the pool
// does not shrink, as a table's preallocated columns do not). Besides the
// planes, a plane costs about 20 bytes: its hash, its count and its entry
// in the index.
//
// Thread-compatible: the table calls it under its lock.
#ifndef RILL_REPLAY_PLANE_POOL_H_
#define RILL_REPLAY_PLANE_POOL_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace rill::replay {

class PlanePool {
 public:
  // Most planes a pool holds at once: ids are 32 bits, the last one unused.
  static constexpr int64_t kMaxPlanes = (int64_t{1} << 32) - 2;

  explicit PlanePool(int64_t plane_bytes);
  PlanePool(const PlanePool&) = delete;
  PlanePool& operator=(const PlanePool&) = delete;

  int64_t plane_bytes() const { return plane_bytes_; }

  // The hash Acquire takes for `plane` (plane_bytes bytes): computed by the
  // caller, outside the table's lock where it can be. Stable within a
  // process only (never stored).
  static uint64_t Hash(const char* plane, int64_t plane_bytes);
  uint64_t Hash(const char* plane) const { return Hash(plane, plane_bytes_); }

  // The id of a plane equal to `plane`, added if the pool holds none, with
  // one more reference. `hash` is Hash(plane).
  uint32_t Acquire(const char* plane, uint64_t hash);
  // One more reference to a plane the pool holds.
  void AddRef(uint32_t id) { ++refs_[id]; }
  // One reference fewer; the plane leaves the pool with its last.
  void Release(uint32_t id);

  // The bytes of plane `id`, plane_bytes() long, valid until it leaves.
  const char* plane(uint32_t id) const {
    return blocks_[id / planes_per_block_].get() + (id % planes_per_block_) * plane_bytes_;
  }

  // Distinct planes held, and their bytes.
  int64_t size() const { return static_cast<int64_t>(index_.size()); }
  int64_t bytes() const { return size() * plane_bytes_; }
  // Bytes the pool has allocated for planes (held, free and not yet used).
  int64_t allocated_bytes() const {
    return static_cast<int64_t>(blocks_.size()) * planes_per_block_ * plane_bytes_;
  }

  // Appends the ids of the planes held, ascending.
  void AppendIds(std::vector<uint32_t>* ids) const;

 private:
  // What the index is searched with: a plane not (yet) in the pool.
  struct Probe {
    uint64_t hash;
    const char* bytes;
  };
  struct IdHash {
    using is_transparent = void;
    const PlanePool* pool;
    size_t operator()(uint32_t id) const { return pool->hashes_[id]; }
    size_t operator()(const Probe& probe) const { return probe.hash; }
  };
  struct IdEq {
    using is_transparent = void;
    const PlanePool* pool;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t id, const Probe& probe) const {
      return pool->hashes_[id] == probe.hash && std::memcmp(pool->plane(id), probe.bytes, pool->plane_bytes_) == 0;
    }
    bool operator()(const Probe& probe, uint32_t id) const { return (*this)(id, probe); }
  };

  // A free id, growing the storage by a block when none is left.
  uint32_t TakeId();

  const int64_t plane_bytes_;
  const int64_t planes_per_block_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  // Per id ever handed out: the plane's hash and references (0: free).
  std::vector<uint64_t> hashes_;
  std::vector<uint32_t> refs_;
  std::vector<uint32_t> free_ids_;
  // The ids of the planes held.
  absl::flat_hash_set<uint32_t, IdHash, IdEq> index_;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_PLANE_POOL_H_
