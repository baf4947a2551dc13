// LibTorch's tensor types for a header that only names them: torch::Tensor,
// torch::Device, torch::ScalarType (torch::kFloat, ...), at::Generator,
// c10::Error, a tensor's operator<<, and torch::jit::Module declared.
// ATen's core headers cost a file about 3 s of GCC 12 at -O2 where
// "torch/torch.h" costs 18, and most of the files that include such a
// header call no operator. A file that calls torch's operators (torch::cat,
// torch::NoGradGuard, torch::kFloat32, ...) includes "torch/torch.h" itself.
#ifndef RILL_COMMON_TORCH_TYPES_H_
#define RILL_COMMON_TORCH_TYPES_H_

#include "ATen/core/Formatting.h"
#include "ATen/core/Generator.h"
#include "ATen/core/Tensor.h"
#include "c10/core/Device.h"
#include "c10/core/ScalarType.h"
#include "c10/util/Exception.h"

// What torch/types.h declares: torch:: names ATen's (torch::Tensor is
// at::Tensor).
namespace torch {
using namespace at;  // NOLINT(build/namespaces)
namespace jit {
struct Module;
}  // namespace jit
}  // namespace torch

#endif  // RILL_COMMON_TORCH_TYPES_H_
