#include "envs/batch/pixels.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "envs/batch/local.h"
#include "envs/batch/make.h"
#include "envs/batch/test_failing_batch.h"
#include "envs/batch/test_outputs.h"
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

// `envs` as one local batch.
std::unique_ptr<EnvBatch> Batch(std::vector<std::unique_ptr<Env>> envs) {
  EnvSpec spec = envs[0]->spec();
  return LocalEnvBatch::Create(std::move(spec), std::move(envs), LocalEnvBatch::StepErrors::kFailStep).value();
}

std::unique_ptr<EnvBatch> Batch(std::unique_ptr<Env> env) {
  std::vector<std::unique_ptr<Env>> envs;
  envs.push_back(std::move(env));
  return Batch(std::move(envs));
}

absl::StatusOr<std::unique_ptr<PixelsBatch>> PixelsOf(std::unique_ptr<Env> env, const PixelsOptions& options) {
  return PixelsBatch::Create(Batch(std::move(env)), options);
}

TEST(PixelsBatchTest, ObservesPendulumAsItsRenderInChannelsFirstBytes) {
  absl::StatusOr<std::unique_ptr<PixelsBatch>> pixels =
      PixelsOf(MakeEnv("Pendulum-v1", 0, 3).value(), PixelsOptions{48, 32, "", false});
  ASSERT_TRUE(pixels.ok()) << pixels.status();
  EXPECT_THAT((*pixels)->spec().observation_shape, ElementsAre(3, 32, 48));
  EXPECT_TRUE((*pixels)->spec().uint8_observations());
  EXPECT_EQ((*pixels)->spec().action_dim(), 1);
  EXPECT_EQ((*pixels)->spec().max_episode_steps, 200);

  // A twin stepped alongside, rendered directly, gives the same bytes.
  absl::StatusOr<std::unique_ptr<Env>> twin = MakeEnv("Pendulum-v1", 0, 3);
  ASSERT_TRUE(twin.ok());
  std::vector<float> state(3);
  const int frame_bytes = (*pixels)->spec().obs_bytes();
  StepBuffers buffers(1, frame_bytes / 4);
  ASSERT_TRUE((*pixels)->Reset(buffers.obs.data()).ok());
  (*twin)->Reset(state.data());
  EXPECT_EQ(buffers.obs, Planes(**twin, 48, 32));
  std::vector<uint8_t> first = buffers.obs;
  const float torque = 2.0f;
  for (int t = 0; t < 10; ++t) {
    ASSERT_TRUE((*pixels)->Step(1, &torque, buffers.out()).ok());
    ASSERT_TRUE((*twin)->Step(&torque, state.data()).ok());
  }
  EXPECT_EQ(buffers.obs, Planes(**twin, 48, 32));
  EXPECT_NE(buffers.obs, first) << "the pendulum moved; its frame must too";
}

