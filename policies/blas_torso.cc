#include "policies/blas_torso.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/strings/match.h"
#include "common/logging.h"
#include "oneapi/dnnl/dnnl.hpp"

#if DNNL_CPU_RUNTIME != DNNL_RUNTIME_OMP && DNNL_CPU_RUNTIME != DNNL_RUNTIME_SEQ
#error "BlasTorso keeps oneDNN on one thread through OpenMP: it needs an OpenMP or sequential libdnnl"
#endif

namespace rill::policies {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

// Plans (one per batch size) kept at once: an actor uses one batch size, an
// evaluator another; a caller that cycles through many rebuilds plans rather
// than holding every batch size's buffers.
constexpr size_t kMaxPlans = 4;

// Sets the calling thread's OpenMP team to one thread while it lives (and
// back to what it was): oneDNN sizes a primitive's threads from it, both
// when it builds the primitive and when it runs it.
class OneThread {
 public:
  OneThread() : saved_(omp_get_max_threads()) {
    if (saved_ != 1) omp_set_num_threads(1);
  }
  ~OneThread() {
    if (saved_ != 1) omp_set_num_threads(saved_);
  }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  const int saved_;
};

memory::desc Activations(int64_t batch, const ImageShape& shape, Tag tag) {
  return memory::desc({batch, shape.c, shape.h, shape.w}, memory::data_type::f32, tag);
}

// The right (bottom) padding that makes oneDNN's output size, (in - kernel +
// left + right) / stride + 1, the floor-mode size of TorsoShapes (and
// torch's): the padding the last window reaches into, never negative (a
// window that ends before the image does needs none).
int64_t RightPadding(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t left) {
  return std::max<int64_t>((out - 1) * stride + kernel - in - left, 0);
}

}  // namespace

struct BlasTorso::Runtime {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

// The primitives of one batch size, in the order they run, with the memory
// they read and write. Built once, run by every Forward of that batch size.
class BlasTorso::Plan {
 public:
  // Builds every primitive of `torso`'s layers for `batch`. oneDNN picks the
  // activations' layouts; a reorder is added wherever one primitive's output
  // layout is not what the next wants.
  Plan(const BlasTorso& torso, const dnnl::engine& engine, int64_t batch);

  int64_t batch() const { return batch_; }

  // One forward: the weights reordered from `parameters`, then every layer,
  // input [batch, C, H, W] -> output [batch, C, H, W] (both nchw).
  void Run(dnnl::stream& stream, std::vector<NamedParameter>& parameters, const float* input, float* output);

 private:
  struct Step {
    dnnl::primitive primitive;
    std::unordered_map<int, memory> args;
  };
  // A parameter as the caller holds it (NamedParameter::values: a weight
  // [out, in, k, k], a bias [out]; the handle set on each Run) and, for a
  // weight the primitive reads in another layout, the reorder into its copy.
  struct Parameter {
    size_t index;  // into parameters()
    memory user;
    std::optional<Step> reorder;
  };

  // `x` in layout `desc`: `x` itself, or a new buffer with a reorder into it.
  memory Reordered(const memory& x, const memory::desc& desc);
  // A memory that holds `x`'s values and may be overwritten: `x` unless it
  // is the caller's input.
  memory Writable(const memory& x);
  // The weight and bias of a convolution (parameters index and index + 1),
  // as `pd` reads them; adds them to `args`.
  void AddParameters(size_t index, const ImageShape& in, const ImageShape& out, int64_t kernel,
                     const dnnl::convolution_forward::primitive_desc& pd, std::unordered_map<int, memory>& args);
  // conv(x) (+ bias) -> a new buffer, through max(., 0) when `relu`. With
  // `sum_into`, the result is added to it in place instead (a residual
  // block's skip connection).
  memory Convolve(const memory& x, const ImageShape& in, const ImageShape& out, size_t index, int64_t kernel,
                  int64_t stride, int64_t padding, bool relu, const memory* sum_into);
  memory MaxPool(const memory& x, const ImageShape& in, const ImageShape& out, int64_t kernel, int64_t stride,
                 int64_t padding);
  // max(x, 0) into `dst` (which may be `x`).
  void Relu(const memory& x, const memory& dst);

