#include "experiment/policies.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "experiment/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::experiment {
namespace {

using ::testing::HasSubstr;

// Cooperative navigation (agent_0..agent_2) under asynchronous PPO.
constexpr char kNavigation[] = R"(
  env { name: "CooperativeNavigation-v0" }
  learner { ppo { unroll_length: 25 } batch_size: 8 }
  actor { num_envs: 4 }
  topology { num_actors: 2 }
)";

absl::StatusOr<v1::ExperimentConfig> WithPolicies(const std::string& policies, const std::string& base = kNavigation) {
  return ParseExperimentConfig(absl::StrCat(base, policies));
}

TEST(AgentPatternTest, MatchesStarsAndQuestionMarks) {
  EXPECT_TRUE(AgentPatternMatches("agent_0", "agent_0"));
  EXPECT_FALSE(AgentPatternMatches("agent_0", "agent_01"));
  EXPECT_TRUE(AgentPatternMatches("agent_*", "agent_12"));
  EXPECT_TRUE(AgentPatternMatches("*", "prey"));
  EXPECT_TRUE(AgentPatternMatches("*_?", "predator_2"));
  EXPECT_FALSE(AgentPatternMatches("*_?", "predator_12"));
  EXPECT_TRUE(AgentPatternMatches("p*y*", "prey"));
  EXPECT_FALSE(AgentPatternMatches("predator_*", "prey"));
}

TEST(PoliciesTest, WithoutASectionOnePolicyPlaysEveryAgent) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(kNavigation);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<PolicyMap> map = ResolvePolicies(*config);
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_FALSE(map->several());
  EXPECT_EQ(map->agent_policy, (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(PolicyReplay(*config)->tables(0).name(), config->replay().tables(0).name());
  absl::StatusOr<v1::ExperimentConfig> view = PolicyView(*config, "");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->SerializeAsString(), config->SerializeAsString());
}

TEST(PoliciesTest, MapsAgentsByNameAndPatternAndGivesEachPolicyItsTablesAndSeed) {
  absl::StatusOr<v1::ExperimentConfig> config = WithPolicies(R"(
    policies { name: "lead" agents: "agent_0" }
    policies { name: "wings" agents: "agent_[12]" agents: "agent_?" }
  )");
  // No character classes: "agent_[12]" matches nothing.
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("policies[1].agents"));
  EXPECT_THAT(config.status().message(), HasSubstr("'agent_[12]' matches no agent"));

  config = WithPolicies(R"(
    policies { name: "lead" agents: "agent_0" }
    policies { name: "wings" agents: "agent_1" agents: "agent_2" }
  )");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<PolicyMap> map = ResolvePolicies(*config);
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_TRUE(map->several());
  EXPECT_EQ(map->names, (std::vector<std::string>{"lead", "wings"}));
  EXPECT_EQ(map->agent_policy, (std::vector<int>{0, 1, 1}));
  EXPECT_EQ(map->AgentsOf(1), (std::vector<int>{1, 2}));

  const std::string table = config->replay().tables(0).name();
  const v1::ReplayConfig replay = PolicyReplay(*config).value();
  ASSERT_EQ(replay.tables_size(), 2);
  EXPECT_EQ(replay.tables(0).name(), table + ".lead");
  EXPECT_EQ(replay.tables(1).name(), table + ".wings");

  absl::StatusOr<v1::ExperimentConfig> wings = PolicyView(*config, "wings");
  ASSERT_TRUE(wings.ok()) << wings.status();
  EXPECT_EQ(wings->policies_size(), 0);
  EXPECT_EQ(wings->replay().tables(0).name(), table + ".wings");
  EXPECT_NE(wings->seed(), PolicyView(*config, "lead")->seed());
  // A policy's view is a config of its own that loads again.
  EXPECT_TRUE(FinalizeExperimentConfig(*wings).ok());

  absl::StatusOr<v1::ExperimentConfig> unknown = PolicyView(*config, "tail");
  EXPECT_TRUE(absl::IsNotFound(unknown.status()));
  EXPECT_THAT(unknown.status().message(), HasSubstr("lead, wings"));
}

