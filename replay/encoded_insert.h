// EncodedInsert: an insert request whose columns are in the form a table
// stores them (column_codec.h). A column of a compressing codec holds every
// item's frame behind a table of their sizes,
//   [u32 size of item 0] ... [u32 size of item n-1] [frame 0] ... [frame n-1]
// (little-endian) as the Tensor's data, its dtype and shape still the
// column's [n, ...]; any other column holds its items as they are.
//
// Who makes and reads one: Table::Prepare turns a writer's request into one
// for its table, compressing each item once, outside the table's lock; the
// replay service hands it to the table (through the admission queue) and
// then logs it as it is (AppendLogRecord), so the write-ahead log holds what
// the table holds. Recovery reads a record back (ParseLogRecord) and
// Table::ReplayInsert stores it, converting a column whose codec the
// table's config changed since.
//
// Log record: a request without a compressed column is logged as the
// serialized v1::InsertRequest it is, byte for byte the record of the
// releases before compression (which recovery still reads). One with a
// compressed column as
//   [8 bytes "\0RILLZC1"][u32 columns][u8 codec per column][InsertRequest]
// A serialized InsertRequest never begins with a zero byte (a field number
// is never 0), so the two forms cannot be mistaken for each other.
//
// Thread-compatible: a const EncodedInsert may be read from many threads.
#ifndef RILL_REPLAY_ENCODED_INSERT_H_
#define RILL_REPLAY_ENCODED_INSERT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "proto/replay.pb.h"
#include "proto/tensor.pb.h"
#include "replay/column_codec.h"

namespace rill::replay {

class EncodedInsert {
 public:
  EncodedInsert() = default;
  // It may point into itself: neither copied nor moved.
  EncodedInsert(const EncodedInsert&) = delete;
  EncodedInsert& operator=(const EncodedInsert&) = delete;

  // The request, its compressed columns in the form above.
  const v1::InsertRequest& request() const { return *request_; }
  int num_items() const { return request_->keys_size(); }
  // The codec of column `column`'s data.
  Codec codec(int column) const {
    return codecs_.empty() ? v1::TableConfig::ColumnCompression::NONE : codecs_[static_cast<size_t>(column)];
  }
  // Item `index` of column `column` as stored: its frame, or its bytes.
  std::string_view item(int column, int index) const;

  // Appends the write-ahead-log record of this request (see above) to `out`.
  void AppendLogRecord(std::string* out) const;
  // Reads a record that AppendLogRecord wrote, or a plain InsertRequest of
  // the releases before, into `out` (its previous contents replaced).
  // DataLoss for a payload that is neither, or whose compressed columns'
  // size tables do not add up, naming the column.
  static absl::Status ParseLogRecord(std::string_view payload, EncodedInsert* out);

  // Makes `out` the plain (uncompressed) `request`, whose contents it takes
  // by swapping (`request` is left with out's previous ones, to be read into
  // again).
  static void TakePlain(v1::InsertRequest* request, EncodedInsert* out);
  // Makes `out` refer to the plain `request`, which must outlive its use.
  static void BorrowPlain(const v1::InsertRequest& request, EncodedInsert* out);

  // Re-encodes every column of `signature` into `codecs` (one per column;
  // item_bytes[c] bytes per item): compresses, decompresses, or keeps the
  // stored bytes where the codec is the same, checking each compressed item
  // it keeps by decompressing it when `verify` is set. A borrowed request is
  // copied first if anything changes. DataLoss naming the column and key of
  // an item that does not decompress to item_bytes[c] bytes; Internal if a
  // codec fails. The request must have passed CheckColumns.
  absl::Status Recode(const v1::Signature& signature, const std::vector<ColumnCodec>& codecs,
                      const std::vector<int64_t>& item_bytes, bool verify);

  // Hashes of the planes of a column that shares planes (Table::Prepare
  // computes them outside the table's lock): item `index`'s `planes`
  // hashes, or null when none were set.
  const uint64_t* plane_hashes(int column, int index, int64_t planes) const {
    const size_t c = static_cast<size_t>(column);
    if (c >= plane_hashes_.size() || plane_hashes_[c].empty()) return nullptr;
    return plane_hashes_[c].data() + index * planes;
  }
  void SetPlaneHashes(int column, std::vector<uint64_t> hashes) {
    if (plane_hashes_.size() <= static_cast<size_t>(column)) plane_hashes_.resize(static_cast<size_t>(column) + 1);
    plane_hashes_[static_cast<size_t>(column)] = std::move(hashes);
  }

  // Whether every column has the signature's dtype and shape [n, ...] and
  // holds n items: a column stored as is n items' bytes, a compressed one a
  // size table that adds up. InvalidArgument naming the column.
  absl::Status CheckColumns(const v1::Signature& signature) const;

 private:
  // Rebuilds offsets_ from the compressed columns' size tables; DataLoss
  // naming the column if a table does not add up.
  absl::Status Index();

  v1::InsertRequest owned_;
  const v1::InsertRequest* request_ = &owned_;
  // Per column; empty when no column is compressed.
  std::vector<Codec> codecs_;
  // Per column: for a compressed one, where each item's frame begins in the
  // column's data (num_items + 1 offsets); empty for one stored as is.
  std::vector<std::vector<uint64_t>> offsets_;
  // Per column that shares planes (empty otherwise): every item's plane
  // hashes, in order.
  std::vector<std::vector<uint64_t>> plane_hashes_;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_ENCODED_INSERT_H_
