#include "learner/networks.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <set>
#include <utility>

#include "ATen/CPUGeneratorImpl.h"
#include "ATen/Parallel.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/torch_tensor.h"
#include "common/shape.h"

namespace rill::learner {

absl::StatusOr<FlatMlp> FlatMlp::Create(const MlpShape& shape, uint64_t seed, torch::Device device) {
  if (shape.in_dim <= 0 || shape.out_dim <= 0 || shape.ensemble <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("MLP sizes must be positive: in_dim ", shape.in_dim, ", out_dim ",
                                                   shape.out_dim, ", ensemble ", shape.ensemble));
  }
  for (int64_t h : shape.hidden) {
    if (h <= 0) return absl::InvalidArgumentError(absl::StrCat("hidden sizes must be positive: ", h));
  }
  EnsureFastOpenBlasKernels();
  try {
    FlatMlp mlp;
    mlp.shape_ = shape;
    std::vector<int64_t> sizes = {shape.in_dim};
    sizes.insert(sizes.end(), shape.hidden.begin(), shape.hidden.end());
    sizes.push_back(shape.out_dim);
    int64_t total = 0;
    for (size_t l = 0; l + 1 < sizes.size(); ++l) total += shape.ensemble * sizes[l + 1] * (sizes[l] + 1);
    torch::NoGradGuard no_grad;
    at::Generator generator = at::detail::createCPUGenerator(seed);
    torch::Tensor cpu = torch::empty({total}, torch::kFloat32);
    int64_t offset = 0;
    for (size_t l = 0; l + 1 < sizes.size(); ++l) {
      // torch.nn.Linear: kaiming_uniform(a=sqrt(5)) and the bias rule both
      // give U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
      const double bound = 1.0 / std::sqrt(static_cast<double>(sizes[l]));
      const int64_t n = shape.ensemble * sizes[l + 1] * (sizes[l] + 1);
      cpu.narrow(0, offset, n).uniform_(-bound, bound, generator);
      offset += n;
    }
    mlp.params_ = cpu.to(device);
    mlp.grads_ = torch::zeros_like(mlp.params_);
    mlp.BindViews();
    return mlp;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot create MLP: ", e.what_without_backtrace()));
  }
}

void FlatMlp::BindViews() {
  std::vector<int64_t> sizes = {shape_.in_dim};
  sizes.insert(sizes.end(), shape_.hidden.begin(), shape_.hidden.end());
  sizes.push_back(shape_.out_dim);
  const int64_t e = shape_.ensemble;
  weights_.clear();
  biases_.clear();
  weight_grads_.clear();
  bias_grads_.clear();
  int64_t offset = 0;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    const int64_t in = sizes[l], out = sizes[l + 1];
    weights_.push_back(params_.narrow(0, offset, e * out * in).view({e, out, in}));
    weight_grads_.push_back(grads_.narrow(0, offset, e * out * in).view({e, out, in}));
    offset += e * out * in;
    biases_.push_back(params_.narrow(0, offset, e * out).view({e, 1, out}));
    bias_grads_.push_back(grads_.narrow(0, offset, e * out).view({e, 1, out}));
    offset += e * out;
  }
}

FlatMlp FlatMlp::Clone() const {
  FlatMlp copy;
  copy.shape_ = shape_;
  copy.params_ = params_.clone();
  copy.grads_ = torch::zeros_like(grads_);
  copy.BindViews();
  return copy;
}

namespace {

// `buffer` if it has `shape`, else a new tensor of that shape.
torch::Tensor& Reuse(torch::Tensor& buffer, at::IntArrayRef shape, const torch::TensorOptions& options) {
  if (!buffer.defined() || buffer.sizes() != shape || buffer.device() != options.device()) {
    buffer = torch::empty(shape, options);
  }
  return buffer;
}

}  // namespace

// A task gets at least this many rows: smaller matmuls lose more to
// overhead than a second core gains.
constexpr int64_t kMinRowsPerTask = 64;

int64_t FlatMlp::RowBlocks(int64_t members, int64_t rows) const {
  if (!params_.is_cpu()) return 1;
  const int64_t threads = at::get_num_threads();
  return std::max<int64_t>(1, std::min(threads / members, rows / kMinRowsPerTask));
}

// Runs task(0) ... task(n - 1), on the intra-op threads when on the CPU.
template <typename Task>
void RunTasks(int64_t n, bool cpu, const Task& task) {
  if (n > 1 && cpu) {
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) task(i);
    });
  } else {
    for (int64_t i = 0; i < n; ++i) task(i);
  }
}

