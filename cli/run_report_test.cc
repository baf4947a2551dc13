#include "cli/run_report.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A fresh run folder under the test's temporary directory.
std::string RunDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void Write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

TEST(RunReportTest, EscapesTheConfigAndEveryTextFromTheFolder) {
  const std::string dir = RunDir("escapes");
  Write(dir + "/config.textpb", "name: \"<script>alert(1)</script>\" # a & b\n");
  Write(dir + "/run.json", R"({"config_name": "x<y", "env": "Pendulum-v1", "algorithm": "sac", "seed": 1})");
  const std::string html = RunReportHtml(dir);
  EXPECT_THAT(html, HasSubstr("name: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot; # a &amp; b"));
  EXPECT_THAT(html, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(html, HasSubstr("<h1>x&lt;y</h1>"));
  EXPECT_THAT(html, HasSubstr("<td>Pendulum-v1</td>"));
}

TEST(RunReportTest, LinksPlotsAndVideosRelativelyNewestVideosFirstAndAtMostFour) {
  const std::string dir = RunDir("links");
  Write(dir + "/plots/eval_return_by_time.png", "png");
  Write(dir + "/plots/history.csv", "not a plot");
  for (const char* name : {"v000010_return_-900.0.mp4", "v000020_return_-500.0.mp4", "v000030_return_-300.0.mp4",
                           "v000040_return_-200.0.mp4", "v000050_return_-150.0.mp4"}) {
    Write(dir + "/videos/" + name, "mp4");
  }
  const std::string html = RunReportHtml(dir);
  EXPECT_THAT(html, HasSubstr("<img src=\"plots/eval_return_by_time.png\""));
  EXPECT_THAT(html, Not(HasSubstr("history.csv")));
  EXPECT_THAT(html, Not(HasSubstr(dir))) << "links are relative, so the folder can move";
  const size_t newest = html.find("src=\"videos/v000050_return_-150.0.mp4\"");
  const size_t older = html.find("src=\"videos/v000020_return_-500.0.mp4\"");
  ASSERT_NE(newest, std::string::npos);
  ASSERT_NE(older, std::string::npos);
  EXPECT_LT(newest, older);
  EXPECT_THAT(html, Not(HasSubstr("v000010"))) << "only the newest four";
  EXPECT_THAT(html, HasSubstr("The newest 4 of 5 videos"));
}

TEST(RunReportTest, OrdersVideosByVersionNumberPastAMillion) {
  const std::string dir = RunDir("million");
  Write(dir + "/videos/v999999_return_-200.0.mp4", "mp4");
  Write(dir + "/videos/v1000000_return_-150.0.mp4", "mp4");
  const std::string html = RunReportHtml(dir);
  const size_t newest = html.find("src=\"videos/v1000000_return_-150.0.mp4\"");
  const size_t older = html.find("src=\"videos/v999999_return_-200.0.mp4\"");
  ASSERT_NE(newest, std::string::npos);
  ASSERT_NE(older, std::string::npos);
  EXPECT_LT(newest, older);
}

TEST(RunReportTest, ShowsEachPlotAsACaptionedFigureTheTrainingReturnFirst) {
  const std::string dir = RunDir("figures");
  for (const char* name : {"eval_return_by_env_steps.png", "learner_statistics.png", "mine.png",
                           "training_return_by_env_steps.png"}) {
    Write(dir + "/plots/" + name, "png");
  }
  const std::string html = RunReportHtml(dir);
  const size_t training = html.find("<figure id=\"plot-training_return_by_env_steps\" class=\"wide\">");
  const size_t eval = html.find("<figure id=\"plot-eval_return_by_env_steps\">");
  const size_t statistics = html.find("<figure id=\"plot-learner_statistics\" class=\"wide\">");
  const size_t other = html.find("<figure id=\"plot-mine\">");
  ASSERT_NE(training, std::string::npos) << html;
  EXPECT_LT(training, eval);
  EXPECT_LT(eval, statistics);
  EXPECT_LT(statistics, other) << "a plot the page does not know comes last";
  EXPECT_THAT(html, HasSubstr("<figcaption>Training return: each episode the actors finished"));
  EXPECT_THAT(html, HasSubstr("<p id=\"media-status\" hidden></p>")) << "no tally on the page while all is well";
  EXPECT_THAT(html, Not(HasSubstr("id=\"resumes\""))) << "a run of one part";
}

TEST(RunReportTest, SaysWhereEachResumedPartWentOnFrom) {
  const std::string dir = RunDir("resumed");
  Write(dir + "/plots/eval_return_by_time.png", "png");
  Write(dir + "/plots/resumes.csv", "seconds,env_steps,learner_updates\n35.250,1234,567\n80.000,5000,4000\n");
  EXPECT_THAT(RunReportHtml(dir),
              HasSubstr("<p id=\"resumes\">Resumed 2 times (<code>rill launch --resume</code>): part 2 went on "
                        "from 1234 env steps and 567 updates, 35 s in; part 3 went on from 5000 env steps and 4000 "
                        "updates, 80 s in. A dashed red line marks each resume on the plots.</p>"));
}

TEST(RunReportTest, SaysWhatIsMissingWhileTheRunIsYoung) {
  const std::string dir = RunDir("young");
  Write(dir + "/progress.json", R"({"env_steps": 1200, "learner_updates": 300, "wall_seconds": 12.5})");
  const std::string html = RunReportHtml(dir);
  EXPECT_THAT(html, HasSubstr("Progress (the run is going on)"));
  EXPECT_THAT(html, HasSubstr("<tr><th>env steps</th><td>1200</td></tr>"));
  EXPECT_THAT(html, HasSubstr("No plots yet"));
  EXPECT_THAT(html, HasSubstr("No videos"));
  EXPECT_THAT(html, HasSubstr("No run.json"));
}

TEST(RunReportTest, TheSummaryTakesOverFromTheProgressAtTheEnd) {
  const std::string dir = RunDir("ended");
  Write(dir + "/progress.json", R"({"env_steps": 1200})");
  Write(dir + "/summary.json",
        R"({"env_steps": 20000, "eval_return_mean": -146.1, "final_eval": "done", "actor_restarts": 0})");
  const std::string html = RunReportHtml(dir);
  EXPECT_THAT(html, HasSubstr("<h2>Summary</h2>"));
  EXPECT_THAT(html, HasSubstr("<tr><th>final evaluation return</th><td>-146.1</td></tr>"));
  EXPECT_THAT(html, HasSubstr("<tr><th>final evaluation</th><td>done</td></tr>"));
  EXPECT_THAT(html, Not(HasSubstr("<td>1200</td>")));
}

TEST(RunReportTest, WarnsAtItsHeadWhenMoreThanOnePercentOfTheEnvStepsFailed) {
  const std::string dir = RunDir("env_errors");
  Write(dir + "/summary.json", R"({"env_steps": 3000, "env_errors": 666, "env_error_fraction": 0.222000})");
  const std::string html = RunReportHtml(dir);
  EXPECT_THAT(html, HasSubstr("class=\"warning\" id=\"env-errors\">Env errors: the env failed 666 of 3000 env "
                              "steps (22.2%)"));
  EXPECT_LT(html.find("id=\"env-errors\""), html.find("<h2>Run</h2>")) << "above everything else";
  EXPECT_THAT(html, HasSubstr("<tr><th>env errors</th><td>666</td></tr>"));
  EXPECT_THAT(html, HasSubstr("<tr><th>env error fraction</th><td>0.222000</td></tr>"));
}

TEST(RunReportTest, WarnsWhileTheRunGoesOnFromItsProgress) {
  const std::string dir = RunDir("env_errors_progress");
  Write(dir + "/progress.json", R"({"env_steps": 1000, "env_errors": 50, "learner_updates": 300})");
  EXPECT_THAT(RunReportHtml(dir), HasSubstr("the env failed 50 of 1000 env steps (5.0%)"));
}

TEST(RunReportTest, DoesNotWarnAtOnePercentOrLessOfFailedSteps) {
  const std::string dir = RunDir("env_errors_few");
  Write(dir + "/summary.json", R"({"env_steps": 3000, "env_errors": 30, "env_error_fraction": 0.010000})");
  const std::string html = RunReportHtml(dir);
  EXPECT_THAT(html, Not(HasSubstr("id=\"env-errors\"")));
  EXPECT_THAT(html, HasSubstr("<tr><th>env errors</th><td>30</td></tr>")) << "counted all the same";
  // A summary from before the count: no warning, no row.
  Write(dir + "/summary.json", R"({"env_steps": 3000})");
  EXPECT_THAT(RunReportHtml(dir), Not(HasSubstr("env errors")));
}

TEST(RunReportTest, ShowsTheEnvFiguresOfTheLastRoundByNameAndTheirPlot) {
  const std::string dir = RunDir("env_figures");
  Write(dir + "/summary.json", R"({"env_steps": 3000, "eval_return_mean": -52.4})");
  Write(dir + "/metrics/evaluator.jsonl",
        "{\"time\": 101.000, \"return_mean\": -60, \"env/landmark_distance\": 1.5, \"env/collisions\": 4}\n"
        "{\"time\": 102.000, \"return_mean\": -52.4, \"env/landmark_distance\": 0.625, \"env/collisions\": 2}\n");
  Write(dir + "/plots/env_figures_by_env_steps.png", "png");
  Write(dir + "/plots/env_figures.csv", "env_steps,landmark_distance,collisions\n");
  const std::string html = RunReportHtml(dir);
  EXPECT_THAT(html, HasSubstr("<tr><th>final evaluation return</th><td>-52.4</td></tr>"));
  EXPECT_THAT(html, HasSubstr("<tr><th>final landmark_distance</th><td>0.625</td></tr>"));
  EXPECT_THAT(html, HasSubstr("<tr><th>final collisions</th><td>2</td></tr>"));
  EXPECT_THAT(html, Not(HasSubstr("<td>1.5</td>"))) << "the last round's figures only";
  EXPECT_THAT(html, HasSubstr("<img src=\"plots/env_figures_by_env_steps.png\""));
  EXPECT_THAT(html, Not(HasSubstr("env_figures.csv")));
}

TEST(RunReportTest, ShowsTheLastRatingOfASelfPlayRunAndItsPlot) {
  const std::string dir = RunDir("self_play");
  Write(dir + "/summary.json", R"({"env_steps": 3000, "eval_return_mean": 0.5})");
  Write(dir + "/metrics/evaluator.jsonl",
        "{\"time\": 101.000, \"return_mean\": -0.2, \"rating\": 921.2, \"scripted/win_rate\": 0.375, "
        "\"scripted/draw_rate\": 0, \"scripted/loss_rate\": 0.625}\n"
        "{\"time\": 102.000, \"return_mean\": 0.5, \"rating\": 1274.6, \"scripted/win_rate\": 0.75, "
        "\"scripted/draw_rate\": 0, \"scripted/loss_rate\": 0.25, \"past/win_rate\": 0.5, "
        "\"past/draw_rate\": 0.25, \"past/loss_rate\": 0.25}\n");
  Write(dir + "/plots/self_play_by_env_steps.png", "png");
  const std::string html = RunReportHtml(dir);
  EXPECT_THAT(html, HasSubstr("<tr><th>final rating</th><td>1275 (Elo scale, scripted player 1000)</td></tr>"));
  EXPECT_THAT(html, HasSubstr("<tr><th>final games against the scripted player</th><td>won 75%, drawn 0%, "
                              "lost 25%</td></tr>"));
  EXPECT_THAT(html, HasSubstr("<tr><th>final games against past versions</th><td>won 50%, drawn 25%, "
                              "lost 25%</td></tr>"));
  EXPECT_THAT(html, HasSubstr("<img src=\"plots/self_play_by_env_steps.png\""));
  EXPECT_THAT(html, Not(HasSubstr("<td>921")));
}

TEST(RunReportTest, ShowsNoEnvFiguresForAnEnvWithoutThem) {
  const std::string dir = RunDir("no_env_figures");
  Write(dir + "/summary.json", R"({"env_steps": 3000, "eval_return_mean": -146.1})");
  Write(dir + "/metrics/evaluator.jsonl", "{\"time\": 102.000, \"episodes\": 4, \"return_mean\": -146.1}\n");
  Write(dir + "/plots/eval_return_by_env_steps.png", "png");
  const std::string html = RunReportHtml(dir);
  EXPECT_THAT(html, HasSubstr("<tr><th>final evaluation return</th><td>-146.1</td></tr>"));
  EXPECT_THAT(html, Not(HasSubstr("<tr><th>final episodes")));
  EXPECT_THAT(html, Not(HasSubstr("<tr><th>final return_mean")));
  EXPECT_THAT(html, Not(HasSubstr("env_figures")));
  EXPECT_THAT(html, Not(HasSubstr("final rating"))) << "no self-play";
}

TEST(RunReportTest, WritesThePageAtomicallyLeavingNoTemporaryFile) {
  const std::string dir = RunDir("atomic");
  ASSERT_TRUE(WriteRunReport(dir).ok());
  EXPECT_TRUE(std::filesystem::exists(ReportPath(dir)));
  EXPECT_FALSE(std::filesystem::exists(ReportPath(dir) + ".tmp"));
  EXPECT_FALSE(WriteRunReport(dir + "/no/such/folder").ok());
}

TEST(RunReportTest, HtmlEscapeEscapesTheFiveCharacters) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

}  // namespace
}  // namespace rill::cli
