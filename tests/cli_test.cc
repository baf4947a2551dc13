// The `rill` command line as a user meets it, run as a real process: help on
// stdout with exit 0, a command's own flags, did-you-mean for commands and
// flags, --version, and configs by name from any folder; and the docs' shell
// blocks: every `rill` line's flags checked, the blocks marked
// `<!-- docs-test: run -->` run.
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

// A shell line's words and operators ("|", "&&", ";", ">" ...), quotes
// removed; a "#" outside quotes ends it.
std::vector<std::string> ShellWords(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  auto end_word = [&] {
    if (in_word) words.push_back(word);
    word.clear();
    in_word = false;
  };
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      end_word();
    } else if (c == '#' && !in_word) {
      break;
    } else if (c == '|' || c == '&' || c == ';' || c == '>' || c == '<') {
      // "2>" is a redirection, not the word "2".
      if (c == '>' && word == "2") word.clear(), in_word = false;
      end_word();
      std::string op(1, c);
      while (i + 1 < line.size() && (line[i + 1] == c || line[i + 1] == '&')) op += line[++i];
      words.push_back(op);
    } else {
      word += c;
      in_word = true;
    }
  }
  end_word();
  return words;
}

// How the docs' shell blocks are tested (docs/README.md, "How these pages
// are tested"): the `rill` command lines of every ```sh (bash, shell) block
// are checked against their commands' flags; a block whose fence follows
// the line `<!-- docs-test: run -->` is also run as it stands, from a
// folder laid out like a checkout after `bazel build //:rill`.
constexpr absl::string_view kMarkerPrefix = "<!-- docs-test:";
constexpr absl::string_view kRunMarker = "<!-- docs-test: run -->";

struct ShellBlock {
  std::string page;
  int first_line = 0;              // the page's line after the opening fence
  std::vector<std::string> lines;  // up to the closing fence
  bool run = false;                // marked `<!-- docs-test: run -->`
};

struct PageBlocks {
  std::vector<ShellBlock> blocks;
  std::vector<std::string> problems;  // "page:line: why", for misplaced or unknown markers
};

bool IsShellFence(absl::string_view line) {
  if (!absl::StartsWith(line, "```")) return false;
  const absl::string_view kind = absl::StripAsciiWhitespace(line.substr(3));
  return kind == "sh" || kind == "bash" || kind == "shell";
}

// The shell blocks of the Markdown page `path`, in order.
PageBlocks ShellBlocks(const std::string& path) {
  PageBlocks page;
  std::istringstream lines(ReadFile(path));
  enum { kProse, kShell, kOther } where = kProse;
  int number = 0, marker = 0;  // marker: the line of a run marker awaiting its fence
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (where != kProse) {
      if (absl::StartsWith(line, "```")) {
        where = kProse;
      } else if (where == kShell) {
        page.blocks.back().lines.push_back(line);
      }
      continue;
    }
    const bool shell_fence = IsShellFence(line);
    if (marker != 0 && !shell_fence) {
      page.problems.push_back(absl::StrCat(path, ":", marker, ": ", kRunMarker,
                                           " is not on the line right before a ```sh fence"));
    }
    if (shell_fence) {
      page.blocks.push_back(ShellBlock{path, number + 1, {}, marker != 0});
      where = kShell;
    } else if (absl::StartsWith(line, "```")) {
      where = kOther;
    }
    marker = 0;
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text == kRunMarker) {
      marker = number;
    } else if (absl::StartsWith(text, kMarkerPrefix)) {
      page.problems.push_back(absl::StrCat(path, ":", number, ": unknown marker ", text, " (the one marker is ",
                                           kRunMarker, ")"));
    }
  }
  if (marker != 0) {
    page.problems.push_back(absl::StrCat(path, ":", marker, ": ", kRunMarker, " ends the page"));
  }
  return page;
}

struct DocumentedCommand {
  std::string where;                // file:line
  std::vector<std::string> words;  // after `rill`
};

