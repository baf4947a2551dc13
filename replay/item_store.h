// ItemStore: the payload of a table's items, column by column, in numbered
// slots; ItemLayout: how each column is stored. Table (replay/table.h) owns
// one store and decides which slot holds what (the free list, the key index,
// the selector, the remover, the rate limiter); the store only keeps bytes.
//
// A column is stored in one of three ways (ItemLayout::Column):
// - as is: one contiguous buffer of capacity * item_bytes, left
//   uninitialized so that untouched pages of a large table are not
//   committed; storing an item is one memcpy and a sampled batch a gather
//   straight into the response's column buffers;
// - compressed (config `compression`, column_codec.h): each item's frame in
//   an allocation of its own, compressed outside the table's lock by
//   ItemLayout::Prepare and decompressed after it by DecompressFrames;
// - in shared planes (config `share_planes`, plane_pool.h): per item the ids
//   of its planes in one PlanePool for all such columns, each distinct plane
//   held once.
// stored_bytes() counts what the store holds as stored: compressed columns
// compressed, each distinct shared plane once.
//
// Thread-safety: an ItemLayout is immutable; its methods may run on many
// threads at once, without the table's lock. An ItemStore is
// thread-compatible: Table calls it only under its mutex (its layout() is
// the exception: immutable, read without the lock).
#ifndef RILL_REPLAY_ITEM_STORE_H_
#define RILL_REPLAY_ITEM_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/config.pb.h"
#include "proto/replay.pb.h"
#include "replay/column_codec.h"
#include "replay/encoded_insert.h"
#include "replay/plane_pool.h"
#include "replay/selectors/interface.h"
#include "replay/table_snapshot.h"

namespace rill::replay {

// Compressed items drawn under the table's lock, decompressed into their
// rows of the batch after it is released.
struct DrawnFrames {
  struct Frame {
    int column = 0;
    int row = 0;
    size_t offset = 0;  // in bytes
    uint32_t size = 0;
    uint64_t key = 0;
  };
  std::string bytes;
  std::vector<Frame> frames;
  void clear() {
    bytes.clear();
    frames.clear();
  }
};

// Restored items' columns as a table stores them, per column and item
// (ItemLayout::ConvertRestored); a column stored as is on both sides has no
// views (its bytes are read from the RestoredItems).
using RestoredColumns = std::vector<std::vector<std::string_view>>;

class ItemLayout {
 public:
  struct Column {
    v1::ColumnSpec spec;
    int64_t item_bytes = 0;  // uncompressed
    ColumnCodec codec;
    int64_t planes = 0;  // planes per item if it shares planes, else 0
  };

  // From a config that CheckTableConfig accepted; InvalidArgument for a
  // column whose item size cannot be computed.
  static absl::StatusOr<ItemLayout> FromConfig(const v1::TableConfig& config);

  const std::string& table() const { return table_; }
  const v1::Signature& signature() const { return signature_; }
  size_t num_columns() const { return columns_.size(); }
  const Column& column(size_t c) const { return columns_[c]; }
  // Payload bytes of one item, all columns, uncompressed (as sampled).
  int64_t item_bytes() const { return item_bytes_; }
  // Bytes per item of the columns stored as is.
  int64_t plain_item_bytes() const { return plain_item_bytes_; }
  const std::vector<int64_t>& column_item_bytes() const { return column_item_bytes_; }
  const std::vector<ColumnCodec>& codecs() const { return codecs_; }
  bool compresses() const { return compresses_; }
  bool shares_planes() const { return shares_planes_; }
  // Bytes per shared plane (the config's; 0 without shared planes).
  int64_t plane_bytes() const { return plane_bytes_; }

  // `status` with "table '<name>': " in front of its message.
  absl::Status InTable(const absl::Status& status) const;

  // Readies a plain request (EncodedInsert::TakePlain) for storing, the
  // costly part outside the lock: hashes the planes of shared columns and
  // compresses the compressed ones. Internal if a codec fails.
  absl::Status Prepare(EncodedInsert* encoded) const;
  // Compresses a borrowed plain request's compressed columns (Insert).
  absl::Status Compress(EncodedInsert* encoded) const;
  // Bytes item `index` of a prepared request takes as stored, shared planes
  // aside (they count in the pool).
  int64_t StoredItemBytes(const EncodedInsert& encoded, int index) const;
  // The same for item `index` of restored columns.
  int64_t StoredItemBytes(const RestoredColumns& stored, int64_t index) const;

