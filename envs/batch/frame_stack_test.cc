#include "envs/batch/frame_stack.h"

#include <memory>
#include <utility>
#include <vector>

#include "envs/batch/local.h"
#include "envs/batch/test_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;

constexpr int kStack = 2;

// A stacked batch of `n` TickEnvs whose episodes last `length` steps; the
// instances' step errors fail their rows (as a plugin's do).
std::unique_ptr<FrameStackBatch> StackedTicks(int n, int length) {
  std::vector<std::unique_ptr<Env>> envs;
  for (int i = 0; i < n; ++i) envs.push_back(std::make_unique<TickEnv>(length));
  std::unique_ptr<LocalEnvBatch> local =
      LocalEnvBatch::Create(TickEnv::Spec(), std::move(envs), LocalEnvBatch::StepErrors::kFailInstance).value();
  absl::StatusOr<std::unique_ptr<FrameStackBatch>> stacked = FrameStackBatch::Create(std::move(local), kStack);
  EXPECT_TRUE(stacked.ok()) << stacked.status();
  return *std::move(stacked);
}

struct Buffers {
  explicit Buffers(int n)
      : obs(n * kStack), final_obs(n * kStack, 0), rewards(n), terminated(n), truncated(n), masked(n, 7) {}
  EnvBatchOutput out() {
    return EnvBatchOutput{obs.data(), final_obs.data(), rewards.data(), terminated.data(), truncated.data(),
                          masked.data(), &failures};
  }
  std::vector<uint8_t> obs, final_obs;
  std::vector<float> rewards;
  std::vector<uint8_t> terminated, truncated, masked;
  std::vector<EnvFailure> failures;
};

TEST(FrameStackBatchTest, StacksEachRowsFramesAndEndsAnEpisodeOnItsOwnStack) {
  std::unique_ptr<FrameStackBatch> batch = StackedTicks(1, 2);
  EXPECT_THAT(batch->spec().observation_shape, ElementsAre(kStack, 1, 1));
  Buffers buffers(1);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  EXPECT_THAT(buffers.obs, ElementsAre(100, 100)) << "the reset frame, twice";
  const float action = 0;
  ASSERT_TRUE(batch->Step(1, &action, buffers.out()).ok());
  EXPECT_THAT(buffers.obs, ElementsAre(100, 1));
  ASSERT_TRUE(batch->Step(1, &action, buffers.out()).ok());
  EXPECT_THAT(buffers.final_obs, ElementsAre(1, 2)) << "the ended episode's own frames";
  EXPECT_THAT(buffers.obs, ElementsAre(101, 101)) << "no frame of the ended episode";
}

TEST(FrameStackBatchTest, AFailedRowStartsAFreshStack) {
  std::unique_ptr<FrameStackBatch> batch = StackedTicks(2, 10);
  Buffers buffers(2);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  const float fine[] = {0, 0};
  ASSERT_TRUE(batch->Step(2, fine, buffers.out()).ok());
  const float fail_second[] = {0, -1};
  ASSERT_TRUE(batch->Step(2, fail_second, buffers.out()).ok());
  ASSERT_EQ(buffers.failures.size(), 1u);
  EXPECT_THAT(buffers.obs, ElementsAre(1, 2, 101, 101));
}

}  // namespace
}  // namespace rill::envs
