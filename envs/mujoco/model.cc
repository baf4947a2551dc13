#include "envs/mujoco/model.h"

#include <cstring>
#include <map>
#include <utility>

#include "absl/base/call_once.h"
#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "envs/mujoco/assets.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace rill::envs {
namespace {

// MuJoCo's default warning handler appends to MUJOCO_LOG.TXT in the working
// directory; Rill's processes log to stderr instead.
void LogMujocoWarning(const char* message) { RILL_LOG(WARNING) << "MuJoCo: " << message; }

void InstallMujocoHandlers() {
  static absl::once_flag once;
  absl::call_once(once, [] { mju_user_warning = &LogMujocoWarning; });
}

}  // namespace

absl::StatusOr<std::unique_ptr<MujocoModel>> MujocoModel::FromXml(absl::string_view name, absl::string_view xml) {
  InstallMujocoHandlers();
  // mjVFS is about 2 MB (fixed tables of file names): keep it off the stack.
  auto vfs = std::make_unique<mjVFS>();
  mj_defaultVFS(vfs.get());
  const std::string file(name);
  if (mj_makeEmptyFileVFS(vfs.get(), file.c_str(), static_cast<int>(xml.size())) != 0) {
    return absl::InternalError(absl::StrCat("cannot make a MuJoCo virtual file for ", name));
  }
  const int index = mj_findFileVFS(vfs.get(), file.c_str());
  std::memcpy(vfs->filedata[index], xml.data(), xml.size());
  char error[1000] = "";
  mjModel* model = mj_loadXML(file.c_str(), vfs.get(), error, sizeof(error));
  mj_deleteVFS(vfs.get());
  if (model == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("MuJoCo model ", name, " does not compile: ", error));
  }
  return std::unique_ptr<MujocoModel>(new MujocoModel(file, model));
}

MujocoModel::~MujocoModel() { mj_deleteModel(model_); }

absl::StatusOr<std::shared_ptr<const MujocoModel>> SharedMujocoModel(absl::string_view asset) {
  struct Cache {
    absl::Mutex mu;
    std::map<std::string, absl::StatusOr<std::shared_ptr<const MujocoModel>>, std::less<>> models
        ABSL_GUARDED_BY(mu);
  };
  // Never freed: the models live as long as the process, like the envs that
  // may step them from any thread until exit.
  static Cache* const cache = new Cache();
  absl::MutexLock lock(&cache->mu);
  auto it = cache->models.find(asset);
  if (it != cache->models.end()) return it->second;
  ASSIGN_OR_RETURN(const absl::string_view xml, FindMujocoAsset(asset));
  absl::StatusOr<std::unique_ptr<MujocoModel>> compiled = MujocoModel::FromXml(asset, xml);
  absl::StatusOr<std::shared_ptr<const MujocoModel>> shared =
      compiled.ok() ? absl::StatusOr<std::shared_ptr<const MujocoModel>>(std::move(*compiled))
                    : absl::StatusOr<std::shared_ptr<const MujocoModel>>(compiled.status());
  cache->models.emplace(std::string(asset), shared);
  return shared;
}

}  // namespace rill::envs
