#include "actor/action_sources/row_subset.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace rill::actor {
namespace {

// Answers each row from its own observation: action = 10 * obs[0] + d,
// index = obs[0], log_prob = -obs[0], distribution = obs, core state the
// row's episode_start flag; counts the rows it was asked for.
class EchoSource final : public ActionSource {
 public:
  absl::Status Refresh() override { return absl::OkStatus(); }
  bool ready() const override { return true; }
  int64_t version() const override { return 7; }
  absl::Status Act(const ObservationRows& observations, bool, bool behaviour, const absl::Notification&,
                   const ActionBuffers& out) override {
    rows_seen.push_back(observations.rows);
    const auto* obs = static_cast<const float*>(observations.data);
    for (int r = 0; r < observations.rows; ++r) {
      const float x = obs[r * observations.obs_dim];
      for (int d = 0; d < out.action_dim; ++d) out.actions[r * out.action_dim + d] = 10 * x + d;
      out.action_indices[r] = static_cast<int64_t>(x);
      if (behaviour) {
        out.log_probs[r] = -x;
        for (int k = 0; k < out.distribution_width; ++k) {
          out.distributions[r * out.distribution_width + k] = obs[r * observations.obs_dim + k];
        }
      }
      if (out.core_states != nullptr) {
        out.core_states[r * out.state_width] = observations.episode_start != nullptr ? observations.episode_start[r] : -1;
      }
    }
    return absl::OkStatus();
  }
  std::vector<int> rows_seen;
};

TEST(RowSubsetSourceTest, ActsForItsRowsOnlyAndLeavesTheOthers) {
  // 5 rows of 2 floats: row i observes (i, i + 0.5).
  std::vector<float> obs;
  for (int i = 0; i < 5; ++i) obs.insert(obs.end(), {static_cast<float>(i), i + 0.5f});
  const std::vector<uint8_t> episode_start = {0, 1, 0, 1, 1};
  auto echo = std::make_unique<EchoSource>();
  EchoSource* inner = echo.get();
  RowSubsetSource source({1, 4}, std::move(echo));
  std::vector<float> actions(5 * 2, -99), log_probs(5, -99), distributions(5 * 2, -99), states(5, -99);
  std::vector<int64_t> indices(5, -99);
  ActionBuffers out{actions.data(), indices.data(), log_probs.data(), distributions.data(), 2, 2, states.data(), 1};
  const ObservationRows rows{obs.data(), envs::ObservationType::kFloat32, 5, 2, episode_start.data()};
  absl::Notification stop;
  ASSERT_TRUE(source.Act(rows, false, /*behaviour=*/true, stop, out).ok());
  EXPECT_EQ(inner->rows_seen, std::vector<int>{2});
  EXPECT_EQ(source.version(), 7);
  for (int row : {1, 4}) {
    EXPECT_EQ(actions[row * 2], 10 * row);
    EXPECT_EQ(actions[row * 2 + 1], 10 * row + 1);
    EXPECT_EQ(indices[row], row);
    EXPECT_EQ(log_probs[row], -row);
    EXPECT_EQ(distributions[row * 2 + 1], row + 0.5f);
    EXPECT_EQ(states[row], 1);  // both rows start an episode
  }
  for (int row : {0, 2, 3}) {
    EXPECT_EQ(actions[row * 2], -99) << row;
    EXPECT_EQ(indices[row], -99) << row;
    EXPECT_EQ(log_probs[row], -99) << row;
    EXPECT_EQ(states[row], -99) << row;
  }
}

TEST(RowSubsetSourceTest, RefusesRowsOutsideTheBatch) {
  std::vector<float> obs(2 * 3, 0);
  RowSubsetSource source({0, 3}, std::make_unique<EchoSource>());
  std::vector<float> actions(2 * 1);
  std::vector<int64_t> indices(2);
  ActionBuffers out{actions.data(), indices.data(), nullptr, nullptr, 1, 0, nullptr, 0};
  absl::Notification stop;
  const absl::Status status =
      source.Act({obs.data(), envs::ObservationType::kFloat32, 2, 3, nullptr}, false, false, stop, out);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_NE(status.message().find("row 3"), std::string::npos) << status;
}

TEST(RowSubsetSourceTest, APolicyOfNarrowerRowsSeesTheFirstValuesOfEach) {
  // 3 rows of 3 floats: row i observes (i, 10 + i, 20 + i); the inner
  // source's rows are 2 wide.
  std::vector<float> obs;
  for (int i = 0; i < 3; ++i) obs.insert(obs.end(), {static_cast<float>(i), 10.f + i, 20.f + i});
  auto echo = std::make_unique<EchoSource>();
  EchoSource* inner = echo.get();
  RowSubsetSource source({0, 2}, std::move(echo), /*obs_dim=*/2);
  std::vector<float> actions(3), log_probs(3, -99), distributions(3 * 2, -99);
  std::vector<int64_t> indices(3, -99);
  ActionBuffers out{actions.data(), indices.data(), log_probs.data(), distributions.data(), 1, 2, nullptr, 0};
  absl::Notification stop;
  ASSERT_TRUE(
      source.Act({obs.data(), envs::ObservationType::kFloat32, 3, 3, nullptr}, false, /*behaviour=*/true, stop, out)
          .ok());
  EXPECT_EQ(inner->rows_seen, std::vector<int>{2});
  // The echo's distribution is the row it saw: each row's first two values.
  EXPECT_EQ(distributions[0], 0);
  EXPECT_EQ(distributions[1], 10);
  EXPECT_EQ(distributions[4], 2);
  EXPECT_EQ(distributions[5], 12);
  EXPECT_EQ(distributions[2], -99);

  RowSubsetSource wider({0}, std::make_unique<EchoSource>(), /*obs_dim=*/4);
  const absl::Status status =
      wider.Act({obs.data(), envs::ObservationType::kFloat32, 3, 3, nullptr}, false, false, stop, out);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_NE(status.message().find("wider than the batch's of 3"), std::string::npos) << status;
}

// A lone source is handed back as it is; several act together, each on
// its policy's rows only.
TEST(ActingTogetherTest, ALoneSourceAsItIsAndSeveralEachOnItsPolicysRows) {
  std::vector<std::unique_ptr<ActionSource>> lone;
  lone.push_back(std::make_unique<EchoSource>());
  const ActionSource* alone = lone.front().get();
  EXPECT_EQ(ActingTogether(std::move(lone), {0}, {0}, 4).get(), alone);

  // Two envs of three agents, agent 0 the first policy's: rows 0 and 3.
  std::vector<std::unique_ptr<ActionSource>> two;
  auto first = std::make_unique<EchoSource>();
  auto second = std::make_unique<EchoSource>();
  EchoSource* first_seen = first.get();
  EchoSource* second_seen = second.get();
  two.push_back(std::move(first));
  two.push_back(std::move(second));
  std::unique_ptr<ActionSource> together = ActingTogether(std::move(two), {1, 1}, {0, 1, 1}, 6);
  std::vector<float> obs = {0, 1, 2, 3, 4, 5};
  std::vector<int64_t> indices(6, -99);
  ActionBuffers out{nullptr, indices.data(), nullptr, nullptr, 0, 0, nullptr, 0};
  const ObservationRows rows{obs.data(), envs::ObservationType::kFloat32, 6, 1, nullptr};
  absl::Notification stop;
  ASSERT_TRUE(together->Act(rows, false, /*behaviour=*/false, stop, out).ok());
  EXPECT_EQ(first_seen->rows_seen, std::vector<int>{2});
  EXPECT_EQ(second_seen->rows_seen, std::vector<int>{4});
  EXPECT_EQ(indices, (std::vector<int64_t>{0, 1, 2, 3, 4, 5})) << "each row's own answer, written back to it";
}

// Three agents per env, agent 0 policy 0 and agents 1 and 2 policy 1: in
// a batch of two envs, rows 0 and 3 and rows 1, 2, 4 and 5.
TEST(RowsOfPolicyTest, TakesEachEnvsRowsOfThePolicysAgents) {
  const std::vector<int> agent_policy = {0, 1, 1};
  EXPECT_EQ(RowsOfPolicy(agent_policy, 6, 0), (std::vector<int>{0, 3}));
  EXPECT_EQ(RowsOfPolicy(agent_policy, 6, 1), (std::vector<int>{1, 2, 4, 5}));
  EXPECT_TRUE(RowsOfPolicy(agent_policy, 6, 2).empty());
  EXPECT_TRUE(RowsOfPolicy({}, 6, 0).empty());
}

}  // namespace
}  // namespace rill::actor
