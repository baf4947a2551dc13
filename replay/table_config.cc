#include "replay/table_config.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/os.h"
#include "common/tensor_codec.h"
#include "replay/column_codec.h"
#include "replay/plane_pool.h"
#include "replay/rate_limiter.h"
#include "replay/selectors/interface.h"
#include "replay/selectors/registry.h"

namespace rill::replay {
namespace {

// The exponent fields of a prioritized table and their ranges.
std::optional<FieldIssue> ExponentIssue(bool has, double value, double max, const char* field) {
  if (has && !(value >= 0 && value <= max)) {
    return FieldIssue{field, absl::StrCat(value, " must be in [0, ", max, "]")};
  }
  return std::nullopt;
}

// Bytes of one item; 0 for a signature that does not say (checked first).
int64_t ItemBytesOf(const v1::TableConfig& config) {
  int64_t bytes = 0;
  for (const v1::ColumnSpec& column : config.signature().columns()) {
    absl::StatusOr<int64_t> column_bytes = ItemBytes(column);
    if (column_bytes.ok()) bytes += *column_bytes;
  }
  return bytes;
}

// Whether some column is stored in a form whose size varies by item:
// compressed, or in shared planes.
bool Compresses(const v1::TableConfig& config) {
  for (const v1::TableConfig::ColumnCompression& compression : config.compression()) {
    if (compression.codec() != v1::TableConfig::ColumnCompression::NONE || compression.share_planes()) return true;
  }
  return false;
}

// Bytes of one item's columns stored as is (all of them without compression).
int64_t PlainItemBytesOf(const v1::TableConfig& config) {
  int64_t bytes = 0;
  for (const v1::ColumnSpec& column : config.signature().columns()) {
    absl::StatusOr<int64_t> column_bytes = ItemBytes(column);
    if (column_bytes.ok() && !ColumnCodec::ForColumn(config, column.name()).compresses() &&
        !SharesPlanes(config, column.name())) {
      bytes += *column_bytes;
    }
  }
  return bytes;
}

// The compression entry of `column`, or null.
const v1::TableConfig::ColumnCompression* EntryOf(const v1::TableConfig& config, const std::string& column) {
  for (const v1::TableConfig::ColumnCompression& entry : config.compression()) {
    if (entry.column() == column) return &entry;
  }
  return nullptr;
}

// Bytes of one plane of `spec`'s items as `entry` (share_planes) divides
// them: plane_size elements, or the last two dimensions; 0 when they do not
// divide the items (the rules below refuse that).
int64_t PlaneBytesOf(const v1::ColumnSpec& spec, const v1::TableConfig::ColumnCompression& entry) {
  absl::StatusOr<int64_t> bytes = ItemBytes(spec);
  int64_t elements = 1;
  for (int64_t d : spec.shape()) elements *= d;
  if (!bytes.ok() || elements <= 0) return 0;
  const int64_t element_bytes = *bytes / elements;
  int64_t plane = entry.plane_size();
  if (plane == 0) {
    if (spec.shape_size() < 3) return 0;
    plane = spec.shape(spec.shape_size() - 1) * spec.shape(spec.shape_size() - 2);
  }
  if (plane <= 0 || elements % plane != 0) return 0;
  return plane * element_bytes;
}

// Planes of one item of the table's share_planes columns, all together.
int64_t SharedPlanesPerItem(const v1::TableConfig& config) {
  int64_t planes = 0;
  for (const v1::ColumnSpec& column : config.signature().columns()) {
    const v1::TableConfig::ColumnCompression* entry = EntryOf(config, column.name());
    if (entry == nullptr || !entry->share_planes()) continue;
    const int64_t plane_bytes = PlaneBytesOf(column, *entry);
    absl::StatusOr<int64_t> bytes = ItemBytes(column);
    if (plane_bytes > 0 && bytes.ok()) planes += *bytes / plane_bytes;
  }
  return planes;
}

// max_size, lowered to what max_bytes allows (items have a fixed size, so a
// byte budget is an item budget). With a compressed column, items vary in
// size: max_bytes bounds the bytes held instead, and max_size the items.
int64_t CapacityOf(const v1::TableConfig& config, int64_t item_bytes) {
  if (Compresses(config)) return config.max_size();
  if (config.max_bytes() > 0 && item_bytes > 0) return std::min(config.max_size(), config.max_bytes() / item_bytes);
  return config.max_size();
}

// Most bytes one compressed item may hold: its frame's size is kept in 32 bits.
constexpr int64_t kMaxCompressedItemBytes = int64_t{1} << 30;

// The rules of `compression`, for a valid signature.
std::optional<FieldIssue> CompressionIssue(const v1::TableConfig& config) {
  using Compression = v1::TableConfig::ColumnCompression;
  for (int i = 0; i < config.compression_size(); ++i) {
    const Compression& entry = config.compression(i);
    const std::string field = absl::StrCat("compression[", i, "]");
    if (entry.column().empty()) {
      return FieldIssue{field + ".column", "is required: the name of a column of the signature"};
    }
    const v1::ColumnSpec* spec = nullptr;
    std::string names;
    for (const v1::ColumnSpec& column : config.signature().columns()) {
      if (column.name() == entry.column()) spec = &column;
      absl::StrAppend(&names, names.empty() ? "" : ", ", column.name());
    }
    if (spec == nullptr) {
      return FieldIssue{field + ".column",
                        absl::StrCat("'", entry.column(), "' is not a column of the signature (", names, ")")};
    }
    for (int j = 0; j < i; ++j) {
      if (config.compression(j).column() == entry.column()) {
        return FieldIssue{field + ".column",
                          absl::StrCat("'", entry.column(), "' is listed twice (also in compression[", j, "])")};
      }
    }
    if (!Compression::Codec_IsValid(entry.codec())) {
      return FieldIssue{field + ".codec", absl::StrCat(static_cast<int>(entry.codec()),
                                                       " is not a known codec (NONE, ZSTD)")};
    }
    if (entry.plane_size() != 0 && !entry.share_planes()) {
      return FieldIssue{field + ".plane_size", "is only for share_planes: set share_planes: true, or drop it"};
    }
    if (entry.share_planes()) {
      if (entry.codec() != Compression::NONE) {
        return FieldIssue{field + ".codec", absl::StrCat(Compression::Codec_Name(entry.codec()),
                                                         " with share_planes, which stores each distinct plane as "
                                                         "it is: use one or the other")};
      }
      int64_t elements = 1;
      for (int64_t d : spec->shape()) elements *= d;
      const std::string shape = absl::StrCat("[", absl::StrJoin(spec->shape(), ", "), "]");
      if (entry.plane_size() < 0 || (entry.plane_size() > 0 && elements % entry.plane_size() != 0)) {
        return FieldIssue{field + ".plane_size",
                          absl::StrCat(entry.plane_size(), " does not divide column '", entry.column(),
                                       "''s items of shape ", shape, " (", elements, " elements) into planes")};
      }
      if (entry.plane_size() == 0 && spec->shape_size() < 3) {
        return FieldIssue{field + ".share_planes",
                          absl::StrCat("needs items of rank >= 3 ([..., C, H, W]: planes are the last two "
                                       "dimensions) or a plane_size; column '", entry.column(),
                                       "' has items of shape ", shape)};
      }
      for (int j = 0; j < i; ++j) {
        const Compression& other = config.compression(j);
        if (!other.share_planes()) continue;
        for (const v1::ColumnSpec& column : config.signature().columns()) {
          if (column.name() != other.column() || PlaneBytesOf(column, other) == PlaneBytesOf(*spec, entry)) continue;
          return FieldIssue{field + ".share_planes",
                            absl::StrCat("column '", entry.column(), "' has planes of ", PlaneBytesOf(*spec, entry),
                                         " bytes but '", other.column(), "' (compression[", j, "]) of ",
                                         PlaneBytesOf(column, other),
                                         ": columns that share planes need one plane size")};
        }
      }
    }
    if (entry.codec() == Compression::NONE) {
      if (entry.level() != 0) {
        return FieldIssue{field + ".level", absl::StrCat(entry.level(), " with codec NONE, which stores the column "
                                                         "as is: set codec: ZSTD, or drop the level")};
      }
      continue;
    }
    const int level = entry.level();
    if (level != 0 && (level < MinZstdLevel() || level > MaxZstdLevel())) {
      return FieldIssue{field + ".level",
                        absl::StrCat(level, " is out of range: zstd takes 1..", MaxZstdLevel(), ", or a fast level ",
                                     MinZstdLevel(), "..-1 (0: the default, ", kDefaultZstdLevel, ")")};
    }
    absl::StatusOr<int64_t> bytes = ItemBytes(*spec);
    if (bytes.ok() && *bytes > kMaxCompressedItemBytes) {
      return FieldIssue{field + ".column", absl::StrCat("'", entry.column(), "' has items of ",
                                                        HumanBytes(static_cast<double>(*bytes)), ", over the ",
                                                        HumanBytes(static_cast<double>(kMaxCompressedItemBytes)),
                                                        " a compressed item may hold")};
    }
  }
  return std::nullopt;
}

}  // namespace

std::string SelectorName(const v1::TableConfig& config) { return SelectorRowOf(config).name; }

std::optional<FieldIssue> FindTableConfigIssue(const v1::TableConfig& config) {
  if (config.name().empty()) return FieldIssue{"name", "is required"};
  if (absl::Status signature = CheckSignature(config.signature()); !signature.ok()) {
    return FieldIssue{"signature", std::string(signature.message())};
  }
  if (std::optional<FieldIssue> compression = CompressionIssue(config)) return compression;
  const std::string selector = SelectorName(config);
  if (config.remover().has_lowest_priority() && !config.selector().has_prioritized()) {
    return FieldIssue{"remover", absl::StrCat("lowest_priority needs selector { prioritized {} } (got ", selector,
                                              "): only it keeps priorities")};
  }
  if (config.max_times_sampled() < 0) {
    return FieldIssue{"max_times_sampled", absl::StrCat(config.max_times_sampled(), " must be >= 0")};
  }
  const bool fifo = config.selector().has_fifo();
  if (fifo && config.max_times_sampled() > 1) {
    return FieldIssue{"max_times_sampled",
                      absl::StrCat(config.max_times_sampled(),
                                   " with selector fifo: a queue hands out each item once (use 0 or 1)")};
  }
  const v1::SelectorConfig::Prioritized& prioritized = config.selector().prioritized();
  if (auto issue = ExponentIssue(prioritized.has_priority_exponent(), prioritized.priority_exponent(), 1e6,
                                 "selector.prioritized.priority_exponent")) {
    return issue;
  }
  if (auto issue = ExponentIssue(prioritized.has_importance_sampling_exponent(),
                                 prioritized.importance_sampling_exponent(), 1.0,
                                 "selector.prioritized.importance_sampling_exponent")) {
    return issue;
  }
  const int32_t max_times_sampled = fifo ? 1 : config.max_times_sampled();
  const double samples_per_insert = config.rate_limiter().samples_per_insert();
  if (max_times_sampled > 0 && samples_per_insert > max_times_sampled) {
    // Each item leaves after max_times_sampled draws, so the run can never
    // reach the ratio: inserts end up waiting for samples of an empty table.
    return FieldIssue{"rate_limiter.samples_per_insert",
                      absl::StrCat(samples_per_insert, " exceeds max_times_sampled ", max_times_sampled,
                                   fifo ? " (a fifo queue hands out each item once)" : "",
                                   ": items leave before they can be sampled that often, so inserts and samples "
                                   "would deadlock")};
  }
  if (config.max_size() <= 0) return FieldIssue{"max_size", absl::StrCat(config.max_size(), " must be > 0")};
  if (config.max_bytes() < 0) return FieldIssue{"max_bytes", absl::StrCat(config.max_bytes(), " must be >= 0")};
  if (std::optional<FieldIssue> limiter = RateLimiter::FindConfigIssue(config.rate_limiter())) {
    return FieldIssue{absl::StrCat("rate_limiter.", limiter->field), limiter->why};
  }
  const int64_t item_bytes = ItemBytesOf(config);
  const int64_t capacity = CapacityOf(config, item_bytes);
  const bool compresses = Compresses(config);
  if (capacity == 0) {
    return FieldIssue{"max_bytes",
                      absl::StrCat(config.max_bytes(), " is smaller than one item (", item_bytes, " bytes)")};
  }
  const int64_t plain_item_bytes = PlainItemBytesOf(config);
  if (compresses && config.max_bytes() > 0 && config.max_bytes() < plain_item_bytes) {
    return FieldIssue{"max_bytes", absl::StrCat(config.max_bytes(), " is smaller than one item's uncompressed ",
                                                "columns (", plain_item_bytes, " bytes)")};
  }
  if (capacity > kMaxSlots) {
    return FieldIssue{"max_size", absl::StrCat(capacity, " exceeds the most items a table holds, ", kMaxSlots)};
  }
  if (static_cast<double>(capacity) * static_cast<double>(SharedPlanesPerItem(config)) >
      static_cast<double>(PlanePool::kMaxPlanes)) {
    return FieldIssue{"max_size", absl::StrCat(capacity, " items of ", SharedPlanesPerItem(config),
                                               " shared planes each could hold more distinct planes than a table "
                                               "numbers (", PlanePool::kMaxPlanes, ")")};
  }
  // The storage is allocated whole when the shard starts: a table this
  // machine cannot hold would fail then, or take the machine's memory page
  // by page as it fills. Compressed columns count at their size as is (data
  // that does not compress), or at max_bytes when it bounds them.
  double storage_bytes = static_cast<double>(capacity) * static_cast<double>(item_bytes);
  if (compresses) {
    double frame_bytes = static_cast<double>(capacity) * static_cast<double>(item_bytes - plain_item_bytes);
    if (config.max_bytes() > 0) frame_bytes = std::min(frame_bytes, static_cast<double>(config.max_bytes()));
    storage_bytes = static_cast<double>(capacity) * static_cast<double>(plain_item_bytes) + frame_bytes;
  }
  const int64_t memory_bytes = PhysicalMemoryBytes();
  if (storage_bytes > static_cast<double>(memory_bytes)) {
    const bool bytes_bound = config.max_bytes() > 0 && (compresses || capacity < config.max_size());
    return FieldIssue{bytes_bound ? "max_bytes" : "max_size",
                      absl::StrCat(capacity, " items of ", item_bytes, " bytes need ",
                                   compresses ? "up to " : "", HumanBytes(storage_bytes),
                                   ", more than this machine's ", HumanBytes(static_cast<double>(memory_bytes)),
                                   " of memory (lower max_size, or bound the table with max_bytes",
                                   compresses ? ", which bounds the compressed bytes" : "", ")")};
  }
  if (config.rate_limiter().min_size_to_sample() > capacity) {
    return FieldIssue{"rate_limiter.min_size_to_sample",
                      absl::StrCat(config.rate_limiter().min_size_to_sample(), " exceeds the table's capacity ",
                                   capacity, ": sampling could never start")};
  }
  return std::nullopt;
}

int64_t SampleBatchBytes(const v1::TableConfig& config, int64_t batch_size) {
  // As the shard's Sample handler estimates it (replay/server/replay_service.cc):
  // the payload, a varint key and a double probability per item, and
  // per-column headers.
  return batch_size * (ItemBytesOf(config) + 10 + 8) + 64 * config.signature().columns_size() + 1024;
}

std::optional<FieldIssue> FindSampleBatchIssue(const v1::TableConfig& config, int64_t batch_size,
                                               int64_t max_message_bytes) {
  if (batch_size < 1 || batch_size > kMaxSampleBatchItems) {
    return FieldIssue{"", absl::StrCat(batch_size, " is out of range: one sample holds 1..", kMaxSampleBatchItems,
                                       " items")};
  }
  const int64_t item_bytes = ItemBytesOf(config);
  const double payload_bytes = static_cast<double>(batch_size) * static_cast<double>(item_bytes);
  if (payload_bytes > static_cast<double>(kMaxSampleBatchBytes)) {
    return FieldIssue{"", absl::StrCat(batch_size, " items of ", item_bytes, " bytes of table '", config.name(),
                                       "' are ", HumanBytes(payload_bytes), ", over the ",
                                       HumanBytes(static_cast<double>(kMaxSampleBatchBytes)), " one sample may hold")};
  }
  if (SampleBatchBytes(config, batch_size) > max_message_bytes) {
    return FieldIssue{"", absl::StrCat("a batch of ", batch_size, " items of table '", config.name(), "' needs about ",
                                       SampleBatchBytes(config, batch_size),
                                       " bytes, over replay.max_message_bytes ", max_message_bytes)};
  }
  if (config.selector().has_fifo() && batch_size > TableCapacity(config)) {
    return FieldIssue{"", absl::StrCat(batch_size, " exceeds the capacity ", TableCapacity(config), " of table '",
                                       config.name(), "', a fifo queue that hands out whole batches: no batch could "
                                       "ever be sampled")};
  }
  return std::nullopt;
}

absl::Status CheckTableConfig(const v1::TableConfig& config) {
  if (std::optional<FieldIssue> issue = FindTableConfigIssue(config)) {
    return absl::InvalidArgumentError(absl::StrCat("table '", config.name(), "': ", issue->field, " ", issue->why));
  }
  return absl::OkStatus();
}

int64_t TableCapacity(const v1::TableConfig& config) { return CapacityOf(config, ItemBytesOf(config)); }

bool SharesPlanes(const v1::TableConfig& config, const std::string& column) {
  const v1::TableConfig::ColumnCompression* entry = EntryOf(config, column);
  return entry != nullptr && entry->share_planes();
}

int64_t SharedPlaneBytes(const v1::TableConfig& config) {
  for (const v1::ColumnSpec& column : config.signature().columns()) {
    const v1::TableConfig::ColumnCompression* entry = EntryOf(config, column.name());
    if (entry != nullptr && entry->share_planes()) return PlaneBytesOf(column, *entry);
  }
  return 0;
}

std::string PolicyTableName(const std::string& table, const std::string& policy) {
  return policy.empty() ? table : absl::StrCat(table, ".", policy);
}

}  // namespace rill::replay
