// How a tensor shape reads in every message Rill writes: "[2, 3]", "[]".
// One spelling for protos' repeated dims, std::vectors and LibTorch's
// IntArrayRef alike (anything absl::StrJoin iterates).
#ifndef RILL_COMMON_SHAPE_H_
#define RILL_COMMON_SHAPE_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rill {

template <typename Shape>
std::string ShapeString(const Shape& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace rill

#endif  // RILL_COMMON_SHAPE_H_