// env.pixels.state: the frame and, after its bytes, the state it shows as
// float32s (a Dict of "pixels" and "state").
TEST(PixelsBatchTest, TheStateSitsBesideTheFrameItShows) {
  const PixelsOptions frame_only{48, 32, "", true};
  PixelsOptions with_state = frame_only;
  with_state.state = true;
  absl::StatusOr<std::unique_ptr<PixelsBatch>> both = PixelsOf(MakeEnv("Pendulum-v1", 0, 3).value(), with_state);
  absl::StatusOr<std::unique_ptr<PixelsBatch>> frames = PixelsOf(MakeEnv("Pendulum-v1", 0, 3).value(), frame_only);
  ASSERT_TRUE(both.ok() && frames.ok()) << both.status();
  const EnvSpec& spec = (*both)->spec();
  EXPECT_THAT(spec.observation_shape, ElementsAre(1, 32, 48));
  ASSERT_EQ(spec.observation_leaves.size(), 2u);
  EXPECT_EQ(spec.observation_leaves[1].name, "state");
  EXPECT_EQ(spec.flat_dim, 3);
  EXPECT_TRUE(spec.packed_observations());
  ASSERT_EQ(spec.obs_bytes(), 48 * 32 + 12);
  absl::StatusOr<std::unique_ptr<Env>> twin = MakeEnv("Pendulum-v1", 0, 3);
  std::vector<float> state(3);
  StepBuffers rows(1, spec.obs_bytes() / 4), frame(1, 48 * 32 / 4);
  ASSERT_TRUE((*both)->Reset(rows.obs.data()).ok());
  ASSERT_TRUE((*frames)->Reset(frame.obs.data()).ok());
  (*twin)->Reset(state.data());
  const float torque = -1.5f;
  for (int t = 0; t <= 5; ++t) {
    EXPECT_TRUE(std::equal(frame.obs.begin(), frame.obs.end(), rows.obs.begin())) << "step " << t;
    float beside[3];
    std::memcpy(beside, rows.obs.data() + 48 * 32, sizeof(beside));
    EXPECT_THAT(beside, ElementsAre(state[0], state[1], state[2])) << "step " << t;
    ASSERT_TRUE((*both)->Step(1, &torque, rows.out()).ok());
    ASSERT_TRUE((*frames)->Step(1, &torque, frame.out()).ok());
    ASSERT_TRUE((*twin)->Step(&torque, state.data()).ok());
  }
  // Only a float32 vector can sit beside a frame.
  PixelsOptions small = with_state;
  small.width = small.height = 10;
  absl::StatusOr<EnvSpec> images = PixelsSpec(MakeEnv("Beacon-v0", 0, 1).value()->spec(), small);
  ASSERT_FALSE(images.ok());
  EXPECT_THAT(images.status().message(),
              ::testing::HasSubstr("state: Beacon-v0 observes uint8 [1, 7, 7] as a Dict; the state beside a frame is "
                                   "one float32 vector"));
}

TEST(PixelsBatchTest, GrayscaleIsOneLumaPlaneOfTheRgbFrame) {
  absl::StatusOr<std::unique_ptr<PixelsBatch>> gray =
      PixelsOf(MakeEnv("Pendulum-v1", 0, 1).value(), PixelsOptions{24, 24, "default", true});
  ASSERT_TRUE(gray.ok()) << gray.status();
  EXPECT_THAT((*gray)->spec().observation_shape, ElementsAre(1, 24, 24));
  absl::StatusOr<std::unique_ptr<Env>> twin = MakeEnv("Pendulum-v1", 0, 1);
  std::vector<float> state(3);
  (*twin)->Reset(state.data());
  StepBuffers buffers(1, 24 * 24 / 4);
  const float torque = -1.0f;
  ASSERT_TRUE((*gray)->Reset(buffers.obs.data()).ok());
  ASSERT_TRUE((*gray)->Step(1, &torque, buffers.out()).ok());
  ASSERT_TRUE((*twin)->Step(&torque, state.data()).ok());
  // The twin is in the state the frame shows: drawn in RGB, its luma.
  const std::vector<uint8_t> rgb = Planes(**twin, 24, 24);
  int dark = 0;
  for (int p = 0; p < 24 * 24; ++p) {
    const int luma = (299 * rgb[p] + 587 * rgb[576 + p] + 114 * rgb[1152 + p] + 500) / 1000;
    ASSERT_EQ(buffers.obs[static_cast<size_t>(p)], luma) << "pixel " << p;
    dark += luma < 128;
  }
  EXPECT_GT(dark, 0) << "the rod and axle are darker than the background";
}

