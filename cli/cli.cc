#include "cli/cli.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/spelling.h"

namespace rill::cli {
namespace {

namespace fs = std::filesystem;

// absl's own flags, which every command takes.
const std::set<std::string, std::less<>>& BuiltinFlags() {
  static const auto* const kBuiltin = new std::set<std::string, std::less<>>{
      "help", "helpfull", "helpshort", "helppackage", "helpon", "helpmatch", "version", "only_check_args",
      "flagfile", "fromenv", "tryfromenv", "undefok"};
  return *kBuiltin;
}

bool DefinedIn(const absl::CommandLineFlag& flag, const std::vector<std::string>& files) {
  const std::string defined = flag.Filename();
  for (const std::string& file : files) {
    if (defined == file || absl::EndsWith(defined, "/" + file)) return true;
  }
  return false;
}

// Wraps `text` at `width` columns, each line after `indent` spaces.
std::string Wrap(absl::string_view text, int indent, int width = 80) {
  std::string out, line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && static_cast<int>(line.size() + 1 + word.size()) + indent > width) {
      absl::StrAppend(&out, std::string(indent, ' '), line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&out, std::string(indent, ' '), line, "\n");
  return out;
}

std::vector<std::string> CommandNames(const std::vector<Command>& commands) {
  std::vector<std::string> names;
  for (const Command& command : commands) names.push_back(command.name);
  return names;
}

// The commands whose flags include `flag`.
std::vector<std::string> CommandsReading(const std::vector<Command>& commands, const std::string& flag) {
  std::vector<std::string> readers;
  for (const Command& command : commands) {
    const std::vector<std::string> flags = CommandFlagNames(command);
    if (std::binary_search(flags.begin(), flags.end(), flag)) readers.push_back(command.name);
  }
  return readers;
}

// The flag's name in one argument ("--num_actors=4", "-nonum", "--tls"),
// or nullopt for a value or a positional argument.
std::optional<std::string> FlagName(absl::string_view arg) {
  if (!absl::StartsWith(arg, "-") || arg == "-" || arg == "--") return std::nullopt;
  absl::string_view name = arg;
  absl::ConsumePrefix(&name, "-");
  absl::ConsumePrefix(&name, "-");
  name = name.substr(0, name.find('='));
  // "-1" and "-0.5" are values of the flag before them.
  if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name[0])) || name[0] == '.') return std::nullopt;
  return std::string(name);
}

// A config's name as a user would type it: "pendulum_sac".
std::string ConfigStem(const fs::path& path) { return path.stem().string(); }

}  // namespace

std::vector<std::string> CommandFlagNames(const Command& command) {
  std::set<std::string> names(command.shared_flags.begin(), command.shared_flags.end());
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (DefinedIn(*flag, command.flag_files)) names.insert(std::string(name));
  }
  return {names.begin(), names.end()};
}

std::string Overview(const std::vector<Command>& commands) {
  std::string out = "rill: a distributed actor-learner system for deep RL.\n\nusage: rill <command> [--flags]\n\ncommands:\n";
  for (const Command& command : commands) {
    if (command.name.size() <= 15) {
      std::string wrapped = Wrap(command.summary, 18);
      absl::StrAppend(&out, "  ", command.name, std::string(16 - command.name.size(), ' '), wrapped.substr(18));
    } else {
      absl::StrAppend(&out, "  ", command.name, "\n", Wrap(command.summary, 18));
    }
  }
  absl::StrAppend(&out,
                  "\n`rill COMMAND --help` (or `rill help COMMAND`) lists a command's flags with their defaults;\n"
                  "`rill --version` prints the commit rill was built from. A config is a file or the name of\n"
                  "one in deploy/configs: `rill launch --config=pendulum_sac`.\n");
  return out;
}

std::string CommandHelp(const Command& command) {
  std::string out = absl::StrCat("rill ", command.name, ": ", command.summary, "\n\nusage: rill ", command.name,
                                 " [--flags]\n");
  const std::vector<std::string> names = CommandFlagNames(command);
  if (names.empty()) return absl::StrCat(out, "\nno flags.\n");
  absl::StrAppend(&out, "\nflags:\n");
  for (const std::string& name : names) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    const std::string default_value = flag->DefaultValue();
    absl::StrAppend(&out, "  --", name, default_value.empty() ? " (default: \"\")" : absl::StrCat(" (default: ", default_value, ")"),
                    "\n", Wrap(flag->Help(), 6));
  }
  return out;
}

std::optional<CommandMatch> MatchCommand(const std::vector<Command>& commands, const std::vector<std::string>& words) {
  // The two-word name first: "replay info" before "replay".
  for (int taken : {2, 1}) {
    if (static_cast<int>(words.size()) < taken) continue;
    const std::string name = taken == 2 ? absl::StrCat(words[0], " ", words[1]) : words[0];
    for (const Command& command : commands) {
      if (command.name == name) return CommandMatch{&command, taken};
    }
  }
  return std::nullopt;
}

