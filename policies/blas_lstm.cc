#include "policies/blas_lstm.h"

#include <cblas.h>

#include <cmath>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/blas.h"

namespace rill::policies {
namespace {

float Sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

}  // namespace

BlasLstm::BlasLstm(int in_dim, int size, const std::string& prefix, uint64_t seed) : in_dim_(in_dim), size_(size) {
  EnsureFastOpenBlasKernels();
  const int gates = 4 * size;
  std::mt19937_64 rng(seed);
  const float bound = 1.f / std::sqrt(static_cast<float>(size));
  std::uniform_real_distribution<float> uniform(-bound, bound);
  NamedParameter weight_ih{absl::StrCat(prefix, ".lstm.weight_ih"), {gates, in_dim},
                           std::vector<float>(static_cast<size_t>(gates) * in_dim)};
  NamedParameter weight_hh{absl::StrCat(prefix, ".lstm.weight_hh"), {gates, size},
                           std::vector<float>(static_cast<size_t>(gates) * size)};
  NamedParameter bias{absl::StrCat(prefix, ".lstm.bias"), {gates}, std::vector<float>(gates)};
  for (float& w : weight_ih.values) w = uniform(rng);
  for (float& w : weight_hh.values) w = uniform(rng);
  for (float& b : bias.values) b = uniform(rng);
  for (float& b : bias.values) b += uniform(rng);
  parameters_.push_back(std::move(weight_ih));
  parameters_.push_back(std::move(weight_hh));
  parameters_.push_back(std::move(bias));
}

void BlasLstm::Step(const float* input, int64_t batch, float* state) {
  const int n = size_;
  const int gates = 4 * n;
  const int rows = static_cast<int>(batch);
  gates_.resize(static_cast<size_t>(batch) * gates);
  h_.resize(static_cast<size_t>(batch) * n);
  const std::vector<float>& bias = parameters_[2].values;
  for (int64_t r = 0; r < batch; ++r) std::memcpy(gates_.data() + r * gates, bias.data(), gates * sizeof(float));
  // gates [batch, 4N] += input [batch, in] * W_ih^T, W_ih being [4N, in].
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, gates, in_dim_, 1.f, input, in_dim_,
              parameters_[0].values.data(), in_dim_, 1.f, gates_.data(), gates);
  // gates += h [batch, N] * W_hh^T, h read in place from the state rows
  // (leading dimension 2N).
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, gates, n, 1.f, state, 2 * n,
              parameters_[1].values.data(), n, 1.f, gates_.data(), gates);
  for (int64_t r = 0; r < batch; ++r) {
    const float* g = gates_.data() + r * gates;
    float* h = state + r * 2 * n;
    float* c = h + n;
    float* h_out = h_.data() + r * n;
    for (int j = 0; j < n; ++j) {
      const float input_gate = Sigmoid(g[j]);
      const float forget_gate = Sigmoid(g[n + j]);
      const float cell = std::tanh(g[2 * n + j]);
      const float output_gate = Sigmoid(g[3 * n + j]);
      c[j] = forget_gate * c[j] + input_gate * cell;
      h_out[j] = h[j] = output_gate * std::tanh(c[j]);
    }
  }
}

}  // namespace rill::policies
