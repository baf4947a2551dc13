#include "replay/durability/table_file.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

#include "absl/base/casts.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/unknown_field_set.h"
#include "replay/column_codec.h"
#include "replay/table_config.h"

namespace rill::replay {
namespace {

constexpr char kTableMagic[] = "RILLTBL1";
constexpr char kEndMagic[] = "RILLEND1";
// A table whose config shares planes keeps each distinct plane once, in
// records between its counters and its items: each
//   "RILLPLN1" [u64 count] [u32 id x count] [planes, plane bytes each]
// and after the last "RILLPLNE" [u64 planes in all]. Its items then hold a
// shared column as their planes' ids, [u32 x planes] per item.
constexpr char kPlanesMagic[] = "RILLPLN1";
constexpr char kPlanesEndMagic[] = "RILLPLNE";
constexpr int64_t kChunkBytes = 4 << 20;

// The fixed part of a table file's counters record.
struct TableMeta {
  int64_t num_items;
  double default_priority;
  int64_t inserts;
  int64_t samples;
  int64_t deletes;
  int32_t has_priorities;
  int32_t num_columns;
};

template <typename T>
void AppendRaw(std::string* out, const T* values, size_t count) {
  out->append(reinterpret_cast<const char*>(values), count * sizeof(T));
}

// Reads `count` values of T at `*offset` in `payload`, advancing it.
template <typename T>
bool TakeRaw(const std::string& payload, size_t* offset, size_t count, const T** out) {
  const size_t bytes = count * sizeof(T);
  if (*offset + bytes > payload.size()) return false;
  *out = reinterpret_cast<const T*>(payload.data() + *offset);
  *offset += bytes;
  return true;
}

// The planes records of a table that shares planes (see kPlanesMagic).
absl::Status WritePlanes(const TableSnapshot& snapshot, int64_t plane_bytes, RecordWriter& writer) {
  std::string record;
  const int64_t num_planes = static_cast<int64_t>(snapshot.plane_ids.size());
  const int64_t per_record = std::max<int64_t>(1, kChunkBytes / (plane_bytes + 4));
  for (int64_t begin = 0; begin < num_planes; begin += per_record) {
    const int64_t count = std::min(per_record, num_planes - begin);
    record = kPlanesMagic;
    const uint64_t count64 = static_cast<uint64_t>(count);
    AppendRaw(&record, &count64, 1);
    AppendRaw(&record, snapshot.plane_ids.data() + begin, static_cast<size_t>(count));
    record.append(snapshot.planes.data() + begin * plane_bytes, static_cast<size_t>(count * plane_bytes));
    RETURN_IF_ERROR(writer.Write(record));
  }
  record = kPlanesEndMagic;
  const uint64_t total = static_cast<uint64_t>(num_planes);
  AppendRaw(&record, &total, 1);
  RETURN_IF_ERROR(writer.Write(record));
  return absl::OkStatus();
}

// Table files written before the selector and remover became oneofs hold
// them as strings in fields 3 and 4 and the prioritized selector's exponents
// as doubles in 9 and 10: unknown fields to today's TableConfig. They are
// carried into today's spelling, so a shard restores the checkpoints of the
// release before (and compares their config with its own as it always did).
void UpgradeLegacyTableConfig(v1::TableConfig* config) {
  google::protobuf::UnknownFieldSet* unknown = config->GetReflection()->MutableUnknownFields(config);
  if (unknown->empty()) return;
  google::protobuf::UnknownFieldSet kept;
  for (int i = 0; i < unknown->field_count(); ++i) {
    const google::protobuf::UnknownField& field = unknown->field(i);
    const bool text = field.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED;
    const bool number = field.type() == google::protobuf::UnknownField::TYPE_FIXED64;
    if (field.number() == 3 && text && field.length_delimited() == "prioritized") {
      config->mutable_selector()->mutable_prioritized();
    } else if (field.number() == 3 && text && field.length_delimited() == "fifo") {
      config->mutable_selector()->mutable_fifo();
    } else if (field.number() == 3 && text && field.length_delimited() == "uniform") {
      config->mutable_selector()->mutable_uniform();
    } else if (field.number() == 4 && text && field.length_delimited() == "lowest_priority") {
      config->mutable_remover()->mutable_lowest_priority();
    } else if (field.number() == 4 && text && field.length_delimited() == "fifo") {
      config->mutable_remover()->mutable_fifo();
    } else if (field.number() == 9 && number) {
      config->mutable_selector()->mutable_prioritized()->set_priority_exponent(
          absl::bit_cast<double>(field.fixed64()));
    } else if (field.number() == 10 && number) {
      config->mutable_selector()->mutable_prioritized()->set_importance_sampling_exponent(
          absl::bit_cast<double>(field.fixed64()));
    } else {
      // Not a legacy field: left for the config comparison to report.
      kept.AddField(field);
    }
  }
  unknown->Clear();
  unknown->MergeFrom(kept);
}

// How a table file's checkpoint stored its columns: its counters record and
// its own config's choices.
struct FileColumns {
  TableMeta meta;
  std::vector<int64_t> item_bytes;
  // Each column's codec (none in the files of the releases before
  // compression); `compressed`: some column's compresses.
  std::vector<Codec> codecs;
  bool compressed = false;
  // Bytes per shared plane (0: none) and each column's planes per item.
  int64_t plane_bytes = 0;
  std::vector<int64_t> column_planes;
};

absl::StatusOr<FileColumns> ReadCounters(RecordReader& reader, const v1::TableConfig& checkpointed,
                                         const std::function<absl::Status(const std::string&)>& corrupt) {
  std::string record;
  RETURN_IF_ERROR(reader.Next(&record));
  size_t offset = 0;
  const TableMeta* meta;
  if (!TakeRaw(record, &offset, 1, &meta)) return corrupt("short counters record");
  const int64_t* column_bytes;
  if (meta->num_columns < 0 || !TakeRaw(record, &offset, meta->num_columns, &column_bytes)) {
    return corrupt("short column list");
  }
  FileColumns file;
  file.meta = *meta;
  const TableMeta& m = file.meta;
  file.item_bytes.assign(column_bytes, column_bytes + m.num_columns);
  for (const v1::ColumnSpec& spec : checkpointed.signature().columns()) {
    file.codecs.push_back(ColumnCodec::ForColumn(checkpointed, spec.name()).codec());
    file.compressed |= ColumnCodec(file.codecs.back(), 0).compresses();
  }
  if (file.compressed && static_cast<int>(file.codecs.size()) != m.num_columns) {
    return corrupt(absl::StrCat(m.num_columns, " columns, but its config's signature has ", file.codecs.size()));
  }
  file.plane_bytes = SharedPlaneBytes(checkpointed);
  file.column_planes.assign(static_cast<size_t>(m.num_columns), 0);
  if (file.plane_bytes > 0) {
    if (checkpointed.signature().columns_size() != m.num_columns) {
      return corrupt(absl::StrCat(m.num_columns, " columns, but its config's signature has ",
                                  checkpointed.signature().columns_size()));
    }
    for (int c = 0; c < m.num_columns; ++c) {
      if (SharesPlanes(checkpointed, checkpointed.signature().columns(c).name())) {
        file.column_planes[static_cast<size_t>(c)] = file.item_bytes[static_cast<size_t>(c)] / file.plane_bytes;
      }
    }
  }
  return file;
}

// Reads the planes records into `table` (RestorePlanes), up to and with
// their end record.
absl::Status RestorePlanes(RecordReader& reader, int64_t plane_bytes, Table* table,
                           const std::function<absl::Status(const std::string&)>& corrupt) {
  std::string record;
  int64_t planes_read = 0;
  while (true) {
    RETURN_IF_ERROR(reader.Next(&record));
    size_t offset = 0;
    if (record.compare(0, std::strlen(kPlanesEndMagic), kPlanesEndMagic) == 0) {
      offset = std::strlen(kPlanesEndMagic);
      const uint64_t* total;
      if (!TakeRaw(record, &offset, 1, &total) || static_cast<int64_t>(*total) != planes_read) {
        return corrupt(absl::StrCat("plane count mismatch (", planes_read, " read)"));
      }
      return absl::OkStatus();
    }
    if (record.compare(0, std::strlen(kPlanesMagic), kPlanesMagic) != 0) return corrupt("expected a planes record");
    offset = std::strlen(kPlanesMagic);
    const uint64_t* count;
    const uint32_t* ids;
    const char* planes;
    if (!TakeRaw(record, &offset, 1, &count) || !TakeRaw(record, &offset, *count, &ids) ||
        !TakeRaw(record, &offset, *count * static_cast<uint64_t>(plane_bytes), &planes)) {
      return corrupt("short planes record");
    }
    absl::Status st = table->RestorePlanes(ids, planes, static_cast<int64_t>(*count), plane_bytes);
    if (absl::IsDataLoss(st)) return corrupt(std::string(st.message()));
    RETURN_IF_ERROR(st);
    planes_read += static_cast<int64_t>(*count);
  }
}

// Points `items` at the items of one chunk record; false if it is short.
bool ParseChunk(const std::string& record, const FileColumns& file, RestoredItems* items) {
  size_t offset = 0;
  const uint64_t* count;
  if (!TakeRaw(record, &offset, 1, &count)) return false;
  items->count = static_cast<int64_t>(*count);
  const double* priorities = nullptr;
  if (!TakeRaw(record, &offset, *count, &items->keys) || !TakeRaw(record, &offset, *count, &items->times_sampled) ||
      (file.meta.has_priorities && !TakeRaw(record, &offset, *count, &priorities))) {
    return false;
  }
  items->priorities = priorities;
  if (file.compressed) items->codecs = file.codecs;
  if (file.plane_bytes > 0) items->plane_ids.assign(file.item_bytes.size(), nullptr);
  for (size_t c = 0; c < file.item_bytes.size(); ++c) {
    const char* column;
    if (file.column_planes[c] > 0) {
      const uint32_t* ids;
      if (!TakeRaw(record, &offset, *count * static_cast<uint64_t>(file.column_planes[c]), &ids)) return false;
      items->plane_ids[c] = ids;
      items->columns.push_back(nullptr);
      if (file.compressed) items->sizes.push_back(nullptr);
      continue;
    }
    if (file.compressed && ColumnCodec(file.codecs[c], 0).compresses()) {
      const uint32_t* sizes;
      if (!TakeRaw(record, &offset, *count, &sizes)) return false;
      uint64_t total = 0;
      for (uint64_t i = 0; i < *count; ++i) total += sizes[i];
      if (!TakeRaw(record, &offset, total, &column)) return false;
      items->sizes.push_back(sizes);
      items->columns.push_back(column);
      continue;
    }
    if (!TakeRaw(record, &offset, *count * static_cast<size_t>(file.item_bytes[c]), &column)) return false;
    if (file.compressed) items->sizes.push_back(nullptr);
    items->columns.push_back(column);
  }
  return true;
}

}  // namespace

absl::Status WriteTableFile(const std::string& path, const v1::TableConfig& config, const TableSnapshot& snapshot) {
  ASSIGN_OR_RETURN(RecordWriter writer, RecordWriter::Create(path));
  std::string header = kTableMagic;
  config.AppendToString(&header);
  RETURN_IF_ERROR(writer.Write(header));

  const bool has_priorities = !snapshot.priorities.empty();
  TableMeta meta{snapshot.size(),  snapshot.default_priority, snapshot.inserts,
                 snapshot.samples, snapshot.deletes,          has_priorities ? 1 : 0,
                 static_cast<int32_t>(snapshot.column_item_bytes.size())};
  std::string record;
  AppendRaw(&record, &meta, 1);
  AppendRaw(&record, snapshot.column_item_bytes.data(), snapshot.column_item_bytes.size());
  RETURN_IF_ERROR(writer.Write(record));

  const int64_t plane_bytes = SharedPlaneBytes(config);
  if (plane_bytes > 0) RETURN_IF_ERROR(WritePlanes(snapshot, plane_bytes, writer));

  // A compressed column's rows vary in size: its mean row stands for them.
  int64_t row_bytes = 16;
  for (size_t c = 0; c < snapshot.column_item_bytes.size(); ++c) {
    if (!snapshot.row_planes.empty() && !snapshot.row_planes[c].empty()) {
      row_bytes += static_cast<int64_t>(snapshot.row_planes[c].size() / static_cast<size_t>(snapshot.num_rows)) * 4;
    } else if (snapshot.columns[c] != nullptr) {
      row_bytes += snapshot.column_item_bytes[c];
    } else if (snapshot.num_rows > 0) {
      row_bytes += static_cast<int64_t>(snapshot.stored[c].size()) / snapshot.num_rows + 4;
    }
  }
  const int64_t per_chunk = std::max<int64_t>(1, kChunkBytes / row_bytes);
  const int64_t n = snapshot.size();
  for (int64_t begin = 0; begin < n; begin += per_chunk) {
    const int64_t count = std::min(per_chunk, n - begin);
    record.clear();
    record.reserve(static_cast<size_t>(count * row_bytes + 8));
    const uint64_t count64 = static_cast<uint64_t>(count);
    AppendRaw(&record, &count64, 1);
    for (int64_t i = 0; i < count; ++i) AppendRaw(&record, &snapshot.keys[snapshot.order[begin + i]], 1);
    for (int64_t i = 0; i < count; ++i) AppendRaw(&record, &snapshot.times_sampled[snapshot.order[begin + i]], 1);
    if (has_priorities) {
      for (int64_t i = 0; i < count; ++i) AppendRaw(&record, &snapshot.priorities[snapshot.order[begin + i]], 1);
    }
    for (size_t c = 0; c < snapshot.columns.size(); ++c) {
      if (plane_bytes > 0 && SharesPlanes(config, config.signature().columns(static_cast<int>(c)).name())) {
        // Shared planes: each row's plane ids.
        const int64_t planes = snapshot.column_item_bytes[c] / plane_bytes;
        for (int64_t i = 0; i < count; ++i) {
          AppendRaw(&record, snapshot.row_planes[c].data() + snapshot.order[begin + i] * planes,
                    static_cast<size_t>(planes));
        }
        continue;
      }
      if (snapshot.columns[c] == nullptr) {
        // Compressed (the header's config says so): each row's size, then
        // the rows' frames back to back.
        const std::vector<uint64_t>& offsets = snapshot.stored_offsets[c];
        for (int64_t i = 0; i < count; ++i) {
          const size_t row = static_cast<size_t>(snapshot.order[begin + i]);
          const uint32_t size = static_cast<uint32_t>(offsets[row + 1] - offsets[row]);
          AppendRaw(&record, &size, 1);
        }
        for (int64_t i = 0; i < count; ++i) {
          const size_t row = static_cast<size_t>(snapshot.order[begin + i]);
          record.append(snapshot.stored[c].data() + offsets[row], offsets[row + 1] - offsets[row]);
        }
        continue;
      }
      const int64_t bytes = snapshot.column_item_bytes[c];
      for (int64_t i = 0; i < count; ++i) {
        record.append(snapshot.columns[c].get() + snapshot.order[begin + i] * bytes, static_cast<size_t>(bytes));
      }
    }
    RETURN_IF_ERROR(writer.Write(record));
  }
  record = kEndMagic;
  const uint64_t total = static_cast<uint64_t>(n);
  AppendRaw(&record, &total, 1);
  RETURN_IF_ERROR(writer.Write(record));
  return writer.SyncAndClose();
}

absl::StatusOr<v1::TableConfig> ReadTableHeader(RecordReader& reader, const std::string& path) {
  std::string record;
  RETURN_IF_ERROR(reader.Next(&record));
  v1::TableConfig config;
  const size_t magic = std::strlen(kTableMagic);
  if (record.compare(0, magic, kTableMagic) != 0 || !config.ParseFromArray(record.data() + magic,
                                                                          static_cast<int>(record.size() - magic))) {
    return absl::DataLossError(absl::StrCat("'", path, "' is not a Rill table checkpoint (bad header)"));
  }
  UpgradeLegacyTableConfig(&config);
  return config;
}

absl::Status RestoreTableFile(RecordReader& reader, const std::string& path, const v1::TableConfig& checkpointed,
                              Table* table) {
  const std::function<absl::Status(const std::string&)> corrupt = [&](const std::string& why) {
    return absl::DataLossError(absl::StrCat("'", path, "': ", why));
  };
  ASSIGN_OR_RETURN(FileColumns file, ReadCounters(reader, checkpointed, corrupt));
  const TableMeta& m = file.meta;
  // Shared planes: read before the items, held by the table until the last
  // item is restored (or the restore fails).
  absl::Cleanup end_plane_restore = [&] {
    if (file.plane_bytes > 0) table->EndPlaneRestore();
  };
  if (file.plane_bytes > 0) RETURN_IF_ERROR(RestorePlanes(reader, file.plane_bytes, table, corrupt));
  std::string record;
  int64_t restored = 0;
  while (true) {
    RETURN_IF_ERROR(reader.Next(&record));
    if (record.compare(0, std::strlen(kEndMagic), kEndMagic) == 0) {
      size_t offset = std::strlen(kEndMagic);
      const uint64_t* total;
      if (!TakeRaw(record, &offset, 1, &total) || static_cast<int64_t>(*total) != restored ||
          restored != m.num_items) {
        return corrupt(absl::StrCat("item count mismatch (", restored, " read, ", m.num_items, " expected)"));
      }
      break;
    }
    RestoredItems items;
    if (!ParseChunk(record, file, &items)) return corrupt("short chunk");
    absl::Status st = table->RestoreItems(items);
    if (absl::IsDataLoss(st)) return corrupt(std::string(st.message()));
    RETURN_IF_ERROR(st);
    restored += items.count;
  }
  return table->RestoreCounters(m.default_priority, m.inserts, m.samples, m.deletes);
}

}  // namespace rill::replay
