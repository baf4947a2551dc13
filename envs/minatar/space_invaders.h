// SpaceInvaders: MinAtar's Space Invaders ("MinAtar/SpaceInvaders-v1"). A
// cannon on the bottom row shoots upwards (one shot per 5 steps) at a 4x6
// block of aliens that marches sideways, steps down a row and turns at the
// edges, and fires at the cannon from the lowest alien of the column
// nearest to it every 10 steps. The aliens move every 12 steps, or every
// n steps while only n < 12 are left; a cleared wave is replaced by a new
// one, one step per move faster than the last down to 6 (the difficulty
// ramp). +1 per alien shot; terminated when an alien or an alien's bullet
// reaches the cannon, or an alien row reaches the bottom at a turn.
//
// Actions (minimal set): 0 no-op, 1 left, 2 right, 3 fire.
// Channels: 0 cannon, 1 alien, 2 alien moving left, 3 alien moving right,
// 4 cannon's bullet, 5 alien's bullet.
//
// Not thread-safe (see Env).
#ifndef RILL_ENVS_MINATAR_SPACE_INVADERS_H_
#define RILL_ENVS_MINATAR_SPACE_INVADERS_H_

#include <array>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "envs/minatar/game_env.h"

namespace rill::envs::minatar {

class SpaceInvaders final : public GameEnv {
 public:
  static constexpr int kChannels = 6;
  static constexpr int kCannonChannel = 0;
  static constexpr int kAlienChannel = 1;
  static constexpr int kAlienLeftChannel = 2;
  static constexpr int kAlienRightChannel = 3;
  static constexpr int kCannonBulletChannel = 4;
  static constexpr int kAlienBulletChannel = 5;

  static constexpr int kShotCoolDown = 5;
  static constexpr int kAlienMoveInterval = 12;  // of a first wave
  static constexpr int kFastestAlienMoveInterval = 6;  // the ramp stops there
  static constexpr int kAlienShotInterval = 10;

  using Grid = std::array<std::array<bool, kGridSize>, kGridSize>;  // [row][col]

  // Everything that decides the game's future.
  struct State {
    int cannon_x = 5;
    Grid cannon_bullets{};
    Grid alien_bullets{};
    Grid aliens{};
    int alien_dir = -1;  // -1 left, +1 right
    // Steps between alien moves for the current wave (before the "few
    // aliens left" speed-up).
    int alien_move_interval = kAlienMoveInterval;
    int alien_move_timer = kAlienMoveInterval;
    int alien_shot_timer = kAlienShotInterval;
    int shot_timer = 0;  // steps until the cannon may fire again
    int ramp_index = 0;  // waves that came faster than the one before
  };

  // `max_episode_steps`: 0 = GameEnv::kDefaultMaxEpisodeSteps. Returns
  // InvalidArgument if negative.
  static absl::StatusOr<std::unique_ptr<SpaceInvaders>> Create(int max_episode_steps, uint64_t seed);
  static EnvSpec Spec();

  const State& state() const { return state_; }
  // For tests: replaces the state of the open episode (call after Reset).
  void SetStateForTesting(const State& state) { state_ = state; }

  // The first wave's (and every later wave's) aliens: rows 0-3, columns 2-7.
  static void FillWave(Grid* aliens);

 private:
  SpaceInvaders(int max_episode_steps, uint64_t seed);

  void NewGame() override;
  Outcome Act(Action action) override;
  void Draw(Frame* frame) const override;

  State state_;
};

}  // namespace rill::envs::minatar

#endif  // RILL_ENVS_MINATAR_SPACE_INVADERS_H_
