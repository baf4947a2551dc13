#include "learner/algorithms/checks.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "envs/observation.h"
#include "torch/torch.h"

namespace rill::learner {

absl::Status CheckBatchField(const char* name, const torch::Tensor& t, const std::vector<int64_t>& shape,
                             const torch::Device& device, torch::ScalarType dtype) {
  if (!t.defined()) return absl::InvalidArgumentError(absl::StrCat("batch.", name, " is missing"));
  if (t.scalar_type() != dtype) {
    return absl::InvalidArgumentError(absl::StrCat("batch.", name, " must be ", c10::toString(dtype), ", not ",
                                                   c10::toString(t.scalar_type())));
  }
  if (t.device() != device) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch.", name, " is on ", t.device().str(), ", the learner on ", device.str()));
  }
  if (t.sizes() != at::IntArrayRef(shape)) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch.", name, " has shape ", ShapeString(t.sizes()), ", expected ", ShapeString(shape)));
  }
  return absl::OkStatus();
}

torch::Tensor FloatObservations(const torch::Tensor& observations, int64_t flat_dim) {
  if (!observations.defined() || observations.scalar_type() != torch::kUInt8) return observations;
  if (flat_dim == 0) return observations.to(torch::kFloat32).mul_(envs::kUint8ObservationScale);
  const int64_t width = observations.size(-1);
  const int64_t image = width - 4 * flat_dim;
  TORCH_CHECK(image >= 0, "observation rows of ", width, " bytes cannot hold ", flat_dim, " float32 flat leaves");
  // The flat leaves' bytes, copied out contiguous, read as the float32s
  // they are.
  torch::Tensor flat = observations.narrow(-1, image, 4 * flat_dim).contiguous().view(torch::kFloat32);
  torch::Tensor pixels = observations.narrow(-1, 0, image).to(torch::kFloat32).mul_(envs::kUint8ObservationScale);
  return torch::cat({pixels, flat}, -1);
}

int64_t MatmulFlops(const std::vector<int64_t>& sizes, int64_t rows, size_t first) {
  int64_t flops = 0;
  for (size_t l = first; l + 1 < sizes.size(); ++l) flops += 2 * rows * sizes[l] * sizes[l + 1];
  return flops;
}

}  // namespace rill::learner
