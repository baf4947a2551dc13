// KeyIndex: a table's map from item key to the slot holding it, used to
// acknowledge a retried insert without storing it twice and to find the items
// of a priority update. It is an open-addressing hash table of 32-bit
// entries only: the key of a slot is read from the table's own slot -> key
// array, so an entry costs 4 bytes instead of the 16 (plus slack) of a
// general hash map: at a million items, 8 MiB rather than 32. An entry holds
// the slot (27 bits) and a 5-bit tag from the key's hash, so a probe reads
// the slot's key (a cache miss) for only 1 in 32 other keys; that keeps
// lookups of absent keys (every new insert) cheap at a load of up to 7/8.
// Linear probing, Fibonacci hashing (writer keys are an actor id over a
// sequence number, which it spreads well), and deletion by shifting the
// following entries back, so there are no tombstones and lookups never slow
// down with churn.
//
// The slot -> key array is borrowed: it must outlive the index, and a slot's
// key must be in it while the slot is indexed (Insert after writing the key,
// Erase before overwriting it).
//
// Not thread-safe: the owning Table calls it under its mutex.
#ifndef RILL_REPLAY_KEY_INDEX_H_
#define RILL_REPLAY_KEY_INDEX_H_

#include <cstdint>
#include <vector>

namespace rill::replay {

class KeyIndex {
 public:
  static constexpr int64_t kNotFound = -1;
  // Bits of an entry for the slot (plus one, 0 meaning empty) and the tag.
  static constexpr int kSlotBits = 27;
  static constexpr int kTagBits = 32 - kSlotBits;
  // Most slots an index can hold.
  static constexpr int64_t kMaxCapacity = (int64_t{1} << kSlotBits) - 2;

  // Room for `capacity` keys (<= kMaxCapacity); `slot_keys` has `capacity` entries.
  KeyIndex(int64_t capacity, const uint64_t* slot_keys);

  // The slot holding `key`, or kNotFound.
  int64_t Find(uint64_t key) const;
  bool contains(uint64_t key) const { return Find(key) != kNotFound; }
  // Indexes `slot`, whose key slot_keys[slot] is not indexed yet.
  void Insert(int64_t slot);
  // Removes `key` if indexed; returns whether it was.
  bool Erase(uint64_t key);
  // Starts loading the memory a Find(key) reads first.
  void Prefetch(uint64_t key) const { __builtin_prefetch(&buckets_[Home(key)]); }

  int64_t size() const { return size_; }
  // Bytes of the bucket array.
  int64_t memory_bytes() const { return static_cast<int64_t>(buckets_.size() * sizeof(uint32_t)); }

 private:
  uint64_t Hash(uint64_t key) const { return key * 0x9E3779B97F4A7C15ull; }
  // The bucket a key starts from: the top bits of its hash.
  uint64_t Home(uint64_t key) const { return Hash(key) >> shift_; }
  // The tag, from the hash bits just below the home bits, in an entry's top bits.
  uint32_t Tag(uint64_t key) const {
    return static_cast<uint32_t>((Hash(key) >> (shift_ - kTagBits)) & ((1u << kTagBits) - 1)) << kSlotBits;
  }
  static constexpr uint32_t kSlotMask = (1u << kSlotBits) - 1;

  const uint64_t* const slot_keys_;
  int shift_ = 0;      // 64 - log2(bucket count)
  uint64_t mask_ = 0;  // bucket count - 1
  // Tag | (slot + 1), or 0 for an empty bucket.
  std::vector<uint32_t> buckets_;
  int64_t size_ = 0;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_KEY_INDEX_H_
