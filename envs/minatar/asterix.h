// Asterix: MinAtar's Asterix ("MinAtar/Asterix-v1"). The player moves in
// four directions over rows 1-8. Enemies and gold enter from the left or
// right edge of a free lane (one thing per lane; rows 1-8), one every
// `spawn_speed` steps (10 at first; gold one time in three), and all of
// them move one cell every `move_speed` steps (5 at first). +1 per gold
// picked up; terminated on touching an enemy. Every 102 steps the ramp
// takes a step: spawn_speed falls by one (down to 1), and every second
// ramp step move_speed too (down to 1).
//
// Actions (minimal set): 0 no-op, 1 left, 2 up, 3 right, 4 down.
// Channels: 0 player, 1 enemy, 2 trail (the cell behind an enemy or gold),
// 3 gold.
//
// Not thread-safe (see Env).
#ifndef RILL_ENVS_MINATAR_ASTERIX_H_
#define RILL_ENVS_MINATAR_ASTERIX_H_

#include <array>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "envs/minatar/game_env.h"

namespace rill::envs::minatar {

class Asterix final : public GameEnv {
 public:
  static constexpr int kChannels = 4;
  static constexpr int kPlayerChannel = 0;
  static constexpr int kEnemyChannel = 1;
  static constexpr int kTrailChannel = 2;
  static constexpr int kGoldChannel = 3;

  static constexpr int kRampInterval = 100;  // MinAtar's figure; a ramp step comes every 102 steps
  static constexpr int kInitialSpawnSpeed = 10;
  static constexpr int kInitialMoveSpeed = 5;
  static constexpr int kLanes = 8;

  // An enemy or a piece of gold; lane i (0-based) is row i + 1.
  struct Entity {
    bool present = false;
    int x = 0;
    bool rightwards = false;
    bool gold = false;
  };

  // Everything that decides the game's future.
  struct State {
    int player_x = 5;
    int player_y = 5;
    std::array<Entity, kLanes> lanes{};
    int spawn_speed = kInitialSpawnSpeed;
    int spawn_timer = kInitialSpawnSpeed;
    int move_speed = kInitialMoveSpeed;
    int move_timer = kInitialMoveSpeed;
    int ramp_timer = kRampInterval;
    int ramp_index = 0;
  };

  // `max_episode_steps`: 0 = GameEnv::kDefaultMaxEpisodeSteps. Returns
  // InvalidArgument if negative.
  static absl::StatusOr<std::unique_ptr<Asterix>> Create(int max_episode_steps, uint64_t seed);
  static EnvSpec Spec();

  const State& state() const { return state_; }
  // For tests: replaces the state of the open episode (call after Reset).
  void SetStateForTesting(const State& state) { state_ = state; }

 private:
  Asterix(int max_episode_steps, uint64_t seed);

  void NewGame() override;
  Outcome Act(Action action) override;
  void Draw(Frame* frame) const override;

  // An enemy or gold at either edge of a random free lane (none if every
  // lane is taken; the direction and kind are drawn even then).
  void Spawn();
  // Whether the entity in `lane` is on the player's cell: gold is picked up
  // (and removed, +1), an enemy ends the game.
  void Touch(int lane, Outcome* outcome);

  State state_;
};

}  // namespace rill::envs::minatar

#endif  // RILL_ENVS_MINATAR_ASTERIX_H_
