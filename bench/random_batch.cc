#include "bench/random_batch.h"

#include <vector>

namespace rill::bench {

learner::Batch RandomBatch(const learner::Algorithm& algorithm, int64_t batch, int64_t num_actions,
                           const torch::Device& device) {
  const auto float_options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  learner::Batch random;
  random.size = batch;
  for (const learner::ColumnRequirement& column : algorithm.Columns()) {
    if (column.optional) continue;
    std::vector<int64_t> shape = {batch};
    shape.insert(shape.end(), column.shape.begin(), column.shape.end());
    torch::Tensor values;
    if (column.dtype == v1::DTYPE_UINT8) {
      values = torch::randint(0, 256, shape, float_options.dtype(torch::kUInt8));
    } else if (column.dtype == v1::DTYPE_INT64) {
      values = torch::randint(0, num_actions, shape, float_options.dtype(torch::kInt64));
    } else if (column.name == "action") {
      values = torch::rand(shape, float_options).mul_(2).sub_(1);
    } else if (column.name == "core_state") {
      values = torch::randn(shape, float_options).mul_(0.1);
    } else if (column.name == "terminated" || column.name == "truncated") {
      values = torch::rand(shape, float_options).lt(0.05).to(torch::kFloat32);
    } else {
      values = torch::randn(shape, float_options);
    }
    random.columns[column.name] = values;
  }
  return random;
}

}  // namespace rill::bench
