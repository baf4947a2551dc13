#include "envs/minatar/seaquest.h"

#include <algorithm>
#include <cassert>

#include "absl/memory/memory.h"
#include "common/status_macros.h"

namespace rill::envs::minatar {
namespace {

constexpr int kGaugeRow = kGridSize - 1;
constexpr int kDeepestRow = kGridSize - 2;  // the submarine stays above the gauges

// Python's `for item in reversed(items)` where the body may remove items:
// the position counts down from the last one and the loop stops as soon as
// it no longer lies inside the list. `body(at)` gets the position.
template <typename T, typename Body>
void ForEachFromLast(std::vector<T>* items, Body body) {
  for (int next = static_cast<int>(items->size()) - 1; next >= 0 && next < static_cast<int>(items->size());) {
    const int at = next--;
    body(at);
  }
}

// Python's items.remove(value): erases the first element equal to `value`
// (one always is, here) and returns its position.
template <typename T>
int RemoveFirstEqual(std::vector<T>* items, const T& value) {
  const auto found = std::find(items->begin(), items->end(), value);
  assert(found != items->end());
  const int position = static_cast<int>(found - items->begin());
  items->erase(found);
  return position;
}

// The first of `bullets` on (x, y), or -1.
int BulletAt(const std::vector<Seaquest::Bullet>& bullets, int x, int y) {
  for (size_t i = 0; i < bullets.size(); ++i) {
    if (bullets[i].x == x && bullets[i].y == y) return static_cast<int>(i);
  }
  return -1;
}

bool OffScreen(int x) { return x < 0 || x > kGridSize - 1; }

// One cell's move along x.
int Stride(bool rightwards) { return rightwards ? 1 : -1; }

// Python's // (rounds towards minus infinity).
int FloorDiv(int a, int b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

}  // namespace

EnvSpec Seaquest::Spec() { return MakeSpec("MinAtar/Seaquest-v1", kChannels, 6); }

absl::StatusOr<std::unique_ptr<Seaquest>> Seaquest::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new Seaquest(steps, seed));
}

Seaquest::Seaquest(int max_episode_steps, uint64_t seed)
    : GameEnv(WithTimeLimit(Spec(), max_episode_steps),
              {Action::kNoop, Action::kLeft, Action::kUp, Action::kRight, Action::kDown, Action::kFire}, seed) {}

void Seaquest::NewGame() { state_ = State(); }

void Seaquest::SpawnEnemy() {
  const bool rightwards = RandomUnit() < 1.0 / 2;
  const bool is_sub = RandomUnit() < 1.0 / 3;
  const int x = rightwards ? 0 : kGridSize - 1;
  const int y = 1 + RandomBelow(8);
  // Nothing enters a row where something already heads the other way.
  for (const EnemySub& sub : state_.enemy_subs) {
    if (sub.y == y && sub.rightwards != rightwards) return;
  }
  for (const Swimmer& fish : state_.fish) {
    if (fish.y == y && fish.rightwards != rightwards) return;
  }
  if (is_sub) {
    state_.enemy_subs.push_back({x, y, rightwards, state_.move_speed, kEnemyShotInterval});
  } else {
    state_.fish.push_back({x, y, rightwards, state_.move_speed});
  }
}

void Seaquest::SpawnDiver() {
  const bool rightwards = RandomUnit() < 1.0 / 2;
  const int x = rightwards ? 0 : kGridSize - 1;
  const int y = 1 + RandomBelow(8);
  state_.divers.push_back({x, y, rightwards, kDiverMoveInterval});
}

void Seaquest::MovePlayerBullets(Outcome* outcome) {
  State& s = state_;
  ForEachFromLast(&s.player_bullets, [&](int at) {
    Bullet& bullet = s.player_bullets[at];
    bullet.x += Stride(bullet.rightwards);
    const Bullet moved = bullet;
    if (OffScreen(moved.x)) {
      RemoveFirstEqual(&s.player_bullets, moved);
      return;
    }
    // A fish is hit before a submarine on the same cell.
    for (size_t i = 0; i < s.fish.size(); ++i) {
      if (s.fish[i].x == moved.x && s.fish[i].y == moved.y) {
        s.fish.erase(s.fish.begin() + static_cast<std::ptrdiff_t>(i));
        RemoveFirstEqual(&s.player_bullets, moved);
        outcome->reward += 1;
        return;
      }
    }
    for (size_t i = 0; i < s.enemy_subs.size(); ++i) {
      if (s.enemy_subs[i].x == moved.x && s.enemy_subs[i].y == moved.y) {
        s.enemy_subs.erase(s.enemy_subs.begin() + static_cast<std::ptrdiff_t>(i));
        RemoveFirstEqual(&s.player_bullets, moved);
        outcome->reward += 1;
        return;
      }
    }
  });
}

