#include "common/spelling.h"

#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(EditDistanceTest, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(EditDistance("", ""), 0);
  EXPECT_EQ(EditDistance("launch", "launch"), 0);
  EXPECT_EQ(EditDistance("lanch", "launch"), 1);     // a letter left out
  EXPECT_EQ(EditDistance("launchh", "launch"), 1);   // one too many
  EXPECT_EQ(EditDistance("lauxch", "launch"), 1);    // one replaced
  EXPECT_EQ(EditDistance("luanch", "launch"), 1);    // two swapped
  EXPECT_EQ(EditDistance("LAUNCH", "launch"), 0);    // case does not count
  EXPECT_EQ(EditDistance("", "abc"), 3);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
}

TEST(ClosestNameTest, FindsTheLikelyTypoAndNothingForAnotherWord) {
  const std::vector<std::string> commands = {"launch", "learner", "replay", "actor", "export", "envs"};
  EXPECT_EQ(ClosestName("lanch", commands), "launch");
  EXPECT_EQ(ClosestName("lerner", commands), "learner");
  EXPECT_EQ(ClosestName("env", commands), "envs");
  EXPECT_EQ(ClosestName("train", commands), std::nullopt);
  EXPECT_EQ(ClosestName("launch", commands), std::nullopt);  // not a typo
  const std::vector<std::string> flags = {"num_actors", "max_env_steps", "run_dir", "tls", "seed"};
  EXPECT_EQ(ClosestName("nm_actors", flags), "num_actors");
  EXPECT_EQ(ClosestName("max_envsteps", flags), "max_env_steps");
  EXPECT_EQ(ClosestName("lr", flags), std::nullopt);
  EXPECT_EQ(ClosestName("sed", flags), "seed");
}

TEST(ClosestNameTest, PrefersTheCloserNameAndTheEarlierOnATie) {
  EXPECT_EQ(ClosestName("actr", {"actors", "actor"}), "actor");
  EXPECT_EQ(ClosestName("abcx", {"abcy", "abcz"}), "abcy");
}

TEST(DidYouMeanTest, ReadsAsTheEndOfAMessage) {
  EXPECT_EQ(DidYouMean("lanch", {"launch"}), " (did you mean 'launch'?)");
  EXPECT_EQ(DidYouMean("train", {"launch"}), "");
}

}  // namespace
}  // namespace rill
