#include "replay/durability/checkpoint.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>

#include "absl/base/casts.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"
#include "replay/durability/record_file.h"
#include "replay/table_config.h"

namespace rill::replay {
namespace {

namespace fs = std::filesystem;

constexpr char kManifestName[] = "COMPLETE";
constexpr char kManifestMagic[] = "rill-replay-checkpoint 1";
constexpr char kCheckpointPrefix[] = "ckpt-";
constexpr char kTempPrefix[] = ".tmp-ckpt-";
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

std::string CheckpointName(int64_t sequence) {
  char name[32];
  std::snprintf(name, sizeof(name), "%s%010lld", kCheckpointPrefix, static_cast<long long>(sequence));
  return name;
}

std::string TableFileName(int index) { return absl::StrCat("table-", index, ".rtbl"); }

// The sequence number of a folder named PREFIX<digits>, or -1.
int64_t SequenceOf(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0) return -1;
  int64_t sequence;
  if (!absl::SimpleAtoi(name.substr(prefix.size()), &sequence) || sequence < 0) return -1;
  return sequence;
}

struct Listing {
  std::map<int64_t, std::string> checkpoints;  // sequence -> path, complete or not
  std::vector<std::string> temporaries;
};

absl::StatusOr<Listing> ListDir(const std::string& dir) {
  Listing listing;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (SequenceOf(name, kCheckpointPrefix) >= 0) {
      listing.checkpoints[SequenceOf(name, kCheckpointPrefix)] = entry.path().string();
    } else if (name.rfind(kTempPrefix, 0) == 0) {
      listing.temporaries.push_back(entry.path().string());
    }
  }
  if (error) return absl::InternalError(absl::StrCat("cannot list '", dir, "': ", error.message()));
  return listing;
}

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

struct Manifest {
  CheckpointSummary summary;
  std::vector<std::string> table_names;  // index i: table-<i>.rtbl
};

std::string EncodeManifest(const CheckpointSummary& s, const std::vector<std::string>& table_names) {
  std::string text = absl::StrCat(kManifestMagic, "\n");
  absl::StrAppend(&text, "sequence ", s.sequence, "\n");
  absl::StrAppend(&text, "completed_unix_micros ", absl::ToUnixMicros(s.completed), "\n");
  absl::StrAppend(&text, "wal_segment ", s.wal_segment, "\n");
  absl::StrAppend(&text, "items ", s.items, "\n");
  absl::StrAppend(&text, "bytes ", s.bytes, "\n");
  absl::StrAppend(&text, "duration_micros ", absl::ToInt64Microseconds(s.duration), "\n");
  absl::StrAppend(&text, "pause_micros ", absl::ToInt64Microseconds(s.pause), "\n");
  absl::StrAppend(&text, "tables ", table_names.size(), "\n");
  // Names next, one per line (a name is any text without a newline).
  for (const std::string& name : table_names) absl::StrAppend(&text, name, "\n");
  // Fields added since, after the names, where the reader of format 1 does
  // not look.
  if (s.wal_position.has_value()) {
    absl::StrAppend(&text, "wal_sequence ", s.wal_position->sequence, "\n");
    absl::StrAppend(&text, "wal_item ", s.wal_position->item, "\n");
  }
  return text;
}

