// Wrapper: the part every env wrapper shares (FrameStack, Pixels,
// ActionRepeat): it owns the wrapped env, and rendering (videos, `rill
// render`) draws the wrapped env as it is, whatever the wrapper makes of
// its observations. A wrapper overrides what it changes.
//
// Not thread-safe (see Env).
#ifndef RILL_ENVS_WRAPPER_H_
#define RILL_ENVS_WRAPPER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "envs/interface.h"
#include "envs/spec.h"

namespace rill::envs {

class Wrapper : public Env {
 public:
  std::vector<std::string> cameras() const override { return env_->cameras(); }
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) override {
    return env_->Render(width, height, camera, rgb);
  }
  double render_fps() const override { return env_->render_fps(); }

  Env& wrapped() { return *env_; }

 protected:
  // `spec`: the wrapped env's as the wrapper changes it.
  Wrapper(std::unique_ptr<Env> env, EnvSpec spec) : Env(std::move(spec)), env_(std::move(env)) {}

  std::unique_ptr<Env> env_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_WRAPPER_H_
