// LocalEnvBatch: an EnvBatch of Env objects in this process, stepped one
// after the other on the calling thread: the registry's envs, or a plugin
// library's (envs/plugin/plugin_envs.h), each already wrapped as the
// config's env section asks per instance (env.action_repeat, env.pixels:
// envs/wrappers.h). MakeEnvBatch (make.h) makes them.
//
// An instance whose episode ends is reset inside the Step (interface.h).
// A Step error of an instance either ends the Step (StepErrors::kFailStep:
// the registry's envs, whose errors are bugs or bad actions) or fails that
// row only (kFailInstance: a user's plugin env, which may fail as a remote
// one does): it is listed in the failures, reset, and the others go on.
//
// Not thread-safe (see interface.h).
#ifndef RILL_ENVS_BATCH_LOCAL_H_
#define RILL_ENVS_BATCH_LOCAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/batch/interface.h"
#include "envs/interface.h"

namespace rill::envs {

class LocalEnvBatch final : public EnvBatch {
 public:
  enum class StepErrors {
    kFailStep,      // an instance's Step error is Step's error
    kFailInstance,  // it is that row's failure; the instance is reset
  };

  // A batch of `envs`, whose rows are `spec` (the config's, wrappers
  // included: envs/catalog.h). InvalidArgument for no envs, or for an env
  // whose observations or actions differ in size from the spec's.
  static absl::StatusOr<std::unique_ptr<LocalEnvBatch>> Create(EnvSpec spec, std::vector<std::unique_ptr<Env>> envs,
                                                               StepErrors step_errors);

  absl::Status Reset(uint8_t* observations) override;
  absl::StatusOr<int> Step(int active, const float* actions, const EnvBatchOutput& out) override;
  std::vector<std::string> cameras() const override { return envs_[0]->cameras(); }
  absl::Status Render(int index, int width, int height, const std::string& camera, RgbImage* image) override;
  double render_fps() const override { return envs_[0]->render_fps(); }

 private:
  LocalEnvBatch(EnvSpec spec, std::vector<std::unique_ptr<Env>> envs, StepErrors step_errors);

  std::vector<std::unique_ptr<Env>> envs_;
  StepErrors step_errors_;
  int obs_bytes_;
  int act_dim_;  // floats of one row's action
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_LOCAL_H_
