// Freeway: MinAtar's Freeway ("MinAtar/Freeway-v1"). A chicken in column 4
// crosses eight lanes (rows 1-8) of cars from the bottom row to the top; it
// may move one row per 3 steps. Each car wraps around the screen, moving one
// cell every speed + 1 steps, speed in 1..5 drawn with a direction per car
// at the start and again each time the chicken gets across. +1 per crossing
// (the chicken goes back to the bottom); a car that meets the chicken also
// sends it back to the bottom. Terminated after 2500 steps (on the 2501st),
// as MinAtar does: a game over, not a time limit. No difficulty ramp.
//
// Actions (minimal set): 0 no-op, 1 up, 2 down.
// Channels: 0 chicken, 1 car, 2-6 the trail (the cell behind a car) of a car
// of speed 1-5.
//
// Not thread-safe (see Env).
#ifndef RILL_ENVS_MINATAR_FREEWAY_H_
#define RILL_ENVS_MINATAR_FREEWAY_H_

#include <array>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "envs/minatar/game_env.h"

namespace rill::envs::minatar {

class Freeway final : public GameEnv {
 public:
  static constexpr int kChannels = 7;
  static constexpr int kChickenChannel = 0;
  static constexpr int kCarChannel = 1;
  static constexpr int kFirstSpeedChannel = 2;  // speed s: channel 1 + s

  static constexpr int kChickenColumn = 4;
  static constexpr int kPlayerSpeed = 3;  // steps per chicken move
  static constexpr int kTimeLimit = 2500;  // MinAtar's own game length
  static constexpr int kCars = 8;

  struct Car {
    int x = 0;
    int y = 0;  // lane i (0-based) is row i + 1
    int timer = 0;  // steps until the next move
    int speed = 1;  // +-(1..5): the sign is the direction (+ rightwards)
  };

  // Everything that decides the game's future.
  struct State {
    int chicken_y = kGridSize - 1;
    std::array<Car, kCars> cars{};
    int move_timer = kPlayerSpeed;  // steps until the chicken may move
    int terminate_timer = kTimeLimit;
  };

  // `max_episode_steps`: 0 = GameEnv::kDefaultMaxEpisodeSteps. Returns
  // InvalidArgument if negative.
  static absl::StatusOr<std::unique_ptr<Freeway>> Create(int max_episode_steps, uint64_t seed);
  static EnvSpec Spec();

  const State& state() const { return state_; }
  // For tests: replaces the state of the open episode (call after Reset).
  void SetStateForTesting(const State& state) { state_ = state; }

 private:
  Freeway(int max_episode_steps, uint64_t seed);

  // Cars at the left edge with fresh speeds; the chicken at the bottom.
  void NewGame() override;
  Outcome Act(Action action) override;
  void Draw(Frame* frame) const override;

  // New speeds and directions for every car (their timers restart at the
  // new speed); their places stay.
  void RandomizeCars();

  State state_;
};

}  // namespace rill::envs::minatar

#endif  // RILL_ENVS_MINATAR_FREEWAY_H_
