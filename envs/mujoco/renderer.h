// MujocoRenderer: draws a MuJoCo task's state with MuJoCo's own renderer
// (mjv_updateScene, mjr_render) into an offscreen framebuffer, headless on a
// CPU: an OpenGL context from EGL on Mesa's surfaceless platform (llvmpipe),
// no display, no window system, no GPU needed.
//
// MujocoEnv makes one on its first Render, so that an env that never
// renders pays nothing, and binaries that never render (rill-actor) need
// no OpenGL libraries: libEGL is loaded at run time (dlopen), not linked.
// RILL_EGL_LIBRARY, when set, names the EGL library to load instead of
// libEGL.so.1 (tests point it at a missing file to see the error).
//
// The EGL display is made once per process (per EGL library) and shared;
// each renderer owns one OpenGL context. MuJoCo's mjr_* functions draw with
// the calling thread's current context, so Render makes this renderer's
// context current, draws, reads the pixels back and releases it again.
//
// Thread safety: one renderer is used by one thread at a time (as its Env);
// it may move between threads over its life. Renderers on different threads
// draw in parallel. llvmpipe rasterizes each context's frames on its own
// threads besides (up to one per core; LP_NUM_THREADS=0 draws on the caller's).
#ifndef RILL_ENVS_MUJOCO_RENDERER_H_
#define RILL_ENVS_MUJOCO_RENDERER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mujoco/mujoco.h"

namespace rill::envs {

class MujocoRenderer {
 public:
  // The camera that views the model from MuJoCo's default free-camera pose
  // (mjv_defaultFreeCamera): fixed in the world, aimed at the model's
  // centre as compiled.
  static constexpr char kFreeCamera[] = "free";

  // The cameras a model can be drawn from: its named cameras in model order
  // (the tasks' "track", which follows the robot), then kFreeCamera.
  static std::vector<std::string> CameraNames(const mjModel* model);

  // Makes the OpenGL context and MuJoCo's rendering context for `model`
  // (textures and materials are uploaded from it; Render draws the same
  // model). FailedPrecondition when there is no headless OpenGL: the
  // message names what failed and the Debian packages that provide it.
  static absl::StatusOr<std::unique_ptr<MujocoRenderer>> Create(const mjModel* model);

  ~MujocoRenderer();
  MujocoRenderer(const MujocoRenderer&) = delete;
  MujocoRenderer& operator=(const MujocoRenderer&) = delete;

  // Draws `data`'s current state of `model` (the model given to Create) as
  // `height` rows of `width` RGB pixels, top row first, into `rgb`, seen
  // from `camera` (one of CameraNames). Reads positions that mj_forward or
  // mj_step left in `data` and changes none of its physics (MuJoCo takes it
  // non-const for scratch space only). The offscreen buffer grows to the
  // largest size asked for. InvalidArgument for an unknown camera;
  // FailedPrecondition when the context cannot be made current here.
  absl::Status Render(const mjModel* model, mjData* data, int width, int height, const std::string& camera,
                      uint8_t* rgb);

 private:
  struct Egl;

  MujocoRenderer(const Egl* egl, void* context) : egl_(egl), context_(context) {}

  absl::Status MakeCurrent();
  void Release();
  // (Re)makes MuJoCo's rendering context with an offscreen buffer of at
  // least width x height. The OpenGL context is current.
  void MakeMujocoContext(const mjModel* model, int width, int height);

  const Egl* egl_;   // the process's, never freed
  void* context_;    // EGLContext
  bool has_mujoco_context_ = false;
  mjvScene scene_;
  mjvOption option_;
  mjrContext mujoco_context_;
  std::vector<uint8_t> bottom_up_;  // mjr_readPixels's rows, bottom row first
};

}  // namespace rill::envs

#endif  // RILL_ENVS_MUJOCO_RENDERER_H_
