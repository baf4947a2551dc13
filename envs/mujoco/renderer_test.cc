#include "envs/mujoco/renderer.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envs/mujoco/ant.h"
#include "envs/mujoco/half_cheetah.h"
#include "envs/mujoco/hopper.h"
#include "envs/mujoco/humanoid.h"
#include "envs/mujoco/mujoco_env.h"
#include "envs/mujoco/test_util.h"
#include "envs/mujoco/walker2d.h"
#include "envs/render.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Task {
  std::string name;
  std::function<std::unique_ptr<MujocoEnv>(uint64_t seed)> make;
};

template <typename T>
std::unique_ptr<MujocoEnv> Make(uint64_t seed) {
  auto env = T::Create(0, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? std::move(*env) : nullptr;
}

std::vector<Task> AllTasks() {
  return {{"HalfCheetah", Make<HalfCheetah>},
          {"Hopper", Make<Hopper>},
          {"Walker2d", Make<Walker2d>},
          {"Ant", Make<Ant>},
          {"Humanoid", Make<Humanoid>}};
}

std::unique_ptr<MujocoEnv> ResetHalfCheetah(uint64_t seed) {
  std::unique_ptr<MujocoEnv> env = Make<HalfCheetah>(seed);
  std::vector<float> obs(env->obs_dim());
  env->Reset(obs.data());
  return env;
}

RgbImage Render(MujocoEnv& env, int width, int height, const std::string& camera) {
  absl::StatusOr<RgbImage> image = RenderFrame(env, width, height, camera);
  EXPECT_TRUE(image.ok()) << image.status();
  return image.ok() ? *std::move(image) : RgbImage();
}

// 64-bit FNV-1a.
uint64_t Fnv1a(const std::vector<uint8_t>& bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (const uint8_t byte : bytes) {
    hash ^= byte;
    hash *= 1099511628211ull;
  }
  return hash;
}

// Pixels in the robot's colour (rgba 0.8 0.6 0.4, lit: clearly more red
// than blue); the floor, its reflection and the sky are grey-blue.
double RobotFraction(const RgbImage& image) {
  int robot = 0;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const uint8_t* p = image.pixel(x, y);
      if (p[0] > p[2] + 40) ++robot;
    }
  }
  return static_cast<double>(robot) / (image.width * image.height);
}

int DifferingPixels(const RgbImage& a, const RgbImage& b) {
  int differing = 0;
  for (size_t i = 0; i + 2 < a.rgb.size(); i += 3) {
    if (a.rgb[i] != b.rgb[i] || a.rgb[i + 1] != b.rgb[i + 1] || a.rgb[i + 2] != b.rgb[i + 2]) ++differing;
  }
  return differing;
}

// Writes the image as a binary PPM into the test's undeclared outputs
// (bazel-testlogs/.../test.outputs/), to be looked at.
void Dump(const RgbImage& image, const std::string& name) {
  const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  if (dir == nullptr) return;
  FILE* file = std::fopen(absl::StrCat(dir, "/", name, ".ppm").c_str(), "wb");
  ASSERT_NE(file, nullptr);
  std::fprintf(file, "P6 %d %d 255\n", image.width, image.height);
  std::fwrite(image.rgb.data(), 1, image.rgb.size(), file);
  std::fclose(file);
}

TEST(MujocoRendererTest, EveryTaskHasTheTrackingAndTheFreeCamera) {
  for (const Task& task : AllTasks()) {
    std::unique_ptr<MujocoEnv> env = task.make(1);
    EXPECT_THAT(env->cameras(), ElementsAre("track", "free")) << task.name;
  }
}

