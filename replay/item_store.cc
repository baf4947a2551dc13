#include "replay/item_store.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"
#include "replay/table_config.h"

namespace rill::replay {

absl::StatusOr<ItemLayout> ItemLayout::FromConfig(const v1::TableConfig& config) {
  ItemLayout layout;
  layout.table_ = config.name();
  layout.signature_ = config.signature();
  layout.plane_bytes_ = SharedPlaneBytes(config);
  for (const v1::ColumnSpec& spec : config.signature().columns()) {
    ASSIGN_OR_RETURN(int64_t bytes, ItemBytes(spec));
    Column& column = layout.columns_.emplace_back();
    column.spec = spec;
    column.item_bytes = bytes;
    column.codec = ColumnCodec::ForColumn(config, spec.name());
    if (SharesPlanes(config, spec.name())) column.planes = bytes / layout.plane_bytes_;
    layout.item_bytes_ += bytes;
    layout.column_item_bytes_.push_back(bytes);
    layout.codecs_.push_back(column.codec);
    layout.compresses_ = layout.compresses_ || column.codec.compresses();
    layout.shares_planes_ = layout.shares_planes_ || column.planes > 0;
    if (!column.codec.compresses() && column.planes == 0) layout.plain_item_bytes_ += bytes;
  }
  return layout;
}

absl::Status ItemLayout::InTable(const absl::Status& status) const {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat("table '", table_, "': ", status.message()));
}

absl::Status ItemLayout::Prepare(EncodedInsert* encoded) const {
  if (shares_planes_) {
    for (size_t c = 0; c < columns_.size(); ++c) {
      const int64_t planes = columns_[c].planes;
      if (planes == 0) continue;
      const char* data = encoded->request().columns(static_cast<int>(c)).data().data();
      std::vector<uint64_t> hashes(static_cast<size_t>(encoded->num_items() * planes));
      for (size_t p = 0; p < hashes.size(); ++p) hashes[p] = PlanePool::Hash(data + p * plane_bytes_, plane_bytes_);
      encoded->SetPlaneHashes(static_cast<int>(c), std::move(hashes));
    }
  }
  return Compress(encoded);
}

absl::Status ItemLayout::Compress(EncodedInsert* encoded) const {
  if (!compresses_) return absl::OkStatus();
  return InTable(encoded->Recode(signature_, codecs_, column_item_bytes_, /*verify=*/false));
}

int64_t ItemLayout::StoredItemBytes(const EncodedInsert& encoded, int index) const {
  int64_t stored_bytes = plain_item_bytes_;
  if (compresses_) {
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (!codecs_[c].compresses()) continue;
      stored_bytes += static_cast<int64_t>(encoded.item(static_cast<int>(c), index).size());
    }
  }
  return stored_bytes;
}

int64_t ItemLayout::StoredItemBytes(const RestoredColumns& stored, int64_t index) const {
  int64_t stored_bytes = plain_item_bytes_;
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (codecs_[c].compresses()) stored_bytes += static_cast<int64_t>(stored[c][static_cast<size_t>(index)].size());
  }
  return stored_bytes;
}

