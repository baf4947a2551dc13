#include "learner/algorithms/hyperspherical.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

// Views before the blocks (embedding weight, scaler), per block (w1,
// scaler, w2, alpha) and after them (output weight, scaler, bias).
constexpr size_t kEmbedViews = 2;
constexpr size_t kBlockViews = 4;

// The indices of the weight matrices among the layout's views.
std::vector<size_t> WeightIndices(const HypersphericalShape& shape) {
  std::vector<size_t> indices = {0};
  for (int64_t b = 0; b < shape.blocks; ++b) {
    indices.push_back(kEmbedViews + kBlockViews * b);
    indices.push_back(kEmbedViews + kBlockViews * b + 2);
  }
  indices.push_back(kEmbedViews + kBlockViews * shape.blocks);
  return indices;
}

// x [E, R, in] times each member's W [E, out, in] transposed: [E, R, out].
torch::Tensor Linear(const torch::Tensor& x, const torch::Tensor& w) { return torch::bmm(x, w.transpose(1, 2)); }

}  // namespace

torch::Tensor L2Normalize(const torch::Tensor& v) {
  return v / v.norm(2, {-1}, /*keepdim=*/true).clamp_min(kSphereEpsilon);
}

void AddHyperspherical(const HypersphericalShape& shape, const std::string& prefix, FlatLayout& layout) {
  const int64_t e = shape.members, h = shape.hidden, in = shape.in + 1;
  layout.Add(prefix + ".embed.weight", {e, h, in}, in);
  layout.Add(prefix + ".embed.scaler", {e, h}, 0, /*scale=*/true);
  for (int64_t b = 0; b < shape.blocks; ++b) {
    const std::string block = absl::StrCat(prefix, ".blocks.", b);
    layout.Add(block + ".w1", {e, 4 * h, h}, h);
    layout.Add(block + ".scaler", {e, 4 * h}, 0, /*scale=*/true);
    layout.Add(block + ".w2", {e, h, 4 * h}, 4 * h);
    layout.Add(block + ".alpha", {e, h}, 0, /*scale=*/true);
  }
  layout.Add(prefix + ".output.weight", {e, shape.out, h}, h);
  layout.Add(prefix + ".output.scaler", {e, shape.out}, 0, /*scale=*/true);
  layout.Add(prefix + ".output.bias", {e, shape.out}, 0);
}

torch::Tensor InitialHyperspherical(const HypersphericalShape& shape, const FlatLayout& layout,
                                    at::Generator& generator) {
  torch::NoGradGuard no_grad;
  torch::Tensor params = layout.Initialised(generator);
  const std::vector<torch::Tensor> p = layout.Views(params);
  for (int64_t b = 0; b < shape.blocks; ++b) p[kEmbedViews + kBlockViews * b + 3].fill_(1.0 / (shape.blocks + 1));
  p[kEmbedViews + kBlockViews * shape.blocks + 1].fill_(std::sqrt(static_cast<double>(shape.hidden)));
  ProjectOntoSphere(shape, layout, params);
  return params;
}

torch::Tensor HypersphericalForward(const HypersphericalShape& shape, const std::vector<torch::Tensor>& p,
                                    const torch::Tensor& input) {
  const int64_t rows = input.size(0);
  torch::Tensor x = L2Normalize(torch::cat({input, torch::full({rows, 1}, shape.shift, input.options())}, 1));
  x = x.unsqueeze(0).expand({shape.members, rows, shape.in + 1});
  torch::Tensor h = L2Normalize(Linear(x, p[0]) * p[1].unsqueeze(1));
  for (int64_t b = 0; b < shape.blocks; ++b) {
    const torch::Tensor* v = &p[kEmbedViews + kBlockViews * b];
    torch::Tensor t = (Linear(h, v[0]) * v[1].unsqueeze(1)).relu();
    t = L2Normalize(Linear(t, v[2]));
    h = L2Normalize(h + v[3].unsqueeze(1) * (t - h));
  }
  const torch::Tensor* o = &p[kEmbedViews + kBlockViews * shape.blocks];
  return torch::addcmul(o[2].unsqueeze(1), Linear(h, o[0]), o[1].unsqueeze(1));
}

void ProjectOntoSphere(const HypersphericalShape& shape, const FlatLayout& layout, const torch::Tensor& params) {
  torch::NoGradGuard no_grad;
  const std::vector<torch::Tensor> p = layout.Views(params);
  for (size_t i : WeightIndices(shape)) p[i].div_(p[i].norm(2, {-1}, /*keepdim=*/true).clamp_min(kSphereEpsilon));
}

}  // namespace rill::learner
