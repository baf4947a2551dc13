// PongDuel: Pong for two on a small grid, a zero-sum game for self-play.
// One point decides an episode, so a policy learns from short, sharply
// rewarded episodes, and observations are mirrored so that one policy can
// play either side (the spec is homogeneous).
//
//   Court: 16 columns (x, 0 at the left) by 12 rows (y, 0 at the top),
//   integer cells. Agents "player_0" and "player_1": paddles 3 cells tall
//   on column 0 (left) and column 15 (right); a paddle's row is its top
//   cell's, kept in 0..9. The ball lies in columns 1..14 (it enters a
//   paddle's column only when it gets past the paddle) and rows 0..11, and
//   moves one cell along each axis a step: its velocity is (+-1, +-1).
//
//   Reset: both paddles at row 4 (rows 4..6; the court's middle, 5.5, lies
//   between the two centred choices and row 4 is the upper one); the ball
//   at column 7 or 8 and a row in 3..8, each uniform, moving left or right
//   and up or down, each with probability 1/2.
//
//   Actions: discrete, 3, for each player: 0 stay, 1 up (row - 1), 2 down
//   (row + 1), clamped to the court. Both paddles move first, then the
//   ball, so a paddle's move counts against the ball of the same step.
//
//   Ball: the next cell is position + velocity. A ball that would leave
//   the top or bottom row bounces: vy flips and the ball is reflected
//   about the edge row (from row 0 moving up it goes to row 1). A ball
//   that would enter a paddle's column is returned when the paddle covers
//   the row it would enter (after any wall bounce): vx flips and it is
//   reflected about the column next to the paddle (from column 1 to
//   column 2), and where it hit sets vy: the paddle's top cell sends it up
//   (-1), its bottom cell down (+1), its middle cell keeps vy. Otherwise
//   the ball enters the column and the other player scores.
//
//   Rewards: 0 until a point; then +1 to the scorer and -1 to the other,
//   and both are terminated. The rewards of every step sum to 0. With no
//   point the time limit (400 steps by default) truncates both, reward 0:
//   a draw.
//
//   Observation of a player, 6 floats, from its own side: its paddle row
//   / 9, the opponent's paddle row / 9, the ball's distance in columns from
//   the player's own paddle column / 15 (x for player_0, 15 - x for
//   player_1), the ball's row / 11 (all in [0, 1]), the ball's vx toward
//   the opponent (+1) or toward itself (-1) (vx for player_0, -vx for
//   player_1), and vy (-1 up, +1 down). Each player sees itself on the
//   left, so swapping the sides of a position swaps what they see.
//
//   Global state (State, for centralised critics), 6 floats: the court
//   un-mirrored, normalised as above: player_0's row, player_1's row, ball
//   x, ball y, vx, vy; player_0's observation.
//
// Not thread-safe (see MultiAgentEnv).
#ifndef RILL_ENVS_GAMES_PONG_DUEL_H_
#define RILL_ENVS_GAMES_PONG_DUEL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/multi_agent/interface.h"
#include "envs/seeded_rng.h"

namespace rill::envs::games {

// Where everything on the court is, in cells (see PongDuel).
struct PongCourt {
  // paddle_row[k]: player k's top cell, 0..9.
  std::array<int, 2> paddle_row = {4, 4};
  // Column 1..14 in play; 0 or 15 once the ball got past that paddle.
  int ball_x = 7;
  // Row 0..11.
  int ball_y = 5;
  // +1 right (toward player_1) or -1 left.
  int ball_vx = 1;
  // +1 down or -1 up.
  int ball_vy = 1;
};

class PongDuel final : public MultiAgentEnv {
 public:
  static constexpr int kNumPlayers = 2;
  static constexpr int kNumActions = 3;
  static constexpr int kObsDim = 6;
  static constexpr int kStateDim = 6;
  static constexpr int kDefaultMaxEpisodeSteps = 400;
  static constexpr int kWidth = 16;
  static constexpr int kHeight = 12;
  static constexpr int kPaddleHeight = 3;
  // The highest paddle row: the paddle's bottom cell on the last row.
  static constexpr int kMaxPaddleRow = kHeight - kPaddleHeight;
  // The scripted opponent's skill for evaluation: it tracks the ball 70%
  // of the time, so it misses sometimes and a good policy can beat it.
  static constexpr double kDefaultScriptedSkill = 0.7;

  // `max_episode_steps`: 0 = 400. InvalidArgument if negative.
  static absl::StatusOr<std::unique_ptr<PongDuel>> Create(int max_episode_steps, uint64_t seed);

  // The players, their spaces, the state's shape and the default time
  // limit: the one place they are written.
  static MultiAgentSpec Spec();

  // The scripted opponent: from a player's observation (either side: they
  // are mirrored), with probability `skill` it moves its paddle's middle
  // cell toward the ball's row (staying when level), otherwise it picks
  // one of the 3 actions uniformly. Draws one or two numbers from `rng`.
  // Skill 1.0 reaches every ball (the paddle moves as fast as the ball, and
  // it starts close enough), so it never loses: it is hard to beat and
  // only draws against itself. kDefaultScriptedSkill is the evaluation
  // opponent.
  static int ScriptedAction(const float* obs, double skill, SeededRng& rng);
  // Either player scripted at kDefaultScriptedSkill, from a generator of
  // its own (seeded from the env's seed), so scripting one player draws
  // nothing from the court's.
  bool ScriptedAction(int agent, const float* obs, float* action) override;

  void Reset(float* const* obs) override;
  absl::Status Step(const float* const* actions, float* const* next_obs, StepResult* results) override;
  void State(float* state) const override;

  // Player k's observation of the court now (kObsDim floats), as Reset and
  // Step write it.
  void Observe(int player, float* obs) const;

  // Who won the current (or last) episode: 0 or 1 once a player scored;
  // -1 for a draw, and while no point has been scored.
  int Winner() const { return winner_; }

  // One camera, "default": the court on a dark background, paddles and
  // ball as white cells, stretched to the image. InvalidArgument for
  // another camera or a size below 1x1.
  std::vector<std::string> cameras() const override;
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) override;
  double render_fps() const override { return 15; }
  // Per episode: "player_0_wins" and "player_1_wins", 1 for the player
  // that scored (the point ends the episode), both 0 for a draw.
  std::vector<EnvMetric> metrics() const override {
    return {{"player_0_wins", EnvMetric::Over::kSum}, {"player_1_wins", EnvMetric::Over::kSum}};
  }
  void MeasureStep(double* values) const override {
    values[0] = Winner() == 0 ? 1 : 0;
    values[1] = Winner() == 1 ? 1 : 0;
  }

  const PongCourt& court() const { return court_; }

  // For tests and tools: places the paddles and the ball exactly, without
  // touching the step count or the winner. Call after Reset.
  // InvalidArgument, with nothing changed, for a paddle row outside 0..9,
  // a ball outside columns 1..14 or rows 0..11, or a velocity component
  // other than +-1.
  absl::Status SetState(const PongCourt& court);

 private:
  PongDuel(int max_episode_steps, uint64_t seed);

  // Moves the ball one step; returns the scorer (0 or 1) or -1.
  int MoveBall();

  SeededRng rng_;
  SeededRng scripted_rng_;
  PongCourt court_;
  int winner_ = -1;
};

}  // namespace rill::envs::games

#endif  // RILL_ENVS_GAMES_PONG_DUEL_H_
