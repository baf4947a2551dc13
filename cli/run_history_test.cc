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

// A round is placed where it began (its version's env steps), which may be
// before the last progress row by the time the launcher reads it.
TEST(RunHistoryTest, InterpolatesBetweenTheRowsAroundATimeOrTheLastRowAndNow) {
  const RunHistory history = TwoRounds();  // rows at 1 s (1000, 10) and 2 s (2000, 20)
  EXPECT_EQ(history.Interpolate(0.5, 3, 3000, 30), std::make_pair(int64_t{500}, 5.0)) << "from the start";
  EXPECT_EQ(history.Interpolate(1.5, 3, 3000, 30), std::make_pair(int64_t{1500}, 15.0));
  EXPECT_EQ(history.Interpolate(2.5, 3, 3000, 30), std::make_pair(int64_t{2500}, 25.0));
}

// The processes start one after another: the evaluator's first round (of
// the untrained policy) begins before the actors step, though the first
// progress line comes after they have made 500 steps. Its place is
// counted back from that line at the pace after it, once there is one.
TEST(RunHistoryTest, ARoundOfTheStartUpIsPlacedBackAtThePaceAfterTheFirstRow) {
  RunHistory history;
  history.AddProgress(absl::Seconds(10), 500, 0);
  const auto [steps, updates] = history.Interpolate(7, 11, 700, 50);  // read at the next line, before its row
  EXPECT_EQ(steps, 350) << "linearly from the start, for want of a pace";
  history.AddEvaluation({/*seconds=*/7, steps, updates, /*parameter_version=*/1, /*return_mean=*/-1500});
  history.AddProgress(absl::Seconds(11), 700, 50);
  EXPECT_EQ(history.evaluations()[0].env_steps, 0) << "200 steps/s after the first row: none before 7.5 s";
  EXPECT_EQ(history.evaluations()[0].learner_updates, 0);
  EXPECT_EQ(history.Interpolate(9.5, 11, 700, 50).first, 400);
}

// A resumed part starts its processes again: a round of its first moments
// is placed at the resume's env steps, not between it and the part's first
// row.
TEST(RunHistoryTest, ARoundAtAResumeIsPlacedAtTheResumesEnvSteps) {
  const std::string plots = RunDir("resumed_round") + "/plots";
  ASSERT_TRUE(TwoRounds().WriteCsv(plots).ok());  // ends at 2 s, 2000 env steps
  RunHistory resumed;
  ASSERT_TRUE(resumed.ReadCsv(plots).ok());
  resumed.AddProgress(absl::Seconds(5), 2100, 21);
  resumed.AddProgress(absl::Seconds(6), 2300, 23);
  EXPECT_EQ(resumed.Interpolate(3, 6, 2300, 23), std::make_pair(int64_t{2000}, 20.0));
  EXPECT_EQ(resumed.Interpolate(4.75, 6, 2300, 23).first, 2050) << "200 steps/s back from 5 s";
}

// A resumed part reads the earlier parts' history back and goes on from its
// last row: that is where the plots draw the resume.
TEST(RunHistoryTest, ReadingTheEarlierPartsMarksTheResumeAtTheirLastRowOnce) {
  const std::string plots = RunDir("resumed") + "/plots";
  ASSERT_TRUE(TwoRounds().WriteCsv(plots).ok());
  RunHistory second;
  ASSERT_TRUE(second.ReadCsv(plots).ok());
  ASSERT_EQ(second.resumes().size(), 1u);
  EXPECT_EQ(second.resumes()[0].seconds, 2);
  EXPECT_EQ(second.resumes()[0].env_steps, 2000);
  EXPECT_EQ(second.resumes()[0].learner_updates, 20);
  // Stopped before its first progress line: the next part goes on from the
  // same row, one mark.
  ASSERT_TRUE(second.WriteCsv(plots).ok());
  RunHistory again;
  ASSERT_TRUE(again.ReadCsv(plots).ok());
  EXPECT_EQ(again.resumes().size(), 1u);
  again.AddProgress(absl::Seconds(5), 3000, 30);
  ASSERT_TRUE(again.WriteCsv(plots).ok());
  EXPECT_EQ(ReadFile(plots + "/resumes.csv"), "seconds,env_steps,learner_updates\n2.000,2000,20\n");
  RunHistory third;
  ASSERT_TRUE(third.ReadCsv(plots).ok());
  ASSERT_EQ(third.resumes().size(), 2u);
  EXPECT_EQ(third.resumes()[1].env_steps, 3000);
}

// Each actor logs its own env steps at each episode's end; an episode is
// drawn at the run's: its actor's count and the other's interpolated (back
// to 0 at its pace before its first episode). actor-0's process was
// restarted after 300 steps (its episode count starts again; its steps
// happen to be 300 again) and counts on from there; actor-1's log is of
// the format before the count.
TEST(RunHistoryTest, TrainingEpisodesArePlottedAtTheEnvStepsOfAllActors) {
  const std::string dir = RunDir("training");
  Write(dir + "/metrics/actor-0.jsonl",
        "{\"time\": 10, \"env_steps\": 100, \"return\": -10, \"length\": 100, \"episode\": 1}\n"
        "{\"time\": 20, \"env_steps\": 200, \"return\": -20, \"length\": 100, \"episode\": 2}\n"
        "{\"time\": 30, \"env_steps\": 300, \"return\": -30, \"length\": 100, \"episode\": 3}\n"
        "{\"time\": 40, \"env_steps\": 300, \"return\": -40, \"length\": 300, \"episode\": 1}\n");
  Write(dir + "/metrics/actor-1.jsonl",
        "{\"time\": 15, \"env_steps\": 100, \"return\": -15, \"length\": 100, \"parameter_version\": 1}\n"
        "{\"time\": 25, \"env_steps\": 200, \"return\": -25, \"length\": 100, \"parameter_version\": 2}\n");
  // A resumed run's history, so that every plot draws its resume too.
  ASSERT_TRUE(TwoRounds().WriteCsv(dir + "/plots").ok());
  RunHistory resumed;
  ASSERT_TRUE(resumed.ReadCsv(dir + "/plots").ok());
  resumed.AddProgress(absl::Seconds(3), 2600, 30);
  const PlotFiles files = WritePlots(resumed, dir, kPython);
  const std::string plots = dir + "/plots";
  EXPECT_THAT(files.pngs, Contains(plots + "/training_return_by_env_steps.png")) << ReadFile(dir + "/logs/plot.log");
  EXPECT_THAT(files.pngs, Contains(plots + "/updates_per_second.png"));
  EXPECT_THAT(files.csvs, Contains(plots + "/resumes.csv"));
  EXPECT_THAT(files.csvs, Contains(plots + "/training_return.csv"));
  EXPECT_EQ(ReadFile(plots + "/training_return.csv"),
            "env_steps,return\n150,-10\n250,-15\n350,-20\n450,-25\n500,-30\n800,-40\n");
}

}  // namespace
}  // namespace rill::cli
