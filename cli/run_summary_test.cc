#include "cli/run_summary.h"

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

// `text` in a fresh file under the test's temporary directory.
std::string WriteTemp(const std::string& name, const std::string& text) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::ofstream(path, std::ios::trunc) << text;
  return path;
}

TEST(RunSummaryTest, CountsTheFailedEnvStepsAndTheirShareOfAllSteps) {
  RunSummary summary;
  summary.env_steps = 3000;
  summary.env_errors = 666;
  summary.wall_seconds = 10;
  const std::string json = SummaryJson(summary);
  EXPECT_THAT(json, HasSubstr("\"env_errors\": 666, \"env_error_fraction\": 0.222000,")) << json;
}

TEST(RunSummaryTest, ARunWithoutStepsHasNoFailedShare) {
  EXPECT_EQ(EnvErrorFraction(0, 0), 0);
  EXPECT_EQ(EnvErrorFraction(5, 0), 0);
  EXPECT_DOUBLE_EQ(EnvErrorFraction(1, 4), 0.25);
  RunSummary summary;
  summary.wall_seconds = 1;
  EXPECT_THAT(SummaryJson(summary), HasSubstr("\"env_errors\": 0, \"env_error_fraction\": 0.000000,"));
}

TEST(RunSummaryTest, TheProgressKeepsTheEnvErrorsForAResumedRun) {
  RunProgress progress;
  progress.env_steps = 3000;
  progress.env_errors = 666;
  progress.learner_updates = 1500;
  progress.wall_seconds = 12.5;
  progress.resumes = 1;
  progress.started_at = "2024-05-01T10:00:00Z";
  const absl::StatusOr<RunProgress> read = ReadProgress(WriteTemp("progress.json", ProgressJson(progress) + "\n"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->env_steps, 3000);
  EXPECT_EQ(read->env_errors, 666);
  EXPECT_EQ(read->learner_updates, 1500);
  EXPECT_EQ(read->resumes, 1);
  EXPECT_EQ(read->started_at, "2024-05-01T10:00:00Z");
}

TEST(RunSummaryTest, AProgressFileFromBeforeTheCountHasNoEnvErrors) {
  const absl::StatusOr<RunProgress> read = ReadProgress(WriteTemp(
      "old-progress.json",
      R"({"env_steps": 3000, "learner_updates": 1500, "wall_seconds": 12.500, "resumes": 0, "started_at": ""})"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->env_steps, 3000);
  EXPECT_EQ(read->env_errors, 0);
}

}  // namespace
}  // namespace rill::cli