// Every `rill ...` (or `bazel-bin/rill ...`) command in the shell blocks of
// `path`: each pipeline part whose first word (after VAR=value settings)
// is the binary.
std::vector<DocumentedCommand> DocumentedCommands(const std::string& path) {
  std::vector<DocumentedCommand> commands;
  for (const ShellBlock& block : ShellBlocks(path).blocks) {
    std::string joined;
    int first = 0;
    for (size_t k = 0; k < block.lines.size(); ++k) {
      const std::string& line = block.lines[k];
      const int number = block.first_line + static_cast<int>(k);
      if (joined.empty()) first = number;
      if (absl::EndsWith(line, "\\")) {
        joined += line.substr(0, line.size() - 1) + " ";
        continue;
      }
      joined += line;
      const std::vector<std::string> words = ShellWords(joined);
      joined.clear();
      bool at_start = true;
      for (size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        const bool op = absl::StrContains("|&;<>", w.substr(0, 1));
        if (op) {
          at_start = w != ">" && w != ">>" && w != "<";  // after a redirection comes its file
          continue;
        }
        if (!at_start) continue;
        if (w.find('=') != std::string::npos && w[0] != '-') continue;  // VAR=value
        at_start = false;
        if (w != "rill" && !absl::EndsWith(w, "/rill")) continue;
        DocumentedCommand command;
        command.where = absl::StrCat(path, ":", first);
        for (size_t j = i + 1; j < words.size() && !absl::StrContains("|&;<>", words[j].substr(0, 1)); ++j) {
          command.words.push_back(words[j]);
        }
        if (!command.words.empty()) commands.push_back(command);
      }
    }
  }
  return commands;
}

// The pages a user reads (//:user_docs): the two READMEs and every docs/*.md.
std::vector<std::string> UserDocs() {
  std::vector<std::string> docs;
  for (const std::filesystem::directory_entry& entry : std::filesystem::directory_iterator("docs")) {
    if (entry.path().extension() == ".md") docs.push_back(entry.path().string());
  }
  std::sort(docs.begin(), docs.end());
  std::vector<std::string> pages = {"README.md", "deploy/k8s/README.md"};
  pages.insert(pages.end(), docs.begin(), docs.end());
  return pages;
}