void Seaquest::MoveDivers() {
  State& s = state_;
  ForEachFromLast(&s.divers, [&](int at) {
    Swimmer& diver = s.divers[at];
    if (AtSub(diver.x, diver.y) && s.diver_count < kMaxDivers) {
      RemoveFirstEqual(&s.divers, Swimmer(diver));
      ++s.diver_count;
      return;
    }
    if (diver.move_timer != 0) {
      --diver.move_timer;
      return;
    }
    diver.move_timer = kDiverMoveInterval;
    diver.x += Stride(diver.rightwards);
    if (OffScreen(diver.x)) {
      RemoveFirstEqual(&s.divers, Swimmer(diver));
    } else if (AtSub(diver.x, diver.y) && s.diver_count < kMaxDivers) {
      RemoveFirstEqual(&s.divers, Swimmer(diver));
      ++s.diver_count;
    }
  });
}

void Seaquest::MoveEnemySubs(Outcome* outcome) {
  State& s = state_;
  ForEachFromLast(&s.enemy_subs, [&](int at) {
    // A submarine that leaves or is shot still counts down its gun this
    // step (MinAtar goes on with the removed object), so it is followed
    // out of the list.
    EnemySub removed;
    EnemySub* sub = &s.enemy_subs[at];
    auto remove_sub = [&]() {
      const EnemySub value = *sub;
      const int position = RemoveFirstEqual(&s.enemy_subs, value);
      if (position == at) {
        removed = value;
        sub = &removed;
      } else {
        // An equal submarine before it went instead; this one moved down.
        --at;
        sub = &s.enemy_subs[at];
      }
    };
    if (AtSub(sub->x, sub->y)) outcome->terminal = true;
    if (sub->move_timer == 0) {
      sub->move_timer = s.move_speed;
      sub->x += Stride(sub->rightwards);
      if (OffScreen(sub->x)) {
        remove_sub();
      } else if (AtSub(sub->x, sub->y)) {
        outcome->terminal = true;
      } else if (const int hit = BulletAt(s.player_bullets, sub->x, sub->y); hit >= 0) {
        remove_sub();
        s.player_bullets.erase(s.player_bullets.begin() + hit);
        outcome->reward += 1;
      }
    } else {
      --sub->move_timer;
    }
    if (sub->shot_timer == 0) {
      sub->shot_timer = kEnemyShotInterval;
      s.enemy_bullets.push_back({sub->x, sub->y, sub->rightwards});
    } else {
      --sub->shot_timer;
    }
  });
}

void Seaquest::MoveEnemyBullets(Outcome* outcome) {
  State& s = state_;
  ForEachFromLast(&s.enemy_bullets, [&](int at) {
    Bullet& bullet = s.enemy_bullets[at];
    if (AtSub(bullet.x, bullet.y)) outcome->terminal = true;
    bullet.x += Stride(bullet.rightwards);
    if (OffScreen(bullet.x)) {
      RemoveFirstEqual(&s.enemy_bullets, Bullet(bullet));
    } else if (AtSub(bullet.x, bullet.y)) {
      outcome->terminal = true;
    }
  });
}

void Seaquest::MoveFish(Outcome* outcome) {
  State& s = state_;
  ForEachFromLast(&s.fish, [&](int at) {
    Swimmer& fish = s.fish[at];
    if (AtSub(fish.x, fish.y)) outcome->terminal = true;
    if (fish.move_timer != 0) {
      --fish.move_timer;
      return;
    }
    fish.move_timer = s.move_speed;
    fish.x += Stride(fish.rightwards);
    const Swimmer moved = fish;
    if (OffScreen(moved.x)) {
      RemoveFirstEqual(&s.fish, moved);
    } else if (AtSub(moved.x, moved.y)) {
      outcome->terminal = true;
    } else if (const int hit = BulletAt(s.player_bullets, moved.x, moved.y); hit >= 0) {
      RemoveFirstEqual(&s.fish, moved);
      s.player_bullets.erase(s.player_bullets.begin() + hit);
      outcome->reward += 1;
    }
  });
}

