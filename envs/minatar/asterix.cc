#include "envs/minatar/asterix.h"

#include <algorithm>

#include "absl/memory/memory.h"
#include "common/status_macros.h"

namespace rill::envs::minatar {
namespace {

// The player stays on the lanes' rows.
constexpr int kTopRow = 1;
constexpr int kBottomRow = Asterix::kLanes;

}  // namespace

EnvSpec Asterix::Spec() { return MakeSpec("MinAtar/Asterix-v1", kChannels, 5); }

absl::StatusOr<std::unique_ptr<Asterix>> Asterix::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new Asterix(steps, seed));
}

Asterix::Asterix(int max_episode_steps, uint64_t seed)
    : GameEnv(WithTimeLimit(Spec(), max_episode_steps),
              {Action::kNoop, Action::kLeft, Action::kUp, Action::kRight, Action::kDown}, seed) {}

void Asterix::NewGame() { state_ = State(); }

void Asterix::Spawn() {
  const bool rightwards = RandomUnit() < 1.0 / 2;
  const bool gold = RandomUnit() < 1.0 / 3;
  std::array<int, kLanes> free_lanes;
  int free = 0;
  for (int lane = 0; lane < kLanes; ++lane) {
    if (!state_.lanes[lane].present) free_lanes[free++] = lane;
  }
  if (free == 0) return;
  Entity& entity = state_.lanes[free_lanes[RandomBelow(free)]];
  entity.present = true;
  entity.x = rightwards ? 0 : kGridSize - 1;
  entity.rightwards = rightwards;
  entity.gold = gold;
}

void Asterix::Touch(int lane, Outcome* outcome) {
  Entity& entity = state_.lanes[lane];
  if (!entity.present || entity.x != state_.player_x || lane + 1 != state_.player_y) return;
  if (entity.gold) {
    entity.present = false;
    outcome->reward += 1;
  } else {
    outcome->terminal = true;
  }
}

GameEnv::Outcome Asterix::Act(Action action) {
  State& s = state_;
  Outcome outcome;

  if (s.spawn_timer == 0) {
    Spawn();
    s.spawn_timer = s.spawn_speed;
  }

  if (action == Action::kLeft) {
    s.player_x = std::max(0, s.player_x - 1);
  } else if (action == Action::kRight) {
    s.player_x = std::min(kGridSize - 1, s.player_x + 1);
  } else if (action == Action::kUp) {
    s.player_y = std::max(kTopRow, s.player_y - 1);
  } else if (action == Action::kDown) {
    s.player_y = std::min(kBottomRow, s.player_y + 1);
  }

  // The player's move may land on something; then everything moves and may
  // land on the player.
  for (int lane = 0; lane < kLanes; ++lane) Touch(lane, &outcome);
  if (s.move_timer == 0) {
    s.move_timer = s.move_speed;
    for (int lane = 0; lane < kLanes; ++lane) {
      Entity& entity = s.lanes[lane];
      if (!entity.present) continue;
      entity.x += entity.rightwards ? 1 : -1;
      if (entity.x < 0 || entity.x > kGridSize - 1) {
        entity.present = false;
      } else {
        Touch(lane, &outcome);
      }
    }
  }

  --s.spawn_timer;
  --s.move_timer;

  if (s.spawn_speed > 1 || s.move_speed > 1) {
    if (s.ramp_timer >= 0) {
      --s.ramp_timer;
    } else {
      if (s.move_speed > 1 && s.ramp_index % 2 == 1) --s.move_speed;
      if (s.spawn_speed > 1) --s.spawn_speed;
      ++s.ramp_index;
      s.ramp_timer = kRampInterval;
    }
  }
  return outcome;
}

void Asterix::Draw(Frame* frame) const {
  const State& s = state_;
  frame->Set(kPlayerChannel, s.player_y, s.player_x);
  for (int lane = 0; lane < kLanes; ++lane) {
    const Entity& entity = s.lanes[lane];
    if (!entity.present) continue;
    frame->Set(entity.gold ? kGoldChannel : kEnemyChannel, lane + 1, entity.x);
    const int back_x = entity.rightwards ? entity.x - 1 : entity.x + 1;
    if (back_x >= 0 && back_x < kGridSize) frame->Set(kTrailChannel, lane + 1, back_x);
  }
}

}  // namespace rill::envs::minatar