std::string UnknownCommandMessage(const std::vector<Command>& commands, const std::vector<std::string>& words) {
  if (words.empty()) return "rill: no command given; `rill help` lists the commands";
  // A group such as "bench" answers with its own commands.
  std::vector<std::string> group;
  for (const Command& command : commands) {
    if (absl::StartsWith(command.name, words[0] + " ")) group.push_back(command.name);
  }
  if (!group.empty()) {
    const std::string asked = words.size() > 1 ? absl::StrCat(words[0], " ", words[1]) : words[0];
    return absl::StrCat("rill: unknown command '", asked, "'", words.size() > 1 ? DidYouMean(asked, group) : "",
                        "; the ", words[0], " commands are: ", absl::StrJoin(group, ", "));
  }
  return absl::StrCat("rill: unknown command '", words[0], "'", DidYouMean(words[0], CommandNames(commands)),
                      "; `rill help` lists the commands");
}

absl::Status CheckFlagNames(const Command& command, const std::vector<Command>& commands,
                            const std::vector<std::string>& args, std::vector<std::string>* warnings) {
  const std::vector<std::string> own = CommandFlagNames(command);
  for (const std::string& arg : args) {
    if (arg == "--") break;
    std::optional<std::string> name = FlagName(arg);
    if (!name.has_value() || BuiltinFlags().count(*name) > 0) continue;
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(*name);
    // "--noeval" turns the boolean flag "eval" off.
    if (flag == nullptr && absl::StartsWith(*name, "no")) {
      const absl::CommandLineFlag* negated = absl::FindCommandLineFlag(name->substr(2));
      if (negated != nullptr && negated->IsOfType<bool>()) {
        flag = negated;
        name = name->substr(2);
      }
    }
    if (flag == nullptr) {
      std::optional<std::string> closest = ClosestName(*name, own);
      if (!closest.has_value()) {
        std::vector<std::string> every;
        for (const auto& [known, unused] : absl::GetAllFlags()) every.emplace_back(known);
        std::sort(every.begin(), every.end());
        closest = ClosestName(*name, every);
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown flag --", *name, closest.has_value() ? absl::StrCat(" (did you mean --", *closest, "?)") : "",
          "; `rill ", command.name, " --help` lists its flags"));
    }
    if (!std::binary_search(own.begin(), own.end(), *name)) {
      const std::vector<std::string> readers = CommandsReading(commands, *name);
      warnings->push_back(absl::StrCat("--", *name, " is not a flag of `rill ", command.name, "`",
                                       readers.empty() ? "" : absl::StrCat(" (it is one of `rill ", absl::StrJoin(readers, "`, `rill "), "`)"),
                                       ": ignored"));
    }
  }
  return absl::OkStatus();
}

bool AsksForHelp(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--") return false;
    if (arg == "--help" || arg == "-help" || arg == "-h" || arg == "--helpshort" || arg == "-helpshort") return true;
  }
  return false;
}

absl::StatusOr<std::string> FindConfig(const std::string& value, const std::string& binary) {
  std::error_code error;
  if (fs::is_regular_file(value, error)) return value;
  if (value.empty()) return absl::InvalidArgumentError("--config is empty: give a config file or a stock config's name");
  std::vector<fs::path> looked = {value};
  // A name, or a stock config's path from the source tree's root (the
  // --config default) run from another folder.
  const bool bare = value.find('/') == std::string::npos || fs::path(value).parent_path() == "deploy/configs";
  if (bare) {
    const std::string name = fs::path(value).filename().string();
    const std::string file = absl::EndsWith(name, ".textpb") ? name : name + ".textpb";
    std::vector<fs::path> roots = {fs::current_path(error)};
    if (const char* home = std::getenv("RILL_HOME"); home != nullptr && *home != '\0') roots.emplace_back(home);
    // The install (/usr/local/bin/rill with /usr/local/deploy) or Bazel's
    // execroot above bazel-bin's real file.
    if (!binary.empty()) {
      fs::path above = fs::weakly_canonical(binary, error).parent_path();
      for (int up = 0; up < 6 && !above.empty() && above != above.root_path(); ++up, above = above.parent_path()) {
        roots.push_back(above);
      }
    }
    for (const fs::path& root : roots) {
      const fs::path candidate = root / "deploy" / "configs" / file;
      if (std::find(looked.begin(), looked.end(), candidate) != looked.end()) continue;
      looked.push_back(candidate);
      if (fs::is_regular_file(candidate, error)) return candidate.string();
    }
  }
  // The stock configs' names, from the folders that exist, for a hint.
  std::vector<std::string> stock;
  for (const fs::path& path : looked) {
    const fs::path folder = path.parent_path();
    if (folder.empty() || !fs::is_directory(folder, error)) continue;
    for (const fs::directory_entry& entry : fs::directory_iterator(folder, error)) {
      if (entry.path().extension() == ".textpb") stock.push_back(ConfigStem(entry.path()));
    }
  }
  std::sort(stock.begin(), stock.end());
  stock.erase(std::unique(stock.begin(), stock.end()), stock.end());
  // Where it looked: the path as given, under the current folder, and in
  // each deploy/configs folder that exists.
  std::vector<std::string> places;
  for (size_t i = 0; i < looked.size(); ++i) {
    if (i < 2 || fs::is_directory(looked[i].parent_path(), error)) places.push_back(looked[i].string());
  }
  const std::string stem = ConfigStem(fs::path(value));
  std::optional<std::string> closest = ClosestName(stem, stock);
  return absl::NotFoundError(absl::StrCat(
      "config '", value, "' not found (looked for ", absl::StrJoin(places, ", "), ")",
      closest.has_value() ? absl::StrCat("; did you mean --config=", *closest, "?")
                          : (bare ? "; `ls deploy/configs` in the source tree lists the stock configs" : "")));
}

}  // namespace rill::cli
