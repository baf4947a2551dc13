// Helpers every algorithm in this folder shares: checking a batch tensor's
// dtype, shape and device with an error that names the field, and counting
// an MLP's matmul FLOPs for the benchmark.
#ifndef RILL_LEARNER_ALGORITHMS_CHECKS_H_
#define RILL_LEARNER_ALGORITHMS_CHECKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "torch/torch.h"
#include "common/shape.h"

namespace rill::learner {

// InvalidArgument naming "batch.<name>" when `t` is undefined, not of
// `dtype`, not on `device` or not of `shape`.
absl::Status CheckBatchField(const char* name, const torch::Tensor& t, const std::vector<int64_t>& shape,
                             const torch::Device& device, torch::ScalarType dtype = torch::kFloat32);

// 2 * rows * in * out summed over the layers l in [first, last) of an MLP
// with layer widths `sizes` (input first, output last).
int64_t MatmulFlops(const std::vector<int64_t>& sizes, int64_t rows, size_t first = 0);

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_CHECKS_H_