absl::Status ItemLayout::DecompressFrames(const DrawnFrames& frames, v1::SampleResponse* out) const {
  std::vector<char*> to;
  for (int c = 0; c < out->columns_size(); ++c) to.push_back(out->mutable_columns(c)->mutable_data()->data());
  for (const DrawnFrames::Frame& frame : frames.frames) {
    const int64_t bytes = column_item_bytes_[static_cast<size_t>(frame.column)];
    absl::Status st = codecs_[static_cast<size_t>(frame.column)].Decompress(
        std::string_view(frames.bytes.data() + frame.offset, frame.size),
        to[static_cast<size_t>(frame.column)] + frame.row * bytes, bytes);
    if (!st.ok()) {
      return absl::DataLossError(absl::StrCat("table '", table_, "': column '",
                                              signature_.columns(frame.column).name(), "' of the item with key ",
                                              frame.key, " does not decompress: ", st.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status ItemLayout::ConvertRestored(const RestoredItems& items, RestoredColumns* stored,
                                         std::vector<std::string>* converted) const {
  const size_t num_columns = columns_.size();
  stored->assign(num_columns, {});
  converted->assign(num_columns, std::string());
  std::string scratch;
  for (size_t c = 0; c < num_columns; ++c) {
    const ColumnCodec from(items.codecs.empty() ? v1::TableConfig::ColumnCompression::NONE : items.codecs[c], 0);
    const ColumnCodec& to = codecs_[c];
    const bool by_planes = !items.plane_ids.empty() && items.plane_ids[c] != nullptr;
    if ((!from.compresses() && !to.compresses()) || by_planes) continue;
    const int64_t bytes = column_item_bytes_[c];
    scratch.resize(static_cast<size_t>(bytes));
    std::vector<size_t> ends;  // in (*converted)[c], when it is filled
    size_t offset = 0;
    for (int64_t i = 0; i < items.count; ++i) {
      std::string_view given;
      if (from.compresses()) {
        given = std::string_view(items.columns[c] + offset, items.sizes[c][i]);
        offset += items.sizes[c][i];
        absl::Status st = from.Decompress(given, scratch.data(), bytes);
        if (!st.ok()) {
          return absl::DataLossError(absl::StrCat("table '", table_, "': column '", signature_.columns(c).name(),
                                                  "' of the restored item with key ", items.keys[i], ": ",
                                                  st.message()));
        }
      } else {
        given = std::string_view(items.columns[c] + i * bytes, static_cast<size_t>(bytes));
      }
      if (from.codec() == to.codec()) {
        (*stored)[c].push_back(given);
        continue;
      }
      const std::string_view raw = from.compresses() ? std::string_view(scratch) : given;
      RETURN_IF_ERROR(InTable(to.Compress(raw, &(*converted)[c])));
      ends.push_back((*converted)[c].size());
    }
    size_t begin = 0;
    for (size_t end : ends) {
      (*stored)[c].push_back(std::string_view((*converted)[c].data() + begin, end - begin));
      begin = end;
    }
  }
  return absl::OkStatus();
}

void ItemLayout::AllocateSnapshot(int64_t rows, const std::vector<int64_t>& frame_bytes,
                                  TableSnapshot* snapshot) const {
  const size_t num_columns = columns_.size();
  snapshot->columns.clear();
  snapshot->stored.assign(num_columns, std::string());
  snapshot->stored_offsets.assign(num_columns, std::vector<uint64_t>());
  snapshot->row_planes.assign(num_columns, std::vector<uint32_t>());
  for (size_t c = 0; c < num_columns; ++c) {
    if (columns_[c].planes > 0) {
      snapshot->columns.emplace_back();
      snapshot->row_planes[c].assign(static_cast<size_t>(rows * columns_[c].planes), 0);
      continue;
    }
    if (codecs_[c].compresses()) {
      snapshot->columns.emplace_back();
      snapshot->stored[c].resize(static_cast<size_t>(frame_bytes[c] + frame_bytes[c] / 16 + 4096));
      snapshot->stored_offsets[c].assign(static_cast<size_t>(rows + 1), 0);
      continue;
    }
    const size_t size = static_cast<size_t>(rows * column_item_bytes_[c]);
    snapshot->columns.emplace_back(new char[std::max<size_t>(size, 1)]);
    std::memset(snapshot->columns.back().get(), 0, size);
  }
}

void ItemLayout::AllocateSnapshotPlanes(int64_t num_planes, TableSnapshot* snapshot) const {
  snapshot->plane_bytes = plane_bytes_;
  snapshot->planes.resize(static_cast<size_t>((num_planes + num_planes / 16 + 64) * plane_bytes_));
}

void ItemLayout::TrimSnapshot(const std::vector<size_t>& frame_end, TableSnapshot* snapshot) const {
  snapshot->planes.resize(snapshot->plane_ids.size() * static_cast<size_t>(plane_bytes_));
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (!codecs_[c].compresses()) continue;
    snapshot->stored[c].resize(frame_end[c]);
    snapshot->stored_offsets[c].resize(static_cast<size_t>(snapshot->num_rows + 1));
  }
}

absl::StatusOr<std::unique_ptr<ItemStore>> ItemStore::Create(const v1::TableConfig& config, int64_t capacity) {
  ASSIGN_OR_RETURN(ItemLayout layout, ItemLayout::FromConfig(config));
  std::vector<Storage> columns(layout.num_columns());
  try {
    for (size_t c = 0; c < columns.size(); ++c) {
      const ItemLayout::Column& column = layout.column(c);
      if (column.codec.compresses()) {
        columns[c].items.resize(static_cast<size_t>(capacity));
        continue;
      }
      if (column.planes > 0) {
        // Default-initialized on purpose, as `data` below.
        columns[c].plane_ids.reset(new uint32_t[static_cast<size_t>(capacity * column.planes)]);
        continue;
      }
      // Default-initialized on purpose (see Storage::data).
      columns[c].data.reset(new char[static_cast<size_t>(capacity * column.item_bytes)]);
    }
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat("table '", config.name(), "': cannot allocate ",
                                                     capacity * layout.item_bytes(), " bytes for ", capacity,
                                                     " items"));
  }
  return std::unique_ptr<ItemStore>(new ItemStore(std::move(layout), std::move(columns)));
}

ItemStore::ItemStore(ItemLayout layout, std::vector<Storage> columns)
    : layout_(std::move(layout)),
      columns_(std::move(columns)),
      frame_bytes_(layout_.num_columns(), 0),
      planes_(layout_.shares_planes() ? std::make_unique<PlanePool>(layout_.plane_bytes()) : nullptr) {}

void ItemStore::AcquirePlanes(size_t column, const char* item, const uint64_t* hashes) {
  const int64_t planes = layout_.column(column).planes;
  const int64_t bytes = layout_.plane_bytes();
  for (int64_t p = 0; p < planes; ++p) {
    const char* plane = item + p * bytes;
    plane_scratch_.push_back(planes_->Acquire(plane, hashes != nullptr ? hashes[p] : planes_->Hash(plane)));
  }
}

void ItemStore::PlacePlanes(int64_t slot) {
  size_t at = 0;
  for (size_t c = 0; c < columns_.size(); ++c) {
    const int64_t planes = layout_.column(c).planes;
    if (planes == 0) continue;
    std::copy_n(plane_scratch_.begin() + static_cast<std::ptrdiff_t>(at), planes,
                columns_[c].plane_ids.get() + slot * planes);
    at += static_cast<size_t>(planes);
  }
  plane_scratch_.clear();
}

void ItemStore::CopyPlanes(size_t column, int64_t slot, char* to) const {
  const int64_t planes = layout_.column(column).planes;
  const int64_t bytes = layout_.plane_bytes();
  const uint32_t* ids = columns_[column].plane_ids.get() + slot * planes;
  for (int64_t p = 0; p < planes; ++p) {
    std::memcpy(to + p * bytes, planes_->plane(ids[p]), static_cast<size_t>(bytes));
  }
}

void ItemStore::PutFrame(size_t column, int64_t slot, std::string_view stored) {
  StoredItem& item = columns_[column].items[static_cast<size_t>(slot)];
  item.bytes.reset(new char[std::max<size_t>(stored.size(), 1)]);
  std::memcpy(item.bytes.get(), stored.data(), stored.size());
  item.size = static_cast<uint32_t>(stored.size());
  frame_bytes_[column] += item.size;
  stored_bytes_ += item.size;
}

void ItemStore::HoldPlanes(const EncodedInsert& encoded, int index) {
  if (!layout_.shares_planes()) return;
  const v1::InsertRequest& request = encoded.request();
  for (size_t c = 0; c < columns_.size(); ++c) {
    const ItemLayout::Column& column = layout_.column(c);
    if (column.planes == 0) continue;
    AcquirePlanes(c, request.columns(static_cast<int>(c)).data().data() + index * column.item_bytes,
                  encoded.plane_hashes(static_cast<int>(c), index, column.planes));
  }
}

void ItemStore::Put(int64_t slot, const EncodedInsert& encoded, int index) {
  const v1::InsertRequest& request = encoded.request();
  if (layout_.shares_planes()) PlacePlanes(slot);
  for (size_t c = 0; c < columns_.size(); ++c) {
    const ItemLayout::Column& column = layout_.column(c);
    if (column.planes > 0) continue;
    if (column.codec.compresses()) {
      PutFrame(c, slot, encoded.item(static_cast<int>(c), index));
      continue;
    }
    std::memcpy(columns_[c].data.get() + slot * column.item_bytes,
                request.columns(static_cast<int>(c)).data().data() + index * column.item_bytes, column.item_bytes);
  }
  stored_bytes_ += layout_.plain_item_bytes();
}

void ItemStore::HoldRestoredPlanes(const RestoredItems& items, const RestoredColumns& stored, int64_t index) {
  if (!layout_.shares_planes()) return;
  for (size_t c = 0; c < columns_.size(); ++c) {
    const int64_t planes = layout_.column(c).planes;
    if (planes == 0) continue;
    if (!items.plane_ids.empty() && items.plane_ids[c] != nullptr) {
      for (int64_t p = 0; p < planes; ++p) {
        const uint32_t id = restored_plane_ids_.at(items.plane_ids[c][index * planes + p]);
        planes_->AddRef(id);
        plane_scratch_.push_back(id);
      }
      continue;
    }
    const int64_t bytes = layout_.column(c).item_bytes;
    AcquirePlanes(c, stored[c].empty() ? items.columns[c] + index * bytes : stored[c][static_cast<size_t>(index)].data(),
                  nullptr);
  }
}

void ItemStore::PutRestored(int64_t slot, const RestoredItems& items, const RestoredColumns& stored, int64_t index) {
  if (layout_.shares_planes()) PlacePlanes(slot);
  const size_t i = static_cast<size_t>(index);
  for (size_t c = 0; c < columns_.size(); ++c) {
    const ItemLayout::Column& column = layout_.column(c);
    const int64_t bytes = column.item_bytes;
    if (column.planes > 0) continue;
    if (column.codec.compresses()) {
      PutFrame(c, slot, stored[c][i]);
    } else if (!stored[c].empty()) {
      std::memcpy(columns_[c].data.get() + slot * bytes, stored[c][i].data(), static_cast<size_t>(bytes));
    } else {
      std::memcpy(columns_[c].data.get() + slot * bytes, items.columns[c] + index * bytes,
                  static_cast<size_t>(bytes));
    }
  }
  stored_bytes_ += layout_.plain_item_bytes();
}

void ItemStore::Erase(int64_t slot) {
  stored_bytes_ -= layout_.plain_item_bytes();
  if (layout_.compresses()) {
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (!layout_.column(c).codec.compresses()) continue;
      StoredItem& item = columns_[c].items[static_cast<size_t>(slot)];
      frame_bytes_[c] -= item.size;
      stored_bytes_ -= item.size;
      item.bytes.reset();
      item.size = 0;
    }
  }
  if (layout_.shares_planes()) {
    for (size_t c = 0; c < columns_.size(); ++c) {
      const int64_t planes = layout_.column(c).planes;
      const uint32_t* ids = columns_[c].plane_ids.get() + slot * planes;
      for (int64_t p = 0; p < planes; ++p) planes_->Release(ids[p]);
    }
  }
}

void ItemStore::DrawFrame(size_t column, int64_t slot, int64_t row, uint64_t key, DrawnFrames* frames) const {
  const StoredItem& item = columns_[column].items[static_cast<size_t>(slot)];
  frames->frames.push_back(
      DrawnFrames::Frame{static_cast<int>(column), static_cast<int>(row), frames->bytes.size(), item.size, key});
  frames->bytes.append(item.bytes.get(), item.size);
}

void ItemStore::Gather(int64_t slot, int64_t row, uint64_t key, char* const* to, DrawnFrames* frames) const {
  for (size_t c = 0; c < columns_.size(); ++c) {
    const ItemLayout::Column& column = layout_.column(c);
    if (column.codec.compresses()) {
      DrawFrame(c, slot, row, key, frames);
      continue;
    }
    if (column.planes > 0) {
      CopyPlanes(c, slot, to[c] + row * column.item_bytes);
      continue;
    }
    std::memcpy(to[c] + row * column.item_bytes, columns_[c].data.get() + slot * column.item_bytes,
                column.item_bytes);
  }
}

void ItemStore::GatherMany(const Selection* draws, int64_t count, int64_t first_row, const uint64_t* slot_keys,
                           char* const* to, DrawnFrames* frames) const {
  // The rows of a large table are cache misses: start them all before
  // copying any, so that they overlap instead of queueing.
  for (int64_t d = 0; d < count; ++d) {
    const int64_t slot = draws[d].slot;
    __builtin_prefetch(&slot_keys[slot]);
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (columns_[c].data == nullptr) continue;  // compressed or planes: fetched as they are copied
      const int64_t bytes = layout_.column(c).item_bytes;
      const char* row = columns_[c].data.get() + slot * bytes;
      __builtin_prefetch(row);
      __builtin_prefetch(row + bytes - 1);
    }
  }
  for (int64_t d = 0; d < count; ++d) {
    const int64_t slot = draws[d].slot;
    const int64_t row = first_row + d;
    for (size_t c = 0; c < columns_.size(); ++c) {
      const ItemLayout::Column& column = layout_.column(c);
      if (column.codec.compresses()) {
        DrawFrame(c, slot, row, slot_keys[slot], frames);
        continue;
      }
      const int64_t bytes = column.item_bytes;
      if (column.planes > 0) {
        CopyPlanes(c, slot, to[c] + row * bytes);
        continue;
      }
      std::memcpy(to[c] + row * bytes, columns_[c].data.get() + slot * bytes, bytes);
    }
  }
}

void ItemStore::GrowSnapshot(TableSnapshot* snapshot) const {
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (snapshot->stored[c].size() < static_cast<size_t>(frame_bytes_[c])) {
      snapshot->stored[c].resize(static_cast<size_t>(frame_bytes_[c]));
    }
  }
}

