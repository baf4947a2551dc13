#include "envs/mujoco/renderer.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/status_macros.h"

namespace rill::envs {
namespace {

// The few EGL types and constants used here, as <EGL/egl.h> and
// <EGL/eglext.h> define them (a stable ABI): libEGL is loaded at run time,
// so the build needs neither its headers nor the library.
using EGLBoolean = unsigned int;
using EGLenum = unsigned int;
using EGLint = int32_t;
using EGLDisplay = void*;
using EGLConfig = void*;
using EGLContext = void*;
using EGLSurface = void*;
constexpr EGLint kEglAlphaSize = 0x3021;
constexpr EGLint kEglBlueSize = 0x3022;
constexpr EGLint kEglGreenSize = 0x3023;
constexpr EGLint kEglRedSize = 0x3024;
constexpr EGLint kEglDepthSize = 0x3025;
constexpr EGLint kEglSurfaceType = 0x3033;
constexpr EGLint kEglNone = 0x3038;
constexpr EGLint kEglRenderableType = 0x3040;
constexpr EGLint kEglPbufferBit = 0x0001;
constexpr EGLint kEglOpenGlBit = 0x0008;
constexpr EGLenum kEglOpenGlApi = 0x30A2;
constexpr EGLenum kEglPlatformSurfacelessMesa = 0x31DD;
constexpr unsigned kGlVersion = 0x1F02;  // GL_VERSION

constexpr char kDefaultEglLibrary[] = "libEGL.so.1";
// MuJoCo's GL loader (glad, inside mjr_makeContext) opens this itself and
// exits the process when it cannot: it is checked first.
constexpr char kGlLibrary[] = "libGL.so.1";

// Enough for every task's geoms, their reflections and decorations.
constexpr int kMaxSceneGeoms = 2000;

absl::Status NoOpenGl(const std::string& what) {
  return absl::FailedPreconditionError(absl::StrCat(
      "cannot render MuJoCo: no headless OpenGL: ", what,
      ". MuJoCo draws through EGL on Mesa's surfaceless platform (software rendering, no display or GPU needed), "
      "which the Debian packages libegl1, libegl-mesa0, libgl1-mesa-dri and libgl1 provide; tools/setup.sh installs "
      "them"));
}

// MuJoCo keeps one process-wide table of OpenGL function pointers, which
// every mjr_makeContext fills from libGL: one thread at a time. (Renderers
// drawing on other threads meanwhile read the table; a refill writes the
// same addresses, libglvnd's dispatch stubs, that it already holds.)
absl::Mutex& MujocoGlLoaderMutex() {
  static absl::Mutex* const mu = new absl::Mutex();
  return *mu;
}

}  // namespace

// One EGL library's functions and the surfaceless display made with it;
// made once per process (per library) and never freed.
struct MujocoRenderer::Egl {
  using GetProcAddress = void* (*)(const char*);
  using GetError = EGLint (*)();
  using GetPlatformDisplay = EGLDisplay (*)(EGLenum, void*, const EGLint*);
  using Initialize = EGLBoolean (*)(EGLDisplay, EGLint*, EGLint*);
  using ChooseConfig = EGLBoolean (*)(EGLDisplay, const EGLint*, EGLConfig*, EGLint, EGLint*);
  using BindApi = EGLBoolean (*)(EGLenum);
  using CreateContext = EGLContext (*)(EGLDisplay, EGLConfig, EGLContext, const EGLint*);
  using MakeCurrent = EGLBoolean (*)(EGLDisplay, EGLSurface, EGLSurface, EGLContext);
  using DestroyContext = EGLBoolean (*)(EGLDisplay, EGLContext);
  using GetString = const unsigned char* (*)(unsigned);

  std::string library;
  GetProcAddress get_proc_address = nullptr;
  GetError get_error = nullptr;
  Initialize initialize = nullptr;
  ChooseConfig choose_config = nullptr;
  BindApi bind_api = nullptr;
  CreateContext create_context = nullptr;
  MakeCurrent make_current = nullptr;
  DestroyContext destroy_context = nullptr;
  EGLDisplay display = nullptr;
  EGLConfig config = nullptr;

  std::string LastError() const { return absl::StrFormat("EGL error 0x%x", get_error()); }

