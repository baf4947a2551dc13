// Convolutional torsos: what a list of TorsoLayer (proto/network.proto)
// computes, checked once and shared by the two implementations that run it,
// BlasTorso (policies/blas_torso.h, actors, oneDNN) and TorchTorso
// (learner/torch_torso.h, LibTorch): the shape after each layer, the
// parameters with their names, shapes and fan-ins, and the presets a config
// names (network.torso). No LibTorch.
//
// Thread-safe free functions.
#ifndef RILL_POLICIES_TORSO_H_
#define RILL_POLICIES_TORSO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/network.pb.h"

namespace rill::policies {

// One sample's activations: [c, h, w].
struct ImageShape {
  int64_t c = 0, h = 0, w = 0;
  int64_t size() const { return c * h * w; }
  bool operator==(const ImageShape& other) const { return c == other.c && h == other.h && w == other.w; }
};

// "[c, h, w]".
std::string ImageShapeString(const ImageShape& shape);

// The shapes of the input and after each layer (layers.size() + 1 entries),
// or InvalidArgument naming the layer ("torso layer 2 (conv 64 4x4 stride
// 2)") when a field is out of range (channels 1..4096, kernel 1..32, stride
// 1..32, padding 0..kernel-1; stride 0 reads as 1) or the layer's input is
// smaller than its kernel. Limits keep a mutated config from asking for an
// absurd allocation; real torsos are far inside them.
absl::StatusOr<std::vector<ImageShape>> TorsoShapes(const std::vector<v1::TorsoLayer>& layers, ImageShape input);

// A parameter of a torso, in the order implementations store and publish
// them: per CONV layer its weight [out, in, k, k] and bias [out]; per
// RESIDUAL layer conv0's, then conv1's. Initialised as torch.nn.Conv2d is
// (uniform in +-1/sqrt(fan_in) for weight and bias).
struct TorsoParameter {
  std::string name;  // "<prefix>.torso.<l>.weight", "<prefix>.torso.<l>.conv1.bias"
  std::vector<int64_t> shape;
  int64_t fan_in = 0;  // in channels * k * k
};

// The parameters of `layers` on inputs `shapes` (from TorsoShapes).
std::vector<TorsoParameter> TorsoParameters(const std::vector<v1::TorsoLayer>& layers,
                                            const std::vector<ImageShape>& shapes, const std::string& prefix);

// Multiply-adds of one sample's forward pass (convolutions only).
int64_t TorsoMultiplyAdds(const std::vector<v1::TorsoLayer>& layers, const std::vector<ImageShape>& shapes);

// The stride and padding a layer uses (stride 0 reads as 1).
inline int64_t LayerStride(const v1::TorsoLayer& layer) { return layer.stride() > 0 ? layer.stride() : 1; }

// A torso per image leaf of a Dict observation: several images of one
// height and width sit in a row as one [C, H, W] image, `channels[k]` of
// its channels leaf k's (PolicySpec.image_channels). Each leaf has its own
// torso of the same layers, its features after the previous leaf's. The
// input of each leaf's torso; `input` alone when `channels` is empty.
// InvalidArgument when `channels` do not add up to input.c.
absl::StatusOr<std::vector<ImageShape>> ImageLeafInputs(ImageShape input, const std::vector<int32_t>& channels);

// The parameter prefix of leaf `k`'s torso: `prefix` for the first (a
// single image's names), "<prefix>.image<k>" after it.
std::string ImageLeafPrefix(const std::string& prefix, size_t k);

// The presets of network.torso (proto/config.proto says what each is).
std::vector<v1::TorsoLayer> NatureCnnLayers();
std::vector<v1::TorsoLayer> ImpalaResnetLayers();
std::vector<v1::TorsoLayer> MinAtarCnnLayers();
std::vector<v1::TorsoLayer> DrqV2EncoderLayers();

// "conv 32 8x8 stride 4 + relu", "max_pool 3x3 stride 2 pad 1", "residual",
// "relu".
std::string TorsoLayerString(const v1::TorsoLayer& layer);

}  // namespace rill::policies

#endif  // RILL_POLICIES_TORSO_H_
