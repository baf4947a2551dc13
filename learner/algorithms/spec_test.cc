#include "learner/algorithms/spec.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "envs/catalog.h"
#include "envs/multi_agent/joint.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

envs::EnvSpec Continuous() { return *envs::LookupEnvSpec("Pendulum-v1"); }

envs::EnvSpec Discrete() { return *envs::LookupEnvSpec("CartPole-v1"); }

// CooperativeNavigation-v0's agents as one row.
envs::EnvSpec JointAgents() { return *envs::JointSpec(*envs::LookupMultiAgentSpec("CooperativeNavigation-v0")); }

TEST(AlgorithmSpecTest, EveryAlgorithmIsFoundByNameAndByItsConfigField) {
  EXPECT_EQ(KnownAlgorithmNames(), "sac, td3, ddpg, sac_discrete, impala, ppo, drqv2, maddpg, dsac_t, droq, crossq, simbav2");
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

TEST(AlgorithmSpecTest, EveryFieldOfTheAlgorithmOneofHasOneRowNamedAfterIt) {
  const google::protobuf::OneofDescriptor* oneof = v1::LearnerConfig::descriptor()->FindOneofByName("algorithm");
  ASSERT_NE(oneof, nullptr);
  ASSERT_EQ(AlgorithmSpecs().size(), static_cast<size_t>(oneof->field_count()));
  for (int i = 0; i < oneof->field_count(); ++i) {
    const AlgorithmSpec& spec = AlgorithmSpecs()[i];
    EXPECT_EQ(spec.config_case, oneof->field(i)->number());
    EXPECT_EQ(spec.name, oneof->field(i)->name());
    EXPECT_EQ(&AlgorithmName(spec.config_case), &spec.name);
  }
}

TEST(AlgorithmSpecTest, UnknownNameIsNotFoundListingTheKnownOnes) {
  absl::StatusOr<const AlgorithmSpec*> spec = FindAlgorithmSpec("dqn");
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

TEST(AlgorithmSpecTest, DsacTTakesThePapersSettingsAndRefusesBadOnesByName) {
  v1::LearnerConfig learner;
  learner.mutable_dsac_t();
  ASSERT_TRUE(FinalizeLearnerConfig(learner, Continuous()).ok());
  EXPECT_DOUBLE_EQ(learner.dsac_t().actor_lr(), 1e-4);
  EXPECT_DOUBLE_EQ(learner.dsac_t().critic_lr(), 1e-4);
  EXPECT_DOUBLE_EQ(learner.dsac_t().alpha_lr(), 3e-4);
  EXPECT_EQ(learner.dsac_t().policy_delay(), 2);
  EXPECT_DOUBLE_EQ(learner.dsac_t().td_clip_stds(), 3);
  EXPECT_DOUBLE_EQ(learner.dsac_t().target_entropy(), -1);
  for (const auto& [set, field] : std::vector<std::pair<void (*)(v1::DsacTConfig&), std::string>>{
           {[](v1::DsacTConfig& d) { d.set_policy_delay(0); }, "learner.dsac_t.policy_delay"},
           {[](v1::DsacTConfig& d) { d.set_td_clip_stds(0); }, "learner.dsac_t.td_clip_stds"},
           {[](v1::DsacTConfig& d) { d.set_std_average_rate(1.5); }, "learner.dsac_t.std_average_rate"},
           {[](v1::DsacTConfig& d) { d.set_gradient_bias(-1); }, "learner.dsac_t.gradient_bias"},
           {[](v1::DsacTConfig& d) { d.set_critic_lr(NAN); }, "learner.dsac_t.critic_lr"},
       }) {
    v1::LearnerConfig bad;
    set(*bad.mutable_dsac_t());
    EXPECT_THAT(FinalizeLearnerConfig(bad, Continuous()).message(), HasSubstr(field)) << field;
  }
  v1::LearnerConfig discrete;
  discrete.mutable_dsac_t();
  EXPECT_THAT(FinalizeLearnerConfig(discrete, Discrete()).message(), HasSubstr("dsac_t needs a continuous"));
}

TEST(AlgorithmSpecTest, DroqTakesThePapersSettingsAndOneActorStepPerEnvStep) {
  v1::LearnerConfig learner;
  learner.mutable_droq();
  learner.set_updates_per_env_step(20);
  ASSERT_TRUE(FinalizeLearnerConfig(learner, Continuous()).ok());
  EXPECT_DOUBLE_EQ(learner.droq().dropout_rate(), 0.01);
  EXPECT_TRUE(learner.droq().layer_norm());
  EXPECT_EQ(learner.droq().num_critics(), 2);
  EXPECT_EQ(learner.droq().policy_delay(), 20);  // the actor once per env step
  v1::LearnerConfig one;
  one.mutable_droq();
  ASSERT_TRUE(FinalizeLearnerConfig(one, Continuous()).ok());
  EXPECT_EQ(one.droq().policy_delay(), 1);
  for (const auto& [set, field] : std::vector<std::pair<void (*)(v1::DroqConfig&), std::string>>{
           {[](v1::DroqConfig& d) { d.set_dropout_rate(1); }, "learner.droq.dropout_rate"},
           {[](v1::DroqConfig& d) { d.set_dropout_rate(-0.1); }, "learner.droq.dropout_rate"},
           {[](v1::DroqConfig& d) { d.set_num_critics(11); }, "learner.droq.num_critics"},
           {[](v1::DroqConfig& d) { d.set_policy_delay(0); }, "learner.droq.policy_delay"},
       }) {
    v1::LearnerConfig bad;
    set(*bad.mutable_droq());
    EXPECT_THAT(FinalizeLearnerConfig(bad, Continuous()).message(), HasSubstr(field)) << field;
  }
}

TEST(AlgorithmSpecTest, CrossQTakesThePapersSettings) {
  v1::LearnerConfig learner;
  learner.mutable_crossq();
  ASSERT_TRUE(FinalizeLearnerConfig(learner, Continuous()).ok());
  const v1::CrossQConfig& crossq = learner.crossq();
  EXPECT_DOUBLE_EQ(crossq.critic_lr(), 1e-3);
  EXPECT_DOUBLE_EQ(crossq.adam_beta1(), 0.5);
  EXPECT_EQ(crossq.policy_delay(), 3);
  EXPECT_THAT(std::vector<int>(crossq.critic_hidden_sizes().begin(), crossq.critic_hidden_sizes().end()),
              ::testing::ElementsAre(2048, 2048));
  EXPECT_EQ(crossq.renorm_warmup_steps(), 100000);
  EXPECT_DOUBLE_EQ(crossq.renorm_momentum(), 0.01);
  v1::LearnerConfig narrow;
  narrow.mutable_crossq()->add_critic_hidden_sizes(256);
  ASSERT_TRUE(FinalizeLearnerConfig(narrow, Continuous()).ok());
  EXPECT_EQ(narrow.crossq().critic_hidden_sizes_size(), 1);
  for (const auto& [set, field] : std::vector<std::pair<void (*)(v1::CrossQConfig&), std::string>>{
           {[](v1::CrossQConfig& c) { c.set_adam_beta1(1); }, "learner.crossq.adam_beta1"},
           {[](v1::CrossQConfig& c) { c.set_renorm_momentum(0); }, "learner.crossq.renorm_momentum"},
           {[](v1::CrossQConfig& c) { c.set_renorm_r_max(0.5); }, "learner.crossq.renorm_r_max"},
           {[](v1::CrossQConfig& c) { c.set_renorm_warmup_steps(-1); }, "learner.crossq.renorm_warmup_steps"},
           {[](v1::CrossQConfig& c) { c.set_policy_delay(0); }, "learner.crossq.policy_delay"},
           {[](v1::CrossQConfig& c) { c.add_critic_hidden_sizes(0); }, "learner.crossq.critic_hidden_sizes[0]"},
       }) {
    v1::LearnerConfig bad;
    set(*bad.mutable_crossq());
    EXPECT_THAT(FinalizeLearnerConfig(bad, Continuous()).message(), HasSubstr(field)) << field;
  }
}

TEST(AlgorithmSpecTest, SimbaV2TakesThePapersSettingsAndNormalisesObservations) {
  v1::LearnerConfig learner;
  learner.mutable_simbav2();
  ASSERT_TRUE(FinalizeLearnerConfig(learner, Continuous()).ok());
  const v1::SimbaV2Config& simba = learner.simbav2();
  EXPECT_DOUBLE_EQ(simba.critic_lr(), 1e-4);
  EXPECT_DOUBLE_EQ(simba.final_lr_fraction(), 0.5);
  EXPECT_EQ(simba.lr_decay_updates(), 1000000);
  EXPECT_EQ(simba.critic_hidden_size(), 512);
  EXPECT_EQ(simba.critic_blocks(), 2);
  EXPECT_EQ(simba.actor_hidden_size(), 128);
  EXPECT_EQ(simba.actor_blocks(), 1);
  EXPECT_EQ(simba.num_atoms(), 101);
  EXPECT_DOUBLE_EQ(simba.v_max(), 5);
  EXPECT_DOUBLE_EQ(simba.shift(), 3);
  EXPECT_DOUBLE_EQ(simba.target_entropy(), -0.5 * Continuous().action_dim());
  EXPECT_TRUE(learner.normalize_observations());
  for (const auto& [set, field] : std::vector<std::pair<void (*)(v1::SimbaV2Config&), std::string>>{
           {[](v1::SimbaV2Config& c) { c.set_final_lr_fraction(0); }, "learner.simbav2.final_lr_fraction"},
           {[](v1::SimbaV2Config& c) { c.set_lr_decay_updates(0); }, "learner.simbav2.lr_decay_updates"},
           {[](v1::SimbaV2Config& c) { c.set_critic_blocks(17); }, "learner.simbav2.critic_blocks"},
           {[](v1::SimbaV2Config& c) { c.set_actor_hidden_size(0); }, "learner.simbav2.actor_hidden_size"},
           {[](v1::SimbaV2Config& c) { c.set_num_atoms(1); }, "learner.simbav2.num_atoms"},
           {[](v1::SimbaV2Config& c) { c.set_v_max(0); }, "learner.simbav2.v_max"},
           {[](v1::SimbaV2Config& c) { c.set_shift(-1); }, "learner.simbav2.shift"},
       }) {
    v1::LearnerConfig bad;
    set(*bad.mutable_simbav2());
    EXPECT_THAT(FinalizeLearnerConfig(bad, Continuous()).message(), HasSubstr(field)) << field;
  }
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

namespace rill::learner {
namespace {

envs::EnvSpec CartPoleLike() {
  envs::EnvSpec env;
  env.name = "CartPole-v1";
  env.observation_shape = {4};
  env.discrete = true;
  env.num_actions = 2;
  return env;
}

TEST(AlgorithmSpecTest, PpoTakesCleanRlsDefaultsOnUnrolls) {
  v1::LearnerConfig learner;
  learner.mutable_ppo();
  ASSERT_TRUE(FinalizeLearnerConfig(learner, CartPoleLike()).ok());
  EXPECT_EQ(learner.ppo().unroll_length(), 128);
  EXPECT_DOUBLE_EQ(learner.ppo().lambda(), 0.95);
  EXPECT_DOUBLE_EQ(learner.ppo().clip_range(), 0.2);
  EXPECT_EQ(learner.ppo().epochs(), 4);
  EXPECT_EQ(learner.ppo().num_minibatches(), 4);
  EXPECT_TRUE(learner.ppo().normalize_advantages());
  EXPECT_DOUBLE_EQ(learner.ppo().learning_rate(), 3e-4);
  EXPECT_DOUBLE_EQ(learner.ppo().max_grad_norm(), 0.5);
  EXPECT_EQ(learner.batch_size(), 8);
  const ActorDuty duty = (*FindAlgorithmSpec(learner))->actor_duty(learner);
  EXPECT_EQ(duty.items.kind, items::ItemKind::kUnroll);
  EXPECT_EQ(duty.items.unroll_length, 128);
  EXPECT_FALSE(duty.synchronous);
}

TEST(AlgorithmSpecTest, PpoRefusesBadValuesByFieldName) {
  struct Case {
    void (*set)(v1::LearnerConfig&);
    const char* field;
  };
  for (const Case& c : std::vector<Case>{
           {[](v1::LearnerConfig& l) { l.mutable_ppo()->set_clip_range(0); }, "learner.ppo.clip_range"},
           {[](v1::LearnerConfig& l) { l.mutable_ppo()->set_clip_range(1.5); }, "learner.ppo.clip_range"},
           {[](v1::LearnerConfig& l) { l.mutable_ppo()->set_value_clip_range(-1); }, "learner.ppo.value_clip_range"},
           {[](v1::LearnerConfig& l) { l.mutable_ppo()->set_epochs(0); }, "learner.ppo.epochs"},
           {[](v1::LearnerConfig& l) { l.mutable_ppo()->set_num_minibatches(0); }, "learner.ppo.num_minibatches"},
           // 8 unrolls x 128 steps = 1024 steps: 3 minibatches do not divide them.
           {[](v1::LearnerConfig& l) { l.mutable_ppo()->set_num_minibatches(3); }, "learner.ppo.num_minibatches"},
           {[](v1::LearnerConfig& l) { l.mutable_ppo()->set_lambda(1.5); }, "learner.ppo.lambda"},
           {[](v1::LearnerConfig& l) { l.mutable_ppo()->set_target_kl(-0.1); }, "learner.ppo.target_kl"},
           {[](v1::LearnerConfig& l) { l.mutable_ppo()->set_learning_rate(0); }, "learner.ppo.learning_rate"},
           {[](v1::LearnerConfig& l) { l.mutable_ppo()->set_unroll_length(0); }, "learner.ppo.unroll_length"},
           {[](v1::LearnerConfig& l) { l.mutable_ppo()->set_rho_bar(0); }, "learner.ppo.rho_bar"},
           {[](v1::LearnerConfig& l) {
              l.mutable_ppo()->set_synchronous(true);
              l.set_publish_every(10);
            },
            "learner.ppo.synchronous"},
       }) {
    v1::LearnerConfig learner;
    c.set(learner);
    EXPECT_THAT(FinalizeLearnerConfig(learner, CartPoleLike()).message(), ::testing::HasSubstr(c.field)) << c.field;
  }
}

}  // namespace
TEST(AlgorithmSpecTest, MaddpgTakesThePapersSettingsWhereTheConfigStatesNone) {
  v1::LearnerConfig learner;
  learner.mutable_maddpg();
  ASSERT_TRUE(FinalizeLearnerConfig(learner, JointAgents()).ok());
  EXPECT_DOUBLE_EQ(learner.maddpg().actor_lr(), 0.01);
  EXPECT_DOUBLE_EQ(learner.maddpg().critic_lr(), 0.01);
  EXPECT_DOUBLE_EQ(learner.gamma(), 0.95);
  EXPECT_DOUBLE_EQ(learner.tau(), 0.01);
  EXPECT_EQ(learner.batch_size(), 1024);
  EXPECT_EQ(learner.maddpg().critic(), v1::MaddpgConfig::CENTRALISED);
  EXPECT_TRUE(TrainsOnJointAgents(learner));

  // What the config states stays.
  v1::LearnerConfig stated;
  stated.mutable_maddpg()->set_critic(v1::MaddpgConfig::OWN);
  stated.set_gamma(0.99);
  stated.set_batch_size(64);
  ASSERT_TRUE(FinalizeLearnerConfig(stated, JointAgents()).ok());
  EXPECT_DOUBLE_EQ(stated.gamma(), 0.99);
  EXPECT_EQ(stated.batch_size(), 64);
  EXPECT_EQ(stated.maddpg().critic(), v1::MaddpgConfig::OWN);
}

TEST(AlgorithmSpecTest, MaddpgRefusesASingleAgentEnvAndNormalisedObservations) {
  v1::LearnerConfig learner;
  learner.mutable_maddpg();
  absl::Status single = FinalizeLearnerConfig(learner, Continuous());
  EXPECT_EQ(single.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(single.message(), HasSubstr("learner.maddpg"));
  EXPECT_THAT(single.message(), HasSubstr("Pendulum-v1 is a single-agent env"));

  v1::LearnerConfig normalised;
  normalised.mutable_maddpg();
  normalised.set_normalize_observations(true);
  EXPECT_THAT(FinalizeLearnerConfig(normalised, JointAgents()).message(), HasSubstr("learner.normalize_observations"));
  EXPECT_FALSE(TrainsOnJointAgents(v1::LearnerConfig()));
}

TEST(AlgorithmSpecTest, PpoCentralisedValueNeedsAgentRowsOfAnEnvWithAState) {
  v1::LearnerConfig learner;
  learner.mutable_ppo()->set_centralised_value(true);
  const envs::EnvSpec agents = *envs::LookupEnvSpec("CooperativeNavigation-v0");
  ASSERT_GT(agents.state_dim, 0);
  v1::LearnerConfig mappo = learner;
  ASSERT_TRUE(FinalizeLearnerConfig(mappo, agents).ok());
  const ActorDuty duty = ActorDutyFor(**FindAlgorithmSpec(mappo), [&mappo] {
    v1::ExperimentConfig config;
    *config.mutable_learner() = mappo;
    return config;
  }());
  EXPECT_TRUE(duty.items.global_state) << "the unrolls record the state";

  v1::LearnerConfig single = learner;
  absl::Status status = FinalizeLearnerConfig(single, Discrete());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("learner.ppo.centralised_value"));
  EXPECT_THAT(status.message(), HasSubstr("CartPole-v1 offers none"));
  v1::LearnerConfig joint = learner;
  status = FinalizeLearnerConfig(joint, JointAgents());
  EXPECT_THAT(status.message(), HasSubstr("learner.ppo.centralised_value"));
  EXPECT_THAT(status.message(), HasSubstr("env.joint_agents"));
}

}  // namespace rill::learner