void ItemStore::CopySnapshotSlots(int64_t num_slots, TableSnapshot* snapshot) const {
  for (size_t c = 0; c < columns_.size(); ++c) {
    const ItemLayout::Column& column = layout_.column(c);
    if (column.planes > 0) {
      std::memcpy(snapshot->row_planes[c].data(), columns_[c].plane_ids.get(),
                  static_cast<size_t>(num_slots * column.planes) * sizeof(uint32_t));
      continue;
    }
    if (column.codec.compresses()) continue;
    std::memcpy(snapshot->columns[c].get(), columns_[c].data.get(), static_cast<size_t>(num_slots * column.item_bytes));
  }
}

void ItemStore::CopySnapshotSlot(int64_t slot, int64_t row, TableSnapshot* snapshot) const {
  for (size_t c = 0; c < columns_.size(); ++c) {
    const ItemLayout::Column& column = layout_.column(c);
    if (const int64_t planes = column.planes; planes > 0) {
      std::copy_n(columns_[c].plane_ids.get() + slot * planes, planes,
                  snapshot->row_planes[c].begin() + static_cast<std::ptrdiff_t>(row * planes));
      continue;
    }
    if (column.codec.compresses()) continue;
    const int64_t bytes = column.item_bytes;
    std::memcpy(snapshot->columns[c].get() + row * bytes, columns_[c].data.get() + slot * bytes,
                static_cast<size_t>(bytes));
  }
}

