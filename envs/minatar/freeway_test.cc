#include "envs/minatar/freeway.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <set>
#include <vector>

#include "envs/minatar/test_util.h"
#include "gtest/gtest.h"

namespace rill::envs::minatar {
namespace {

constexpr float kNoop = 0;
constexpr float kUp = 1;
constexpr float kDown = 2;
constexpr int kNever = 1000000;  // a car timer that does not run out in a test

std::unique_ptr<Freeway> Started(uint64_t seed = 1) { return StartedGame<Freeway>(seed); }

// Every car parked at the left edge (column 0) for good.
Freeway::State ParkedCars() {
  Freeway::State state;
  for (int i = 0; i < Freeway::kCars; ++i) state.cars[i] = {0, i + 1, kNever, 1};
  return state;
}

TEST(FreewayTest, StartsAtTheBottomWithCarsAtTheLeftEdgeAndRandomSpeeds) {
  std::set<int> speeds;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    auto env = Started(seed);
    const Freeway::State& s = env->state();
    EXPECT_EQ(s.chicken_y, 9);
    EXPECT_EQ(s.move_timer, 3);
    EXPECT_EQ(s.terminate_timer, 2500);
    for (int i = 0; i < Freeway::kCars; ++i) {
      const Freeway::Car& car = s.cars[i];
      EXPECT_EQ(car.x, 0);
      EXPECT_EQ(car.y, i + 1);
      EXPECT_GE(std::abs(car.speed), 1);
      EXPECT_LE(std::abs(car.speed), 5);
      EXPECT_EQ(car.timer, std::abs(car.speed));
      speeds.insert(car.speed);
    }
  }
  // Both directions and all five speeds turn up.
  EXPECT_EQ(speeds.size(), 10u);
}

TEST(FreewayTest, ChickenMovesAtMostOnceEveryThreeSteps) {
  auto env = Started();
  env->SetStateForTesting(ParkedCars());  // move_timer 3, as at the start
  std::vector<int> rows;
  for (int step = 1; step <= 10; ++step) {
    Play(env.get(), kUp);
    rows.push_back(env->state().chicken_y);
  }
  EXPECT_EQ(rows, (std::vector<int>{9, 9, 9, 8, 8, 8, 7, 7, 7, 6}));
  Freeway::State state = ParkedCars();
  state.move_timer = 0;
  env->SetStateForTesting(state);
  Play(env.get(), kDown);  // already at the bottom
  EXPECT_EQ(env->state().chicken_y, 9);
  EXPECT_EQ(env->state().move_timer, 2);
}

TEST(FreewayTest, ReachingTheTopScoresOneAndStartsOverWithNewSpeeds) {
  auto env = Started();
  Freeway::State state = ParkedCars();
  state.chicken_y = 1;
  state.move_timer = 0;
  for (Freeway::Car& car : state.cars) car.x = 7;
  env->SetStateForTesting(state);
  const StepResult result = Play(env.get(), kUp);
  EXPECT_EQ(result.reward, 1);
  EXPECT_FALSE(result.terminated);
  EXPECT_EQ(env->state().chicken_y, 9);
  bool any_changed = false;
  for (const Freeway::Car& car : env->state().cars) {
    EXPECT_GE(std::abs(car.speed), 1);
    EXPECT_LE(std::abs(car.speed), 5);
    // The timer restarts at the new speed (and counts down this step); as
    // it is at least 1, no car moves, and places stay.
    EXPECT_EQ(car.timer, std::abs(car.speed) - 1);
    EXPECT_EQ(car.x, 7);
    any_changed |= car.speed != 1;
  }
  EXPECT_TRUE(any_changed);
}

TEST(FreewayTest, ACarDrivingIntoTheChickenSendsItBackToTheBottom) {
  auto env = Started();
  Freeway::State state = ParkedCars();
  state.chicken_y = 5;
  state.cars[4] = {3, 5, 0, 2};  // lane of row 5, moving right now
  env->SetStateForTesting(state);
  const StepResult result = Play(env.get(), kNoop);
  EXPECT_EQ(result.reward, 0);
  EXPECT_FALSE(result.terminated);
  EXPECT_EQ(env->state().chicken_y, 9);
  EXPECT_EQ(env->state().cars[4].x, 4);
  EXPECT_EQ(env->state().cars[4].timer, 2);
}

TEST(FreewayTest, WalkingIntoACarSendsTheChickenBack) {
  auto env = Started();
  Freeway::State state = ParkedCars();
  state.chicken_y = 6;
  state.move_timer = 0;
  state.cars[4] = {4, 5, kNever, -1};  // standing in the chicken's column, row 5
  env->SetStateForTesting(state);
  Play(env.get(), kUp);
  EXPECT_EQ(env->state().chicken_y, 9);
}

TEST(FreewayTest, CarsWrapAroundAndMoveOnceEverySpeedPlusOneSteps) {
  auto env = Started();
  Freeway::State state = ParkedCars();
  state.cars[0] = {9, 1, 0, 3};
  state.cars[1] = {0, 2, 0, -1};
  env->SetStateForTesting(state);
  Play(env.get(), kNoop);
  EXPECT_EQ(env->state().cars[0].x, 0);
  EXPECT_EQ(env->state().cars[1].x, 9);
  for (int step = 0; step < 3; ++step) Play(env.get(), kNoop);
  EXPECT_EQ(env->state().cars[0].x, 0);  // three steps of waiting
  Play(env.get(), kNoop);
  EXPECT_EQ(env->state().cars[0].x, 1);  // the fourth moves it
  EXPECT_EQ(env->state().cars[1].x, 7);  // speed 1: every second step
}

TEST(FreewayTest, TrailChannelTellsSpeedAndSitsBehindTheCar) {
  auto env = Started();
  Freeway::State state = ParkedCars();
  state.cars[0] = {0, 1, kNever, 2};   // rightwards: trail wraps to column 9
  state.cars[1] = {0, 2, kNever, -5};  // leftwards: trail in column 1
  env->SetStateForTesting(state);
  std::vector<uint8_t> obs(700);
  env->WriteObservation(obs.data());
  auto at = [&](int c, int row, int col) { return obs[static_cast<size_t>((c * 10 + row) * 10 + col)]; };
  EXPECT_EQ(at(Freeway::kChickenChannel, 9, 4), 255);
  EXPECT_EQ(at(Freeway::kCarChannel, 1, 0), 255);
  EXPECT_EQ(at(Freeway::kFirstSpeedChannel + 1, 1, 9), 255);
  EXPECT_EQ(at(Freeway::kFirstSpeedChannel + 4, 2, 1), 255);
  EXPECT_EQ(at(Freeway::kFirstSpeedChannel + 4, 1, 9), 0);
}

TEST(FreewayTest, TheGameEndsOnStep2501) {
  auto env = Started();
  int steps = 0;
  StepResult result;
  do {
    result = Play(env.get(), kNoop);
    ++steps;
  } while (!result.terminated && !result.truncated && steps < 3000);
  EXPECT_TRUE(result.terminated);
  EXPECT_FALSE(result.truncated);
  EXPECT_EQ(steps, 2501);
}

}  // namespace
}  // namespace rill::envs::minatar