TEST(MujocoRendererTest, SameStateGivesSameBytesAndRenderingLeavesThePhysicsAlone) {
  std::unique_ptr<MujocoEnv> drawn = ResetHalfCheetah(3);
  std::unique_ptr<MujocoEnv> twin = ResetHalfCheetah(3);
  std::vector<float> obs(drawn->obs_dim());
  std::vector<float> twin_obs(twin->obs_dim());
  for (int step = 0; step < 20; ++step) {
    for (const std::string camera : {"track", "free"}) {
      const RgbImage first = Render(*drawn, 64, 48, camera);
      const RgbImage second = Render(*drawn, 64, 48, camera);
      ASSERT_EQ(first.rgb, second.rgb) << camera << " at step " << step;
    }
    const std::vector<float> action = WavyAction(drawn->act_dim(), step, 1.0);
    absl::StatusOr<StepResult> result = drawn->Step(action.data(), obs.data());
    absl::StatusOr<StepResult> twin_result = twin->Step(action.data(), twin_obs.data());
    ASSERT_TRUE(result.ok() && twin_result.ok());
    ASSERT_EQ(result->reward, twin_result->reward) << "step " << step;
    ASSERT_EQ(obs, twin_obs) << "step " << step;
    ASSERT_EQ(PhysicsState(*drawn), PhysicsState(*twin)) << "step " << step;
  }
}

TEST(MujocoRendererTest, HalfCheetahsFirstFrameIsTheKnownPicture) {
  // llvmpipe (Mesa 22.3, Debian 12) draws the same bytes on every run: a
  // change here is a change of the picture (model looks, camera, lights).
  std::unique_ptr<MujocoEnv> env = ResetHalfCheetah(7);
  const RgbImage image = Render(*env, 64, 64, "track");
  EXPECT_EQ(Fnv1a(image.rgb), 0x1c27ce10d93078c4ull) << "FNV-1a of HalfCheetah's 64x64 first frame from \"track\"";
}

TEST(MujocoRendererTest, PictureShowsTheState) {
  std::unique_ptr<MujocoEnv> env = ResetHalfCheetah(1);
  const mjModel* m = env->model();
  std::vector<double> qpos(m->qpos0, m->qpos0 + m->nq);
  const std::vector<double> qvel(m->nv, 0.0);
  env->SetState(qpos.data(), qvel.data());
  // The free camera sees the robot small, from afar: a larger picture.
  const RgbImage straight_track = Render(*env, 64, 64, "track");
  const RgbImage straight_free = Render(*env, 160, 160, "free");
  // The back thigh swung forward: the tracking camera sees the leg move
  // (the body's centre of mass shifts little); the free camera too.
  qpos[3] = 1.0;
  env->SetState(qpos.data(), qvel.data());
  const RgbImage bent_track = Render(*env, 64, 64, "track");
  const RgbImage bent_free = Render(*env, 160, 160, "free");
  EXPECT_GT(DifferingPixels(straight_track, bent_track), 20);
  EXPECT_GT(DifferingPixels(straight_free, bent_free), 20);
  // The two cameras see it from different places.
  EXPECT_GT(DifferingPixels(straight_track, Render(*env, 64, 64, "free")), 200);
}

TEST(MujocoRendererTest, EveryTaskDrawsItsRobotInViewAt84And480) {
  for (const Task& task : AllTasks()) {
    std::unique_ptr<MujocoEnv> env = task.make(1);
    std::vector<float> obs(env->obs_dim());
    env->Reset(obs.data());
    for (const int size : {84, 480, 240}) {
      for (const std::string camera : {"track", "free"}) {
        const RgbImage image = Render(*env, size, size, camera);
        ASSERT_EQ(image.rgb.size(), static_cast<size_t>(size) * size * 3);
        // "track" follows the robot from a few metres; "free" is MuJoCo's
        // default view, from as far as the floor is wide: the robot small.
        EXPECT_GT(RobotFraction(image), camera == "track" ? 0.01 : 0.0) << task.name << " from " << camera << " at "
                                                                         << size;
        if (size == 240) Dump(image, absl::StrCat(task.name, "_", camera));
      }
    }
  }
}

