// SpecFromSpaces under the one rule for a Box (envs/remote/spaces.h): any
// rank, a scalar as one element; each bound one value for every element or
// one per element, for observations and actions alike; refusals naming the
// config's field or the env server, whichever stated the space.
#include "envs/remote/spaces.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

v1::Space Space(const std::string& text) {
  v1::Space space;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &space)) << text;
  return space;
}

const SpaceSource kConfig = SpaceSource::Config("env.remote");
const SpaceSource kServer = SpaceSource::Server();

constexpr char kTwoActions[] = "discrete { n: 2 }";
constexpr char kFourFloats[] = "box { shape: 4 dtype: DTYPE_FLOAT32 }";

absl::StatusOr<EnvSpec> Spec(const std::string& observation, const std::string& action,
                             const SpaceSource& source = kConfig) {
  return SpecFromSpaces("test", Space(observation), Space(action), 0, source);
}

// The refusal's message, as a string the matchers take.
std::string Why(const absl::StatusOr<EnvSpec>& spec) { return std::string(spec.status().message()); }

TEST(SpacesTest, AScalarObservationIsOneElementOfShapeOne) {
  absl::StatusOr<EnvSpec> spec = Spec("box { dtype: DTYPE_FLOAT32 low: -2 high: 2 }", kTwoActions);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->observation_shape, ElementsAre(1));
  EXPECT_EQ(spec->obs_dim(), 1);
}

TEST(SpacesTest, AnObservationOfAnyRankKeepsItsShape) {
  absl::StatusOr<EnvSpec> spec = Spec("box { shape: [2, 1, 3, 2] dtype: DTYPE_FLOAT32 low: -1 high: 1 }", kTwoActions);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->observation_shape, ElementsAre(2, 1, 3, 2));
  EXPECT_EQ(spec->obs_dim(), 12);
}

TEST(SpacesTest, AScalarBoxActionIsOneDimension) {
  absl::StatusOr<EnvSpec> spec = Spec(kFourFloats, "box { dtype: DTYPE_FLOAT32 low: -0.5 high: 2 }");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_FALSE(spec->discrete);
  EXPECT_THAT(spec->action_low, ElementsAre(-0.5f));
  EXPECT_THAT(spec->action_high, ElementsAre(2.f));
}

