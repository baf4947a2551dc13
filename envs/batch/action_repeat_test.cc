#include "envs/batch/action_repeat.h"

#include <memory>
#include <utility>
#include <vector>

#include "envs/action_repeat.h"
#include "envs/batch/local.h"
#include "envs/batch/test_failing_batch.h"
#include "envs/batch/test_outputs.h"
#include "envs/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Reward 1 a step; the episode terminates after `length` steps, and the
// observation counts the steps taken.
class Counter final : public Env {
 public:
  explicit Counter(int length, int limit = 100) : Env(Spec(limit)), length_(length) {}
  static EnvSpec Spec(int limit) {
    EnvSpec spec;
    spec.name = "Counter-v0";
    spec.observation_shape = {1};
    spec.discrete = true;
    spec.num_actions = 2;
    spec.max_episode_steps = limit;
    return spec;
  }
  void Reset(float* obs) override {
    steps_ = 0;
    obs[0] = 0;
  }
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override {
    if (action[0] > 1) return absl::InvalidArgumentError("action out of range");
    ++steps_;
    ++total_steps_;
    next_obs[0] = static_cast<float>(steps_);
    StepResult result;
    result.reward = 1;
    result.terminated = steps_ == length_;
    result.truncated = !result.terminated && steps_ == max_episode_steps();
    return result;
  }
  int total_steps() const { return total_steps_; }

 private:
  int length_;
  int steps_ = 0;
  int total_steps_ = 0;
};

// `envs` in a local batch (each step error the Step's, as the registry's
// envs have it) with each action repeated `repeat` times.
std::unique_ptr<ActionRepeatBatch> Repeated(std::vector<std::unique_ptr<Env>> envs, int repeat) {
  EnvSpec spec = envs[0]->spec();
  absl::StatusOr<std::unique_ptr<LocalEnvBatch>> batch =
      LocalEnvBatch::Create(std::move(spec), std::move(envs), LocalEnvBatch::StepErrors::kFailStep);
  EXPECT_TRUE(batch.ok()) << batch.status();
  absl::StatusOr<std::unique_ptr<ActionRepeatBatch>> repeated = ActionRepeatBatch::Create(*std::move(batch), repeat);
  EXPECT_TRUE(repeated.ok()) << repeated.status();
  return *std::move(repeated);
}

std::unique_ptr<ActionRepeatBatch> Repeated(std::unique_ptr<Env> env, int repeat) {
  std::vector<std::unique_ptr<Env>> envs;
  envs.push_back(std::move(env));
  return Repeated(std::move(envs), repeat);
}

TEST(ActionRepeatBatchTest, SumsTheRewardsOfTheRepeatedSteps) {
  auto counter = std::make_unique<Counter>(100);
  Counter* inner = counter.get();
  std::unique_ptr<ActionRepeatBatch> env = Repeated(std::move(counter), 3);
  StepBuffers buffers(1);
  ASSERT_TRUE(env->Reset(buffers.obs.data()).ok());
  const float action = 0;
  absl::StatusOr<int> stepped = env->Step(1, &action, buffers.out());
  ASSERT_TRUE(stepped.ok()) << stepped.status();
  EXPECT_EQ(buffers.rewards[0], 3);
  EXPECT_THAT(buffers.observations(), ElementsAre(3));
  EXPECT_EQ(inner->total_steps(), 3);
  EXPECT_EQ(buffers.terminated[0], 0);
}

