#include "common/tensor_codec.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace rill {

absl::StatusOr<int64_t> DTypeSize(v1::DType dtype) {
  switch (dtype) {
    case v1::DTYPE_FLOAT32: return 4;
    case v1::DTYPE_FLOAT64: return 8;
    case v1::DTYPE_INT32: return 4;
    case v1::DTYPE_INT64: return 8;
    case v1::DTYPE_UINT8: return 1;
    case v1::DTYPE_BOOL: return 1;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unsupported dtype ", DTypeName(dtype)));
  }
}

std::string DTypeName(v1::DType dtype) {
  if (v1::DType_IsValid(dtype)) return v1::DType_Name(dtype);
  return absl::StrCat("DType(", static_cast<int>(dtype), ")");
}

namespace {

template <typename Shape>
absl::StatusOr<int64_t> CheckedElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return absl::InvalidArgumentError(absl::StrCat("negative dimension in shape ", ShapeString(shape)));
    if (d != 0 && n > (int64_t{1} << 40) / d) {
      return absl::InvalidArgumentError(absl::StrCat("shape ", ShapeString(shape), " is too large"));
    }
    n *= d;
  }
  return n;
}

}  // namespace

absl::StatusOr<int64_t> NumElements(const google::protobuf::RepeatedField<int64_t>& shape) {
  return CheckedElements(shape);
}

absl::StatusOr<int64_t> NumElements(const std::vector<int64_t>& shape) { return CheckedElements(shape); }

absl::StatusOr<int64_t> ItemBytes(const v1::ColumnSpec& spec) {
  ASSIGN_OR_RETURN(int64_t elem, DTypeSize(spec.dtype()));
  ASSIGN_OR_RETURN(int64_t n, NumElements(spec.shape()));
  return elem * n;
}

absl::Status CheckBatchedColumn(const v1::Tensor& tensor, const v1::ColumnSpec& spec,
                                int64_t num_items) {
  if (tensor.dtype() != spec.dtype()) {
    return absl::InvalidArgumentError(absl::StrCat("column '", spec.name(), "': dtype ",
                                                   DTypeName(tensor.dtype()), " but the signature says ",
                                                   DTypeName(spec.dtype())));
  }
  bool shape_ok = tensor.shape_size() == spec.shape_size() + 1 && tensor.shape(0) == num_items;
  for (int i = 0; shape_ok && i < spec.shape_size(); ++i) {
    shape_ok = tensor.shape(i + 1) == spec.shape(i);
  }
  if (!shape_ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "column '", spec.name(), "': shape ", ShapeString(tensor.shape()), " but ", num_items,
        " items of the signature's shape ", ShapeString(spec.shape()), " were expected"));
  }
  ASSIGN_OR_RETURN(int64_t item_bytes, ItemBytes(spec));
  if (static_cast<int64_t>(tensor.data().size()) != item_bytes * num_items) {
    return absl::InvalidArgumentError(absl::StrCat("column '", spec.name(), "': ", tensor.data().size(),
                                                   " data bytes but shape ", ShapeString(tensor.shape()),
                                                   " of ", DTypeName(tensor.dtype()), " needs ",
                                                   item_bytes * num_items));
  }
  return absl::OkStatus();
}

absl::Status CheckSignature(const v1::Signature& signature) {
  if (signature.columns_size() == 0) return absl::InvalidArgumentError("signature has no columns");
  absl::flat_hash_set<std::string> names;
  for (const v1::ColumnSpec& column : signature.columns()) {
    if (column.name().empty()) return absl::InvalidArgumentError("signature column with an empty name");
    if (!names.insert(column.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("signature names column '", column.name(), "' twice"));
    }
    absl::Status st = ItemBytes(column).status();
    if (!st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("signature column '", column.name(), "': ", st.message()));
    }
  }
  return absl::OkStatus();
}

v1::Tensor MakeTensor(v1::DType dtype, std::vector<int64_t> shape, const void* data, size_t num_bytes) {
  v1::Tensor tensor;
  tensor.set_dtype(dtype);
  for (int64_t d : shape) tensor.add_shape(d);
  tensor.mutable_data()->assign(static_cast<const char*>(data), num_bytes);
  return tensor;
}

}  // namespace rill
