#include "policies/torso.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rill::policies {
namespace {

constexpr int64_t kMaxChannels = 4096;
constexpr int64_t kMaxKernel = 32;
constexpr int64_t kMaxStride = 32;

v1::TorsoLayer Conv(int channels, int kernel, int stride, int padding, bool relu) {
  v1::TorsoLayer layer;
  layer.set_kind(v1::TorsoLayer::CONV);
  layer.set_channels(channels);
  layer.set_kernel(kernel);
  layer.set_stride(stride);
  layer.set_padding(padding);
  layer.set_relu(relu);
  return layer;
}

v1::TorsoLayer Layer(v1::TorsoLayer::Kind kind) {
  v1::TorsoLayer layer;
  layer.set_kind(kind);
  return layer;
}

// The output side of a kernel-k, stride-s window over `in` with `pad` on
// each side.
int64_t WindowOutput(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  return (in + 2 * pad - kernel) / stride + 1;
}

}  // namespace

std::string ImageShapeString(const ImageShape& shape) {
  return absl::StrCat("[", shape.c, ", ", shape.h, ", ", shape.w, "]");
}

absl::StatusOr<std::vector<ImageShape>> ImageLeafInputs(ImageShape input, const std::vector<int32_t>& channels) {
  if (channels.empty()) return std::vector<ImageShape>{input};
  std::vector<ImageShape> inputs;
  int64_t total = 0;
  for (const int32_t c : channels) {
    if (c < 1) return absl::InvalidArgumentError(absl::StrCat("an image leaf of ", c, " channels"));
    inputs.push_back({c, input.h, input.w});
    total += c;
  }
  if (total != input.c) {
    return absl::InvalidArgumentError(absl::StrCat("image leaves of ", absl::StrJoin(channels, " + "),
                                                   " channels in an image of ", input.c));
  }
  return inputs;
}

std::string ImageLeafPrefix(const std::string& prefix, size_t k) {
  return k == 0 ? prefix : absl::StrCat(prefix, ".image", k);
}

std::string TorsoLayerString(const v1::TorsoLayer& layer) {
  const std::string window = absl::StrCat(layer.kernel(), "x", layer.kernel(), " stride ", LayerStride(layer),
                                          layer.padding() > 0 ? absl::StrCat(" pad ", layer.padding()) : "");
  switch (layer.kind()) {
    case v1::TorsoLayer::CONV:
      return absl::StrCat("conv ", layer.channels(), " ", window, layer.relu() ? " + relu" : "");
    case v1::TorsoLayer::MAX_POOL:
      return absl::StrCat("max_pool ", window);
    case v1::TorsoLayer::RESIDUAL:
      return "residual";
    case v1::TorsoLayer::RELU:
      return "relu";
    default:
      return absl::StrCat("kind ", layer.kind());
  }
}

absl::StatusOr<std::vector<ImageShape>> TorsoShapes(const std::vector<v1::TorsoLayer>& layers, ImageShape input) {
  if (input.c < 1 || input.h < 1 || input.w < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a torso needs a [C, H, W] input with every side >= 1, got ", ImageShapeString(input)));
  }
  std::vector<ImageShape> shapes = {input};
  for (size_t l = 0; l < layers.size(); ++l) {
    const v1::TorsoLayer& layer = layers[l];
    const ImageShape in = shapes.back();
    auto invalid = [&](const std::string& why) {
      return absl::InvalidArgumentError(
          absl::StrCat("torso layer ", l, " (", TorsoLayerString(layer), ") on ", ImageShapeString(in), ": ", why));
    };
    switch (layer.kind()) {
      case v1::TorsoLayer::CONV:
      case v1::TorsoLayer::MAX_POOL: {
        const bool conv = layer.kind() == v1::TorsoLayer::CONV;
        if (conv && (layer.channels() < 1 || layer.channels() > kMaxChannels)) {
          return invalid(absl::StrCat("channels ", layer.channels(), " is out of range (1..", kMaxChannels, ")"));
        }
        if (!conv && layer.channels() != 0) return invalid("channels is read by conv layers only: leave it 0");
        if (layer.kernel() < 1 || layer.kernel() > kMaxKernel) {
          return invalid(absl::StrCat("kernel ", layer.kernel(), " is out of range (1..", kMaxKernel, ")"));
        }
        if (layer.stride() < 0 || layer.stride() > kMaxStride) {
          return invalid(absl::StrCat("stride ", layer.stride(), " is out of range (1..", kMaxStride, ")"));
        }
        if (layer.padding() < 0 || layer.padding() >= layer.kernel()) {
          return invalid(absl::StrCat("padding ", layer.padding(), " is out of range (0..", layer.kernel() - 1, ")"));
        }
        if (!conv && layer.relu()) return invalid("relu is read by conv layers only");
        const int64_t stride = LayerStride(layer);
        if (in.h + 2 * layer.padding() < layer.kernel() || in.w + 2 * layer.padding() < layer.kernel()) {
          return invalid(absl::StrCat("the input is smaller than the ", layer.kernel(), "x", layer.kernel(),
                                      " kernel; use fewer or smaller layers, or a larger image"));
        }
        shapes.push_back({conv ? layer.channels() : in.c, WindowOutput(in.h, layer.kernel(), stride, layer.padding()),
                          WindowOutput(in.w, layer.kernel(), stride, layer.padding())});
        break;
      }
      case v1::TorsoLayer::RESIDUAL:
      case v1::TorsoLayer::RELU:
        if (layer.channels() != 0 || layer.kernel() != 0 || layer.stride() != 0 || layer.padding() != 0 ||
            layer.relu()) {
          return invalid("takes no channels, kernel, stride, padding or relu (a residual block keeps the shape)");
        }
        shapes.push_back(in);
        break;
      default:
        return invalid(absl::StrCat("kind ", v1::TorsoLayer::Kind_Name(layer.kind()),
                                    " is not a layer (known: CONV, MAX_POOL, RESIDUAL, RELU)"));
    }
  }
  return shapes;
}

