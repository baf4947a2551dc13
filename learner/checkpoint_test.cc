#include "learner/checkpoint.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

std::string TempDir(const std::string& name) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

v1::ParameterSet Policy(const std::string& kind) {
  v1::ParameterSet policy;
  policy.mutable_policy()->set_kind(kind);
  policy.mutable_policy()->set_obs_dim(3);
  return policy;
}

TEST(CheckpointTest, WrittenStateAndPolicyReadBack) {
  const std::string dir = TempDir("one") + "/latest";
  ASSERT_TRUE(WriteCheckpoint(dir, {{"w", torch::arange(4, torch::kFloat32)}, {"n", torch::full({1}, 7, torch::kInt64)}},
                              Policy("gaussian"))
                  .ok());
  absl::StatusOr<std::map<std::string, torch::Tensor>> state = ReadCheckpointState(dir);
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->size(), 2u);
  EXPECT_TRUE(torch::equal(state->at("w"), torch::arange(4, torch::kFloat32)));
  EXPECT_EQ(state->at("n").item<int64_t>(), 7);
  absl::StatusOr<v1::ParameterSet> policy = ReadCheckpointPolicy(dir);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->policy().kind(), "gaussian");
}

TEST(CheckpointTest, ANewCheckpointReplacesTheOldOneAndLeavesNoStagingFolders) {
  const std::string dir = TempDir("two") + "/latest";
  ASSERT_TRUE(WriteCheckpoint(dir, {{"w", torch::zeros({2})}}, Policy("gaussian")).ok());
  ASSERT_TRUE(WriteCheckpoint(dir, {{"v", torch::ones({2})}}, Policy("categorical")).ok());
  absl::StatusOr<std::map<std::string, torch::Tensor>> state = ReadCheckpointState(dir);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->count("w"), 0u);
  EXPECT_EQ(state->count("v"), 1u);
  EXPECT_EQ(ReadCheckpointPolicy(dir)->policy().kind(), "categorical");
  EXPECT_FALSE(std::filesystem::exists(dir + ".saving"));
  EXPECT_FALSE(std::filesystem::exists(dir + ".previous"));
}

// kill -9 between WriteCheckpoint's two renames: the folder has gone and
// the previous checkpoint sits beside it; RecoverCheckpoint puts it back.
TEST(CheckpointTest, ACheckpointCaughtBetweenItsRenamesIsRecoveredFromThePreviousOne) {
  const std::string dir = TempDir("interrupted") + "/latest";
  ASSERT_TRUE(WriteCheckpoint(dir, {{"n", torch::full({1}, 1, torch::kInt64)}}, v1::ParameterSet()).ok());
  EXPECT_TRUE(RecoverCheckpoint(dir));  // nothing to do
  std::filesystem::rename(dir, dir + ".previous");
  ASSERT_FALSE(std::filesystem::exists(dir));
  EXPECT_TRUE(RecoverCheckpoint(dir));
  absl::StatusOr<std::map<std::string, torch::Tensor>> state = ReadCheckpointState(dir);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->at("n").item<int64_t>(), 1);
  EXPECT_FALSE(std::filesystem::exists(dir + ".previous"));
  // No checkpoint at all, or only a staging folder: nothing to recover.
  const std::string none = TempDir("none") + "/latest";
  std::filesystem::create_directories(none + ".saving");
  EXPECT_FALSE(RecoverCheckpoint(none));
}

TEST(CheckpointTest, MissingCheckpointIsNotFoundNamingTheFolder) {
  const std::string dir = TempDir("missing");
  absl::StatusOr<std::map<std::string, torch::Tensor>> state = ReadCheckpointState(dir);
  EXPECT_EQ(state.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(state.status().message(), HasSubstr(dir));
  EXPECT_EQ(ReadCheckpointPolicy(dir).status().code(), absl::StatusCode::kNotFound);
}

TEST(CheckpointTest, CorruptFilesAreDataLoss) {
  const std::string dir = TempDir("corrupt");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/" + kCheckpointStateFile) << "not an archive";
  std::ofstream(dir + "/" + kCheckpointPolicyFile) << "\xff\xff\xff not a proto";
  EXPECT_EQ(ReadCheckpointState(dir).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReadCheckpointPolicy(dir).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace rill::learner
