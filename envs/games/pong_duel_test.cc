#include "envs/games/pong_duel.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "envs/seeded_rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs::games {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kPlayers = PongDuel::kNumPlayers;
constexpr int kObs = PongDuel::kObsDim;
constexpr int kStay = 0;
constexpr int kUp = 1;
constexpr int kDown = 2;

// Per-player buffers for Reset and Step, as an EnvBatch's rows would be.
struct Buffers {
  std::array<std::array<float, kObs>, kPlayers> obs{};
  std::array<float, kPlayers> action{};
  std::array<StepResult, kPlayers> results{};

  float* const* obs_rows() {
    for (int k = 0; k < kPlayers; ++k) obs_ptrs[k] = obs[k].data();
    return obs_ptrs.data();
  }
  const float* const* action_rows() {
    for (int k = 0; k < kPlayers; ++k) action_ptrs[k] = &action[k];
    return action_ptrs.data();
  }

  std::array<float*, kPlayers> obs_ptrs{};
  std::array<const float*, kPlayers> action_ptrs{};
};

std::unique_ptr<PongDuel> MakeStarted(Buffers& buffers, int max_episode_steps = 0, uint64_t seed = 7) {
  auto env = PongDuel::Create(max_episode_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  (*env)->Reset(buffers.obs_rows());
  return std::move(env).value();
}

absl::Status StepWith(PongDuel& env, Buffers& buffers, float a0, float a1) {
  buffers.action = {a0, a1};
  return env.Step(buffers.action_rows(), buffers.obs_rows(), buffers.results.data());
}

PongCourt Court(int row0, int row1, int x, int y, int vx, int vy) {
  PongCourt court;
  court.paddle_row = {row0, row1};
  court.ball_x = x;
  court.ball_y = y;
  court.ball_vx = vx;
  court.ball_vy = vy;
  return court;
}

// The court as one comparable list: rows, then the ball.
std::vector<int> Cells(const PongDuel& env) {
  const PongCourt& c = env.court();
  return {c.paddle_row[0], c.paddle_row[1], c.ball_x, c.ball_y, c.ball_vx, c.ball_vy};
}

std::vector<float> ObsOf(const PongDuel& env, int player) {
  std::vector<float> obs(kObs);
  env.Observe(player, obs.data());
  return obs;
}

std::vector<float> StateOf(const PongDuel& env) {
  std::vector<float> state(PongDuel::kStateDim);
  env.State(state.data());
  return state;
}

int RandomAction(SeededRng& rng) { return std::min(2, static_cast<int>(rng.Uniform(0, 3))); }

TEST(PongDuelTest, SpecHasTwoHomogeneousPlayersOfSixFloatsAndThreeActions) {
  const MultiAgentSpec spec = PongDuel::Spec();
  EXPECT_EQ(spec.name, "PongDuel-v0");
  EXPECT_THAT(spec.agents, ElementsAre("player_0", "player_1"));
  ASSERT_EQ(spec.agent_specs.size(), 2u);
  for (const EnvSpec& player : spec.agent_specs) {
    EXPECT_EQ(player.name, "PongDuel-v0");
    EXPECT_EQ(player.obs_dim(), 6);
    EXPECT_EQ(player.observation_type, ObservationType::kFloat32);
    EXPECT_TRUE(player.discrete);
    EXPECT_EQ(player.num_actions, 3);
    EXPECT_EQ(player.max_episode_steps, 400);
  }
  EXPECT_TRUE(spec.homogeneous());
  EXPECT_EQ(spec.state_dim(), 6);
  EXPECT_EQ(spec.max_episode_steps, 400);
}

TEST(PongDuelTest, CreateTakesZeroAsFourHundredAndRefusesANegativeLimit) {
  EXPECT_EQ(PongDuel::Create(0, 1).value()->max_episode_steps(), 400);
  auto seven = PongDuel::Create(7, 1).value();
  EXPECT_EQ(seven->max_episode_steps(), 7);
  EXPECT_EQ(seven->spec().agent_specs[1].max_episode_steps, 7);
  EXPECT_EQ(PongDuel::Create(-1, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PongDuelTest, ResetCentresThePaddlesAndDrawsEveryBallStart) {
  Buffers buffers;
  auto env = PongDuel::Create(0, 3).value();
  std::set<int> columns, rows, velocities;
  for (int episode = 0; episode < 300; ++episode) {
    env->Reset(buffers.obs_rows());
    const PongCourt& c = env->court();
    EXPECT_EQ(c.paddle_row[0], 4);
    EXPECT_EQ(c.paddle_row[1], 4);
    EXPECT_EQ(env->Winner(), -1);
    EXPECT_TRUE(env->live(0) && env->live(1));
    columns.insert(c.ball_x);
    rows.insert(c.ball_y);
    velocities.insert(10 * c.ball_vx + c.ball_vy);
    EXPECT_EQ(buffers.obs[0][0], 4.0f / 9);  // Reset wrote the observations
  }
  EXPECT_THAT(columns, ElementsAre(7, 8));
  EXPECT_THAT(rows, ElementsAre(3, 4, 5, 6, 7, 8));
  EXPECT_THAT(velocities, ElementsAre(-11, -9, 9, 11));
}

TEST(PongDuelTest, EachPlayerSeesItselfOnTheLeftSoSwappingSidesSwapsWhatTheySee) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  // player_0 at row 2, player_1 at row 7, the ball at (5, 3) moving right
  // and up.
  ASSERT_TRUE(env->SetState(Court(2, 7, 5, 3, 1, -1)).ok());
  const std::vector<float> left = {2.0f / 9, 7.0f / 9, 5.0f / 15, 3.0f / 11, 1, -1};
  // player_1: the ball is 15 - 5 = 10 columns from its paddle, moving
  // toward it (-1).
  const std::vector<float> right = {7.0f / 9, 2.0f / 9, 10.0f / 15, 3.0f / 11, -1, -1};
  EXPECT_EQ(ObsOf(*env, 0), left);
  EXPECT_EQ(ObsOf(*env, 1), right);
  // The state is the court un-mirrored: player_0's view.
  EXPECT_EQ(StateOf(*env), left);

  // The mirror image: the players swap rows, the ball goes to column 10
  // moving left.
  ASSERT_TRUE(env->SetState(Court(7, 2, 10, 3, -1, -1)).ok());
  EXPECT_EQ(ObsOf(*env, 0), right);
  EXPECT_EQ(ObsOf(*env, 1), left);
}

TEST(PongDuelTest, StepWritesTheObservationsOfTheNewCourt) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  ASSERT_TRUE(env->SetState(Court(2, 7, 5, 3, 1, -1)).ok());
  ASSERT_TRUE(StepWith(*env, buffers, kDown, kUp).ok());
  // Rows 3 and 6; the ball at (6, 2).
  EXPECT_THAT(buffers.obs[0], ElementsAre(3.0f / 9, 6.0f / 9, 6.0f / 15, 2.0f / 11, 1, -1));
  EXPECT_THAT(buffers.obs[1], ElementsAre(6.0f / 9, 3.0f / 9, 9.0f / 15, 2.0f / 11, -1, -1));
}

TEST(PongDuelTest, PaddlesMoveUpAndDownAndStopAtTheWalls) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  // The ball in mid-court, 8 steps from a paddle.
  ASSERT_TRUE(env->SetState(Court(1, 8, 7, 5, 1, 1)).ok());
  ASSERT_TRUE(StepWith(*env, buffers, kUp, kDown).ok());
  EXPECT_EQ(env->court().paddle_row, (std::array<int, 2>{0, 9}));
  ASSERT_TRUE(StepWith(*env, buffers, kUp, kDown).ok());  // against the walls
  EXPECT_EQ(env->court().paddle_row, (std::array<int, 2>{0, 9}));
  EXPECT_EQ(buffers.obs[0][0], 0.0f);
  EXPECT_EQ(buffers.obs[1][0], 1.0f);
  ASSERT_TRUE(StepWith(*env, buffers, kDown, kUp).ok());
  EXPECT_EQ(env->court().paddle_row, (std::array<int, 2>{1, 8}));
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
  EXPECT_EQ(env->court().paddle_row, (std::array<int, 2>{1, 8}));
}

