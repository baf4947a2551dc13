#include "cli/cli.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

// Flags of this file stand for a command's own; cli_shared_path for a
// shared one (flags/flags.h).
ABSL_FLAG(int32_t, cli_num_workers, 4, "Workers to start.");
ABSL_FLAG(bool, cli_verbose, false, "Say more.");
ABSL_FLAG(std::string, cli_shared_path, "here", "A path every command reads.");

namespace rill::cli {
namespace {

namespace fs = std::filesystem;

int Nothing() { return 0; }

std::vector<Command> Table() {
  return {
      {"start", "start the workers", Nothing, {"cli/cli_test.cc"}, {"cli_shared_path"}},
      {"status", "say how they are", Nothing, {}, {"cli_shared_path"}},
      {"bench speed", "how fast", Nothing, {}, {}},
      {"bench memory", "how big", Nothing, {}, {}},
  };
}

TEST(CliTest, ACommandsFlagsAreItsFilesAndItsSharedOnes) {
  const std::vector<Command> table = Table();
  EXPECT_EQ(CommandFlagNames(table[0]),
            (std::vector<std::string>{"cli_num_workers", "cli_shared_path", "cli_verbose"}));
  EXPECT_EQ(CommandFlagNames(table[1]), (std::vector<std::string>{"cli_shared_path"}));
}

TEST(CliTest, HelpListsTheCommandsAndEachCommandsFlagsWithDefaults) {
  const std::vector<Command> table = Table();
  const std::string overview = Overview(table);
  for (const Command& command : table) EXPECT_TRUE(absl::StrContains(overview, command.name)) << overview;
  const std::string help = CommandHelp(table[0]);
  EXPECT_TRUE(absl::StrContains(help, "--cli_num_workers (default: 4)")) << help;
  EXPECT_TRUE(absl::StrContains(help, "Workers to start.")) << help;
  EXPECT_TRUE(absl::StrContains(help, "--cli_verbose (default: false)")) << help;
  EXPECT_FALSE(absl::StrContains(CommandHelp(table[1]), "cli_num_workers"));
}

TEST(CliTest, MatchesOneAndTwoWordCommands) {
  const std::vector<Command> table = Table();
  std::optional<CommandMatch> match = MatchCommand(table, {"bench", "memory", "--x=1"});
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->command->name, "bench memory");
  EXPECT_EQ(match->words, 2);
  match = MatchCommand(table, {"start", "--cli_verbose"});
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->command->name, "start");
  EXPECT_EQ(match->words, 1);
  EXPECT_FALSE(MatchCommand(table, {"stat"}).has_value());
}

TEST(CliTest, AnUnknownCommandGetsTheClosestOne) {
  const std::vector<Command> table = Table();
  EXPECT_TRUE(absl::StrContains(UnknownCommandMessage(table, {"strat"}), "did you mean 'start'?"));
  EXPECT_TRUE(absl::StrContains(UnknownCommandMessage(table, {"bench", "sped"}), "did you mean 'bench speed'?"));
  EXPECT_TRUE(absl::StrContains(UnknownCommandMessage(table, {"bench"}), "bench speed, bench memory"));
  EXPECT_FALSE(absl::StrContains(UnknownCommandMessage(table, {"deploy"}), "did you mean"));
}

TEST(CliTest, AnUnknownFlagIsRefusedWithTheClosestAndAnotherCommandsFlagWarned) {
  const std::vector<Command> table = Table();
  std::vector<std::string> warnings;
  absl::Status status = CheckFlagNames(table[0], table, {"--cli_num_wrkers=3"}, &warnings);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_TRUE(absl::StrContains(status.message(), "unknown flag --cli_num_wrkers (did you mean --cli_num_workers?)"))
      << status;
  // Values, negated booleans, builtin flags and what follows "--" pass.
  EXPECT_TRUE(CheckFlagNames(table[0], table, {"--cli_num_workers", "-1", "--nocli_verbose", "--helpfull", "--",
                                               "--whatever"},
                             &warnings)
                  .ok());
  EXPECT_TRUE(warnings.empty());
  EXPECT_TRUE(CheckFlagNames(table[1], table, {"--cli_num_workers=2"}, &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(absl::StrContains(warnings[0], "--cli_num_workers is not a flag of `rill status`")) << warnings[0];
  EXPECT_TRUE(absl::StrContains(warnings[0], "`rill start`")) << warnings[0];
}

TEST(CliTest, AsksForHelpBeforeTheEndOfFlags) {
  EXPECT_TRUE(AsksForHelp({"--cli_verbose", "--help"}));
  EXPECT_TRUE(AsksForHelp({"-h"}));
  EXPECT_FALSE(AsksForHelp({"--", "--help"}));
  EXPECT_FALSE(AsksForHelp({"--helpfull"}));
}

class FindConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(std::getenv("TEST_TMPDIR")) / "find-config";
    fs::create_directories(root_ / "install" / "bin");
    fs::create_directories(root_ / "install" / "deploy" / "configs");
    fs::create_directories(root_ / "elsewhere");
    std::ofstream(root_ / "install" / "deploy" / "configs" / "pendulum_sac.textpb") << "name: \"x\"\n";
    std::ofstream(root_ / "install" / "bin" / "rill") << "";
    std::ofstream(root_ / "elsewhere" / "mine.textpb") << "name: \"mine\"\n";
    previous_ = fs::current_path();
    fs::current_path(root_ / "elsewhere");
  }
  void TearDown() override { fs::current_path(previous_); }
  std::string binary() const { return (root_ / "install" / "bin" / "rill").string(); }

  fs::path root_, previous_;
};

TEST_F(FindConfigTest, AFileIsItselfAndANameIsFoundBesideTheBinary) {
  EXPECT_EQ(*FindConfig("mine.textpb", binary()), "mine.textpb");
  const std::string stock = (root_ / "install" / "deploy" / "configs" / "pendulum_sac.textpb").string();
  EXPECT_EQ(*FindConfig("pendulum_sac", binary()), stock);
  EXPECT_EQ(*FindConfig("pendulum_sac.textpb", binary()), stock);
  // The --config default, a path from the source tree's root, from another folder.
  EXPECT_EQ(*FindConfig("deploy/configs/pendulum_sac.textpb", binary()), stock);
}

TEST_F(FindConfigTest, AMissingConfigSaysWhereItLookedAndTheClosestName) {
  absl::StatusOr<std::string> missing = FindConfig("pendulum_sax", binary());
  ASSERT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "deploy/configs/pendulum_sax.textpb"))
      << missing.status();
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "did you mean --config=pendulum_sac?"))
      << missing.status();
  EXPECT_TRUE(absl::IsNotFound(FindConfig("no/such/file.textpb", binary()).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(FindConfig("", binary()).status()));
}

}  // namespace
}  // namespace rill::cli
