#include "envs/observation_leaves.h"

#include "absl/strings/str_cat.h"
#include "common/shape.h"

namespace rill::envs {

absl::Status CheckSameImage(const ObservationLeaf& first, const ObservationLeaf& next, const std::string& where) {
  if (first.shape.size() == 3 && next.shape.size() == 3 && first.shape[1] == next.shape[1] &&
      first.shape[2] == next.shape[2] && first.type == next.type) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      where, ": image leaf '", next.name, "' is ", ObservationTypeName(next.type), " ", ShapeString(next.shape),
      " beside '", first.name, "', ", ObservationTypeName(first.type), " ", ShapeString(first.shape),
      "; image leaves share height, width and dtype (a row holds them as one image, a torso each): resize or "
      "convert one"));
}

}  // namespace rill::envs