  // Loads `library` and makes the display. FailedPrecondition (NoOpenGl)
  // naming the step that failed.
  static absl::StatusOr<std::unique_ptr<Egl>> Load(const std::string& library) {
    auto egl = std::make_unique<Egl>();
    egl->library = library;
    // Kept open for the process's life, as the display made with it.
    void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) return NoOpenGl(absl::StrCat("cannot load ", library, " (", dlerror(), ")"));
    auto find = [&](const char* name, auto* function) -> absl::Status {
      void* symbol = dlsym(handle, name);
      if (symbol == nullptr) return NoOpenGl(absl::StrCat(library, " has no ", name));
      *function = reinterpret_cast<std::remove_pointer_t<decltype(function)>>(symbol);
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(find("eglGetProcAddress", &egl->get_proc_address));
    RETURN_IF_ERROR(find("eglGetError", &egl->get_error));
    RETURN_IF_ERROR(find("eglInitialize", &egl->initialize));
    RETURN_IF_ERROR(find("eglChooseConfig", &egl->choose_config));
    RETURN_IF_ERROR(find("eglBindAPI", &egl->bind_api));
    RETURN_IF_ERROR(find("eglCreateContext", &egl->create_context));
    RETURN_IF_ERROR(find("eglMakeCurrent", &egl->make_current));
    RETURN_IF_ERROR(find("eglDestroyContext", &egl->destroy_context));

    auto get_platform_display =
        reinterpret_cast<GetPlatformDisplay>(egl->get_proc_address("eglGetPlatformDisplayEXT"));
    if (get_platform_display == nullptr) {
      return NoOpenGl(
          absl::StrCat(library, " offers no eglGetPlatformDisplayEXT (no EGL vendor library: libegl-mesa0)"));
    }
    egl->display = get_platform_display(kEglPlatformSurfacelessMesa, nullptr, nullptr);
    if (egl->display == nullptr) {
      return NoOpenGl(absl::StrCat("no EGL display on Mesa's surfaceless platform (", egl->LastError(),
                                   "; Mesa's EGL: libegl-mesa0, its drivers: libgl1-mesa-dri)"));
    }
    EGLint major = 0;
    EGLint minor = 0;
    if (!egl->initialize(egl->display, &major, &minor)) {
      return NoOpenGl(absl::StrCat("eglInitialize of the surfaceless display failed (", egl->LastError(),
                                   "; Mesa's drivers: libgl1-mesa-dri)"));
    }
    const EGLint attributes[] = {kEglRedSize,   8, kEglGreenSize,      8,           kEglBlueSize,    8,
                                 kEglAlphaSize, 8, kEglDepthSize,      24,          kEglRenderableType,
                                 kEglOpenGlBit,    kEglSurfaceType,    kEglPbufferBit, kEglNone};
    EGLint count = 0;
    if (!egl->choose_config(egl->display, attributes, &egl->config, 1, &count) || count < 1) {
      return NoOpenGl(absl::StrCat("no EGL config with 8-bit RGBA, a 24-bit depth buffer and desktop OpenGL (",
                                   egl->LastError(), ")"));
    }
    // MuJoCo's loader finds OpenGL's functions through libGL's
    // glXGetProcAddressARB; without it, mjr_makeContext would exit the
    // process. Kept open so that its functions stay loaded.
    void* gl = dlopen(kGlLibrary, RTLD_NOW | RTLD_GLOBAL);
    if (gl == nullptr) return NoOpenGl(absl::StrCat("cannot load ", kGlLibrary, " (", dlerror(), "; package libgl1)"));
    if (dlsym(gl, "glXGetProcAddressARB") == nullptr) {
      return NoOpenGl(absl::StrCat(kGlLibrary, " has no glXGetProcAddressARB"));
    }
    return egl;
  }

