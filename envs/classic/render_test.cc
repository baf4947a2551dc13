// Rendering of the classic-control envs: through RenderFrame (envs/render.h),
// as `rill render` and pixel observations do. Each test's pictures are
// written to its outputs as PPM (envs/render/test_util.h) to look at.
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "envs/classic/acrobot.h"
#include "envs/classic/cartpole.h"
#include "envs/classic/cartpole_no_velocity.h"
#include "envs/classic/mountain_car.h"
#include "envs/classic/mountain_car_continuous.h"
#include "envs/classic/pendulum.h"
#include "envs/render.h"
#include "envs/render/test_util.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

constexpr double kPi = 3.14159265358979323846;

// One env in a fixed state.
struct Case {
  std::string name;
  // A started env, seeded with `seed`, in the case's state.
  std::function<std::unique_ptr<Env>(uint64_t seed)> make;
  // A valid action for one step.
  std::vector<float> action;
  // FNV-1a of the 64x48 render of make(1): changes when the drawing does.
  uint64_t checksum;
};

template <typename E>
std::unique_ptr<E> Started(uint64_t seed) {
  std::unique_ptr<E> env = E::Create(0, seed).value();
  std::vector<float> obs(static_cast<size_t>(env->obs_dim()));
  env->Reset(obs.data());
  return env;
}

std::vector<Case> Cases() {
  return {
      {"CartPole", [](uint64_t seed) -> std::unique_ptr<Env> {
         auto env = Started<CartPole>(seed);
         env->SetState(0.5, 0.2, 0.1, -0.3);
         return env;
       },
       {1}, 0x4f0e5f4fa56f7896ull},
      {"CartPoleNoVelocity", [](uint64_t seed) -> std::unique_ptr<Env> { return Started<CartPoleNoVelocity>(seed); },
       {0}, 0x547db357c83ca5c2ull},
      {"Pendulum", [](uint64_t seed) -> std::unique_ptr<Env> {
         auto env = Started<Pendulum>(seed);
         env->SetState(0.7, -0.5);
         return env;
       },
       {1.5f}, 0xf2d4fc30598d6c74ull},
      {"MountainCar", [](uint64_t seed) -> std::unique_ptr<Env> {
         auto env = Started<MountainCar>(seed);
         env->SetState(-0.5, 0.01);
         return env;
       },
       {2}, 0x5654af40e3ff9a29ull},
      {"MountainCarContinuous", [](uint64_t seed) -> std::unique_ptr<Env> {
         auto env = Started<MountainCarContinuous>(seed);
         env->SetState(0.2, -0.02);
         return env;
       },
       {-0.5f}, 0xa0aa26796d943242ull},
      {"Acrobot", [](uint64_t seed) -> std::unique_ptr<Env> {
         auto env = Started<Acrobot>(seed);
         env->SetState({0.8, 0.6, 0.3, -0.4});
         return env;
       },
       {0}, 0xeb3608632d1d382full},
  };
}

RgbImage Render(Env& env, int width, int height, const std::string& name = "") {
  absl::StatusOr<RgbImage> image = RenderFrame(env, width, height);
  EXPECT_TRUE(image.ok()) << image.status();
  if (!image.ok()) return RgbImage();
  if (!name.empty()) {
    EXPECT_TRUE(render::WritePpmToTestOutputs(name, width, height, image->rgb.data()));
  }
  return *std::move(image);
}

bool Is(const RgbImage& image, int x, int y, uint8_t r, uint8_t g, uint8_t b) {
  const uint8_t* p = image.pixel(x, y);
  return p[0] == r && p[1] == g && p[2] == b;
}

// The mean column and row of the pixels of one colour; -1 when there are none.
struct Centroid {
  double x = -1;
  double y = -1;
  int count = 0;
};
Centroid CentroidOf(const RgbImage& image, uint8_t r, uint8_t g, uint8_t b) {
  Centroid c;
  double sx = 0, sy = 0;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      if (!Is(image, x, y, r, g, b)) continue;
      sx += x;
      sy += y;
      ++c.count;
    }
  }
  if (c.count > 0) {
    c.x = sx / c.count;
    c.y = sy / c.count;
  }
  return c;
}

TEST(ClassicRenderTest, EveryEnvHasOneDefaultCamera) {
  for (const Case& c : Cases()) {
    EXPECT_EQ(c.make(1)->cameras(), std::vector<std::string>{"default"}) << c.name;
  }
}

TEST(ClassicRenderTest, RenderingTwiceGivesTheSameBytes) {
  for (const Case& c : Cases()) {
    std::unique_ptr<Env> env = c.make(1);
    EXPECT_EQ(Render(*env, 64, 48).rgb, Render(*env, 64, 48).rgb) << c.name;
  }
}

