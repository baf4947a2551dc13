#include "replay/column_codec.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "zstd.h"

namespace rill::replay {
namespace {

using Compression = v1::TableConfig::ColumnCompression;

struct CCtxFree {
  void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};

// One context per thread and direction: creating one costs more than
// compressing a small item, and a context must not be shared between calls
// running at once.
ZSTD_CCtx* ThreadCompressionContext() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> context(ZSTD_createCCtx());
  return context.get();
}

ZSTD_DCtx* ThreadDecompressionContext() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> context(ZSTD_createDCtx());
  return context.get();
}

}  // namespace

int MinZstdLevel() { return std::max(-100, ZSTD_minCLevel()); }
int MaxZstdLevel() { return ZSTD_maxCLevel(); }

std::string CodecName(Codec codec) {
  switch (codec) {
    case Compression::NONE:
      return "none";
    case Compression::ZSTD:
      return "zstd";
    default:
      break;
  }
  return absl::StrCat("codec ", static_cast<int>(codec));
}

ColumnCodec::ColumnCodec(Codec codec, int level)
    : codec_(codec), level_(codec == Compression::ZSTD && level == 0 ? kDefaultZstdLevel : level) {}

ColumnCodec ColumnCodec::ForColumn(const v1::TableConfig& config, const std::string& column) {
  for (const Compression& compression : config.compression()) {
    if (compression.column() == column) return ColumnCodec(compression.codec(), compression.level());
  }
  return ColumnCodec();
}

std::string ColumnCodec::name() const {
  if (!compresses()) return CodecName(codec_);
  return absl::StrCat(CodecName(codec_), " level ", level_);
}

absl::Status ColumnCodec::Compress(std::string_view item, std::string* out) const {
  if (!compresses()) {
    out->append(item);
    return absl::OkStatus();
  }
  ZSTD_CCtx* context = ThreadCompressionContext();
  if (context == nullptr) return absl::InternalError("zstd: cannot create a compression context (out of memory)");
  const size_t start = out->size();
  out->resize(start + ZSTD_compressBound(item.size()));
  const size_t written =
      ZSTD_compressCCtx(context, out->data() + start, out->size() - start, item.data(), item.size(), level_);
  if (ZSTD_isError(written)) {
    out->resize(start);
    return absl::InternalError(absl::StrCat("zstd level ", level_, ": ", ZSTD_getErrorName(written)));
  }
  out->resize(start + written);
  return absl::OkStatus();
}

absl::Status ColumnCodec::Decompress(std::string_view stored, char* out, int64_t item_bytes) const {
  if (!compresses()) {
    if (static_cast<int64_t>(stored.size()) != item_bytes) {
      return absl::DataLossError(
          absl::StrCat("an uncompressed item of ", stored.size(), " bytes where ", item_bytes, " are expected"));
    }
    std::memcpy(out, stored.data(), stored.size());
    return absl::OkStatus();
  }
  // The frame says how much it holds and how long it is: check both before
  // decompressing anything.
  const unsigned long long content = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN) {
    return absl::DataLossError(absl::StrCat("a compressed item of ", stored.size(),
                                            " bytes does not begin with a valid zstd frame header"));
  }
  if (content != static_cast<unsigned long long>(item_bytes)) {
    return absl::DataLossError(absl::StrCat("a compressed item holds ", content, " bytes where ", item_bytes,
                                            " are expected"));
  }
  const size_t frame = ZSTD_findFrameCompressedSize(stored.data(), stored.size());
  if (ZSTD_isError(frame) || frame != stored.size()) {
    return absl::DataLossError(absl::StrCat("a compressed item of ", stored.size(), " bytes is ",
                                            ZSTD_isError(frame) ? "cut short or corrupt" : "followed by other bytes"));
  }
  ZSTD_DCtx* context = ThreadDecompressionContext();
  if (context == nullptr) return absl::InternalError("zstd: cannot create a decompression context (out of memory)");
  const size_t written =
      ZSTD_decompressDCtx(context, out, static_cast<size_t>(item_bytes), stored.data(), stored.size());
  if (ZSTD_isError(written)) {
    return absl::DataLossError(
        absl::StrCat("a compressed item of ", stored.size(), " bytes is corrupt: zstd: ", ZSTD_getErrorName(written)));
  }
  if (static_cast<int64_t>(written) != item_bytes) {
    return absl::DataLossError(absl::StrCat("a compressed item decompressed to ", written, " bytes where ",
                                            item_bytes, " are expected"));
  }
  return absl::OkStatus();
}

}  // namespace rill::replay
