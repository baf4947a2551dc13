#include "common/torch_tensor.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"
#include "torch/torch.h"

namespace rill {

absl::StatusOr<torch::ScalarType> ToTorchDType(v1::DType dtype) {
  switch (dtype) {
    case v1::DTYPE_FLOAT32: return torch::kFloat32;
    case v1::DTYPE_FLOAT64: return torch::kFloat64;
    case v1::DTYPE_INT32: return torch::kInt32;
    case v1::DTYPE_INT64: return torch::kInt64;
    case v1::DTYPE_UINT8: return torch::kUInt8;
    case v1::DTYPE_BOOL: return torch::kBool;
    default: return absl::InvalidArgumentError(absl::StrCat("no torch dtype for ", DTypeName(dtype)));
  }
}

absl::StatusOr<v1::DType> FromTorchDType(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32: return v1::DTYPE_FLOAT32;
    case torch::kFloat64: return v1::DTYPE_FLOAT64;
    case torch::kInt32: return v1::DTYPE_INT32;
    case torch::kInt64: return v1::DTYPE_INT64;
    case torch::kUInt8: return v1::DTYPE_UINT8;
    case torch::kBool: return v1::DTYPE_BOOL;
    default: return absl::InvalidArgumentError(absl::StrCat("torch dtype ", c10::toString(dtype), " has no rill.v1 dtype"));
  }
}

absl::StatusOr<torch::Tensor> ViewAsTorch(const v1::Tensor& tensor) {
  ASSIGN_OR_RETURN(torch::ScalarType dtype, ToTorchDType(tensor.dtype()));
  ASSIGN_OR_RETURN(int64_t elem_bytes, DTypeSize(tensor.dtype()));
  ASSIGN_OR_RETURN(int64_t n, NumElements(tensor.shape()));
  if (static_cast<int64_t>(tensor.data().size()) != n * elem_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("tensor of shape ", ShapeString(tensor.shape()), " and dtype ",
                                                   DTypeName(tensor.dtype()), " needs ", n * elem_bytes,
                                                   " bytes but has ", tensor.data().size()));
  }
  std::vector<int64_t> shape(tensor.shape().begin(), tensor.shape().end());
  void* data = const_cast<char*>(tensor.data().data());
  return torch::from_blob(data, shape, torch::TensorOptions().dtype(dtype));
}

absl::StatusOr<torch::Tensor> ToTorch(const v1::Tensor& tensor) {
  ASSIGN_OR_RETURN(torch::Tensor view, ViewAsTorch(tensor));
  return view.clone();
}

absl::StatusOr<v1::Tensor> FromTorch(const torch::Tensor& tensor) {
  try {
    torch::Tensor cpu = tensor.detach().to(torch::kCPU).contiguous();
    ASSIGN_OR_RETURN(v1::DType dtype, FromTorchDType(cpu.scalar_type()));
    std::vector<int64_t> shape(cpu.sizes().begin(), cpu.sizes().end());
    return MakeTensor(dtype, shape, cpu.data_ptr(), cpu.numel() * cpu.element_size());
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot encode tensor: ", e.what_without_backtrace()));
  }
}

}  // namespace rill
