#include "policies/blas_mlp.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/blas.h"
#include "common/tensor_codec.h"
#include "common/shape.h"

namespace rill::policies {

absl::Status LoadNamedParameters(const v1::ParameterSet& params, const std::vector<NamedParameter*>& targets) {
  if (params.tensors_size() != static_cast<int>(targets.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter set has ", params.tensors_size(), " tensors, expected ", targets.size()));
  }
  // Check everything before changing anything.
  for (size_t i = 0; i < targets.size(); ++i) {
    const v1::NamedTensor& source = params.tensors(static_cast<int>(i));
    const NamedParameter& target = *targets[i];
    if (source.name() != target.name) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter ", i, " is '", source.name(), "', expected '", target.name, "'"));
    }
    if (source.tensor().dtype() != v1::DTYPE_FLOAT32) {
      return absl::InvalidArgumentError(absl::StrCat("parameter '", target.name, "' must be float32"));
    }
    const std::vector<int64_t> shape(source.tensor().shape().begin(), source.tensor().shape().end());
    if (shape != target.shape) {
      return absl::InvalidArgumentError(absl::StrCat("parameter '", target.name, "' has shape ", ShapeString(shape),
                                                     ", expected ", ShapeString(target.shape)));
    }
    if (source.tensor().data().size() != target.values.size() * sizeof(float)) {
      return absl::InvalidArgumentError(absl::StrCat("parameter '", target.name, "' holds ",
                                                     source.tensor().data().size(), " bytes, its shape needs ",
                                                     target.values.size() * sizeof(float)));
    }
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    const std::string& data = params.tensors(static_cast<int>(i)).tensor().data();
    std::memcpy(targets[i]->values.data(), data.data(), data.size());
  }
  return absl::OkStatus();
}

v1::ParameterSet ExportNamedParameters(const std::vector<NamedParameter*>& params) {
  v1::ParameterSet set;
  for (const NamedParameter* param : params) {
    v1::NamedTensor* named = set.add_tensors();
    named->set_name(param->name);
    *named->mutable_tensor() =
        MakeTensor(v1::DTYPE_FLOAT32, param->shape, param->values.data(), param->values.size() * sizeof(float));
  }
  return set;
}

BlasMlp::BlasMlp(int in_dim, const std::vector<int>& hidden, int out_dim, const std::string& prefix, uint64_t seed,
                 v1::Activation activation)
    : gelu_(activation == v1::GELU) {
  EnsureFastOpenBlasKernels();
  widths_.push_back(in_dim);
  widths_.insert(widths_.end(), hidden.begin(), hidden.end());
  widths_.push_back(out_dim);
  std::mt19937_64 rng(seed);
  for (int l = 0; l < num_layers(); ++l) {
    const int in = widths_[l];
    const int out = widths_[l + 1];
    const float bound = 1.f / std::sqrt(static_cast<float>(in));
    std::uniform_real_distribution<float> uniform(-bound, bound);
    NamedParameter weight{absl::StrCat(prefix, ".layers.", l, ".weight"), {out, in},
                          std::vector<float>(static_cast<size_t>(out) * in)};
    NamedParameter bias{absl::StrCat(prefix, ".layers.", l, ".bias"), {out}, std::vector<float>(out)};
    for (float& w : weight.values) w = uniform(rng);
    for (float& b : bias.values) b = uniform(rng);
    parameters_.push_back(std::move(weight));
    parameters_.push_back(std::move(bias));
  }
}

const float* BlasMlp::Forward(const float* input, int64_t batch) {
  const float* x = input;
  for (int l = 0; l < num_layers(); ++l) {
    const int in = widths_[l];
    const int out = widths_[l + 1];
    std::vector<float>& y = buffers_[l % 2];
    y.resize(static_cast<size_t>(batch) * out);
    const std::vector<float>& bias = parameters_[2 * l + 1].values;
    for (int64_t r = 0; r < batch; ++r) std::memcpy(y.data() + r * out, bias.data(), out * sizeof(float));
    // y [batch, out] += x [batch, in] * W^T, W being [out, in].
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(batch), out, in, 1.f, x, in,
                parameters_[2 * l].values.data(), in, 1.f, y.data(), out);
    if (l + 1 < num_layers() && gelu_) {
      // x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2))).
      for (float& v : y) v = 0.5f * v * (1.f + std::erf(v * 0.70710678118654752f));
    } else if (l + 1 < num_layers()) {
      for (float& v : y) v = std::max(v, 0.f);
    }
    x = y.data();
  }
  return x;
}

}  // namespace rill::policies
