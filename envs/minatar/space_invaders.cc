#include "envs/minatar/space_invaders.h"

#include <algorithm>
#include <cstdlib>

#include "absl/memory/memory.h"
#include "common/status_macros.h"

namespace rill::envs::minatar {
namespace {

constexpr int kBottomRow = kGridSize - 1;
using Grid = SpaceInvaders::Grid;

int Count(const Grid& grid) {
  int n = 0;
  for (const auto& row : grid) n += static_cast<int>(std::count(row.begin(), row.end(), true));
  return n;
}

bool AnyInRow(const Grid& grid, int row) {
  return std::find(grid[row].begin(), grid[row].end(), true) != grid[row].end();
}

bool AnyInColumn(const Grid& grid, int col) {
  for (const auto& row : grid) {
    if (row[col]) return true;
  }
  return false;
}

// Every row moves `shift` rows down (negative: up), cyclically, as numpy's
// roll does; callers clear what wrapped around where the game drops it.
Grid RollRows(const Grid& grid, int shift) {
  Grid out;
  for (int row = 0; row < kGridSize; ++row) out[(row + shift + kGridSize) % kGridSize] = grid[row];
  return out;
}

// Every column moves `shift` columns right (negative: left), cyclically.
Grid RollColumns(const Grid& grid, int shift) {
  Grid out;
  for (int row = 0; row < kGridSize; ++row) {
    for (int col = 0; col < kGridSize; ++col) out[row][(col + shift + kGridSize) % kGridSize] = grid[row][col];
  }
  return out;
}

}  // namespace

EnvSpec SpaceInvaders::Spec() { return MakeSpec("MinAtar/SpaceInvaders-v1", kChannels, 4); }

absl::StatusOr<std::unique_ptr<SpaceInvaders>> SpaceInvaders::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new SpaceInvaders(steps, seed));
}

SpaceInvaders::SpaceInvaders(int max_episode_steps, uint64_t seed)
    : GameEnv(WithTimeLimit(Spec(), max_episode_steps),
              {Action::kNoop, Action::kLeft, Action::kRight, Action::kFire}, seed) {}

void SpaceInvaders::FillWave(Grid* aliens) {
  for (int row = 0; row < 4; ++row) {
    for (int col = 2; col < 8; ++col) (*aliens)[row][col] = true;
  }
}

void SpaceInvaders::NewGame() {
  state_ = State();
  FillWave(&state_.aliens);
}

GameEnv::Outcome SpaceInvaders::Act(Action action) {
  State& s = state_;
  Outcome outcome;

  if (action == Action::kFire && s.shot_timer == 0) {
    s.cannon_bullets[kBottomRow][s.cannon_x] = true;
    s.shot_timer = kShotCoolDown;
  } else if (action == Action::kLeft) {
    s.cannon_x = std::max(0, s.cannon_x - 1);
  } else if (action == Action::kRight) {
    s.cannon_x = std::min(kGridSize - 1, s.cannon_x + 1);
  }

  // Bullets move one row: the cannon's up (leaving at the top), the
  // aliens' down (leaving at the bottom).
  s.cannon_bullets = RollRows(s.cannon_bullets, -1);
  s.cannon_bullets[kBottomRow].fill(false);
  s.alien_bullets = RollRows(s.alien_bullets, 1);
  s.alien_bullets[0].fill(false);
  if (s.alien_bullets[kBottomRow][s.cannon_x]) outcome.terminal = true;

  if (s.aliens[kBottomRow][s.cannon_x]) outcome.terminal = true;
  if (s.alien_move_timer == 0) {
    s.alien_move_timer = std::min(Count(s.aliens), s.alien_move_interval);
    const bool at_edge = (s.alien_dir < 0 && AnyInColumn(s.aliens, 0)) ||
                         (s.alien_dir > 0 && AnyInColumn(s.aliens, kGridSize - 1));
    if (at_edge) {
      s.alien_dir = -s.alien_dir;
      if (AnyInRow(s.aliens, kBottomRow)) outcome.terminal = true;
      // Cyclic as in MinAtar: a bottom row wraps to the top (the game has
      // just ended then).
      s.aliens = RollRows(s.aliens, 1);
    } else {
      s.aliens = RollColumns(s.aliens, s.alien_dir);
    }
    if (s.aliens[kBottomRow][s.cannon_x]) outcome.terminal = true;
  }

  if (s.alien_shot_timer == 0) {
    s.alien_shot_timer = kAlienShotInterval;
    // The lowest alien of the column nearest the cannon fires (the left
    // column of two equally near ones); there is always an alien here.
    for (int distance = 0; distance < kGridSize; ++distance) {
      bool fired = false;
      for (const int col : {s.cannon_x - distance, s.cannon_x + distance}) {
        if (col < 0 || col >= kGridSize || !AnyInColumn(s.aliens, col)) continue;
        int row = kBottomRow;
        while (!s.aliens[row][col]) --row;
        s.alien_bullets[row][col] = true;
        fired = true;
        break;
      }
      if (fired) break;
    }
  }

  for (int row = 0; row < kGridSize; ++row) {
    for (int col = 0; col < kGridSize; ++col) {
      if (s.aliens[row][col] && s.cannon_bullets[row][col]) {
        s.aliens[row][col] = false;
        s.cannon_bullets[row][col] = false;
        outcome.reward += 1;
      }
    }
  }

  if (s.shot_timer > 0) --s.shot_timer;
  --s.alien_move_timer;
  --s.alien_shot_timer;
  if (Count(s.aliens) == 0) {
    if (s.alien_move_interval > kFastestAlienMoveInterval) {
      --s.alien_move_interval;
      ++s.ramp_index;
    }
    FillWave(&s.aliens);
  }
  return outcome;
}

void SpaceInvaders::Draw(Frame* frame) const {
  const State& s = state_;
  frame->Set(kCannonChannel, kBottomRow, s.cannon_x);
  const int direction_channel = s.alien_dir < 0 ? kAlienLeftChannel : kAlienRightChannel;
  for (int row = 0; row < kGridSize; ++row) {
    for (int col = 0; col < kGridSize; ++col) {
      if (s.aliens[row][col]) {
        frame->Set(kAlienChannel, row, col);
        frame->Set(direction_channel, row, col);
      }
      if (s.cannon_bullets[row][col]) frame->Set(kCannonBulletChannel, row, col);
      if (s.alien_bullets[row][col]) frame->Set(kAlienBulletChannel, row, col);
    }
  }
}

}  // namespace rill::envs::minatar
