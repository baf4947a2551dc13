#include "actor/ratings.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace rill::actor {
namespace {

// Elo's scale: 400 points are a factor of 10 in the odds.
constexpr double kEloScale = 400;

// The expected total score minus the actual one at `rating`: increasing
// in the rating, from -score to games - score.
double Excess(const std::vector<GamesAgainst>& records, double rating) {
  double excess = 0;
  for (const GamesAgainst& record : records) {
    excess += record.games * ExpectedScore(rating, record.opponent_rating) - record.score;
  }
  return excess;
}

}  // namespace

Outcome OutcomeOfReturn(double episode_return) {
  if (episode_return > 0) return Outcome::kWin;
  if (episode_return < 0) return Outcome::kLoss;
  return Outcome::kDraw;
}

void WinDrawLoss::Add(Outcome outcome) {
  switch (outcome) {
    case Outcome::kWin:
      ++wins;
      break;
    case Outcome::kDraw:
      ++draws;
      break;
    case Outcome::kLoss:
      ++losses;
      break;
  }
}

double ExpectedScore(double rating, double opponent_rating) {
  return 1 / (1 + std::pow(10.0, (opponent_rating - rating) / kEloScale));
}

absl::StatusOr<double> MaximumLikelihoodRating(const std::vector<GamesAgainst>& records) {
  double games = 0, score = 0;
  double lowest = 0, highest = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const GamesAgainst& record = records[i];
    if (record.games < 0 || !(record.score >= 0 && record.score <= record.games)) {
      return absl::InvalidArgumentError(absl::StrCat("record ", i, ": score ", record.score, " of ", record.games,
                                                     " games is outside [0, games]"));
    }
    if (!std::isfinite(record.opponent_rating)) {
      return absl::InvalidArgumentError(absl::StrCat("record ", i, ": opponent rating ", record.opponent_rating,
                                                     " is not finite"));
    }
    lowest = i == 0 ? record.opponent_rating : std::min(lowest, record.opponent_rating);
    highest = i == 0 ? record.opponent_rating : std::max(highest, record.opponent_rating);
    games += record.games;
    score += record.score;
  }
  if (games == 0) return absl::InvalidArgumentError("no games to rate by");
  if (score <= 0 || score >= games) {
    return absl::InvalidArgumentError(absl::StrCat("a score of ", score, " in ", games,
                                                   " games has no finite maximum-likelihood rating"));
  }
  // Bracket the root, then halve: Excess is monotone, so this cannot miss,
  // and 200 halvings of any bracket reach a double's precision.
  double step = kEloScale;
  double lo = lowest - step, hi = highest + step;
  while (Excess(records, lo) > 0) lo -= (step *= 2);
  step = kEloScale;
  while (Excess(records, hi) < 0) hi += (step *= 2);
  for (int i = 0; i < 200 && hi - lo > 1e-9; ++i) {
    const double mid = 0.5 * (lo + hi);
    (Excess(records, mid) < 0 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

absl::StatusOr<double> RateVersion(std::vector<GamesAgainst> records) {
  records.push_back(GamesAgainst{kAnchorRating, 1, 0.5});
  return MaximumLikelihoodRating(records);
}

double EloDifference(const WinDrawLoss& record) {
  const double score = record.score();
  return kEloScale * std::log10((score + 0.5) / (record.games() - score + 0.5));
}

}  // namespace rill::actor