TEST(MujocoRendererTest, TheTrackingCameraFollowsTheRobotAway) {
  for (const Task& task : AllTasks()) {
    std::unique_ptr<MujocoEnv> env = task.make(1);
    std::vector<float> obs(env->obs_dim());
    env->Reset(obs.data());
    const double x_start = env->data()->qpos[0];
    for (int step = 0; step < 200; ++step) {
      const std::vector<float> action = WavyAction(env->act_dim(), step, 0.4);
      absl::StatusOr<StepResult> result = env->Step(action.data(), obs.data());
      ASSERT_TRUE(result.ok()) << result.status();
      if (result->terminated) break;
    }
    const RgbImage image = Render(*env, 84, 84, "track");
    EXPECT_GT(RobotFraction(image), 0.01) << task.name << " moved " << env->data()->qpos[0] - x_start << " m";
  }
}

TEST(MujocoRendererTest, SmallerFramesAfterALargerOneAreUnchanged) {
  std::unique_ptr<MujocoEnv> env = ResetHalfCheetah(2);
  const RgbImage before = Render(*env, 84, 84, "track");
  Render(*env, 1000, 700, "track");  // grows the offscreen buffer
  const RgbImage after = Render(*env, 84, 84, "track");
  EXPECT_EQ(before.rgb, after.rgb);
}

TEST(MujocoRendererTest, AnEnvRendersFromAnotherThreadAndBack) {
  std::unique_ptr<MujocoEnv> env = ResetHalfCheetah(4);
  const RgbImage here = Render(*env, 64, 64, "track");
  RgbImage there;
  std::thread([&] { there = Render(*env, 64, 64, "track"); }).join();
  const RgbImage back = Render(*env, 64, 64, "track");
  EXPECT_EQ(here.rgb, there.rgb);
  EXPECT_EQ(here.rgb, back.rgb);
}

TEST(MujocoRendererTest, EnvsOnSeveralThreadsRenderAtOnce) {
  std::vector<std::unique_ptr<MujocoEnv>> envs;
  for (int i = 0; i < 4; ++i) envs.push_back(ResetHalfCheetah(5));
  const RgbImage expected = Render(*envs[0], 64, 64, "free");
  std::vector<RgbImage> images(envs.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < envs.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 10; ++k) images[i] = Render(*envs[i], 64, 64, "free");
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const RgbImage& image : images) EXPECT_EQ(image.rgb, expected.rgb);
}

TEST(MujocoRendererTest, MissingEglIsFailedPreconditionNamingThePackages) {
  setenv("RILL_EGL_LIBRARY", "/nonexistent/libEGL-rill-test.so.1", 1);
  std::unique_ptr<MujocoEnv> env = ResetHalfCheetah(1);
  absl::StatusOr<RgbImage> image = RenderFrame(*env, 84, 84);
  unsetenv("RILL_EGL_LIBRARY");
  ASSERT_EQ(image.status().code(), absl::StatusCode::kFailedPrecondition) << image.status();
  const std::string message(image.status().message());
  EXPECT_THAT(message, HasSubstr("cannot load /nonexistent/libEGL-rill-test.so.1"));
  for (const char* package : {"libegl1", "libegl-mesa0", "libgl1-mesa-dri", "libgl1"}) {
    EXPECT_THAT(message, HasSubstr(package));
  }
  EXPECT_THAT(message, HasSubstr("tools/setup.sh"));
  // The same env renders once EGL is there: the failure was not kept.
  EXPECT_TRUE(RenderFrame(*env, 84, 84).ok());
}

TEST(MujocoRendererTest, UnknownCameraIsInvalidArgumentListingTheCameras) {
  std::unique_ptr<MujocoEnv> env = ResetHalfCheetah(1);
  absl::StatusOr<RgbImage> image = RenderFrame(*env, 84, 84, "overhead");
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(image.status().message()), HasSubstr("track, free"));
  std::vector<uint8_t> rgb(84 * 84 * 3);
  EXPECT_EQ(env->Render(84, 84, "overhead", rgb.data()).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rill::envs
