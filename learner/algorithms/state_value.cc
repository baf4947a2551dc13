#include "learner/algorithms/state_value.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace rill::learner {

absl::StatusOr<std::unique_ptr<StateValue>> StateValue::Create(int64_t state_dim, const std::vector<int>& hidden,
                                                               torch::Device device, uint64_t seed,
                                                               const std::string& who) {
  if (state_dim < 1) return absl::InvalidArgumentError(absl::StrCat(who, ": state_dim ", state_dim, " must be >= 1"));
  std::vector<int64_t> widths = {state_dim};
  for (int h : hidden) {
    if (h < 1) return absl::InvalidArgumentError(absl::StrCat(who, ": hidden width ", h, " must be >= 1"));
    widths.push_back(h);
  }
  widths.push_back(1);
  try {
    // torch.nn.Linear's initialisation, layer after layer, on the CPU.
    at::Generator generator = at::detail::createCPUGenerator(seed);
    std::vector<torch::Tensor> parts;
    std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
    for (size_t l = 0; l + 1 < widths.size(); ++l) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(widths[l]));
      parts.push_back(torch::empty({widths[l + 1] * widths[l]}).uniform_(-bound, bound, generator));
      parts.push_back(torch::empty({widths[l + 1]}).uniform_(-bound, bound, generator));
      shapes.push_back({absl::StrCat("value.layers.", l, ".weight"), {widths[l + 1], widths[l]}});
      shapes.push_back({absl::StrCat("value.layers.", l, ".bias"), {widths[l + 1]}});
    }
    torch::Tensor params = torch::cat(parts).to(device).set_requires_grad(true);
    std::vector<std::pair<std::string, torch::Tensor>> named;
    std::vector<std::pair<int64_t, int64_t>> spans;
    int64_t offset = 0;
    for (const auto& [name, shape] : shapes) {
      int64_t count = 1;
      for (int64_t d : shape) count *= d;
      named.emplace_back(name, params.detach().narrow(0, offset, count).view(shape));
      spans.emplace_back(offset, count);
      offset += count;
    }
    return std::unique_ptr<StateValue>(
        new StateValue(state_dim, std::move(params), std::move(named), std::move(spans)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(who, ": ", e.what_without_backtrace()));
  }
}

StateValue::StateValue(int64_t state_dim, torch::Tensor params,
                       std::vector<std::pair<std::string, torch::Tensor>> named,
                       std::vector<std::pair<int64_t, int64_t>> spans)
    : state_dim_(state_dim), params_(std::move(params)), named_(std::move(named)), spans_(std::move(spans)) {}

torch::Tensor StateValue::Forward(const torch::Tensor& states) const {
  torch::Tensor x = states;
  const size_t layers = named_.size() / 2;
  for (size_t l = 0; l < layers; ++l) {
    const auto& [w_offset, w_count] = spans_[2 * l];
    const auto& [b_offset, b_count] = spans_[2 * l + 1];
    torch::Tensor weight = params_.narrow(0, w_offset, w_count).view(named_[2 * l].second.sizes());
    torch::Tensor bias = params_.narrow(0, b_offset, b_count);
    x = torch::nn::functional::linear(x, weight, bias);
    if (l + 1 < layers) x = torch::relu(x);
  }
  return x.squeeze(-1);
}

int64_t StateValue::ForwardFlops(int64_t rows) const {
  int64_t flops = 0;
  for (size_t l = 0; l < named_.size(); l += 2) flops += 2 * rows * named_[l].second.numel();
  return flops;
}

}  // namespace rill::learner
