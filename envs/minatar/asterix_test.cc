#include "envs/minatar/asterix.h"

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
constexpr int kNever = 1000000;  // a timer that does not run out in a test

std::unique_ptr<Asterix> Started() { return StartedGame<Asterix>(); }

// No spawning, no moving, no ramp, unless the test says so.
Asterix::State Frozen() {
  Asterix::State state;
  state.spawn_timer = kNever;
  state.move_timer = kNever;
  state.ramp_timer = kNever;
  return state;
}

Asterix::Entity Thing(int x, bool rightwards, bool gold) {
  Asterix::Entity entity;
  entity.present = true;
  entity.x = x;
  entity.rightwards = rightwards;
  entity.gold = gold;
  return entity;
}

int Present(const Asterix::State& state) {
  int n = 0;
  for (const Asterix::Entity& entity : state.lanes) n += entity.present;
  return n;
}

TEST(AsterixTest, TheFirstThingEntersOnStepElevenAndHasMovedOneCell) {
  auto env = Started();
  EXPECT_EQ(env->state().player_x, 5);
  EXPECT_EQ(env->state().player_y, 5);
  for (int step = 1; step <= 10; ++step) Play(env.get(), kNoop);
  EXPECT_EQ(Present(env->state()), 0);
  Play(env.get(), kNoop);
  ASSERT_EQ(Present(env->state()), 1);
  for (const Asterix::Entity& entity : env->state().lanes) {
    // Moves come on steps 6, 11, 16...: it entered and moved at once.
    if (entity.present) {
      EXPECT_EQ(entity.x, entity.rightwards ? 1 : 8);
    }
  }
}

TEST(AsterixTest, PickingUpGoldScoresOneAndRemovesIt) {
  auto env = Started();
  Asterix::State state = Frozen();
  state.lanes[4] = Thing(4, false, true);  // row 5, left of the player
  env->SetStateForTesting(state);
  const StepResult result = Play(env.get(), kLeft);
  EXPECT_EQ(result.reward, 1);
  EXPECT_FALSE(result.terminated);
  EXPECT_FALSE(env->state().lanes[4].present);
}

TEST(AsterixTest, WalkingIntoAnEnemyEndsTheGame) {
  auto env = Started();
  Asterix::State state = Frozen();
  state.lanes[3] = Thing(5, true, false);  // row 4, above the player
  env->SetStateForTesting(state);
  const StepResult result = Play(env.get(), kUp);
  EXPECT_TRUE(result.terminated);
  EXPECT_EQ(result.reward, 0);
}

TEST(AsterixTest, AnEnemyMovingOntoThePlayerEndsTheGameAndGoldMovingOnScores) {
  auto env = Started();
  Asterix::State state = Frozen();
  state.move_timer = 0;
  state.lanes[4] = Thing(4, true, false);
  env->SetStateForTesting(state);
  EXPECT_TRUE(Play(env.get(), kNoop).terminated);

  env = Started();
  state.lanes[4] = Thing(6, false, true);
  env->SetStateForTesting(state);
  const StepResult result = Play(env.get(), kNoop);
  EXPECT_FALSE(result.terminated);
  EXPECT_EQ(result.reward, 1);
}

TEST(AsterixTest, ThingsMoveEveryMoveSpeedStepsAndLeaveAtTheEdge) {
  auto env = Started();
  Asterix::State state = Frozen();
  state.move_timer = 0;
  state.move_speed = 3;
  state.lanes[0] = Thing(9, true, false);
  state.lanes[1] = Thing(2, false, true);
  env->SetStateForTesting(state);
  Play(env.get(), kNoop);
  EXPECT_FALSE(env->state().lanes[0].present);
  EXPECT_EQ(env->state().lanes[1].x, 1);
  Play(env.get(), kNoop);
  Play(env.get(), kNoop);
  EXPECT_EQ(env->state().lanes[1].x, 1);
  Play(env.get(), kNoop);
  EXPECT_EQ(env->state().lanes[1].x, 0);
}

TEST(AsterixTest, PlayerStaysOnTheLanes) {
  auto env = Started();
  Asterix::State state = Frozen();
  state.player_x = 0;
  state.player_y = 1;
  env->SetStateForTesting(state);
  Play(env.get(), kUp);
  Play(env.get(), kLeft);
  EXPECT_EQ(env->state().player_x, 0);
  EXPECT_EQ(env->state().player_y, 1);
  state.player_x = 9;
  state.player_y = 8;
  env->SetStateForTesting(state);
  Play(env.get(), kDown);
  Play(env.get(), kRight);
  EXPECT_EQ(env->state().player_x, 9);
  EXPECT_EQ(env->state().player_y, 8);
}

