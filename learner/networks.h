// Networks shared by the learner and the actors.
//
// FlatMlp is an ensemble of E independent MLPs (ReLU or GELU hidden layers,
// linear output) whose parameters live in ONE contiguous float32 buffer, with a
// second buffer of the same layout for gradients. Keeping a whole network in
// one buffer turns an optimizer step or a Polyak average into a handful of
// large element-wise ops; the ensemble holds SAC's twin critics, which then
// share every call (see the CPU task split below). Forward and Backward are
// explicit (no autograd): Backward computes only the gradients its caller
// asks for, writing weight gradients straight into the gradient buffer.
//
// The policies actors run (policies/) share FlatMlp's parameter
// names and layout but run on BlasMlp, without LibTorch.
//
// Thread safety: none of these classes is safe for concurrent use; each actor
// or learner thread owns its own instance.
#ifndef RILL_LEARNER_NETWORKS_H_
#define RILL_LEARNER_NETWORKS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/blas.h"  // EnsureFastOpenBlasKernels
#include "proto/parameters.pb.h"
#include "torch/torch.h"

namespace rill::learner {

// Sizes of an ensemble of `ensemble` MLPs in_dim -> hidden... -> out_dim.
struct MlpShape {
  int64_t in_dim = 0;
  std::vector<int64_t> hidden;
  int64_t out_dim = 0;
  int64_t ensemble = 1;
  // The hidden layers': GELU (the exact one), or ReLU for anything else.
  v1::Activation activation = v1::RELU;
};

// What Forward keeps for Backward, and the buffers Forward and Backward write
// into: reusing one trace for calls with the same batch size allocates no
// memory (large per-call allocations cost page faults on every update).
struct MlpTrace {
  torch::Tensor input;                     // [B, in] shared by all members, or [E, B, in]
  std::vector<torch::Tensor> outputs;      // outputs[l]: [M, B, out_l], after the activation (M members run)
  std::vector<torch::Tensor> pre;          // GELU: pre[l], hidden layer l before it (ReLU needs none)
  std::vector<torch::Tensor> input_grads;  // Backward's d loss / d input of layer l
  torch::Tensor partial_grads;             // [row blocks - 1, num_parameters]
};

// On the CPU, Forward and Backward split their work into independent tasks,
// one per ensemble member and block of rows, and run them on the intra-op
// threads (at::parallel_for), each task calling single-threaded BLAS on its
// own slice: the twin critics run side by side on two cores, and an actor's
// rows are split in two. This beats running each matmul on all threads in
// turn (no cross-core traffic for the element-wise ops, no barrier per op;
// measured on 2 cores: two 256^3 single-thread matmuls side by side take
// 191 us, one after the other on both threads 233 us). Elsewhere the tasks
// run one after the other.
class FlatMlp {
 public:
  // Parameters initialised as torch.nn.Linear does (uniform in
  // +-1/sqrt(fan_in) for weights and biases), drawn from `seed`, then moved to
  // `device`. InvalidArgument for non-positive sizes.
  static absl::StatusOr<FlatMlp> Create(const MlpShape& shape, uint64_t seed, torch::Device device);

  FlatMlp() = default;
  FlatMlp(const FlatMlp&) = delete;
  FlatMlp& operator=(const FlatMlp&) = delete;
  FlatMlp(FlatMlp&&) = default;
  FlatMlp& operator=(FlatMlp&&) = default;

  // A network of the same shape with a copy of this one's parameters (target
  // networks).
  FlatMlp Clone() const;

  const MlpShape& shape() const { return shape_; }
  int num_layers() const { return static_cast<int>(weights_.size()); }
  int64_t num_parameters() const { return params_.numel(); }

  // The flat buffers; weight(l) / bias(l) / *_grad(l) are views into them.
  const torch::Tensor& params() const { return params_; }
  const torch::Tensor& grads() const { return grads_; }
  // Weight of layer l: [E, out, in] (torch.nn.Linear's [out, in] per member).
  const torch::Tensor& weight(int l) const { return weights_[l]; }
  // Bias of layer l: [E, 1, out].
  const torch::Tensor& bias(int l) const { return biases_[l]; }

  // x: [E, B, in_dim], or [B, in_dim] when all members see the same input
  // -> [M, B, out_dim], running only the first M = `members` members (-1:
  // all E; e.g. TD3's actor loss reads critic 1 alone, and a lone member's
  // rows are then split over the cores instead). Records what Backward needs
  // in `trace` and writes the activations into its buffers: the result
  // lives in `trace` and is overwritten by the next Forward with it. Never
  // records autograd history. Throws c10::Error for members outside [1, E]
  // (or -1): a programming error, turned into a Status by the caller's
  // catch.
  torch::Tensor Forward(const torch::Tensor& x, MlpTrace& trace, int64_t members = -1) const;

  // Back-propagates grad_out ([M, B', out_dim], contiguous) through the pass recorded in
  // `trace`, for its first M members (the trace must hold at least M,
  // i.e. come from a Forward over at least M members), restricted to the
  // rows [row_begin, row_begin + B') of its batch
  // (so one Forward over a concatenated batch can be differentiated for one
  // part only). When `weight_grads`, writes d loss / d parameters of
  // members [0, M) into grads() (overwriting: no zeroing is needed); the
  // gradients of members M and up are left as they were. When
  // input_columns is set, returns d loss / d input[..., begin:end]
  // ([M, B', end - begin]) without computing the rest of the input
  // gradient; otherwise returns an undefined tensor and skips the first
  // layer's input gradient entirely. The result lives in `trace` until its
  // next Backward.
  torch::Tensor Backward(MlpTrace& trace, const torch::Tensor& grad_out, int64_t row_begin,
                         bool weight_grads, std::optional<std::pair<int64_t, int64_t>> input_columns);

  // Named views of the parameters (`prefix`.layers.<l>.weight / .bias), with
  // the ensemble dimension dropped when E == 1: for E == 1 these are exactly
  // torch.nn.Linear's shapes.
  std::vector<std::pair<std::string, torch::Tensor>> NamedParameters(const std::string& prefix) const;
  // The same for the gradient buffer.
  std::vector<std::pair<std::string, torch::Tensor>> NamedGradients(const std::string& prefix) const;

 private:
  void BindViews();
  // The number of row blocks a pass of `members` members over `rows` rows
  // is split into.
  int64_t RowBlocks(int64_t members, int64_t rows) const;
  static std::vector<std::pair<std::string, torch::Tensor>> Named(const std::string& prefix,
                                                                  const std::vector<torch::Tensor>& weights,
                                                                  const std::vector<torch::Tensor>& biases);

  MlpShape shape_;
  torch::Tensor params_;
  torch::Tensor grads_;
  std::vector<torch::Tensor> weights_, biases_, weight_grads_, bias_grads_;
};

// Encodes named tensors as a ParameterSet (CPU float32 copies).
absl::StatusOr<rill::v1::ParameterSet> ToParameterSet(
    const std::vector<std::pair<std::string, torch::Tensor>>& named);

// Copies `params` into `named` (views into a network), requiring the same
// names, dtypes and shapes. InvalidArgument naming the offending tensor
// otherwise; on error nothing has been changed.
absl::Status CopyFromParameterSet(const rill::v1::ParameterSet& params,
                                  const std::vector<std::pair<std::string, torch::Tensor>>& named);

}  // namespace rill::learner

#endif  // RILL_LEARNER_NETWORKS_H_
