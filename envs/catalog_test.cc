// The catalogue's view of a config's env section where the env is a remote
// multi-agent one (env.remote.agents): its agents, the rows it fills, the
// joint row MADDPG steps, and agents that cannot be one policy's rows.
#include "envs/catalog.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "envs/multi_agent/joint.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::HasSubstr;

v1::EnvConfig Section(const std::string& text) {
  v1::EnvConfig env;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &env)) << text;
  return env;
}

// A chaser (box action) and a runner (discrete), as examples/python/pursuit.py.
constexpr char kPursuit[] = R"pb(
  name: "pursuit:make"
  remote {
    address: "127.0.0.1:1"
    agents {
      name: "chaser"
      observation_space { box { shape: 2 dtype: DTYPE_FLOAT32 } }
      action_space { box { shape: 1 dtype: DTYPE_FLOAT32 low: -1 high: 1 } }
    }
    agents {
      name: "runner"
      observation_space { box { shape: 3 dtype: DTYPE_FLOAT32 } }
      action_space { discrete { n: 3 } }
    }
    state_shape: 3
  }
)pb";

TEST(CatalogTest, ARemoteSectionWithAgentsIsMultiAgent) {
  const v1::EnvConfig env = Section(kPursuit);
  ASSERT_TRUE(IsMultiAgentSection(env));
  absl::StatusOr<MultiAgentSpec> multi = ConfiguredMultiAgentSpec(env);
  ASSERT_TRUE(multi.ok()) << multi.status();
  EXPECT_EQ(multi->name, "pursuit:make");
  EXPECT_EQ(multi->agents, (std::vector<std::string>{"chaser", "runner"}));
  EXPECT_EQ(multi->agent_specs[1].num_actions, 3);
  EXPECT_EQ(multi->state_dim(), 3);
  EXPECT_EQ(RowsPerEnv(env), 2);
}

TEST(CatalogTest, JointAgentsOfARemoteEnvAreOneRow) {
  v1::EnvConfig env = Section(kPursuit);
  env.set_joint_agents(true);
  EXPECT_EQ(RowsPerEnv(env), 1);
  absl::StatusOr<EnvSpec> row = ConfiguredEnvSpec(env);
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->obs_dim(), 5);
  EXPECT_EQ(row->action_dim(), 4);  // the chaser's 1, the runner's one-hot 3
  EXPECT_EQ(row->joint_agents, 2);
}

TEST(CatalogTest, RemoteAgentsOfDifferentSpacesAreNoPolicysRows) {
  absl::StatusOr<EnvSpec> row = ConfiguredEnvSpec(Section(kPursuit));
  ASSERT_FALSE(row.ok());
  EXPECT_THAT(row.status().message(), HasSubstr("pursuit:make's agents differ in their spaces"));
  EXPECT_THAT(row.status().message(), HasSubstr("env.joint_agents"));
}

TEST(CatalogTest, RemoteAgentsOfOneSpaceAreRows) {
  absl::StatusOr<EnvSpec> row = ConfiguredEnvSpec(Section(R"pb(
    remote {
      address: "127.0.0.1:1"
      agents { name: "a" observation_space { box { shape: 3 dtype: DTYPE_FLOAT32 } } action_space { discrete { n: 2 } } }
      agents { name: "b" observation_space { box { shape: 3 dtype: DTYPE_FLOAT32 } } action_space { discrete { n: 2 } } }
    }
  )pb"));
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->name, "remote");
  EXPECT_EQ(row->obs_dim(), 3);
  EXPECT_TRUE(row->discrete);
}

TEST(CatalogTest, RemoteAgentsObservingBytesAreRefusedByField) {
  absl::StatusOr<MultiAgentSpec> multi = ConfiguredMultiAgentSpec(Section(R"pb(
    remote {
      address: "127.0.0.1:1"
      agents { name: "eye" observation_space { box { shape: 3 dtype: DTYPE_UINT8 } } action_space { discrete { n: 2 } } }
    }
  )pb"));
  ASSERT_FALSE(multi.ok());
  EXPECT_THAT(multi.status().message(), HasSubstr("env.remote.agents[0] (eye)"));
}

// Agents whose observations end in an action mask (AgentSpaces.action_mask)
// are rows whose spec says so; in a joint row (MADDPG's) each masked
// agent's slot says so instead; a mask where it cannot be and masked
// agents padded to another's width (the mask would not end the row) are
// refused by name.
TEST(CatalogTest, MaskedAgentsAreMaskedRowsAndRefusedWhereAMaskCannotBe) {
  const std::string picker = R"pb(
      observation_space { box { shape: 6 dtype: DTYPE_FLOAT32 } } action_space { discrete { n: 4 } }
      action_mask: true)pb";
  v1::EnvConfig env = Section(absl::StrCat(R"pb(remote { address: "127.0.0.1:1" agents { name: "p0" )pb", picker,
                                           R"pb( } agents { name: "p1" )pb", picker, " } }"));
  absl::StatusOr<EnvSpec> row = ConfiguredEnvSpec(env);
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_TRUE(row->action_mask);
  EXPECT_EQ(RowsPerEnv(env), 2);

  env.set_joint_agents(true);
  row = ConfiguredEnvSpec(env);
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_FALSE(row->action_mask);  // the row is no one agent's: its slots are masked
  EXPECT_EQ(row->joint_agents, 2);
  absl::StatusOr<MultiAgentSpec> agents = ConfiguredMultiAgentSpec(env);
  ASSERT_TRUE(agents.ok()) << agents.status();
  for (const JointSlot& slot : JointLayout(*agents)) EXPECT_TRUE(slot.masked);

  const std::pair<std::string, std::string> refused[] = {
      {R"pb(remote { address: "127.0.0.1:1" agents { name: "arm"
            observation_space { box { shape: 6 dtype: DTYPE_FLOAT32 } }
            action_space { box { shape: 1 dtype: DTYPE_FLOAT32 low: -1 high: 1 } } action_mask: true } })pb",
       "env.remote.agents[0] (arm).action_mask: "},
      {R"pb(remote { address: "127.0.0.1:1" agents { name: "tiny"
            observation_space { box { shape: 3 dtype: DTYPE_FLOAT32 } } action_space { discrete { n: 4 } }
            action_mask: true } })pb",
       "env.remote.agents[0] (tiny).action_mask: "},
  };
  for (const auto& [text, message] : refused) {
    absl::StatusOr<MultiAgentSpec> multi = ConfiguredMultiAgentSpec(Section(text));
    ASSERT_FALSE(multi.ok()) << text;
    EXPECT_THAT(multi.status().message(), HasSubstr(message)) << text;
  }

  // A masked agent beside a wider one: padding would follow its mask.
  row = ConfiguredEnvSpec(Section(absl::StrCat(
      R"pb(remote { address: "127.0.0.1:1" agents { name: "p0" )pb", picker,
      R"pb( } agents { name: "wide" observation_space { box { shape: 9 dtype: DTYPE_FLOAT32 } }
            action_space { discrete { n: 4 } } } })pb")));
  EXPECT_FALSE(row.ok());
}

