#include "envs/minatar/space_invaders.h"

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
constexpr float kFire = 3;
constexpr int kNever = 1000000;  // a timer that does not run out in a test

using Grid = SpaceInvaders::Grid;

std::unique_ptr<SpaceInvaders> Started() { return StartedGame<SpaceInvaders>(); }

// A quiet board: the given aliens only, no bullets, and alien timers that
// do not run out.
SpaceInvaders::State Quiet(std::vector<std::pair<int, int>> aliens) {
  SpaceInvaders::State state;
  for (const auto& cell : aliens) state.aliens[cell.first][cell.second] = true;
  state.alien_move_timer = kNever;
  state.alien_shot_timer = kNever;
  return state;
}

int Count(const Grid& grid) {
  int n = 0;
  for (const auto& row : grid) {
    for (bool cell : row) n += cell;
  }
  return n;
}

TEST(SpaceInvadersTest, StartsWithFourRowsOfSixAliensHeadingLeft) {
  auto env = Started();
  const SpaceInvaders::State& s = env->state();
  EXPECT_EQ(s.cannon_x, 5);
  EXPECT_EQ(s.alien_dir, -1);
  EXPECT_EQ(Count(s.aliens), 24);
  for (int row = 0; row < 4; ++row) {
    for (int col = 2; col < 8; ++col) EXPECT_TRUE(s.aliens[row][col]);
  }
  EXPECT_EQ(s.alien_move_timer, 12);
  EXPECT_EQ(s.alien_shot_timer, 10);
  std::vector<uint8_t> obs(600);
  env->WriteObservation(obs.data());
  auto at = [&](int c, int row, int col) { return obs[static_cast<size_t>((c * 10 + row) * 10 + col)]; };
  EXPECT_EQ(at(SpaceInvaders::kCannonChannel, 9, 5), 255);
  EXPECT_EQ(at(SpaceInvaders::kAlienChannel, 0, 2), 255);
  EXPECT_EQ(at(SpaceInvaders::kAlienLeftChannel, 3, 7), 255);
  EXPECT_EQ(at(SpaceInvaders::kAlienRightChannel, 3, 7), 0);
}

TEST(SpaceInvadersTest, CannonFiresOncePerFiveStepsAndTheBulletRisesARowAStep) {
  auto env = Started();
  env->SetStateForTesting(Quiet({{0, 0}}));
  Play(env.get(), kFire);
  EXPECT_TRUE(env->state().cannon_bullets[8][5]);
  int fired = 1;
  for (int step = 2; step <= 11; ++step) {
    const int before = Count(env->state().cannon_bullets);
    Play(env.get(), kFire);
    if (Count(env->state().cannon_bullets) > before || env->state().cannon_bullets[8][5]) {
      ++fired;
      EXPECT_TRUE(step == 6 || step == 11) << "fired on step " << step;
    }
  }
  EXPECT_EQ(fired, 3);
  // The first bullet has risen ten rows since: it left at the top.
  EXPECT_EQ(Count(env->state().cannon_bullets), 2);
}

TEST(SpaceInvadersTest, FireWhileCoolingDoesNotMoveTheCannon) {
  auto env = Started();
  SpaceInvaders::State state = Quiet({{0, 0}});
  state.shot_timer = 3;
  env->SetStateForTesting(state);
  Play(env.get(), kFire);
  EXPECT_EQ(env->state().cannon_x, 5);
  EXPECT_EQ(Count(env->state().cannon_bullets), 0);
  EXPECT_EQ(env->state().shot_timer, 2);
  Play(env.get(), kLeft);
  EXPECT_EQ(env->state().cannon_x, 4);
}

TEST(SpaceInvadersTest, ShootingAnAlienScoresOneAndRemovesBoth) {
  auto env = Started();
  SpaceInvaders::State state = Quiet({{5, 3}, {0, 0}});
  state.cannon_bullets[6][3] = true;
  env->SetStateForTesting(state);
  const StepResult result = Play(env.get(), kNoop);
  EXPECT_EQ(result.reward, 1);
  EXPECT_FALSE(env->state().aliens[5][3]);
  EXPECT_EQ(Count(env->state().cannon_bullets), 0);
  EXPECT_EQ(Count(env->state().aliens), 1);
}

TEST(SpaceInvadersTest, AliensMarchSidewaysThenStepDownAndTurnAtTheEdge) {
  auto env = Started();
  SpaceInvaders::State state = Quiet({{2, 1}, {3, 4}});
  state.alien_move_timer = 0;
  env->SetStateForTesting(state);
  Play(env.get(), kNoop);
  EXPECT_TRUE(env->state().aliens[2][0]);
  EXPECT_TRUE(env->state().aliens[3][3]);
  EXPECT_EQ(env->state().alien_dir, -1);
  // With two aliens left they move every two steps.
  EXPECT_EQ(env->state().alien_move_timer, 1);
  Play(env.get(), kNoop);
  Play(env.get(), kNoop);
  EXPECT_TRUE(env->state().aliens[3][0]);
  EXPECT_TRUE(env->state().aliens[4][3]);
  EXPECT_EQ(env->state().alien_dir, 1);
  std::vector<uint8_t> obs(600);
  env->WriteObservation(obs.data());
  auto at = [&](int c, int row, int col) { return obs[static_cast<size_t>((c * 10 + row) * 10 + col)]; };
  EXPECT_EQ(at(SpaceInvaders::kAlienRightChannel, 3, 0), 255);
  EXPECT_EQ(at(SpaceInvaders::kAlienLeftChannel, 3, 0), 0);
}