  // Decompresses `frames` into their rows of `out`; DataLoss naming the
  // column and key of one that does not decompress.
  absl::Status DecompressFrames(const DrawnFrames& frames, v1::SampleResponse* out) const;

  // Each item of `items` in a column that is or was compressed, as the
  // store keeps it: checked (decompressed) and converted into this layout's
  // codec, in `converted` where a conversion was needed. DataLoss naming the
  // column and key of an item that does not decompress; Internal if a codec
  // fails.
  absl::Status ConvertRestored(const RestoredItems& items, RestoredColumns* stored,
                               std::vector<std::string>* converted) const;

  // A snapshot's column buffers for `rows` rows, sized and their pages
  // touched outside the lock: compressed columns get room for
  // `frame_bytes` (per column) and a margin, shared ones `num_planes`
  // planes and a margin.
  void AllocateSnapshot(int64_t rows, const std::vector<int64_t>& frame_bytes, TableSnapshot* snapshot) const;
  void AllocateSnapshotPlanes(int64_t num_planes, TableSnapshot* snapshot) const;
  // Cuts the snapshot's buffers to what ItemStore copied into them
  // (`frame_end`: per column, as CopySnapshotFrames left it).
  void TrimSnapshot(const std::vector<size_t>& frame_end, TableSnapshot* snapshot) const;

 private:
  std::string table_;
  v1::Signature signature_;
  std::vector<Column> columns_;
  std::vector<int64_t> column_item_bytes_;
  std::vector<ColumnCodec> codecs_;
  int64_t item_bytes_ = 0;
  int64_t plain_item_bytes_ = 0;
  bool compresses_ = false;
  bool shares_planes_ = false;
  int64_t plane_bytes_ = 0;
};

class ItemStore {
 public:
  // Room for `capacity` items of `config`'s layout. InvalidArgument as
  // ItemLayout::FromConfig; ResourceExhausted when the storage cannot be
  // allocated.
  static absl::StatusOr<std::unique_ptr<ItemStore>> Create(const v1::TableConfig& config, int64_t capacity);

  ItemStore(const ItemStore&) = delete;
  ItemStore& operator=(const ItemStore&) = delete;

  const ItemLayout& layout() const { return layout_; }
  // Payload bytes held, as stored: each distinct shared plane once.
  int64_t stored_bytes() const { return stored_bytes_ + (planes_ != nullptr ? planes_->bytes() : 0); }
  // Per column: its frames' bytes (0 for a column not compressed).
  const std::vector<int64_t>& frame_bytes() const { return frame_bytes_; }
  // Distinct shared planes held.
  int64_t num_planes() const { return planes_ != nullptr ? planes_->size() : 0; }

  // Storing an item takes two steps, so that the table may evict in
  // between: Hold* takes the item's shared planes first (a new one counts
  // in stored_bytes() from then on, and evicting for the item never frees a
  // plane it is about to share), Put* then copies the item into `slot` and
  // gives it the planes held.
  void HoldPlanes(const EncodedInsert& encoded, int index);
  void Put(int64_t slot, const EncodedInsert& encoded, int index);
  // The same for item `index` of restored `items` (`stored` as
  // ItemLayout::ConvertRestored left it, plane ids mapped by
  // RestorePlanes).
  void HoldRestoredPlanes(const RestoredItems& items, const RestoredColumns& stored, int64_t index);
  void PutRestored(int64_t slot, const RestoredItems& items, const RestoredColumns& stored, int64_t index);
  // Lets go of the item in `slot`: its frames and planes.
  void Erase(int64_t slot);

  // Copies the item in `slot` into row `row` of the columns at `to` (one
  // buffer per column, batch_size * item_bytes each), its compressed
  // columns' frames (named by `key`) into `frames`.
  void Gather(int64_t slot, int64_t row, uint64_t key, char* const* to, DrawnFrames* frames) const;
  // Gather for `count` draws into rows first_row, first_row + 1, ...: the
  // rows are prefetched (and slot_keys[slot], the keys the caller reads
  // next) before any is copied, so that their cache misses overlap.
  void GatherMany(const Selection* draws, int64_t count, int64_t first_row, const uint64_t* slot_keys,
                  char* const* to, DrawnFrames* frames) const;