// Predator-prey under asynchronous PPO: three predators (adversary_0..2,
// 16 floats each) and one prey (agent_0, 14 floats).
constexpr char kPredatorPrey[] = R"(
  env { name: "PredatorPrey-v0" }
  learner { ppo { unroll_length: 25 } batch_size: 8 }
  actor { num_envs: 4 }
  topology { num_actors: 2 }
)";

// The last dimension of table column `name`; -1 when it has none.
int64_t ColumnWidth(const v1::TableConfig& table, const std::string& name) {
  for (const v1::ColumnSpec& column : table.signature().columns()) {
    if (column.name() == name && column.shape_size() > 0) return column.shape(column.shape_size() - 1);
  }
  return -1;
}

TEST(PoliciesTest, PoliciesOfAgentsThatObserveDifferentlyGetTablesOfTheirOwnSpaces) {
  absl::StatusOr<v1::ExperimentConfig> config = WithPolicies(R"(
    policies { name: "predators" agents: "adversary_*" }
    policies { name: "prey" agents: "agent_0" }
  )", kPredatorPrey);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<v1::ExperimentConfig> predators = PolicyView(*config, "predators");
  absl::StatusOr<v1::ExperimentConfig> prey = PolicyView(*config, "prey");
  ASSERT_TRUE(predators.ok() && prey.ok()) << predators.status() << prey.status();
  EXPECT_THAT(predators->env().row_agents(), ::testing::ElementsAre("adversary_0", "adversary_1", "adversary_2"));
  EXPECT_THAT(prey->env().row_agents(), ::testing::ElementsAre("agent_0"));
  EXPECT_EQ(ColumnWidth(predators->replay().tables(0), "obs"), 16);
  EXPECT_EQ(ColumnWidth(prey->replay().tables(0), "obs"), 14);
  // The shards serve both, each with its own signature.
  const v1::ReplayConfig replay = PolicyReplay(*config).value();
  ASSERT_EQ(replay.tables_size(), 2);
  EXPECT_EQ(ColumnWidth(replay.tables(1), "obs"), 14);
  // The run's config loads again as the launcher wrote it out, and a view
  // as it is (a policy's checkpoint config).
  EXPECT_TRUE(FinalizeExperimentConfig(*config).ok()) << FinalizeExperimentConfig(*config).status();
  absl::StatusOr<v1::ExperimentConfig> again = FinalizeExperimentConfig(*prey);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->replay().tables(0).signature().SerializeAsString(),
            prey->replay().tables(0).signature().SerializeAsString());
}

TEST(PoliciesTest, RefusesAPolicyOfAgentsThatObserveDifferentlyAndASignatureForAll) {
  absl::StatusOr<v1::ExperimentConfig> config = WithPolicies(R"(
    policies { name: "hunt" agents: "adversary_0" agents: "agent_0" }
    policies { name: "pack" agents: "adversary_1" agents: "adversary_2" }
  )", kPredatorPrey);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("policies[0].agents"));
  EXPECT_THAT(config.status().message(), HasSubstr("differ in their spaces"));

  const std::string signed_table = absl::StrReplaceAll(kPredatorPrey, {{"actor {", R"(replay { tables {
    name: "unrolls" selector { fifo {} }
    signature { columns { name: "obs" dtype: DTYPE_FLOAT32 shape: 26 shape: 16 } } } }
    actor {)"}});
  config = WithPolicies(R"(
    policies { name: "predators" agents: "adversary_*" }
    policies { name: "prey" agents: "agent_0" }
  )", signed_table);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("replay.tables[0].signature"));
  EXPECT_THAT(config.status().message(), HasSubstr("policy 'prey''s agents observe 14 values, others 16"));

  config = WithPolicies(R"(
    policies { name: "predators" agents: "adversary_*" }
    policies { name: "prey" agents: "agent_0" }
  )", absl::StrReplaceAll(kPredatorPrey, {{"\"PredatorPrey-v0\"", "\"PredatorPrey-v0\" row_agents: \"agent_0\""}}));
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("env.row_agents"));
}