TEST(CliTest, EveryCommandLineTheDocsShowUsesOnlyItsCommandsFlags) {
  const std::vector<std::string> pages = UserDocs();
  ASSERT_NE(std::find(pages.begin(), pages.end(), "docs/extending.md"), pages.end());
  std::vector<DocumentedCommand> commands;
  for (const std::string& page : pages) {
    const std::vector<DocumentedCommand> found = DocumentedCommands(page);
    commands.insert(commands.end(), found.begin(), found.end());
  }
  ASSERT_GT(commands.size(), 50u);
  const std::string file = TempDir("documented-commands") + "/lines.tsv";
  {
    std::ofstream out(file);
    for (const DocumentedCommand& command : commands) out << absl::StrJoin(command.words, "\t") << "\n";
  }
  const std::string dir = TempDir("documented-commands-out");
  const std::string shell = absl::StrCat("RILL_CHECK_COMMAND_LINES='", file, "' '",
                                         std::filesystem::absolute(RillBinary()).string(), "' >", dir, "/out 2>&1");
  const int status = std::system(shell.c_str());
  const std::string out = ReadFile(dir + "/out");
  // "line N: ..." names the command's page and line.
  std::string named;
  for (absl::string_view problem : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    size_t line = 0;
    if (absl::StartsWith(problem, "line ") &&
        absl::SimpleAtoi(problem.substr(5, problem.find(':') - 5), &line) && line >= 1 && line <= commands.size()) {
      absl::StrAppend(&named, commands[line - 1].where, ": rill ", absl::StrJoin(commands[line - 1].words, " "),
                      "\n  ", problem.substr(problem.find(':') + 2), "\n");
    } else {
      absl::StrAppend(&named, problem, "\n");
    }
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << named;
  EXPECT_EQ(named, "");
}

TEST(CliTest, EveryDocsTestMarkerSitsRightBeforeAShellBlock) {
  std::string problems;
  for (const std::string& page : UserDocs()) {
    for (const std::string& problem : ShellBlocks(page).problems) absl::StrAppend(&problems, problem, "\n");
  }
  EXPECT_EQ(problems, "");
}

TEST(CliTest, AMarkerOffItsFenceOrMisspeltIsNamedByTheCheck) {
  const std::string page = TempDir("markers") + "/page.md";
  std::ofstream(page) << "<!-- docs-test: run -->\n```sh\nrill help\n```\n"  // a marked block
                      << "<!-- docs-test: run -->\n\n```sh\nrill envs\n```\n"  // a blank line between
                      << "<!-- docs-test: runn -->\n```sh\nrill envs\n```\n"   // misspelt
                      << "```sh\nrill --version\n```\n";                          // unmarked
  const PageBlocks blocks = ShellBlocks(page);
  ASSERT_EQ(blocks.blocks.size(), 4u);
  EXPECT_TRUE(blocks.blocks[0].run);
  EXPECT_EQ(blocks.blocks[0].first_line, 3);
  EXPECT_FALSE(blocks.blocks[1].run);
  EXPECT_FALSE(blocks.blocks[2].run);
  EXPECT_FALSE(blocks.blocks[3].run);
  ASSERT_EQ(blocks.problems.size(), 2u) << absl::StrJoin(blocks.problems, "\n");
  EXPECT_TRUE(absl::StrContains(blocks.problems[0], ":5: <!-- docs-test: run --> is not on the line right before"))
      << blocks.problems[0];
  EXPECT_TRUE(absl::StrContains(blocks.problems[1], ":10: unknown marker <!-- docs-test: runn -->"))
      << blocks.problems[1];
}

// Each block marked `<!-- docs-test: run -->` runs as the page shows it
// (bash -x, stopping at the first command that fails), in a folder laid out
// like a checkout after `bazel build //:rill`: the runfiles' folders, and
// bazel-bin/rill. Marked blocks are cheap (docs/README.md): together well
// under a minute on 2 cores; each has 120 s.
TEST(CliTest, EveryShellBlockMarkedRunRunsToTheEnd) {
  const std::filesystem::path root = std::filesystem::current_path();
  std::vector<ShellBlock> marked;
  for (const std::string& page : UserDocs()) {
    for (const ShellBlock& block : ShellBlocks(page).blocks) {
      if (block.run) marked.push_back(block);
    }
  }
  ASSERT_GE(marked.size(), 3u);
  for (size_t i = 0; i < marked.size(); ++i) {
    const ShellBlock& block = marked[i];
    const std::string where = absl::StrCat(block.page, ":", block.first_line);
    const std::filesystem::path dir = TempDir(absl::StrCat("docs-block-", i));
    for (const std::filesystem::directory_entry& entry : std::filesystem::directory_iterator(root)) {
      std::filesystem::create_symlink(entry.path(), dir / entry.path().filename());
    }
    std::filesystem::create_directory(dir / "bazel-bin");
    for (const char* binary : {"rill", "rill-replay", "rill-actor"}) {
      if (std::filesystem::exists(root / binary)) std::filesystem::create_symlink(root / binary, dir / "bazel-bin" / binary);
    }
    std::ofstream(dir / "docs-block.sh") << "set -e -o pipefail -x\n" << absl::StrJoin(block.lines, "\n") << "\n";
    const auto start = std::chrono::steady_clock::now();
    const int status = std::system(
        absl::StrCat("cd '", dir.string(), "' && timeout 120 bash docs-block.sh >out.txt 2>&1 </dev/null").c_str());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << where << ": " << seconds << " s\n";
    const std::string out = ReadFile((dir / "out.txt").string());
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    EXPECT_EQ(code, 0) << where << ": the block marked " << kRunMarker << " exited " << code
                       << (code == 124 ? " (past its 120 s)" : "") << "; the end of its output:\n"
                       << out.substr(out.size() > 3000 ? out.size() - 3000 : 0);
  }
}

TEST(CliTest, ACommandLineOfAnotherCommandsFlagIsNamedByTheCheck) {
  // The check itself: a flag of another command, an unknown flag and an
  // unknown command are each reported by line; a good line is not.
  const std::string file = TempDir("check-lines") + "/lines.tsv";
  std::ofstream(file) << "launch\t--config=x\t--num_actors=2\n"
                      << "bench\tinference\t--torso=minatar_cnn\t--obs_shape=4,10,10\n"
                      << "envs\t--out=x\n"
                      << "launch\t--nope=1\n"
                      << "lanch\n"
                      << "help\tbench\tlearner\n"
                      << "--version\n";
  const std::string dir = TempDir("check-lines-out");
  const int status = std::system(absl::StrCat("RILL_CHECK_COMMAND_LINES='", file, "' '",
                                              std::filesystem::absolute(RillBinary()).string(), "' >", dir,
                                              "/out 2>&1").c_str());
  const std::string out = ReadFile(dir + "/out");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << out;
  EXPECT_FALSE(absl::StrContains(out, "line 1:")) << out;
  EXPECT_FALSE(absl::StrContains(out, "line 2:")) << out;  // the torso flags are bench inference's
  EXPECT_TRUE(absl::StrContains(out, "line 3: rill envs: --out is not a flag of `rill envs`")) << out;
  EXPECT_TRUE(absl::StrContains(out, "line 4: rill launch: unknown flag --nope")) << out;
  EXPECT_TRUE(absl::StrContains(out, "line 5: rill: unknown command 'lanch'")) << out;
  EXPECT_FALSE(absl::StrContains(out, "line 6:")) << out;
  EXPECT_FALSE(absl::StrContains(out, "line 7:")) << out;
  EXPECT_FALSE(absl::StrContains(out, "line 6:")) << out;
  EXPECT_FALSE(absl::StrContains(out, "line 7:")) << out;
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