TEST(PongDuelTest, BallBouncesOffTheTopAndBottomWalls) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  ASSERT_TRUE(env->SetState(Court(4, 4, 5, 1, 1, -1)).ok());
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
  EXPECT_THAT(Cells(*env), ElementsAre(4, 4, 6, 0, 1, -1));  // onto the top row
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
  EXPECT_THAT(Cells(*env), ElementsAre(4, 4, 7, 1, 1, 1));  // off the wall, now down

  ASSERT_TRUE(env->SetState(Court(4, 4, 5, 10, -1, 1)).ok());
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
  EXPECT_THAT(Cells(*env), ElementsAre(4, 4, 4, 11, -1, 1));  // onto the bottom row
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
  EXPECT_THAT(Cells(*env), ElementsAre(4, 4, 3, 10, -1, -1));
  EXPECT_EQ(buffers.results[0].reward, 0);
  EXPECT_FALSE(buffers.results[0].terminated);
}

TEST(PongDuelTest, PaddleMiddleReturnsTheBallKeepingItsVerticalDirection) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  // player_0 covers rows 4..6; the ball enters column 0 at row 5.
  ASSERT_TRUE(env->SetState(Court(4, 4, 1, 4, -1, 1)).ok());
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
  EXPECT_THAT(Cells(*env), ElementsAre(4, 4, 2, 5, 1, 1));
  for (int k = 0; k < kPlayers; ++k) {
    EXPECT_EQ(buffers.results[k].reward, 0);
    EXPECT_FALSE(buffers.results[k].terminated);
    EXPECT_TRUE(env->live(k));
  }
}

