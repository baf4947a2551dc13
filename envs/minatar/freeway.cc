#include "envs/minatar/freeway.h"

#include <algorithm>
#include <cstdlib>

#include "absl/memory/memory.h"
#include "common/status_macros.h"

namespace rill::envs::minatar {
namespace {

constexpr int kBottomRow = kGridSize - 1;

bool Hits(const Freeway::Car& car, int chicken_y) {
  return car.x == Freeway::kChickenColumn && car.y == chicken_y;
}

}  // namespace

EnvSpec Freeway::Spec() { return MakeSpec("MinAtar/Freeway-v1", kChannels, 3); }

absl::StatusOr<std::unique_ptr<Freeway>> Freeway::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new Freeway(steps, seed));
}

Freeway::Freeway(int max_episode_steps, uint64_t seed)
    : GameEnv(WithTimeLimit(Spec(), max_episode_steps), {Action::kNoop, Action::kUp, Action::kDown}, seed) {}

void Freeway::RandomizeCars() {
  // MinAtar draws the eight speeds first, then the eight directions.
  std::array<int, kCars> speeds;
  for (int& speed : speeds) speed = 1 + RandomBelow(5);
  for (int i = 0; i < kCars; ++i) {
    // numpy's sign(rand() - 0.5); the draw of exactly 0.5 (sign 0, which
    // MinAtar cannot draw a trail for) counts as rightwards.
    if (RandomUnit() < 0.5) speeds[i] = -speeds[i];
    state_.cars[i].timer = std::abs(speeds[i]);
    state_.cars[i].speed = speeds[i];
  }
}

void Freeway::NewGame() {
  state_ = State();
  for (int i = 0; i < kCars; ++i) {
    state_.cars[i].x = 0;
    state_.cars[i].y = i + 1;
  }
  RandomizeCars();
}

GameEnv::Outcome Freeway::Act(Action action) {
  State& s = state_;
  Outcome outcome;
  if (action == Action::kUp && s.move_timer == 0) {
    s.move_timer = kPlayerSpeed;
    s.chicken_y = std::max(0, s.chicken_y - 1);
  } else if (action == Action::kDown && s.move_timer == 0) {
    s.move_timer = kPlayerSpeed;
    s.chicken_y = std::min(kBottomRow, s.chicken_y + 1);
  }

  if (s.chicken_y == 0) {
    outcome.reward += 1;
    RandomizeCars();
    s.chicken_y = kBottomRow;
  }

  for (Car& car : s.cars) {
    if (Hits(car, s.chicken_y)) s.chicken_y = kBottomRow;
    if (car.timer == 0) {
      car.timer = std::abs(car.speed);
      car.x += car.speed > 0 ? 1 : -1;
      if (car.x < 0) {
        car.x = kGridSize - 1;
      } else if (car.x > kGridSize - 1) {
        car.x = 0;
      }
      if (Hits(car, s.chicken_y)) s.chicken_y = kBottomRow;
    } else {
      --car.timer;
    }
  }

  if (s.move_timer > 0) --s.move_timer;
  --s.terminate_timer;
  if (s.terminate_timer < 0) outcome.terminal = true;
  return outcome;
}

void Freeway::Draw(Frame* frame) const {
  const State& s = state_;
  frame->Set(kChickenChannel, s.chicken_y, kChickenColumn);
  for (const Car& car : s.cars) {
    frame->Set(kCarChannel, car.y, car.x);
    int back_x = car.speed > 0 ? car.x - 1 : car.x + 1;
    if (back_x < 0) {
      back_x = kGridSize - 1;
    } else if (back_x > kGridSize - 1) {
      back_x = 0;
    }
    frame->Set(kFirstSpeedChannel + std::abs(car.speed) - 1, car.y, back_x);
  }
}

}  // namespace rill::envs::minatar
