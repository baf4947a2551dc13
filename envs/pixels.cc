#include "envs/pixels.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rill::envs {

absl::StatusOr<EnvSpec> PixelsSpec(const EnvSpec& spec, const PixelsOptions& options) {
  if (options.width < 1 || options.width > kMaxPixelsSize || options.height < 1 || options.height > kMaxPixelsSize) {
    return absl::InvalidArgumentError(absl::StrCat("frames of ", options.width, "x", options.height,
                                                   " pixels: width and height must lie in 1..", kMaxPixelsSize));
  }
  if (options.state && (spec.observation_type != ObservationType::kFloat32 || spec.observation_shape.size() != 1 ||
                        !spec.observation_leaves.empty())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "state: ", spec.name, " observes ", ObservationTypeName(spec.observation_type), " [",
        absl::StrJoin(spec.observation_shape, ", "), "]", spec.observation_leaves.empty() ? "" : " as a Dict",
        "; the state beside a frame is one float32 vector"));
  }
  EnvSpec pixels = spec;
  pixels.observation_shape = {options.grayscale ? 1 : 3, options.height, options.width};
  pixels.observation_type = ObservationType::kUint8;
  // The frames replace the whole observation, leaves and all, or sit
  // beside the state.
  pixels.observation_leaves.clear();
  pixels.flat_dim = 0;
  if (options.state) {
    pixels.observation_leaves = {{"pixels", pixels.observation_shape, ObservationType::kUint8},
                                 {"state", spec.observation_shape, ObservationType::kFloat32}};
    pixels.flat_dim = spec.shape_elements();
  }
  return pixels;
}

void FrameOfImage(const RgbImage& image, const PixelsOptions& options, uint8_t* frame) {
  const int width = options.width;
  const int height = options.height;
  const size_t plane = static_cast<size_t>(width) * height;
  const bool same_size = image.width == width && image.height == height;
  for (int y = 0; y < height; ++y) {
    // The nearest source row and column: the centre of each target pixel.
    const int source_y = same_size ? y : static_cast<int>((static_cast<int64_t>(2 * y + 1) * image.height) / (2 * height));
    for (int x = 0; x < width; ++x) {
      const int source_x = same_size ? x : static_cast<int>((static_cast<int64_t>(2 * x + 1) * image.width) / (2 * width));
      const uint8_t* rgb = image.rgb.data() + 3 * (static_cast<size_t>(source_y) * image.width + source_x);
      const size_t p = static_cast<size_t>(y) * width + x;
      if (options.grayscale) {
        // ITU-R BT.601 luma, rounded: (299 R + 587 G + 114 B) / 1000.
        const uint32_t luma = 299u * rgb[0] + 587u * rgb[1] + 114u * rgb[2];
        frame[p] = static_cast<uint8_t>((luma + 500u) / 1000u);
      } else {
        // [H, W, 3] to [3, H, W].
        frame[p] = rgb[0];
        frame[plane + p] = rgb[1];
        frame[2 * plane + p] = rgb[2];
      }
    }
  }
}

}  // namespace rill::envs
