#include "learner/torch_torso.h"

#include <cmath>
#include <utility>

#include "common/status_macros.h"

namespace rill::learner {
namespace {

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

absl::StatusOr<TorchTorso> TorchTorso::Create(std::vector<v1::TorsoLayer> layers, policies::ImageShape input,
                                              const std::vector<int32_t>& image_channels) {
  ASSIGN_OR_RETURN(const std::vector<policies::ImageShape> inputs, policies::ImageLeafInputs(input, image_channels));
  TorchTorso torso;
  for (const policies::ImageShape& leaf : inputs) {
    ASSIGN_OR_RETURN(std::vector<policies::ImageShape> shapes, policies::TorsoShapes(layers, leaf));
    torso.shapes_.push_back(std::move(shapes));
  }
  torso.layers_ = std::move(layers);
  torso.input_ = input;
  return torso;
}

int64_t TorchTorso::out_dim() const {
  int64_t total = 0;
  for (const auto& shapes : shapes_) total += shapes.back().size();
  return total;
}

int64_t TorchTorso::MultiplyAdds() const {
  int64_t total = 0;
  for (const auto& shapes : shapes_) total += policies::TorsoMultiplyAdds(layers_, shapes);
  return total;
}

std::vector<policies::TorsoParameter> TorchTorso::Parameters(const std::string& prefix) const {
  std::vector<policies::TorsoParameter> parameters;
  for (size_t k = 0; k < shapes_.size(); ++k) {
    for (policies::TorsoParameter& parameter :
         policies::TorsoParameters(layers_, shapes_[k], policies::ImageLeafPrefix(prefix, k))) {
      parameters.push_back(std::move(parameter));
    }
  }
  return parameters;
}

int64_t TorchTorso::NumParameters() const {
  int64_t total = 0;
  for (const policies::TorsoParameter& parameter : Parameters("")) total += Elements(parameter.shape);
  return total;
}

torch::Tensor TorchTorso::Forward(const torch::Tensor& x, const std::vector<torch::Tensor>& params) const {
  const torch::Tensor image = x.reshape({x.size(0), input_.c, input_.h, input_.w});
  if (shapes_.size() == 1) return LeafForward(image, params);
  // A torso per image leaf, each on its channels with its own parameters.
  const size_t per_leaf = params.size() / shapes_.size();
  TORCH_CHECK(per_leaf * shapes_.size() == params.size(), "TorchTorso::Forward: ", params.size(),
              " parameters for ", shapes_.size(), " image leaves");
  std::vector<torch::Tensor> features;
  int64_t channel = 0;
  for (size_t k = 0; k < shapes_.size(); ++k) {
    const int64_t c = shapes_[k].front().c;
    features.push_back(LeafForward(image.narrow(1, channel, c),
                                   std::vector<torch::Tensor>(params.begin() + static_cast<int64_t>(k * per_leaf),
                                                              params.begin() + static_cast<int64_t>((k + 1) * per_leaf))));
    channel += c;
  }
  return torch::cat(features, 1);
}

torch::Tensor TorchTorso::LeafForward(torch::Tensor h, const std::vector<torch::Tensor>& params) const {
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
