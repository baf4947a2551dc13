#include "envs/render.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

EnvSpec OneNumberSpec(const std::string& name) {
  EnvSpec spec;
  spec.name = name;
  spec.observation_shape = {1};
  spec.num_actions = 2;
  spec.discrete = true;
  spec.max_episode_steps = 10;
  return spec;
}

// An env that paints every pixel with its step count in red and the camera's
// index in green, and records what it was asked.
class Painter final : public Env {
 public:
  Painter() : Env(OneNumberSpec("Painter-v0")) {}
  void Reset(float* obs) override { obs[0] = steps_ = 0; }
  absl::StatusOr<StepResult> Step(const float*, float* next_obs) override {
    next_obs[0] = ++steps_;
    return StepResult{};
  }
  std::vector<std::string> cameras() const override { return {"side", "top"}; }
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) override {
    last_camera = camera;
    for (int p = 0; p < width * height; ++p) {
      rgb[3 * p] = static_cast<uint8_t>(steps_);
      rgb[3 * p + 1] = camera == "top" ? 1 : 0;
      rgb[3 * p + 2] = 9;
    }
    return absl::OkStatus();
  }
  std::string last_camera;

 private:
  int steps_ = 0;
};

class Blind final : public Env {
 public:
  Blind() : Env(OneNumberSpec("Blind-v0")) {}
  void Reset(float* obs) override { obs[0] = 0; }
  absl::StatusOr<StepResult> Step(const float*, float* next_obs) override {
    next_obs[0] = 0;
    return StepResult{};
  }
};

TEST(RenderTest, TheDefaultCameraIsTheFirstAndAFrameHasItsSize) {
  Painter env;
  float obs;
  env.Reset(&obs);
  const float action = 0;
  ASSERT_TRUE(env.Step(&action, &obs).ok());
  absl::StatusOr<RgbImage> frame = RenderFrame(env, 5, 3);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(env.last_camera, "side");
  EXPECT_EQ(frame->width, 5);
  EXPECT_EQ(frame->height, 3);
  ASSERT_EQ(frame->rgb.size(), 45u);
  EXPECT_EQ(frame->pixel(4, 2)[0], 1) << "the state after one step";
  EXPECT_EQ(frame->pixel(4, 2)[2], 9);
}

TEST(RenderTest, ANamedCameraIsPassedOn) {
  Painter env;
  float obs;
  env.Reset(&obs);
  absl::StatusOr<RgbImage> frame = RenderFrame(env, 2, 2, "top");
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(env.last_camera, "top");
  EXPECT_EQ(frame->pixel(0, 0)[1], 1);
}

TEST(RenderTest, AnUnknownCameraIsRefusedNamingTheKnownOnes) {
  Painter env;
  const absl::Status status = RenderFrame(env, 2, 2, "front").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("'front'"), std::string::npos) << status;
  EXPECT_NE(status.message().find("side, top"), std::string::npos) << status;
  EXPECT_EQ(env.last_camera, "") << "the env is not asked";
}

TEST(RenderTest, SizesOutsideTheBoundsAreRefused) {
  Painter env;
  EXPECT_EQ(RenderFrame(env, 0, 10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderFrame(env, 10, -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderFrame(env, kMaxRenderSize + 1, 10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(RenderFrame(env, 1, 1).ok());
}

TEST(RenderTest, AnEnvWithoutCamerasCannotRender) {
  Blind env;
  EXPECT_FALSE(CanRender(env));
  const absl::Status status = RenderFrame(env, 8, 8).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(status.message().find("Blind-v0 cannot render"), std::string::npos) << status;
}

TEST(RenderTest, ReusingAnImageResizesIt) {
  Painter env;
  RgbImage image;
  ASSERT_TRUE(RenderInto(env, 4, 4, "", &image).ok());
  ASSERT_TRUE(RenderInto(env, 2, 3, "", &image).ok());
  EXPECT_EQ(image.rgb.size(), 18u);
}

TEST(RenderTest, ParseRenderSizeReadsWidthByHeight) {
  int width = 0;
  int height = 0;
  ASSERT_TRUE(ParseRenderSize("84x64", "--size", &width, &height).ok());
  EXPECT_EQ(width, 84);
  EXPECT_EQ(height, 64);
  for (const std::string bad : {"84", "84x", "x84", "0x5", "84x84x3", "axb", "5000x5"}) {
    const absl::Status status = ParseRenderSize(bad, "--size", &width, &height);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("--size='" + bad + "'"), std::string::npos) << status;
  }
}

}  // namespace
}  // namespace rill::envs
