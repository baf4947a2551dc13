// Breakout: MinAtar's Breakout ("MinAtar/Breakout-v1"). A paddle on the
// bottom row bounces a ball that moves one cell diagonally per step; three
// rows of bricks (rows 1-3) sit at the top and come back whole once all are
// gone and the ball next reaches the paddle's row. +1 per brick broken;
// terminated when the ball reaches the bottom row and misses the paddle. No
// difficulty ramp.
//
// Actions (minimal set): 0 no-op, 1 left, 2 right.
// Channels: 0 paddle, 1 ball, 2 trail (the ball's previous cell), 3 brick.
//
// Not thread-safe (see Env).
#ifndef RILL_ENVS_MINATAR_BREAKOUT_H_
#define RILL_ENVS_MINATAR_BREAKOUT_H_

#include <array>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "envs/minatar/game_env.h"

namespace rill::envs::minatar {

class Breakout final : public GameEnv {
 public:
  static constexpr int kChannels = 4;
  static constexpr int kPaddleChannel = 0;
  static constexpr int kBallChannel = 1;
  static constexpr int kTrailChannel = 2;
  static constexpr int kBrickChannel = 3;

  // The ball's heading, as MinAtar numbers it (rows grow downwards).
  enum Direction { kUpLeft = 0, kUpRight = 1, kDownRight = 2, kDownLeft = 3 };

  // Everything that decides the game's future.
  struct State {
    int ball_x = 0;
    int ball_y = 3;
    int ball_dir = kDownRight;
    int paddle_x = 4;
    // The ball's cell before the last step.
    int last_x = 0;
    int last_y = 3;
    // Set when the ball breaks a brick and kept while each step's move meets
    // a brick: while set, the ball passes into bricks without breaking them
    // or bouncing. Cleared by the first move that meets no brick.
    bool strike = false;
    // bricks[row][col].
    std::array<std::array<bool, kGridSize>, kGridSize> bricks{};
  };

  // `max_episode_steps`: 0 = GameEnv::kDefaultMaxEpisodeSteps. Returns
  // InvalidArgument if negative.
  static absl::StatusOr<std::unique_ptr<Breakout>> Create(int max_episode_steps, uint64_t seed);
  static EnvSpec Spec();

  const State& state() const { return state_; }
  // For tests: replaces the state of the open episode (call after Reset).
  void SetStateForTesting(const State& state) { state_ = state; }

 private:
  Breakout(int max_episode_steps, uint64_t seed);

  // The start state: ball on row 3 at the left edge heading down-right or
  // at the right edge heading down-left (equally likely), paddle in column
  // 4, bricks on rows 1-3.
  void NewGame() override;
  Outcome Act(Action action) override;
  void Draw(Frame* frame) const override;

  State state_;
};

}  // namespace rill::envs::minatar

#endif  // RILL_ENVS_MINATAR_BREAKOUT_H_