  // A snapshot's column part, under the table's lock: GrowSnapshot makes
  // room for frames stored since AllocateSnapshot; CopySnapshotSlots copies
  // slots [0, num_slots) as blocks (rows are slots), CopySnapshotSlot one
  // slot into a row; CopySnapshotFrames the compressed columns' frames of
  // each row (`occupied[row]`'s, or row's own slot when null);
  // CopySnapshotPlanes the shared planes, each once.
  void GrowSnapshot(TableSnapshot* snapshot) const;
  void CopySnapshotSlots(int64_t num_slots, TableSnapshot* snapshot) const;
  void CopySnapshotSlot(int64_t slot, int64_t row, TableSnapshot* snapshot) const;
  void CopySnapshotFrames(const std::vector<int64_t>* occupied, TableSnapshot* snapshot,
                          std::vector<size_t>* frame_end) const;
  void CopySnapshotPlanes(TableSnapshot* snapshot) const;

  // Start-up restore of a checkpoint's shared planes (Table::RestorePlanes):
  // held until EndPlaneRestore, in the pool when they are of its plane size,
  // as copies otherwise. DataLoss for an id given twice or planes of two
  // sizes.
  absl::Status RestorePlanes(const uint32_t* ids, const char* bytes, int64_t count, int64_t plane_bytes);
  void EndPlaneRestore();
  // Points the columns `items` keeps in shared planes at the planes
  // RestorePlanes holds: checks the ids where this store shares that
  // column's planes too, expands them into `expanded` (and `items` at it)
  // otherwise. DataLoss naming the column and key of an item that names a
  // plane not held, or for planes of a size that does not divide the
  // column's items.
  absl::Status ExpandRestoredPlanes(RestoredItems* items, std::vector<std::string>* expanded) const;

 private:
  // One stored item of a compressed column: its frame, allocated on its own.
  struct StoredItem {
    std::unique_ptr<char[]> bytes;
    uint32_t size = 0;
  };
  // A column's storage (the one of its layout's three that it uses).
  struct Storage {
    // Sharing planes: capacity * planes ids (slot s's from s * planes),
    // uninitialized as `data` is.
    std::unique_ptr<uint32_t[]> plane_ids;
    // Stored as is: capacity * item_bytes bytes, uninitialized.
    std::unique_ptr<char[]> data;
    // Compressed: one per slot (empty for a free one).
    std::vector<StoredItem> items;
  };

  ItemStore(ItemLayout layout, std::vector<Storage> columns);

  // Appends to plane_scratch_ the ids of the planes of `item`, an item of
  // shared column `column`, each acquired. `hashes`: their PlanePool
  // hashes, or null to compute them here.
  void AcquirePlanes(size_t column, const char* item, const uint64_t* hashes);
  // Gives `slot` the ids in plane_scratch_ (the shared columns' in column
  // order) and empties it.
  void PlacePlanes(int64_t slot);
  void CopyPlanes(size_t column, int64_t slot, char* to) const;
  void PutFrame(size_t column, int64_t slot, std::string_view stored);
  void DrawFrame(size_t column, int64_t slot, int64_t row, uint64_t key, DrawnFrames* frames) const;
  // A plane RestorePlanes holds, by the checkpoint's id; null if none.
  const char* RestoredPlane(uint32_t id) const;

  const ItemLayout layout_;
  std::vector<Storage> columns_;
  // Payload bytes held as stored, shared planes aside; per compressed
  // column, its frames' bytes.
  int64_t stored_bytes_ = 0;
  std::vector<int64_t> frame_bytes_;
  // The distinct planes of the shared columns; null without one.
  std::unique_ptr<PlanePool> planes_;
  std::vector<uint32_t> plane_scratch_;  // ids held by Hold*, placed by Put*
  // During a restore (RestorePlanes .. EndPlaneRestore): the checkpoint's
  // plane ids, to the pool's (each holding one reference) or to copies of
  // planes the store does not share.
  absl::flat_hash_map<uint32_t, uint32_t> restored_plane_ids_;
  absl::flat_hash_map<uint32_t, std::string> restored_plane_copies_;
  int64_t restored_plane_bytes_ = 0;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_ITEM_STORE_H_