// An env that draws its step count: every pixel's red is the step within
// the episode (0 after a reset); episodes terminate at step `length`.
class Painted final : public Env {
 public:
  explicit Painted(int length) : Env(Spec()), length_(length) {}
  static EnvSpec Spec() {
    EnvSpec spec;
    spec.name = "Painted-v0";
    spec.observation_shape = {1};
    spec.discrete = true;
    spec.num_actions = 2;
    spec.max_episode_steps = 100;
    return spec;
  }
  void Reset(float* obs) override { obs[0] = static_cast<float>(step_ = 0); }
  absl::StatusOr<StepResult> Step(const float*, float* next_obs) override {
    next_obs[0] = static_cast<float>(++step_);
    return StepResult{0, step_ == length_, false};
  }
  std::vector<std::string> cameras() const override { return {"default"}; }
  absl::Status Render(int width, int height, const std::string&, uint8_t* rgb) override {
    for (int p = 0; p < width * height; ++p) {
      rgb[3 * p] = static_cast<uint8_t>(step_);
      rgb[3 * p + 1] = rgb[3 * p + 2] = 0;
    }
    return absl::OkStatus();
  }

 private:
  int length_;
  int step_ = 0;
};

TEST(PixelsBatchTest, AnEndedEpisodesFinalFrameIsItsLastStateAndTheNextFrameItsReset) {
  std::vector<std::unique_ptr<Env>> envs;
  envs.push_back(std::make_unique<Painted>(2));
  envs.push_back(std::make_unique<Painted>(50));
  absl::StatusOr<std::unique_ptr<PixelsBatch>> pixels =
      PixelsBatch::Create(Batch(std::move(envs)), PixelsOptions{2, 2, "", true});
  ASSERT_TRUE(pixels.ok()) << pixels.status();
  StepBuffers buffers(2, 1);  // one float's bytes: a 2x2 gray frame a row
  ASSERT_TRUE((*pixels)->Reset(buffers.obs.data()).ok());
  const float actions[2] = {0, 0};
  ASSERT_TRUE((*pixels)->Step(2, actions, buffers.out()).ok());
  ASSERT_TRUE((*pixels)->Step(2, actions, buffers.out()).ok());
  EXPECT_THAT(buffers.terminated, ElementsAre(1, 0));
  // Luma of red r: (299 r + 500) / 1000.
  const auto luma = [](int red) { return static_cast<uint8_t>((299 * red + 500) / 1000); };
  EXPECT_EQ(buffers.final_obs[0], luma(2)) << "the state the episode ended in";
  EXPECT_EQ(buffers.obs[0], luma(0)) << "the next episode's first state";
  EXPECT_EQ(buffers.obs[4], luma(2)) << "the other row goes on";
}

TEST(PixelsBatchTest, EveryFailedRowIsDrawnAfreshSteppedOrNot) {
  auto failing = std::make_unique<FailingBatch>(2);
  FailingBatch* inner = failing.get();
  absl::StatusOr<std::unique_ptr<PixelsBatch>> pixels =
      PixelsBatch::Create(std::move(failing), PixelsOptions{1, 1, "", false});
  ASSERT_TRUE(pixels.ok()) << pixels.status();
  std::vector<uint8_t> frames(2 * 3), finals(2 * 3);
  std::vector<float> rewards(2);
  std::vector<uint8_t> terminated(2), truncated(2), masked(2);
  std::vector<EnvFailure> failures;
  const EnvBatchOutput out{frames.data(),     finals.data(), rewards.data(), terminated.data(),
                           truncated.data(),  masked.data(), &failures,      nullptr};
  ASSERT_TRUE((*pixels)->Reset(frames.data()).ok());
  const float actions[2] = {0, 0};
  ASSERT_TRUE((*pixels)->Step(2, actions, out).ok());
  ASSERT_TRUE((*pixels)->Step(2, actions, out).ok());
  EXPECT_EQ(frames[3], 2) << "row 1's red: its state";
  // Row 0 alone is stepped, and the stream breaks: row 1, not stepped, is
  // reset too, and its frame must show it.
  inner->break_in_calls = 0;
  const uint8_t row_zero[2] = {1, 0};
  ASSERT_TRUE((*pixels)->StepRows(row_zero, false, actions, out).ok());
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(frames[0], 0);
  EXPECT_EQ(frames[3], 0) << "the unstepped row's frame is its new state's, not the one before the break";
}