TEST(PoliciesTest, RefusesAnAgentMappedTwiceOrNotAtAll) {
  absl::StatusOr<v1::ExperimentConfig> twice = WithPolicies(R"(
    policies { name: "lead" agents: "agent_0" }
    policies { name: "all" agents: "agent_*" }
  )");
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), HasSubstr("policies[1].agents"));
  EXPECT_THAT(twice.status().message(), HasSubstr("agent agent_0 is policy 'lead''s and policy 'all''s"));

  absl::StatusOr<v1::ExperimentConfig> unmapped = WithPolicies(R"(
    policies { name: "lead" agents: "agent_0" }
    policies { name: "second" agents: "agent_1" }
  )");
  ASSERT_FALSE(unmapped.ok());
  EXPECT_THAT(unmapped.status().message(), HasSubstr("agent agent_2 of CooperativeNavigation-v0 is no policy's"));
}

// Data-parallel ranks train every policy (each through a subgroup of its
// own, roles/learner_main.cc): the section takes topology.num_learners,
// and each policy's view keeps the run's ranks.
TEST(PoliciesTest, TakesDataParallelLearnerRanks) {
  const std::string asynchronous =
      absl::StrReplaceAll(kNavigation, {{"unroll_length: 25 }", "unroll_length: 25 synchronous: false }"},
                                        {"num_actors: 2 }", "num_actors: 2 num_learners: 2 }"}});
  absl::StatusOr<v1::ExperimentConfig> config = WithPolicies(R"(
    policies { name: "lead" agents: "agent_0" }
    policies { name: "wings" agents: "agent_1" agents: "agent_2" }
  )", asynchronous);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->topology().num_learners(), 2);
  for (const std::string name : {"lead", "wings"}) {
    absl::StatusOr<v1::ExperimentConfig> view = PolicyView(*config, name);
    ASSERT_TRUE(view.ok()) << view.status();
    EXPECT_EQ(view->topology().num_learners(), 2) << name;
  }
}

TEST(PoliciesTest, RefusesWhatSeveralLearnerStatesCannotTake) {
  const struct {
    std::string config;
    std::string expected;
  } refusals[] = {
      {R"(policies { name: "Lead" agents: "agent_*" })", "policies[0].name"},
      {R"(policies { name: "a" agents: "agent_*" } policies { name: "a" agents: "x" })", "'a' names two policies"},
      {R"(policies { name: "a" })", "plays no agent"},
      {R"(policies { name: "a" agents: "agent_*" } env_JOINT)", "env.joint_agents"},
  };
  for (const auto& refusal : refusals) {
    // The base's own sections, changed in place (a section may be given once).
    const std::string base = absl::StrReplaceAll(
        kNavigation, {{"\"CooperativeNavigation-v0\" }", refusal.config.find("JOINT") != std::string::npos
                                                            ? "\"CooperativeNavigation-v0\" joint_agents: true }"
                                                            : "\"CooperativeNavigation-v0\" }"}});
    const std::string policies = absl::StrReplaceAll(refusal.config, {{"env_JOINT", ""}});
    absl::StatusOr<v1::ExperimentConfig> config = WithPolicies(policies, base);
    ASSERT_FALSE(config.ok()) << refusal.config;
    EXPECT_THAT(config.status().message(), HasSubstr(refusal.expected)) << refusal.config;
  }
  absl::StatusOr<v1::ExperimentConfig> single =
      ParseExperimentConfig(R"(env { name: "Pendulum-v1" } policies { name: "a" agents: "*" })");
  ASSERT_FALSE(single.ok());
  EXPECT_THAT(single.status().message(), HasSubstr("single-agent env"));
  absl::StatusOr<v1::ExperimentConfig> self_play =
      ParseExperimentConfig(R"(env { name: "PongDuel-v0" } self_play {} policies { name: "a" agents: "*" })");
  ASSERT_FALSE(self_play.ok());
  EXPECT_THAT(self_play.status().message(), HasSubstr("self_play"));
}

