// rill.v1.Tensor <-> torch::Tensor. Decoding copies once out of the proto's
// bytes (the proto may be freed afterwards); ViewAsTorch shares them instead
// and the caller keeps the proto alive. Errors are InvalidArgument naming the
// dtype or size problem; no c10::Error escapes.
#ifndef RILL_COMMON_TORCH_TENSOR_H_
#define RILL_COMMON_TORCH_TENSOR_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/torch_types.h"
#include "proto/parameters.pb.h"
#include "proto/tensor.pb.h"

namespace rill {

absl::StatusOr<torch::ScalarType> ToTorchDType(v1::DType dtype);
absl::StatusOr<v1::DType> FromTorchDType(torch::ScalarType dtype);

// A CPU tensor sharing `tensor.data()`; valid while `tensor` lives.
absl::StatusOr<torch::Tensor> ViewAsTorch(const v1::Tensor& tensor);

// A CPU tensor owning a copy of the data.
absl::StatusOr<torch::Tensor> ToTorch(const v1::Tensor& tensor);

// Encodes a tensor (moved to CPU, made contiguous) as raw bytes.
absl::StatusOr<v1::Tensor> FromTorch(const torch::Tensor& tensor);

}  // namespace rill

#endif  // RILL_COMMON_TORCH_TENSOR_H_