TEST(SpacesTest, OneBoundValueIsEveryElementsForActionsAsForObservations) {
  absl::StatusOr<EnvSpec> spec = Spec("box { shape: 4 dtype: DTYPE_FLOAT32 low: -inf high: inf }",
                                      "box { shape: [2, 3] dtype: DTYPE_FLOAT32 low: -1 high: [1, 2, 3, 4, 5, 6] }");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->action_low, ElementsAre(-1, -1, -1, -1, -1, -1));
  EXPECT_THAT(spec->action_high, ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(SpacesTest, WrongLengthBoundsAreRefusedNamingTheConfigsField) {
  const struct {
    std::string observation, action, message;
  } cases[] = {
      {kFourFloats, "box { shape: 2 dtype: DTYPE_FLOAT32 low: [-1, -1, -1] high: 1 }",
       "env.remote.action_space.box.low: 3 values for shape [2]; a box bound is one value for every element or one "
       "value per element (2)"},
      {kFourFloats, "box { shape: [2, 2] dtype: DTYPE_FLOAT32 low: -1 high: [1, 1] }",
       "env.remote.action_space.box.high: 2 values for shape [2, 2]"},
      {"box { shape: 4 dtype: DTYPE_FLOAT32 low: [-1, -1] high: [1, 1] }", kTwoActions,
       "env.remote.observation_space.box.low: 2 values for shape [4]"},
      {"box { dtype: DTYPE_FLOAT32 low: [0, 0] high: 1 }", kTwoActions,
       "env.remote.observation_space.box.low: 2 values for shape []"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<EnvSpec> spec = Spec(c.observation, c.action);
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(Why(spec), StartsWith(c.message));
  }
}

TEST(SpacesTest, AServersSpacesAreRefusedNamingTheServer) {
  absl::StatusOr<EnvSpec> spec = Spec(kFourFloats, "box { shape: 2 dtype: DTYPE_FLOAT32 low: [-1, -1, -1] high: 1 }",
                                      kServer);
  EXPECT_THAT(Why(spec), StartsWith("env server's action_space.box.low: 3 values"));
  spec = Spec(kFourFloats, "box { shape: 2 dtype: DTYPE_FLOAT32 low: -1 high: 1 }", SpaceSource::Server("prey"));
  EXPECT_TRUE(spec.ok()) << spec.status();
  spec = Spec("box { shape: [0, 3] dtype: DTYPE_FLOAT32 }", kTwoActions, SpaceSource::Server("prey"));
  EXPECT_THAT(Why(spec),
              StartsWith("env server's agent 'prey' observation_space.box.shape: [0, 3] holds no element"));
}

TEST(SpacesTest, ObservationBoundsMayBeInfiniteButActionBoundsMustBeFinite) {
  EXPECT_TRUE(Spec("box { shape: 2 dtype: DTYPE_FLOAT32 low: [-inf, 0] high: [inf, 1] }", kTwoActions).ok());
  absl::StatusOr<EnvSpec> spec = Spec(kFourFloats, "box { shape: 2 dtype: DTYPE_FLOAT32 low: -inf high: 1 }");
  EXPECT_THAT(Why(spec),
              AllOf(StartsWith("env.remote.action_space.box: element 0's bounds are [-inf, 1]"), HasSubstr("finite")));
}

TEST(SpacesTest, NanOrCrossedBoundsAreRefusedForEither) {
  const std::pair<std::string, std::string> cases[] = {
      {"box { shape: 2 dtype: DTYPE_FLOAT32 low: nan high: 1 }", "env.remote.observation_space.box: element 0's"},
      {"box { shape: 2 dtype: DTYPE_FLOAT32 low: [0, 2] high: 1 }", "env.remote.observation_space.box: element 1's"},
  };
  for (const auto& [observation, message] : cases) {
    EXPECT_THAT(Why(Spec(observation, kTwoActions)), StartsWith(message)) << observation;
  }
  EXPECT_THAT(Why(Spec(kFourFloats, "box { shape: 2 dtype: DTYPE_FLOAT32 low: [0, 2] high: 1 }")),
              StartsWith("env.remote.action_space.box: element 1's bounds are [2, 1]"));
}

TEST(SpacesTest, ABoxStatesBothBoundsOrNeitherAndAnActionBoxNeedsThem) {
  EXPECT_TRUE(Spec(kFourFloats, kTwoActions).ok());
  EXPECT_THAT(Why(Spec("box { shape: 4 dtype: DTYPE_FLOAT32 low: 0 }", kTwoActions)),
              StartsWith("env.remote.observation_space.box: low without high"));
  EXPECT_THAT(Why(Spec(kFourFloats, "box { shape: 2 dtype: DTYPE_FLOAT32 }")),
              StartsWith("env.remote.action_space.box: no low/high"));
}

TEST(SpacesTest, OtherSpacesAreRefusedNamingTheirField) {
  const std::pair<std::pair<std::string, std::string>, std::string> cases[] = {
      {{kTwoActions, kTwoActions}, "env.remote.observation_space: not a box"},
      {{"box { shape: 4 dtype: DTYPE_INT64 }", kTwoActions}, "env.remote.observation_space.box.dtype: DTYPE_INT64"},
      {{"box { shape: [3, -1] dtype: DTYPE_UINT8 }", kTwoActions}, "env.remote.observation_space.box.shape: [3, -1]"},
      {{kFourFloats, "discrete { n: 1 }"}, "env.remote.action_space.discrete.n: 1"},
      {{kFourFloats, ""}, "env.remote.action_space: neither a box nor discrete"},
      {{kFourFloats, "box { shape: [2, 0] low: 0 high: 1 }"}, "env.remote.action_space.box.shape: [2, 0] holds no"},
  };
  for (const auto& [spaces, message] : cases) {
    EXPECT_THAT(Why(Spec(spaces.first, spaces.second)), StartsWith(message)) << message;
  }
}

// A Dict (proto/env.proto, DictSpace): the image leaf first, then flat
// float32 leaves; a row of bytes with a uint8 image, of floats otherwise.
constexpr char kImageAndVector[] =
    "dict { leaves { name: 'image' box { shape: [1, 3, 3] dtype: DTYPE_UINT8 low: 0 high: 255 } } "
    "leaves { name: 'goal' box { shape: 2 dtype: DTYPE_FLOAT32 } } "
    "leaves { name: 'speed' box { dtype: DTYPE_FLOAT32 } } }";

TEST(SpacesTest, ADictOfAnImageAndFlatLeavesIsOnePackedRow) {
  absl::StatusOr<EnvSpec> spec = Spec(kImageAndVector, kTwoActions, kServer);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->observation_shape, ElementsAre(1, 3, 3));
  EXPECT_EQ(spec->observation_type, ObservationType::kUint8);
  EXPECT_EQ(spec->flat_dim, 3);
  EXPECT_EQ(spec->obs_dim(), 12);
  EXPECT_TRUE(spec->packed_observations());
  EXPECT_EQ(spec->stored_width(), 9 + 12);
  ASSERT_EQ(spec->observation_leaves.size(), 3u);
  EXPECT_EQ(spec->observation_leaves[2].name, "speed");
  EXPECT_THAT(spec->observation_leaves[2].shape, ElementsAre(1));

  absl::StatusOr<EnvSpec> flat = Spec(
      "dict { tuple: true leaves { box { shape: 2 dtype: DTYPE_FLOAT32 } } leaves { box { shape: [2, 2] dtype: "
      "DTYPE_FLOAT32 } } }",
      kTwoActions);
  ASSERT_TRUE(flat.ok()) << flat.status();
  EXPECT_THAT(flat->observation_shape, ElementsAre(6));
  EXPECT_EQ(flat->flat_dim, 0);
  EXPECT_FALSE(flat->packed_observations());
  EXPECT_EQ(flat->observation_leaves[1].name, "1");
}

TEST(SpacesTest, SeveralImagesOfOneSizeAreOneImageOfTheirChannels) {
  absl::StatusOr<EnvSpec> spec = Spec(
      "dict { leaves { name: 'rgb' box { shape: [3, 4, 4] dtype: DTYPE_UINT8 } } leaves { name: 'depth' box { "
      "shape: [1, 4, 4] dtype: DTYPE_UINT8 } } leaves { name: 'speed' box { shape: 2 dtype: DTYPE_FLOAT32 } } }",
      kTwoActions);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->observation_shape, ElementsAre(4, 4, 4));
  EXPECT_THAT(spec->image_channels(), ElementsAre(3, 1));
  EXPECT_EQ(spec->flat_dim, 2);
  EXPECT_EQ(spec->obs_bytes(), 64 + 8);
}

