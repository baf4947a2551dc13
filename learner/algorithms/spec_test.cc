#include "learner/algorithms/spec.h"

#include "envs/catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

envs::EnvSpec Continuous() { return *envs::LookupEnvSpec("Pendulum-v1"); }

envs::EnvSpec Discrete() { return *envs::LookupEnvSpec("CartPole-v1"); }

TEST(AlgorithmSpecTest, EveryAlgorithmIsFoundByNameAndByItsConfigField) {
  EXPECT_EQ(KnownAlgorithmNames(), "sac, td3, ddpg, sac_discrete, impala");
  for (const AlgorithmSpec& spec : AlgorithmSpecs()) {
    absl::StatusOr<const AlgorithmSpec*> by_name = FindAlgorithmSpec(spec.name);
    ASSERT_TRUE(by_name.ok()) << spec.name;
    EXPECT_EQ(*by_name, &spec);
    v1::LearnerConfig learner;
    const google::protobuf::FieldDescriptor* field = learner.GetDescriptor()->FindFieldByName(spec.name);
    ASSERT_NE(field, nullptr) << spec.name << " is not a field of LearnerConfig";
    learner.GetReflection()->MutableMessage(&learner, field);
    EXPECT_EQ(*FindAlgorithmSpec(learner), &spec);
    EXPECT_EQ(AlgorithmSection(learner), &learner.GetReflection()->GetMessage(learner, field));
  }
}

TEST(AlgorithmSpecTest, UnknownNameIsNotFoundListingTheKnownOnes) {
  absl::StatusOr<const AlgorithmSpec*> spec = FindAlgorithmSpec("ppo");
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(spec.status().message(), HasSubstr("sac_discrete"));
}

TEST(AlgorithmSpecTest, SacTargetEntropyDefaultsToMinusTheActionDims) {
  v1::LearnerConfig learner;
  learner.mutable_sac();
  envs::EnvSpec env = Continuous();
  env.action_low = {-1, -1, -1};
  env.action_high = {1, 1, 1};
  ASSERT_TRUE(FinalizeLearnerConfig(learner, env).ok());
  EXPECT_DOUBLE_EQ(learner.sac().target_entropy(), -3);
  EXPECT_DOUBLE_EQ(learner.sac().actor_lr(), 3e-4);
  EXPECT_EQ(learner.batch_size(), 256);
  EXPECT_EQ(learner.n_step(), 1);
}

TEST(AlgorithmSpecTest, ExplicitZeroTunablesAreKept) {
  v1::LearnerConfig learner;
  learner.mutable_td3()->set_target_noise(0);
  learner.mutable_td3()->set_exploration_noise(0);
  learner.set_gamma(0);
  learner.set_tau(0);
  ASSERT_TRUE(FinalizeLearnerConfig(learner, Continuous()).ok());
  EXPECT_EQ(learner.td3().target_noise(), 0);
  EXPECT_EQ(learner.td3().exploration_noise(), 0);
  EXPECT_EQ(learner.gamma(), 0);
  EXPECT_EQ(learner.tau(), 0);
}

TEST(AlgorithmSpecTest, ActionSpaceMismatchNamesTheAlgorithmsField) {
  v1::LearnerConfig td3;
  td3.mutable_td3();
  absl::Status status = FinalizeLearnerConfig(td3, Discrete());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("learner.td3"));
  EXPECT_THAT(status.message(), HasSubstr("CartPole-v1 is discrete"));

  v1::LearnerConfig discrete;
  discrete.mutable_sac_discrete();
  status = FinalizeLearnerConfig(discrete, Continuous());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("learner.sac_discrete"));
}

TEST(AlgorithmSpecTest, TargetEntropyFractionMustBeInUnitInterval) {
  for (double fraction : {0.0, 1.5, -0.2}) {
    v1::LearnerConfig learner;
    learner.mutable_sac_discrete()->set_target_entropy_fraction(fraction);
    absl::Status status = FinalizeLearnerConfig(learner, Discrete());
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << fraction;
    EXPECT_THAT(status.message(), HasSubstr("learner.sac_discrete.target_entropy_fraction"));
  }
}

TEST(AlgorithmSpecTest, NanLearningRateIsRefused) {
  v1::LearnerConfig learner;
  learner.mutable_ddpg()->set_actor_lr(std::nan(""));
  absl::Status status = FinalizeLearnerConfig(learner, Continuous());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("learner.ddpg.actor_lr"));
}

}  // namespace
}  // namespace rill::learner

namespace rill::learner {
namespace {

TEST(AlgorithmSpecTest, ImpalaActsInBothSpacesWithThePapersDefaults) {
  for (bool discrete : {true, false}) {
    envs::EnvSpec env;
    env.name = discrete ? "CartPole-v1" : "Pendulum-v1";
    env.observation_shape = {3};
    env.discrete = discrete;
    env.num_actions = discrete ? 2 : 0;
    if (!discrete) {
      env.action_low = {-2};
      env.action_high = {2};
    }
    v1::LearnerConfig learner;
    learner.mutable_impala();
    ASSERT_TRUE(FinalizeLearnerConfig(learner, env).ok()) << env.name;
    EXPECT_EQ(learner.impala().unroll_length(), 20);
    EXPECT_EQ(learner.impala().optimizer(), v1::ImpalaConfig::RMSPROP);
    EXPECT_DOUBLE_EQ(learner.impala().learning_rate(), 6e-4);
    EXPECT_DOUBLE_EQ(learner.impala().baseline_cost(), 0.5);
    EXPECT_DOUBLE_EQ(learner.impala().entropy_cost(), 0.01);
    EXPECT_DOUBLE_EQ(learner.impala().max_grad_norm(), 40);
    EXPECT_EQ(learner.batch_size(), 32);
  }
  envs::EnvSpec env;
  env.name = "CartPole-v1";
  env.observation_shape = {4};
  env.discrete = true;
  env.num_actions = 2;
  v1::LearnerConfig learner;
  learner.mutable_impala()->set_synchronous(true);
  learner.set_publish_every(10);
  EXPECT_THAT(FinalizeLearnerConfig(learner, env).message(), ::testing::HasSubstr("learner.impala.synchronous"));
  learner.Clear();
  learner.mutable_impala()->set_lambda(1.5);
  EXPECT_THAT(FinalizeLearnerConfig(learner, env).message(), ::testing::HasSubstr("learner.impala.lambda"));
}

}  // namespace
}  // namespace rill::learner
