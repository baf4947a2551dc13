// FindCheckpoint takes one checkpoint, a learner's checkpoint folder or a
// run folder to the same checkpoint, and names every path it looked for
// when there is none; FindRunConfig finds the run folder's config from its
// newest checkpoint and never one higher up than the run folder.
#include "roles/checkpoint_folder.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "learner/checkpoint.h"

namespace rill::roles {
namespace {

namespace fs = std::filesystem;

// A fresh folder under the test's temporary folder.
std::string Folder(const std::string& name) {
  const fs::path folder = fs::path(std::getenv("TEST_TMPDIR")) / name;
  fs::remove_all(folder);
  fs::create_directories(folder);
  return folder.string();
}

void Touch(const fs::path& file) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << "x";
}

// RUN/config.textpb and RUN/checkpoints/learner/latest/policy.pb, as
// `rill launch --run_dir=RUN` leaves them.
std::string RunFolder(const std::string& name) {
  const std::string run = Folder(name);
  Touch(fs::path(run) / "config.textpb");
  Touch(fs::path(run) / "checkpoints/learner/latest" / learner::kCheckpointPolicyFile);
  return run;
}

TEST(CheckpointFolderTest, RunFolderLearnerFolderAndCheckpointFindTheSameCheckpoint) {
  const std::string run = RunFolder("same");
  const std::string latest = run + "/checkpoints/learner/latest";
  for (const std::string& asked : {run, run + "/checkpoints/learner", latest, run + "/"}) {
    absl::StatusOr<CheckpointLocation> found = FindCheckpoint(asked);
    ASSERT_TRUE(found.ok()) << asked << ": " << found.status();
    EXPECT_EQ(fs::path(found->checkpoint).lexically_normal(), fs::path(latest).lexically_normal()) << asked;
  }
  EXPECT_TRUE(FindCheckpoint(run)->in_run_folder);
  EXPECT_FALSE(FindCheckpoint(run + "/checkpoints/learner")->in_run_folder);
  EXPECT_FALSE(FindCheckpoint(latest)->in_run_folder);
}

TEST(CheckpointFolderTest, FolderWithoutACheckpointIsNotFoundNamingWhatWasLookedFor) {
  const std::string empty = Folder("empty");
  absl::StatusOr<CheckpointLocation> found = FindCheckpoint(empty);
  EXPECT_EQ(found.status().code(), absl::StatusCode::kNotFound);
  const std::string message(found.status().message());
  EXPECT_NE(message.find(empty + "/policy.pb"), std::string::npos) << message;
  EXPECT_NE(message.find(empty + "/latest/policy.pb"), std::string::npos) << message;
  EXPECT_NE(message.find(empty + "/checkpoints/learner/latest/policy.pb"), std::string::npos) << message;
  EXPECT_NE(message.find("keeps its learner's checkpoints in checkpoints/learner"), std::string::npos) << message;
}

TEST(CheckpointFolderTest, ARunOfSeveralPoliciesNamesEachPolicysFolder) {
  const std::string run = Folder("policies");
  Touch(fs::path(run) / "config.textpb");
  for (const std::string policy : {"wings", "lead"}) {
    Touch(fs::path(run) / "checkpoints/learner" / policy / "latest" / learner::kCheckpointPolicyFile);
  }
  for (const std::string& asked : {run, run + "/checkpoints/learner"}) {
    absl::StatusOr<CheckpointLocation> found = FindCheckpoint(asked);
    EXPECT_EQ(found.status().code(), absl::StatusCode::kNotFound) << asked;
    const std::string message(found.status().message());
    EXPECT_NE(message.find("several policies"), std::string::npos) << message;
    EXPECT_NE(message.find(run + "/checkpoints/learner/lead, " + run + "/checkpoints/learner/wings"), std::string::npos)
        << message;
  }
  // A policy's own folder is a learner's checkpoint folder.
  absl::StatusOr<CheckpointLocation> lead = FindCheckpoint(run + "/checkpoints/learner/lead");
  ASSERT_TRUE(lead.ok()) << lead.status();
  EXPECT_EQ(lead->checkpoint, run + "/checkpoints/learner/lead/latest");
}

TEST(CheckpointFolderTest, MissingFolderIsNotFoundSayingSo) {
  absl::StatusOr<CheckpointLocation> found = FindCheckpoint(Folder("gone") + "/nowhere");
  EXPECT_EQ(found.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(found.status().message().find("does not exist"), std::string::npos) << found.status();
}

TEST(CheckpointFolderTest, EmptyFolderNameIsInvalidArgument) {
  EXPECT_EQ(FindCheckpoint("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CheckpointFolderTest, RunConfigIsFoundFromTheNewestCheckpoint) {
  const std::string run = RunFolder("config");
  std::optional<std::string> config = FindRunConfig(run + "/checkpoints/learner/latest");
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(fs::path(*config), fs::absolute(fs::path(run) / "config.textpb").lexically_normal());
}

// A config four folders above the checkpoint belongs to something else.
TEST(CheckpointFolderTest, ConfigAboveTheRunFolderIsNotTaken) {
  const std::string outer = Folder("outer");
  Touch(fs::path(outer) / "config.textpb");
  const std::string checkpoint = outer + "/run/checkpoints/learner/latest";
  Touch(fs::path(checkpoint) / learner::kCheckpointPolicyFile);
  EXPECT_FALSE(FindRunConfig(checkpoint).has_value());
}

}  // namespace
}  // namespace rill::roles