void ItemStore::CopySnapshotFrames(const std::vector<int64_t>* occupied, TableSnapshot* snapshot,
                                   std::vector<size_t>* frame_end) const {
  // Compressed columns: each row's frame (none for a free slot), back to back.
  for (size_t c = 0; c < columns_.size() && layout_.compresses(); ++c) {
    if (!layout_.column(c).codec.compresses()) continue;
    std::vector<uint64_t>& offsets = snapshot->stored_offsets[c];
    char* to = snapshot->stored[c].data();
    size_t at = 0;
    for (int64_t row = 0; row < snapshot->num_rows; ++row) {
      const int64_t slot = occupied == nullptr ? row : (*occupied)[static_cast<size_t>(row)];
      const StoredItem& item = columns_[c].items[static_cast<size_t>(slot)];
      offsets[static_cast<size_t>(row)] = at;
      if (item.size == 0) continue;  // a free slot
      std::memcpy(to + at, item.bytes.get(), item.size);
      at += item.size;
    }
    offsets[static_cast<size_t>(snapshot->num_rows)] = at;
    (*frame_end)[c] = at;
  }
}

void ItemStore::CopySnapshotPlanes(TableSnapshot* snapshot) const {
  if (planes_ == nullptr) return;
  planes_->AppendIds(&snapshot->plane_ids);
  const size_t bytes = static_cast<size_t>(layout_.plane_bytes());
  if (snapshot->planes.size() < snapshot->plane_ids.size() * bytes) {
    snapshot->planes.resize(snapshot->plane_ids.size() * bytes);
  }
  char* to = snapshot->planes.data();
  for (uint32_t id : snapshot->plane_ids) {
    std::memcpy(to, planes_->plane(id), bytes);
    to += bytes;
  }
}

