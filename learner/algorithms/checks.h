// Helpers every algorithm in this folder shares: checking a batch tensor's
// dtype, shape and device with an error that names the field, observation
// columns as the networks take them, and counting an MLP's matmul FLOPs for
// the benchmark.
#ifndef RILL_LEARNER_ALGORITHMS_CHECKS_H_
#define RILL_LEARNER_ALGORITHMS_CHECKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/shape.h"
#include "common/torch_types.h"
#include "envs/spec.h"
#include "proto/tensor.pb.h"

namespace rill::learner {

// InvalidArgument naming "batch.<name>" when `t` is undefined, not of
// `dtype`, not on `device` or not of `shape`.
absl::Status CheckBatchField(const char* name, const torch::Tensor& t, const std::vector<int64_t>& shape,
                             const torch::Device& device, torch::ScalarType dtype = torch::kFloat);

// The dtype of `env`'s observation columns in replay: float32, or uint8
// for images (items/columns.h writes them so).
inline v1::DType ObservationColumnDType(const envs::EnvSpec& env) {
  return env.uint8_observations() ? v1::DTYPE_UINT8 : v1::DTYPE_FLOAT32;
}

// Observation rows [..., W] as the networks take them, on their own device
// and as the actors see them (envs/observation.h): uint8 (images) becomes
// float32 scaled by 1/255; a packed row of a Dict observation (uint8
// [..., image + 4 * flat_dim], EnvSpec::packed_observations) becomes its
// image's elements scaled followed by its flat leaves' float32s, [...,
// image + flat_dim]; float32 and undefined tensors are returned as they
// are. InvalidArgument-worthy widths (a packed row narrower than its flat
// leaves) throw c10::Error, as other malformed tensors do.
torch::Tensor FloatObservations(const torch::Tensor& observations, int64_t flat_dim = 0);

// 2 * rows * in * out summed over the layers l in [first, last) of an MLP
// with layer widths `sizes` (input first, output last).
int64_t MatmulFlops(const std::vector<int64_t>& sizes, int64_t rows, size_t first = 0);

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_CHECKS_H_
