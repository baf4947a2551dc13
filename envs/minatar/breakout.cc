#include "envs/minatar/breakout.h"

#include <algorithm>

#include "absl/memory/memory.h"
#include "common/status_macros.h"

namespace rill::envs::minatar {
namespace {

constexpr int kFirstBrickRow = 1;
constexpr int kLastBrickRow = 3;
constexpr int kBottomRow = kGridSize - 1;

// The heading after bouncing off a side wall, the ceiling or a brick (the
// vertical component flips), or the paddle's corner (both flip).
constexpr int kFlipHorizontal[4] = {1, 0, 3, 2};
constexpr int kFlipVertical[4] = {3, 2, 1, 0};
constexpr int kFlipBoth[4] = {2, 3, 0, 1};

void FillBricks(Breakout::State* state) {
  for (int row = kFirstBrickRow; row <= kLastBrickRow; ++row) state->bricks[row].fill(true);
}

bool AnyBrick(const Breakout::State& state) {
  for (const auto& row : state.bricks) {
    if (std::find(row.begin(), row.end(), true) != row.end()) return true;
  }
  return false;
}

}  // namespace

EnvSpec Breakout::Spec() { return MakeSpec("MinAtar/Breakout-v1", kChannels, 3); }

absl::StatusOr<std::unique_ptr<Breakout>> Breakout::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new Breakout(steps, seed));
}

Breakout::Breakout(int max_episode_steps, uint64_t seed)
    : GameEnv(WithTimeLimit(Spec(), max_episode_steps), {Action::kNoop, Action::kLeft, Action::kRight}, seed) {}

void Breakout::NewGame() {
  state_ = State();
  if (RandomBelow(2) == 0) {
    state_.ball_x = 0;
    state_.ball_dir = kDownRight;
  } else {
    state_.ball_x = kGridSize - 1;
    state_.ball_dir = kDownLeft;
  }
  state_.ball_y = 3;
  state_.paddle_x = 4;
  state_.last_x = state_.ball_x;
  state_.last_y = state_.ball_y;
  state_.strike = false;
  FillBricks(&state_);
}

GameEnv::Outcome Breakout::Act(Action action) {
  State& s = state_;
  Outcome outcome;
  if (action == Action::kLeft) {
    s.paddle_x = std::max(0, s.paddle_x - 1);
  } else if (action == Action::kRight) {
    s.paddle_x = std::min(kGridSize - 1, s.paddle_x + 1);
  }

  s.last_x = s.ball_x;
  s.last_y = s.ball_y;
  const bool rightwards = s.ball_dir == kUpRight || s.ball_dir == kDownRight;
  const bool upwards = s.ball_dir == kUpLeft || s.ball_dir == kUpRight;
  int new_x = s.ball_x + (rightwards ? 1 : -1);
  int new_y = s.ball_y + (upwards ? -1 : 1);

  bool met_brick = false;
  if (new_x < 0 || new_x > kGridSize - 1) {
    new_x = std::clamp(new_x, 0, kGridSize - 1);
    s.ball_dir = kFlipHorizontal[s.ball_dir];
  }
  if (new_y < 0) {
    new_y = 0;
    s.ball_dir = kFlipVertical[s.ball_dir];
  } else if (s.bricks[new_y][new_x]) {
    met_brick = true;
    if (!s.strike) {
      outcome.reward += 1;
      s.strike = true;
      s.bricks[new_y][new_x] = false;
      new_y = s.last_y;
      s.ball_dir = kFlipVertical[s.ball_dir];
    }
  } else if (new_y == kBottomRow) {
    // The wall is rebuilt as the ball comes down, before the paddle decides
    // whether the game goes on.
    if (!AnyBrick(s)) FillBricks(&s);
    if (s.ball_x == s.paddle_x) {
      // The ball was right above the paddle: it bounces back up and keeps
      // its horizontal heading.
      s.ball_dir = kFlipVertical[s.ball_dir];
      new_y = s.last_y;
    } else if (new_x == s.paddle_x) {
      // The ball comes down diagonally onto the paddle: it goes back the
      // way it came.
      s.ball_dir = kFlipBoth[s.ball_dir];
      new_y = s.last_y;
    } else {
      outcome.terminal = true;
    }
  }
  if (!met_brick) s.strike = false;

  s.ball_x = new_x;
  s.ball_y = new_y;
  return outcome;
}

void Breakout::Draw(Frame* frame) const {
  const State& s = state_;
  frame->Set(kBallChannel, s.ball_y, s.ball_x);
  frame->Set(kPaddleChannel, kBottomRow, s.paddle_x);
  frame->Set(kTrailChannel, s.last_y, s.last_x);
  for (int row = 0; row < kGridSize; ++row) {
    for (int col = 0; col < kGridSize; ++col) {
      if (s.bricks[row][col]) frame->Set(kBrickChannel, row, col);
    }
  }
}

}  // namespace rill::envs::minatar