TEST(PoliciesTest, ASynchronousRunNeedsABatchOfEachPolicysOwnRows) {
  constexpr char kSynchronous[] = R"(
    env { name: "CooperativeNavigation-v0" }
    learner { ppo { unroll_length: 25 synchronous: true } batch_size: 16 publish_every: 1 max_policy_lag: 0 }
    actor { num_envs: 4 }
    topology { num_actors: 2 }
  )";
  // "lead" plays 2 actors x 4 envs x 1 agent = 8 rows.
  absl::StatusOr<v1::ExperimentConfig> config = WithPolicies(R"(
    policies { name: "lead" agents: "agent_0" }
    policies { name: "wings" agents: "agent_1" agents: "agent_2" }
  )", kSynchronous);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("learner.batch_size"));
  EXPECT_THAT(config.status().message(), HasSubstr("policy 'lead' plays only 8 rows"));
}

TEST(PoliciesTest, APolicysOwnLearnerSectionMergesOverTheRunsAndSizesItsQueue) {
  // No table given: the default queue of unrolls, sized per policy.
  absl::StatusOr<v1::ExperimentConfig> config = WithPolicies(R"(
    policies { name: "predators" agents: "adversary_*" learner { batch_size: 24 ppo { epochs: 2 } } }
    policies { name: "prey" agents: "agent_0" }
  )", kPredatorPrey);
  ASSERT_TRUE(config.ok()) << config.status();
  // Written out merged and finalized: what ran, in the run's config.textpb.
  const v1::LearnerConfig& written = config->policies(0).learner();
  EXPECT_EQ(written.batch_size(), 24);
  EXPECT_EQ(written.ppo().epochs(), 2);
  EXPECT_EQ(written.ppo().unroll_length(), 25);  // the run's
  EXPECT_EQ(written.publish_every(), config->learner().publish_every());
  EXPECT_FALSE(config->policies(1).has_learner());

  absl::StatusOr<v1::ExperimentConfig> predators = PolicyView(*config, "predators");
  absl::StatusOr<v1::ExperimentConfig> prey = PolicyView(*config, "prey");
  ASSERT_TRUE(predators.ok() && prey.ok()) << predators.status() << prey.status();
  EXPECT_EQ(predators->learner().batch_size(), 24);
  EXPECT_EQ(prey->learner().batch_size(), 8);
  EXPECT_NE(predators->learner().ppo().epochs(), prey->learner().ppo().epochs());
  // Four batches of each policy's own in its queue.
  EXPECT_EQ(predators->replay().tables(0).max_size(), 96);
  EXPECT_EQ(predators->replay().tables(0).rate_limiter().min_size_to_sample(), 24);
  EXPECT_EQ(prey->replay().tables(0).max_size(), 32);
  EXPECT_EQ(PolicyReplay(*config)->tables(0).max_size(), 96);

  // Finalizing again (each process reads the config the launcher wrote)
  // changes nothing, and a policy's view loads as it is.
  absl::StatusOr<v1::ExperimentConfig> again = FinalizeExperimentConfig(*config);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), config->SerializeAsString());
  absl::StatusOr<v1::ExperimentConfig> alone = FinalizeExperimentConfig(*predators);
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_EQ(alone->learner().batch_size(), 24);
  EXPECT_EQ(alone->replay().tables(0).max_size(), 96);

  // A table given by hand keeps its sizes.
  config = WithPolicies(R"(
    policies { name: "predators" agents: "adversary_*" learner { batch_size: 24 } }
    policies { name: "prey" agents: "agent_0" }
    replay { tables { name: "unrolls" selector { fifo {} } max_size: 64 } }
  )", kPredatorPrey);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(PolicyView(*config, "predators")->replay().tables(0).max_size(), 64);
}

