#include "items/columns.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/tensor_codec.h"

namespace rill::items {

v1::ColumnSpec MakeColumn(const std::string& name, v1::DType dtype, std::vector<int64_t> shape) {
  v1::ColumnSpec column;
  column.set_name(name);
  column.set_dtype(dtype);
  for (int64_t d : shape) column.add_shape(d);
  return column;
}

v1::DType ObservationDType(const envs::EnvSpec& env) {
  return env.uint8_observations() ? v1::DTYPE_UINT8 : v1::DTYPE_FLOAT32;
}

bool SameColumnType(const v1::ColumnSpec& a, const v1::ColumnSpec& b) {
  return a.dtype() == b.dtype() &&
         std::equal(a.shape().begin(), a.shape().end(), b.shape().begin(), b.shape().end());
}

std::string DescribeColumn(const v1::ColumnSpec& column) {
  return absl::StrCat(DTypeName(column.dtype()), " ", ShapeString(column.shape()));
}

absl::Status CheckColumnType(const v1::ColumnSpec& column, const v1::ColumnSpec& expected, const std::string& env,
                             const std::string& note) {
  if (SameColumnType(column, expected)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("signature column '", column.name(), "' is ", DescribeColumn(column),
                                                 " but env '", env, "' needs ", DescribeColumn(expected), note));
}

absl::Status CheckEnvForItems(const envs::EnvSpec& env) {
  if (env.observation_shape.empty() || env.obs_dim() < 1) {
    return absl::InvalidArgumentError(absl::StrCat("env '", env.name, "': observation shape has no elements"));
  }
  if (env.discrete && env.num_actions < 1) {
    return absl::InvalidArgumentError(absl::StrCat("env '", env.name, "': discrete with num_actions ", env.num_actions));
  }
  if (!env.discrete && (env.action_low.empty() || env.action_low.size() != env.action_high.size())) {
    return absl::InvalidArgumentError(absl::StrCat("env '", env.name, "': continuous with ", env.action_low.size(),
                                                   " action lows and ", env.action_high.size(), " action highs"));
  }
  return absl::OkStatus();
}

}  // namespace rill::items
