// Ratings, against figures computed by hand on Elo's scale: a 75% score is
// 400 log10(3) = 190.85 points, a perfect 10 of 10 with the prior's draw
// is 400 log10(21) = 528.89.
#include "actor/ratings.h"

#include <cmath>

#include "gtest/gtest.h"

namespace rill::actor {
namespace {

TEST(RatingsTest, AnEvenScoreRatesEqualToTheOpponent) {
  EXPECT_NEAR(*MaximumLikelihoodRating({{1234, 10, 5}}), 1234, 1e-6);
  EXPECT_NEAR(*MaximumLikelihoodRating({{1234, 10, 5}, {1300, 4, 2}, {1100, 4, 2}}), 1219.57, 0.01)
      << "even against each: between them, near their games-weighted mean 1218.9";
  EXPECT_NEAR(*RateVersion({{kAnchorRating, 8, 4}}), kAnchorRating, 1e-6);
}

TEST(RatingsTest, SeventyFivePercentAgainstAnOpponentIsPlus191) {
  EXPECT_NEAR(*MaximumLikelihoodRating({{1000, 4, 3}}), 1000 + 400 * std::log10(3.0), 1e-6);
  EXPECT_NEAR(*MaximumLikelihoodRating({{1000, 4, 3}}), 1190.85, 0.01);
  EXPECT_NEAR(*MaximumLikelihoodRating({{1500, 20, 5}}), 1500 - 190.85, 0.01);
  EXPECT_NEAR(ExpectedScore(1190.85, 1000), 0.75, 1e-5);
}

TEST(RatingsTest, DrawsCountHalf) {
  WinDrawLoss record;
  for (int i = 0; i < 2; ++i) record.Add(Outcome::kWin);
  for (int i = 0; i < 2; ++i) record.Add(Outcome::kDraw);
  EXPECT_EQ(record.games(), 4);
  EXPECT_EQ(record.score(), 3);
  EXPECT_NEAR(*MaximumLikelihoodRating({{1000, record.games(), record.score()}}), 1190.85, 0.01);
}

TEST(RatingsTest, MoreWinsRateHigher) {
  double previous = -1e9;
  for (int wins = 0; wins <= 10; ++wins) {
    const double rating = *RateVersion({{1000, 10, static_cast<double>(wins)}, {1200, 10, 5}});
    EXPECT_GT(rating, previous) << wins << " wins";
    previous = rating;
  }
}

TEST(RatingsTest, APerfectRecordIsFiniteWithThePriorAndRefusedWithout) {
  EXPECT_NEAR(*RateVersion({{1000, 10, 10}}), 1000 + 400 * std::log10(21.0), 1e-6);
  EXPECT_NEAR(*RateVersion({{1000, 10, 0}}), 1000 - 400 * std::log10(21.0), 1e-6);
  EXPECT_EQ(MaximumLikelihoodRating({{1000, 10, 10}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MaximumLikelihoodRating({{1000, 10, 0}}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RatingsTest, NoGamesRateAtTheAnchor) {
  EXPECT_NEAR(*RateVersion({}), kAnchorRating, 1e-6);
  EXPECT_EQ(MaximumLikelihoodRating({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RatingsTest, ImpossibleRecordsAreRefusedNamingTheRecord) {
  absl::StatusOr<double> over = RateVersion({{1000, 4, 2}, {1000, 4, 5}});
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(over.status().message().find("record 1: score 5 of 4 games"), std::string::npos) << over.status();
  EXPECT_EQ(RateVersion({{NAN, 4, 2}}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RatingsTest, ReturnsAreWinsDrawsAndLossesBySign) {
  EXPECT_EQ(OutcomeOfReturn(1), Outcome::kWin);
  EXPECT_EQ(OutcomeOfReturn(0), Outcome::kDraw);
  EXPECT_EQ(OutcomeOfReturn(-1), Outcome::kLoss);
}

TEST(RatingsTest, EloDifferenceOfAHeadToHeadScore) {
  EXPECT_EQ(EloDifference(WinDrawLoss{}), 0);
  EXPECT_EQ(EloDifference(WinDrawLoss{3, 4, 3}), 0);
  EXPECT_NEAR(EloDifference(WinDrawLoss{10, 0, 0}), 400 * std::log10(21.0), 1e-9);
  // 15 of 20 with the prior's draw: 15.5 / 5.5.
  EXPECT_NEAR(EloDifference(WinDrawLoss{15, 0, 5}), 400 * std::log10(15.5 / 5.5), 1e-9);
  EXPECT_NEAR(EloDifference(WinDrawLoss{5, 0, 15}), -EloDifference(WinDrawLoss{15, 0, 5}), 1e-9);
}

}  // namespace
}  // namespace rill::actor
