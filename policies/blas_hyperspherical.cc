#include "policies/blas_hyperspherical.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/blas.h"

namespace rill::policies {
namespace {

// Each of `rows` rows of `width` floats scaled to unit norm (l2).
void NormalizeRows(float* v, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = v + r * width;
    double sum = 0;
    for (int64_t j = 0; j < width; ++j) sum += static_cast<double>(row[j]) * row[j];
    const float inv = static_cast<float>(1.0 / std::max(std::sqrt(sum), kSphereNormEpsilon));
    for (int64_t j = 0; j < width; ++j) row[j] *= inv;
  }
}

NamedParameter Weight(const std::string& name, int out, int in, std::mt19937_64& rng) {
  const float bound = 1.f / std::sqrt(static_cast<float>(in));
  std::uniform_real_distribution<float> uniform(-bound, bound);
  NamedParameter weight{name, {out, in}, std::vector<float>(static_cast<size_t>(out) * in)};
  for (float& w : weight.values) w = uniform(rng);
  NormalizeRows(weight.values.data(), out, in);
  return weight;
}

NamedParameter Filled(const std::string& name, int n, float value) {
  return NamedParameter{name, {n}, std::vector<float>(n, value)};
}

}  // namespace

BlasHypersphericalMlp::BlasHypersphericalMlp(int in_dim, int hidden, int blocks, int out_dim, float shift,
                                             const std::string& prefix, uint64_t seed)
    : in_dim_(in_dim), hidden_(hidden), blocks_(blocks), out_dim_(out_dim), shift_(shift) {
  EnsureFastOpenBlasKernels();
  std::mt19937_64 rng(seed);
  parameters_.push_back(Weight(prefix + ".embed.weight", hidden, in_dim + 1, rng));
  parameters_.push_back(Filled(prefix + ".embed.scaler", hidden, 1.f));
  for (int b = 0; b < blocks; ++b) {
    const std::string block = absl::StrCat(prefix, ".blocks.", b);
    parameters_.push_back(Weight(block + ".w1", 4 * hidden, hidden, rng));
    parameters_.push_back(Filled(block + ".scaler", 4 * hidden, 1.f));
    parameters_.push_back(Weight(block + ".w2", hidden, 4 * hidden, rng));
    parameters_.push_back(Filled(block + ".alpha", hidden, 1.f / static_cast<float>(blocks + 1)));
  }
  parameters_.push_back(Weight(prefix + ".output.weight", out_dim, hidden, rng));
  parameters_.push_back(Filled(prefix + ".output.scaler", out_dim, std::sqrt(static_cast<float>(hidden))));
  parameters_.push_back(Filled(prefix + ".output.bias", out_dim, 0.f));
}

void BlasHypersphericalMlp::Multiply(const float* x, int64_t batch, const NamedParameter& w, float* y) {
  const int out = static_cast<int>(w.shape[0]);
  const int in = static_cast<int>(w.shape[1]);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(batch), out, in, 1.f, x, in,
              w.values.data(), in, 0.f, y, out);
}

const float* BlasHypersphericalMlp::Forward(const float* input, int64_t batch) {
  const int64_t in = in_dim_ + 1, h = hidden_;
  x_.resize(static_cast<size_t>(batch * in));
  for (int64_t r = 0; r < batch; ++r) {
    std::memcpy(x_.data() + r * in, input + r * in_dim_, in_dim_ * sizeof(float));
    x_[r * in + in_dim_] = shift_;
  }
  NormalizeRows(x_.data(), batch, in);
  h_.resize(static_cast<size_t>(batch * h));
  Multiply(x_.data(), batch, parameters_[0], h_.data());
  for (int64_t i = 0; i < batch * h; ++i) h_[i] *= parameters_[1].values[i % h];
  NormalizeRows(h_.data(), batch, h);
  wide_.resize(static_cast<size_t>(batch * 4 * h));
  t_.resize(static_cast<size_t>(batch * h));
  for (int b = 0; b < blocks_; ++b) {
    const NamedParameter* p = &parameters_[2 + 4 * b];
    Multiply(h_.data(), batch, p[0], wide_.data());
    for (int64_t i = 0; i < batch * 4 * h; ++i) wide_[i] = std::max(wide_[i] * p[1].values[i % (4 * h)], 0.f);
    Multiply(wide_.data(), batch, p[2], t_.data());
    NormalizeRows(t_.data(), batch, h);
    for (int64_t i = 0; i < batch * h; ++i) h_[i] += p[3].values[i % h] * (t_[i] - h_[i]);
    NormalizeRows(h_.data(), batch, h);
  }
  const NamedParameter* o = &parameters_[2 + 4 * blocks_];
  out_.resize(static_cast<size_t>(batch * out_dim_));
  Multiply(h_.data(), batch, o[0], out_.data());
  for (int64_t i = 0; i < batch * out_dim_; ++i) {
    out_[i] = out_[i] * o[1].values[i % out_dim_] + o[2].values[i % out_dim_];
  }
  return out_.data();
}

}  // namespace rill::policies
