// A table's file in a checkpoint (table-<i>.rtbl): how one table's snapshot
// (Table::Snapshot, replay/table_snapshot.h) is serialized to records of a
// record file (replay/durability/record_file.h) and restored into a table
// (Table::RestorePlanes, RestoreItems, RestoreCounters). CheckpointStore
// (checkpoint.h) calls it for each table of a checkpoint; it owns the
// folder, the manifest and the choice of checkpoint.
//
// Format (unchanged since checkpoints began; files of every release before
// still restore): a header record ("RILLTBL1" and the table's TableConfig),
// a counters record (TableMeta and each column's item bytes), for a table
// that shares planes its planes' records, then the items in insertion order
// in chunks of about 4 MiB (keys, times sampled, priorities, then each
// column's rows), and an end record ("RILLEND1" and the item count).
//
// Thread-compatible: free functions over a writer or reader the caller
// owns; the table they restore into is thread-safe.
#ifndef RILL_REPLAY_DURABILITY_TABLE_FILE_H_
#define RILL_REPLAY_DURABILITY_TABLE_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/config.pb.h"
#include "replay/durability/record_file.h"
#include "replay/table.h"
#include "replay/table_snapshot.h"

namespace rill::replay {

// Writes the file of a table built from `config` from its `snapshot` to
// `path`, and syncs it. Internal on an I/O error.
absl::Status WriteTableFile(const std::string& path, const v1::TableConfig& config, const TableSnapshot& snapshot);

// The TableConfig in a table file's header record, its fields of the
// releases before carried into today's spelling. DataLoss naming `path` for
// a header that is not a table file's; the reader's errors otherwise.
absl::StatusOr<v1::TableConfig> ReadTableHeader(RecordReader& reader, const std::string& path);

// Reads the rest of a table file (after its header, whose config is
// `checkpointed`) into `table`, freshly created and empty. DataLoss naming
// `path` for a damaged or inconsistent file (and what the table refused as
// DataLoss); the table's other errors as they are.
absl::Status RestoreTableFile(RecordReader& reader, const std::string& path, const v1::TableConfig& checkpointed,
                              Table* table);

}  // namespace rill::replay

#endif  // RILL_REPLAY_DURABILITY_TABLE_FILE_H_
