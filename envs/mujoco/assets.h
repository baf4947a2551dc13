// The MJCF models of the MuJoCo tasks (envs/mujoco/assets/*.xml),
// compiled into the binary by a genrule (embed_assets.sh), so that an env
// finds its model the same way from bazel-bin/rill, from a test sandbox and
// from the container image, with no file lookup.
//
// Thread-safe: constant data.
#ifndef RILL_ENVS_MUJOCO_ASSETS_H_
#define RILL_ENVS_MUJOCO_ASSETS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rill::envs {

struct EmbeddedAsset {
  // The file's name in assets/, e.g. "half_cheetah.xml".
  const char* name;
  // The whole file.
  const char* text;
};

// Defined in the generated embedded_assets.cc.
extern const EmbeddedAsset kEmbeddedMujocoAssets[];
extern const int kNumEmbeddedMujocoAssets;

// The text of the embedded asset `name` ("hopper.xml"). NotFound, listing
// the embedded names, when there is none.
absl::StatusOr<absl::string_view> FindMujocoAsset(absl::string_view name);

// The names of the embedded assets, sorted.
std::vector<std::string> MujocoAssetNames();

}  // namespace rill::envs

#endif  // RILL_ENVS_MUJOCO_ASSETS_H_