absl::Status ItemStore::RestorePlanes(const uint32_t* ids, const char* bytes, int64_t count, int64_t plane_bytes) {
  // Planes of this store's size go to its pool, shared with what it holds;
  // others (a checkpoint of a table that shared planes, restored into one
  // that no longer does) are kept aside until the items are expanded.
  const bool pooled = planes_ != nullptr && plane_bytes == layout_.plane_bytes();
  if (restored_plane_bytes_ != 0 && restored_plane_bytes_ != plane_bytes) {
    return absl::DataLossError(absl::StrCat("table '", layout_.table(), "': the checkpoint's planes are of ",
                                            restored_plane_bytes_, " and ", plane_bytes, " bytes"));
  }
  restored_plane_bytes_ = plane_bytes;
  for (int64_t i = 0; i < count; ++i) {
    const char* plane = bytes + i * plane_bytes;
    if (restored_plane_ids_.contains(ids[i]) || restored_plane_copies_.contains(ids[i])) {
      return absl::DataLossError(
          absl::StrCat("table '", layout_.table(), "': the checkpoint holds plane ", ids[i], " twice"));
    }
    if (pooled) {
      restored_plane_ids_[ids[i]] = planes_->Acquire(plane, planes_->Hash(plane));
    } else {
      restored_plane_copies_.emplace(ids[i], std::string(plane, static_cast<size_t>(plane_bytes)));
    }
  }
  return absl::OkStatus();
}

