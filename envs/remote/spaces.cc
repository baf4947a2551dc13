#include "envs/remote/spaces.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/shape.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"
#include "envs/observation_leaves.h"

namespace rill::envs {
namespace {

// A box's shape as the EnvSpec holds it (a scalar as [1]) and its element
// count; InvalidArgument naming `space`'s shape when a dimension is < 1.
absl::StatusOr<std::vector<int64_t>> BoxShape(const v1::BoxSpace& box, const std::string& space,
                                              const SpaceSource& source) {
  const std::vector<int64_t> shape(box.shape().begin(), box.shape().end());
  absl::StatusOr<int64_t> elements = NumElements(shape);
  if (!elements.ok() || *elements < 1) {
    return absl::InvalidArgumentError(absl::StrCat(source.Name(space + ".box.shape"), ": ", ShapeString(shape),
                                                   " holds no element (every dimension must be >= 1)"));
  }
  // A scalar is carried as one element: see the header.
  if (shape.empty()) return std::vector<int64_t>{1};
  return shape;
}

// One bound (`which`: "low" or "high") of `space`'s box, one value per
// element under the rule of the header; empty when the box states none.
absl::StatusOr<std::vector<float>> BroadcastBound(const google::protobuf::RepeatedField<float>& values,
                                                  const v1::BoxSpace& box, int64_t elements, const std::string& space,
                                                  const char* which, const SpaceSource& source) {
  if (values.empty()) return std::vector<float>{};
  if (values.size() != 1 && values.size() != elements) {
    return absl::InvalidArgumentError(absl::StrCat(
        source.Name(absl::StrCat(space, ".box.", which)), ": ", values.size(), " values for shape ",
        ShapeString(box.shape()), "; a box bound is one value for every element or one value per element (",
        elements, ")"));
  }
  if (values.size() == 1) return std::vector<float>(static_cast<size_t>(elements), values[0]);
  return std::vector<float>(values.begin(), values.end());
}

// `space`'s bounds, one value per element each (both empty: the box states
// none, which only an observation may), checked under the rule of the
// header; `finite` for an action's.
absl::Status BoxBounds(const v1::BoxSpace& box, int64_t elements, const std::string& space, bool required,
                       bool finite, const SpaceSource& source, std::vector<float>* low, std::vector<float>* high) {
  if (box.low().empty() && box.high().empty()) {
    if (!required) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(source.Name(space + ".box"),
                                                   ": no low/high; an action box needs bounds (one value for every "
                                                   "element or one per element)"));
  }
  if (box.low().empty() != box.high().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source.Name(space + ".box"), ": ",
                                                   box.low().empty() ? "high without low" : "low without high",
                                                   "; a box states both bounds or neither (unbounded)"));
  }
  absl::StatusOr<std::vector<float>> lows = BroadcastBound(box.low(), box, elements, space, "low", source);
  if (!lows.ok()) return lows.status();
  absl::StatusOr<std::vector<float>> highs = BroadcastBound(box.high(), box, elements, space, "high", source);
  if (!highs.ok()) return highs.status();
  for (int64_t i = 0; i < elements; ++i) {
    const float l = (*lows)[i], h = (*highs)[i];
    const bool usable = finite ? std::isfinite(l) && std::isfinite(h) : !std::isnan(l) && !std::isnan(h);
    if (!usable || l > h) {
      return absl::InvalidArgumentError(absl::StrCat(
          source.Name(space + ".box"), ": element ", i, "'s bounds are [", l, ", ", h, "]; ",
          finite ? "an action's bounds must be finite" : "bounds must not be NaN", ", with low <= high"));
    }
  }
  *low = *std::move(lows);
  *high = *std::move(highs);
  return absl::OkStatus();
}

// The most leaves a Dict observation may have.
constexpr int kMaxLeaves = 64;

