// LocalEnvBatch: an EnvBatch of Env objects in this process, stepped one
// after the other on the calling thread: the registry's envs, or a plugin
// library's (envs/plugin/plugin_envs.h). MakeEnvBatch (make.h) makes them
// and puts the config's batch wrappers around them (envs/wrappers.h).
//
// An instance whose episode ends is reset inside the Step (interface.h),
// or at ResetRows after a StepRows that deferred it (row control: always).
// StepRows of an instance whose reset was deferred and has not happened is
// a FailedPrecondition error (the caller's bug).
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
  bool row_control() const override { return true; }
  absl::Status StepRows(const uint8_t* step, bool defer_resets, const float* actions,
                        const EnvBatchOutput& out) override;
  absl::Status ResetRows(const uint8_t* reset, uint8_t* observations, std::vector<EnvFailure>* failures) override;
  std::vector<std::string> cameras() const override { return envs_[0]->cameras(); }
  absl::Status Render(int index, int width, int height, const std::string& camera, RgbImage* image) override;
  double render_fps() const override { return envs_[0]->render_fps(); }

 private:
  LocalEnvBatch(EnvSpec spec, std::vector<std::unique_ptr<Env>> envs, StepErrors step_errors);
  // Steps instance i into its rows of `out` (a failure of a plugin's env
  // added to out.failures); its reset deferred when `defer_reset`.
  absl::Status StepRow(int i, const float* actions, bool defer_reset, const EnvBatchOutput& out);

  std::vector<std::unique_ptr<Env>> envs_;
  StepErrors step_errors_;
  int obs_bytes_;
  int act_dim_;  // floats of one row's action
  std::vector<uint8_t> ended_;  // 1: the episode ended, its reset deferred
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_LOCAL_H_
