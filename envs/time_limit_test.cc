#include "envs/time_limit.h"

#include "gtest/gtest.h"

namespace rill::envs {
namespace {

TEST(TimeLimitTest, TruncatesOnTheStepThatReachesTheLimit) {
  TimeLimit limit(3);
  limit.StartEpisode();
  for (int step = 1; step <= 3; ++step) {
    ASSERT_TRUE(limit.CheckCanStep("Test").ok()) << "step " << step;
    StepResult result;
    limit.EndStep(&result);
    EXPECT_EQ(result.truncated, step == 3) << "step " << step;
  }
  EXPECT_EQ(limit.elapsed_steps(), 3);
}

TEST(TimeLimitTest, TerminalStepAtTheLimitIsNotTruncated) {
  TimeLimit limit(1);
  limit.StartEpisode();
  StepResult result;
  result.terminated = true;
  limit.EndStep(&result);
  EXPECT_FALSE(result.truncated);
}

TEST(TimeLimitTest, RefusesStepsBeforeStartAndAfterEnd) {
  TimeLimit limit(5);
  EXPECT_EQ(limit.CheckCanStep("Test").code(),
            absl::StatusCode::kFailedPrecondition);
  limit.StartEpisode();
  StepResult result;
  result.terminated = true;
  limit.EndStep(&result);
  EXPECT_EQ(limit.CheckCanStep("Test").code(),
            absl::StatusCode::kFailedPrecondition);
  limit.StartEpisode();
  EXPECT_TRUE(limit.CheckCanStep("Test").ok());
  EXPECT_EQ(limit.elapsed_steps(), 0);
}

TEST(TimeLimitTest, ResolveTakesDefaultForZeroAndRejectsNegative) {
  EXPECT_EQ(ResolveMaxEpisodeSteps(0, 200).value(), 200);
  EXPECT_EQ(ResolveMaxEpisodeSteps(7, 200).value(), 7);
  EXPECT_EQ(ResolveMaxEpisodeSteps(-1, 200).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rill::envs
