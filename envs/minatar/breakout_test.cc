#include "envs/minatar/breakout.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "envs/minatar/test_util.h"
#include "gtest/gtest.h"

namespace rill::envs::minatar {
namespace {

constexpr float kNoop = 0;
constexpr float kLeft = 1;
constexpr float kRight = 2;

std::unique_ptr<Breakout> Started(uint64_t seed = 1) { return StartedGame<Breakout>(seed); }

// The ball at (x, y) heading `dir`, with no bricks and the paddle in
// column 4 unless the test says otherwise.
Breakout::State Ball(int x, int y, int dir) {
  Breakout::State state;
  state.ball_x = x;
  state.ball_y = y;
  state.ball_dir = dir;
  state.last_x = x;
  state.last_y = y;
  return state;
}

int CountBricks(const Breakout::State& state) {
  int n = 0;
  for (const auto& row : state.bricks) {
    for (bool brick : row) n += brick;
  }
  return n;
}

TEST(BreakoutTest, StartsWithThreeRowsOfBricksAndTheBallAtAnEdgeOfRowThree) {
  bool seen_left = false;
  bool seen_right = false;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const std::unique_ptr<Breakout> env = Started(seed);  // outlives `s`
    const Breakout::State& s = env->state();
    EXPECT_EQ(s.ball_y, 3);
    EXPECT_EQ(s.paddle_x, 4);
    EXPECT_EQ(CountBricks(s), 30);
    for (int col = 0; col < 10; ++col) {
      EXPECT_TRUE(s.bricks[1][col] && s.bricks[2][col] && s.bricks[3][col]);
    }
    if (s.ball_x == 0) {
      EXPECT_EQ(s.ball_dir, Breakout::kDownRight);
      seen_left = true;
    } else {
      EXPECT_EQ(s.ball_x, 9);
      EXPECT_EQ(s.ball_dir, Breakout::kDownLeft);
      seen_right = true;
    }
  }
  EXPECT_TRUE(seen_left && seen_right);
}

TEST(BreakoutTest, ObservationMarksPaddleBallTrailAndBricks) {
  auto env = Started();
  Breakout::State state = Ball(6, 5, Breakout::kUpRight);
  state.last_x = 5;
  state.last_y = 6;
  state.paddle_x = 2;
  state.bricks[1][7] = true;
  env->SetStateForTesting(state);
  std::vector<uint8_t> obs(400);
  env->WriteObservation(obs.data());
  auto at = [&](int c, int row, int col) { return obs[static_cast<size_t>((c * 10 + row) * 10 + col)]; };
  EXPECT_EQ(at(0, 9, 2), 255);
  EXPECT_EQ(at(1, 5, 6), 255);
  EXPECT_EQ(at(2, 6, 5), 255);
  EXPECT_EQ(at(3, 1, 7), 255);
  int on = 0;
  for (uint8_t v : obs) on += v == 255;
  EXPECT_EQ(on, 4);
}

TEST(BreakoutTest, PaddleMovesOneCellAndStopsAtTheWalls) {
  auto env = Started();
  env->SetStateForTesting(Ball(5, 5, Breakout::kUpLeft));
  Play(env.get(), kLeft);
  EXPECT_EQ(env->state().paddle_x, 3);
  Play(env.get(), kRight);
  Play(env.get(), kRight);
  EXPECT_EQ(env->state().paddle_x, 5);
  Breakout::State state = Ball(5, 5, Breakout::kUpLeft);
  state.paddle_x = 0;
  env->SetStateForTesting(state);
  Play(env.get(), kLeft);
  EXPECT_EQ(env->state().paddle_x, 0);
  state.paddle_x = 9;
  env->SetStateForTesting(state);
  Play(env.get(), kRight);
  EXPECT_EQ(env->state().paddle_x, 9);
}

TEST(BreakoutTest, BreakingABrickScoresOneAndBouncesTheBallBack) {
  auto env = Started();
  Breakout::State state = Ball(4, 5, Breakout::kUpRight);
  state.bricks[4][5] = true;
  env->SetStateForTesting(state);
  const StepResult result = Play(env.get(), kNoop);
  EXPECT_EQ(result.reward, 1);
  EXPECT_FALSE(result.terminated);
  const Breakout::State& s = env->state();
  EXPECT_FALSE(s.bricks[4][5]);
  // Sideways on its own row, now heading down.
  EXPECT_EQ(s.ball_x, 5);
  EXPECT_EQ(s.ball_y, 5);
  EXPECT_EQ(s.ball_dir, Breakout::kDownRight);
  EXPECT_TRUE(s.strike);
  EXPECT_EQ(s.last_x, 4);
  EXPECT_EQ(s.last_y, 5);
}

TEST(BreakoutTest, RightAfterAStrikeTheBallPassesIntoABrickWithoutBreakingIt) {
  auto env = Started();
  Breakout::State state = Ball(4, 5, Breakout::kUpRight);
  state.bricks[4][5] = true;
  state.strike = true;
  env->SetStateForTesting(state);
  const StepResult result = Play(env.get(), kNoop);
  EXPECT_EQ(result.reward, 0);
  EXPECT_TRUE(env->state().bricks[4][5]);
  EXPECT_EQ(env->state().ball_x, 5);
  EXPECT_EQ(env->state().ball_y, 4);
  EXPECT_EQ(env->state().ball_dir, Breakout::kUpRight);
  EXPECT_TRUE(env->state().strike);
  // The next move meets no brick, which clears the strike.
  Play(env.get(), kNoop);
  EXPECT_FALSE(env->state().strike);
}

TEST(BreakoutTest, SideWallsAndCeilingReflectTheBall) {
  auto env = Started();
  env->SetStateForTesting(Ball(9, 5, Breakout::kUpRight));
  Play(env.get(), kNoop);
  EXPECT_EQ(env->state().ball_x, 9);
  EXPECT_EQ(env->state().ball_y, 4);
  EXPECT_EQ(env->state().ball_dir, Breakout::kUpLeft);

  env->SetStateForTesting(Ball(5, 0, Breakout::kUpLeft));
  Play(env.get(), kNoop);
  EXPECT_EQ(env->state().ball_x, 4);
  EXPECT_EQ(env->state().ball_y, 0);
  EXPECT_EQ(env->state().ball_dir, Breakout::kDownLeft);

  // The corner flips both.
  env->SetStateForTesting(Ball(0, 0, Breakout::kUpLeft));
  Play(env.get(), kNoop);
  EXPECT_EQ(env->state().ball_x, 0);
  EXPECT_EQ(env->state().ball_y, 0);
  EXPECT_EQ(env->state().ball_dir, Breakout::kDownRight);
}

TEST(BreakoutTest, BallRightAboveThePaddleBouncesUpKeepingItsHeading) {
  auto env = Started();
  env->SetStateForTesting(Ball(4, 8, Breakout::kDownRight));
  const StepResult result = Play(env.get(), kNoop);
  EXPECT_FALSE(result.terminated);
  EXPECT_EQ(env->state().ball_x, 5);
  EXPECT_EQ(env->state().ball_y, 8);
  EXPECT_EQ(env->state().ball_dir, Breakout::kUpRight);
}

TEST(BreakoutTest, BallLandingDiagonallyOnThePaddleGoesBackTheWayItCame) {
  auto env = Started();
  env->SetStateForTesting(Ball(3, 8, Breakout::kDownRight));
  const StepResult result = Play(env.get(), kNoop);
  EXPECT_FALSE(result.terminated);
  EXPECT_EQ(env->state().ball_x, 4);
  EXPECT_EQ(env->state().ball_y, 8);
  EXPECT_EQ(env->state().ball_dir, Breakout::kUpLeft);
}

TEST(BreakoutTest, MissingTheBallEndsTheGame) {
  auto env = Started();
  env->SetStateForTesting(Ball(1, 8, Breakout::kDownRight));  // paddle in column 4
  const StepResult result = Play(env.get(), kNoop);
  EXPECT_TRUE(result.terminated);
  EXPECT_EQ(result.reward, 0);
  EXPECT_EQ(env->state().ball_x, 2);
  EXPECT_EQ(env->state().ball_y, 9);
  std::vector<uint8_t> obs(400);
  const float noop = 0;
  EXPECT_EQ(env->StepRaw(&noop, obs.data()).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(BreakoutTest, ClearedWallComesBackWhenTheBallReachesThePaddleRow) {
  auto env = Started();
  env->SetStateForTesting(Ball(6, 7, Breakout::kDownLeft));  // no bricks
  Play(env.get(), kNoop);
  EXPECT_EQ(CountBricks(env->state()), 0);  // row 8: not yet
  const StepResult result = Play(env.get(), kNoop);  // row 9 beside the paddle
  EXPECT_FALSE(result.terminated);
  EXPECT_EQ(result.reward, 0);
  EXPECT_EQ(CountBricks(env->state()), 30);
  // A miss rebuilds it too, as the game ends.
  env->SetStateForTesting(Ball(0, 8, Breakout::kDownRight));
  EXPECT_TRUE(Play(env.get(), kNoop).terminated);
  EXPECT_EQ(CountBricks(env->state()), 30);
}

TEST(BreakoutTest, BricksLeftStandingAreNotRebuilt) {
  auto env = Started();
  Breakout::State state = Ball(5, 8, Breakout::kDownLeft);
  state.bricks[2][2] = true;
  env->SetStateForTesting(state);
  Play(env.get(), kNoop);
  EXPECT_EQ(CountBricks(env->state()), 1);
}

}  // namespace
}  // namespace rill::envs::minatar
