#include "replay/encoded_insert.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"

namespace rill::replay {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "size tables and log records are little-endian");

constexpr char kRecordMagic[8] = {'\0', 'R', 'I', 'L', 'L', 'Z', 'C', '1'};
constexpr size_t kSizeBytes = sizeof(uint32_t);

uint32_t GetU32(const char* data) {
  uint32_t value;
  std::memcpy(&value, data, sizeof(value));
  return value;
}

void PutU32(char* out, uint32_t value) { std::memcpy(out, &value, sizeof(value)); }

// "columns[2] ('obs')", or "columns[2]" past the signature.
std::string ColumnName(const v1::Signature& signature, int column) {
  if (column < signature.columns_size()) {
    return absl::StrCat("columns[", column, "] ('", signature.columns(column).name(), "')");
  }
  return absl::StrCat("columns[", column, "]");
}

}  // namespace

std::string_view EncodedInsert::item(int column, int index) const {
  const std::string& data = request_->columns(column).data();
  if (!offsets_.empty() && !offsets_[static_cast<size_t>(column)].empty()) {
    const std::vector<uint64_t>& offsets = offsets_[static_cast<size_t>(column)];
    return std::string_view(data.data() + offsets[static_cast<size_t>(index)],
                            offsets[static_cast<size_t>(index) + 1] - offsets[static_cast<size_t>(index)]);
  }
  const size_t bytes = data.size() / static_cast<size_t>(num_items());
  return std::string_view(data.data() + static_cast<size_t>(index) * bytes, bytes);
}

void EncodedInsert::AppendLogRecord(std::string* out) const {
  if (std::none_of(codecs_.begin(), codecs_.end(), [](Codec codec) { return ColumnCodec(codec, 0).compresses(); })) {
    request_->AppendToString(out);
    return;
  }
  out->append(kRecordMagic, sizeof(kRecordMagic));
  char count[kSizeBytes];
  PutU32(count, static_cast<uint32_t>(codecs_.size()));
  out->append(count, sizeof(count));
  for (Codec codec : codecs_) out->push_back(static_cast<char>(codec));
  request_->AppendToString(out);
}

absl::Status EncodedInsert::ParseLogRecord(std::string_view payload, EncodedInsert* out) {
  out->request_ = &out->owned_;
  out->codecs_.clear();
  out->offsets_.clear();
  out->plane_hashes_.clear();
  if (!payload.empty() && payload[0] == '\0') {
    constexpr size_t kHeader = sizeof(kRecordMagic) + kSizeBytes;
    if (payload.size() < kHeader || std::memcmp(payload.data(), kRecordMagic, sizeof(kRecordMagic)) != 0) {
      return absl::DataLossError("a write-ahead log record begins with a zero byte but not with the header of a "
                                 "record of compressed columns");
    }
    const uint32_t columns = GetU32(payload.data() + sizeof(kRecordMagic));
    if (payload.size() - kHeader < columns) {
      return absl::DataLossError(absl::StrCat("a write-ahead log record of compressed columns lists ", columns,
                                              " columns but is only ", payload.size(), " bytes long"));
    }
    for (uint32_t c = 0; c < columns; ++c) {
      const int value = static_cast<unsigned char>(payload[kHeader + c]);
      if (!v1::TableConfig::ColumnCompression::Codec_IsValid(value)) {
        return absl::DataLossError(
            absl::StrCat("a write-ahead log record gives columns[", c, "] the unknown codec ", value));
      }
      out->codecs_.push_back(static_cast<Codec>(value));
    }
    payload.remove_prefix(kHeader + columns);
    if (!out->owned_.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return absl::DataLossError("a write-ahead log record of compressed columns does not parse");
    }
    if (out->owned_.columns_size() != static_cast<int>(columns)) {
      return absl::DataLossError(absl::StrCat("a write-ahead log record lists codecs of ", columns,
                                              " columns but holds ", out->owned_.columns_size()));
    }
    return out->Index();
  }
  if (!out->owned_.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::DataLossError("a write-ahead log record with a valid checksum does not parse");
  }
  return absl::OkStatus();
}

void EncodedInsert::TakePlain(v1::InsertRequest* request, EncodedInsert* out) {
  out->owned_.Swap(request);
  out->request_ = &out->owned_;
  out->codecs_.clear();
  out->offsets_.clear();
  out->plane_hashes_.clear();
}

void EncodedInsert::BorrowPlain(const v1::InsertRequest& request, EncodedInsert* out) {
  out->request_ = &request;
  out->codecs_.clear();
  out->offsets_.clear();
  out->plane_hashes_.clear();
}

absl::Status EncodedInsert::Index() {
  offsets_.assign(static_cast<size_t>(request_->columns_size()), {});
  const uint64_t n = static_cast<uint64_t>(num_items());
  for (size_t c = 0; c < codecs_.size() && c < offsets_.size(); ++c) {
    if (!ColumnCodec(codecs_[c], 0).compresses()) continue;
    const std::string& data = request_->columns(static_cast<int>(c)).data();
    if (data.size() < n * kSizeBytes) {
      return absl::DataLossError(absl::StrCat("compressed columns[", c, "] is ", data.size(),
                                              " bytes, too short for the size table of ", n, " items"));
    }
    std::vector<uint64_t>& offsets = offsets_[c];
    offsets.reserve(n + 1);
    uint64_t at = n * kSizeBytes;
    offsets.push_back(at);
    for (uint64_t i = 0; i < n; ++i) {
      at += GetU32(data.data() + i * kSizeBytes);
      offsets.push_back(at);
    }
    if (at != data.size()) {
      return absl::DataLossError(absl::StrCat("compressed columns[", c, "]: its size table adds up to ", at,
                                              " bytes but the column holds ", data.size()));
    }
  }
  return absl::OkStatus();
}

