// ColumnCodec: how a replay table stores the items of one column, as its
// config's `compression` says (proto/config.proto, TableConfig): as they
// are, or each item compressed on its own as one zstd frame, so that any
// item can be sampled without its neighbours.
//
// Table compresses an item once, as it is stored (Table::Prepare, outside
// the table's lock), and decompresses it into a sampled batch (Table::
// Sample, after the lock is released); checkpoints and the write-ahead log
// keep what the table holds. A zstd frame records the size of what it
// holds, so Decompress refuses a frame that does not hold exactly one item.
//
// Thread-safety: a ColumnCodec is an immutable value; Compress and
// Decompress may run on many threads at once (each thread reuses its own
// zstd context).
#ifndef RILL_REPLAY_COLUMN_CODEC_H_
#define RILL_REPLAY_COLUMN_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "proto/config.pb.h"

namespace rill::replay {

using Codec = v1::TableConfig::ColumnCompression::Codec;

// The level of `compression { codec: ZSTD }` without one, zstd's own. From
// `rill bench replay`'s compression section (per CPU second, one item a
// frame): on 84x84x4 frame stacks level 3 stores 385 B a stack against 477 B
// at level 1, compressing as fast (2.1 to 2.4 GB/s) and decompressing faster
// (7.0 against 4.8 GB/s); on MinAtar's 400-byte [4, 10, 10] observations
// every level gives about 36 B, level 3 compressing 10-15% slower than 1
// (385 against 450 MB/s); level 6 costs 2.5x the CPU for 12% less.
inline constexpr int kDefaultZstdLevel = 3;

// The levels a config may give (0 aside): ZSTD's fast levels down to -100,
// and 1..ZSTD_maxCLevel() (22).
int MinZstdLevel();
int MaxZstdLevel();

// "none", "zstd"; "codec <n>" for a value the enum does not name.
std::string CodecName(Codec codec);

class ColumnCodec {
 public:
  // Stores items as they are.
  ColumnCodec() = default;
  // `level` 0 takes kDefaultZstdLevel; the config's rules checked the rest
  // (replay/table_config.h).
  ColumnCodec(Codec codec, int level);

  // The codec `config` gives column `column`: its `compression` entry, or
  // none.
  static ColumnCodec ForColumn(const v1::TableConfig& config, const std::string& column);

  Codec codec() const { return codec_; }
  bool compresses() const { return codec_ != v1::TableConfig::ColumnCompression::NONE; }
  int level() const { return level_; }
  // "zstd level 1", "none".
  std::string name() const;

  // Appends the stored form of one item (`item`, the column's item bytes)
  // to `out`: a zstd frame, or the bytes themselves without compression.
  // Internal if zstd fails (it does only when out of memory).
  absl::Status Compress(std::string_view item, std::string* out) const;

  // Writes the item that `stored` holds to `out`, `item_bytes` bytes.
  // DataLoss when `stored` is not one whole frame of this codec holding
  // exactly `item_bytes` bytes (corrupt, cut short, followed by anything,
  // or of another size); `out` is then left undefined.
  absl::Status Decompress(std::string_view stored, char* out, int64_t item_bytes) const;

 private:
  Codec codec_ = v1::TableConfig::ColumnCompression::NONE;
  int level_ = 0;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_COLUMN_CODEC_H_
