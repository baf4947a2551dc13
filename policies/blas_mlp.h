// BlasMlp: the forward pass of the policies actors run (ReLU or GELU hidden
// layers, a linear head) over plain float buffers, one cblas_sgemm per layer, so an
// actor needs no LibTorch. Its parameters carry the names and shapes of the
// learner's FlatMlp ("<prefix>.layers.<l>.weight" [out, in], ".bias" [out]),
// so a published ParameterSet loads into either.
//
// Thread safety: none; each policy owns its own BlasMlp.
#ifndef RILL_POLICIES_BLAS_MLP_H_
#define RILL_POLICIES_BLAS_MLP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/parameters.pb.h"

namespace rill::policies {

// One float32 parameter tensor, row-major.
struct NamedParameter {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// Copies `params` into `targets`, requiring the same names in the same
// order, float32 and the same shapes. InvalidArgument naming the offending
// tensor otherwise; on error nothing has been changed.
absl::Status LoadNamedParameters(const v1::ParameterSet& params, const std::vector<NamedParameter*>& targets);

// `params` as a ParameterSet (float32 tensors, no PolicySpec).
v1::ParameterSet ExportNamedParameters(const std::vector<NamedParameter*>& params);

class BlasMlp {
 public:
  // in_dim -> hidden... -> out_dim, initialised as torch.nn.Linear is
  // (weights and biases uniform in +-1/sqrt(fan_in)), drawn from `seed`.
  // Sizes must be positive (the caller has checked its spec).
  // `activation`: GELU (the exact one), or ReLU for anything else.
  BlasMlp(int in_dim, const std::vector<int>& hidden, int out_dim, const std::string& prefix, uint64_t seed,
          v1::Activation activation = v1::RELU);

  int in_dim() const { return widths_.front(); }
  int out_dim() const { return widths_.back(); }
  int num_layers() const { return static_cast<int>(widths_.size()) - 1; }

  // input [batch, in_dim] -> the head's outputs [batch, out_dim], row-major,
  // valid until the next call.
  const float* Forward(const float* input, int64_t batch);

  // Weight and bias of each layer in order: 2 * num_layers() entries.
  std::vector<NamedParameter>& parameters() { return parameters_; }
  const std::vector<NamedParameter>& parameters() const { return parameters_; }

 private:
  std::vector<int> widths_;  // in_dim, hidden..., out_dim
  bool gelu_ = false;
  std::vector<NamedParameter> parameters_;
  std::vector<float> buffers_[2];  // activations, alternating per layer
};

}  // namespace rill::policies

#endif  // RILL_POLICIES_BLAS_MLP_H_
