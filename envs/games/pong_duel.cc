#include "envs/games/pong_duel.h"

#include <algorithm>
#include <cmath>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/render/canvas.h"
#include "envs/time_limit.h"

namespace rill::envs::games {
namespace {

constexpr char kName[] = "PongDuel-v0";
constexpr render::Rgb kBackground = {16, 16, 24};
constexpr render::Rgb kWhite = {255, 255, 255};

constexpr int kStay = 0;
constexpr int kUp = 1;
constexpr int kDown = 2;
// Each player's paddle column.
constexpr int kPaddleColumn[PongDuel::kNumPlayers] = {0, PongDuel::kWidth - 1};

// An integer uniform in [low, high].
int UniformInt(SeededRng& rng, int low, int high) {
  const int n = high - low + 1;
  // min: Uniform's [0, n) could round up to n.
  return low + std::min(n - 1, static_cast<int>(rng.Uniform(0, n)));
}

int RandomSign(SeededRng& rng) { return rng.Uniform(0, 1) < 0.5 ? -1 : 1; }

}  // namespace

MultiAgentSpec PongDuel::Spec() {
  MultiAgentSpec spec;
  spec.name = kName;
  EnvSpec player;
  player.name = kName;
  player.observation_shape = {kObsDim};
  player.discrete = true;
  player.num_actions = kNumActions;
  player.max_episode_steps = kDefaultMaxEpisodeSteps;
  for (int k = 0; k < kNumPlayers; ++k) {
    spec.agents.push_back(absl::StrCat("player_", k));
    spec.agent_specs.push_back(player);
  }
  spec.state_shape = {kStateDim};
  spec.max_episode_steps = kDefaultMaxEpisodeSteps;
  return spec;
}

absl::StatusOr<std::unique_ptr<PongDuel>> PongDuel::Create(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, kDefaultMaxEpisodeSteps));
  // WrapUnique: the constructor is private, so make_unique cannot reach it.
  return absl::WrapUnique(new PongDuel(steps, seed));
}

PongDuel::PongDuel(int max_episode_steps, uint64_t seed)
    : MultiAgentEnv(WithTimeLimit(Spec(), max_episode_steps)), rng_(seed), scripted_rng_(seed ^ 0x5c1e7edULL) {}

bool PongDuel::ScriptedAction(int agent, const float* obs, float* action) {
  if (agent < 0 || agent >= num_agents()) return false;
  action[0] = static_cast<float>(ScriptedAction(obs, kDefaultScriptedSkill, scripted_rng_));
  return true;
}

int PongDuel::ScriptedAction(const float* obs, double skill, SeededRng& rng) {
  if (!(rng.Uniform(0, 1) < skill)) return UniformInt(rng, 0, kNumActions - 1);
  const long paddle_middle = std::lround(obs[0] * kMaxPaddleRow) + 1;
  const long ball_y = std::lround(obs[3] * (kHeight - 1));
  if (ball_y < paddle_middle) return kUp;
  if (ball_y > paddle_middle) return kDown;
  return kStay;
}

void PongDuel::Reset(float* const* obs) {
  court_.paddle_row = {4, 4};
  court_.ball_x = UniformInt(rng_, 7, 8);
  court_.ball_y = UniformInt(rng_, 3, 8);
  court_.ball_vx = RandomSign(rng_);
  court_.ball_vy = RandomSign(rng_);
  winner_ = -1;
  StartEpisode();
  for (int k = 0; k < kNumPlayers; ++k) Observe(k, obs[k]);
}

absl::Status PongDuel::Step(const float* const* actions, float* const* next_obs, StepResult* results) {
  RETURN_IF_ERROR(CheckStep(actions));
  // Both players are live here: a point or the time limit ends them together.
  for (int k = 0; k < kNumPlayers; ++k) {
    const int action = static_cast<int>(actions[k][0]);
    const int move = action == kUp ? -1 : action == kDown ? 1 : 0;
    court_.paddle_row[k] = std::clamp(court_.paddle_row[k] + move, 0, kMaxPaddleRow);
  }
  const int scorer = MoveBall();
  if (scorer >= 0) winner_ = scorer;
  for (int k = 0; k < kNumPlayers; ++k) {
    Observe(k, next_obs[k]);
    results[k].reward = scorer < 0 ? 0.0f : (k == scorer ? 1.0f : -1.0f);
    results[k].terminated = scorer >= 0;
    results[k].truncated = false;
  }
  EndStep(results);
  return absl::OkStatus();
}