TEST(ClassicRenderTest, RenderingLeavesTheEpisodeAsAnUnrenderedTwinPlaysIt) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    std::unique_ptr<Env> rendered = c.make(9);
    std::unique_ptr<Env> twin = c.make(9);
    const size_t n = static_cast<size_t>(twin->obs_dim());
    std::vector<float> a(n), b(n);
    for (int step = 0; step < 3; ++step) {
      Render(*rendered, 84, 84);
      Render(*rendered, 7, 3);
      absl::StatusOr<StepResult> ra = rendered->Step(c.action.data(), a.data());
      absl::StatusOr<StepResult> rb = twin->Step(c.action.data(), b.data());
      ASSERT_TRUE(ra.ok() && rb.ok()) << ra.status() << rb.status();
      EXPECT_EQ(a, b);
      EXPECT_EQ(ra->reward, rb->reward);
      EXPECT_EQ(ra->terminated, rb->terminated);
      EXPECT_EQ(ra->truncated, rb->truncated);
    }
    // Rendering draws nothing from the RNG: the next episodes match too.
    Render(*rendered, 84, 84);
    rendered->Reset(a.data());
    twin->Reset(b.data());
    EXPECT_EQ(a, b);
  }
}

TEST(ClassicRenderTest, FixedStateRendersToPinnedChecksum) {
  for (const Case& c : Cases()) {
    std::unique_ptr<Env> env = c.make(1);
    const RgbImage image = Render(*env, 64, 48, c.name + "_64x48");
    EXPECT_EQ(render::Fnv1a(image.rgb), c.checksum) << c.name << ": 0x" << std::hex << render::Fnv1a(image.rgb);
  }
}

TEST(ClassicRenderTest, OnePixelAndLargeImagesRender) {
  for (const Case& c : Cases()) {
    std::unique_ptr<Env> env = c.make(1);
    const RgbImage one = Render(*env, 1, 1);
    EXPECT_EQ(one.rgb.size(), 3u) << c.name;
    const RgbImage large = Render(*env, 480, 480, c.name + "_480x480");
    ASSERT_EQ(large.rgb.size(), 480u * 480 * 3) << c.name;
    // More than the background: some pixel differs from the top-left one.
    bool varied = false;
    for (size_t k = 0; k < large.rgb.size() && !varied; ++k) varied = large.rgb[k] != large.rgb[k % 3];
    EXPECT_TRUE(varied) << c.name;
    Render(*env, 84, 84, c.name + "_84x84");
  }
}

TEST(ClassicRenderTest, CartPoleNoVelocityDrawsCartPolesPicture) {
  std::unique_ptr<Env> hidden = Started<CartPoleNoVelocity>(5);
  std::unique_ptr<Env> full = Started<CartPole>(5);
  EXPECT_EQ(Render(*hidden, 96, 64).rgb, Render(*full, 96, 64).rgb);
}

// The pole's colour in CartPole's picture.
constexpr uint8_t kPole[3] = {202, 152, 101};

TEST(ClassicRenderTest, CartPoleCartMovesRightAsXGrows) {
  auto env = Started<CartPole>(1);
  double last_column = -1;
  for (double x : {-2.0, -1.0, 0.0, 1.0, 2.0}) {
    env->SetState(x, 0, 0, 0);
    const RgbImage image = Render(*env, 96, 64, absl::StrCat("CartPole_x", x));
    // The pole stands on the cart: its pixels' mean column is the cart's.
    const Centroid pole = CentroidOf(image, kPole[0], kPole[1], kPole[2]);
    ASSERT_GT(pole.count, 0) << x;
    EXPECT_NEAR(pole.x + 0.5, (x + 2.4) / 4.8 * 96, 1.0) << x;
    EXPECT_GT(pole.x, last_column) << x;
    last_column = pole.x;
    // The cart (black) sits under the axle, around the column of x.
    // (Left of the pole, just above the track.)
    const int cart_column = static_cast<int>((x - 0.12 + 2.4) / 4.8 * 96);
    const int cart_row = static_cast<int>((3.2 - 0.9) / 3.2 * 64);
    EXPECT_TRUE(Is(image, cart_column, cart_row, 0, 0, 0)) << x;
  }
}

TEST(ClassicRenderTest, CartPolePoleLeansTheWayThetaSays) {
  auto env = Started<CartPole>(1);
  env->SetState(0, 0, 0.5, 0);  // leaning right
  const Centroid right = CentroidOf(Render(*env, 96, 64), kPole[0], kPole[1], kPole[2]);
  env->SetState(0, 0, -0.5, 0);
  const Centroid left = CentroidOf(Render(*env, 96, 64), kPole[0], kPole[1], kPole[2]);
  EXPECT_GT(right.x, 48 + 2);
  EXPECT_LT(left.x, 48 - 2);
  EXPECT_LT(right.y, 64 * (1 - 0.8 / 3.2));  // above the cart either way
}

// Counts the rod-coloured pixels above and below the pivot, leaving out
// the rows of the round ends about the pivot.
void CountRod(const RgbImage& image, int* above, int* below) {
  *above = 0;
  *below = 0;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      if (!Is(image, x, y, 204, 77, 77)) continue;
      if (y < image.height / 2 - 4) ++*above;
      if (y > image.height / 2 + 4) ++*below;
    }
  }
}