  const dnnl::engine& engine_;
  const int64_t batch_;
  memory input_;   // the caller's input, [batch, C, H, W]
  memory output_;  // the caller's output buffer, likewise
  std::vector<Parameter> parameters_;
  std::vector<Step> steps_;
};

BlasTorso::Plan::Plan(const BlasTorso& torso, const dnnl::engine& engine, int64_t batch)
    : engine_(engine), batch_(batch) {
  input_ = memory(Activations(batch, torso.shapes_.front(), Tag::nchw), engine, DNNL_MEMORY_NONE);
  output_ = memory(Activations(batch, torso.shapes_.back(), Tag::nchw), engine, DNNL_MEMORY_NONE);
  memory x = input_;
  size_t index = 0;
  for (size_t l = 0; l < torso.layers_.size(); ++l) {
    const v1::TorsoLayer& layer = torso.layers_[l];
    const ImageShape& in = torso.shapes_[l];
    const ImageShape& out = torso.shapes_[l + 1];
    switch (layer.kind()) {
      case v1::TorsoLayer::CONV:
        x = Convolve(x, in, out, index, layer.kernel(), LayerStride(layer), layer.padding(), layer.relu(), nullptr);
        index += 2;
        break;
      case v1::TorsoLayer::MAX_POOL:
        x = MaxPool(x, in, out, layer.kernel(), LayerStride(layer), layer.padding());
        break;
      case v1::TorsoLayer::RESIDUAL: {
        // x + conv1(relu(conv0(relu(x)))): the outer ReLU is a post-op of
        // conv0, the addition a sum post-op of conv1 into x itself.
        x = Writable(x);
        const memory relu_x = memory(x.get_desc(), engine_);
        Relu(x, relu_x);
        const memory hidden = Convolve(relu_x, in, in, index, 3, 1, 1, /*relu=*/true, nullptr);
        Convolve(hidden, in, in, index + 2, 3, 1, 1, /*relu=*/false, &x);
        index += 4;
        break;
      }
      case v1::TorsoLayer::RELU:
        x = Writable(x);
        Relu(x, x);
        break;
      default:
        RILL_LOG(FATAL) << "unchecked torso layer kind " << layer.kind();
    }
  }
  steps_.push_back({dnnl::reorder(x, output_), {{DNNL_ARG_FROM, x}, {DNNL_ARG_TO, output_}}});
}

memory BlasTorso::Plan::Reordered(const memory& x, const memory::desc& desc) {
  if (x.get_desc() == desc) return x;
  memory y(desc, engine_);
  steps_.push_back({dnnl::reorder(x, y), {{DNNL_ARG_FROM, x}, {DNNL_ARG_TO, y}}});
  return y;
}

memory BlasTorso::Plan::Writable(const memory& x) {
  if (x.get() != input_.get()) return x;
  memory y(x.get_desc(), engine_);
  steps_.push_back({dnnl::reorder(x, y), {{DNNL_ARG_FROM, x}, {DNNL_ARG_TO, y}}});
  return y;
}

void BlasTorso::Plan::AddParameters(size_t index, const ImageShape& in, const ImageShape& out, int64_t kernel,
                                    const dnnl::convolution_forward::primitive_desc& pd,
                                    std::unordered_map<int, memory>& args) {
  const memory::desc user_weights({out.c, in.c, kernel, kernel}, memory::data_type::f32, Tag::oihw);
  Parameter weights{index, memory(user_weights, engine_, DNNL_MEMORY_NONE), std::nullopt};
  if (pd.weights_desc() == user_weights) {
    args[DNNL_ARG_WEIGHTS] = weights.user;
  } else {
    memory packed(pd.weights_desc(), engine_);
    weights.reorder = Step{dnnl::reorder(weights.user, packed), {{DNNL_ARG_FROM, weights.user}, {DNNL_ARG_TO, packed}}};
    args[DNNL_ARG_WEIGHTS] = packed;
  }
  Parameter bias{index + 1, memory(pd.bias_desc(), engine_, DNNL_MEMORY_NONE), std::nullopt};
  args[DNNL_ARG_BIAS] = bias.user;
  parameters_.push_back(std::move(weights));
  parameters_.push_back(std::move(bias));
}

memory BlasTorso::Plan::Convolve(const memory& x, const ImageShape& in, const ImageShape& out, size_t index,
                                 int64_t kernel, int64_t stride, int64_t padding, bool relu, const memory* sum_into) {
  dnnl::post_ops post_ops;
  if (sum_into != nullptr) post_ops.append_sum(1.f);
  if (relu) post_ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(post_ops);
  auto primitive_desc = [&](const memory::desc& src) {
    const memory::desc weights({out.c, in.c, kernel, kernel}, memory::data_type::f32, Tag::any);
    const memory::desc bias({out.c}, memory::data_type::f32, Tag::x);
    const memory::desc dst = sum_into != nullptr ? sum_into->get_desc() : Activations(batch_, out, Tag::any);
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, weights, bias, dst,
        {stride, stride}, {padding, padding},
        {RightPadding(in.h, out.h, kernel, stride, padding), RightPadding(in.w, out.w, kernel, stride, padding)});
    return dnnl::convolution_forward::primitive_desc(desc, attr, engine_);
  };
  // The input in the layout it is in: oneDNN's direct convolutions then read
  // the [B, C, H, W] images of a first layer as they are, writing the
  // channel-blocked layout (nChw16c with AVX-512) that the layers after keep.
  // (Left free, oneDNN 2.6 picks its brgemm convolution on [B, H, W, C],
  // measured 1.05x to 2x slower, plus a reorder of the input.) Where no
  // direct kernel reads that layout (a first layer of more than 16
  // channels), it falls back to im2col and gemm or to its reference code;
  // oneDNN then picks the input's layout too, if that finds a direct one.
  auto direct = [](const dnnl::convolution_forward::primitive_desc& pd) {
    const std::string impl = pd.impl_info_str();
    return absl::StartsWith(impl, "jit") || absl::StartsWith(impl, "brg");
  };
  dnnl::convolution_forward::primitive_desc pd = primitive_desc(x.get_desc());
  if (!direct(pd)) {
    dnnl::convolution_forward::primitive_desc free = primitive_desc(Activations(batch_, in, Tag::any));
    if (direct(free)) pd = std::move(free);
  }
  Step step{dnnl::convolution_forward(pd), {}};
  step.args[DNNL_ARG_SRC] = Reordered(x, pd.src_desc());
  AddParameters(index, in, out, kernel, pd, step.args);
  const memory y = sum_into != nullptr ? *sum_into : memory(pd.dst_desc(), engine_);
  step.args[DNNL_ARG_DST] = y;
  steps_.push_back(std::move(step));
  return y;
}

