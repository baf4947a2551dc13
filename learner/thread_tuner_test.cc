#include "learner/thread_tuner.h"

#include <cmath>
#include <map>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::learner {
namespace {

using ::testing::ElementsAre;
using ::testing::MatchesRegex;

// A learner's update under a cost model: milliseconds per update at each
// thread count, which a test changes as neighbours come and go, with a
// repeatable +-3% jitter.
class FakeUpdates {
 public:
  explicit FakeUpdates(int max_threads, ThreadTuner::Options options = {})
      : tuner_(WithMax(options, max_threads), [this](int n) { sets_.push_back(n); }) {}

  void set_costs(std::map<int, double> ms) { ms_ = std::move(ms); }

  // Runs updates for `seconds` of update time.
  void Run(double seconds) {
    double spent = 0;
    while (spent < seconds) {
      const double jitter = 1 + 0.03 * std::sin(static_cast<double>(++count_) * 1.7);
      const double ms = ms_.at(tuner_.threads()) * jitter;
      tuner_.Observe(absl::Microseconds(1e3 * ms));
      spent += ms / 1e3;
    }
  }

  // Update time until the tuner keeps `threads`, or -1 after `limit`.
  double SecondsUntilKept(int threads, double limit) {
    double spent = 0;
    while (tuner_.kept() != threads || tuner_.threads() != threads) {
      if (spent > limit) return -1;
      Run(0.01);
      spent += 0.01;
    }
    return spent;
  }

  ThreadTuner& tuner() { return tuner_; }
  const std::vector<int>& sets() const { return sets_; }

 private:
  static ThreadTuner::Options WithMax(ThreadTuner::Options options, int max_threads) {
    options.max_threads = max_threads;
    return options;
  }

