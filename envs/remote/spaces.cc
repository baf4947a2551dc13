#include "envs/remote/spaces.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/shape.h"
#include "common/tensor_codec.h"

namespace rill::envs {
absl::StatusOr<EnvSpec> SpecFromSpaces(const std::string& name, const v1::Space& observation,
                                       const v1::Space& action, int max_episode_steps) {
  EnvSpec spec;
  spec.name = name;
  spec.max_episode_steps = max_episode_steps;
  if (!observation.has_box()) {
    return absl::InvalidArgumentError("env server's observation_space is not a box (a tensor)");
  }
  const v1::BoxSpace& obs = observation.box();
  if (obs.dtype() != v1::DTYPE_FLOAT32 && obs.dtype() != v1::DTYPE_UINT8) {
    return absl::InvalidArgumentError(absl::StrCat("env server's observations are ", v1::DType_Name(obs.dtype()),
                                                   "; Rill takes DTYPE_FLOAT32 or DTYPE_UINT8 observations"));
  }
  spec.observation_type = obs.dtype() == v1::DTYPE_UINT8 ? ObservationType::kUint8 : ObservationType::kFloat32;
  spec.observation_shape.assign(obs.shape().begin(), obs.shape().end());
  absl::StatusOr<int64_t> observation_elements = NumElements(spec.observation_shape);
  if (spec.observation_shape.empty() || !observation_elements.ok() || *observation_elements < 1) {
    return absl::InvalidArgumentError(absl::StrCat("env server's observation shape ",
                                                   ShapeString(spec.observation_shape), " holds no element"));
  }
  if (action.has_discrete()) {
    if (action.discrete().n() < 2 || action.discrete().n() > (1 << 20)) {
      return absl::InvalidArgumentError(
          absl::StrCat("env server's action_space Discrete(", action.discrete().n(), ") needs 2..1048576 actions"));
    }
    spec.discrete = true;
    spec.num_actions = static_cast<int>(action.discrete().n());
    return spec;
  }
  if (!action.has_box()) return absl::InvalidArgumentError("env server's action_space is neither a box nor discrete");
  const v1::BoxSpace& box = action.box();
  const int64_t dims = NumElements(box.shape()).value_or(0);
  if (box.shape().empty() || dims < 1 || box.low_size() != dims || box.high_size() != dims) {
    return absl::InvalidArgumentError(absl::StrCat("env server's action box of shape ",
                                                   ShapeString(std::vector<int64_t>(box.shape().begin(),
                                                                                    box.shape().end())),
                                                   " needs one low and one high per element (got ", box.low_size(),
                                                   " and ", box.high_size(), ")"));
  }
  for (int i = 0; i < dims; ++i) {
    if (!std::isfinite(box.low(i)) || !std::isfinite(box.high(i)) || box.low(i) > box.high(i)) {
      return absl::InvalidArgumentError(absl::StrCat("env server's action bound ", i, " is [", box.low(i), ", ",
                                                     box.high(i), "]: bounds must be finite and low <= high"));
    }
  }
  spec.action_low.assign(box.low().begin(), box.low().end());
  spec.action_high.assign(box.high().begin(), box.high().end());
  return spec;
}

std::optional<std::string> SpaceDifference(const EnvSpec& announced, const EnvSpec& expected) {
  if (announced.observation_shape != expected.observation_shape ||
      announced.observation_type != expected.observation_type) {
    return absl::StrCat("observations ", ObservationTypeName(announced.observation_type), " ",
                        ShapeString(announced.observation_shape), ", the config says ",
                        ObservationTypeName(expected.observation_type), " ", ShapeString(expected.observation_shape));
  }
  auto action = [](const EnvSpec& spec) {
    return spec.discrete ? absl::StrCat("Discrete(", spec.num_actions, ")")
                         : absl::StrCat("Box([", absl::StrJoin(spec.action_low, ", "), "], [",
                                        absl::StrJoin(spec.action_high, ", "), "])");
  };
  if (action(announced) != action(expected)) {
    return absl::StrCat("action space ", action(announced), ", the config says ", action(expected));
  }
  return std::nullopt;
}

}  // namespace rill::envs