TEST(SpaceInvadersTest, AMoveTimerIsTheSmallerOfTheAliensLeftAndTheWaveInterval) {
  auto env = Started();
  std::vector<std::pair<int, int>> many;
  for (int col = 1; col < 9; ++col) many.push_back({0, col});
  for (int col = 1; col < 9; ++col) many.push_back({1, col});
  SpaceInvaders::State state = Quiet(many);  // 16 aliens
  state.alien_move_timer = 0;
  state.alien_move_interval = 9;
  env->SetStateForTesting(state);
  Play(env.get(), kNoop);
  EXPECT_EQ(env->state().alien_move_timer, 9 - 1);
}

TEST(SpaceInvadersTest, TheLowestAlienOfTheNearestColumnFiresTheLeftOneOnATie) {
  auto env = Started();
  // Columns 3 and 7 are both two away from the cannon in column 5.
  SpaceInvaders::State state = Quiet({{2, 3}, {4, 3}, {6, 7}});
  state.alien_shot_timer = 0;
  env->SetStateForTesting(state);
  Play(env.get(), kNoop);
  EXPECT_TRUE(env->state().alien_bullets[4][3]);
  EXPECT_EQ(Count(env->state().alien_bullets), 1);
  EXPECT_EQ(env->state().alien_shot_timer, 9);
  // It falls a row a step.
  Play(env.get(), kNoop);
  EXPECT_TRUE(env->state().alien_bullets[5][3]);
}

TEST(SpaceInvadersTest, AnAlienBulletReachingTheCannonEndsTheGame) {
  auto env = Started();
  SpaceInvaders::State state = Quiet({{0, 0}});
  state.alien_bullets[8][5] = true;
  env->SetStateForTesting(state);
  EXPECT_TRUE(Play(env.get(), kNoop).terminated);

  env = Started();
  state.alien_bullets[8][5] = false;
  state.alien_bullets[8][6] = true;
  env->SetStateForTesting(state);
  EXPECT_FALSE(Play(env.get(), kNoop).terminated);
  // The bullet drops off the board as the cannon moves under it.
  EXPECT_FALSE(Play(env.get(), kRight).terminated);
}

TEST(SpaceInvadersTest, AnAlienReachingTheCannonEndsTheGame) {
  auto env = Started();
  SpaceInvaders::State state = Quiet({{9, 6}});
  state.alien_move_timer = 0;
  env->SetStateForTesting(state);
  // The alien in row 9 moves left onto the cannon in column 5.
  EXPECT_TRUE(Play(env.get(), kNoop).terminated);
}

TEST(SpaceInvadersTest, AliensTurningOnTheBottomRowEndTheGame) {
  auto env = Started();
  SpaceInvaders::State state = Quiet({{9, 0}});
  state.alien_move_timer = 0;
  env->SetStateForTesting(state);
  EXPECT_TRUE(Play(env.get(), kNoop).terminated);
}

TEST(SpaceInvadersTest, ClearingAWaveBringsAFasterOneDownToEveryStepsSix) {
  auto env = Started();
  SpaceInvaders::State state = Quiet({{5, 3}});
  state.cannon_bullets[6][3] = true;
  env->SetStateForTesting(state);
  EXPECT_EQ(Play(env.get(), kNoop).reward, 1);
  EXPECT_EQ(Count(env->state().aliens), 24);
  EXPECT_EQ(env->state().alien_move_interval, 11);
  EXPECT_EQ(env->state().ramp_index, 1);

  state.alien_move_interval = 6;
  state.ramp_index = 6;
  env->SetStateForTesting(state);
  EXPECT_EQ(Play(env.get(), kNoop).reward, 1);
  EXPECT_EQ(env->state().alien_move_interval, 6);
  EXPECT_EQ(env->state().ramp_index, 6);
}

TEST(SpaceInvadersTest, FirstAlienMoveComesOnStepThirteenAndFirstShotOnStepEleven) {
  auto env = Started();
  for (int step = 1; step <= 10; ++step) Play(env.get(), kNoop);
  EXPECT_EQ(Count(env->state().alien_bullets), 0);
  Play(env.get(), kNoop);  // 11
  EXPECT_EQ(Count(env->state().alien_bullets), 1);
  EXPECT_TRUE(env->state().aliens[0][2]);
  Play(env.get(), kNoop);  // 12
  EXPECT_TRUE(env->state().aliens[0][2]);
  Play(env.get(), kNoop);  // 13
  EXPECT_FALSE(env->state().aliens[0][7]);
  EXPECT_TRUE(env->state().aliens[0][1]);
}

}  // namespace
}  // namespace rill::envs::minatar
