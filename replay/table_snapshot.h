// TableSnapshot and RestoredItems: a table's items and counters in the form
// a checkpoint writes and reads them (replay/durability/checkpoint.h).
// Table::Snapshot fills a TableSnapshot, the item store
// (replay/item_store.h) copying the columns' part; Table::RestoreItems takes
// a RestoredItems. Plain data: thread-compatible.
#ifndef RILL_REPLAY_TABLE_SNAPSHOT_H_
#define RILL_REPLAY_TABLE_SNAPSHOT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "replay/column_codec.h"

namespace rill::replay {

// A copy of a table's items and counters, taken by Table::Snapshot for a
// checkpoint. Rows are either a block copy of slots [0, num_rows) (free slots
// included, with sequence 0) or the occupied slots gathered densely,
// whichever is smaller to copy; `order` lists the rows that hold an item,
// oldest first, so that a restore rebuilds the FIFO order of the selector and
// remover (and the insertion-order tie-break of the lowest-priority remover).
struct TableSnapshot {
  int64_t num_rows = 0;
  std::vector<int64_t> column_item_bytes;          // signature order, as sampled (uncompressed)
  // num_rows * column_item_bytes[c] each; null for a compressed column.
  std::vector<std::unique_ptr<char[]>> columns;
  // Per column, for a compressed one: its codec, each row's stored bytes
  // back to back (a free row holds none) and where row r's begin
  // (num_rows + 1 offsets). Empty strings and offsets for a column stored
  // as is.
  std::vector<Codec> codecs;
  std::vector<std::string> stored;
  std::vector<std::vector<uint64_t>> stored_offsets;
  // Columns that share planes: per column, each row's plane ids
  // (item_bytes / plane_bytes of them; empty for another column), and the
  // planes they name, each once: `plane_ids` ascending and their bytes back
  // to back in `planes`, plane_bytes each. plane_bytes 0: no such column.
  std::vector<std::vector<uint32_t>> row_planes;
  int64_t plane_bytes = 0;
  std::vector<uint32_t> plane_ids;
  std::string planes;
  // Payload bytes of the items as stored (compressed columns compressed,
  // shared planes once).
  int64_t bytes = 0;
  std::vector<uint64_t> keys;                      // per row
  // Per row: insertion number, 0 for a free slot; empty when the remover
  // gave `order` itself.
  std::vector<uint64_t> sequence;
  std::vector<int32_t> times_sampled;              // per row
  std::vector<double> priorities;                  // per row; empty for a table without priorities
  std::vector<int64_t> order;                      // rows holding an item, oldest first
  double default_priority = 1.0;
  // Rate-limiter counters.
  int64_t inserts = 0;
  int64_t samples = 0;
  int64_t deletes = 0;
  // How long Snapshot held the table's lock: the pause inserts and samples saw.
  absl::Duration pause;

  int64_t size() const { return static_cast<int64_t>(order.size()); }
};

// Consecutive items of a checkpoint, oldest first, as Table::RestoreItems
// takes them. Pointers stay owned by the caller.
struct RestoredItems {
  int64_t count = 0;
  const uint64_t* keys = nullptr;
  const int32_t* times_sampled = nullptr;
  const double* priorities = nullptr;  // nullptr: the table has no priorities
  // Signature order: count * column item bytes each, or for a column of a
  // compressing codec (codecs[c]; none when `codecs` is empty) each item's
  // frame back to back, item i sizes[c][i] bytes long.
  std::vector<const char*> columns;
  std::vector<Codec> codecs;
  std::vector<const uint32_t*> sizes;  // per column; nullptr for one stored as is
  // Per column (empty: none): for a column the checkpoint kept in shared
  // planes, each item's plane ids back to back, as the checkpoint numbered
  // them (Table::RestorePlanes got those planes first); nullptr for
  // another. Such a column has no entry in `columns` that is read.
  std::vector<const uint32_t*> plane_ids;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_TABLE_SNAPSHOT_H_