  // The process's Egl for `library`, made on the first call; a failure is
  // kept and returned again. Thread-safe.
  static absl::StatusOr<const Egl*> Shared(const std::string& library) {
    struct Cache {
      absl::Mutex mu;
      std::map<std::string, absl::StatusOr<const Egl*>> loaded ABSL_GUARDED_BY(mu);
    };
    static Cache* const cache = new Cache();
    absl::MutexLock lock(&cache->mu);
    auto it = cache->loaded.find(library);
    if (it == cache->loaded.end()) {
      absl::StatusOr<std::unique_ptr<Egl>> egl = Load(library);
      it = cache->loaded
               .emplace(library, egl.ok() ? absl::StatusOr<const Egl*>(egl->release())
                                          : absl::StatusOr<const Egl*>(egl.status()))
               .first;
    }
    return it->second;
  }
};

std::vector<std::string> MujocoRenderer::CameraNames(const mjModel* model) {
  std::vector<std::string> names;
  for (int i = 0; i < model->ncam; ++i) {
    const char* name = mj_id2name(model, mjOBJ_CAMERA, i);
    if (name != nullptr && name[0] != '\0') names.emplace_back(name);
  }
  names.emplace_back(kFreeCamera);
  return names;
}

absl::StatusOr<std::unique_ptr<MujocoRenderer>> MujocoRenderer::Create(const mjModel* model) {
  const char* override_library = std::getenv("RILL_EGL_LIBRARY");
  const std::string library =
      override_library != nullptr && override_library[0] != '\0' ? override_library : kDefaultEglLibrary;
  ASSIGN_OR_RETURN(const Egl* egl, Egl::Shared(library));
  // eglBindAPI is per thread: desktop OpenGL, which MuJoCo draws with.
  if (!egl->bind_api(kEglOpenGlApi)) {
    return NoOpenGl(absl::StrCat("eglBindAPI(EGL_OPENGL_API) failed (", egl->LastError(), ")"));
  }
  const EGLint no_attributes[] = {kEglNone};
  EGLContext context = egl->create_context(egl->display, egl->config, nullptr, no_attributes);
  if (context == nullptr) {
    return NoOpenGl(absl::StrCat("eglCreateContext for desktop OpenGL failed (", egl->LastError(), ")"));
  }
  auto renderer = absl::WrapUnique(new MujocoRenderer(egl, context));
  RETURN_IF_ERROR(renderer->MakeCurrent());
  auto get_string = reinterpret_cast<Egl::GetString>(egl->get_proc_address("glGetString"));
  const unsigned char* version = get_string == nullptr ? nullptr : get_string(kGlVersion);
  int major = 0;
  int minor = 0;
  if (version == nullptr || std::sscanf(reinterpret_cast<const char*>(version), "%d.%d", &major, &minor) != 2 ||
      major * 10 + minor < 15) {
    renderer->Release();
    return NoOpenGl(absl::StrCat("the EGL context offers no OpenGL 1.5 or later (GL_VERSION ",
                                 version == nullptr ? "unknown" : reinterpret_cast<const char*>(version), ")"));
  }
  mjv_defaultScene(&renderer->scene_);
  mjv_makeScene(model, &renderer->scene_, kMaxSceneGeoms);
  mjv_defaultOption(&renderer->option_);
  mjr_defaultContext(&renderer->mujoco_context_);
  renderer->MakeMujocoContext(model, 0, 0);
  renderer->Release();
  return renderer;
}

MujocoRenderer::~MujocoRenderer() {
  if (has_mujoco_context_) {
    // The context's buffers and textures are freed through the context.
    if (MakeCurrent().ok()) {
      mjr_freeContext(&mujoco_context_);
      Release();
    }
    mjv_freeScene(&scene_);
  }
  egl_->destroy_context(egl_->display, context_);
}

absl::Status MujocoRenderer::MakeCurrent() {
  egl_->bind_api(kEglOpenGlApi);
  if (!egl_->make_current(egl_->display, nullptr, nullptr, context_)) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot make the MuJoCo renderer's OpenGL context current (", egl_->LastError(), ")"));
  }
  return absl::OkStatus();
}

void MujocoRenderer::Release() {
  // So that another thread may make it current next time.
  egl_->bind_api(kEglOpenGlApi);
  egl_->make_current(egl_->display, nullptr, nullptr, nullptr);
}

void MujocoRenderer::MakeMujocoContext(const mjModel* model, int width, int height) {
  // The offscreen buffer's size comes from the model: set it on a copy.
  mjModel* sized = mj_copyModel(nullptr, model);
  sized->vis.global.offwidth = std::max(width, model->vis.global.offwidth);
  sized->vis.global.offheight = std::max(height, model->vis.global.offheight);
  absl::MutexLock lock(&MujocoGlLoaderMutex());
  if (has_mujoco_context_) mjr_freeContext(&mujoco_context_);
  mjr_makeContext(sized, &mujoco_context_, mjFONTSCALE_100);
  mjr_setBuffer(mjFB_OFFSCREEN, &mujoco_context_);
  has_mujoco_context_ = true;
  mj_deleteModel(sized);
}

absl::Status MujocoRenderer::Render(const mjModel* model, mjData* data, int width, int height,
                                    const std::string& camera, uint8_t* rgb) {
  mjvCamera view;
  mjv_defaultCamera(&view);
  if (camera == kFreeCamera) {
    mjv_defaultFreeCamera(model, &view);
  } else {
    const int id = mj_name2id(model, mjOBJ_CAMERA, camera.c_str());
    if (id < 0) return absl::InvalidArgumentError(absl::StrCat("MuJoCo model has no camera '", camera, "'"));
    view.type = mjCAMERA_FIXED;
    view.fixedcamid = id;
  }
  RETURN_IF_ERROR(MakeCurrent());
  if (width > mujoco_context_.offWidth || height > mujoco_context_.offHeight) {
    MakeMujocoContext(model, std::max(width, mujoco_context_.offWidth), std::max(height, mujoco_context_.offHeight));
  }
  mjv_updateScene(model, data, &option_, nullptr, &view, mjCAT_ALL, &scene_);
  const mjrRect viewport = {0, 0, width, height};
  mjr_render(viewport, &scene_, &mujoco_context_);
  const size_t row_bytes = static_cast<size_t>(width) * 3;
  bottom_up_.resize(row_bytes * height);
  mjr_readPixels(bottom_up_.data(), nullptr, viewport, &mujoco_context_);
  Release();
  for (int y = 0; y < height; ++y) {
    std::memcpy(rgb + row_bytes * y, bottom_up_.data() + row_bytes * (height - 1 - y), row_bytes);
  }
  return absl::OkStatus();
}

}  // namespace rill::envs
