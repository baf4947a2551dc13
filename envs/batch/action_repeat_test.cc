#include "envs/action_repeat.h"

#include <memory>
#include <vector>

#include "envs/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

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

TEST(ActionRepeatTest, SumsTheRewardsOfTheRepeatedSteps) {
  auto counter = std::make_unique<Counter>(100);
  Counter* inner = counter.get();
  absl::StatusOr<std::unique_ptr<ActionRepeat>> env = ActionRepeat::Create(std::move(counter), 3);
  ASSERT_TRUE(env.ok()) << env.status();
  float obs = -1, action = 0;
  (*env)->Reset(&obs);
  absl::StatusOr<StepResult> step = (*env)->Step(&action, &obs);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->reward, 3);
  EXPECT_EQ(obs, 3);
  EXPECT_EQ(inner->total_steps(), 3);
  EXPECT_FALSE(step->terminated);
}

TEST(ActionRepeatTest, StopsAtTheStepThatEndsTheEpisode) {
  absl::StatusOr<std::unique_ptr<ActionRepeat>> env = ActionRepeat::Create(std::make_unique<Counter>(5), 4);
  ASSERT_TRUE(env.ok()) << env.status();
  float obs = -1, action = 0;
  (*env)->Reset(&obs);
  ASSERT_TRUE((*env)->Step(&action, &obs).ok());
  absl::StatusOr<StepResult> last = (*env)->Step(&action, &obs);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_TRUE(last->terminated);
  EXPECT_EQ(last->reward, 1);  // step 5 alone: 6..8 are not taken
  EXPECT_EQ(obs, 5);           // the observation the episode ended on
}

TEST(ActionRepeatTest, TruncatesWhereTheWrappedTimeLimitDoesAndSaysSoInItsSpec) {
  absl::StatusOr<std::unique_ptr<ActionRepeat>> env = ActionRepeat::Create(std::make_unique<Counter>(1000, 7), 2);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ((*env)->max_episode_steps(), 4);  // ceil(7 / 2)
  float obs = -1, action = 0;
  (*env)->Reset(&obs);
  int steps = 0;
  StepResult result;
  while (!result.truncated && steps < 10) {
    absl::StatusOr<StepResult> step = (*env)->Step(&action, &obs);
    ASSERT_TRUE(step.ok()) << step.status();
    result = *step;
    ++steps;
  }
  EXPECT_EQ(steps, 4);
  EXPECT_TRUE(result.truncated);
  EXPECT_FALSE(result.terminated);
  EXPECT_EQ(result.reward, 1);  // the 7th env step alone
}

TEST(ActionRepeatTest, AFailedFirstStepIsReturnedAndTakesNoStep) {
  auto counter = std::make_unique<Counter>(100);
  Counter* inner = counter.get();
  absl::StatusOr<std::unique_ptr<ActionRepeat>> env = ActionRepeat::Create(std::move(counter), 2);
  ASSERT_TRUE(env.ok()) << env.status();
  float obs = -1, bad = 5;
  (*env)->Reset(&obs);
  absl::StatusOr<StepResult> step = (*env)->Step(&bad, &obs);
  EXPECT_EQ(step.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(inner->total_steps(), 0);
}

TEST(ActionRepeatTest, RefusesRepeatsOutOfRangeByName) {
  EXPECT_THAT(ActionRepeatedSpec(Counter::Spec(10), 65).status().message(), HasSubstr("out of range 0..64"));
  EXPECT_THAT(ActionRepeatedSpec(Counter::Spec(10), -1).status().message(), HasSubstr("out of range"));
  EXPECT_EQ(ActionRepeatedSpec(Counter::Spec(10), 1)->max_episode_steps, 10);
  EXPECT_FALSE(ActionRepeat::Create(std::make_unique<Counter>(3), 1).ok());
}

TEST(ActionRepeatTest, PendulumRepeatedTwiceMatchesTwoStepsOfTheSameEnv) {
  absl::StatusOr<std::unique_ptr<Env>> plain = MakeEnv("Pendulum-v1", 0, 7);
  absl::StatusOr<std::unique_ptr<Env>> inner = MakeEnv("Pendulum-v1", 0, 7);
  ASSERT_TRUE(plain.ok() && inner.ok());
  absl::StatusOr<std::unique_ptr<ActionRepeat>> repeated = ActionRepeat::Create(*std::move(inner), 2);
  ASSERT_TRUE(repeated.ok()) << repeated.status();
  EXPECT_EQ((*repeated)->max_episode_steps(), 100);
  std::vector<float> a(3), b(3);
  (*plain)->Reset(a.data());
  (*repeated)->Reset(b.data());
  EXPECT_EQ(a, b);
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
    absl::StatusOr<StepResult> got = (*repeated)->Step(&torque, b.data());
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(a, b) << "step " << t;
    EXPECT_FLOAT_EQ(got->reward, reward);
    EXPECT_EQ(got->truncated, expected.truncated) << "step " << t;
  }
}

}  // namespace
}  // namespace rill::envs