TEST(PixelsBatchTest, AFrameOfAnotherSizeIsSampledToTheConfiguredOne) {
  RgbImage image;
  image.width = 4;
  image.height = 2;
  // Columns 0..3 red 10, 20, 30, 40; rows alike.
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 4; ++x) image.rgb.insert(image.rgb.end(), {static_cast<uint8_t>(10 * (x + 1)), 0, 0});
  }
  std::vector<uint8_t> frame(3 * 2 * 1);
  FrameOfImage(image, PixelsOptions{2, 1, "", false}, frame.data());
  EXPECT_THAT(frame, ElementsAre(20, 40, 0, 0, 0, 0)) << "the nearest source pixel to each centre";
}

TEST(PixelsBatchTest, RefusesAnUnknownCameraNamingTheOnesItHas) {
  absl::StatusOr<std::unique_ptr<PixelsBatch>> pixels =
      PixelsOf(MakeEnv("Pendulum-v1", 0, 1).value(), PixelsOptions{84, 84, "overhead", false});
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

TEST(PixelsBatchTest, RefusesAnEnvThatCannotRenderByName) {
  absl::StatusOr<std::unique_ptr<PixelsBatch>> pixels = PixelsOf(std::make_unique<Blind>(), PixelsOptions{84, 84, "", false});
  ASSERT_FALSE(pixels.ok());
  EXPECT_EQ(pixels.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(pixels.status().message(), HasSubstr("Blind-v0 cannot render"));
}

TEST(PixelsBatchTest, RefusesSizesOutOfRange) {
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

  absl::StatusOr<std::unique_ptr<EnvBatch>> env = MakeEnvBatch(config, 1, 0);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ((*env)->spec().observation_shape, spec->observation_shape);
  EXPECT_EQ((*env)->spec().max_episode_steps, 100);
  StepBuffers buffers(1, (*env)->spec().obs_bytes() / 4);
  ASSERT_TRUE((*env)->Reset(buffers.obs.data()).ok());
  int steps = 0;
  const float torque = 0.5f;
  while (buffers.truncated[0] == 0 && buffers.terminated[0] == 0 && steps < 500) {
    absl::StatusOr<int> step = (*env)->Step(1, &torque, buffers.out());
    ASSERT_TRUE(step.ok()) << step.status();
    ++steps;
  }
  EXPECT_EQ(steps, 100) << "Pendulum's 200 steps, two at a time";
  EXPECT_EQ(buffers.truncated[0], 1);
  // Videos draw the state env at any size.
  RgbImage image;
  EXPECT_TRUE((*env)->Render(0, 64, 64, "", &image).ok());
  EXPECT_EQ(image.width, 64);
}

TEST(WrappersTest, FrameStackOfAStateEnvIsStillRefusedWithItsField) {
  v1::EnvConfig config;
  config.set_name("Pendulum-v1");
  config.set_frame_stack(4);
  absl::StatusOr<EnvSpec> spec = WrappedSpec(MakeEnv("Pendulum-v1", 0, 1).value()->spec(), config);
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(spec.status().message(), HasSubstr("env.frame_stack: stacking 4 frames needs uint8"));
}

// (An env that cannot render is refused by PixelsBatch::Create above; every
// registered env renders.)
TEST(WrappersTest, PixelsOfAnUnknownCameraFailToWrapNamingTheField) {
  v1::EnvConfig config;
  config.set_name("CartPole-v1");
  config.mutable_pixels()->set_camera("overhead");
  absl::StatusOr<std::unique_ptr<EnvBatch>> env = MakeEnvBatch(config, 1, 0);
  ASSERT_FALSE(env.ok());
  EXPECT_THAT(env.status().message(), HasSubstr("env.pixels: CartPole-v1 has no camera 'overhead'"));
  config.clear_pixels();
  config.mutable_pixels();
  EXPECT_THAT(PixelsOptionsOf(config.pixels()).width, 84);
}

}  // namespace
}  // namespace rill::envs