TEST(PoliciesTest, APolicyMayTrainWithAnotherAlgorithmOfTheSameItems) {
  // IMPALA's unrolls beside PPO's.
  absl::StatusOr<v1::ExperimentConfig> config = WithPolicies(R"(
    policies { name: "predators" agents: "adversary_*" }
    policies { name: "prey" agents: "agent_0" learner { impala { learning_rate: 0.001 } batch_size: 4 } }
  )", kPredatorPrey);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<v1::ExperimentConfig> prey = PolicyView(*config, "prey");
  ASSERT_TRUE(prey.ok()) << prey.status();
  EXPECT_TRUE(prey->learner().has_impala());
  EXPECT_FALSE(prey->learner().has_ppo());
  EXPECT_TRUE(PolicyView(*config, "predators")->learner().has_ppo());
  EXPECT_EQ(prey->learner().batch_size(), 4);

  // Transitions: the default rate limiter follows the policy's batch (one
  // update per env step).
  config = WithPolicies(R"(
    policies { name: "lead" agents: "agent_0" learner { batch_size: 64 } }
    policies { name: "wings" agents: "agent_1" agents: "agent_2" }
  )", R"(env { name: "CooperativeNavigation-v0" } actor { num_envs: 2 })");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->learner().has_sac_discrete());
  EXPECT_EQ(PolicyView(*config, "lead")->replay().tables(0).rate_limiter().samples_per_insert(), 64);
  EXPECT_EQ(PolicyView(*config, "wings")->replay().tables(0).rate_limiter().samples_per_insert(), 256);
}

TEST(PoliciesTest, RefusesAPolicyLearnerTheActorsOrTheProcessCannotFollow) {
  const struct {
    std::string policy_learner;
    std::string expected;
  } refusals[] = {
      // The actors write PPO's unrolls for every policy.
      {"sac_discrete {}", "policies[1].learner.sac_discrete: sac_discrete has the actors write transitions; the "
                          "run's ppo unrolls"},
      {"ppo { synchronous: true } publish_every: 1 max_policy_lag: 0", "waiting for each version"},
      {"device: CPU", "policies[1].learner.device"},
      {"num_threads: 3", "policies[1].learner.num_threads"},
      {"maddpg {}", "an algorithm of joint agents"},
      // The learner's own rules, named for the policy's section.
      {"batch_size: -1", "config field policies[1].learner.batch_size: must be > 0"},
      {"ppo { clip_range: -1 }", "config field policies[1].learner.ppo.clip_range"},
  };
  for (const auto& refusal : refusals) {
    absl::StatusOr<v1::ExperimentConfig> config = WithPolicies(absl::StrCat(R"(
      policies { name: "lead" agents: "agent_0" }
      policies { name: "wings" agents: "agent_1" agents: "agent_2" learner { )", refusal.policy_learner, " } }"));
    ASSERT_FALSE(config.ok()) << refusal.policy_learner;
    EXPECT_THAT(config.status().message(), HasSubstr(refusal.expected)) << refusal.policy_learner;
  }
}

TEST(PoliciesTest, ASynchronousRunNeedsEachPolicysOwnBatchOfItsRows) {
  constexpr char kSynchronous[] = R"(
    env { name: "PredatorPrey-v0" }
    learner { ppo { unroll_length: 25 synchronous: true } batch_size: 8 publish_every: 1 max_policy_lag: 0 }
    actor { num_envs: 4 }
    topology { num_actors: 2 }
  )";
  // 24 predator rows and 8 prey rows: a batch of each side's own.
  absl::StatusOr<v1::ExperimentConfig> config = WithPolicies(R"(
    policies { name: "predators" agents: "adversary_*" learner { batch_size: 24 } }
    policies { name: "prey" agents: "agent_0" }
  )", kSynchronous);
  ASSERT_TRUE(config.ok()) << config.status();
  config = WithPolicies(R"(
    policies { name: "predators" agents: "adversary_*" }
    policies { name: "prey" agents: "agent_0" learner { batch_size: 16 } }
  )", kSynchronous);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("policies[1].learner.batch_size"));
  EXPECT_THAT(config.status().message(), HasSubstr("policy 'prey' plays only 8 rows"));
}

}  // namespace
}  // namespace rill::experiment
