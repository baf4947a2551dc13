// What the algorithms' unit tests share: setting a tiny network's
// parameters by hand, and the obviously-correct autograd MLP the
// hand-derived gradients are checked against.
#ifndef RILL_LEARNER_ALGORITHMS_TEST_UTIL_H_
#define RILL_LEARNER_ALGORITHMS_TEST_UTIL_H_

#include <map>
#include <string>
#include <vector>

#include "torch/torch.h"

namespace rill::learner {

// Writes `values` (row-major) into the live parameter view `target`.
inline void Set(const torch::Tensor& target, std::vector<float> values) {
  torch::NoGradGuard no_grad;
  target.copy_(torch::tensor(values).view(target.sizes()));
}

// The MLP `prefix` (parameters "<prefix>.layers.<l>.weight" / ".bias" in
// `p`) applied to `h` with autograd: ReLU between `layers` linear layers.
// `member` >= 0 picks one member of an ensemble.
inline torch::Tensor Mlp(torch::Tensor h, const std::map<std::string, torch::Tensor>& p, const std::string& prefix,
                         int layers, int member) {
  for (int l = 0; l < layers; ++l) {
    torch::Tensor w = p.at(prefix + ".layers." + std::to_string(l) + ".weight");
    torch::Tensor b = p.at(prefix + ".layers." + std::to_string(l) + ".bias");
    if (member >= 0) {
      w = w[member];
      b = b[member];
    }
    h = torch::nn::functional::linear(h, w, b);
    if (l + 1 < layers) h = torch::relu(h);
  }
  return h;
}

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_TEST_UTIL_H_
