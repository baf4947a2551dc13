#include "envs/mujoco/assets.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rill::envs {

absl::StatusOr<absl::string_view> FindMujocoAsset(absl::string_view name) {
  for (int i = 0; i < kNumEmbeddedMujocoAssets; ++i) {
    if (name == kEmbeddedMujocoAssets[i].name) return absl::string_view(kEmbeddedMujocoAssets[i].text);
  }
  return absl::NotFoundError(
      absl::StrCat("no MuJoCo model '", name, "' in this binary; embedded: ", absl::StrJoin(MujocoAssetNames(), ", ")));
}

std::vector<std::string> MujocoAssetNames() {
  std::vector<std::string> names;
  for (int i = 0; i < kNumEmbeddedMujocoAssets; ++i) names.push_back(kEmbeddedMujocoAssets[i].name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace rill::envs
