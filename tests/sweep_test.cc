// `rill sweep` as a user runs it: 2 settings x 2 seeds of short runs, each
// a real `rill launch`, then the comparison table, the per-run CSV and the
// plot of the mean curves.
#include <sys/wait.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/child_process.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

namespace fs = std::filesystem;

TEST(SweepTest, RunsTheGridAndComparesItsSettings) {
  const std::string dir = TempDir("sweep") + "/grid";
  auto sweep = ChildProcess::Start("sweep", RillBinary(),
                                   {"sweep", "--config=tests/configs/tiny_pendulum.textpb", "--seeds=1-2",
                                    "--set=learner.batch_size=16,32", "--max_env_steps=600", "--sweep_dir=" + dir},
                                   dir + "-sweep.log");
  ASSERT_TRUE(sweep.ok()) << sweep.status();
  std::optional<int> status = (*sweep)->WaitExit(absl::Seconds(300));
  ASSERT_TRUE(status.has_value()) << (*sweep)->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*sweep)->LogTail(30);
  // Every run is a normal run folder with its summary.
  for (const char* setting : {"batch_size=16", "batch_size=32"}) {
    for (const char* seed : {"seed-1", "seed-2"}) {
      const std::string run = dir + "/" + setting + "/" + seed;
      EXPECT_TRUE(absl::StrContains(ReadFile(run + "/summary.json"), "\"env_steps\": 600")) << run;
      EXPECT_TRUE(absl::StrContains(ReadFile(run + "/summary.json"), "\"seed\": " + std::string(seed).substr(5)))
          << run;
    }
    EXPECT_TRUE(absl::StrContains(ReadFile(dir + "/" + setting + "/config.textpb"),
                                  absl::StrCat("batch_size: ", std::string(setting).substr(11))));
  }
  const std::vector<std::string> rows = absl::StrSplit(ReadFile(dir + "/comparison.csv"), '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 5u) << ReadFile(dir + "/comparison.csv");
  EXPECT_EQ(rows[0], "setting,seed,status,final_return,best_return,wall_seconds,env_steps,env_steps_per_second");
  for (size_t i = 1; i < rows.size(); ++i) EXPECT_TRUE(absl::StrContains(rows[i], ",done,")) << rows[i];
  const std::string table = ReadFile(dir + "/comparison.md");
  EXPECT_TRUE(absl::StrContains(table, "| batch_size=16 | 2/2 | -")) << table;
  EXPECT_TRUE(absl::StrContains(table, "| batch_size=32 | 2/2 | -")) << table;
  EXPECT_TRUE(absl::StrContains(table, " ± ")) << table;
  EXPECT_TRUE(absl::StrContains(table, "sample standard deviation (n - 1)")) << table;
  EXPECT_TRUE(absl::StrContains((*sweep)->LogTail(30), "comparison: ")) << (*sweep)->LogTail(30);
  EXPECT_TRUE(fs::file_size(dir + "/return_by_env_steps.png") > 0) << ReadFile(dir + "/plot.log");
}

