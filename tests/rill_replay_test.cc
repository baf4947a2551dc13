// `rill replay` runs the shard as rill-replay, the binary beside `rill` that
// is linked without LibTorch, and still runs it in-process when that binary
// is missing. Real processes; /proc tells which image each one runs.
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kConfig[] = "--config=tests/configs/tiny_pendulum.textpb";

TEST(RillReplayTest, ReplayShardRunsWithoutLibTorch) {
  absl::StatusOr<RoleProcess> replay = StartRole("torch-free-replay", {"replay", kConfig});
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_THAT(ExePath(*replay), EndsWith("/rill-replay"));
  EXPECT_THAT(ProcFile(*replay, "maps"), Not(HasSubstr("libtorch")));
  // It serves: metrics and the ready pipe came through the exec.
  EXPECT_TRUE(HasMetric(replay->Metrics(), "rill_replay_table_size"));
  const int status = replay->process->Stop(absl::Seconds(30));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ChildProcess::DescribeStatus(status);
}

TEST(RillReplayTest, WithoutRillReplayBesideItTheShardRunsInProcess) {
  const std::string dir = TempDir("lone-rill");
  const std::string lone = dir + "/rill";
  std::filesystem::copy_file(RillBinary(), lone);
  absl::StatusOr<RoleProcess> replay = StartRole("in-process-replay", {"replay", kConfig}, lone);
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(ExePath(*replay), lone);
  EXPECT_TRUE(HasMetric(replay->Metrics(), "rill_replay_table_size"));
  const int status = replay->process->Stop(absl::Seconds(30));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ChildProcess::DescribeStatus(status);
}

}  // namespace
}  // namespace rill::testing
