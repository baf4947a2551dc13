#include "envs/render.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace rill::envs {

absl::StatusOr<std::string> ResolveCamera(const Env& env, const std::string& camera) {
  const std::vector<std::string> cameras = env.cameras();
  if (cameras.empty()) return absl::UnimplementedError(absl::StrCat(env.name(), " cannot render"));
  if (camera.empty()) return cameras.front();
  if (std::find(cameras.begin(), cameras.end(), camera) == cameras.end()) {
    return absl::InvalidArgumentError(absl::StrCat(env.name(), " has no camera '", camera,
                                                   "'; its cameras: ", absl::StrJoin(cameras, ", ")));
  }
  return camera;
}

absl::Status RenderInto(Env& env, int width, int height, const std::string& camera, RgbImage* image) {
  if (width < 1 || height < 1 || width > kMaxRenderSize || height > kMaxRenderSize) {
    return absl::InvalidArgumentError(absl::StrCat("a render of ", width, "x", height, " pixels: width and height must "
                                                   "lie in 1..", kMaxRenderSize));
  }
  ASSIGN_OR_RETURN(const std::string resolved, ResolveCamera(env, camera));
  image->width = width;
  image->height = height;
  image->rgb.resize(static_cast<size_t>(width) * height * 3);
  return env.Render(width, height, resolved, image->rgb.data());
}

absl::StatusOr<RgbImage> RenderFrame(Env& env, int width, int height, const std::string& camera) {
  RgbImage image;
  RETURN_IF_ERROR(RenderInto(env, width, height, camera, &image));
  return image;
}

absl::Status ParseRenderSize(const std::string& text, const std::string& what, int* width, int* height) {
  const std::vector<std::string> parts = absl::StrSplit(text, 'x');
  int w = 0;
  int h = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &w) || !absl::SimpleAtoi(parts[1], &h) || w < 1 || h < 1 ||
      w > kMaxRenderSize || h > kMaxRenderSize) {
    return absl::InvalidArgumentError(absl::StrCat(what, "='", text, "': expected WIDTHxHEIGHT, each 1..",
                                                   kMaxRenderSize, " (e.g. 84x84)"));
  }
  *width = w;
  *height = h;
  return absl::OkStatus();
}

}  // namespace rill::envs