TEST(PongDuelTest, PaddleTopSendsTheBallUpAndBottomSendsItDown) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  // Moving down onto player_0's top cell (row 4): sent back up.
  ASSERT_TRUE(env->SetState(Court(4, 4, 1, 3, -1, 1)).ok());
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
  EXPECT_THAT(Cells(*env), ElementsAre(4, 4, 2, 4, 1, -1));
  // Moving up onto its bottom cell (row 6): sent back down.
  ASSERT_TRUE(env->SetState(Court(4, 4, 1, 7, -1, -1)).ok());
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
  EXPECT_THAT(Cells(*env), ElementsAre(4, 4, 2, 6, 1, 1));
  // player_1 the same: its top cell (row 4) from column 14 to 13.
  ASSERT_TRUE(env->SetState(Court(4, 4, 14, 3, 1, 1)).ok());
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
  EXPECT_THAT(Cells(*env), ElementsAre(4, 4, 13, 4, -1, -1));
  EXPECT_EQ(env->Winner(), -1);
}

TEST(PongDuelTest, PaddleMovesBeforeTheBallSoALastMomentMoveReturnsIt) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  // player_0 covers rows 6..8 and the ball enters column 0 at row 5: moving
  // up to rows 5..7 in the same step reaches it with the top cell.
  ASSERT_TRUE(env->SetState(Court(6, 4, 1, 4, -1, 1)).ok());
  ASSERT_TRUE(StepWith(*env, buffers, kUp, kStay).ok());
  EXPECT_THAT(Cells(*env), ElementsAre(5, 4, 2, 5, 1, -1));
}

TEST(PongDuelTest, ABallPastAPaddleScoresForTheOtherPlayerAndEndsTheEpisode) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  // player_0 covers rows 0..2; the ball enters column 0 at row 7.
  ASSERT_TRUE(env->SetState(Court(0, 4, 1, 6, -1, 1)).ok());
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
  EXPECT_THAT(Cells(*env), ElementsAre(0, 4, 0, 7, -1, 1));
  EXPECT_EQ(buffers.results[0].reward, -1);
  EXPECT_EQ(buffers.results[1].reward, 1);
  for (int k = 0; k < kPlayers; ++k) {
    EXPECT_TRUE(buffers.results[k].terminated) << "player " << k;
    EXPECT_FALSE(buffers.results[k].truncated) << "player " << k;
  }
  EXPECT_EQ(env->Winner(), 1);
  EXPECT_TRUE(env->episode_over());
  // The last observations show the ball in player_0's column.
  EXPECT_EQ(buffers.obs[0][2], 0.0f);
  EXPECT_EQ(buffers.obs[1][2], 1.0f);
  EXPECT_EQ(StepWith(*env, buffers, kStay, kStay).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PongDuelTest, ABallPastTheRightPaddleWinsForPlayerZero) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  // player_1 moves down to rows 5..7; the ball enters column 15 at row 3.
  ASSERT_TRUE(env->SetState(Court(4, 4, 14, 4, 1, -1)).ok());
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kDown).ok());
  EXPECT_EQ(buffers.results[0].reward, 1);
  EXPECT_EQ(buffers.results[1].reward, -1);
  EXPECT_TRUE(buffers.results[0].terminated && buffers.results[1].terminated);
  EXPECT_EQ(env->Winner(), 0);
}