TEST(AsterixTest, NothingEntersWhenEveryLaneIsTaken) {
  auto env = Started();
  Asterix::State state = Frozen();
  state.player_x = 0;
  for (int lane = 0; lane < Asterix::kLanes; ++lane) state.lanes[lane] = Thing(7, false, lane % 2 == 0);
  state.spawn_timer = 0;
  env->SetStateForTesting(state);
  Play(env.get(), kNoop);
  EXPECT_EQ(Present(env->state()), 8);
  for (const Asterix::Entity& entity : env->state().lanes) EXPECT_EQ(entity.x, 7);
  EXPECT_EQ(env->state().spawn_timer, state.spawn_speed - 1);
}

TEST(AsterixTest, SpawnsFillOnlyFreeLanesAtTheEdges) {
  auto env = Started();
  Asterix::State state = Frozen();
  state.player_x = 4;
  for (int lane = 0; lane < Asterix::kLanes; ++lane) {
    if (lane != 2) state.lanes[lane] = Thing(5, false, false);
  }
  state.spawn_timer = 0;
  env->SetStateForTesting(state);
  Play(env.get(), kNoop);
  const Asterix::Entity& entered = env->state().lanes[2];
  ASSERT_TRUE(entered.present);
  EXPECT_EQ(entered.x, entered.rightwards ? 0 : 9);
}

TEST(AsterixTest, DifficultyRampsEvery102Steps) {
  auto env = Started();
  Asterix::State state = Frozen();
  state.ramp_timer = Asterix::kRampInterval;  // as at the start
  env->SetStateForTesting(state);
  for (int step = 1; step <= 101; ++step) Play(env.get(), kNoop);
  EXPECT_EQ(env->state().spawn_speed, 10);
  EXPECT_EQ(env->state().ramp_index, 0);
  Play(env.get(), kNoop);  // 102
  EXPECT_EQ(env->state().spawn_speed, 9);
  EXPECT_EQ(env->state().move_speed, 5);  // the first ramp step leaves it
  EXPECT_EQ(env->state().ramp_index, 1);
  for (int step = 103; step <= 203; ++step) Play(env.get(), kNoop);
  EXPECT_EQ(env->state().ramp_index, 1);
  Play(env.get(), kNoop);  // 204
  EXPECT_EQ(env->state().spawn_speed, 8);
  EXPECT_EQ(env->state().move_speed, 4);
  EXPECT_EQ(env->state().ramp_index, 2);
}

TEST(AsterixTest, RampStopsWhenBothSpeedsReachOne) {
  auto env = Started();
  Asterix::State state = Frozen();
  state.ramp_timer = -1;
  state.ramp_index = 9;
  state.spawn_speed = 1;
  state.move_speed = 2;
  env->SetStateForTesting(state);
  Play(env.get(), kNoop);
  EXPECT_EQ(env->state().move_speed, 1);
  EXPECT_EQ(env->state().spawn_speed, 1);
  EXPECT_EQ(env->state().ramp_index, 10);
  state = env->state();
  state.ramp_timer = -1;
  env->SetStateForTesting(state);
  Play(env.get(), kNoop);
  EXPECT_EQ(env->state().ramp_index, 10);
  EXPECT_EQ(env->state().ramp_timer, -1);
}

TEST(AsterixTest, ObservationMarksKindsAndTrails) {
  auto env = Started();
  Asterix::State state = Frozen();
  state.lanes[0] = Thing(3, true, false);  // row 1, trail at column 2
  state.lanes[7] = Thing(0, true, true);   // row 8, trail off the board
  state.lanes[6] = Thing(9, false, true);  // row 7, trail off the board
  env->SetStateForTesting(state);
  std::vector<uint8_t> obs(400);
  env->WriteObservation(obs.data());
  auto at = [&](int c, int row, int col) { return obs[static_cast<size_t>((c * 10 + row) * 10 + col)]; };
  EXPECT_EQ(at(Asterix::kPlayerChannel, 5, 5), 255);
  EXPECT_EQ(at(Asterix::kEnemyChannel, 1, 3), 255);
  EXPECT_EQ(at(Asterix::kTrailChannel, 1, 2), 255);
  EXPECT_EQ(at(Asterix::kGoldChannel, 8, 0), 255);
  EXPECT_EQ(at(Asterix::kGoldChannel, 7, 9), 255);
  int on = 0;
  for (uint8_t v : obs) on += v == 255;
  EXPECT_EQ(on, 5);
}

}  // namespace
}  // namespace rill::envs::minatar
