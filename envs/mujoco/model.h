// MujocoModel: a compiled MuJoCo model (mjModel), read-only after
// compilation, shared by every env of its task in the process: each env owns
// only its mjData. SharedMujocoModel compiles each embedded asset once per
// process and hands out the same model afterwards.
//
// Thread-safe: SharedMujocoModel may be called from any thread; a
// MujocoModel is immutable, and MuJoCo reads an mjModel concurrently from
// any number of threads that step their own mjData.
#ifndef RILL_ENVS_MUJOCO_MODEL_H_
#define RILL_ENVS_MUJOCO_MODEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mujoco/mujoco.h"

namespace rill::envs {

class MujocoModel {
 public:
  // Compiles MJCF text; `name` names the model in errors and is the file
  // name MuJoCo sees. InvalidArgument with MuJoCo's message (line and
  // element) when the text does not compile.
  static absl::StatusOr<std::unique_ptr<MujocoModel>> FromXml(absl::string_view name, absl::string_view xml);

  ~MujocoModel();
  MujocoModel(const MujocoModel&) = delete;
  MujocoModel& operator=(const MujocoModel&) = delete;

  const mjModel* get() const { return model_; }
  const std::string& name() const { return name_; }

 private:
  MujocoModel(std::string name, mjModel* model) : name_(std::move(name)), model_(model) {}

  std::string name_;
  mjModel* model_;
};

// The model of embedded asset `asset` ("half_cheetah.xml"), compiled on the
// first call for that asset and shared afterwards; the process keeps it
// until exit. Blocks only while another thread compiles (milliseconds).
// Errors: NotFound for an asset that is not embedded; InvalidArgument if it
// does not compile (then every later call reports the same error).
absl::StatusOr<std::shared_ptr<const MujocoModel>> SharedMujocoModel(absl::string_view asset);

}  // namespace rill::envs

#endif  // RILL_ENVS_MUJOCO_MODEL_H_
