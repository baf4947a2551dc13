// The run report page (cli/run_report.h) of a real `rill launch` run and
// its resumed second part, opened in headless Chromium from the file
// system: every plot and every video on it loads (the page's own tally,
// read from the DOM Chromium dumps), the training return leads the plots,
// the resume is noted, the evaluation curve starts at the untrained policy,
// no plot leaves a blank below it wider than the grid's gap (the page's
// own measure) and no tally line shows while all is well; a screenshot of it is kept among the test's outputs
// (bazel-testlogs/tests/report_test/test.outputs/report.png). A copy of the
// page with one image and one video pointing at missing files reports both
// as failed, which proves the check can fail.
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/child_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kChromium[] = "/usr/bin/chromium";

// Headless Chromium on `page` with `flags`: what it printed, or nullopt
// (with a test failure) when it did not exit 0 within a minute.
std::optional<std::string> Chromium(const std::string& name, const std::string& page,
                                    const std::vector<std::string>& flags) {
  const std::string log = TempDir("chromium-" + name) + ".log";
  std::vector<std::string> args = {"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                   "--allow-file-access-from-files", "--virtual-time-budget=15000",
                                   "--user-data-dir=" + TempDir("chromium-profile-" + name)};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back("file://" + page);
  auto child = ChildProcess::StartProgram("chromium-" + name, kChromium, args, log);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return std::nullopt;
  std::optional<int> status = (*child)->WaitExit(absl::Seconds(60));
  EXPECT_TRUE(status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*child)->LogTail(20);
  // Chromium's own children (zygote, renderer, utility) share its process
  // group (ChildProcess::StartProgram): none outlives the check.
  kill(-(*child)->pid(), SIGKILL);
  if (!status.has_value()) return std::nullopt;
  return ReadFile(log);
}

// The value of <body>'s attribute `name` that the page's script wrote, from
// the DOM Chromium dumped: data-media, the tally of its media ("loaded I/N
// images, V/M videos[; failed: ...]"); data-plot-gap, the most blank pixels
// below a plot.
std::string BodyAttribute(const std::string& dom, const std::string& name) {
  std::smatch match;
  if (!std::regex_search(dom, match, std::regex(name + "=\"([^\"]*)\""))) return "";
  return match[1].str();
}

std::string MediaTally(const std::string& dom) { return BodyAttribute(dom, "data-media"); }

