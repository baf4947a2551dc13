// OpponentSeats over PongDuel-v0's agent rows: an opponent's rows get its
// own actions for their observations, every other row keeps the loop's;
// envs without an opponent are untouched; a recurrent opponent and rows
// that are not a two-player game's are refused.
#include "actor/opponent_seats.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "policies/registry.h"
#include "policies/spec.h"

namespace rill::actor {
namespace {

using ::testing::HasSubstr;

constexpr int kEnvs = 4;
constexpr int64_t kUntouched = 7;  // no PongDuel action: what the loop's "policy" wrote

std::unique_ptr<LockstepEnvs> PongDuels(bool joint = false) {
  v1::EnvConfig env;
  env.set_name("PongDuel-v0");
  env.set_joint_agents(joint);
  absl::StatusOr<std::unique_ptr<LockstepEnvs>> envs = LockstepEnvs::Create(env, kEnvs, /*base_seed=*/5);
  EXPECT_TRUE(envs.ok()) << envs.status();
  return *std::move(envs);
}

// A categorical policy of random weights for `envs`' rows.
std::unique_ptr<FixedPolicySource> Opponent(const LockstepEnvs& envs, uint64_t seed, int64_t version,
                                            int lstm_size = 0) {
  v1::PolicySpec spec = policies::PolicySpecFor("categorical", envs.spec(), {16});
  spec.set_lstm_size(lstm_size);
  const v1::ParameterSet parameters = *(*policies::MakePolicy(spec, seed))->ExportParameters();
  auto source = std::make_unique<FixedPolicySource>(envs.spec(), seed);
  EXPECT_TRUE(source->Load(parameters, version).ok());
  return source;
}

// What `policy` plays for row `row` alone.
int64_t ActionFor(FixedPolicySource& policy, const LockstepEnvs& envs, int row) {
  int64_t index = -1;
  ActionBuffers out;
  out.action_indices = &index;
  const absl::Notification stop;
  const ObservationRows rows{envs.obs_row(row), envs.spec().observation_type, 1, envs.obs_dim(), nullptr};
  EXPECT_TRUE(policy.Act(rows, /*deterministic=*/true, /*behaviour=*/false, stop, out).ok());
  return index;
}

TEST(OpponentSeatsTest, OpponentsActOnTheirSeatsOnly) {
  std::unique_ptr<LockstepEnvs> envs = PongDuels();
  ASSERT_TRUE(envs->ResetAll().ok());
  // Different observations on the rows: a few steps of fixed actions.
  std::vector<uint8_t> next(envs->obs().size()), final_obs(envs->obs().size());
  std::vector<EnvOutcome> outcomes;
  for (int step = 0; step < 5; ++step) {
    for (int i = 0; i < envs->size(); ++i) envs->buffers().action_indices[i] = (i + step) % 3;
    ASSERT_TRUE(envs->Step(envs->size(), &next, &final_obs, &outcomes).ok());
    envs->obs().swap(next);
  }
  absl::StatusOr<OpponentSeats> seats = OpponentSeats::For(*envs, 2);
  ASSERT_TRUE(seats.ok()) << seats.status();
  EXPECT_EQ(seats->num_envs(), kEnvs);
  std::unique_ptr<FixedPolicySource> a = Opponent(*envs, 11, 3);
  std::unique_ptr<FixedPolicySource> b = Opponent(*envs, 12, 9);
  seats->Seat(0, 1, a.get());
  seats->Seat(1, 0, b.get());
  seats->Seat(2, 0, a.get());
  seats->Seat(3, 1, nullptr);  // both seats the loop's
  const std::vector<bool> expected_opponent = {false, true, true, false, true, false, false, false};
  for (int row = 0; row < envs->size(); ++row) {
    EXPECT_EQ(seats->opponent_row(row), expected_opponent[row]) << "row " << row;
  }

  std::fill_n(envs->buffers().action_indices, envs->size(), kUntouched);
  const absl::Notification stop;
  ASSERT_TRUE(seats->Act(*envs, /*deterministic=*/true, stop).ok());
  for (int row = 0; row < envs->size(); ++row) {
    const int64_t acted = envs->action_index(row);
    if (!expected_opponent[row]) {
      EXPECT_EQ(acted, kUntouched) << "row " << row << " is the loop's";
      continue;
    }
    FixedPolicySource& policy = row == 2 ? *b : *a;
    EXPECT_EQ(acted, ActionFor(policy, *envs, row)) << "row " << row;
  }
}

TEST(OpponentSeatsTest, RefusesARecurrentOpponentAndRowsOfNoTwoPlayerGame) {
  std::unique_ptr<LockstepEnvs> envs = PongDuels();
  ASSERT_TRUE(envs->ResetAll().ok());
  absl::StatusOr<OpponentSeats> seats = OpponentSeats::For(*envs, 2);
  ASSERT_TRUE(seats.ok());
  std::unique_ptr<FixedPolicySource> lstm = Opponent(*envs, 13, 4, /*lstm_size=*/8);
  seats->Seat(1, 1, lstm.get());
  const absl::Notification stop;
  const absl::Status refused = seats->Act(*envs, true, stop);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("opponent version 4 is recurrent"));

  EXPECT_THAT(OpponentSeats::For(*envs, 3).status().message(), HasSubstr("PongDuel-v0 has 3 agents"));
  std::unique_ptr<LockstepEnvs> joint = PongDuels(/*joint=*/true);
  EXPECT_THAT(OpponentSeats::For(*joint, 2).status().message(), HasSubstr("not joint rows"));
}

}  // namespace
}  // namespace rill::actor
