// TorchTorso: a convolutional torso (policies/torso.h) in LibTorch, for
// the learner's algorithms. It owns no parameters: an algorithm keeps them
// in its one flat buffer (a leaf for autograd) and hands Forward views of
// it in TorsoParameters' order, so clipping and the optimizer step stay a
// few element-wise ops over one buffer, and the names and shapes match the
// actors' BlasTorso (policies/blas_torso.h) exactly.
//
// Thread safety: const methods are thread-safe.
#ifndef RILL_LEARNER_TORCH_TORSO_H_
#define RILL_LEARNER_TORCH_TORSO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "policies/torso.h"
#include "proto/network.pb.h"
#include "torch/torch.h"

namespace rill::learner {

class TorchTorso {
 public:
  // InvalidArgument naming the layer when `layers` do not fit `input`.
  // With `image_channels` (PolicySpec.image_channels: several image leaves
  // stacked in `input`), one torso of `layers` per leaf
  // (policies::ImageLeafInputs), their features side by side.
  static absl::StatusOr<TorchTorso> Create(std::vector<v1::TorsoLayer> layers, policies::ImageShape input,
                                           const std::vector<int32_t>& image_channels = {});

  TorchTorso() = default;

  bool empty() const { return layers_.empty(); }
  const std::vector<v1::TorsoLayer>& layers() const { return layers_; }
  const policies::ImageShape& input() const { return input_; }
  // Elements of one sample's flattened output (every leaf's torso's).
  int64_t out_dim() const;
  // Multiply-adds of one sample's forward pass.
  int64_t MultiplyAdds() const;

  // The parameters' names ("<prefix>.torso.<l>.weight"; a later image
  // leaf's under policies::ImageLeafPrefix), shapes and fan-ins.
  std::vector<policies::TorsoParameter> Parameters(const std::string& prefix) const;
  // Elements of all parameters.
  int64_t NumParameters() const;
  // Views of `flat` (NumParameters() elements, the parameters one after
  // another) in Parameters()' order and shapes: what Forward takes.
  std::vector<torch::Tensor> Views(const torch::Tensor& flat) const;

  // x: [N, C * H * W] or [N, C, H, W] float32 -> [N, out_dim()].
  // `params`: one tensor per entry of Parameters(), of its shape (views of
  // the caller's flat buffer, so autograd reaches it). Throws c10::Error
  // for mismatched tensors (a programming error; callers catch it).
  torch::Tensor Forward(const torch::Tensor& x, const std::vector<torch::Tensor>& params) const;

 private:
  // One leaf's torso on x [N, c, H, W] with `params` (its own).
  torch::Tensor LeafForward(torch::Tensor h, const std::vector<torch::Tensor>& params) const;

  std::vector<v1::TorsoLayer> layers_;
  policies::ImageShape input_;
  // Per image leaf (one without image_channels): its input, then the
  // shape after each layer.
  std::vector<std::vector<policies::ImageShape>> shapes_;
};

// Initialises `flat` (Parameters() laid out one after another) as
// torch.nn.Conv2d does: uniform in +-1/sqrt(fan_in), drawn from `generator`.
void InitTorsoParameters(const std::vector<policies::TorsoParameter>& parameters, torch::Tensor flat,
                         at::Generator& generator);

}  // namespace rill::learner

#endif  // RILL_LEARNER_TORCH_TORSO_H_