void ItemStore::EndPlaneRestore() {
  for (const auto& [checkpoint_id, id] : restored_plane_ids_) planes_->Release(id);
  restored_plane_ids_.clear();
  restored_plane_copies_.clear();
  restored_plane_bytes_ = 0;
}

const char* ItemStore::RestoredPlane(uint32_t id) const {
  if (auto it = restored_plane_ids_.find(id); it != restored_plane_ids_.end()) return planes_->plane(it->second);
  if (auto it = restored_plane_copies_.find(id); it != restored_plane_copies_.end()) return it->second.data();
  return nullptr;
}

absl::Status ItemStore::ExpandRestoredPlanes(RestoredItems* items, std::vector<std::string>* expanded) const {
  const size_t num_columns = columns_.size();
  expanded->assign(num_columns, std::string());
  if (items->plane_ids.empty()) return absl::OkStatus();
  const std::string& table = layout_.table();
  auto unknown_plane = [&](size_t c, int64_t i, uint32_t id) {
    return absl::DataLossError(absl::StrCat("table '", table, "': column '", layout_.column(c).spec.name(),
                                            "' of the restored item with key ", items->keys[i], " names plane ", id,
                                            ", which the checkpoint does not hold"));
  };
  for (size_t c = 0; c < num_columns; ++c) {
    const uint32_t* ids = items->plane_ids[c];
    if (ids == nullptr) continue;
    const int64_t bytes = layout_.column(c).item_bytes;
    if (restored_plane_bytes_ <= 0 || bytes % restored_plane_bytes_ != 0) {
      return absl::DataLossError(absl::StrCat("table '", table, "': column '", layout_.column(c).spec.name(),
                                              "' was checkpointed in shared planes, but none of a size that divides "
                                              "its ", bytes, "-byte items were restored"));
    }
    const int64_t planes = bytes / restored_plane_bytes_;
    if (layout_.column(c).planes == planes && restored_plane_bytes_ == layout_.plane_bytes()) {
      for (int64_t i = 0; i < items->count; ++i) {
        for (int64_t p = 0; p < planes; ++p) {
          const uint32_t id = ids[i * planes + p];
          if (!restored_plane_ids_.contains(id)) return unknown_plane(c, i, id);
        }
      }
      continue;
    }
    std::string& to = (*expanded)[c];
    to.resize(static_cast<size_t>(items->count * bytes));
    for (int64_t i = 0; i < items->count; ++i) {
      for (int64_t p = 0; p < planes; ++p) {
        const uint32_t id = ids[i * planes + p];
        const char* plane = RestoredPlane(id);
        if (plane == nullptr) return unknown_plane(c, i, id);
        std::memcpy(to.data() + i * bytes + p * restored_plane_bytes_, plane,
                    static_cast<size_t>(restored_plane_bytes_));
      }
    }
    items->columns[c] = to.data();
    items->plane_ids[c] = nullptr;
    if (!items->codecs.empty()) {
      items->codecs[c] = v1::TableConfig::ColumnCompression::NONE;
      items->sizes[c] = nullptr;
    }
  }
  return absl::OkStatus();
}

}  // namespace rill::replay
