// Rendering an Env: the checked entry point over Env::Render, and the
// image it returns. `rill render`, the evaluator's videos, `rill bench env
// --render` and pixel observations of state envs all draw through
// RenderFrame, so every caller gets the same checks and the same messages.
//
// Thread safety: as the Env (one thread at a time).
#ifndef RILL_ENVS_RENDER_H_
#define RILL_ENVS_RENDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "envs/interface.h"

namespace rill::envs {

// The largest width or height a render may ask for.
inline constexpr int kMaxRenderSize = 4096;

// An RGB image: `height` rows of `width` pixels, top row first, 3 bytes a
// pixel (R, G, B).
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;

  uint8_t* pixel(int x, int y) { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
  const uint8_t* pixel(int x, int y) const { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
};

// Whether `env` can render (it lists at least one camera).
inline bool CanRender(const Env& env) { return !env.cameras().empty(); }

// The camera `camera` names for `env`: itself when it is one of
// env.cameras(), the default (the first) for "". Errors: Unimplemented
// when the env cannot render; InvalidArgument for a camera it does not
// have, naming the ones it has.
absl::StatusOr<std::string> ResolveCamera(const Env& env, const std::string& camera);

// Draws `env`'s current state at width x height from `camera` ("" for its
// default) into `image` (resized to fit; reusing one image across frames
// allocates once). Errors: InvalidArgument for a size outside
// 1..kMaxRenderSize or an unknown camera; the env's own (Env::Render).
absl::Status RenderInto(Env& env, int width, int height, const std::string& camera, RgbImage* image);

// The same checks and drawing for a scene that is no Env (a multi-agent
// env, envs/multi_agent/interface.h): its `name`, `cameras` and the
// `draw` call of its Render(width, height, camera, rgb).
using DrawFunction = absl::FunctionRef<absl::Status(int width, int height, const std::string& camera, uint8_t* rgb)>;
absl::Status RenderSceneInto(const std::string& name, const std::vector<std::string>& cameras, DrawFunction draw,
                             int width, int height, const std::string& camera, RgbImage* image);

// The same, into a new image.
absl::StatusOr<RgbImage> RenderFrame(Env& env, int width, int height, const std::string& camera = "");

// Parses "WxH" (e.g. "84x84") into width and height, each in
// 1..kMaxRenderSize. InvalidArgument naming `what` and the text otherwise.
absl::Status ParseRenderSize(const std::string& text, const std::string& what, int* width, int* height);

}  // namespace rill::envs

#endif  // RILL_ENVS_RENDER_H_
