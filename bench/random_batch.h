// RandomBatch: a batch of random items with the columns an algorithm
// reads, for timing its update (`rill bench learner`, `rill bench system`).
#ifndef RILL_BENCH_RANDOM_BATCH_H_
#define RILL_BENCH_RANDOM_BATCH_H_

#include <cstdint>

#include "learner/algorithms/interface.h"
#include "torch/torch.h"

namespace rill::bench {

// `batch` items of every column `algorithm` requires (optional ones left
// out): uint8 pixels in 0..255, int64 actions in 0..num_actions-1,
// continuous actions in [-1, 1], terminations 1 in about 20 rows, a
// recurrent core's state near 0, other floats standard normal. On `device`.
learner::Batch RandomBatch(const learner::Algorithm& algorithm, int64_t batch, int64_t num_actions,
                           const torch::Device& device = torch::kCPU);

}  // namespace rill::bench

#endif  // RILL_BENCH_RANDOM_BATCH_H_
