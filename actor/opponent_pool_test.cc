// Self-play's opponent picks: the newest version with probability p and
// each snapshot with (1 - p) / K; snapshots fetched once and forgotten when
// they leave the pool; a snapshot that cannot be fetched leaves the
// episode to the newest version; only the trained seat's rows train.
#include "actor/opponent_pool.h"

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "policies/registry.h"
#include "policies/spec.h"

namespace rill::actor {
namespace {

TEST(ChooseOpponentTest, PicksTheNewestWithItsProbabilityAndSnapshotsUniformly) {
  const std::vector<int64_t> pool = {20, 40, 60, 80};
  std::mt19937_64 rng(7);
  std::map<int64_t, int> counts;
  constexpr int kPicks = 40000;
  for (int i = 0; i < kPicks; ++i) ++counts[ChooseOpponent(0.3, pool, rng)];
  // Binomial standard deviations: about 0.0023 for the newest, 0.0019 per
  // snapshot; the bounds are 5 of them.
  EXPECT_NEAR(counts[0] / static_cast<double>(kPicks), 0.3, 0.012);
  for (int64_t version : pool) EXPECT_NEAR(counts[version] / static_cast<double>(kPicks), 0.175, 0.01) << version;
  EXPECT_EQ(counts.size(), 5u);

  EXPECT_EQ(ChooseOpponent(0.3, {}, rng), 0) << "an empty pool: always the newest";
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ChooseOpponent(1.0, pool, rng), 0);
  for (int i = 0; i < 100; ++i) EXPECT_NE(ChooseOpponent(0.0, pool, rng), 0);
}

std::unique_ptr<LockstepEnvs> PongDuels(int num_envs) {
  v1::EnvConfig env;
  env.set_name("PongDuel-v0");
  return *LockstepEnvs::Create(env, num_envs, /*base_seed=*/3);
}

// A learner's pool as the actor sees it: any version but `missing` has a
// policy; counts the fetches.
struct FakeLearner {
  envs::EnvSpec spec;
  int64_t missing = -1;
  std::map<int64_t, int> fetches;

  absl::StatusOr<parameters::ReceivedParameters> Fetch(int64_t version) {
    ++fetches[version];
    if (version == missing) return absl::NotFoundError("gone from the pool");
    const v1::PolicySpec policy = policies::PolicySpecFor("categorical", spec, {8});
    parameters::ReceivedParameters received;
    received.version = version;
    received.parameters = *(*policies::MakePolicy(policy, static_cast<uint64_t>(version)))->ExportParameters();
    return received;
  }
};

TEST(OpponentPoolTest, SeatsSnapshotsOnTheUntrainedSeatAtEpisodeStarts) {
  constexpr int kEnvs = 6;
  std::unique_ptr<LockstepEnvs> envs = PongDuels(kEnvs);
  ASSERT_TRUE(envs->ResetAll().ok());
  FakeLearner learner{envs->spec()};
  learner.missing = 30;
  v1::SelfPlayConfig config;
  config.set_latest_probability(0.0);  // always a snapshot while there are some
  absl::StatusOr<std::unique_ptr<OpponentPool>> made = OpponentPool::Create(
      config, *envs, [&learner](int64_t version) { return learner.Fetch(version); }, /*seed=*/9);
  ASSERT_TRUE(made.ok()) << made.status();
  OpponentPool& pool = **made;
  for (int row = 0; row < 2 * kEnvs; ++row) {
    EXPECT_EQ(pool.trained_row(row), row % 2 == (row / 2) % 2) << row;
  }

  // No pool yet: the newest plays every env.
  pool.PickOpponents(*envs);
  EXPECT_EQ(pool.newest_picks(), kEnvs);
  for (int e = 0; e < kEnvs; ++e) EXPECT_EQ(pool.seats().opponent(e), nullptr);

  pool.Update({10, 20, 30});
  pool.PickOpponents(*envs);  // every row starts an episode after ResetAll
  EXPECT_EQ(pool.newest_picks() + pool.snapshot_picks(), 2 * kEnvs);
  for (int e = 0; e < kEnvs; ++e) {
    const FixedPolicySource* opponent = pool.seats().opponent(e);
    EXPECT_EQ(pool.seats().opponent_seat(e), 1 - e % 2) << "env " << e << " trains seat " << e % 2;
    // 30 could not be fetched: its env got the newest.
    if (opponent != nullptr) EXPECT_TRUE(opponent->version() == 10 || opponent->version() == 20) << e;
    for (int k = 0; k < 2; ++k) EXPECT_EQ(pool.seats().opponent_row(2 * e + k), opponent != nullptr && !pool.trained_row(2 * e + k));
  }
  for (const auto& [version, fetches] : learner.fetches) EXPECT_EQ(fetches, 1) << "version " << version << " fetched again";

  // Mid-episode: nothing is picked again.
  const int64_t picks = pool.newest_picks() + pool.snapshot_picks();
  std::vector<uint8_t> next(envs->obs().size()), final_obs(envs->obs().size());
  std::vector<EnvOutcome> outcomes;
  for (int i = 0; i < envs->size(); ++i) envs->buffers().action_indices[i] = 0;
  ASSERT_TRUE(envs->Step(envs->size(), &next, &final_obs, &outcomes).ok());
  pool.PickOpponents(*envs);
  EXPECT_EQ(pool.newest_picks() + pool.snapshot_picks(), picks);

  // Snapshots that left the pool are dropped once unseated; 30 is tried
  // again only when the learner's pool changes.
  bool had_20 = false;
  for (int e = 0; e < kEnvs; ++e) had_20 |= pool.seats().opponent(e) != nullptr && pool.seats().opponent(e)->version() == 20;
  learner.fetches.clear();
  pool.Update({20, 40});
  ASSERT_TRUE(envs->ResetAll().ok());
  for (int round = 0; round < 20; ++round) pool.PickOpponents(*envs);
  for (int e = 0; e < kEnvs; ++e) {
    ASSERT_NE(pool.seats().opponent(e), nullptr);
    EXPECT_TRUE(pool.seats().opponent(e)->version() == 20 || pool.seats().opponent(e)->version() == 40);
  }
  const std::map<int64_t, int> expected =
      had_20 ? std::map<int64_t, int>{{40, 1}} : std::map<int64_t, int>{{20, 1}, {40, 1}};
  EXPECT_EQ(learner.fetches, expected) << "each fetched once, 20 not again if it was kept";
}

}  // namespace
}  // namespace rill::actor
