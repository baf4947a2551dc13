#include "envs/minatar/seaquest.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "envs/minatar/test_util.h"
#include "gtest/gtest.h"

namespace rill::envs::minatar {
namespace {

constexpr float kNoop = 0;
constexpr float kLeft = 1;
constexpr float kUp = 2;
constexpr float kRight = 3;
constexpr float kDown = 4;
constexpr float kFire = 5;
constexpr int kNever = 1000000;  // a timer that does not run out in a test

using Bullet = Seaquest::Bullet;
using EnemySub = Seaquest::EnemySub;
using Swimmer = Seaquest::Swimmer;

std::unique_ptr<Seaquest> Started() { return StartedGame<Seaquest>(); }

// The submarine at (x, y) below the surface, nothing else about, and no
// spawning unless the test says so.
Seaquest::State Underwater(int x = 5, int y = 4) {
  Seaquest::State state;
  state.sub_x = x;
  state.sub_y = y;
  state.surfaced = false;
  state.enemy_spawn_timer = kNever;
  state.diver_spawn_timer = kNever;
  return state;
}

TEST(SeaquestTest, StartsAtTheSurfaceWithFullOxygenAndNothingAbout) {
  auto env = Started();
  const Seaquest::State& s = env->state();
  EXPECT_EQ(s.sub_x, 5);
  EXPECT_EQ(s.sub_y, 0);
  EXPECT_FALSE(s.facing_right);
  EXPECT_EQ(s.oxygen, 200);
  EXPECT_EQ(s.diver_count, 0);
  EXPECT_TRUE(s.surfaced);
  std::vector<uint8_t> obs(1000);
  env->WriteObservation(obs.data());
  auto at = [&](int c, int row, int col) { return obs[static_cast<size_t>((c * 10 + row) * 10 + col)]; };
  EXPECT_EQ(at(Seaquest::kSubFrontChannel, 0, 5), 255);
  EXPECT_EQ(at(Seaquest::kSubBackChannel, 0, 6), 255);  // facing left
  for (int col = 0; col < 10; ++col) EXPECT_EQ(at(Seaquest::kOxygenChannel, 9, col), 255);
  int on = 0;
  for (uint8_t v : obs) on += v == 255;
  EXPECT_EQ(on, 12);
}

TEST(SeaquestTest, StayingAtTheSurfaceFromTheStartIsSafe) {
  auto env = Started();
  Seaquest::State state = env->state();
  state.enemy_spawn_timer = kNever;
  state.diver_spawn_timer = kNever;
  env->SetStateForTesting(state);
  for (int step = 0; step < 300; ++step) ASSERT_FALSE(Play(env.get(), kLeft).terminated) << step;
  EXPECT_EQ(env->state().oxygen, 200);
}

TEST(SeaquestTest, FirstEnemyEntersOnStep21AndFirstDiverOnStep31) {
  auto env = Started();
  for (int step = 1; step <= 20; ++step) Play(env.get(), kNoop);
  EXPECT_TRUE(env->state().fish.empty() && env->state().enemy_subs.empty());
  Play(env.get(), kNoop);
  EXPECT_EQ(env->state().fish.size() + env->state().enemy_subs.size(), 1u);
  for (int step = 22; step <= 30; ++step) Play(env.get(), kNoop);
  EXPECT_TRUE(env->state().divers.empty());
  Play(env.get(), kNoop);
  ASSERT_EQ(env->state().divers.size(), 1u);
  const Swimmer& diver = env->state().divers[0];
  EXPECT_EQ(diver.x, diver.rightwards ? 0 : 9);
  EXPECT_GE(diver.y, 1);
  EXPECT_LE(diver.y, 8);
}

TEST(SeaquestTest, OxygenFallsBelowTheSurfaceAndRunningOutEndsTheGameAStepLater) {
  auto env = Started();
  Seaquest::State state = Underwater();
  state.oxygen = 2;
  env->SetStateForTesting(state);
  EXPECT_FALSE(Play(env.get(), kNoop).terminated);
  EXPECT_EQ(env->state().oxygen, 1);
  EXPECT_FALSE(Play(env.get(), kNoop).terminated);
  EXPECT_EQ(env->state().oxygen, 0);
  // An empty gauge, and the game ends on the next step.
  std::vector<uint8_t> obs(1000);
  env->WriteObservation(obs.data());
  for (int col = 0; col < 10; ++col) EXPECT_EQ(obs[(Seaquest::kOxygenChannel * 10 + 9) * 10 + col], 0);
  EXPECT_TRUE(Play(env.get(), kNoop).terminated);
}

TEST(SeaquestTest, SurfacingWithNoDiverEndsTheGame) {
  auto env = Started();
  env->SetStateForTesting(Underwater(5, 1));
  const StepResult result = Play(env.get(), kUp);
  EXPECT_TRUE(result.terminated);
  EXPECT_EQ(result.reward, 0);
}

TEST(SeaquestTest, SurfacingWithSomeDiversDropsOneRefillsOxygenAndRamps) {
  auto env = Started();
  Seaquest::State state = Underwater(5, 1);
  state.diver_count = 2;
  state.oxygen = 50;
  env->SetStateForTesting(state);
  const StepResult result = Play(env.get(), kUp);
  EXPECT_FALSE(result.terminated);
  EXPECT_EQ(result.reward, 0);
  const Seaquest::State& s = env->state();
  EXPECT_EQ(s.diver_count, 1);
  EXPECT_EQ(s.oxygen, 200);
  EXPECT_TRUE(s.surfaced);
  EXPECT_EQ(s.ramp_index, 1);
  EXPECT_EQ(s.enemy_spawn_speed, 19);
  EXPECT_EQ(s.move_speed, 5);  // only every second ramp step
  // Staying up does not surface again; diving and coming back does.
  Play(env.get(), kNoop);
  EXPECT_EQ(env->state().diver_count, 1);
  Play(env.get(), kDown);
  EXPECT_EQ(env->state().oxygen, 199);
  Play(env.get(), kUp);
  EXPECT_EQ(env->state().diver_count, 0);
  EXPECT_EQ(env->state().ramp_index, 2);
  EXPECT_EQ(env->state().enemy_spawn_speed, 18);
  EXPECT_EQ(env->state().move_speed, 4);
}

TEST(SeaquestTest, SurfacingWithSixDiversPaysForTheOxygenLeftAndLeavesMinusOne) {
  auto env = Started();
  Seaquest::State state = Underwater(5, 1);
  state.diver_count = 6;
  state.oxygen = 151;
  env->SetStateForTesting(state);
  const StepResult result = Play(env.get(), kUp);
  EXPECT_FALSE(result.terminated);
  EXPECT_EQ(result.reward, 151 * 10 / 200);  // 7
  EXPECT_EQ(env->state().oxygen, 200);
  // MinAtar empties the load, then takes one more diver off.
  EXPECT_EQ(env->state().diver_count, -1);
  // So the next surfacing, with no diver, does not end the game.
  Play(env.get(), kDown);
  EXPECT_FALSE(Play(env.get(), kUp).terminated);
  EXPECT_EQ(env->state().diver_count, -2);
}

TEST(SeaquestTest, RampStopsAtSpawnSpeedOneAndMoveSpeedTwo) {
  auto env = Started();
  Seaquest::State state = Underwater(5, 1);
  state.diver_count = 3;
  state.enemy_spawn_speed = 1;
  state.move_speed = 2;
  state.ramp_index = 7;
  env->SetStateForTesting(state);
  Play(env.get(), kUp);
  EXPECT_EQ(env->state().enemy_spawn_speed, 1);
  EXPECT_EQ(env->state().move_speed, 2);
  EXPECT_EQ(env->state().ramp_index, 7);
}

TEST(SeaquestTest, TouchingADiverPicksItUpUpToSix) {
  auto env = Started();
  Seaquest::State state = Underwater(5, 4);
  state.divers = {{4, 4, true, 3}};
  env->SetStateForTesting(state);
  Play(env.get(), kLeft);
  EXPECT_TRUE(env->state().divers.empty());
  EXPECT_EQ(env->state().diver_count, 1);

  state.diver_count = 6;
  env->SetStateForTesting(state);
  Play(env.get(), kLeft);
  EXPECT_EQ(env->state().divers.size(), 1u);
  EXPECT_EQ(env->state().diver_count, 6);
}

TEST(SeaquestTest, DiversMoveEverySixStepsAndCanSwimIntoTheSubmarine) {
  auto env = Started();
  Seaquest::State state = Underwater(5, 4);
  state.divers = {{3, 4, true, 0}};
  env->SetStateForTesting(state);
  Play(env.get(), kNoop);
  ASSERT_EQ(env->state().divers.size(), 1u);
  EXPECT_EQ(env->state().divers[0].x, 4);
  for (int step = 0; step < 5; ++step) Play(env.get(), kNoop);
  EXPECT_EQ(env->state().divers.size(), 1u);
  Play(env.get(), kNoop);
  EXPECT_TRUE(env->state().divers.empty());
  EXPECT_EQ(env->state().diver_count, 1);
}

TEST(SeaquestTest, SubmarineFacesTheWayItLastMovedAndStaysAboveTheGauges) {
  auto env = Started();
  Seaquest::State state = Underwater(9, 8);
  env->SetStateForTesting(state);
  Play(env.get(), kRight);
  EXPECT_EQ(env->state().sub_x, 9);
  EXPECT_TRUE(env->state().facing_right);
  Play(env.get(), kDown);
  EXPECT_EQ(env->state().sub_y, 8);
  Play(env.get(), kLeft);
  EXPECT_EQ(env->state().sub_x, 8);
  EXPECT_FALSE(env->state().facing_right);
  Play(env.get(), kUp);
  EXPECT_EQ(env->state().sub_y, 7);
  EXPECT_FALSE(env->state().facing_right);  // up and down keep it
}

TEST(SeaquestTest, FiringShootsFromTheFrontOncePerFiveSteps) {
  auto env = Started();
  Seaquest::State state = Underwater(5, 4);
  state.facing_right = true;
  env->SetStateForTesting(state);
  Play(env.get(), kFire);
  ASSERT_EQ(env->state().player_bullets.size(), 1u);
  EXPECT_EQ(env->state().player_bullets[0], (Bullet{6, 4, true}));
  for (int step = 2; step <= 4; ++step) Play(env.get(), kFire);
  ASSERT_EQ(env->state().player_bullets.size(), 1u);
  EXPECT_EQ(env->state().player_bullets[0].x, 9);
  Play(env.get(), kFire);  // step 5: still cooling; the bullet leaves the board
  EXPECT_TRUE(env->state().player_bullets.empty());
  Play(env.get(), kFire);  // step 6
  ASSERT_EQ(env->state().player_bullets.size(), 1u);
  EXPECT_EQ(env->state().player_bullets[0].x, 6);
}

TEST(SeaquestTest, ShootingAFishScoresOne) {
  auto env = Started();
  Seaquest::State state = Underwater(5, 4);
  state.fish = {{4, 4, true, kNever}};
  env->SetStateForTesting(state);
  const StepResult result = Play(env.get(), kFire);  // facing left
  EXPECT_EQ(result.reward, 1);
  EXPECT_TRUE(env->state().fish.empty());
  EXPECT_TRUE(env->state().player_bullets.empty());
}

TEST(SeaquestTest, AFishIsHitBeforeASubmarineOnTheSameCell) {
  auto env = Started();
  Seaquest::State state = Underwater(5, 4);
  state.enemy_subs = {{4, 4, false, kNever, kNever}};
  state.fish = {{4, 4, false, kNever}};
  env->SetStateForTesting(state);
  const StepResult result = Play(env.get(), kFire);
  EXPECT_EQ(result.reward, 1);
  EXPECT_TRUE(env->state().fish.empty());
  EXPECT_EQ(env->state().enemy_subs.size(), 1u);
}

TEST(SeaquestTest, AnEnemyMovingOntoABulletIsShot) {
  auto env = Started();
  Seaquest::State state = Underwater(0, 8);
  state.player_bullets = {{2, 3, true}};  // moves on to column 3
  state.fish = {{4, 3, false, 0}};        // moves on to column 3 after it
  env->SetStateForTesting(state);
  const StepResult result = Play(env.get(), kNoop);
  EXPECT_EQ(result.reward, 1);
  EXPECT_TRUE(env->state().fish.empty());
  EXPECT_TRUE(env->state().player_bullets.empty());
}

TEST(SeaquestTest, TouchingAFishOrASubmarineEndsTheGame) {
  auto env = Started();
  Seaquest::State state = Underwater(5, 4);
  state.fish = {{4, 4, true, kNever}};
  env->SetStateForTesting(state);
  EXPECT_TRUE(Play(env.get(), kLeft).terminated);

  env = Started();
  state = Underwater(5, 4);
  state.enemy_subs = {{6, 4, false, 0, kNever}};
  env->SetStateForTesting(state);
  EXPECT_TRUE(Play(env.get(), kNoop).terminated);
}

TEST(SeaquestTest, EnemySubmarinesFireEveryElevenStepsAndTheirBulletsKill) {
  auto env = Started();
  Seaquest::State state = Underwater(5, 8);
  state.enemy_subs = {{0, 2, true, kNever, 0}};
  env->SetStateForTesting(state);
  Play(env.get(), kNoop);
  ASSERT_EQ(env->state().enemy_bullets.size(), 1u);
  EXPECT_EQ(env->state().enemy_bullets[0], (Bullet{1, 2, true}));  // fired and moved
  for (int step = 2; step <= 11; ++step) Play(env.get(), kNoop);
  EXPECT_EQ(env->state().enemy_bullets.size(), 0u);  // the first left; the next not yet fired
  Play(env.get(), kNoop);
  EXPECT_EQ(env->state().enemy_bullets.size(), 1u);

  env = Started();
  state = Underwater(5, 4);
  state.enemy_bullets = {{4, 4, true}};
  env->SetStateForTesting(state);
  EXPECT_TRUE(Play(env.get(), kNoop).terminated);
}

TEST(SeaquestTest, ASubmarineShotOnItsMoveStillFiresItsDueBullet) {
  auto env = Started();
  Seaquest::State state = Underwater(0, 8);
  state.player_bullets = {{2, 3, true}};
  state.enemy_subs = {{4, 3, false, 0, 0}};
  env->SetStateForTesting(state);
  EXPECT_EQ(Play(env.get(), kNoop).reward, 1);
  EXPECT_TRUE(env->state().enemy_subs.empty());
  ASSERT_EQ(env->state().enemy_bullets.size(), 1u);
  EXPECT_EQ(env->state().enemy_bullets[0], (Bullet{2, 3, false}));
}

TEST(SeaquestTest, NothingEntersARowWhereSomethingHeadsTheOtherWay) {
  auto env = Started();
  Seaquest::State state = Underwater(5, 0);
  state.surfaced = true;
  for (int row = 1; row <= 8; ++row) {
    state.fish.push_back({3, row, true, kNever});
    state.fish.push_back({6, row, false, kNever});
  }
  for (int step = 0; step < 20; ++step) {
    state.enemy_spawn_timer = 0;
    env->SetStateForTesting(state);
    Play(env.get(), kNoop);
    EXPECT_EQ(env->state().fish.size(), 16u);
    EXPECT_TRUE(env->state().enemy_subs.empty());
  }
}

TEST(SeaquestTest, ObservationShowsGaugesTrailsAndEveryKind) {
  auto env = Started();
  Seaquest::State state = Underwater(0, 4);
  state.facing_right = false;  // back at column 1
  state.oxygen = 99;           // four cells
  state.diver_count = 3;       // columns 6-8
  state.player_bullets = {{5, 2, true}};
  state.enemy_bullets = {{5, 3, false}};
  state.fish = {{2, 5, true, 1}};
  state.enemy_subs = {{9, 6, true, 1, 1}};  // trail at 8
  state.divers = {{0, 7, false, 1}};        // trail at 1
  env->SetStateForTesting(state);
  std::vector<uint8_t> obs(1000);
  env->WriteObservation(obs.data());
  auto at = [&](int c, int row, int col) { return obs[static_cast<size_t>((c * 10 + row) * 10 + col)]; };
  EXPECT_EQ(at(Seaquest::kSubFrontChannel, 4, 0), 255);
  EXPECT_EQ(at(Seaquest::kSubBackChannel, 4, 1), 255);
  for (int col = 0; col < 10; ++col) {
    EXPECT_EQ(at(Seaquest::kOxygenChannel, 9, col), col < 4 ? 255 : 0) << col;
    EXPECT_EQ(at(Seaquest::kDiverGaugeChannel, 9, col), col >= 6 && col <= 8 ? 255 : 0) << col;
  }
  EXPECT_EQ(at(Seaquest::kPlayerBulletChannel, 2, 5), 255);
  EXPECT_EQ(at(Seaquest::kEnemyBulletChannel, 3, 5), 255);
  EXPECT_EQ(at(Seaquest::kFishChannel, 5, 2), 255);
  EXPECT_EQ(at(Seaquest::kTrailChannel, 5, 1), 255);
  EXPECT_EQ(at(Seaquest::kEnemySubChannel, 6, 9), 255);
  EXPECT_EQ(at(Seaquest::kTrailChannel, 6, 8), 255);
  EXPECT_EQ(at(Seaquest::kDiverChannel, 7, 0), 255);
  EXPECT_EQ(at(Seaquest::kTrailChannel, 7, 1), 255);
  int on = 0;
  for (uint8_t v : obs) on += v == 255;
  EXPECT_EQ(on, 2 + 4 + 3 + 2 + 2 + 2 + 2);
}

}  // namespace
}  // namespace rill::envs::minatar