torch::Tensor FlatMlp::Forward(const torch::Tensor& x, MlpTrace& trace, int64_t members) const {
  torch::NoGradGuard no_grad;
  TORCH_CHECK(members == -1 || (members >= 1 && members <= shape_.ensemble), "FlatMlp::Forward: members ", members,
              " outside [1, ", shape_.ensemble, "]");
  const int64_t e = members == -1 ? shape_.ensemble : members;
  const bool shared = x.dim() == 2;
  const int64_t rows = x.size(shared ? 0 : 1);
  const int layers = num_layers();
  const bool gelu = shape_.activation == v1::GELU;
  trace.input = x;
  trace.outputs.resize(layers);
  for (int l = 0; l < layers; ++l) Reuse(trace.outputs[l], {e, rows, weights_[l].size(1)}, params_.options());
  trace.pre.resize(gelu ? layers - 1 : 0);
  for (int l = 0; l + 1 < layers && gelu; ++l) Reuse(trace.pre[l], {e, rows, weights_[l].size(1)}, params_.options());
  const int64_t blocks = RowBlocks(e, rows);
  RunTasks(e * blocks, params_.is_cpu(), [&](int64_t task) {
    const int64_t member = task / blocks, block = task % blocks;
    const int64_t begin = rows * block / blocks, n = rows * (block + 1) / blocks - begin;
    torch::Tensor h = (shared ? x : x[member]).narrow(0, begin, n);
    for (int l = 0; l < layers; ++l) {
      torch::Tensor z = trace.outputs[l][member].narrow(0, begin, n);
      if (gelu && l + 1 < layers) {
        // GELU's gradient needs its input: bias + h @ W^T goes to pre.
        torch::Tensor pre = trace.pre[l][member].narrow(0, begin, n);
        at::addmm_out(pre, biases_[l][member][0], h, weights_[l][member].t());
        at::gelu_out(z, pre);
      } else {
        // bias + h @ W^T
        at::addmm_out(z, biases_[l][member][0], h, weights_[l][member].t());
        if (l + 1 < layers) z.relu_();
      }
      h = z;
    }
  });
  return trace.outputs[layers - 1];
}

namespace {

// The view of `flat` laid out as `view` is in `base` (a flat buffer of the
// same layout).
torch::Tensor SameView(const torch::Tensor& flat, const torch::Tensor& base, const torch::Tensor& view) {
  return flat.as_strided(view.sizes(), view.strides(), flat.storage_offset() + view.storage_offset() - base.storage_offset());
}

}  // namespace

torch::Tensor FlatMlp::Backward(MlpTrace& trace, const torch::Tensor& grad_out, int64_t row_begin,
                                bool weight_grads, std::optional<std::pair<int64_t, int64_t>> input_columns) {
  torch::NoGradGuard no_grad;
  const int64_t e = grad_out.size(0);  // members [0, e) are differentiated
  TORCH_CHECK(e >= 1 && e <= shape_.ensemble && !trace.outputs.empty() && e <= trace.outputs[0].size(0),
              "FlatMlp::Backward: grad_out has ", e, " members, the network ", shape_.ensemble, ", the trace ",
              trace.outputs.empty() ? 0 : trace.outputs[0].size(0));
  const int64_t rows = grad_out.size(1);
  const int layers = num_layers();
  const bool shared = trace.input.dim() == 2;
  trace.input_grads.resize(layers);
  for (int l = 1; l < layers; ++l) Reuse(trace.input_grads[l], {e, rows, weights_[l].size(2)}, params_.options());
  if (input_columns.has_value()) {
    Reuse(trace.input_grads[0], {e, rows, input_columns->second - input_columns->first}, params_.options());
  }
  const int64_t blocks = RowBlocks(e, rows);
  // Row blocks after the first sum their weight gradients separately.
  if (weight_grads && blocks > 1) Reuse(trace.partial_grads, {blocks - 1, grads_.numel()}, grads_.options());
  RunTasks(e * blocks, params_.is_cpu(), [&](int64_t task) {
    const int64_t member = task / blocks, block = task % blocks;
    const int64_t begin = rows * block / blocks, n = rows * (block + 1) / blocks - begin;
    torch::Tensor g = grad_out[member].narrow(0, begin, n);  // d loss / d (pre-activation) output of layer l
    for (int l = layers - 1; l >= 0; --l) {
      torch::Tensor input = (l == 0 ? (shared ? trace.input : trace.input[member]) : trace.outputs[l - 1][member])
                                .narrow(0, row_begin + begin, n);
      if (weight_grads) {
        torch::Tensor grad_w = weight_grads_[l][member];
        torch::Tensor grad_b = bias_grads_[l][member];
        if (block > 0) {
          torch::Tensor partial = trace.partial_grads[block - 1];
          grad_w = SameView(partial, grads_, grad_w);
          grad_b = SameView(partial, grads_, grad_b);
        }
        // dW = g^T @ input, db = sum over rows of g.
        at::mm_out(grad_w, g.t(), input);
        at::sum_out(grad_b, g, {0}, /*keepdim=*/true);
      }
      const torch::Tensor& w = weights_[l][member];
      if (l > 0) {
        torch::Tensor grad_input = trace.input_grads[l][member].narrow(0, begin, n);
        if (w.size(0) == 1) {
          at::mul_out(grad_input, g, w);  // an outer product: no matmul needed
        } else {
          at::mm_out(grad_input, g, w);
        }
        if (shape_.activation == v1::GELU) {
          // GELU: times its derivative Phi(x) + x phi(x) at the input it had.
          at::gelu_backward_out(grad_input, grad_input, trace.pre[l - 1][member].narrow(0, row_begin + begin, n));
        } else {
          // ReLU: the gradient passes where the layer's output (our input) > 0.
          at::threshold_backward_out(grad_input, grad_input, input, 0);
        }
        g = grad_input;
      } else if (input_columns.has_value()) {
        const auto [first, end] = *input_columns;
        torch::Tensor grad_input = trace.input_grads[0][member].narrow(0, begin, n);
        at::mm_out(grad_input, g, w.narrow(1, first, end - first));
      }
    }
  });
  if (weight_grads) {
    for (int64_t block = 1; block < blocks; ++block) {
      const torch::Tensor& partial = trace.partial_grads[block - 1];
      if (e == shape_.ensemble) {
        grads_.add_(partial);
        continue;
      }
      // Only members [0, e) were written; the rest of `partial` is stale.
      for (int l = 0; l < layers; ++l) {
        weight_grads_[l].narrow(0, 0, e).add_(SameView(partial, grads_, weight_grads_[l]).narrow(0, 0, e));
        bias_grads_[l].narrow(0, 0, e).add_(SameView(partial, grads_, bias_grads_[l]).narrow(0, 0, e));
      }
    }
  }
  return input_columns.has_value() ? trace.input_grads[0] : torch::Tensor();
}

