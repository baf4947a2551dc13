// Self-play between policies: env e trains policy e mod P; each opponent
// policy is its newest version with probability p, otherwise one of its
// own pool's snapshots, which then acts on that policy's rows of the env
// alone, reading the policy's own observation width; only the trained
// policy's rows train.
#include "actor/policy_opponents.h"

#include <map>
#include <memory>
#include <vector>

#include "envs/catalog.h"
#include "gtest/gtest.h"
#include "policies/registry.h"
#include "policies/spec.h"

namespace rill::actor {
namespace {

// Predator-prey as agent rows: three predators (16 floats) are policy 0,
// the prey (14) policy 1.
const std::vector<int> kAgentPolicy = {0, 0, 0, 1};
constexpr int kAgents = 4;

v1::EnvConfig PredatorPrey() {
  v1::EnvConfig env;
  env.set_name("PredatorPrey-v0");
  return env;
}

// A policy's learner as the actor sees it: any version has a categorical
// policy for its rows; counts the fetches.
struct FakeLearner {
  envs::EnvSpec spec;
  std::map<int64_t, int> fetches;

  absl::StatusOr<parameters::ReceivedParameters> Fetch(int64_t version) {
    ++fetches[version];
    const v1::PolicySpec policy = policies::PolicySpecFor("categorical", spec, {8});
    parameters::ReceivedParameters received;
    received.version = version;
    received.parameters = *(*policies::MakePolicy(policy, static_cast<uint64_t>(version)))->ExportParameters();
    return received;
  }
};

struct Made {
  std::unique_ptr<LockstepEnvs> envs;
  std::vector<std::unique_ptr<FakeLearner>> learners;
  std::unique_ptr<PolicyOpponents> opponents;
};

Made Make(int num_envs, double latest_probability) {
  Made made;
  made.envs = *LockstepEnvs::Create(PredatorPrey(), num_envs, /*base_seed=*/3);
  EXPECT_TRUE(made.envs->ResetAll().ok());
  std::vector<PolicyOpponents::Side> sides;
  for (int p = 0; p < 2; ++p) {
    auto learner = std::make_unique<FakeLearner>();
    learner->spec = *envs::PolicyRowSpec(PredatorPrey(), kAgentPolicy, p);
    FakeLearner* fake = learner.get();
    sides.push_back({learner->spec, [fake](int64_t version) { return fake->Fetch(version); }});
    made.learners.push_back(std::move(learner));
  }
  v1::SelfPlayConfig config;
  config.set_latest_probability(latest_probability);
  absl::StatusOr<std::unique_ptr<PolicyOpponents>> opponents =
      PolicyOpponents::Create(config, *made.envs, kAgentPolicy, std::move(sides), /*seed=*/9);
  EXPECT_TRUE(opponents.ok()) << opponents.status();
  if (opponents.ok()) made.opponents = *std::move(opponents);
  return made;
}

TEST(PolicyOpponentsTest, EachEnvTrainsOnePolicyInTurnAndOnlyItsRowsTrain) {
  Made made = Make(4, 0.0);
  ASSERT_NE(made.opponents, nullptr);
  PolicyOpponents& opponents = *made.opponents;
  EXPECT_EQ(opponents.num_policies(), 2);
  for (int row = 0; row < 4 * kAgents; ++row) {
    const int env = row / kAgents;
    EXPECT_EQ(opponents.trained_policy(env), env % 2);
    // Envs 0 and 2 train the predators (rows of agents 0-2), 1 and 3 the prey.
    EXPECT_EQ(opponents.trained_row(row), kAgentPolicy[row % kAgents] == env % 2) << row;
  }
}

TEST(PolicyOpponentsTest, SnapshotsOfTheOtherPolicyPlayItsRowsFromEpisodeStarts) {
  Made made = Make(4, 0.0);
  ASSERT_NE(made.opponents, nullptr);
  PolicyOpponents& opponents = *made.opponents;
  LockstepEnvs& envs = *made.envs;
  // No pools yet: every opponent is its newest version.
  opponents.PickOpponents(envs);
  EXPECT_EQ(opponents.newest_picks(), 4) << "one opponent policy in each of 4 envs";
  EXPECT_EQ(opponents.snapshot_picks(), 0);

  opponents.Update(0, {10, 20});
  opponents.Update(1, {11});
  opponents.PickOpponents(envs);  // every env starts an episode after ResetAll
  EXPECT_EQ(opponents.snapshot_picks(), 4);
  for (int e = 0; e < 4; ++e) {
    const int trained = e % 2;
    EXPECT_EQ(opponents.opponent(e, trained), nullptr) << "env " << e << " trains policy " << trained;
    const FixedPolicySource* other = opponents.opponent(e, 1 - trained);
    ASSERT_NE(other, nullptr) << e;
    if (trained == 0) {
      EXPECT_EQ(other->version(), 11) << "the prey's pool";
    } else {
      EXPECT_TRUE(other->version() == 10 || other->version() == 20) << "the predators' pool: " << other->version();
    }
  }
  EXPECT_EQ(made.learners[1]->fetches, (std::map<int64_t, int>{{11, 1}})) << "fetched once, kept";

  // The snapshots overwrite their policy's rows only: every row's action
  // set to -1 first, then the snapshots act (sampling from 5 moves).
  std::vector<int> changed(4 * kAgents, 0);
  for (int round = 0; round < 30; ++round) {
    const ActionBuffers out = envs.buffers();
    for (int row = 0; row < envs.size(); ++row) out.action_indices[row] = -1;
    absl::Notification stop;
    ASSERT_TRUE(opponents.Act(envs, stop).ok());
    for (int row = 0; row < envs.size(); ++row) {
      const int64_t action = out.action_indices[row];
      if (action != -1) {
        EXPECT_TRUE(action >= 0 && action < 5) << row << ": " << action;
        ++changed[row];
      }
    }
  }
  for (int row = 0; row < envs.size(); ++row) {
    if (opponents.trained_row(row)) {
      EXPECT_EQ(changed[row], 0) << "row " << row << " is its env's trained policy's";
    } else {
      EXPECT_EQ(changed[row], 30) << "row " << row << " is a snapshot's";
    }
  }

  // Mid-episode nothing is picked again.
  const int64_t picks = opponents.newest_picks() + opponents.snapshot_picks();
  std::vector<uint8_t> next(envs.obs().size()), final_obs(envs.obs().size());
  std::vector<EnvOutcome> outcomes;
  for (int row = 0; row < envs.size(); ++row) envs.buffers().action_indices[row] = 0;
  ASSERT_TRUE(envs.Step(envs.size(), &next, &final_obs, &outcomes).ok());
  envs.obs().swap(next);
  opponents.PickOpponents(envs);
  EXPECT_EQ(opponents.newest_picks() + opponents.snapshot_picks(), picks);
}

TEST(PolicyOpponentsTest, PicksTheNewestWithItsProbability) {
  Made made = Make(8, 0.75);
  ASSERT_NE(made.opponents, nullptr);
  made.opponents->Update(0, {10, 20});
  made.opponents->Update(1, {11, 21});
  for (int round = 0; round < 500; ++round) made.opponents->PickOpponents(*made.envs);
  const double all = static_cast<double>(made.opponents->newest_picks() + made.opponents->snapshot_picks());
  EXPECT_EQ(all, 500 * 8);
  // 4,000 picks: a binomial standard deviation of 0.0068; 5 of them.
  EXPECT_NEAR(made.opponents->newest_picks() / all, 0.75, 0.035);
}

TEST(PolicyOpponentsTest, RefusesOnePolicyAndFewerEnvsThanPolicies) {
  v1::SelfPlayConfig config;
  std::unique_ptr<LockstepEnvs> envs = *LockstepEnvs::Create(PredatorPrey(), 1, 3);
  std::vector<PolicyOpponents::Side> one(1);
  EXPECT_EQ(PolicyOpponents::Create(config, *envs, {0, 0, 0, 0}, std::move(one), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<PolicyOpponents::Side> two(2);
  absl::Status few = PolicyOpponents::Create(config, *envs, kAgentPolicy, std::move(two), 1).status();
  EXPECT_EQ(few.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(few.message().find("1 envs for 2 policies"), absl::string_view::npos) << few;
}

}  // namespace
}  // namespace rill::actor
