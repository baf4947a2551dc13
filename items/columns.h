// What the item builders share: describing and comparing signature columns,
// and checking that an env spec can be turned into items at all.
#ifndef RILL_ITEMS_COLUMNS_H_
#define RILL_ITEMS_COLUMNS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "envs/spec.h"
#include "proto/tensor.pb.h"

namespace rill::items {

v1::ColumnSpec MakeColumn(const std::string& name, v1::DType dtype, std::vector<int64_t> shape);

// The dtype of `env`'s observation columns: float32, or uint8 for images.
v1::DType ObservationDType(const envs::EnvSpec& env);

// Same dtype and item shape.
bool SameColumnType(const v1::ColumnSpec& a, const v1::ColumnSpec& b);

// "float32 [20, 4]".
std::string DescribeColumn(const v1::ColumnSpec& column);

// InvalidArgument when `column` is not `expected` (dtype and shape), naming
// the column and both types, with `note` appended.
absl::Status CheckColumnType(const v1::ColumnSpec& column, const v1::ColumnSpec& expected, const std::string& env,
                             const std::string& note = "");

// InvalidArgument when the observation shape is empty, a discrete env has
// no actions, or a continuous env's bounds are missing or uneven.
absl::Status CheckEnvForItems(const envs::EnvSpec& env);

}  // namespace rill::items

#endif  // RILL_ITEMS_COLUMNS_H_