TEST(SpacesTest, DictsRillCannotTakeAreRefusedNamingTheLeaf) {
  const std::pair<std::string, std::string> cases[] = {
      {"dict { }", "env.remote.observation_space.dict: 0 leaves"},
      {"dict { leaves { name: 'goal' box { shape: 2 dtype: DTYPE_FLOAT32 } } leaves { name: 'image' box { shape: "
       "[1, 3, 3] dtype: DTYPE_UINT8 } } }",
       "env.remote.observation_space.dict.leaves[1]: leaf 'image' is an image [1, 3, 3] after the flat leaf 'goal'; "
       "the image leaves come first"},
      {"dict { leaves { name: 'rgb' box { shape: [3, 4, 4] dtype: DTYPE_UINT8 } } leaves { name: 'depth' box { "
       "shape: [1, 4, 4] dtype: DTYPE_FLOAT32 } } }",
       "env.remote.observation_space.dict.leaves[1]: image leaf 'depth' is float32 [1, 4, 4] beside 'rgb', uint8 "
       "[3, 4, 4]; image leaves share height, width and dtype"},
      {"dict { leaves { name: 'count' box { shape: 2 dtype: DTYPE_UINT8 } } }",
       "env.remote.observation_space.dict.leaves[0].box.dtype: flat leaf 'count' is uint8; flat leaves travel as "
       "float32"},
      {"dict { leaves { name: 'x' box { shape: 2 dtype: DTYPE_FLOAT32 } } leaves { name: 'x' box { shape: 1 dtype: "
       "DTYPE_FLOAT32 } } }",
       "env.remote.observation_space.dict.leaves[1]: a second leaf named 'x'"},
      {"dict { leaves { box { shape: 2 dtype: DTYPE_FLOAT32 } } }",
       "env.remote.observation_space.dict.leaves[0]: a Dict leaf has no name"},
      {"dict { leaves { name: 'video' box { shape: [2, 1, 3, 3] dtype: DTYPE_UINT8 } } }",
       "env.remote.observation_space.dict.leaves[0]: leaf 'video' has shape [2, 1, 3, 3]"},
      {"dict { leaves { name: 'x' box { shape: 2 dtype: DTYPE_INT64 } } }",
       "env.remote.observation_space.dict.leaves[0].box.dtype: leaf 'x' is DTYPE_INT64"},
      {"dict { leaves { name: 'x' box { shape: 2 dtype: DTYPE_FLOAT32 low: 1 high: 0 } } }",
       "env.remote.observation_space.dict.leaves[0].box: element 0's bounds are [1, 0]"},
  };
  for (const auto& [space, message] : cases) {
    EXPECT_THAT(Why(Spec(space, kTwoActions)), StartsWith(message)) << message;
  }
}

