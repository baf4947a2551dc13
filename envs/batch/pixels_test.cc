#include "envs/pixels.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "envs/registry.h"
#include "envs/render.h"
#include "envs/wrappers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The render of `env` at w x h as planes [3, h, w].
std::vector<uint8_t> Planes(Env& env, int w, int h) {
  RgbImage image = RenderFrame(env, w, h).value();
  std::vector<uint8_t> planes(static_cast<size_t>(3 * w * h));
  for (int p = 0; p < w * h; ++p) {
    for (int c = 0; c < 3; ++c) planes[static_cast<size_t>(c * w * h + p)] = image.rgb[static_cast<size_t>(3 * p + c)];
  }
  return planes;
}

TEST(PixelsTest, ObservesPendulumAsItsRenderInChannelsFirstBytes) {
  absl::StatusOr<std::unique_ptr<Env>> made = MakeEnv("Pendulum-v1", 0, 3);
  ASSERT_TRUE(made.ok());
  absl::StatusOr<std::unique_ptr<Pixels>> pixels = Pixels::Create(*std::move(made), PixelsOptions{48, 32, "", false});
  ASSERT_TRUE(pixels.ok()) << pixels.status();
  EXPECT_THAT((*pixels)->spec().observation_shape, ElementsAre(3, 32, 48));
  EXPECT_TRUE((*pixels)->spec().uint8_observations());
  EXPECT_EQ((*pixels)->spec().action_dim(), 1);
  EXPECT_EQ((*pixels)->max_episode_steps(), 200);

  // A twin stepped alongside, rendered directly, gives the same bytes.
  absl::StatusOr<std::unique_ptr<Env>> twin = MakeEnv("Pendulum-v1", 0, 3);
  ASSERT_TRUE(twin.ok());
  std::vector<float> state(3);
  std::vector<uint8_t> frame(static_cast<size_t>((*pixels)->spec().obs_bytes()));
  (*pixels)->ResetRaw(frame.data());
  (*twin)->Reset(state.data());
  EXPECT_EQ(frame, Planes(**twin, 48, 32));
  std::vector<uint8_t> first = frame;
  const float torque = 2.0f;
  for (int t = 0; t < 10; ++t) {
    ASSERT_TRUE((*pixels)->StepRaw(&torque, frame.data()).ok());
    ASSERT_TRUE((*twin)->Step(&torque, state.data()).ok());
  }
  EXPECT_EQ(frame, Planes(**twin, 48, 32));
  EXPECT_NE(frame, first) << "the pendulum moved; its frame must too";
}

TEST(PixelsTest, FloatCallsGiveTheSameValuesAsTheBytes) {
  absl::StatusOr<std::unique_ptr<Pixels>> a =
      Pixels::Create(MakeEnv("Pendulum-v1", 0, 5).value(), PixelsOptions{16, 16, "", false});
  absl::StatusOr<std::unique_ptr<Pixels>> b =
      Pixels::Create(MakeEnv("Pendulum-v1", 0, 5).value(), PixelsOptions{16, 16, "", false});
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<uint8_t> bytes(3 * 16 * 16);
  std::vector<float> floats(3 * 16 * 16);
  (*a)->ResetRaw(bytes.data());
  (*b)->Reset(floats.data());
  for (size_t i = 0; i < bytes.size(); ++i) ASSERT_EQ(static_cast<float>(bytes[i]), floats[i]) << i;
}

TEST(PixelsTest, GrayscaleIsOneLumaPlaneOfTheRgbFrame) {
  absl::StatusOr<std::unique_ptr<Pixels>> gray =
      Pixels::Create(MakeEnv("Pendulum-v1", 0, 1).value(), PixelsOptions{24, 24, "default", true});
  ASSERT_TRUE(gray.ok()) << gray.status();
  EXPECT_THAT((*gray)->spec().observation_shape, ElementsAre(1, 24, 24));
  std::vector<uint8_t> frame(24 * 24);
  const float torque = -1.0f;
  (*gray)->ResetRaw(frame.data());
  ASSERT_TRUE((*gray)->StepRaw(&torque, frame.data()).ok());
  // The wrapped env is in the state the frame shows: drawn in RGB, its luma.
  const std::vector<uint8_t> rgb = Planes((*gray)->wrapped(), 24, 24);
  int dark = 0;
  for (int p = 0; p < 24 * 24; ++p) {
    const int luma = (299 * rgb[p] + 587 * rgb[576 + p] + 114 * rgb[1152 + p] + 500) / 1000;
    ASSERT_EQ(frame[static_cast<size_t>(p)], luma) << "pixel " << p;
    dark += luma < 128;
  }
  EXPECT_GT(dark, 0) << "the rod and axle are darker than the background";
}

