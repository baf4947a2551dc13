// The `rill` command line as a user meets it, run as a real process: help on
// stdout with exit 0, a command's own flags, did-you-mean for commands and
// flags, --version, and configs by name from any folder.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

// Runs `rill ARGS` in `folder` (the test's runfiles root when empty).
Outcome Rill(const std::vector<std::string>& args, const std::string& folder = "") {
  static int calls = 0;
  const std::string dir = TempDir(absl::StrCat("cli-", ++calls));
  std::string command = absl::StrCat(folder.empty() ? "" : absl::StrCat("cd '", folder, "' && "), "'",
                                     std::filesystem::absolute(RillBinary()).string(), "'");
  for (const std::string& arg : args) absl::StrAppend(&command, " '", arg, "'");
  absl::StrAppend(&command, " >", dir, "/out 2>", dir, "/err </dev/null");
  const int status = std::system(command.c_str());
  Outcome outcome;
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  outcome.out = ReadFile(dir + "/out");
  outcome.err = ReadFile(dir + "/err");
  return outcome;
}

TEST(CliTest, HelpGoesToStdoutAndExitsZero) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"help"}, {"-h"}}) {
    const Outcome help = Rill(args);
    EXPECT_EQ(help.exit_code, 0) << absl::StrJoin(args, " ") << ": " << help.err;
    EXPECT_TRUE(absl::StrContains(help.out, "usage: rill <command>")) << help.out;
    EXPECT_TRUE(absl::StrContains(help.out, "bench learner")) << help.out;
    EXPECT_TRUE(help.err.empty()) << help.err;
  }
  // No command at all is a mistake: the same overview, on stderr, exit 2.
  const Outcome none = Rill({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(none.err, "usage: rill <command>")) << none.err;
}

TEST(CliTest, ACommandsHelpListsItsOwnFlagsWithDefaults) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"launch", "--help"}, {"help", "launch"}}) {
    const Outcome help = Rill(args);
    EXPECT_EQ(help.exit_code, 0) << help.err;
    EXPECT_TRUE(absl::StrContains(help.out, "usage: rill launch [--flags]")) << help.out;
    EXPECT_TRUE(absl::StrContains(help.out, "--num_actors (default: -1)")) << help.out;
    EXPECT_TRUE(absl::StrContains(help.out, "--config (default: deploy/configs/pendulum_sac.textpb)")) << help.out;
    // Other commands' flags are not launch's.
    EXPECT_FALSE(absl::StrContains(help.out, "--out ")) << help.out;
    EXPECT_FALSE(absl::StrContains(help.out, "--bench_seconds")) << help.out;
  }
  const Outcome bench = Rill({"bench", "learner", "--help"});
  EXPECT_EQ(bench.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(bench.out, "--algo (default: sac)")) << bench.out;
  EXPECT_FALSE(absl::StrContains(bench.out, "--num_actors")) << bench.out;
}

TEST(CliTest, AMistypedCommandOrFlagGetsTheClosestOne) {
  const Outcome command = Rill({"lanch"});
  EXPECT_EQ(command.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(command.err, "unknown command 'lanch' (did you mean 'launch'?)")) << command.err;
  const Outcome bench = Rill({"bench", "lerner"});
  EXPECT_EQ(bench.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bench.err, "did you mean 'bench learner'?")) << bench.err;
  const Outcome flag = Rill({"launch", "--nm_actors=2"});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(flag.err, "unknown flag --nm_actors (did you mean --num_actors?)")) << flag.err;
  // A flag of another command is said to be ignored.
  const Outcome other = Rill({"envs", "--num_actors=2"});
  EXPECT_EQ(other.exit_code, 0) << other.err;
  EXPECT_TRUE(absl::StrContains(other.err, "--num_actors is not a flag of `rill envs`")) << other.err;
  EXPECT_TRUE(absl::StrContains(other.out, "Pendulum-v1")) << other.out;
}

// `rill envs --plugin` on a library of multi-agent envs (ABI version 2):
// each env's agents and global state, and the env section to paste.
TEST(CliTest, EnvsListsAPluginLibrarysAgentsAndTheirSection) {
  const std::string library =
      std::filesystem::absolute("examples/plugin/librendezvous.so").string();
  const Outcome listed = Rill({"envs", "--plugin=" + library});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(absl::StrContains(listed.out, "agents: scout_0, scout_1, scout_2 (one row each); global state (6,)"))
      << listed.out;
  EXPECT_TRUE(absl::StrContains(listed.out, "Box(-1, 1, (2,))")) << listed.out;
  EXPECT_TRUE(absl::StrContains(listed.out, absl::StrCat("env { plugin { library: \"", library,
                                                         "\" id: \"Rendezvous-v0\" } }")))
      << listed.out;
}

TEST(CliTest, VersionNamesTheCommitItWasBuiltFrom) {
  for (const std::string& arg : {"--version", "version"}) {
    const Outcome version = Rill({arg});
    EXPECT_EQ(version.exit_code, 0) << version.err;
    ASSERT_TRUE(absl::StartsWith(version.out, "rill ")) << version.out;
    // A commit (hex, maybe "-dirty"), or "unknown" outside a checkout.
    const std::string commit = version.out.substr(5, version.out.find('\n') - 5);
    EXPECT_FALSE(commit.empty());
    EXPECT_EQ(commit.find_first_not_of("0123456789abcdef-dirtyunknow"), std::string::npos) << commit;
  }
}

TEST(CliTest, AConfigIsFoundByNameFromAnyFolder) {
  const std::string elsewhere = TempDir("cli-elsewhere");
  // Found: launch gets past the config and stops at the bad flag value.
  const Outcome found = Rill({"launch", "--config=pendulum_sac", "--num_actors=0"}, elsewhere);
  EXPECT_EQ(found.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(found.err, "--num_actors must be >= 1")) << found.err;
  const Outcome missing = Rill({"launch", "--config=pendulum_sax"}, elsewhere);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(missing.err, "config 'pendulum_sax' not found")) << missing.err;
  EXPECT_TRUE(absl::StrContains(missing.err, "did you mean --config=pendulum_sac?")) << missing.err;
}

}  // namespace
}  // namespace rill::testing
