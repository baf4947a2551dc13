#include "cli/run_history.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::cli {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// Debian's Python with matplotlib, as `rill launch --plot_python` defaults.
constexpr char kPython[] = "/usr/bin/python3";

// A fresh run folder under the test's temporary directory.
std::string RunDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/metrics");
  return dir;
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Two evaluation rounds at 1000 and 2000 env steps, as the launcher took
// them from the evaluator's scalar log.
RunHistory TwoRounds() {
  RunHistory history;
  history.AddProgress(absl::Seconds(1), 1000, 10);
  history.AddProgress(absl::Seconds(2), 2000, 20);
  history.AddEvaluation({/*seconds=*/1, /*env_steps=*/1000, /*learner_updates=*/10, /*parameter_version=*/3,
                         /*return_mean=*/-12.5});
  history.AddEvaluation({/*seconds=*/2, /*env_steps=*/2000, /*learner_updates=*/20, /*parameter_version=*/7,
                         /*return_mean=*/-8.25});
  return history;
}

TEST(RunHistoryTest, EnvFiguresOfTheEvaluatorsRoundsArePlottedAndListed) {
  const std::string dir = RunDir("env_figures");
  Write(dir + "/metrics/evaluator.jsonl",
        "{\"time\": 101.000, \"parameter_version\": 3, \"return_mean\": -12.5, \"env/landmark_distance\": 1.25, "
        "\"env/collisions\": 2}\n"
        "{\"time\": 102.000, \"parameter_version\": 7, \"return_mean\": -8.25, \"env/landmark_distance\": 0.75, "
        "\"env/collisions\": 0}\n");
  const PlotFiles files = WritePlots(TwoRounds(), dir, kPython);
  const std::string plots = dir + "/plots";
  EXPECT_THAT(files.pngs, Contains(plots + "/env_figures_by_env_steps.png")) << ReadFile(dir + "/logs/plot.log");
  EXPECT_THAT(files.pngs, Contains(plots + "/eval_return_by_env_steps.png"));
  EXPECT_GT(std::filesystem::file_size(plots + "/env_figures_by_env_steps.png"), 0u);
  EXPECT_THAT(files.csvs, Contains(plots + "/env_figures.csv"));
  EXPECT_EQ(ReadFile(plots + "/env_figures.csv"),
            "env_steps,landmark_distance,collisions\n1000,1.25,2\n2000,0.75,0\n");
}

TEST(RunHistoryTest, RoundsWithoutEnvFiguresDrawNoEnvFigurePlot) {
  const std::string dir = RunDir("no_env_figures");
  Write(dir + "/metrics/evaluator.jsonl",
        "{\"time\": 101.000, \"parameter_version\": 3, \"return_mean\": -12.5}\n"
        "{\"time\": 102.000, \"parameter_version\": 7, \"return_mean\": -8.25}\n");
  const PlotFiles files = WritePlots(TwoRounds(), dir, kPython);
  const std::string plots = dir + "/plots";
  EXPECT_THAT(files.pngs, Contains(plots + "/eval_return_by_env_steps.png")) << ReadFile(dir + "/logs/plot.log");
  EXPECT_THAT(files.pngs, Not(Contains(HasSubstr("/env_figures"))));
  EXPECT_THAT(files.csvs, Not(Contains(HasSubstr("/env_figures"))));
  EXPECT_FALSE(std::filesystem::exists(plots + "/env_figures_by_env_steps.png"));
  EXPECT_FALSE(std::filesystem::exists(plots + "/env_figures.csv"));
}

// A self-play run's rounds (actor/evaluator.h): the rating and the games
// won, drawn and lost against each kind of opponent, the first round
// having no past versions yet.
TEST(RunHistoryTest, SelfPlayRatingsArePlottedAndListed) {
  const std::string dir = RunDir("self_play");
  Write(dir + "/metrics/evaluator.jsonl",
        "{\"time\": 101.000, \"parameter_version\": 3, \"return_mean\": -12.5, \"rating\": 921.5, "
        "\"scripted/win_rate\": 0.375, \"scripted/draw_rate\": 0, \"scripted/loss_rate\": 0.625}\n"
        "{\"time\": 102.000, \"parameter_version\": 7, \"return_mean\": -8.25, \"rating\": 1200, "
        "\"scripted/win_rate\": 0.75, \"scripted/draw_rate\": 0, \"scripted/loss_rate\": 0.25, "
        "\"past/win_rate\": 0.5, \"past/draw_rate\": 0.25, \"past/loss_rate\": 0.25, \"past/versions\": 1}\n");
  const PlotFiles files = WritePlots(TwoRounds(), dir, kPython);
  const std::string plots = dir + "/plots";
  EXPECT_THAT(files.pngs, Contains(plots + "/self_play_by_env_steps.png")) << ReadFile(dir + "/logs/plot.log");
  EXPECT_GT(std::filesystem::file_size(plots + "/self_play_by_env_steps.png"), 0u);
  EXPECT_THAT(files.csvs, Contains(plots + "/self_play.csv"));
  EXPECT_EQ(ReadFile(plots + "/self_play.csv"),
            "env_steps,rating,scripted/win_rate,scripted/draw_rate,scripted/loss_rate,past/win_rate,"
            "past/draw_rate,past/loss_rate\n"
            "1000,921.5,0.375,0,0.625,,,\n"
            "2000,1200,0.75,0,0.25,0.5,0.25,0.25\n");
  const std::string other = RunDir("not_self_play");
  Write(other + "/metrics/evaluator.jsonl", "{\"time\": 101.000, \"parameter_version\": 3, \"return_mean\": -12.5}\n");
  const PlotFiles plain = WritePlots(TwoRounds(), other, kPython);
  EXPECT_THAT(plain.pngs, Not(Contains(HasSubstr("/self_play"))));
  EXPECT_THAT(plain.csvs, Not(Contains(HasSubstr("/self_play"))));
}

// A round the launcher never took into eval.csv (a resumed run's earlier
// part stopped after writing it) is skipped, not matched to the next row.
TEST(RunHistoryTest, ARoundMissingFromTheHistoryShiftsNoFigure) {
  const std::string dir = RunDir("missed_round");
  Write(dir + "/metrics/evaluator.jsonl",
        "{\"time\": 101.000, \"parameter_version\": 3, \"return_mean\": -12.5, \"env/collisions\": 2}\n"
        "{\"time\": 101.500, \"parameter_version\": 5, \"return_mean\": -30, \"env/collisions\": 9}\n"
        "{\"time\": 102.000, \"parameter_version\": 7, \"return_mean\": -8.25, \"env/collisions\": 1}\n");
  WritePlots(TwoRounds(), dir, kPython);
  EXPECT_EQ(ReadFile(dir + "/plots/env_figures.csv"), "env_steps,collisions\n1000,2\n2000,1\n");
}

}  // namespace
}  // namespace rill::cli