TEST(ActionRepeatBatchTest, StopsAtTheStepThatEndsTheEpisode) {
  auto counter = std::make_unique<Counter>(5);
  Counter* inner = counter.get();
  std::unique_ptr<ActionRepeatBatch> env = Repeated(std::move(counter), 4);
  StepBuffers buffers(1);
  ASSERT_TRUE(env->Reset(buffers.obs.data()).ok());
  const float action = 0;
  ASSERT_TRUE(env->Step(1, &action, buffers.out()).ok());
  ASSERT_TRUE(env->Step(1, &action, buffers.out()).ok());
  EXPECT_EQ(buffers.terminated[0], 1);
  EXPECT_EQ(buffers.rewards[0], 1);                       // step 5 alone: 6..8 are not taken
  EXPECT_THAT(buffers.final_observations(), ElementsAre(5));  // the observation the episode ended on
  EXPECT_THAT(buffers.observations(), ElementsAre(0));    // the next episode's first
  EXPECT_EQ(inner->total_steps(), 5) << "no step of the next episode with the stale action";
}

TEST(ActionRepeatBatchTest, StopsEachRowAtItsOwnEndWhileTheOthersGoOn) {
  std::vector<std::unique_ptr<Env>> envs;
  envs.push_back(std::make_unique<Counter>(3));
  envs.push_back(std::make_unique<Counter>(100));
  Counter* short_one = static_cast<Counter*>(envs[0].get());
  Counter* long_one = static_cast<Counter*>(envs[1].get());
  std::unique_ptr<ActionRepeatBatch> env = Repeated(std::move(envs), 4);
  StepBuffers buffers(2);
  ASSERT_TRUE(env->Reset(buffers.obs.data()).ok());
  const float actions[2] = {0, 0};
  ASSERT_TRUE(env->Step(2, actions, buffers.out()).ok());
  EXPECT_THAT(buffers.rewards, ElementsAre(3, 4));
  EXPECT_THAT(buffers.terminated, ElementsAre(1, 0));
  EXPECT_EQ(buffers.final_observations()[0], 3);
  EXPECT_THAT(buffers.observations(), ElementsAre(0, 4));
  EXPECT_EQ(short_one->total_steps(), 3);
  EXPECT_EQ(long_one->total_steps(), 4);
}