TEST(PongDuelTest, RewardsOfEveryStepSumToZeroAndArriveOnlyWithThePoint) {
  Buffers buffers;
  auto env = PongDuel::Create(0, 5).value();
  SeededRng rng(9);
  int points = 0;
  for (int episode = 0; episode < 50; ++episode) {
    env->Reset(buffers.obs_rows());
    while (!env->episode_over()) {
      ASSERT_TRUE(StepWith(*env, buffers, RandomAction(rng), RandomAction(rng)).ok());
      EXPECT_EQ(buffers.results[0].reward + buffers.results[1].reward, 0.0f);
      const bool point = buffers.results[0].terminated;
      EXPECT_EQ(buffers.results[0].reward != 0, point);
      EXPECT_EQ(buffers.results[1].terminated, point);
      if (point) ++points;
    }
  }
  EXPECT_GT(points, 0);
}

TEST(PongDuelTest, TimeLimitTruncatesBothInADrawAndRefusesTheNextStep) {
  Buffers buffers;
  // Five steps: the ball starts at least 7 steps from either paddle column.
  auto env = MakeStarted(buffers, /*max_episode_steps=*/5);
  for (int step = 1; step < 5; ++step) {
    ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
    ASSERT_FALSE(buffers.results[0].truncated || buffers.results[1].truncated) << "step " << step;
  }
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
  for (int k = 0; k < kPlayers; ++k) {
    EXPECT_TRUE(buffers.results[k].truncated) << "player " << k;
    EXPECT_FALSE(buffers.results[k].terminated) << "player " << k;
    EXPECT_EQ(buffers.results[k].reward, 0) << "player " << k;
  }
  EXPECT_EQ(env->Winner(), -1);
  EXPECT_TRUE(env->episode_over());
  EXPECT_EQ(StepWith(*env, buffers, kStay, kStay).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PongDuelTest, TwoPerfectScriptedPlayersDrawAtTheDefaultLimit) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  SeededRng rng(1);
  int steps = 0;
  while (!env->episode_over()) {
    const int a0 = PongDuel::ScriptedAction(buffers.obs[0].data(), 1.0, rng);
    const int a1 = PongDuel::ScriptedAction(buffers.obs[1].data(), 1.0, rng);
    ASSERT_TRUE(StepWith(*env, buffers, a0, a1).ok());
    ++steps;
  }
  EXPECT_EQ(steps, 400);
  EXPECT_TRUE(buffers.results[0].truncated && buffers.results[1].truncated);
  EXPECT_EQ(env->Winner(), -1);
}

