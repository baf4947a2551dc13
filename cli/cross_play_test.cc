#include "cli/cross_play.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace rill::cli {
namespace {

// A line as roles/eval_main.cc's FormatEvalReport ends with it.
constexpr char kEvalLine[] =
    "{\"episodes\":200,\"return_mean\":-3.25,\"return_std\":1.5,\"return_min\":-9,\"return_max\":4,"
    "\"length_mean\":25,\"parameter_version\":14001,\"env\":\"PredatorPrey-v0\",\"checkpoint\":\"/r/a\","
    "\"config\":\"/r/a/config.textpb\",\"sampled_actions\":false,\"opponent_checkpoint\":\"/r/b\","
    "\"opponent_agents\":[\"agent_0\"],\"env_metrics\":{\"touches\":1.08,\"wins\":nan}}";

TEST(CrossPlayTest, ReadsTheReturnAndTheEnvsFiguresOfEvalsJsonLine) {
  absl::StatusOr<CrossPlayGame> game = ParseEvalJson(kEvalLine);
  ASSERT_TRUE(game.ok()) << game.status();
  EXPECT_EQ(game->return_mean, -3.25);
  ASSERT_EQ(game->figures.size(), 2u);
  EXPECT_EQ(game->figures.at("touches"), 1.08);
  EXPECT_TRUE(std::isnan(game->figures.at("wins")));

  absl::StatusOr<CrossPlayGame> plain = ParseEvalJson("{\"episodes\":3,\"return_mean\":500,\"env\":\"CartPole-v1\"}");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->return_mean, 500);
  EXPECT_TRUE(plain->figures.empty());
}

TEST(CrossPlayTest, ALineThatIsNotEvalsJsonIsInvalidArgumentQuotingIt) {
  for (const std::string line : {"", "eval: 3 episodes of CartPole-v1", "{\"episodes\":3}",
                                 "{\"return_mean\":x}"}) {
    absl::StatusOr<CrossPlayGame> game = ParseEvalJson(line);
    EXPECT_EQ(game.status().code(), absl::StatusCode::kInvalidArgument) << line;
  }
  absl::StatusOr<CrossPlayGame> bad = ParseEvalJson("{\"return_mean\":1,\"env_metrics\":{\"touches\":many}}");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "touches")) << bad.status();
}

// Rows: the setting of the other agents (the game's `setting`); columns:
// the named agents' (its `opponent`); each cell over its seeds.
TEST(CrossPlayTest, EachCellIsItsPairsSpreadOverSeeds) {
  std::vector<CrossPlayGame> games;
  auto add = [&games](size_t setting, size_t opponent, int64_t seed, double touches) {
    CrossPlayGame game;
    game.setting = setting;
    game.opponent = opponent;
    game.seed = seed;
    game.return_mean = 10.0 * setting + opponent;
    game.figures["touches"] = touches;
    games.push_back(game);
  };
  add(0, 0, 1, 1.0);
  add(0, 0, 2, 2.0);
  add(0, 1, 1, 0.5);
  add(0, 1, 2, 0.7);
  add(1, 0, 1, 3.0);
  add(1, 1, 1, 0.25);
  CrossPlayOptions options;
  options.agents = {"agent_0"};
  const std::string tables = CrossPlayTables(games, {"critic=CENTRALISED", "critic=OWN"}, options);
  EXPECT_TRUE(absl::StrContains(tables, "### mean return\n\n| the others \\ agent_0 | critic=CENTRALISED | critic=OWN |"))
      << tables;
  EXPECT_TRUE(absl::StrContains(tables, "### touches")) << tables;
  // touches: (1, 2) -> 1.5 ± 0.71; (0.5, 0.7) -> 0.6 ± 0.14; one seed each below.
  EXPECT_TRUE(absl::StrContains(tables, "| critic=CENTRALISED | 1.5 ± 0.71 (2) | 0.6 ± 0.14 (2) |")) << tables;
  EXPECT_TRUE(absl::StrContains(tables, "| critic=OWN | 3 (1) | 0.25 (1) |")) << tables;
  EXPECT_TRUE(absl::StrContains(tables, "| critic=OWN | 10 (1) | 11 (1) |")) << tables;
}

}  // namespace
}  // namespace rill::cli
