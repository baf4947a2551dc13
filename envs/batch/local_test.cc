#include "envs/batch/local.h"

#include <memory>
#include <utility>
#include <vector>

#include "envs/batch/test_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;

// One step's buffers for a batch of `n` one-byte observations.
struct Buffers {
  explicit Buffers(int n) : obs(n), final_obs(n, 0), rewards(n), terminated(n), truncated(n), masked(n, 7) {}
  EnvBatchOutput out() {
    return EnvBatchOutput{obs.data(), final_obs.data(), rewards.data(), terminated.data(), truncated.data(),
                          masked.data(), &failures};
  }
  std::vector<uint8_t> obs, final_obs;
  std::vector<float> rewards;
  std::vector<uint8_t> terminated, truncated, masked;
  std::vector<EnvFailure> failures;
};

std::unique_ptr<LocalEnvBatch> TickBatch(int n, int length, LocalEnvBatch::StepErrors errors) {
  std::vector<std::unique_ptr<Env>> envs;
  for (int i = 0; i < n; ++i) envs.push_back(std::make_unique<TickEnv>(length));
  absl::StatusOr<std::unique_ptr<LocalEnvBatch>> batch = LocalEnvBatch::Create(TickEnv::Spec(), std::move(envs), errors);
  EXPECT_TRUE(batch.ok()) << batch.status();
  return *std::move(batch);
}

TEST(LocalEnvBatchTest, AnEndedEpisodeIsResetInsideItsStepAndItsLastObservationKept) {
  std::unique_ptr<LocalEnvBatch> batch = TickBatch(2, 2, LocalEnvBatch::StepErrors::kFailStep);
  Buffers buffers(2);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  EXPECT_THAT(buffers.obs, ElementsAre(100, 100));
  const float actions[] = {0, 0};
  ASSERT_EQ(batch->Step(2, actions, buffers.out()).value(), 2);
  EXPECT_THAT(buffers.obs, ElementsAre(1, 1));
  EXPECT_THAT(buffers.terminated, ElementsAre(0, 0));
  ASSERT_EQ(batch->Step(2, actions, buffers.out()).value(), 2);
  EXPECT_THAT(buffers.terminated, ElementsAre(1, 1));
  EXPECT_THAT(buffers.rewards, ElementsAre(2, 2));
  EXPECT_THAT(buffers.final_obs, ElementsAre(2, 2));
  EXPECT_THAT(buffers.obs, ElementsAre(101, 101)) << "the next episode's first";
  EXPECT_THAT(buffers.masked, ElementsAre(0, 0)) << "a single-agent env's row is never masked";
  EXPECT_TRUE(buffers.failures.empty());
}

TEST(LocalEnvBatchTest, StepsOnlyTheActiveRows) {
  std::unique_ptr<LocalEnvBatch> batch = TickBatch(3, 5, LocalEnvBatch::StepErrors::kFailStep);
  Buffers buffers(3);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  const float actions[] = {0, 0, 0};
  EXPECT_EQ(batch->Step(2, actions, buffers.out()).value(), 2);
  EXPECT_THAT(buffers.obs, ElementsAre(1, 1, 100));
}

TEST(LocalEnvBatchTest, AStepErrorOfARegisteredEnvIsTheStepsError) {
  std::unique_ptr<LocalEnvBatch> batch = TickBatch(2, 5, LocalEnvBatch::StepErrors::kFailStep);
  Buffers buffers(2);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  const float actions[] = {0, -1};
  absl::StatusOr<int> stepped = batch->Step(2, actions, buffers.out());
  EXPECT_EQ(stepped.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(LocalEnvBatchTest, AStepErrorOfAPluginEnvFailsAndResetsItsRowOnly) {
  std::unique_ptr<LocalEnvBatch> batch = TickBatch(3, 5, LocalEnvBatch::StepErrors::kFailInstance);
  Buffers buffers(3);
  ASSERT_TRUE(batch->Reset(buffers.obs.data()).ok());
  const float actions[] = {0, -1, 0};
  ASSERT_EQ(batch->Step(3, actions, buffers.out()).value(), 3);
  ASSERT_EQ(buffers.failures.size(), 1u);
  EXPECT_EQ(buffers.failures[0].index, 1);
  EXPECT_EQ(buffers.failures[0].message, "tick refused");
  EXPECT_THAT(buffers.obs, ElementsAre(1, 101, 1)) << "the failed env reset, the others stepped";
  EXPECT_THAT(buffers.rewards, ElementsAre(1, 0, 1));
  const float fine[] = {0, 0, 0};
  ASSERT_EQ(batch->Step(3, fine, buffers.out()).value(), 3);
  EXPECT_TRUE(buffers.failures.empty());
  EXPECT_THAT(buffers.obs, ElementsAre(2, 1, 2));
}

TEST(LocalEnvBatchTest, EnvsOfOtherSpacesAreRefused) {
  std::vector<std::unique_ptr<Env>> envs;
  envs.push_back(std::make_unique<TickEnv>(3));
  EnvSpec other = TickEnv::Spec();
  other.num_actions = 3;
  absl::StatusOr<std::unique_ptr<LocalEnvBatch>> batch =
      LocalEnvBatch::Create(other, std::move(envs), LocalEnvBatch::StepErrors::kFailStep);
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rill::envs