TEST(PongDuelTest, StepBeforeResetFailsPrecondition) {
  Buffers buffers;
  auto env = PongDuel::Create(0, 1).value();
  EXPECT_EQ(StepWith(*env, buffers, kStay, kStay).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PongDuelTest, BadActionIsInvalidArgumentNamingThePlayerAndChangesNothing) {
  Buffers buffers;
  auto env = MakeStarted(buffers, /*max_episode_steps=*/2);
  const std::vector<int> before = Cells(*env);
  for (float bad : {3.0f, 1.5f, std::nanf(""), -1.0f}) {
    for (int k = 0; k < kPlayers; ++k) buffers.obs[k].fill(-7.0f);
    const absl::Status status = StepWith(*env, buffers, kUp, bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(status.message()), HasSubstr("player_1")) << bad;
    EXPECT_EQ(Cells(*env), before) << bad;
    EXPECT_EQ(buffers.obs[0][0], -7.0f);
  }
  EXPECT_THAT(std::string(StepWith(*env, buffers, 7, kStay).message()), HasSubstr("player_0"));
  // The refused steps did not count: the limit of 2 falls on the second
  // good step.
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
  EXPECT_FALSE(buffers.results[0].truncated);
  ASSERT_TRUE(StepWith(*env, buffers, kStay, kStay).ok());
  EXPECT_TRUE(buffers.results[0].truncated);
}

TEST(PongDuelTest, SetStateRefusesACourtOutsideTheRulesAndChangesNothing) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  const std::vector<int> before = Cells(*env);
  for (const PongCourt& bad :
       {Court(10, 4, 7, 5, 1, 1), Court(4, -1, 7, 5, 1, 1), Court(4, 4, 0, 5, 1, 1), Court(4, 4, 15, 5, 1, 1),
        Court(4, 4, 7, 12, 1, 1), Court(4, 4, 7, 5, 0, 1), Court(4, 4, 7, 5, 1, 2)}) {
    EXPECT_EQ(env->SetState(bad).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(Cells(*env), before);
  }
}

// A fresh env of `seed` played by seeded random players until the episode
// ends: every observation and reward, in order.
std::vector<float> Episode(uint64_t seed) {
  Buffers buffers;
  auto env = MakeStarted(buffers, 0, seed);
  SeededRng players(100);
  std::vector<float> trace;
  for (int k = 0; k < kPlayers; ++k) trace.insert(trace.end(), buffers.obs[k].begin(), buffers.obs[k].end());
  while (!env->episode_over()) {
    EXPECT_TRUE(StepWith(*env, buffers, RandomAction(players), RandomAction(players)).ok());
    for (int k = 0; k < kPlayers; ++k) {
      trace.insert(trace.end(), buffers.obs[k].begin(), buffers.obs[k].end());
      trace.push_back(buffers.results[k].reward);
    }
  }
  return trace;
}

TEST(PongDuelTest, SameSeedGivesTheSameEpisodeAndOtherSeedsDiffer) {
  EXPECT_EQ(Episode(11), Episode(11));
  EXPECT_NE(Episode(11), Episode(12));
}

TEST(PongDuelTest, ScriptedPlayerMovesItsMiddleCellTowardTheBall) {
  SeededRng rng(3);
  // Own paddle at row 4 (middle cell 5); the ball's row decides.
  const std::array<float, kObs> above = {4.0f / 9, 0, 0.5f, 2.0f / 11, -1, 1};
  const std::array<float, kObs> level = {4.0f / 9, 0, 0.5f, 5.0f / 11, -1, 1};
  const std::array<float, kObs> below = {4.0f / 9, 0, 0.5f, 8.0f / 11, -1, 1};
  EXPECT_EQ(PongDuel::ScriptedAction(above.data(), 1.0, rng), kUp);
  EXPECT_EQ(PongDuel::ScriptedAction(level.data(), 1.0, rng), kStay);
  EXPECT_EQ(PongDuel::ScriptedAction(below.data(), 1.0, rng), kDown);
  // Skill 0 is a uniform random player: every action comes up.
  std::set<int> seen;
  for (int i = 0; i < 100; ++i) seen.insert(PongDuel::ScriptedAction(level.data(), 0.0, rng));
  EXPECT_THAT(seen, ElementsAre(kStay, kUp, kDown));
}

struct Tally {
  int wins = 0;
  int losses = 0;
  int draws = 0;
};

// `episodes` seeded episodes of the scripted player of `skill` on side
// `side` against a uniform random player.
Tally ScriptedAgainstRandom(double skill, int side, int episodes) {
  Buffers buffers;
  auto env = PongDuel::Create(0, 21 + side).value();
  SeededRng scripted_rng(31), random_rng(41);
  Tally tally;
  for (int episode = 0; episode < episodes; ++episode) {
    env->Reset(buffers.obs_rows());
    while (!env->episode_over()) {
      std::array<float, kPlayers> actions;
      actions[side] = PongDuel::ScriptedAction(buffers.obs[side].data(), skill, scripted_rng);
      actions[1 - side] = RandomAction(random_rng);
      EXPECT_TRUE(StepWith(*env, buffers, actions[0], actions[1]).ok());
    }
    if (env->Winner() == side) ++tally.wins;
    if (env->Winner() == 1 - side) ++tally.losses;
    if (env->Winner() == -1) ++tally.draws;
  }
  std::cout << "skill " << skill << " as player_" << side << " against random over " << episodes
            << " episodes: " << tally.wins << " won, " << tally.losses << " lost, " << tally.draws << " drawn\n";
  return tally;
}

TEST(PongDuelTest, PerfectScriptedPlayerNeverMissesAndBeatsARandomPlayerFromEitherSide) {
  for (int side = 0; side < kPlayers; ++side) {
    const Tally tally = ScriptedAgainstRandom(1.0, side, 200);
    EXPECT_EQ(tally.losses, 0) << "side " << side;
    EXPECT_GT(tally.wins, 0.9 * 200) << "side " << side;
  }
}

TEST(PongDuelTest, DefaultSkillScriptedPlayerStillBeatsARandomPlayerMostly) {
  for (int side = 0; side < kPlayers; ++side) {
    const Tally tally = ScriptedAgainstRandom(PongDuel::kDefaultScriptedSkill, side, 200);
    EXPECT_GT(tally.wins, tally.losses) << "side " << side;
    EXPECT_GT(tally.losses, 0) << "side " << side << ": skill 0.7 should miss sometimes";
  }
}

TEST(PongDuelTest, RendersPaddlesAndBallAsWhiteCellsDeterministicallyWithoutChangingTheState) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  EXPECT_THAT(env->cameras(), ElementsAre("default"));
  EXPECT_EQ(env->render_fps(), 15);
  ASSERT_TRUE(env->SetState(Court(2, 7, 5, 3, 1, -1)).ok());
  const std::vector<int> cells = Cells(*env);

  // 160x120: 10 pixels a cell; cell (x, row) is pixels 10x..10x+9 across,
  // 10row..10row+9 down.
  std::vector<uint8_t> first(160 * 120 * 3), second(160 * 120 * 3);
  ASSERT_TRUE(env->Render(160, 120, "default", first.data()).ok());
  ASSERT_TRUE(env->Render(160, 120, "default", second.data()).ok());
  EXPECT_EQ(first, second);
  EXPECT_EQ(Cells(*env), cells);

  auto pixel = [&](int col, int row) {
    const uint8_t* p = &first[(row * 160 + col) * 3];
    return std::vector<int>{p[0], p[1], p[2]};
  };
  const std::vector<int> white = {255, 255, 255};
  const std::vector<int> dark = {16, 16, 24};
  EXPECT_EQ(pixel(5, 15), dark);   // player_0's column, row 1
  EXPECT_EQ(pixel(5, 20), white);  // rows 2..4
  EXPECT_EQ(pixel(9, 49), white);
  EXPECT_EQ(pixel(5, 50), dark);     // row 5
  EXPECT_EQ(pixel(10, 30), dark);    // column 1
  EXPECT_EQ(pixel(155, 65), dark);   // player_1's column, row 6
  EXPECT_EQ(pixel(155, 75), white);  // rows 7..9
  EXPECT_EQ(pixel(159, 99), white);
  EXPECT_EQ(pixel(155, 105), dark);
  EXPECT_EQ(pixel(55, 35), white);  // the ball at (5, 3)
  EXPECT_EQ(pixel(65, 35), dark);
  EXPECT_EQ(pixel(55, 45), dark);
  int white_pixels = 0;
  for (int row = 0; row < 120; ++row) {
    for (int col = 0; col < 160; ++col) white_pixels += pixel(col, row) == white;
  }
  EXPECT_EQ(white_pixels, 7 * 100);  // two paddles of 3 cells and the ball
}

TEST(PongDuelTest, RenderRefusesAnUnknownCameraOrAnEmptyImage) {
  Buffers buffers;
  auto env = MakeStarted(buffers);
  std::vector<uint8_t> rgb(8 * 8 * 3);
  EXPECT_EQ(env->Render(8, 8, "top", rgb.data()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(env->Render(0, 8, "default", rgb.data()).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rill::envs::games
