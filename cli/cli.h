// The `rill` command line around the roles: the command table's help (the
// overview, and each command's own flags with their defaults), did-you-mean
// for a mistyped command or flag, and finding a config by name. The table
// itself is cli/rill_main.cc's; everything here works on any table, so
// tests can hand it their own.
//
// absl flags are global: every role's flags are defined in one binary.
// Each command therefore names the flags it reads (its own files' flags and
// the shared ones of flags/flags.h it uses), which is what its help lists
// and what a flag meant for another command is told apart by.
//
// Thread-safe: pure functions over the table and absl's flag registry.
#ifndef RILL_CLI_CLI_H_
#define RILL_CLI_CLI_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rill::cli {

struct Command {
  std::string name;     // "launch", "bench learner"
  std::string summary;  // what it does, for the overview and its help
  int (*main)() = nullptr;
  // The source files whose ABSL_FLAGs are this command's own
  // ("cli/launcher.cc"), and the shared flags it reads ("config").
  std::vector<std::string> flag_files;
  std::vector<std::string> shared_flags;
};

// The names of the flags `command` reads, sorted.
std::vector<std::string> CommandFlagNames(const Command& command);

// `rill help`: the commands and their summaries, and how to get more.
std::string Overview(const std::vector<Command>& commands);

// `rill COMMAND --help`: its summary and each of its flags with its default
// and help text.
std::string CommandHelp(const Command& command);

// The command that `words` (the arguments after the program name) names,
// and how many words it took: one ("launch") or two ("bench learner").
// nullopt when none matches.
struct CommandMatch {
  const Command* command = nullptr;
  int words = 0;
};
std::optional<CommandMatch> MatchCommand(const std::vector<Command>& commands, const std::vector<std::string>& words);

// "rill: unknown command 'lanch' (did you mean 'launch'?); `rill help` lists
// the commands" for the words no command matched.
std::string UnknownCommandMessage(const std::vector<Command>& commands, const std::vector<std::string>& words);

// What the flags in `args` (the command's arguments) say that absl's parser
// would not: InvalidArgument naming a flag no command defines, with the
// closest of the command's flags (then of every flag); and, in `warnings`,
// one line for each flag that exists but belongs to other commands only
// (absl accepts it and the command ignores it).
absl::Status CheckFlagNames(const Command& command, const std::vector<Command>& commands,
                            const std::vector<std::string>& args, std::vector<std::string>* warnings);

// Whether `args` asks for help (--help, -h, --helpshort) before any "--".
bool AsksForHelp(const std::vector<std::string>& args);

// The config file `value` (--config) names: the path itself when it is a
// file; else, for a bare name such as "pendulum_sac" or "pendulum_sac.textpb",
// that file in deploy/configs under the current directory, under
// $RILL_HOME, and under each folder above `binary` (the install or Bazel's
// execroot, which links the source tree's deploy/). NotFound listing where
// it looked, with the closest stock config's name.
absl::StatusOr<std::string> FindConfig(const std::string& value, const std::string& binary);

}  // namespace rill::cli

#endif  // RILL_CLI_CLI_H_