absl::StatusOr<Manifest> ReadManifest(const std::string& folder) {
  const std::string path = folder + "/" + kManifestName;
  ASSIGN_OR_RETURN(RecordReader reader, RecordReader::Open(path));
  std::string text;
  RETURN_IF_ERROR(reader.Next(&text));
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  auto bad = [&](const std::string& why) {
    return absl::DataLossError(absl::StrCat("'", path, "' is not a valid checkpoint manifest: ", why));
  };
  if (lines.size() < 10 || lines[0] != kManifestMagic) return bad("wrong header");
  Manifest manifest;
  manifest.summary.path = folder;
  std::map<std::string, int64_t> fields;
  for (int i = 1; i <= 8; ++i) {
    std::vector<std::string> kv = absl::StrSplit(lines[i], absl::MaxSplits(' ', 1));
    int64_t value;
    if (kv.size() != 2 || !absl::SimpleAtoi(kv[1], &value)) return bad(absl::StrCat("line ", i + 1));
    fields[kv[0]] = value;
  }
  for (const char* key : {"sequence", "completed_unix_micros", "wal_segment", "items", "bytes", "duration_micros",
                          "pause_micros", "tables"}) {
    if (!fields.count(key)) return bad(absl::StrCat("no ", key));
  }
  manifest.summary.sequence = fields["sequence"];
  manifest.summary.completed = absl::FromUnixMicros(fields["completed_unix_micros"]);
  manifest.summary.wal_segment = static_cast<uint64_t>(fields["wal_segment"]);
  manifest.summary.items = fields["items"];
  manifest.summary.bytes = fields["bytes"];
  manifest.summary.duration = absl::Microseconds(fields["duration_micros"]);
  manifest.summary.pause = absl::Microseconds(fields["pause_micros"]);
  const int64_t num_tables = fields["tables"];
  if (num_tables < 0 || static_cast<int64_t>(lines.size()) < 9 + num_tables) return bad("table list cut short");
  for (int64_t i = 0; i < num_tables; ++i) manifest.table_names.push_back(lines[9 + i]);
  std::map<std::string, uint64_t> extra;
  for (size_t i = static_cast<size_t>(9 + num_tables); i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    std::vector<std::string> kv = absl::StrSplit(lines[i], absl::MaxSplits(' ', 1));
    uint64_t value;
    if (kv.size() != 2 || !absl::SimpleAtoi(kv[1], &value)) return bad(absl::StrCat("line ", i + 1));
    extra[kv[0]] = value;
  }
  if (extra.count("wal_sequence") && extra.count("wal_item")) {
    manifest.summary.wal_position = WalPosition{extra["wal_sequence"], extra["wal_item"]};
  }
  return manifest;
}

// Writes one table's file from its snapshot.
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
  if (plane_bytes > 0) {
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
  }

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

// The TableConfig in a table file's header record.
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