std::vector<TorsoParameter> TorsoParameters(const std::vector<v1::TorsoLayer>& layers,
                                            const std::vector<ImageShape>& shapes, const std::string& prefix) {
  std::vector<TorsoParameter> parameters;
  auto conv = [&](const std::string& name, int64_t in, int64_t out, int64_t k) {
    parameters.push_back({name + ".weight", {out, in, k, k}, in * k * k});
    parameters.push_back({name + ".bias", {out}, in * k * k});
  };
  for (size_t l = 0; l < layers.size(); ++l) {
    const std::string name = absl::StrCat(prefix, ".torso.", l);
    if (layers[l].kind() == v1::TorsoLayer::CONV) {
      conv(name, shapes[l].c, layers[l].channels(), layers[l].kernel());
    } else if (layers[l].kind() == v1::TorsoLayer::RESIDUAL) {
      conv(name + ".conv0", shapes[l].c, shapes[l].c, 3);
      conv(name + ".conv1", shapes[l].c, shapes[l].c, 3);
    }
  }
  return parameters;
}

int64_t TorsoMultiplyAdds(const std::vector<v1::TorsoLayer>& layers, const std::vector<ImageShape>& shapes) {
  int64_t total = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const ImageShape& out = shapes[l + 1];
    if (layers[l].kind() == v1::TorsoLayer::CONV) {
      total += out.size() * shapes[l].c * layers[l].kernel() * layers[l].kernel();
    } else if (layers[l].kind() == v1::TorsoLayer::RESIDUAL) {
      total += 2 * out.size() * out.c * 9;
    }
  }
  return total;
}

std::vector<v1::TorsoLayer> NatureCnnLayers() {
  return {Conv(32, 8, 4, 0, true), Conv(64, 4, 2, 0, true), Conv(64, 3, 1, 0, true)};
}

std::vector<v1::TorsoLayer> ImpalaResnetLayers() {
  std::vector<v1::TorsoLayer> layers;
  for (int channels : {16, 32, 32}) {
    layers.push_back(Conv(channels, 3, 1, 1, false));
    v1::TorsoLayer pool = Layer(v1::TorsoLayer::MAX_POOL);
    pool.set_kernel(3);
    pool.set_stride(2);
    pool.set_padding(1);
    layers.push_back(pool);
    layers.push_back(Layer(v1::TorsoLayer::RESIDUAL));
    layers.push_back(Layer(v1::TorsoLayer::RESIDUAL));
  }
  layers.push_back(Layer(v1::TorsoLayer::RELU));
  return layers;
}

std::vector<v1::TorsoLayer> MinAtarCnnLayers() { return {Conv(16, 3, 1, 0, true)}; }

std::vector<v1::TorsoLayer> DrqV2EncoderLayers() {
  return {Conv(32, 3, 2, 0, true), Conv(32, 3, 1, 0, true), Conv(32, 3, 1, 0, true), Conv(32, 3, 1, 0, true)};
}

}  // namespace rill::policies
