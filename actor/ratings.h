// Elo-style ratings of the versions a self-play run evaluates
// (docs/multi-agent.md, "Self-play: ratings and head to head"), and the Elo
// difference a head-to-head score implies (`rill eval
// --opponent_checkpoint_dir`). Pure arithmetic, no state.
//
// The scale is Elo's: a player rated d above its opponent is expected to
// score 1 / (1 + 10^(-d / 400)) of a game (a win 1, a draw 1/2, a loss 0).
// A version's rating is the maximum-likelihood one given its scores
// against opponents whose ratings are fixed (the scripted player at
// kAnchorRating, earlier versions at the ratings they were given): the r
// at which its expected total score equals its actual one (Bradley-Terry's
// likelihood equation with the ties counted as half a win each, as Elo
// and BayesElo's simplest form do). A perfect record has no finite
// maximum, so RateVersion adds one virtual draw against the anchor: the
// smallest prior that keeps every record finite (10 wins of 10 against
// the anchor rate 400 log10(21) = +529, not +infinity), weighing as one
// game, so it pulls a round of eval.episodes games little, and it pulls
// toward the one rating that never moves.
//
// Thread-safe: functions only.
#ifndef RILL_ACTOR_RATINGS_H_
#define RILL_ACTOR_RATINGS_H_

#include <vector>

#include "absl/status/statusor.h"

namespace rill::actor {

// The scripted player's rating, and the first version's when there is no
// scripted player (its only record is the prior's draw).
inline constexpr double kAnchorRating = 1000;

// Games against one opponent of fixed rating.
struct GamesAgainst {
  double opponent_rating = kAnchorRating;
  int games = 0;
  // Wins plus half the draws, in [0, games].
  double score = 0;
};

// A game's outcome for the player whose seat's episode return it is, in a
// two-player zero-sum game (PongDuel-v0: +1 to the scorer, -1 to the other,
// 0 to both at the time limit): > 0 a win, < 0 a loss, 0 a draw.
enum class Outcome { kWin, kDraw, kLoss };
Outcome OutcomeOfReturn(double episode_return);

// Wins, draws and losses of one player against one opponent.
struct WinDrawLoss {
  int wins = 0, draws = 0, losses = 0;
  int games() const { return wins + draws + losses; }
  double score() const { return wins + 0.5 * draws; }
  void Add(Outcome outcome);
};

// The expected score of one game of a player rated `rating` against one
// rated `opponent_rating`.
double ExpectedScore(double rating, double opponent_rating);

// The maximum-likelihood rating given `records`. InvalidArgument naming the
// record for negative games, a score outside [0, games] or a non-finite
// rating, and for a total score of 0 or of every game (no finite maximum:
// RateVersion's prior is the cure), or no games at all.
absl::StatusOr<double> MaximumLikelihoodRating(const std::vector<GamesAgainst>& records);

// MaximumLikelihoodRating with one virtual draw against kAnchorRating
// added: finite for every record, kAnchorRating for none. Errors: a
// record's (as above).
absl::StatusOr<double> RateVersion(std::vector<GamesAgainst> records);

// The Elo difference of a player over its opponent implied by `record` of
// games between them, with the same one-draw prior: 400 log10((score +
// 1/2) / (games - score + 1/2)); 0 for an even score or no games.
double EloDifference(const WinDrawLoss& record);

}  // namespace rill::actor

#endif  // RILL_ACTOR_RATINGS_H_