// Reads the rest of a table file (after its header, whose config is
// `checkpointed`) into `table`.
absl::Status RestoreTableFile(RecordReader& reader, const std::string& path, const v1::TableConfig& checkpointed,
                              Table* table) {
  auto corrupt = [&](const std::string& why) {
    return absl::DataLossError(absl::StrCat("'", path, "': ", why));
  };
  std::string record;
  RETURN_IF_ERROR(reader.Next(&record));
  size_t offset = 0;
  const TableMeta* meta;
  if (!TakeRaw(record, &offset, 1, &meta)) return corrupt("short counters record");
  const int64_t* column_bytes;
  if (meta->num_columns < 0 || !TakeRaw(record, &offset, meta->num_columns, &column_bytes)) {
    return corrupt("short column list");
  }
  const TableMeta m = *meta;
  const std::vector<int64_t> item_bytes(column_bytes, column_bytes + m.num_columns);
  // How the checkpoint stored each column: its own config's compression
  // (none in the files of the releases before it).
  std::vector<Codec> codecs;
  bool compressed = false;
  for (const v1::ColumnSpec& spec : checkpointed.signature().columns()) {
    codecs.push_back(ColumnCodec::ForColumn(checkpointed, spec.name()).codec());
    compressed |= ColumnCodec(codecs.back(), 0).compresses();
  }
  if (compressed && static_cast<int>(codecs.size()) != m.num_columns) {
    return corrupt(absl::StrCat(m.num_columns, " columns, but its config's signature has ", codecs.size()));
  }
  // Shared planes: read before the items, held by the table until the last
  // item is restored (or the restore fails).
  const int64_t plane_bytes = SharedPlaneBytes(checkpointed);
  std::vector<int64_t> column_planes(static_cast<size_t>(m.num_columns), 0);
  if (plane_bytes > 0) {
    if (checkpointed.signature().columns_size() != m.num_columns) {
      return corrupt(absl::StrCat(m.num_columns, " columns, but its config's signature has ",
                                  checkpointed.signature().columns_size()));
    }
    for (int c = 0; c < m.num_columns; ++c) {
      if (SharesPlanes(checkpointed, checkpointed.signature().columns(c).name())) {
        column_planes[static_cast<size_t>(c)] = item_bytes[static_cast<size_t>(c)] / plane_bytes;
      }
    }
  }
  absl::Cleanup end_plane_restore = [&] {
    if (plane_bytes > 0) table->EndPlaneRestore();
  };
  int64_t planes_read = 0;
  while (plane_bytes > 0) {
    RETURN_IF_ERROR(reader.Next(&record));
    if (record.compare(0, std::strlen(kPlanesEndMagic), kPlanesEndMagic) == 0) {
      offset = std::strlen(kPlanesEndMagic);
      const uint64_t* total;
      if (!TakeRaw(record, &offset, 1, &total) || static_cast<int64_t>(*total) != planes_read) {
        return corrupt(absl::StrCat("plane count mismatch (", planes_read, " read)"));
      }
      break;
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
  int64_t restored = 0;
  while (true) {
    RETURN_IF_ERROR(reader.Next(&record));
    if (record.compare(0, std::strlen(kEndMagic), kEndMagic) == 0) {
      offset = std::strlen(kEndMagic);
      const uint64_t* total;
      if (!TakeRaw(record, &offset, 1, &total) || static_cast<int64_t>(*total) != restored ||
          restored != m.num_items) {
        return corrupt(absl::StrCat("item count mismatch (", restored, " read, ", m.num_items, " expected)"));
      }
      break;
    }
    offset = 0;
    const uint64_t* count;
    if (!TakeRaw(record, &offset, 1, &count)) return corrupt("short chunk");
    RestoredItems items;
    items.count = static_cast<int64_t>(*count);
    const double* priorities = nullptr;
    if (!TakeRaw(record, &offset, *count, &items.keys) || !TakeRaw(record, &offset, *count, &items.times_sampled) ||
        (m.has_priorities && !TakeRaw(record, &offset, *count, &priorities))) {
      return corrupt("short chunk");
    }
    items.priorities = priorities;
    if (compressed) items.codecs = codecs;
    if (plane_bytes > 0) items.plane_ids.assign(item_bytes.size(), nullptr);
    for (size_t c = 0; c < item_bytes.size(); ++c) {
      const char* column;
      if (column_planes[c] > 0) {
        const uint32_t* ids;
        if (!TakeRaw(record, &offset, *count * static_cast<uint64_t>(column_planes[c]), &ids)) {
          return corrupt("short chunk");
        }
        items.plane_ids[c] = ids;
        items.columns.push_back(nullptr);
        if (compressed) items.sizes.push_back(nullptr);
        continue;
      }
      if (compressed && ColumnCodec(codecs[c], 0).compresses()) {
        const uint32_t* sizes;
        if (!TakeRaw(record, &offset, *count, &sizes)) return corrupt("short chunk");
        uint64_t total = 0;
        for (uint64_t i = 0; i < *count; ++i) total += sizes[i];
        if (!TakeRaw(record, &offset, total, &column)) return corrupt("short chunk");
        items.sizes.push_back(sizes);
        items.columns.push_back(column);
        continue;
      }
      if (!TakeRaw(record, &offset, *count * static_cast<size_t>(item_bytes[c]), &column)) {
        return corrupt("short chunk");
      }
      if (compressed) items.sizes.push_back(nullptr);
      items.columns.push_back(column);
    }
    absl::Status st = table->RestoreItems(items);
    if (absl::IsDataLoss(st)) return corrupt(std::string(st.message()));
    RETURN_IF_ERROR(st);
    restored += items.count;
  }
  return table->RestoreCounters(m.default_priority, m.inserts, m.samples, m.deletes);
}

}  // namespace

absl::Status CheckTableConfigMatches(const v1::TableConfig& checkpointed, const v1::TableConfig& configured) {
  google::protobuf::util::MessageDifferencer differencer;
  differencer.IgnoreField(v1::TableConfig::descriptor()->FindFieldByName("rate_limiter"));
  // How columns are stored is no layout: a restore converts (Table::RestoreItems).
  differencer.IgnoreField(v1::TableConfig::descriptor()->FindFieldByName("compression"));
  std::string differences;
  differencer.ReportDifferencesToString(&differences);
  if (differencer.Compare(checkpointed, configured)) return absl::OkStatus();
  std::replace(differences.begin(), differences.end(), '\n', ';');
  return absl::FailedPreconditionError(absl::StrCat(
      "table '", configured.name(), "': the checkpoint was written with a different table config (checkpoint -> "
      "config: ", differences, "); restore it with its own config or move the durability dir away"));
}

absl::StatusOr<std::unique_ptr<CheckpointStore>> CheckpointStore::Open(const std::string& dir, int keep_latest) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create durability dir '", dir, "': ", error.message()));
  ASSIGN_OR_RETURN(Listing listing, ListDir(dir));
  int64_t next = 1;
  if (!listing.checkpoints.empty()) next = listing.checkpoints.rbegin()->first + 1;
  for (const std::string& temporary : listing.temporaries) {
    next = std::max(next, SequenceOf(fs::path(temporary).filename().string(), kTempPrefix) + 1);
  }
  return std::unique_ptr<CheckpointStore>(new CheckpointStore(dir, std::max(1, keep_latest), next));
}