  std::map<int, double> ms_;
  std::vector<int> sets_;
  int64_t count_ = 0;
  ThreadTuner tuner_;
};

// SAC on 2 cores, measured (`rill bench learner --bench_contention`).
const std::map<int, double> kAlone = {{2, 3.85}, {1, 7.1}};
const std::map<int, double> kBesideBusyProcess = {{2, 13.0}, {1, 7.5}};

TEST(ThreadCandidatesTest, HalveFromTheMostToOne) {
  EXPECT_THAT(ThreadCandidates(8), ElementsAre(8, 4, 2, 1));
  EXPECT_THAT(ThreadCandidates(6), ElementsAre(6, 3, 1));
  EXPECT_THAT(ThreadCandidates(2), ElementsAre(2, 1));
  EXPECT_THAT(ThreadCandidates(1), ElementsAre(1));
  EXPECT_THAT(ThreadCandidates(0), ElementsAre(1));
}

TEST(ThreadTunerTest, StartsOnTheMostThreads) {
  FakeUpdates updates(4);
  EXPECT_THAT(updates.sets(), ElementsAre(4));
  EXPECT_EQ(updates.tuner().threads(), 4);
  EXPECT_EQ(updates.tuner().kept(), 0);  // nothing measured yet
}

TEST(ThreadTunerTest, AloneKeepsEveryThread) {
  FakeUpdates updates(2);
  updates.set_costs(kAlone);
  EXPECT_GE(updates.SecondsUntilKept(2, 5), 0);
  // It measured both, then went back to 2.
  EXPECT_THAT(updates.sets(), ElementsAre(2, 1, 2));
  EXPECT_NEAR(updates.tuner().Measured()[0].second, 3.85e-3, 0.2e-3);
  EXPECT_NEAR(updates.tuner().Measured()[1].second, 7.1e-3, 0.3e-3);
  EXPECT_THAT(updates.tuner().Describe(),
              MatchesRegex("2 threads: 3\\.[0-9]+ ms per update, 1 thread: 7\\.[0-9]+ ms per update"));
}

TEST(ThreadTunerTest, BesideABusyProcessKeepsOneThread) {
  FakeUpdates updates(2);
  updates.set_costs(kBesideBusyProcess);
  EXPECT_GE(updates.SecondsUntilKept(1, 5), 0);
  updates.Run(60);
  EXPECT_EQ(updates.tuner().threads(), 1);
  EXPECT_EQ(updates.tuner().changes(), 0);  // kept 1 at the first probe, and since
}

TEST(ThreadTunerTest, FollowsANeighbourThatComesAndGoes) {
  FakeUpdates updates(2);
  updates.set_costs(kAlone);
  updates.Run(30);
  ASSERT_EQ(updates.tuner().kept(), 2);
  // A busy process starts: 2 threads' updates take 3.4x as long, a drift
  // the next window sees.
  updates.set_costs(kBesideBusyProcess);
  const double to_one = updates.SecondsUntilKept(1, 5);
  EXPECT_GE(to_one, 0);
  EXPECT_LT(to_one, 2.0);
  // It stops: 1 thread is a little faster, inside the drift, so the next
  // scheduled probe (10 s after the change) finds 2 threads again.
  updates.set_costs(kAlone);
  const double to_two = updates.SecondsUntilKept(2, 30);
  EXPECT_GE(to_two, 0);
  EXPECT_LT(to_two, 12.0);
  EXPECT_EQ(updates.tuner().changes(), 2);
}

TEST(ThreadTunerTest, KeepsItsCountAgainstOneWithinTheMarginAndProbesLessOften) {
  FakeUpdates updates(2);
  updates.set_costs({{2, 4.0}, {1, 4.1}});
  updates.Run(600);
  EXPECT_EQ(updates.tuner().kept(), 2);
  EXPECT_EQ(updates.tuner().changes(), 0);
  // Rechecks after 10, 20, 40, 80, 80, ... s: 10 probes in 600 s, not 60.
  EXPECT_LE(updates.tuner().probes(), 11);
  EXPECT_GE(updates.tuner().probes(), 8);
}

TEST(ThreadTunerTest, FewerThreadsThatAreNoSlowerWinWithinTheMargin) {
  // PPO on HalfCheetah beside its actors (`rill bench system`): a second
  // thread bought nothing, and the first probe had kept it.
  FakeUpdates updates(2);
  updates.set_costs({{2, 157.0}, {1, 150.0}});
  EXPECT_GE(updates.SecondsUntilKept(1, 30), 0);
  EXPECT_EQ(updates.tuner().changes(), 0);  // kept 1 at the first probe
  updates.Run(120);
  EXPECT_EQ(updates.tuner().kept(), 1);  // 2 is not faster by the margin
  EXPECT_EQ(updates.tuner().changes(), 0);
}

TEST(ThreadTunerTest, RechecksMeasureOnlyTheKeptCountsNeighbours) {
  FakeUpdates updates(8);
  updates.set_costs({{8, 6.0}, {4, 3.0}, {2, 4.0}, {1, 7.0}});
  EXPECT_GE(updates.SecondsUntilKept(4, 5), 0);
  EXPECT_THAT(updates.sets(), ElementsAre(8, 4, 2, 1, 4));
  const size_t first_probe = updates.sets().size();
  updates.Run(12);  // one recheck: 2, then 8, then 4 itself
  const std::vector<int> later(updates.sets().begin() + first_probe, updates.sets().end());
  EXPECT_THAT(later, ElementsAre(8, 2, 4));
  EXPECT_EQ(updates.tuner().kept(), 4);
}

TEST(ThreadTunerTest, SlowFirstUpdatesAreNotMeasured) {
  FakeUpdates updates(2);
  updates.set_costs({{2, 500.0}, {1, 7.1}});  // cold caches, allocations
  updates.Run(3.0);  // 6 or 7 updates, inside the 8 not measured
  updates.set_costs(kAlone);
  EXPECT_GE(updates.SecondsUntilKept(2, 5), 0);
  EXPECT_EQ(updates.tuner().changes(), 0);
}

TEST(ThreadTunerTest, OneCoreLeavesNothingToTune) {
  FakeUpdates updates(1);
  updates.set_costs({{1, 5.0}});
  updates.Run(30);
  EXPECT_THAT(updates.sets(), ElementsAre(1));
  EXPECT_EQ(updates.tuner().kept(), 1);
  EXPECT_EQ(updates.tuner().probes(), 0);
}

}  // namespace
}  // namespace rill::learner