// How often `needle` occurs in `text`.
int Count(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

TEST(ReportTest, EveryPlotAndVideoOfAResumedRealRunLoadsInHeadlessChromium) {
  ASSERT_TRUE(std::filesystem::exists(kChromium)) << kChromium << " is missing: tools/setup.sh installs chromium";
  const std::string config =
      ConfigWith("tests/configs/tiny_pendulum.textpb", "report-config", "eval { episodes: 2 }",
                 "eval { episodes: 2 every_updates: 200 video_every_seconds: 1 video_width: 96 video_height: 96 }");
  ASSERT_FALSE(config.empty());
  const std::string run_dir = TempDir("run-report");
  auto launch = ChildProcess::Start("launch", RillBinary(),
                                    {"launch", "--config=" + config, "--run_dir=" + run_dir, "--max_env_steps=1000",
                                     "--progress_every=1s"},
                                    run_dir + "-launch.log");
  ASSERT_TRUE(launch.ok()) << launch.status();
  // The page is there while the run goes on, saying so.
  const std::string page = run_dir + "/report.html";
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(page).find("the run is going on") != std::string::npos; },
                        absl::Seconds(120)))
      << (*launch)->LogTail(20);
  std::optional<int> status = (*launch)->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << (*launch)->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*launch)->LogTail(30);
  // A second part, which every plot marks.
  auto resumed = ChildProcess::Start("resume", RillBinary(),
                                     {"launch", "--resume=" + run_dir, "--max_env_steps=2000", "--progress_every=1s"},
                                     run_dir + "-resume.log");
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  status = (*resumed)->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "the resumed launch did not finish:\n" << (*resumed)->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*resumed)->LogTail(30);

  const std::string html = ReadFile(page);
  EXPECT_THAT(html, HasSubstr("<h2>Summary</h2>"));
  EXPECT_THAT(html, HasSubstr("tiny_pendulum"));
  EXPECT_THAT(ReadFile(run_dir + "/summary.json"), HasSubstr("\"report\": \"" + page + "\""));
  const int images = Count(html, "<img ");
  const int videos = Count(html, "<video ");
  ASSERT_GE(images, 1) << "the run drew no plots:\n" << html;
  ASSERT_GE(videos, 1) << "the evaluator recorded no video:\n" << html;
  EXPECT_THAT(html, ::testing::ContainsRegex("<p id=\"resumes\">Resumed 1 time .*: part 2 went on from 1[0-9]{3} "
                                             "env steps"));
  EXPECT_LT(html.find("<figure id=\"plot-training_return_by_env_steps\""), html.find("<figure id=\"plot-eval_"))
      << "the training return leads the plots:\n" << html;
  // The evaluation curve starts at the untrained policy: version 1, of no
  // update, in the first half of the first part's 1,000 steps (the round
  // began as the actors started; the history places it by its time).
  const std::string evals = ReadFile(run_dir + "/plots/eval.csv");
  std::smatch first;
  ASSERT_TRUE(std::regex_search(evals, first, std::regex("\n[0-9.]+,([0-9]+),([0-9]+),([0-9]+),"))) << evals;
  EXPECT_EQ(first[3].str(), "1") << evals;
  EXPECT_EQ(first[2].str(), "0") << evals;
  EXPECT_LT(std::stoi(first[1].str()), 500) << evals;

  std::optional<std::string> dom = Chromium("report", page, {"--dump-dom"});
  ASSERT_TRUE(dom.has_value());
  EXPECT_EQ(MediaTally(*dom), absl::StrCat("loaded ", images, "/", images, " images, ", videos, "/", videos, " videos"))
      << *dom;
  EXPECT_THAT(*dom, HasSubstr("<img src=\"plots/training_return_by_env_steps.png\""));
  EXPECT_THAT(*dom, Not(HasSubstr(">loaded "))) << "the tally is no line on the page";
  // The plots' grid has a 12 px gap: a plot beside a taller one would leave more.
  const std::string gap = BodyAttribute(*dom, "data-plot-gap");
  ASSERT_FALSE(gap.empty()) << *dom;
  EXPECT_LE(std::stoi(gap), 16) << "blank pixels below a plot";

  // A screenshot for a person to look at.
  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  const std::string screenshot = absl::StrCat(outputs != nullptr ? outputs : run_dir, "/report.png");
  ASSERT_TRUE(Chromium("screenshot", page, {"--window-size=1200,2400", "--screenshot=" + screenshot}).has_value());
  EXPECT_EQ(ReadFile(screenshot).substr(1, 3), "PNG") << screenshot;

  // The planted failure: one image and one video pointing at files that are
  // not there.
  std::string broken = html;
  for (const std::string& src : {std::string("<img src=\"plots/"), std::string(" src=\"videos/")}) {
    const size_t at = broken.find(src);
    ASSERT_NE(at, std::string::npos) << src;
    broken.insert(at + src.size(), "missing-");
  }
  const std::string broken_page = run_dir + "/broken.html";
  std::ofstream(broken_page) << broken;
  std::optional<std::string> broken_dom = Chromium("broken", broken_page, {"--dump-dom"});
  ASSERT_TRUE(broken_dom.has_value());
  EXPECT_THAT(MediaTally(*broken_dom), HasSubstr("failed: plots/missing-")) << *broken_dom;
  EXPECT_THAT(MediaTally(*broken_dom), HasSubstr("videos/missing-"));
  EXPECT_THAT(*broken_dom, HasSubstr(">Not every plot or video loaded: loaded ")) << "said on the page";
  EXPECT_THAT(MediaTally(*broken_dom), HasSubstr(absl::StrCat("loaded ", images - 1, "/", images, " images, ",
                                                              videos - 1, "/", videos, " videos")));
}

}  // namespace
}  // namespace rill::testing
