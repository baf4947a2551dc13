// Pixel observations of any env that renders (env.pixels in the config):
// the env's observation is replaced by the frame its renderer draws of the
// state that observation described, uint8 [3, H, W] (channels first, as
// the conv torsos take them) or [1, H, W] in grayscale. This is what turns
// the MuJoCo tasks and Pendulum into pixel tasks (DrQ-v2, "Mastering
// Visual Continuous Control", learns from such frames, with action repeat
// and frame stacking around them). PixelsBatch (envs/batch/pixels.h) does
// it for every kind of env; this is its spec and its frame.
//
// Thread-safe: pure functions.
#ifndef RILL_ENVS_PIXELS_H_
#define RILL_ENVS_PIXELS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "envs/render.h"
#include "envs/spec.h"

namespace rill::envs {

// The largest frame side env.pixels may ask for: 1024 x 1024 x 3 bytes is
// already 3 MB an observation.
inline constexpr int kMaxPixelsSize = 1024;

// What a frame is: env.pixels's settings (PixelsOptionsOf in
// envs/wrappers.h, with their defaults).
struct PixelsOptions {
  int width = 0;
  int height = 0;
  std::string camera;  // "": the env's default
  bool grayscale = false;
  // The env's own observation kept beside the frame (env.pixels.state).
  bool state = false;
};

// The spec of `spec`'s env observed through its renderer: uint8
// [channels, height, width], the rest as it is; with options.state, a
// Dict of that frame ("pixels") and the env's observation ("state", its
// flat_dim elements after the frame's bytes). InvalidArgument for a size
// outside 1..kMaxPixelsSize, or a state that is not one float32 vector.
absl::StatusOr<EnvSpec> PixelsSpec(const EnvSpec& spec, const PixelsOptions& options);

// `image` as the observation `options` asks for, into `frame`
// ([C, H, W] bytes): RGB planes, or one luma plane (ITU-R BT.601, rounded)
// in grayscale. An image of another size (a remote Python env's render()
// draws at its own) is sampled to width x height, nearest pixel.
void FrameOfImage(const RgbImage& image, const PixelsOptions& options, uint8_t* frame);

}  // namespace rill::envs

#endif  // RILL_ENVS_PIXELS_H_
