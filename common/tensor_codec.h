// Checks and helpers for rill.v1.Tensor without LibTorch, used by replay
// (which stores raw bytes) and by the writers that build insert batches.
// Every check returns InvalidArgument naming the column and what is wrong.
#ifndef RILL_COMMON_TENSOR_CODEC_H_
#define RILL_COMMON_TENSOR_CODEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/tensor.pb.h"
#include "common/shape.h"

namespace rill {

// Bytes per element; InvalidArgument for DTYPE_UNSPECIFIED or an unknown value.
absl::StatusOr<int64_t> DTypeSize(v1::DType dtype);

std::string DTypeName(v1::DType dtype);

// Number of elements of a shape; InvalidArgument for a negative dimension
// or a product beyond 2^40.
absl::StatusOr<int64_t> NumElements(const google::protobuf::RepeatedField<int64_t>& shape);
absl::StatusOr<int64_t> NumElements(const std::vector<int64_t>& shape);

// Bytes of one item of the column.
absl::StatusOr<int64_t> ItemBytes(const v1::ColumnSpec& spec);

// Checks that `tensor` holds `num_items` items of `spec`: dtype, shape
// [num_items, spec.shape...] and data size all agree.
absl::Status CheckBatchedColumn(const v1::Tensor& tensor, const v1::ColumnSpec& spec,
                                int64_t num_items);

// Checks a signature: unique non-empty names, known dtypes, shapes >= 0.
absl::Status CheckSignature(const v1::Signature& signature);

v1::Tensor MakeTensor(v1::DType dtype, std::vector<int64_t> shape, const void* data,
                      size_t num_bytes);


}  // namespace rill

#endif  // RILL_COMMON_TENSOR_CODEC_H_