TEST(PixelsTest, RefusesAnUnknownCameraNamingTheOnesItHas) {
  absl::StatusOr<std::unique_ptr<Pixels>> pixels =
      Pixels::Create(MakeEnv("Pendulum-v1", 0, 1).value(), PixelsOptions{84, 84, "overhead", false});
  ASSERT_FALSE(pixels.ok());
  EXPECT_EQ(pixels.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(pixels.status().message(), HasSubstr("overhead"));
  EXPECT_THAT(pixels.status().message(), HasSubstr("default"));
}

// An env with no cameras.
class Blind final : public Env {
 public:
  Blind() : Env(Spec()) {}
  static EnvSpec Spec() {
    EnvSpec spec;
    spec.name = "Blind-v0";
    spec.observation_shape = {2};
    spec.discrete = true;
    spec.num_actions = 2;
    spec.max_episode_steps = 10;
    return spec;
  }
  void Reset(float* obs) override { obs[0] = obs[1] = 0; }
  absl::StatusOr<StepResult> Step(const float*, float* next_obs) override {
    next_obs[0] = next_obs[1] = 1;
    return StepResult{};
  }
};

TEST(PixelsTest, RefusesAnEnvThatCannotRenderByName) {
  absl::StatusOr<std::unique_ptr<Pixels>> pixels = Pixels::Create(std::make_unique<Blind>(), PixelsOptions{});
  ASSERT_FALSE(pixels.ok());
  EXPECT_EQ(pixels.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(pixels.status().message(), HasSubstr("Blind-v0 cannot render"));
}

TEST(PixelsTest, RefusesSizesOutOfRange) {
  EXPECT_THAT(PixelsSpec(Blind::Spec(), PixelsOptions{0, 84, "", false}).status().message(),
              HasSubstr("must lie in 1..1024"));
  EXPECT_THAT(PixelsSpec(Blind::Spec(), PixelsOptions{84, 2000, "", false}).status().message(),
              HasSubstr("84x2000"));
}

v1::EnvConfig PixelPendulumConfig() {
  v1::EnvConfig config;
  config.set_name("Pendulum-v1");
  config.set_action_repeat(2);
  config.mutable_pixels()->set_width(40);
  config.mutable_pixels()->set_height(30);
  config.set_frame_stack(3);
  return config;
}

TEST(WrappersTest, RepeatThenPixelsThenStackMakeTheSpecEveryProcessDerives) {
  const v1::EnvConfig config = PixelPendulumConfig();
  absl::StatusOr<EnvSpec> spec = WrappedSpec(MakeEnv("Pendulum-v1", 0, 1).value()->spec(), config);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->observation_shape, ElementsAre(9, 30, 40));
  EXPECT_TRUE(spec->uint8_observations());
  EXPECT_EQ(spec->max_episode_steps, 100);

  absl::StatusOr<std::unique_ptr<Env>> env = WrapAsConfigured(MakeEnv("Pendulum-v1", 0, 1).value(), config);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ((*env)->spec().observation_shape, spec->observation_shape);
  EXPECT_EQ((*env)->max_episode_steps(), 100);
  std::vector<uint8_t> obs(static_cast<size_t>((*env)->spec().obs_bytes()));
  (*env)->ResetRaw(obs.data());
  int steps = 0;
  const float torque = 0.5f;
  StepResult result;
  while (!result.truncated && !result.terminated && steps < 500) {
    absl::StatusOr<StepResult> step = (*env)->StepRaw(&torque, obs.data());
    ASSERT_TRUE(step.ok()) << step.status();
    result = *step;
    ++steps;
  }
  EXPECT_EQ(steps, 100) << "Pendulum's 200 steps, two at a time";
  EXPECT_TRUE(result.truncated);
  // Videos draw the state env at any size.
  EXPECT_TRUE(RenderFrame(**env, 64, 64).ok());
}

TEST(WrappersTest, PixelsAndActionRepeatOfARemoteEnvAreRefusedByName) {
  v1::EnvConfig config = PixelPendulumConfig();
  config.mutable_remote()->set_address("localhost:1");
  absl::StatusOr<EnvSpec> spec = WrappedSpec(Blind::Spec(), config);
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(spec.status().message(), HasSubstr("env.action_repeat: a remote env"));
  config.set_action_repeat(0);
  spec = WrappedSpec(Blind::Spec(), config);
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(spec.status().message(), HasSubstr("env.pixels: a remote env"));
}

TEST(WrappersTest, FrameStackOfAStateEnvIsStillRefusedWithItsField) {
  v1::EnvConfig config;
  config.set_name("Pendulum-v1");
  config.set_frame_stack(4);
  absl::StatusOr<EnvSpec> spec = WrappedSpec(MakeEnv("Pendulum-v1", 0, 1).value()->spec(), config);
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(spec.status().message(), HasSubstr("env.frame_stack: stacking 4 frames needs uint8"));
}

TEST(WrappersTest, PixelsOfARenderlessEnvFailToWrapNamingTheField) {
  v1::EnvConfig config;
  config.mutable_pixels();
  absl::StatusOr<std::unique_ptr<Env>> env = WrapAsConfigured(std::make_unique<Blind>(), config);
  ASSERT_FALSE(env.ok());
  EXPECT_THAT(env.status().message(), HasSubstr("env.pixels: Blind-v0 cannot render"));
  EXPECT_THAT(PixelsOptionsOf(config.pixels()).width, 84);
}

}  // namespace
}  // namespace rill::envs
