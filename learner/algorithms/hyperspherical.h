// The hyperspherical networks of SimbaV2 (Lee et al. 2025, "Hyperspherical
// Normalization for Scalable Deep RL") for learners that differentiate
// with LibTorch's autograd, over the members of an ensemble at once. With
// l2(v) = v / max(|v|, kSphereEpsilon) over the last dimension, one
// member maps its input x [R, in] to [R, out]:
//   x0 = l2([x, shift])                          (the shift appended)
//   h  = l2(s_e * (W_e x0))                      (embedding, W_e [H, in + 1])
//   per block b:  t = l2(W2 relu(s_b * (W1 h)))  (W1 [4H, H], W2 [H, 4H])
//                 h = l2(h + alpha_b * (t - h))  (a step on the sphere)
//   out = s_o * (W_o h) + b_o                    (W_o [out, H])
// Every weight matrix keeps rows of unit norm: ProjectOntoSphere after each
// optimiser step. The scalers s are plain learnable vectors (the paper
// reparameterises them, scaler_init / scaler_scale, which changes their
// effective learning rate only): s_e and s_b start at 1, alpha_b at
// 1 / (blocks + 1), and s_o at sqrt(H) so that the head's outputs start at
// the unit scale a torch.nn.Linear's do; b_o starts at 0.
//
// policies/blas_hyperspherical.h is the actors' twin of one member (the
// same names without the member dimension).
#ifndef RILL_LEARNER_ALGORITHMS_HYPERSPHERICAL_H_
#define RILL_LEARNER_ALGORITHMS_HYPERSPHERICAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/torch_types.h"
#include "learner/algorithms/flat_layout.h"

namespace rill::learner {

inline constexpr double kSphereEpsilon = 1e-8;

struct HypersphericalShape {
  int64_t members = 1;
  int64_t in = 0;      // without the shift
  int64_t hidden = 0;  // H
  int64_t blocks = 0;
  int64_t out = 0;
  double shift = 3.0;
};

// Adds the network's tensors to `layout` under `prefix`, each with the
// members first: "<prefix>.embed.weight" [E, H, in + 1], ".embed.scaler"
// [E, H]; "<prefix>.blocks.<b>.w1" [E, 4H, H], ".scaler" [E, 4H], ".w2"
// [E, H, 4H], ".alpha" [E, H]; "<prefix>.output.weight" [E, out, H],
// ".scaler" [E, out], ".bias" [E, out].
void AddHyperspherical(const HypersphericalShape& shape, const std::string& prefix, FlatLayout& layout);

// A buffer of `layout` (which holds this network alone) drawn from
// `generator` and set to its starting point: unit rows, the scalers and
// steps as the header says.
torch::Tensor InitialHyperspherical(const HypersphericalShape& shape, const FlatLayout& layout,
                                    at::Generator& generator);

// The members on `input` [R, in]: [E, R, out]. `p` are the layout's views
// (or leaves), in the order AddHyperspherical added them.
torch::Tensor HypersphericalForward(const HypersphericalShape& shape, const std::vector<torch::Tensor>& p,
                                    const torch::Tensor& input);

// Scales every weight matrix's rows of `params` back to unit norm, in place.
void ProjectOntoSphere(const HypersphericalShape& shape, const FlatLayout& layout, const torch::Tensor& params);

// l2 over the last dimension, as the header defines it.
torch::Tensor L2Normalize(const torch::Tensor& v);

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_HYPERSPHERICAL_H_
