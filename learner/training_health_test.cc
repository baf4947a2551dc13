#include "learner/training_health.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace rill::learner {
namespace {

std::vector<std::string> Kinds(const std::vector<HealthWarning>& warnings) {
  std::vector<std::string> kinds;
  for (const HealthWarning& warning : warnings) kinds.push_back(warning.kind);
  return kinds;
}

TEST(TrainingHealthTest, AHealthyIntervalRaisesNothing) {
  TrainingHealth health(/*num_actions=*/3, "learner.impala.entropy_cost");
  EXPECT_TRUE(health.Observe(100, {{"policy", 0.5, true}, {"baseline", 12.0, true}, {"policy_entropy", 1.0, false}},
                             /*stale_items=*/1, /*sampled_items=*/64, /*max_policy_lag=*/100)
                  .empty());
}

TEST(TrainingHealthTest, ANonFiniteOrExplodedLossWarnsOnceEach) {
  TrainingHealth health(0, "");
  std::vector<HealthWarning> raised =
      health.Observe(50, {{"critic", std::numeric_limits<double>::quiet_NaN(), true}, {"actor", 2e6, true}}, 0, 0, 0);
  EXPECT_EQ(Kinds(raised), (std::vector<std::string>{"nonfinite_loss", "exploding_loss"}));
  EXPECT_NE(raised[0].message.find("critic loss is nan after 50 updates"), std::string::npos) << raised[0].message;
  EXPECT_NE(raised[1].message.find("actor loss is 2e+06"), std::string::npos) << raised[1].message;
  // Once per kind.
  EXPECT_TRUE(health.Observe(60, {{"critic", std::numeric_limits<double>::infinity(), true}}, 0, 0, 0).empty());
  // A statistic that is not a loss may be large.
  TrainingHealth other(0, "");
  EXPECT_TRUE(other.Observe(1, {{"q_mean", 5e6, false}}, 0, 0, 0).empty());
}

TEST(TrainingHealthTest, AnEarlyEntropyCollapseOfADiscretePolicyWarnsNamingTheSetting) {
  TrainingHealth health(/*num_actions=*/3, "learner.impala.entropy_cost");
  const double maximum = std::log(3.0);
  EXPECT_TRUE(health.Observe(100, {{"policy_entropy", 0.2 * maximum, false}}, 0, 0, 0).empty());
  std::vector<HealthWarning> raised = health.Observe(150, {{"policy_entropy", 0.01 * maximum, false}}, 0, 0, 0);
  ASSERT_EQ(Kinds(raised), std::vector<std::string>{"entropy_collapse"});
  EXPECT_NE(raised[0].message.find("after only 150 updates"), std::string::npos) << raised[0].message;
  EXPECT_NE(raised[0].message.find("raise learner.impala.entropy_cost"), std::string::npos) << raised[0].message;
  // A policy that has learned may end near deterministic: no warning late.
  TrainingHealth late(3, "learner.impala.entropy_cost");
  EXPECT_TRUE(late.Observe(TrainingHealth::kEarlyUpdates + 1, {{"policy_entropy", 0.0, false}}, 0, 0, 0).empty());
  // Nor for a Gaussian policy (no maximum), nor for the entropy loss term.
  TrainingHealth continuous(0, "");
  EXPECT_TRUE(continuous.Observe(10, {{"policy_entropy", -3.0, false}}, 0, 0, 0).empty());
  TrainingHealth loss_term(3, "");
  EXPECT_TRUE(loss_term.Observe(10, {{"entropy", 0.0, true}}, 0, 0, 0).empty());
}

TEST(TrainingHealthTest, MostUnrollsDroppedAsStaleWarns) {
  TrainingHealth health(2, "");
  EXPECT_TRUE(health.Observe(10, {}, /*stale_items=*/10, /*sampled_items=*/64, /*max_policy_lag=*/4).empty());
  std::vector<HealthWarning> raised = health.Observe(20, {}, 40, 64, 4);
  ASSERT_EQ(Kinds(raised), std::vector<std::string>{"policy_lag"});
  EXPECT_NE(raised[0].message.find("40 of 64 sampled unrolls were older than learner.max_policy_lag (4 updates)"),
            std::string::npos)
      << raised[0].message;
}

}  // namespace
}  // namespace rill::learner
