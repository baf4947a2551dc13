// Pixel observations of any env that renders (env.pixels in the config):
// the wrapped env's observation is replaced by the frame its renderer draws
// of the state that observation described, uint8 [3, H, W] (channels
// first, as the conv torsos take them) or [1, H, W] in grayscale. This is
// what turns the MuJoCo tasks and Pendulum into pixel tasks (DrQ-v2,
// "Mastering Visual Continuous Control", learns from such frames, with
// action repeat and frame stacking around them).
//
// Each Reset and Step renders once at the configured size from the
// configured camera (the env's default for ""), after the wrapped env has
// moved; the state observation is read into a scratch buffer and dropped.
// A frame that cannot be drawn is an error of the step that needed it (the
// wrapped env has stepped; the observation is the previous frame), and of
// Create for the first: envs whose renderer cannot start (no OpenGL for
// MuJoCo) are refused before any episode, with the renderer's message.
//
// Rendering (videos) draws the wrapped env at any size, as it is.
// Not thread-safe (see Env).
#ifndef RILL_ENVS_PIXELS_H_
#define RILL_ENVS_PIXELS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/render.h"
#include "envs/spec.h"
#include "envs/wrapper.h"

namespace rill::envs {

// The largest frame side env.pixels may ask for: 1024 x 1024 x 3 bytes is
// already 3 MB an observation.
inline constexpr int kMaxPixelsSize = 1024;

struct PixelsOptions {
  int width = 84;
  int height = 84;
  std::string camera;  // "": the env's default
  bool grayscale = false;
};

// The spec of `spec`'s env observed through its renderer: uint8
// [channels, height, width], the rest as it is. InvalidArgument for a size
// outside 1..kMaxPixelsSize.
absl::StatusOr<EnvSpec> PixelsSpec(const EnvSpec& spec, const PixelsOptions& options);

class Pixels final : public Wrapper {
 public:
  // Wraps `env`. Errors: PixelsSpec's; Unimplemented for an env that cannot
  // render and InvalidArgument for a camera it does not have
  // (ResolveCamera's); the env's renderer's own (FailedPrecondition naming
  // the missing OpenGL packages), found by drawing one frame now.
  static absl::StatusOr<std::unique_ptr<Pixels>> Create(std::unique_ptr<Env> env, const PixelsOptions& options);

  // The frame as uint8 [C, H, W] (obs_bytes()).
  void ResetRaw(void* obs) override;
  absl::StatusOr<StepResult> StepRaw(const float* action, void* next_obs) override;
  // The same frame's values (0..255) as floats, as every uint8 env gives them.
  void Reset(float* obs) override;
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override;

 private:
  Pixels(std::unique_ptr<Env> env, EnvSpec spec, const PixelsOptions& options, std::string camera);
  // Draws the wrapped env's state into `frame` ([C, H, W] bytes).
  absl::Status Draw(uint8_t* frame);

  PixelsOptions options_;
  std::string camera_;               // resolved
  std::vector<uint8_t> state_;       // the wrapped env's observation, dropped
  RgbImage image_;                   // the rendered frame, [H, W, 3]
  std::vector<uint8_t> last_frame_;  // [C, H, W]: what a failed draw leaves
};

}  // namespace rill::envs

#endif  // RILL_ENVS_PIXELS_H_