TEST(SpacesTest, DictsThatDifferAreNamedLeafByLeaf) {
  const EnvSpec served = *Spec(kImageAndVector, kTwoActions, kServer);
  EXPECT_EQ(SpaceDifference(served, served), std::nullopt);
  EnvSpec other = served;
  other.observation_leaves[1].shape = {3};
  EXPECT_THAT(SpaceDifference(served, other).value_or(""),
              HasSubstr("observations Dict(image: uint8 [1, 3, 3], goal: float32 [2], speed: float32 [1]), the config "
                        "says Dict(image: uint8 [1, 3, 3], goal: float32 [3]"));
  EXPECT_THAT(SpaceDifference(served, *Spec(kFourFloats, kTwoActions)).value_or(""), HasSubstr("the config says a box"));
}

TEST(SpacesTest, AScalarAndOneElementAndBroadcastAndListedBoundsAgree) {
  absl::StatusOr<EnvSpec> announced =
      Spec("box { dtype: DTYPE_FLOAT32 }", "box { shape: 2 dtype: DTYPE_FLOAT32 low: [-1, -1] high: [1, 1] }", kServer);
  absl::StatusOr<EnvSpec> configured =
      Spec("box { shape: 1 dtype: DTYPE_FLOAT32 }", "box { shape: 2 dtype: DTYPE_FLOAT32 low: -1 high: 1 }");
  ASSERT_TRUE(announced.ok() && configured.ok()) << announced.status() << configured.status();
  EXPECT_EQ(SpaceDifference(*announced, *configured), std::nullopt);
  absl::StatusOr<EnvSpec> two = Spec("box { shape: 2 dtype: DTYPE_FLOAT32 }", kTwoActions);
  ASSERT_TRUE(two.ok());
  two->discrete = false;
  two->action_low = announced->action_low;
  two->action_high = announced->action_high;
  EXPECT_EQ(SpaceDifference(*announced, *two), "observations float32 [1], the config says float32 [2]");
}

TEST(SpacesTest, AnActionMaskTheConfigDoesNotSayIsADifferenceNamingTheField) {
  absl::StatusOr<EnvSpec> announced = Spec("box { shape: 6 dtype: DTYPE_FLOAT32 }", kTwoActions, kServer);
  ASSERT_TRUE(announced.ok()) << announced.status();
  EnvSpec configured = *announced;
  announced->action_mask = true;
  EXPECT_EQ(SpaceDifference(*announced, configured),
            "observations end in an action mask, the config says they do not (env.remote.action_mask)");
  configured.action_mask = true;
  EXPECT_EQ(SpaceDifference(*announced, configured), std::nullopt);
}

}  // namespace
}  // namespace rill::envs
