// The MinAtar games' pictures (GameEnv::Render), through RenderFrame
// (envs/render.h) as `rill render` draws them. Each test's pictures are
// written to its outputs as PPM (envs/render/test_util.h) to look at.
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/minatar/asterix.h"
#include "envs/minatar/breakout.h"
#include "envs/minatar/freeway.h"
#include "envs/minatar/game_env.h"
#include "envs/minatar/seaquest.h"
#include "envs/minatar/space_invaders.h"
#include "envs/render.h"
#include "envs/render/test_util.h"
#include "gtest/gtest.h"

namespace rill::envs::minatar {
namespace {

struct Game {
  std::string name;
  std::function<std::unique_ptr<GameEnv>(uint64_t seed)> make;
  // FNV-1a of the 64x48 render of Played(make(1)): changes when the
  // drawing does.
  uint64_t checksum;
};

template <typename G>
std::function<std::unique_ptr<GameEnv>(uint64_t)> Maker() {
  return [](uint64_t seed) -> std::unique_ptr<GameEnv> { return G::Create(0, seed).value(); };
}

std::vector<Game> Games() {
  return {
      {"Breakout", Maker<Breakout>(), 0xe330ae675a6913ebull},
      {"SpaceInvaders", Maker<SpaceInvaders>(), 0x9fee49b0dc68a71full},
      {"Freeway", Maker<Freeway>(), 0xdc861ac7b786ff0full},
      {"Asterix", Maker<Asterix>(), 0xef00c68965a2ce2full},
      {"Seaquest", Maker<Seaquest>(), 0x20142a2eed496105ull},
  };
}

// `env` after Reset and a fixed few steps (too few for any game to end),
// so the board holds more than the start state.
std::unique_ptr<GameEnv> Played(std::unique_ptr<GameEnv> env) {
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_bytes()));
  env->ResetRaw(obs.data());
  for (int step = 0; step < 4; ++step) {
    const float action = static_cast<float>(step % env->act_dim());
    absl::StatusOr<StepResult> result = env->StepRaw(&action, obs.data());
    EXPECT_TRUE(result.ok() && !result->terminated && !result->truncated) << env->name();
  }
  return env;
}

RgbImage Render(GameEnv& env, int width, int height, const std::string& name = "") {
  absl::StatusOr<RgbImage> image = RenderFrame(env, width, height);
  EXPECT_TRUE(image.ok()) << image.status();
  if (!image.ok()) return RgbImage();
  if (!name.empty()) {
    EXPECT_TRUE(render::WritePpmToTestOutputs(name, width, height, image->rgb.data()));
  }
  return *std::move(image);
}

bool Is(const RgbImage& image, int x, int y, render::Rgb c) {
  const uint8_t* p = image.pixel(x, y);
  return p[0] == c.r && p[1] == c.g && p[2] == c.b;
}

TEST(MinAtarRenderTest, EveryGameHasOneDefaultCamera) {
  for (const Game& game : Games()) {
    EXPECT_EQ(game.make(1)->cameras(), std::vector<std::string>{"default"}) << game.name;
  }
}

TEST(MinAtarRenderTest, PaletteColoursAreDistinctAndNotTheBackground) {
  for (int a = 0; a < 10; ++a) {
    const render::Rgb ca = GameEnv::ChannelColour(a);
    EXPECT_FALSE(ca.r == GameEnv::kBackground.r && ca.g == GameEnv::kBackground.g && ca.b == GameEnv::kBackground.b);
    for (int b = a + 1; b < 10; ++b) {
      const render::Rgb cb = GameEnv::ChannelColour(b);
      EXPECT_FALSE(ca.r == cb.r && ca.g == cb.g && ca.b == cb.b) << a << " " << b;
    }
  }
}

TEST(MinAtarRenderTest, RenderingTwiceGivesTheSameBytes) {
  for (const Game& game : Games()) {
    std::unique_ptr<GameEnv> env = Played(game.make(1));
    EXPECT_EQ(Render(*env, 64, 48).rgb, Render(*env, 64, 48).rgb) << game.name;
  }
}

TEST(MinAtarRenderTest, RenderingLeavesTheGameAsAnUnrenderedTwinPlaysIt) {
  for (const Game& game : Games()) {
    SCOPED_TRACE(game.name);
    // Sticky actions stay on: their draws share the RNG with the game.
    std::unique_ptr<GameEnv> rendered = game.make(4);
    std::unique_ptr<GameEnv> twin = game.make(4);
    const size_t n = static_cast<size_t>(twin->spec().obs_bytes());
    std::vector<uint8_t> a(n), b(n);
    rendered->ResetRaw(a.data());
    twin->ResetRaw(b.data());
    std::mt19937_64 actions(7);
    for (int step = 0; step < 200; ++step) {
      Render(*rendered, 84, 84);
      const float action = static_cast<float>(actions() % static_cast<uint64_t>(twin->act_dim()));
      absl::StatusOr<StepResult> ra = rendered->StepRaw(&action, a.data());
      absl::StatusOr<StepResult> rb = twin->StepRaw(&action, b.data());
      ASSERT_TRUE(ra.ok() && rb.ok()) << ra.status() << rb.status();
      ASSERT_EQ(a, b) << "step " << step;
      ASSERT_EQ(ra->reward, rb->reward);
      ASSERT_EQ(ra->terminated, rb->terminated);
      ASSERT_EQ(ra->truncated, rb->truncated);
      if (ra->terminated || ra->truncated) {
        rendered->ResetRaw(a.data());
        twin->ResetRaw(b.data());
        ASSERT_EQ(a, b);
      }
    }
  }
}