// The image leaf `leaf` (`where`: its field) after `spec`'s leaves so
// far: the images come first, one image of all their channels
// (observation_shape), each sharing the first's height, width and dtype.
absl::Status AddImageLeaf(const ObservationLeaf& leaf, const std::string& where, EnvSpec* spec) {
  if (spec->observation_leaves.empty()) {
    spec->observation_shape = leaf.shape;
    spec->observation_type = leaf.type;
    return absl::OkStatus();
  }
  if (spec->observation_leaves.back().shape.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": leaf '", leaf.name, "' is an image ",
                                                   ShapeString(leaf.shape), " after the flat leaf '",
                                                   spec->observation_leaves.back().name,
                                                   "'; the image leaves come first"));
  }
  RETURN_IF_ERROR(CheckSameImage(spec->observation_leaves.front(), leaf, where));
  spec->observation_shape[0] += leaf.shape[0];  // one image of all their channels
  return absl::OkStatus();
}

// `spec`'s observation from a Dict or Tuple of boxes, laid out as
// proto/env.proto's DictSpace says; InvalidArgument naming the leaf.
absl::Status DictObservation(const v1::DictSpace& dict, const SpaceSource& source, EnvSpec* spec) {
  if (dict.leaves().empty() || dict.leaves_size() > kMaxLeaves) {
    return absl::InvalidArgumentError(absl::StrCat(source.Name("observation_space.dict"), ": ", dict.leaves_size(),
                                                   " leaves; a Dict observation has 1..", kMaxLeaves));
  }
  int64_t flat = 0;
  for (int k = 0; k < dict.leaves_size(); ++k) {
    const v1::DictSpace::Leaf& leaf = dict.leaves(k);
    const std::string field = absl::StrCat("observation_space.dict.leaves[", k, "]");
    const std::string name = dict.tuple() ? absl::StrCat(k) : leaf.name();
    if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(source.Name(field), ": a Dict leaf has no name"));
    for (const ObservationLeaf& other : spec->observation_leaves) {
      if (other.name == name) {
        return absl::InvalidArgumentError(absl::StrCat(source.Name(field), ": a second leaf named '", name, "'"));
      }
    }
    const v1::BoxSpace& box = leaf.box();
    if (box.dtype() != v1::DTYPE_FLOAT32 && box.dtype() != v1::DTYPE_UINT8) {
      return absl::InvalidArgumentError(absl::StrCat(source.Name(field + ".box.dtype"), ": leaf '", name, "' is ",
                                                     v1::DType_Name(box.dtype()),
                                                     "; Rill takes DTYPE_FLOAT32 or DTYPE_UINT8 leaves"));
    }
    ASSIGN_OR_RETURN(std::vector<int64_t> shape, BoxShape(box, field, source));
    const int64_t elements = *NumElements(shape);
    std::vector<float> low, high;  // checked, not kept
    RETURN_IF_ERROR(BoxBounds(box, elements, field, /*required=*/false, /*finite=*/false, source, &low, &high));
    const ObservationType type = box.dtype() == v1::DTYPE_UINT8 ? ObservationType::kUint8 : ObservationType::kFloat32;
    if (shape.size() == 3) {
      RETURN_IF_ERROR(AddImageLeaf({name, shape, type}, source.Name(field), spec));
    } else if (shape.size() > 3) {
      return absl::InvalidArgumentError(absl::StrCat(source.Name(field), ": leaf '", name, "' has shape ",
                                                     ShapeString(shape), "; a leaf is an image [C, H, W] or flat"));
    } else {
      if (type != ObservationType::kFloat32) {
        return absl::InvalidArgumentError(absl::StrCat(source.Name(field + ".box.dtype"), ": flat leaf '", name,
                                                       "' is uint8; flat leaves travel as float32"));
      }
      flat += elements;
    }
    spec->observation_leaves.push_back({name, shape, type});
  }
  if (spec->observation_shape.empty()) {
    // Flat leaves alone: one float32 vector.
    spec->observation_shape = {flat};
    spec->observation_type = ObservationType::kFloat32;
  } else {
    spec->flat_dim = static_cast<int>(flat);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EnvSpec> SpecFromSpaces(const std::string& name, const v1::Space& observation,
                                       const v1::Space& action, int max_episode_steps, const SpaceSource& source) {
  EnvSpec spec;
  spec.name = name;
  spec.max_episode_steps = max_episode_steps;
  if (observation.has_dict()) {
    RETURN_IF_ERROR(DictObservation(observation.dict(), source, &spec));
    return WithActionSpace(std::move(spec), action, source);
  }
  if (!observation.has_box()) {
    return absl::InvalidArgumentError(absl::StrCat(source.Name("observation_space"),
                                                   ": not a box (a tensor) or a dict; Rill observes a float32 or "
                                                   "uint8 box, or a Dict of them"));
  }
  const v1::BoxSpace& obs = observation.box();
  if (obs.dtype() != v1::DTYPE_FLOAT32 && obs.dtype() != v1::DTYPE_UINT8) {
    return absl::InvalidArgumentError(absl::StrCat(source.Name("observation_space.box.dtype"), ": ",
                                                   v1::DType_Name(obs.dtype()),
                                                   "; Rill takes DTYPE_FLOAT32 or DTYPE_UINT8 observations"));
  }
  spec.observation_type = obs.dtype() == v1::DTYPE_UINT8 ? ObservationType::kUint8 : ObservationType::kFloat32;
  absl::StatusOr<std::vector<int64_t>> observation_shape = BoxShape(obs, "observation_space", source);
  if (!observation_shape.ok()) return observation_shape.status();
  spec.observation_shape = *std::move(observation_shape);
  // Checked, not kept: nothing downstream reads an observation's bounds.
  std::vector<float> observation_low, observation_high;
  absl::Status bounds = BoxBounds(obs, spec.obs_dim(), "observation_space", /*required=*/false, /*finite=*/false,
                                  source, &observation_low, &observation_high);
  if (!bounds.ok()) return bounds;
  return WithActionSpace(std::move(spec), action, source);
}

absl::StatusOr<EnvSpec> WithActionSpace(EnvSpec spec, const v1::Space& action, const SpaceSource& source) {
  if (action.has_discrete()) {
    if (action.discrete().n() < 2 || action.discrete().n() > (1 << 20)) {
      return absl::InvalidArgumentError(absl::StrCat(source.Name("action_space.discrete.n"), ": ",
                                                     action.discrete().n(), "; Rill needs 2..1048576 actions"));
    }
    spec.discrete = true;
    spec.num_actions = static_cast<int>(action.discrete().n());
    return spec;
  }
  if (!action.has_box()) {
    return absl::InvalidArgumentError(absl::StrCat(source.Name("action_space"), ": neither a box nor discrete"));
  }
  const v1::BoxSpace& box = action.box();
  absl::StatusOr<std::vector<int64_t>> action_shape = BoxShape(box, "action_space", source);
  if (!action_shape.ok()) return action_shape.status();
  const int64_t dims = *NumElements(*action_shape);  // >= 1: checked
  absl::Status bounds = BoxBounds(box, dims, "action_space", /*required=*/true, /*finite=*/true, source, &spec.action_low,
                     &spec.action_high);
  if (!bounds.ok()) return bounds;
  return spec;
}

std::optional<std::string> SpaceDifference(const EnvSpec& announced, const EnvSpec& expected) {
  if (announced.observation_leaves != expected.observation_leaves) {
    auto leaves = [](const EnvSpec& spec) {
      if (spec.observation_leaves.empty()) return std::string("a box");
      std::vector<std::string> named;
      for (const ObservationLeaf& leaf : spec.observation_leaves) {
        named.push_back(absl::StrCat(leaf.name, ": ", ObservationTypeName(leaf.type), " ", ShapeString(leaf.shape)));
      }
      return absl::StrCat("Dict(", absl::StrJoin(named, ", "), ")");
    };
    return absl::StrCat("observations ", leaves(announced), ", the config says ", leaves(expected));
  }
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
  if (announced.action_mask != expected.action_mask) {
    return absl::StrCat("observations ", announced.action_mask ? "end" : "do not end",
                        " in an action mask, the config says they ", expected.action_mask ? "do" : "do not",
                        " (env.remote.action_mask)");
  }
  return std::nullopt;
}

}  // namespace rill::envs