TEST(ClassicRenderTest, PendulumRodPointsUpAtZeroAndDownAtPi) {
  auto env = Started<Pendulum>(1);
  int above = 0, below = 0;
  env->SetState(0, 0);
  CountRod(Render(*env, 64, 64, "Pendulum_th0"), &above, &below);
  EXPECT_GT(above, 20);
  EXPECT_EQ(below, 0);
  env->SetState(kPi, 0);
  CountRod(Render(*env, 64, 64, "Pendulum_thpi"), &above, &below);
  EXPECT_EQ(above, 0);
  EXPECT_GT(below, 20);
  // Positive th turns counterclockwise: at pi/2 the rod points left.
  env->SetState(kPi / 2, 0);
  const Centroid rod = CentroidOf(Render(*env, 64, 64), 204, 77, 77);
  EXPECT_LT(rod.x, 32 - 5);
  EXPECT_NEAR(rod.y, 32, 2);
}

TEST(ClassicRenderTest, MountainCarWheelsFollowThePositionAndTheFlagMarksTheGoal) {
  auto env = Started<MountainCar>(1);
  for (double position : {-1.0, -0.5, 0.3}) {
    env->SetState(position, 0);
    const RgbImage image = Render(*env, 120, 80, absl::StrCat("MountainCar_", position));
    const Centroid wheels = CentroidOf(image, 128, 128, 128);
    ASSERT_GT(wheels.count, 0) << position;
    EXPECT_NEAR(wheels.x + 0.5, (position + 1.2) / 1.8 * 120, 2.0) << position;
    // Just over the hill: 0.45 sin(3x) + 0.55, 1.2 units to the height.
    const double hill_row = (1 - (0.45 * std::sin(3 * position) + 0.55) / 1.2) * 80;
    EXPECT_NEAR(wheels.y + 0.5, hill_row - 0.03 / 1.2 * 80, 2.5) << position;
    const Centroid flag = CentroidOf(image, 204, 204, 0);
    ASSERT_GT(flag.count, 0);
    EXPECT_NEAR(flag.x + 0.5, (0.5 + 1.2) / 1.8 * 120 + 0.075 / 3 / 1.8 * 120, 1.0);
  }
}

TEST(ClassicRenderTest, MountainCarContinuousFlagStandsAtItsOwnGoal) {
  auto discrete = Started<MountainCar>(1);
  auto continuous = Started<MountainCarContinuous>(1);
  discrete->SetState(-0.5, 0);
  continuous->SetState(-0.5, 0);
  const Centroid at_half = CentroidOf(Render(*discrete, 180, 120), 204, 204, 0);
  const Centroid at_045 = CentroidOf(Render(*continuous, 180, 120), 204, 204, 0);
  EXPECT_NEAR(at_half.x - at_045.x, 0.05 / 1.8 * 180, 1.0);
}

// Counts the link-coloured pixels over the goal line (height 1) and under
// the pivot.
void CountLinks(const RgbImage& image, int* over_goal, int* under_pivot) {
  *over_goal = 0;
  *under_pivot = 0;
  const double goal_row = (2.2 - 1.0) / 4.4 * image.height;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      if (!Is(image, x, y, 0, 204, 204)) continue;
      if (y + 0.5 < goal_row) ++*over_goal;
      if (y > image.height / 2 + 3) ++*under_pivot;
    }
  }
}

TEST(ClassicRenderTest, AcrobotHangsDownAtRestAndReachesOverTheGoalLineUpright) {
  auto env = Started<Acrobot>(1);
  int over = 0, under = 0;
  env->SetState({0, 0, 0, 0});
  CountLinks(Render(*env, 88, 88, "Acrobot_down"), &over, &under);
  EXPECT_EQ(over, 0);
  EXPECT_GT(under, 40);
  env->SetState({kPi, 0, 0, 0});
  CountLinks(Render(*env, 88, 88, "Acrobot_up"), &over, &under);
  EXPECT_GT(over, 10);
  EXPECT_EQ(under, 0);
  // th1 = pi/2 turns link 1 counterclockwise from hanging: to the right;
  // th2 = pi/2 then turns link 2 up from there.
  env->SetState({kPi / 2, kPi / 2, 0, 0});
  const RgbImage image = Render(*env, 88, 88, "Acrobot_right_up");
  const int x_elbow = static_cast<int>((1.0 + 2.2) / 4.4 * 88);
  const int y_middle = 44;
  EXPECT_TRUE(Is(image, (44 + x_elbow) / 2, y_middle, 0, 204, 204));  // link 1, right of the pivot
  EXPECT_TRUE(Is(image, x_elbow, static_cast<int>((2.2 - 0.5) / 4.4 * 88), 0, 204, 204));  // link 2, above the elbow
  EXPECT_TRUE(Is(image, x_elbow, y_middle, 204, 204, 0));  // the elbow joint
}

}  // namespace
}  // namespace rill::envs