TEST(MinAtarRenderTest, FixedStateRendersToPinnedChecksum) {
  for (const Game& game : Games()) {
    std::unique_ptr<GameEnv> env = Played(game.make(1));
    const RgbImage image = Render(*env, 64, 48, game.name + "_64x48");
    EXPECT_EQ(render::Fnv1a(image.rgb), game.checksum)
        << game.name << ": 0x" << std::hex << render::Fnv1a(image.rgb);
  }
}

TEST(MinAtarRenderTest, OnePixelAndLargeImagesRender) {
  for (const Game& game : Games()) {
    std::unique_ptr<GameEnv> env = Played(game.make(1));
    EXPECT_EQ(Render(*env, 1, 1).rgb.size(), 3u) << game.name;
    EXPECT_EQ(Render(*env, 480, 480, game.name + "_480x480").rgb.size(), 480u * 480 * 3) << game.name;
    Render(*env, 84, 84, game.name + "_84x84");
  }
}

// A Breakout board with one of each object in a known cell.
std::unique_ptr<Breakout> BreakoutWithKnownBoard() {
  std::unique_ptr<Breakout> env = Breakout::Create(0, 1).value();
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_bytes()));
  env->ResetRaw(obs.data());
  Breakout::State state;
  state.ball_y = 5;
  state.ball_x = 2;
  state.last_y = 4;
  state.last_x = 1;
  state.paddle_x = 7;
  state.bricks[1][8] = true;
  env->SetStateForTesting(state);
  return env;
}

TEST(MinAtarRenderTest, EachCellTakesItsObjectsChannelColour) {
  std::unique_ptr<Breakout> env = BreakoutWithKnownBoard();
  const RgbImage image = Render(*env, 100, 100, "Breakout_known_board");
  // Cell (row, col) covers pixels [10 col, 10 col + 10) x [10 row, ...).
  const auto cell_is = [&](int row, int col, render::Rgb colour) {
    for (int y = 10 * row; y < 10 * row + 10; ++y) {
      for (int x = 10 * col; x < 10 * col + 10; ++x) {
        if (!Is(image, x, y, colour)) return false;
      }
    }
    return true;
  };
  EXPECT_TRUE(cell_is(5, 2, GameEnv::ChannelColour(Breakout::kBallChannel)));
  EXPECT_TRUE(cell_is(4, 1, GameEnv::ChannelColour(Breakout::kTrailChannel)));
  EXPECT_TRUE(cell_is(9, 7, GameEnv::ChannelColour(Breakout::kPaddleChannel)));
  EXPECT_TRUE(cell_is(1, 8, GameEnv::ChannelColour(Breakout::kBrickChannel)));
  EXPECT_TRUE(cell_is(5, 3, GameEnv::kBackground));
  EXPECT_TRUE(cell_is(0, 0, GameEnv::kBackground));
}

TEST(MinAtarRenderTest, HighestChannelOnACellWins) {
  std::unique_ptr<Breakout> env = BreakoutWithKnownBoard();
  Breakout::State state = env->state();
  state.last_y = state.ball_y;  // the trail (channel 2) under the ball (1)
  state.last_x = state.ball_x;
  env->SetStateForTesting(state);
  const RgbImage image = Render(*env, 10, 10);
  EXPECT_TRUE(Is(image, 2, 5, GameEnv::ChannelColour(Breakout::kTrailChannel)));
}

TEST(MinAtarRenderTest, CellBoundariesFallAtFloorOfCellTimesSizeOverTen) {
  std::unique_ptr<Breakout> env = BreakoutWithKnownBoard();
  const RgbImage image = Render(*env, 37, 23);
  const render::Rgb ball = GameEnv::ChannelColour(Breakout::kBallChannel);
  // Column 2: x in [floor(74 / 10), floor(111 / 10)) = [7, 11); row 5:
  // y in [floor(115 / 10), floor(138 / 10)) = [11, 13).
  for (int y = 0; y < 23; ++y) {
    for (int x = 0; x < 37; ++x) {
      const bool in_ball_cell = x >= 7 && x < 11 && y >= 11 && y < 13;
      EXPECT_EQ(Is(image, x, y, ball), in_ball_cell) << x << "," << y;
    }
  }
}

TEST(MinAtarRenderTest, OnePixelImageShowsTheBottomRightCell) {
  // Under 10 pixels a side, cells 0..8 cover none and cell 9 covers pixel 0.
  std::unique_ptr<Breakout> env = BreakoutWithKnownBoard();
  Breakout::State state = env->state();
  state.paddle_x = 9;
  env->SetStateForTesting(state);
  EXPECT_TRUE(Is(Render(*env, 1, 1), 0, 0, GameEnv::ChannelColour(Breakout::kPaddleChannel)));
  state.paddle_x = 8;
  env->SetStateForTesting(state);
  EXPECT_TRUE(Is(Render(*env, 1, 1), 0, 0, GameEnv::kBackground));
}

}  // namespace
}  // namespace rill::envs::minatar