// A multi-agent task's own figures (cooperative navigation's landmark
// distance and collisions) are compared with the returns: MADDPG against
// its independent-critics baseline, an enum setting. Then cross-play sets
// agent_0 of each setting's run beside the other agents of each: four
// real `rill eval` games.
TEST(SweepTest, ComparesAnEnvsOwnFiguresAcrossSettingsAndInCrossPlay) {
  const std::string dir = TempDir("sweep-env") + "/grid";
  auto sweep = ChildProcess::Start("sweep-env", RillBinary(),
                                   {"sweep", "--config=tests/configs/tiny_cooperative_navigation_maddpg.textpb",
                                    "--seeds=1", "--set=learner.maddpg.critic=CENTRALISED,OWN",
                                    "--max_env_steps=1200", "--sweep_dir=" + dir, "--cross_play_agents=agent_0",
                                    "--cross_play_episodes=4"},
                                   dir + "-sweep.log");
  ASSERT_TRUE(sweep.ok()) << sweep.status();
  std::optional<int> status = (*sweep)->WaitExit(absl::Seconds(300));
  ASSERT_TRUE(status.has_value()) << (*sweep)->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*sweep)->LogTail(30);
  const std::vector<std::string> rows = absl::StrSplit(ReadFile(dir + "/comparison.csv"), '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 3u) << ReadFile(dir + "/comparison.csv");
  EXPECT_EQ(rows[0], "setting,seed,status,final_return,best_return,wall_seconds,env_steps,env_steps_per_second,"
                     "final_env_collisions,final_env_landmark_distance");
  for (size_t i = 1; i < rows.size(); ++i) {
    const std::vector<std::string> fields = absl::StrSplit(rows[i], ',');
    ASSERT_EQ(fields.size(), 10u) << rows[i];
    EXPECT_EQ(fields[2], "done") << rows[i];
    double distance = 0;
    EXPECT_TRUE(absl::SimpleAtod(fields[9], &distance) && distance > 0) << rows[i];
  }
  const std::string table = ReadFile(dir + "/comparison.md");
  EXPECT_TRUE(absl::StrContains(table, "| final collisions | final landmark_distance |")) << table;
  EXPECT_TRUE(absl::StrContains(table, "| critic=CENTRALISED | 1/1 | ")) << table;
  EXPECT_TRUE(absl::StrContains(table, "| critic=OWN | 1/1 | ")) << table;

  const std::vector<std::string> games = absl::StrSplit(ReadFile(dir + "/cross_play.csv"), '\n', absl::SkipEmpty());
  ASSERT_EQ(games.size(), 5u) << ReadFile(dir + "/cross_play.csv");
  EXPECT_EQ(games[0], "setting,opponent_setting,seed,return_mean,collisions,landmark_distance");
  std::map<std::string, double> returns;
  for (size_t i = 1; i < games.size(); ++i) {
    const std::vector<std::string> fields = absl::StrSplit(games[i], ',');
    ASSERT_EQ(fields.size(), 6u) << games[i];
    EXPECT_EQ(fields[2], "1") << games[i];
    double distance = 0;
    EXPECT_TRUE(absl::SimpleAtod(fields[5], &distance) && distance > 0) << games[i];
    ASSERT_TRUE(absl::SimpleAtod(fields[3], &returns[fields[0] + " vs " + fields[1]])) << games[i];
  }
  ASSERT_EQ(returns.size(), 4u) << ReadFile(dir + "/cross_play.csv");
  // Another run's agent_0 changes what the team scores.
  EXPECT_NE(returns["critic=CENTRALISED vs critic=OWN"], returns["critic=CENTRALISED vs critic=CENTRALISED"]);
  EXPECT_NE(returns["critic=OWN vs critic=CENTRALISED"], returns["critic=OWN vs critic=OWN"]);
  const std::string matrices = ReadFile(dir + "/cross_play.md");
  EXPECT_TRUE(absl::StrContains(matrices, "| the others \\ agent_0 | critic=CENTRALISED | critic=OWN |")) << matrices;
  EXPECT_TRUE(absl::StrContains(matrices, "### landmark_distance")) << matrices;
  EXPECT_TRUE(fs::exists(dir + "/cross_play/critic=OWN-vs-critic=CENTRALISED-seed-1.log"));
  EXPECT_TRUE(absl::StrContains((*sweep)->LogTail(40), "cross-play: ")) << (*sweep)->LogTail(40);
}

TEST(SweepTest, CrossPlayOfASingleSettingIsRefusedBeforeAnyRun) {
  const std::string dir = TempDir("sweep-cross-one") + "/grid";
  auto sweep = ChildProcess::Start("sweep-cross-one", RillBinary(),
                                   {"sweep", "--config=tests/configs/tiny_cooperative_navigation_maddpg.textpb",
                                    "--seeds=1", "--cross_play_agents=agent_0", "--sweep_dir=" + dir},
                                   dir + "-sweep.log");
  ASSERT_TRUE(sweep.ok());
  std::optional<int> status = (*sweep)->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_TRUE(absl::StrContains((*sweep)->LogTail(5), "--cross_play_agents")) << (*sweep)->LogTail(5);
  EXPECT_FALSE(fs::exists(dir + "/default/seed-1"));
}

TEST(SweepTest, ASettingTheConfigDoesNotHaveIsRefusedBeforeAnyRun) {
  const std::string dir = TempDir("sweep-bad") + "/grid";
  auto sweep = ChildProcess::Start("sweep-bad", RillBinary(),
                                   {"sweep", "--config=tests/configs/tiny_pendulum.textpb", "--seeds=1",
                                    "--set=learner.batch_sise=16", "--sweep_dir=" + dir},
                                   dir + "-sweep.log");
  ASSERT_TRUE(sweep.ok());
  std::optional<int> status = (*sweep)->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_TRUE(absl::StrContains((*sweep)->LogTail(5), "learner.batch_sise=16")) << (*sweep)->LogTail(5);
  EXPECT_FALSE(fs::exists(dir + "/batch_sise=16/seed-1"));
}

}  // namespace
}  // namespace rill::testing
