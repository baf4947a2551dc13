// Seaquest: MinAtar's Seaquest ("MinAtar/Seaquest-v1"), as of MinAtar
// 1.0.15 (the oxygen gauge no longer flashes full before running out).
//
// The player's submarine (a front and a back cell, rows 0-8) shoots
// sideways from its front (one shot per 5 steps). Enemy fish and enemy
// submarines (one in three) enter rows 1-8 from either edge every
// `enemy_spawn_speed` steps (20 at first; never into a row where something
// heads the other way) and move one cell every `move_speed` + 1 steps (5 at
// first); enemy submarines fire a bullet every 11 steps. Divers enter every
// 30 steps and move one cell every 6; touching one picks it up (up to 6).
// Oxygen (200) falls by one per step below the surface. +1 per enemy shot.
// Surfacing (reaching row 0 from below) with a diver on board drops one
// diver (all six, plus a reward of oxygen * 10 / 200, when six are on
// board), refills the oxygen and takes one step of the difficulty ramp:
// enemy_spawn_speed falls by one (down to 1) and, every second ramp step,
// move_speed too (down to 2). Terminated by touching an enemy or an enemy
// bullet, by running out of oxygen, or by surfacing with no diver.
//
// MinAtar's own arithmetic is kept where it is surprising: surfacing with
// six divers leaves the count at -1 (six removed, then one more), so the
// next surfacings do not end the game until a diver is picked up again;
// and the loops over each kind of object run in MinAtar's order, last
// spawned first, with Python's list semantics (remove() takes the first
// equal element) where a removal happens mid-loop.
//
// Actions (minimal set, all six): 0 no-op, 1 left, 2 up, 3 right, 4 down,
// 5 fire.
// Channels: 0 submarine front, 1 submarine back, 2 player's bullet, 3 trail
// (the cell behind a fish, enemy submarine or diver), 4 enemy bullet,
// 5 enemy fish, 6 enemy submarine, 7 oxygen gauge (row 9 from the left, one
// cell per 20 oxygen), 8 diver gauge (row 9, ending in column 8, one cell
// per diver), 9 diver.
//
// Not thread-safe (see Env).
#ifndef RILL_ENVS_MINATAR_SEAQUEST_H_
#define RILL_ENVS_MINATAR_SEAQUEST_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/minatar/game_env.h"

namespace rill::envs::minatar {

class Seaquest final : public GameEnv {
 public:
  static constexpr int kChannels = 10;
  static constexpr int kSubFrontChannel = 0;
  static constexpr int kSubBackChannel = 1;
  static constexpr int kPlayerBulletChannel = 2;
  static constexpr int kTrailChannel = 3;
  static constexpr int kEnemyBulletChannel = 4;
  static constexpr int kFishChannel = 5;
  static constexpr int kEnemySubChannel = 6;
  static constexpr int kOxygenChannel = 7;
  static constexpr int kDiverGaugeChannel = 8;
  static constexpr int kDiverChannel = 9;

  static constexpr int kMaxOxygen = 200;
  static constexpr int kInitialSpawnSpeed = 20;
  static constexpr int kDiverSpawnSpeed = 30;
  static constexpr int kInitialMoveSpeed = 5;
  static constexpr int kShotCoolDown = 5;
  static constexpr int kEnemyShotInterval = 10;
  static constexpr int kDiverMoveInterval = 5;
  static constexpr int kMaxDivers = 6;

  // A bullet, the player's or an enemy submarine's.
  struct Bullet {
    int x = 0;
    int y = 0;
    bool rightwards = false;
    bool operator==(const Bullet& o) const { return x == o.x && y == o.y && rightwards == o.rightwards; }
  };
  // An enemy fish or a diver.
  struct Swimmer {
    int x = 0;
    int y = 0;
    bool rightwards = false;
    int move_timer = 0;
    bool operator==(const Swimmer& o) const {
      return x == o.x && y == o.y && rightwards == o.rightwards && move_timer == o.move_timer;
    }
  };
  struct EnemySub {
    int x = 0;
    int y = 0;
    bool rightwards = false;
    int move_timer = 0;
    int shot_timer = 0;
    bool operator==(const EnemySub& o) const {
      return x == o.x && y == o.y && rightwards == o.rightwards && move_timer == o.move_timer &&
             shot_timer == o.shot_timer;
    }
  };

  // Everything that decides the game's future. Each list is in spawn
  // order, as MinAtar keeps it.
  struct State {
    int oxygen = kMaxOxygen;
    int diver_count = 0;
    int sub_x = 5;
    int sub_y = 0;
    bool facing_right = false;
    std::vector<Bullet> player_bullets;
    std::vector<Bullet> enemy_bullets;
    std::vector<Swimmer> fish;
    std::vector<EnemySub> enemy_subs;
    std::vector<Swimmer> divers;
    int enemy_spawn_speed = kInitialSpawnSpeed;
    int enemy_spawn_timer = kInitialSpawnSpeed;
    int diver_spawn_timer = kDiverSpawnSpeed;
    int move_speed = kInitialMoveSpeed;
    int ramp_index = 0;
    int shot_timer = 0;  // steps until the player may fire again
    // Whether the submarine has been at the surface since it last surfaced
    // (true at the start): only coming up from below counts.
    bool surfaced = true;
  };

  // `max_episode_steps`: 0 = GameEnv::kDefaultMaxEpisodeSteps. Returns
  // InvalidArgument if negative.
  static absl::StatusOr<std::unique_ptr<Seaquest>> Create(int max_episode_steps, uint64_t seed);
  static EnvSpec Spec();

  const State& state() const { return state_; }
  // For tests: replaces the state of the open episode (call after Reset).
  void SetStateForTesting(const State& state) { state_ = state; }

 private:
  Seaquest(int max_episode_steps, uint64_t seed);

  void NewGame() override;
  Outcome Act(Action action) override;
  void Draw(Frame* frame) const override;

  void SpawnEnemy();
  void SpawnDiver();
  // Each moves one kind of object and resolves what it meets.
  void MovePlayerBullets(Outcome* outcome);
  void MoveDivers();
  void MoveEnemySubs(Outcome* outcome);
  void MoveEnemyBullets(Outcome* outcome);
  void MoveFish(Outcome* outcome);
  // Reaching the surface with divers on board: returns the reward.
  int Surface();

  bool AtSub(int x, int y) const { return x == state_.sub_x && y == state_.sub_y; }

  State state_;
};

}  // namespace rill::envs::minatar

#endif  // RILL_ENVS_MINATAR_SEAQUEST_H_