TEST(ActionRepeatBatchTest, ARowThatFailsStopsItsRepeatAndIsReportedOnceEvenWhenEveryRowFailsLater) {
  auto failing = std::make_unique<FailingBatch>(3);
  FailingBatch* inner = failing.get();
  absl::StatusOr<std::unique_ptr<ActionRepeatBatch>> env = ActionRepeatBatch::Create(std::move(failing), 2);
  ASSERT_TRUE(env.ok()) << env.status();
  StepBuffers buffers(3);
  ASSERT_TRUE((*env)->Reset(buffers.obs.data()).ok());
  const float actions[3] = {0, 0, 0};
  // Step 1: row 0 fails alone in the first repeat; rows 1 and 2 take both.
  inner->fail_row = 0;
  ASSERT_TRUE((*env)->Step(3, actions, buffers.out()).ok());
  ASSERT_EQ(buffers.failures.size(), 1u);
  EXPECT_EQ(buffers.failures[0].index, 0);
  EXPECT_THAT(buffers.rewards, ElementsAre(0, 2, 2));
  EXPECT_THAT(buffers.observations(), ElementsAre(0, 2, 2));
  // Step 2: row 1 fails alone in the first repeat, then every row in the
  // second (a broken stream), row 1 among them again: once each.
  inner->fail_row = 1;
  inner->break_in_calls = 1;
  ASSERT_TRUE((*env)->Step(3, actions, buffers.out()).ok());
  ASSERT_EQ(buffers.failures.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(buffers.failures[i].index, i);
  EXPECT_THAT(buffers.rewards, ElementsAre(0, 0, 0));
  EXPECT_THAT(buffers.observations(), ElementsAre(0, 0, 0)) << "each row's new first observation";
}

TEST(ActionRepeatBatchTest, TruncatesWhereTheWrappedTimeLimitDoesAndSaysSoInItsSpec) {
  std::unique_ptr<ActionRepeatBatch> env = Repeated(std::make_unique<Counter>(1000, 7), 2);
  EXPECT_EQ(env->spec().max_episode_steps, 4);  // ceil(7 / 2)
  StepBuffers buffers(1);
  ASSERT_TRUE(env->Reset(buffers.obs.data()).ok());
  const float action = 0;
  int steps = 0;
  while (buffers.truncated[0] == 0 && steps < 10) {
    ASSERT_TRUE(env->Step(1, &action, buffers.out()).ok());
    ++steps;
  }
  EXPECT_EQ(steps, 4);
  EXPECT_EQ(buffers.truncated[0], 1);
  EXPECT_EQ(buffers.terminated[0], 0);
  EXPECT_EQ(buffers.rewards[0], 1);  // the 7th env step alone
}

TEST(ActionRepeatBatchTest, AFailedFirstStepIsReturnedAndTakesNoStep) {
  auto counter = std::make_unique<Counter>(100);
  Counter* inner = counter.get();
  std::unique_ptr<ActionRepeatBatch> env = Repeated(std::move(counter), 2);
  StepBuffers buffers(1);
  ASSERT_TRUE(env->Reset(buffers.obs.data()).ok());
  const float bad = 5;
  absl::StatusOr<int> stepped = env->Step(1, &bad, buffers.out());
  EXPECT_EQ(stepped.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(inner->total_steps(), 0);
}

TEST(ActionRepeatBatchTest, RefusesRepeatsOutOfRangeByName) {
  EXPECT_THAT(ActionRepeatedSpec(Counter::Spec(10), 65).status().message(), HasSubstr("out of range 0..64"));
  EXPECT_THAT(ActionRepeatedSpec(Counter::Spec(10), -1).status().message(), HasSubstr("out of range"));
  EXPECT_EQ(ActionRepeatedSpec(Counter::Spec(10), 1)->max_episode_steps, 10);
  std::vector<std::unique_ptr<Env>> envs;
  envs.push_back(std::make_unique<Counter>(3));
  absl::StatusOr<std::unique_ptr<LocalEnvBatch>> batch =
      LocalEnvBatch::Create(Counter::Spec(100), std::move(envs), LocalEnvBatch::StepErrors::kFailStep);
  ASSERT_TRUE(batch.ok());
  EXPECT_FALSE(ActionRepeatBatch::Create(*std::move(batch), 1).ok());
}

TEST(ActionRepeatBatchTest, PendulumRepeatedTwiceMatchesTwoStepsOfTheSameEnv) {
  absl::StatusOr<std::unique_ptr<Env>> plain = MakeEnv("Pendulum-v1", 0, 7);
  absl::StatusOr<std::unique_ptr<Env>> inner = MakeEnv("Pendulum-v1", 0, 7);
  ASSERT_TRUE(plain.ok() && inner.ok());
  std::unique_ptr<ActionRepeatBatch> repeated = Repeated(*std::move(inner), 2);
  EXPECT_EQ(repeated->spec().max_episode_steps, 100);
  std::vector<float> a(3);
  StepBuffers buffers(1, 3);
  (*plain)->Reset(a.data());
  ASSERT_TRUE(repeated->Reset(buffers.obs.data()).ok());
  EXPECT_EQ(a, buffers.observations());
  for (int t = 0; t < 100; ++t) {
    const float torque = 0.02f * static_cast<float>(t % 50) - 0.5f;
    float reward = 0;
    StepResult expected;
    for (int k = 0; k < 2; ++k) {
      absl::StatusOr<StepResult> step = (*plain)->Step(&torque, a.data());
      ASSERT_TRUE(step.ok());
      reward += step->reward;
      expected = *step;
    }
    ASSERT_TRUE(repeated->Step(1, &torque, buffers.out()).ok());
    ASSERT_EQ(a, expected.truncated ? buffers.final_observations() : buffers.observations()) << "step " << t;
    EXPECT_FLOAT_EQ(buffers.rewards[0], reward);
    EXPECT_EQ(buffers.truncated[0] != 0, expected.truncated) << "step " << t;
  }
}

}  // namespace
}  // namespace rill::envs
