#include "learner/algorithms/flat_layout.h"

#include <cmath>
#include <utility>

#include "torch/torch.h"

namespace rill::learner {
namespace {

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

void FlatLayout::Add(const std::string& name, std::vector<int64_t> shape, int64_t fan_in, bool scale) {
  size += Elements(shape);
  names.push_back(name);
  shapes.push_back(std::move(shape));
  fan_ins.push_back(fan_in);
  inits.push_back(fan_in > 0 ? Init::kUniform : scale ? Init::kOne : Init::kZero);
}

std::vector<torch::Tensor> FlatLayout::Views(const torch::Tensor& flat) const {
  std::vector<torch::Tensor> views;
  int64_t offset = 0;
  for (const std::vector<int64_t>& shape : shapes) {
    const int64_t n = Elements(shape);
    views.push_back(flat.narrow(0, offset, n).view(shape));
    offset += n;
  }
  return views;
}

std::vector<torch::Tensor> FlatLayout::Leaves(const torch::Tensor& flat) const {
  std::vector<torch::Tensor> leaves = Views(flat.detach());
  for (torch::Tensor& leaf : leaves) leaf.requires_grad_(true);
  return leaves;
}

void FlatLayout::CopyToFlat(const std::vector<torch::Tensor>& grads, const torch::Tensor& flat_grad) const {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> views = Views(flat_grad);
  for (size_t i = 0; i < views.size(); ++i) views[i].copy_(grads[i]);
}

torch::Tensor FlatLayout::Initialised(at::Generator& generator) const {
  torch::NoGradGuard no_grad;
  torch::Tensor flat = torch::empty({size}, torch::kFloat32);
  std::vector<torch::Tensor> views = Views(flat);
  for (size_t i = 0; i < views.size(); ++i) {
    switch (inits[i]) {
      case Init::kUniform: {
        const double bound = 1.0 / std::sqrt(static_cast<double>(fan_ins[i]));
        views[i].uniform_(-bound, bound, generator);
        break;
      }
      case Init::kOne:
        views[i].fill_(1.0);
        break;
      case Init::kZero:
        views[i].fill_(0.0);
        break;
    }
  }
  return flat;
}

}  // namespace rill::learner
