// Every role refuses a bad config or flag at start-up with exit code 2 and a
// message that names the problem.
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;

std::string WriteConfig(const std::string& name, const std::string& text) {
  const std::string path = TempDir("configs-" + name) + "/config.textpb";
  std::ofstream(path) << text;
  return path;
}

void ExpectRefused(const std::vector<std::string>& args, const std::string& expected_message) {
  absl::StatusOr<RoleProcess> role = StartRole("refused", args);
  ASSERT_FALSE(role.ok());
  EXPECT_THAT(std::string(role.status().message()), HasSubstr("exit code 2"));
  EXPECT_THAT(std::string(role.status().message()), HasSubstr(expected_message));
}

TEST(BadInputTest, MissingConfigFileIsNamed) {
  for (const char* role : {"replay", "learner", "actor"}) {
    SCOPED_TRACE(role);
    ExpectRefused({role, "--config=/nonexistent/rill.textpb"}, "/nonexistent/rill.textpb");
  }
}

TEST(BadInputTest, ConfigSyntaxErrorNamesTheLine) {
  const std::string path = WriteConfig("syntax", "env { name: \"Pendulum-v1\" }\nsac { gamma: fast }\n");
  for (const char* role : {"replay", "learner", "actor"}) {
    SCOPED_TRACE(role);
    ExpectRefused({role, "--config=" + path}, "line 2");
  }
}

TEST(BadInputTest, DeadlockingRateLimiterIsExplained) {
  const std::string path = WriteConfig("deadlock", R"(env { name: "Pendulum-v1" }
replay { tables { name: "t" max_size: 1000
  rate_limiter { min_size_to_sample: 10 samples_per_insert: 256 error_buffer: 1 } } })");
  ExpectRefused({"replay", "--config=" + path}, "deadlock");
}

// A name close to none lists the known ones; a likely typo gets the closest.
TEST(BadInputTest, UnknownEnvironmentListsTheKnownOnes) {
  const std::string path = WriteConfig("env", "env { name: \"Zebra-v9\" }");
  ExpectRefused({"actor", "--config=" + path}, "Pendulum-v1");
  const std::string typo = WriteConfig("env-typo", "env { name: \"Walker-v9\" }");
  ExpectRefused({"actor", "--config=" + typo}, "(did you mean 'Walker2d-v4'?)");
}

TEST(BadInputTest, UnknownAlgorithmIsNamedWithTheKnownOnes) {
  const std::string path = WriteConfig("algorithm", "env { name: \"Pendulum-v1\" }\nlearner { dqn { } }\n");
  for (const char* role : {"replay", "learner", "actor"}) {
    SCOPED_TRACE(role);
    ExpectRefused({role, "--config=" + path}, "dqn");
    ExpectRefused({role, "--config=" + path}, "sac, td3, ddpg, sac_discrete");
  }
}

TEST(BadInputTest, AlgorithmThatCannotActInTheEnvsActionSpaceIsNamed) {
  const std::string td3 = WriteConfig("td3-cartpole", "env { name: \"CartPole-v1\" } learner { td3 { } }");
  const std::string discrete = WriteConfig("sacd-pendulum", "env { name: \"Pendulum-v1\" } learner { sac_discrete { } }");
  for (const char* role : {"learner", "actor"}) {
    SCOPED_TRACE(role);
    ExpectRefused({role, "--config=" + td3}, "learner.td3: td3 needs a continuous action space");
    ExpectRefused({role, "--config=" + discrete}, "learner.sac_discrete: sac_discrete needs a discrete action space");
  }
  ExpectRefused({"launch", "--config=" + td3}, "learner.td3");
}

TEST(BadInputTest, RemoteEnvWithoutAnAddressNamesTheFieldAndTheFlag) {
  // The config leaves the address to `rill launch`, which starts its
  // env.remote.command and passes --env_address.
  for (const char* eval : {"--eval=false", "--eval"}) {
    SCOPED_TRACE(eval);
    ExpectRefused({"actor", eval, "--config=tests/configs/tiny_cartpole_python.textpb"}, "env.remote.address");
    ExpectRefused({"actor", eval, "--config=tests/configs/tiny_cartpole_python.textpb"}, "--env_address");
  }
}

TEST(BadInputTest, TableSignatureMissingAColumnIsNamed) {
  const std::string path = WriteConfig("signature", R"(env { name: "Pendulum-v1" }
replay { tables { name: "t" max_size: 1000 signature {
  columns { name: "obs" dtype: DTYPE_FLOAT32 shape: 3 }
  columns { name: "action" dtype: DTYPE_FLOAT32 shape: 1 }
  columns { name: "reward" dtype: DTYPE_FLOAT32 }
  columns { name: "next_obs" dtype: DTYPE_FLOAT32 shape: 3 } } } })");
  for (const char* role : {"learner", "actor"}) {
    SCOPED_TRACE(role);
    ExpectRefused({role, "--config=" + path}, "terminated");
  }
}

TEST(BadInputTest, LaunchRefusesZeroActors) {
  ExpectRefused({"launch", "--config=tests/configs/tiny_pendulum.textpb", "--num_actors=0"}, "--num_actors");
}

}  // namespace
}  // namespace rill::testing