int Seaquest::Surface() {
  State& s = state_;
  s.surfaced = true;
  int reward = 0;
  if (s.diver_count == kMaxDivers) {
    s.diver_count = 0;
    reward = FloorDiv(s.oxygen * 10, kMaxOxygen);
  }
  s.oxygen = kMaxOxygen;
  s.diver_count -= 1;  // -1 after a full load, as in MinAtar (see the header)
  if (s.enemy_spawn_speed > 1 || s.move_speed > 2) {
    if (s.move_speed > 2 && s.ramp_index % 2 == 1) --s.move_speed;
    if (s.enemy_spawn_speed > 1) --s.enemy_spawn_speed;
    ++s.ramp_index;
  }
  return reward;
}

GameEnv::Outcome Seaquest::Act(Action action) {
  State& s = state_;
  Outcome outcome;

  if (s.enemy_spawn_timer == 0) {
    SpawnEnemy();
    s.enemy_spawn_timer = s.enemy_spawn_speed;
  }
  if (s.diver_spawn_timer == 0) {
    SpawnDiver();
    s.diver_spawn_timer = kDiverSpawnSpeed;
  }

  if (action == Action::kFire && s.shot_timer == 0) {
    s.player_bullets.push_back({s.sub_x, s.sub_y, s.facing_right});
    s.shot_timer = kShotCoolDown;
  } else if (action == Action::kLeft) {
    s.sub_x = std::max(0, s.sub_x - 1);
    s.facing_right = false;
  } else if (action == Action::kRight) {
    s.sub_x = std::min(kGridSize - 1, s.sub_x + 1);
    s.facing_right = true;
  } else if (action == Action::kUp) {
    s.sub_y = std::max(0, s.sub_y - 1);
  } else if (action == Action::kDown) {
    s.sub_y = std::min(kDeepestRow, s.sub_y + 1);
  }

  MovePlayerBullets(&outcome);
  MoveDivers();
  MoveEnemySubs(&outcome);
  MoveEnemyBullets(&outcome);
  MoveFish(&outcome);

  if (s.enemy_spawn_timer > 0) --s.enemy_spawn_timer;
  if (s.diver_spawn_timer > 0) --s.diver_spawn_timer;
  if (s.shot_timer > 0) --s.shot_timer;
  // Oxygen runs out one step after it reaches zero.
  if (s.oxygen <= 0) outcome.terminal = true;
  if (s.sub_y > 0) {
    --s.oxygen;
    s.surfaced = false;
  } else if (!s.surfaced) {
    if (s.diver_count == 0) {
      outcome.terminal = true;
    } else {
      outcome.reward += Surface();
    }
  }
  return outcome;
}

void Seaquest::Draw(Frame* frame) const {
  const State& s = state_;
  frame->Set(kSubFrontChannel, s.sub_y, s.sub_x);
  // The back is always on the board in play: the submarine faces the way
  // it last moved.
  const int back_x = s.facing_right ? s.sub_x - 1 : s.sub_x + 1;
  if (!OffScreen(back_x)) frame->Set(kSubBackChannel, s.sub_y, back_x);
  const int oxygen_cells = std::max(0, s.oxygen) * 10 / kMaxOxygen;
  for (int col = 0; col < oxygen_cells; ++col) frame->Set(kOxygenChannel, kGaugeRow, col);
  for (int col = std::max(0, kGridSize - 1 - s.diver_count); col < kGridSize - 1; ++col) {
    frame->Set(kDiverGaugeChannel, kGaugeRow, col);
  }
  for (const Bullet& bullet : s.player_bullets) frame->Set(kPlayerBulletChannel, bullet.y, bullet.x);
  for (const Bullet& bullet : s.enemy_bullets) frame->Set(kEnemyBulletChannel, bullet.y, bullet.x);
  auto draw_with_trail = [frame](int channel, int x, int y, bool rightwards) {
    frame->Set(channel, y, x);
    const int trail_x = rightwards ? x - 1 : x + 1;
    if (!OffScreen(trail_x)) frame->Set(kTrailChannel, y, trail_x);
  };
  for (const Swimmer& fish : s.fish) draw_with_trail(kFishChannel, fish.x, fish.y, fish.rightwards);
  for (const EnemySub& sub : s.enemy_subs) draw_with_trail(kEnemySubChannel, sub.x, sub.y, sub.rightwards);
  for (const Swimmer& diver : s.divers) draw_with_trail(kDiverChannel, diver.x, diver.y, diver.rightwards);
}

}  // namespace rill::envs::minatar
