// BlasHypersphericalMlp: the forward pass of SimbaV2's hyperspherical
// network (PolicySpec.hyperspherical; Lee et al. 2025) over plain float
// buffers, one cblas_sgemm per matrix, so that an actor runs SimbaV2's
// actor without LibTorch. Its normalisations onto the unit sphere are not
// affine, so the network does not fold into a BlasMlp. With l2(v) = v /
// max(|v|, 1e-8) per row:
//   x = l2([input, shift]); h = l2(embed.scaler * (embed.weight x));
//   per block: t = l2(w2 relu(scaler * (w1 h))); h = l2(h + alpha * (t - h));
//   out = output.scaler * (output.weight h) + output.bias.
// Its parameters carry the names and shapes the learner's SimbaV2 exports
// (learner/algorithms/hyperspherical.h, one member): "<prefix>.embed.weight"
// [H, in + 1], ".embed.scaler" [H], "<prefix>.blocks.<b>.w1" [4H, H],
// ".scaler" [4H], ".w2" [H, 4H], ".alpha" [H], "<prefix>.output.weight"
// [out, H], ".scaler" [out], ".bias" [out].
//
// Thread safety: none; each policy owns its own.
#ifndef RILL_POLICIES_BLAS_HYPERSPHERICAL_H_
#define RILL_POLICIES_BLAS_HYPERSPHERICAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "policies/blas_mlp.h"

namespace rill::policies {

// l2's floor on a norm (learner/algorithms/hyperspherical.h's kSphereEpsilon).
inline constexpr double kSphereNormEpsilon = 1e-8;

class BlasHypersphericalMlp {
 public:
  // Sizes positive, blocks >= 0 (the caller has checked its spec). Weights
  // drawn uniform in +-1/sqrt(fan_in) from `seed`, then their rows scaled
  // to unit norm; scalers 1, alpha 1 / (blocks + 1), the output's scaler
  // sqrt(H) and bias 0, as the learner starts them.
  BlasHypersphericalMlp(int in_dim, int hidden, int blocks, int out_dim, float shift, const std::string& prefix,
                        uint64_t seed);

  int in_dim() const { return in_dim_; }
  int out_dim() const { return out_dim_; }

  // input [batch, in_dim] -> [batch, out_dim], row-major, valid until the
  // next call.
  const float* Forward(const float* input, int64_t batch);

  // In the order the header lists them.
  std::vector<NamedParameter>& parameters() { return parameters_; }
  const std::vector<NamedParameter>& parameters() const { return parameters_; }

 private:
  // y [batch, out] = x [batch, in] times W [out, in] transposed.
  static void Multiply(const float* x, int64_t batch, const NamedParameter& w, float* y);

  int in_dim_, hidden_, blocks_, out_dim_;
  float shift_;
  std::vector<NamedParameter> parameters_;
  std::vector<float> x_, h_, wide_, t_, out_;
};

}  // namespace rill::policies

#endif  // RILL_POLICIES_BLAS_HYPERSPHERICAL_H_