std::vector<std::pair<std::string, torch::Tensor>> FlatMlp::Named(const std::string& prefix,
                                                                  const std::vector<torch::Tensor>& weights,
                                                                  const std::vector<torch::Tensor>& biases) {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (size_t l = 0; l < weights.size(); ++l) {
    torch::Tensor w = weights[l], b = biases[l].squeeze(1);
    if (w.size(0) == 1) {
      w = w.squeeze(0);
      b = b.squeeze(0);
    }
    named.emplace_back(absl::StrCat(prefix, ".layers.", l, ".weight"), w);
    named.emplace_back(absl::StrCat(prefix, ".layers.", l, ".bias"), b);
  }
  return named;
}

std::vector<std::pair<std::string, torch::Tensor>> FlatMlp::NamedParameters(const std::string& prefix) const {
  return Named(prefix, weights_, biases_);
}

std::vector<std::pair<std::string, torch::Tensor>> FlatMlp::NamedGradients(const std::string& prefix) const {
  return Named(prefix, weight_grads_, bias_grads_);
}

absl::StatusOr<rill::v1::ParameterSet> ToParameterSet(
    const std::vector<std::pair<std::string, torch::Tensor>>& named) {
  rill::v1::ParameterSet set;
  for (const auto& [name, tensor] : named) {
    rill::v1::NamedTensor* out = set.add_tensors();
    out->set_name(name);
    ASSIGN_OR_RETURN(*out->mutable_tensor(), FromTorch(tensor));
  }
  return set;
}

absl::Status CopyFromParameterSet(const rill::v1::ParameterSet& params,
                                  const std::vector<std::pair<std::string, torch::Tensor>>& named) {
  if (params.tensors_size() != static_cast<int>(named.size())) {
    return absl::InvalidArgumentError(absl::StrCat("parameter set has ", params.tensors_size(), " tensors, expected ",
                                                   named.size()));
  }
  // Check everything before changing anything.
  std::vector<torch::Tensor> sources;
  sources.reserve(named.size());
  for (size_t i = 0; i < named.size(); ++i) {
    const rill::v1::NamedTensor& source = params.tensors(static_cast<int>(i));
    const auto& [name, target] = named[i];
    if (source.name() != name) {
      return absl::InvalidArgumentError(absl::StrCat("parameter ", i, " is '", source.name(), "', expected '", name, "'"));
    }
    absl::StatusOr<torch::Tensor> view = ViewAsTorch(source.tensor());
    if (!view.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("parameter '", name, "': ", view.status().message()));
    }
    if (view->scalar_type() != torch::kFloat32) {
      return absl::InvalidArgumentError(absl::StrCat("parameter '", name, "' must be float32"));
    }
    if (view->sizes() != target.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat("parameter '", name, "' has shape ", ShapeString(view->sizes()),
                                                     ", expected ", ShapeString(target.sizes())));
    }
    sources.push_back(*std::move(view));
  }
  try {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < named.size(); ++i) named[i].second.copy_(sources[i]);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot copy parameters: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

}  // namespace rill::learner
