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

TEST(BadInputTest, UnknownEnvironmentListsTheKnownOnes) {
  const std::string path = WriteConfig("env", "env { name: \"Walker-v9\" }");
  ExpectRefused({"actor", "--config=" + path}, "Pendulum-v1");
}

TEST(BadInputTest, LaunchRefusesZeroActors) {
  ExpectRefused({"launch", "--config=tests/configs/tiny_pendulum.textpb", "--num_actors=0"}, "--num_actors");
}

}  // namespace
}  // namespace rill::testing
