// The run folder on real files: which folder, whether a run continues, the
// effective config.
#include "cli/run_folder.h"

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/os.h"
#include "experiment/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::cli {
namespace {

using ::testing::HasSubstr;

class RunFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }

  static v1::ExperimentConfig Config(int64_t max_env_steps = 1000, int num_actors = 2) {
    absl::StatusOr<v1::ExperimentConfig> config = experiment::ParseExperimentConfig(absl::StrCat(R"(
      env { name: "Pendulum-v1" }
      replay { tables { name: "transitions" max_size: 1000 } }
      learner { sac { } batch_size: 32 }
      max_env_steps: )", max_env_steps, " topology { num_actors: ", num_actors, " }"));
    EXPECT_TRUE(config.ok()) << config.status();
    return *config;
  }

  // A run folder as a launcher leaves it after `env_steps`.
  void MakeRun(const v1::ExperimentConfig& config, int64_t env_steps) {
    ASSERT_TRUE(WriteEffectiveConfig(config, dir_, false).ok());
    RunProgress progress;
    progress.env_steps = env_steps;
    progress.started_at = "2026-11-25T00:00:00Z";
    ASSERT_TRUE(WriteFileAtomically(dir_ + "/progress.json", ProgressJson(progress) + "\n").ok());
  }

  std::string dir_;
};

TEST_F(RunFolderTest, ResumeAndRunDirMustNameOneFolder) {
  MakeRun(Config(), 10);
  EXPECT_EQ(*ChooseRunDir("", dir_), dir_);
  EXPECT_EQ(*ChooseRunDir(dir_ + "/.", dir_), dir_);
  const absl::StatusOr<std::string> two = ChooseRunDir(dir_ + "/other", dir_);
  EXPECT_TRUE(absl::IsInvalidArgument(two.status()));
  EXPECT_THAT(two.status().message(), HasSubstr("name two folders"));
  EXPECT_EQ(*ChooseRunDir("some/dir", ""), "some/dir");
}

TEST_F(RunFolderTest, ResumeOfAFolderWithoutARunIsNotFound) {
  const absl::StatusOr<std::string> none = ChooseRunDir("", dir_);
  EXPECT_TRUE(absl::IsNotFound(none.status()));
  EXPECT_THAT(none.status().message(), HasSubstr("no run to resume"));
}

TEST_F(RunFolderTest, ANewFolderHoldsNoEarlierParts) {
  const absl::StatusOr<std::optional<RunProgress>> previous = EarlierParts(Config(), dir_, false, false);
  ASSERT_TRUE(previous.ok()) << previous.status();
  EXPECT_FALSE(previous->has_value());
}

TEST_F(RunFolderTest, ARelaunchWithTheSameConfigContinuesTheRun) {
  MakeRun(Config(), 300);
  // The step budget and the number of actors may change.
  const absl::StatusOr<std::optional<RunProgress>> previous = EarlierParts(Config(2000, 4), dir_, false, false);
  ASSERT_TRUE(previous.ok()) << previous.status();
  ASSERT_TRUE(previous->has_value());
  EXPECT_EQ((*previous)->env_steps, 300);
}

TEST_F(RunFolderTest, ARelaunchWithAnotherConfigIsRefused) {
  MakeRun(Config(), 300);
  v1::ExperimentConfig other = Config();
  other.set_seed(99);
  const absl::StatusOr<std::optional<RunProgress>> previous = EarlierParts(other, dir_, false, false);
  EXPECT_TRUE(absl::IsInvalidArgument(previous.status()));
  EXPECT_THAT(previous.status().message(), HasSubstr("holds a run of another config"));
  // --resume takes the folder's own config: no comparison.
  EXPECT_TRUE(EarlierParts(other, dir_, true, false).ok());
}

TEST_F(RunFolderTest, ASpentBudgetIsRefused) {
  MakeRun(Config(), 1000);
  const absl::StatusOr<std::optional<RunProgress>> previous = EarlierParts(Config(), dir_, true, false);
  EXPECT_TRUE(absl::IsInvalidArgument(previous.status()));
  EXPECT_THAT(previous.status().message(), HasSubstr("raise --max_env_steps"));
}

TEST_F(RunFolderTest, ADeterministicRunStartsFromScratch) {
  MakeRun(Config(), 10);
  const absl::StatusOr<std::optional<RunProgress>> previous = EarlierParts(Config(), dir_, false, true);
  EXPECT_TRUE(absl::IsInvalidArgument(previous.status()));
  EXPECT_THAT(previous.status().message(), HasSubstr("deterministic run starts from scratch"));
}

TEST_F(RunFolderTest, TheEffectiveConfigIsWrittenAndReadsBack) {
  const absl::StatusOr<std::string> file = WriteEffectiveConfig(Config(), dir_, true);
  ASSERT_TRUE(file.ok()) << file.status();
  // No learner checkpoint: nothing to resume from, so no warm-up change.
  EXPECT_EQ(*file, dir_ + "/config.textpb");
  const absl::StatusOr<v1::ExperimentConfig> read = experiment::LoadExperimentConfig(*file);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->max_env_steps(), 1000);
}

}  // namespace
}  // namespace rill::cli
