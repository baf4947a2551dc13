#include "learner/torch_torso.h"

#include <cmath>
#include <utility>

namespace rill::learner {
namespace {

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

absl::StatusOr<TorchTorso> TorchTorso::Create(std::vector<v1::TorsoLayer> layers, policies::ImageShape input) {
  absl::StatusOr<std::vector<policies::ImageShape>> shapes = policies::TorsoShapes(layers, input);
  if (!shapes.ok()) return shapes.status();
  TorchTorso torso;
  torso.layers_ = std::move(layers);
  torso.shapes_ = *std::move(shapes);
  return torso;
}

int64_t TorchTorso::NumParameters() const {
  int64_t total = 0;
  for (const policies::TorsoParameter& parameter : Parameters("")) total += Elements(parameter.shape);
  return total;
}

torch::Tensor TorchTorso::Forward(const torch::Tensor& x, const std::vector<torch::Tensor>& params) const {
  const policies::ImageShape& in = shapes_.front();
  torch::Tensor h = x.reshape({x.size(0), in.c, in.h, in.w});
  size_t p = 0;
  for (const v1::TorsoLayer& layer : layers_) {
    const int64_t stride = policies::LayerStride(layer);
    switch (layer.kind()) {
      case v1::TorsoLayer::CONV:
        TORCH_CHECK(p + 2 <= params.size(), "TorchTorso::Forward: too few parameters");
        h = torch::conv2d(h, params[p], params[p + 1], stride, layer.padding());
        if (layer.relu()) h = torch::relu(h);
        p += 2;
        break;
      case v1::TorsoLayer::MAX_POOL:
        h = torch::max_pool2d(h, layer.kernel(), stride, layer.padding());
        break;
      case v1::TorsoLayer::RESIDUAL: {
        TORCH_CHECK(p + 4 <= params.size(), "TorchTorso::Forward: too few parameters");
        torch::Tensor r = torch::conv2d(torch::relu(h), params[p], params[p + 1], 1, 1);
        r = torch::conv2d(torch::relu(r), params[p + 2], params[p + 3], 1, 1);
        h = h + r;
        p += 4;
        break;
      }
      case v1::TorsoLayer::RELU:
        h = torch::relu(h);
        break;
      default:
        TORCH_CHECK(false, "TorchTorso::Forward: unchecked layer kind ", static_cast<int>(layer.kind()));
    }
  }
  TORCH_CHECK(p == params.size(), "TorchTorso::Forward: ", params.size(), " parameters for ", p);
  return h.flatten(1);
}

std::vector<torch::Tensor> TorchTorso::Views(const torch::Tensor& flat) const {
  std::vector<torch::Tensor> views;
  int64_t offset = 0;
  for (const policies::TorsoParameter& parameter : Parameters("")) {
    const int64_t size = Elements(parameter.shape);
    views.push_back(flat.narrow(0, offset, size).view(parameter.shape));
    offset += size;
  }
  return views;
}

void InitTorsoParameters(const std::vector<policies::TorsoParameter>& parameters, torch::Tensor flat,
                         at::Generator& generator) {
  int64_t offset = 0;
  for (const policies::TorsoParameter& parameter : parameters) {
    const int64_t size = Elements(parameter.shape);
    const double bound = 1.0 / std::sqrt(static_cast<double>(parameter.fan_in));
    flat.narrow(0, offset, size).uniform_(-bound, bound, generator);
    offset += size;
  }
}

}  // namespace rill::learner
