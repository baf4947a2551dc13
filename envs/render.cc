#include "envs/render.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace rill::envs {

namespace {

absl::StatusOr<std::string> ResolveSceneCamera(const std::string& name, const std::vector<std::string>& cameras,
                                               const std::string& camera) {
  if (cameras.empty()) return absl::UnimplementedError(absl::StrCat(name, " cannot render"));
  if (camera.empty()) return cameras.front();
  if (std::find(cameras.begin(), cameras.end(), camera) == cameras.end()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " has no camera '", camera,
                                                   "'; its cameras: ", absl::StrJoin(cameras, ", ")));
  }
  return camera;
}

}  // namespace

absl::StatusOr<std::string> ResolveCamera(const Env& env, const std::string& camera) {
  return ResolveSceneCamera(env.name(), env.cameras(), camera);
}

absl::Status RenderSceneInto(const std::string& name, const std::vector<std::string>& cameras, DrawFunction draw,
                             int width, int height, const std::string& camera, RgbImage* image) {
  if (width < 1 || height < 1 || width > kMaxRenderSize || height > kMaxRenderSize) {
    return absl::InvalidArgumentError(absl::StrCat("a render of ", width, "x", height, " pixels: width and height must "
                                                   "lie in 1..", kMaxRenderSize));
  }
  ASSIGN_OR_RETURN(const std::string resolved, ResolveSceneCamera(name, cameras, camera));
  image->width = width;
  image->height = height;
  image->rgb.resize(static_cast<size_t>(width) * height * 3);
  return draw(width, height, resolved, image->rgb.data());
}

absl::Status RenderInto(Env& env, int width, int height, const std::string& camera, RgbImage* image) {
  return RenderSceneInto(
      env.name(), env.cameras(),
      [&env](int w, int h, const std::string& c, uint8_t* rgb) { return env.Render(w, h, c, rgb); }, width, height,
      camera, image);
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
