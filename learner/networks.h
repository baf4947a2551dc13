// Networks shared by the learner and the actors.
//
// FlatMlp is an ensemble of E independent MLPs (ReLU hidden layers, linear
// output) whose parameters live in ONE contiguous float32 buffer, with a
// second buffer of the same layout for gradients. Keeping a whole network in
// one buffer turns an optimizer step or a Polyak average into a handful of
// large element-wise ops; the ensemble holds SAC's twin critics, which then
// share every call (see the CPU task split below). Forward and Backward are
// explicit (no autograd): Backward computes only the gradients its caller
// asks for, writing weight gradients straight into the gradient buffer.
//
// GaussianPolicy is the tanh-squashed Gaussian policy actors run, reading the
// parameters the learner publishes (Sac::ExportPolicy produces the same names
// and layout, see kPolicyPrefix below).
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
#include "proto/parameters.pb.h"
#include "torch/torch.h"

namespace rill::learner {

// Debian's OpenBLAS 0.3.21 does not recognise recent Xeons (Sapphire/Emerald
// Rapids) and falls back to its SSE3 "Prescott" kernels, which run a 256x256
// matmul 4x slower (measured on the 2-core build machine: 74 vs 292 GFLOP/s).
// When the process's BLAS is a dynamic-arch OpenBLAS that picked such a
// generic core, OPENBLAS_CORETYPE is unset and the CPU supports AVX-512 (or
// AVX2), this switches OpenBLAS to its SkylakeX (or Haswell) kernels, exactly
// as OPENBLAS_CORETYPE would at start-up. It runs once per process; later
// calls return the first answer. It must run before any other thread calls
// BLAS, so FlatMlp::Create calls it. Returns the OpenBLAS core in use ("" when
// the BLAS is not OpenBLAS).
std::string EnsureFastOpenBlasKernels();

// Sizes of an ensemble of `ensemble` MLPs in_dim -> hidden... -> out_dim.
struct MlpShape {
  int64_t in_dim = 0;
  std::vector<int64_t> hidden;
  int64_t out_dim = 0;
  int64_t ensemble = 1;
};

// What Forward keeps for Backward, and the buffers Forward and Backward write
// into: reusing one trace for calls with the same batch size allocates no
// memory (large per-call allocations cost page faults on every update).
struct MlpTrace {
  torch::Tensor input;                     // [B, in] shared by all members, or [E, B, in]
  std::vector<torch::Tensor> outputs;      // outputs[l]: [E, B, out_l], after the ReLU
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
  // -> [E, B, out_dim]. Records what Backward needs in `trace` and writes
  // the activations into its buffers: the result lives in `trace` and is
  // overwritten by the next Forward with it. Never records autograd history.
  torch::Tensor Forward(const torch::Tensor& x, MlpTrace& trace) const;

  // Back-propagates grad_out ([E, B', out_dim], contiguous) through the pass recorded in
  // `trace`, restricted to the rows [row_begin, row_begin + B') of its batch
  // (so one Forward over a concatenated batch can be differentiated for one
  // part only). When `weight_grads`, writes d loss / d parameters into
  // grads() (overwriting: no zeroing is needed). When input_columns is set,
  // returns d loss / d input[..., begin:end] ([E, B', end - begin]) without
  // computing the rest of the input gradient; otherwise returns an undefined
  // tensor and skips the first layer's input gradient entirely. The result
  // lives in `trace` until its next Backward.
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
  // The number of row blocks a pass over `rows` rows is split into.
  int64_t RowBlocks(int64_t rows) const;
  static std::vector<std::pair<std::string, torch::Tensor>> Named(const std::string& prefix,
                                                                  const std::vector<torch::Tensor>& weights,
                                                                  const std::vector<torch::Tensor>& biases);

  MlpShape shape_;
  torch::Tensor params_;
  torch::Tensor grads_;
  std::vector<torch::Tensor> weights_, biases_, weight_grads_, bias_grads_;
};

// Prefix of the policy's parameter names: the learner publishes and actors
// load "policy.layers.<l>.weight" ([out, in]) and "policy.layers.<l>.bias"
// ([out]). The last layer has 2 * act_dim outputs: the mean in the first
// act_dim, the unclamped log standard deviation in the rest.
inline constexpr char kPolicyPrefix[] = "policy";
// log_std is clamped to [kLogStdMin, kLogStdMax] (as in SB3 and CleanRL).
inline constexpr double kLogStdMin = -20.0;
inline constexpr double kLogStdMax = 2.0;

// Encodes named tensors as a ParameterSet (CPU float32 copies).
absl::StatusOr<rill::v1::ParameterSet> ToParameterSet(
    const std::vector<std::pair<std::string, torch::Tensor>>& named);

// Copies `params` into `named` (views into a network), requiring the same
// names, dtypes and shapes. InvalidArgument naming the offending tensor
// otherwise; on error nothing has been changed.
absl::Status CopyFromParameterSet(const rill::v1::ParameterSet& params,
                                  const std::vector<std::pair<std::string, torch::Tensor>>& named);

// obs -> MLP(hidden, ReLU) -> (mean, log_std); action = tanh(mean + std * N(0, 1)).
class GaussianPolicy {
 public:
  // InvalidArgument for non-positive sizes. `seed` seeds the initial
  // parameters and the policy's own noise generator.
  static absl::StatusOr<std::unique_ptr<GaussianPolicy>> Create(int obs_dim, int act_dim,
                                                                const std::vector<int>& hidden, uint64_t seed);

  // obs [B, obs_dim] float32 CPU -> actions [B, act_dim] float32 in [-1, 1].
  // deterministic: tanh(mean). No autograd; allocates only the activations.
  // The caller guarantees the shape (a mismatch is a programming error in the
  // actor and throws c10::Error).
  torch::Tensor Act(const torch::Tensor& obs, bool deterministic);

  // Replaces the parameters with a published set. InvalidArgument naming the
  // tensor when names or shapes differ; the old parameters stay then.
  absl::Status LoadParameters(const rill::v1::ParameterSet& params);
  absl::StatusOr<rill::v1::ParameterSet> ExportParameters() const;

  int obs_dim() const { return static_cast<int>(mlp_.shape().in_dim); }
  int act_dim() const { return act_dim_; }

 private:
  GaussianPolicy(FlatMlp mlp, int act_dim, uint64_t seed);

  FlatMlp mlp_;
  int act_dim_;
  MlpTrace trace_;
  at::Generator generator_;
  std::vector<std::pair<std::string, torch::Tensor>> named_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_NETWORKS_H_
