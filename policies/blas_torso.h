// BlasTorso: the forward pass of a convolutional torso (policies/torso.h)
// on plain float buffers, for actors and the inference server, without
// LibTorch: each layer is a oneDNN primitive (Debian's libdnnl, the library
// LibTorch's own CPU convolutions run on), so `rill-actor` links no LibTorch.
// Its parameters carry the names and shapes of the learner's TorchTorso
// (torch.nn.Conv2d's [out, in, k, k]), so a published ParameterSet loads
// into either.
//
// Why oneDNN and how: an im2col over cblas_sgemm ran at a third to a half of
// LibTorch's speed at the batch sizes actors use (8..256). Here the first
// convolution reads the [B, C, H, W] input as it is, and the activations
// stay in the layout oneDNN picks for its outputs (format_tag::any: blocks
// of 16 channels with AVX-512) up to one reorder into the [B, C * H * W]
// output; ReLUs after a
// convolution, and a residual block's addition, are fused into it as
// post-ops. The primitives of one batch size are built on its first
// Forward and kept (a few batch sizes at a time). Parameters are replaced
// in place (LoadNamedParameters copies into parameters()), which this class
// cannot see, so every Forward reorders the weights afresh: a few hundred
// KB at most, against the megabytes of activations a batch moves.
//
// Threads: oneDNN's CPU runtime here is OpenMP, whose team a primitive
// sizes from the calling thread's OpenMP setting; Forward sets that to one
// thread for its duration (restoring the caller's), so the torso always
// runs on the calling thread alone and starts no others (an actor shares
// its cores with the learner).
//
// Thread safety: none; each policy owns its own BlasTorso.
#ifndef RILL_POLICIES_BLAS_TORSO_H_
#define RILL_POLICIES_BLAS_TORSO_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "policies/blas_mlp.h"  // NamedParameter
#include "policies/torso.h"
#include "proto/network.pb.h"

namespace rill::policies {

class BlasTorso {
 public:
  // `layers` on [C, H, W] inputs, initialised as torch.nn.Conv2d is, drawn
  // from `seed`. The caller has checked them (TorsoShapes is ok).
  BlasTorso(std::vector<v1::TorsoLayer> layers, ImageShape input, const std::string& prefix, uint64_t seed);
  ~BlasTorso();

  BlasTorso(const BlasTorso&) = delete;
  BlasTorso& operator=(const BlasTorso&) = delete;

  int64_t in_dim() const { return shapes_.front().size(); }
  // Elements of one sample's output, flattened in (C, H, W) order.
  int64_t out_dim() const { return shapes_.back().size(); }

  // input [batch, C * H * W] (each sample [C, H, W] row-major) -> the
  // torso's outputs [batch, out_dim()], valid until the next call. The
  // first call with a batch size builds its primitives (oneDNN compiles its
  // kernels then: milliseconds); later ones reuse them.
  const float* Forward(const float* input, int64_t batch);

  // In TorsoParameters' order. Forward reads them afresh on every call.
  std::vector<NamedParameter>& parameters() { return parameters_; }
  const std::vector<NamedParameter>& parameters() const { return parameters_; }

 private:
  class Plan;      // the primitives and buffers of one batch size
  struct Runtime;  // oneDNN's engine and stream

  // The plan for `batch`, built (and the least recently used one dropped)
  // when there is none.
  Plan& PlanFor(int64_t batch);

  std::vector<v1::TorsoLayer> layers_;
  std::vector<ImageShape> shapes_;  // input, then after each layer
  std::vector<NamedParameter> parameters_;
  std::unique_ptr<Runtime> runtime_;
  std::vector<std::unique_ptr<Plan>> plans_;  // most recently used first
  std::vector<float> output_;
};

}  // namespace rill::policies

#endif  // RILL_POLICIES_BLAS_TORSO_H_