absl::Status EncodedInsert::CheckColumns(const v1::Signature& signature) const {
  const int n = num_items();
  if (request_->columns_size() != signature.columns_size()) {
    return absl::InvalidArgumentError(absl::StrCat("insert request has ", request_->columns_size(),
                                                   " columns but the signature has ", signature.columns_size()));
  }
  for (int c = 0; c < signature.columns_size(); ++c) {
    const v1::Tensor& tensor = request_->columns(c);
    const v1::ColumnSpec& spec = signature.columns(c);
    if (!ColumnCodec(codec(c), 0).compresses()) {
      absl::Status st = CheckBatchedColumn(tensor, spec, n);
      if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat("columns[", c, "]: ", st.message()));
      continue;
    }
    bool shape_matches = tensor.shape_size() == spec.shape_size() + 1 && tensor.shape(0) == n;
    for (int d = 0; shape_matches && d < spec.shape_size(); ++d) shape_matches = tensor.shape(d + 1) == spec.shape(d);
    if (tensor.dtype() != spec.dtype() || !shape_matches) {
      return absl::InvalidArgumentError(absl::StrCat(ColumnName(signature, c), ": compressed ",
                                                     DTypeName(tensor.dtype()), " column of shape [",
                                                     absl::StrJoin(tensor.shape(), ", "), "] for ", n,
                                                     " items of ", DTypeName(spec.dtype()), " [",
                                                     absl::StrJoin(spec.shape(), ", "), "]"));
    }
    if (offsets_.size() <= static_cast<size_t>(c) || offsets_[static_cast<size_t>(c)].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(ColumnName(signature, c), ": compressed column without its "
                                                     "size table"));
    }
  }
  return absl::OkStatus();
}

absl::Status EncodedInsert::Recode(const v1::Signature& signature, const std::vector<ColumnCodec>& codecs,
                                   const std::vector<int64_t>& item_bytes, bool verify) {
  const int n = num_items();
  bool changes = false;
  for (size_t c = 0; c < codecs.size(); ++c) changes |= codecs[c].codec() != codec(static_cast<int>(c));
  if (changes && request_ != &owned_) {
    owned_ = *request_;
    request_ = &owned_;
  }
  std::string scratch;
  std::vector<Codec> new_codecs;
  for (size_t c = 0; c < codecs.size(); ++c) {
    const int column = static_cast<int>(c);
    const ColumnCodec from(codec(column), 0);
    const ColumnCodec& to = codecs[c];
    new_codecs.push_back(to.codec());
    const int64_t bytes = item_bytes[c];
    if (from.compresses() && static_cast<int64_t>(scratch.size()) < bytes) scratch.resize(static_cast<size_t>(bytes));
    auto raw_item = [&](int i, std::string_view* raw) -> absl::Status {
      const std::string_view stored = item(column, i);
      if (!from.compresses()) {
        *raw = stored;
        return absl::OkStatus();
      }
      absl::Status st = from.Decompress(stored, scratch.data(), bytes);
      if (!st.ok()) {
        return absl::DataLossError(absl::StrCat(ColumnName(signature, column), " item ", i, " (key ",
                                                request_->keys(i), "): ", st.message()));
      }
      *raw = std::string_view(scratch.data(), static_cast<size_t>(bytes));
      return absl::OkStatus();
    };
    if (from.codec() == to.codec()) {
      if (!from.compresses() || !verify) continue;
      std::string_view raw;
      for (int i = 0; i < n; ++i) RETURN_IF_ERROR(raw_item(i, &raw));
      continue;
    }
    std::string data;
    if (to.compresses()) {
      data.reserve(static_cast<size_t>(n) * kSizeBytes + static_cast<size_t>(n * bytes / 4));
      data.resize(static_cast<size_t>(n) * kSizeBytes);
    } else {
      data.reserve(static_cast<size_t>(n * bytes));
    }
    for (int i = 0; i < n; ++i) {
      std::string_view raw;
      RETURN_IF_ERROR(raw_item(i, &raw));
      const size_t before = data.size();
      RETURN_IF_ERROR(to.Compress(raw, &data));
      if (to.compresses()) {
        PutU32(data.data() + static_cast<size_t>(i) * kSizeBytes, static_cast<uint32_t>(data.size() - before));
      }
    }
    owned_.mutable_columns(column)->mutable_data()->swap(data);
  }
  codecs_.clear();
  if (std::any_of(codecs.begin(), codecs.end(), [](const ColumnCodec& codec) { return codec.compresses(); })) {
    codecs_ = std::move(new_codecs);
  }
  return Index();
}

}  // namespace rill::replay