// Two chasers and a runner that act alike and observe 2 and 3 floats.
constexpr char kChase[] = R"pb(
  name: "chase:make"
  remote {
    address: "127.0.0.1:1"
    agents {
      name: "chaser_0"
      observation_space { box { shape: 2 dtype: DTYPE_FLOAT32 } }
      action_space { discrete { n: 3 } }
    }
    agents {
      name: "chaser_1"
      observation_space { box { shape: 2 dtype: DTYPE_FLOAT32 } }
      action_space { discrete { n: 3 } }
    }
    agents {
      name: "runner"
      observation_space { box { shape: 3 dtype: DTYPE_FLOAT32 } }
      action_space { discrete { n: 3 } }
    }
  }
)pb";

TEST(CatalogTest, AgentsThatActAlikeAreRowsPaddedToTheWidestObservation) {
  absl::StatusOr<EnvSpec> row = ConfiguredEnvSpec(Section(kChase));
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->obs_dim(), 3);
  EXPECT_EQ(row->num_actions, 3);
  EXPECT_EQ(RowsPerEnv(Section(kChase)), 3);
}

TEST(CatalogTest, EachPolicysRowsAreItsOwnAgentsSpec) {
  const v1::EnvConfig env = Section(kChase);
  absl::StatusOr<EnvSpec> chasers = PolicyRowSpec(env, {0, 0, 1}, 0);
  ASSERT_TRUE(chasers.ok()) << chasers.status();
  EXPECT_EQ(chasers->obs_dim(), 2);
  EXPECT_EQ(PolicyRowSpec(env, {0, 0, 1}, 1)->obs_dim(), 3);
  // One policy of every agent: the batch's padded rows.
  EXPECT_EQ(PolicyRowSpec(env, {0, 0, 0}, 0)->obs_dim(), 3);
  // env.row_agents is what a policy's view of the config says.
  v1::EnvConfig view = env;
  view.add_row_agents("chaser_1");
  EXPECT_EQ(ConfiguredEnvSpec(view)->obs_dim(), 2);
}

TEST(CatalogTest, APolicyOfAgentsOfDifferentSpacesOrOfNoneIsRefused) {
  const v1::EnvConfig env = Section(kChase);
  absl::StatusOr<EnvSpec> mixed = PolicyRowSpec(env, {0, 1, 1}, 1);
  ASSERT_FALSE(mixed.ok());
  EXPECT_THAT(mixed.status().message(), HasSubstr("env.row_agents: chaser_1 (2) 3 actions and runner (3) 3 actions "
                                                  "differ in their spaces"));
  EXPECT_THAT(PolicyRowSpec(env, {0, 0, 0}, 1).status().message(), HasSubstr("plays no agent"));
  EXPECT_THAT(PolicyRowSpec(env, {0, 1}, 1).status().message(), HasSubstr("has 3"));
  v1::EnvConfig unknown = env;
  unknown.add_row_agents("hider");
  EXPECT_THAT(ConfiguredEnvSpec(unknown).status().message(),
              HasSubstr("env.row_agents: chase:make has no agent 'hider'; its agents: chaser_0, chaser_1, runner"));
}

// A mistyped id gets the closest one and where the rest are listed; a name
// like none of them gets the whole list.
TEST(CatalogTest, UnknownEnvIdSuggestsTheClosestOrListsTheKnownOnes) {
  const std::string typo(LookupEnvSpec("CartPol-v1", 0).status().message());
  EXPECT_THAT(typo, HasSubstr("unknown environment 'CartPol-v1' (did you mean 'CartPole-v1'?); `rill envs` lists all"));
  EXPECT_THAT(typo, ::testing::Not(HasSubstr("Pendulum-v1")));
  const std::string other(LookupEnvSpec("Zebra", 0).status().message());
  EXPECT_THAT(other, HasSubstr("unknown environment 'Zebra'; known: "));
  EXPECT_THAT(other, HasSubstr("CartPole-v1"));
  EXPECT_THAT(other, HasSubstr("Pendulum-v1"));
}

}  // namespace
}  // namespace rill::envs
