// Named parameter tensors as views of one flat buffer, for the learners
// that differentiate with LibTorch's autograd (DrQ-v2, DroQ): one buffer
// per network keeps Adam one fused pass and Polyak averaging one lerp_, as
// the hand-differentiated FlatMlp does, while autograd flows from the
// views back into the buffer's gradient.
#ifndef RILL_LEARNER_ALGORITHMS_FLAT_LAYOUT_H_
#define RILL_LEARNER_ALGORITHMS_FLAT_LAYOUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/torch_types.h"

namespace rill::learner {

struct FlatLayout {
  // How a tensor starts: uniform in +-1/sqrt(fan_in) (torch.nn.Linear's
  // weights and biases), or a LayerNorm's scale (1) or shift (0).
  enum class Init { kUniform, kOne, kZero };

  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<int64_t> fan_ins;
  std::vector<Init> inits;
  int64_t size = 0;

  // kUniform for fan_in > 0, else kZero (or kOne when `scale`).
  void Add(const std::string& name, std::vector<int64_t> shape, int64_t fan_in, bool scale = false);
  // One view per entry, in the order added; views of a flat tensor that
  // requires grad carry autograd back into it.
  std::vector<torch::Tensor> Views(const torch::Tensor& flat) const;
  // The views of `flat` as leaves of their own for autograd, sharing its
  // storage. Differentiate with respect to these, not to a flat tensor
  // through Views: autograd's backward of each view of a leaf writes a
  // zero tensor the size of the whole buffer (CrossQ's 2 x 2048 critics
  // spent four fifths of an update there).
  std::vector<torch::Tensor> Leaves(const torch::Tensor& flat) const;
  // Copies one gradient per entry (of Leaves) into `flat_grad`'s views.
  void CopyToFlat(const std::vector<torch::Tensor>& grads, const torch::Tensor& flat_grad) const;
  // A new float32 CPU buffer of `size` with every entry initialised as its
  // Init says, drawn from `generator`.
  torch::Tensor Initialised(at::Generator& generator) const;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_FLAT_LAYOUT_H_