memory BlasTorso::Plan::MaxPool(const memory& x, const ImageShape& in, const ImageShape& out, int64_t kernel,
                                int64_t stride, int64_t padding) {
  const dnnl::pooling_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, x.get_desc(),
      Activations(batch_, out, Tag::any), {stride, stride}, {kernel, kernel}, {padding, padding},
      {RightPadding(in.h, out.h, kernel, stride, padding), RightPadding(in.w, out.w, kernel, stride, padding)});
  const dnnl::pooling_forward::primitive_desc pd(desc, engine_);
  const memory y(pd.dst_desc(), engine_);
  steps_.push_back({dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}}});
  return y;
}

void BlasTorso::Plan::Relu(const memory& x, const memory& dst) {
  const dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_relu,
                                         x.get_desc(), 0.f, 0.f);
  const dnnl::eltwise_forward::primitive_desc pd(desc, engine_);
  steps_.push_back({dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, dst}}});
}

void BlasTorso::Plan::Run(dnnl::stream& stream, std::vector<NamedParameter>& parameters, const float* input,
                          float* output) {
  for (Parameter& parameter : parameters_) {
    parameter.user.set_data_handle(parameters[parameter.index].values.data());
    if (parameter.reorder) parameter.reorder->primitive.execute(stream, parameter.reorder->args);
  }
  input_.set_data_handle(const_cast<float*>(input));  // only read
  output_.set_data_handle(output);
  for (Step& step : steps_) step.primitive.execute(stream, step.args);
  stream.wait();
}

BlasTorso::BlasTorso(std::vector<v1::TorsoLayer> layers, ImageShape input, const std::string& prefix, uint64_t seed)
    : layers_(std::move(layers)) {
  absl::StatusOr<std::vector<ImageShape>> shapes = TorsoShapes(layers_, input);
  if (!shapes.ok()) RILL_LOG(FATAL) << "unchecked torso: " << shapes.status();  // the caller checks its spec
  shapes_ = *std::move(shapes);
  std::mt19937_64 rng(seed);
  for (const TorsoParameter& spec : TorsoParameters(layers_, shapes_, prefix)) {
    int64_t size = 1;
    for (int64_t d : spec.shape) size *= d;
    NamedParameter parameter{spec.name, spec.shape, std::vector<float>(static_cast<size_t>(size))};
    const float bound = 1.f / std::sqrt(static_cast<float>(spec.fan_in));
    std::uniform_real_distribution<float> uniform(-bound, bound);
    for (float& v : parameter.values) v = uniform(rng);
    parameters_.push_back(std::move(parameter));
  }
}

BlasTorso::~BlasTorso() = default;

BlasTorso::Plan& BlasTorso::PlanFor(int64_t batch) {
  auto it = std::find_if(plans_.begin(), plans_.end(),
                         [batch](const std::unique_ptr<Plan>& plan) { return plan->batch() == batch; });
  if (it != plans_.end()) {
    std::rotate(plans_.begin(), it, it + 1);
    return *plans_.front();
  }
  if (plans_.size() >= kMaxPlans) plans_.pop_back();
  try {
    if (runtime_ == nullptr) runtime_ = std::make_unique<Runtime>();
    plans_.insert(plans_.begin(), std::make_unique<Plan>(*this, runtime_->engine, batch));
  } catch (const dnnl::error& e) {
    // The layers were checked (TorsoShapes), and oneDNN has a reference
    // implementation of every primitive used: only a broken install or
    // memory exhaustion gets here.
    RILL_LOG(FATAL) << "oneDNN could not build the torso for batch " << batch << ": " << e.what();
  }
  return *plans_.front();
}

const float* BlasTorso::Forward(const float* input, int64_t batch) {
  output_.resize(static_cast<size_t>(out_dim() * batch));
  if (batch == 0) return output_.data();
  const OneThread one_thread;
  Plan& plan = PlanFor(batch);
  try {
    plan.Run(runtime_->stream, parameters_, input, output_.data());
  } catch (const dnnl::error& e) {
    RILL_LOG(FATAL) << "oneDNN failed running the torso on batch " << batch << ": " << e.what();
  }
  return output_.data();
}

}  // namespace rill::policies