absl::StatusOr<CheckpointSummary> CheckpointStore::Write(const v1::ReplayConfig& config,
                                                         const std::vector<Table*>& tables, uint64_t wal_segment,
                                                         const std::optional<WalPosition>& wal_position) {
  if (static_cast<int>(tables.size()) != config.tables_size()) {
    return absl::InternalError("checkpoint: the tables do not match the config");
  }
  const absl::Time start = absl::Now();
  CheckpointSummary summary;
  summary.sequence = next_sequence_++;
  summary.wal_segment = wal_segment;
  summary.wal_position = wal_position;
  const std::string name = CheckpointName(summary.sequence);
  const std::string temporary = absl::StrCat(dir_, "/", kTempPrefix, name.substr(std::strlen(kCheckpointPrefix)));
  summary.path = absl::StrCat(dir_, "/", name);
  std::error_code error;
  fs::remove_all(temporary, error);
  fs::create_directories(temporary, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create '", temporary, "': ", error.message()));

  std::vector<std::string> names;
  for (size_t i = 0; i < tables.size(); ++i) {
    Table* table = tables[i];
    names.push_back(table->name());
    TableSnapshot snapshot = table->Snapshot();
    summary.pause = std::max(summary.pause, snapshot.pause);
    summary.items += snapshot.size();
    summary.bytes += snapshot.bytes;
    RETURN_IF_ERROR(WriteTableFile(absl::StrCat(temporary, "/", TableFileName(static_cast<int>(i))),
                                   config.tables(static_cast<int>(i)), snapshot));
  }
  // Whole microseconds, as the manifest keeps it.
  summary.completed = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
  summary.duration = summary.completed - start;
  ASSIGN_OR_RETURN(RecordWriter manifest, RecordWriter::Create(absl::StrCat(temporary, "/", kManifestName)));
  RETURN_IF_ERROR(manifest.Write(EncodeManifest(summary, names)));
  RETURN_IF_ERROR(manifest.SyncAndClose());
  RETURN_IF_ERROR(SyncDir(temporary));
  if (std::rename(temporary.c_str(), summary.path.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot rename '", temporary, "' to '", summary.path, "': ", std::strerror(errno)));
  }
  RETURN_IF_ERROR(SyncDir(dir_));
  summary.duration = absl::Now() - start;
  Prune();
  return summary;
}

void CheckpointStore::Prune() {
  absl::StatusOr<Listing> listing = ListDir(dir_);
  if (!listing.ok()) {
    RILL_LOG(WARNING) << "checkpoint pruning: " << listing.status();
    return;
  }
  std::error_code error;
  for (const std::string& temporary : listing->temporaries) fs::remove_all(temporary, error);
  int kept = 0;
  for (auto it = listing->checkpoints.rbegin(); it != listing->checkpoints.rend(); ++it) {
    const bool complete = ReadManifest(it->second).ok();
    if (complete && kept < keep_latest_) {
      ++kept;
      continue;
    }
    fs::remove_all(it->second, error);
  }
}

uint64_t CheckpointStore::OldestNeededWalSegment() const {
  absl::StatusOr<Listing> listing = ListDir(dir_);
  if (!listing.ok()) return 0;
  std::optional<uint64_t> oldest;
  for (const auto& [sequence, path] : listing->checkpoints) {
    absl::StatusOr<Manifest> manifest = ReadManifest(path);
    if (!manifest.ok()) continue;
    oldest = std::min(oldest.value_or(manifest->summary.wal_segment), manifest->summary.wal_segment);
  }
  return oldest.value_or(0);
}

absl::StatusOr<std::optional<CheckpointSummary>> CheckpointStore::RestoreLatest(
    const v1::ReplayConfig& config, std::vector<std::unique_ptr<Table>>* tables,
    std::vector<SkippedCheckpoint>* skipped) {
  ASSIGN_OR_RETURN(Listing listing, ListDir(dir_));
  for (const std::string& temporary : listing.temporaries) {
    RILL_LOG(WARNING) << "skipping half-written checkpoint '" << temporary << "' (no completion marker)";
  }
  for (auto it = listing.checkpoints.rbegin(); it != listing.checkpoints.rend(); ++it) {
    const std::string& folder = it->second;
    absl::StatusOr<Manifest> manifest = ReadManifest(folder);
    if (!manifest.ok()) {
      RILL_LOG(WARNING) << "skipping half-written checkpoint '" << folder << "': " << manifest.status().message();
      if (skipped != nullptr) {
        skipped->push_back(SkippedCheckpoint{folder, std::string(manifest.status().message()), std::nullopt});
      }
      continue;
    }
    // The same tables, by name.
    std::vector<std::string> configured;
    for (const v1::TableConfig& table : config.tables()) configured.push_back(table.name());
    std::vector<std::string> sorted_checkpoint = manifest->table_names, sorted_config = configured;
    std::sort(sorted_checkpoint.begin(), sorted_checkpoint.end());
    std::sort(sorted_config.begin(), sorted_config.end());
    if (sorted_checkpoint != sorted_config) {
      return absl::FailedPreconditionError(absl::StrCat(
          "checkpoint '", folder, "' holds tables [", absl::StrJoin(manifest->table_names, ", "),
          "] but the config has [", absl::StrJoin(configured, ", "),
          "]; restore it with its own config or move the durability dir away"));
    }
    // Open every file and check its config before restoring anything.
    struct OpenTableFile {
      RecordReader reader;
      int index;                      // in the config
      v1::TableConfig checkpointed;  // the file's own
    };
    std::vector<OpenTableFile> readers;
    absl::Status status;
    for (size_t i = 0; i < manifest->table_names.size() && status.ok(); ++i) {
      const std::string path = absl::StrCat(folder, "/", TableFileName(static_cast<int>(i)));
      absl::StatusOr<RecordReader> reader = RecordReader::Open(path);
      if (!reader.ok()) {
        status = reader.status();
        break;
      }
      absl::StatusOr<v1::TableConfig> checkpointed = ReadTableHeader(*reader, path);
      if (!checkpointed.ok()) {
        status = checkpointed.status();
        break;
      }
      const int index = static_cast<int>(
          std::find(configured.begin(), configured.end(), manifest->table_names[i]) - configured.begin());
      if (checkpointed->name() != manifest->table_names[i]) {
        status = absl::DataLossError(absl::StrCat("'", path, "' holds table '", checkpointed->name(),
                                                  "', not '", manifest->table_names[i], "'"));
        break;
      }
      RETURN_IF_ERROR(CheckTableConfigMatches(*checkpointed, config.tables(index)));
      readers.push_back(OpenTableFile{*std::move(reader), index, *std::move(checkpointed)});
    }
    for (size_t i = 0; i < readers.size() && status.ok(); ++i) {
      status = RestoreTableFile(readers[i].reader, absl::StrCat(folder, "/", TableFileName(static_cast<int>(i))),
                                readers[i].checkpointed, (*tables)[readers[i].index].get());
    }
    if (status.ok()) return std::optional<CheckpointSummary>(manifest->summary);
    RILL_LOG(WARNING) << "skipping corrupt checkpoint '" << folder << "': " << status.message();
    if (skipped != nullptr) {
      skipped->push_back(SkippedCheckpoint{folder, std::string(status.message()), manifest->summary.items});
    }
    ASSIGN_OR_RETURN(*tables, CreateTables(config));
  }
  return std::optional<CheckpointSummary>();
}

}  // namespace rill::replay