int PongDuel::MoveBall() {
  PongCourt& c = court_;
  int y = c.ball_y + c.ball_vy;
  if (y < 0 || y >= kHeight) {
    c.ball_vy = -c.ball_vy;
    y = c.ball_y + c.ball_vy;  // the reflection about the edge row
  }
  c.ball_y = y;
  const int x = c.ball_x + c.ball_vx;
  // The player whose paddle column the ball would enter, if any.
  const int defender = x == kPaddleColumn[0] ? 0 : x == kPaddleColumn[1] ? 1 : -1;
  if (defender < 0) {
    c.ball_x = x;
    return -1;
  }
  const int hit = y - c.paddle_row[defender];  // 0 top, 1 middle, 2 bottom
  if (hit < 0 || hit >= kPaddleHeight) {
    c.ball_x = x;
    return 1 - defender;
  }
  c.ball_vx = -c.ball_vx;
  c.ball_x += c.ball_vx;  // the reflection about the column next to the paddle
  if (hit == 0) c.ball_vy = -1;
  if (hit == kPaddleHeight - 1) c.ball_vy = 1;
  return -1;
}

void PongDuel::Observe(int player, float* obs) const {
  const bool mirrored = player == 1;
  const float max_row = kMaxPaddleRow;
  *obs++ = court_.paddle_row[player] / max_row;
  *obs++ = court_.paddle_row[1 - player] / max_row;
  *obs++ = static_cast<float>(mirrored ? kWidth - 1 - court_.ball_x : court_.ball_x) / (kWidth - 1);
  *obs++ = static_cast<float>(court_.ball_y) / (kHeight - 1);
  *obs++ = static_cast<float>(mirrored ? -court_.ball_vx : court_.ball_vx);
  *obs++ = static_cast<float>(court_.ball_vy);
}

void PongDuel::State(float* state) const { Observe(0, state); }

absl::Status PongDuel::SetState(const PongCourt& court) {
  for (int k = 0; k < kNumPlayers; ++k) {
    if (court.paddle_row[k] < 0 || court.paddle_row[k] > kMaxPaddleRow) {
      return absl::InvalidArgumentError(
          absl::StrCat(kName, ": player_", k, "'s paddle row ", court.paddle_row[k], " is outside 0..", kMaxPaddleRow));
    }
  }
  if (court.ball_x < 1 || court.ball_x > kWidth - 2 || court.ball_y < 0 || court.ball_y > kHeight - 1) {
    return absl::InvalidArgumentError(absl::StrCat(kName, ": the ball at (", court.ball_x, ", ", court.ball_y,
                                                   ") is outside columns 1..", kWidth - 2, " and rows 0..",
                                                   kHeight - 1));
  }
  if (std::abs(court.ball_vx) != 1 || std::abs(court.ball_vy) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(kName, ": the ball's velocity (", court.ball_vx, ", ", court.ball_vy, ") is not (+-1, +-1)"));
  }
  court_ = court;
  return absl::OkStatus();
}

std::vector<std::string> PongDuel::cameras() const { return {"default"}; }

absl::Status PongDuel::Render(int width, int height, const std::string& camera, uint8_t* rgb) {
  if (camera != "default") {
    return absl::InvalidArgumentError(absl::StrCat(kName, " has no camera \"", camera, "\" (only \"default\")"));
  }
  if (width < 1 || height < 1) {
    return absl::InvalidArgumentError(absl::StrCat(kName, ": cannot render ", width, "x", height));
  }
  render::Canvas canvas(width, height, rgb);
  // One world unit a cell; the canvas's y runs up, the court's rows down.
  canvas.SetView(0, kWidth, 0, kHeight);
  canvas.Fill(kBackground);
  auto fill_cells = [&](int x, int top_row, int rows) {
    canvas.FillRect(x, kHeight - top_row - rows, x + 1, kHeight - top_row, kWhite);
  };
  for (int k = 0; k < kNumPlayers; ++k) fill_cells(kPaddleColumn[k], court_.paddle_row[k], kPaddleHeight);
  fill_cells(court_.ball_x, court_.ball_y, 1);
  return absl::OkStatus();
}

}  // namespace rill::envs::games
