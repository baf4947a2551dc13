#include "cli/cross_play.h"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/seed_spread.h"
#include "common/child_process.h"
#include "common/os.h"
#include "common/status_macros.h"

namespace rill::cli {
namespace {

namespace fs = std::filesystem;

// The arguments of one game's `rill eval`.
std::vector<std::string> EvalArgs(const CrossPlayRun& run, const CrossPlayRun& opponent,
                                  const CrossPlayOptions& options) {
  std::vector<std::string> args = {"eval", "--checkpoint_dir=" + run.run_dir,
                                   absl::StrCat("--episodes=", options.episodes), absl::StrCat("--seed=", run.seed)};
  if (opponent.setting != run.setting) {
    args.push_back("--opponent_checkpoint_dir=" + opponent.run_dir);
    args.push_back("--opponent_agents=" + absl::StrJoin(options.agents, ","));
  }
  if (options.sample_actions) args.push_back("--sample_actions");
  return args;
}

// The last line of `path` that starts with '{'.
std::string LastJsonLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, json;
  while (std::getline(in, line)) {
    if (!line.empty() && line.front() == '{') json = line;
  }
  return json;
}

// Plays one game and reads its result.
absl::StatusOr<CrossPlayGame> PlayGame(const std::string& self, const CrossPlayRun& run, const CrossPlayRun& opponent,
                                       const std::vector<std::string>& names, const CrossPlayOptions& options,
                                       const std::string& folder, const absl::Notification& stop) {
  const std::string label =
      absl::StrCat(names[run.setting], "-vs-", names[opponent.setting], "-seed-", run.seed);
  const std::string log = absl::StrCat(folder, "/", label, ".log");
  const std::vector<std::string> args = EvalArgs(run, opponent, options);
  const std::string command = absl::StrCat("rill ", absl::StrJoin(args, " "));
  ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> eval, ChildProcess::StartProgram(label, self, args, log));
  std::optional<int> status;
  while (!(status = eval->WaitExit(absl::Milliseconds(200))).has_value()) {
    if (stop.HasBeenNotified()) {
      eval->Stop(absl::Seconds(10));
      return absl::CancelledError("interrupted during the cross-play");
    }
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("cross-play game failed (", ChildProcess::DescribeStatus(*status),
                                                      "): ", command, "\n", eval->LogTail(5)));
  }
  absl::StatusOr<CrossPlayGame> game = ParseEvalJson(LastJsonLine(log));
  if (!game.ok()) {
    return absl::InternalError(absl::StrCat("cross-play game ", command, ": ", game.status().message(), "; see ", log));
  }
  game->setting = run.setting;
  game->opponent = opponent.setting;
  game->seed = run.seed;
  return game;
}

// Every figure any game reported, sorted.
std::vector<std::string> FigureNames(const std::vector<CrossPlayGame>& games) {
  std::set<std::string> names;
  for (const CrossPlayGame& game : games) {
    for (const auto& [name, value] : game.figures) names.insert(name);
  }
  return {names.begin(), names.end()};
}

// One figure's matrix: `value` of each game, over the seeds of each pair.
template <typename Value>
std::string Matrix(const std::string& title, const std::vector<CrossPlayGame>& games,
                   const std::vector<std::string>& names, const std::string& agents, Value value) {
  std::string table = absl::StrCat("### ", title, "\n\n| the others \\ ", agents, " |");
  std::string rule = "|---|";
  for (const std::string& name : names) {
    absl::StrAppend(&table, " ", name, " |");
    absl::StrAppend(&rule, "---|");
  }
  absl::StrAppend(&table, "\n", rule, "\n");
  for (size_t row = 0; row < names.size(); ++row) {
    absl::StrAppend(&table, "| ", names[row], " |");
    for (size_t column = 0; column < names.size(); ++column) {
      std::vector<double> values;
      for (const CrossPlayGame& game : games) {
        if (game.setting != row || game.opponent != column) continue;
        if (std::optional<double> v = value(game); v.has_value()) values.push_back(*v);
      }
      absl::StrAppend(&table, " ", FigureCell(SpreadOf(values)), " (", values.size(), ") |");
    }
    absl::StrAppend(&table, "\n");
  }
  return table;
}

}  // namespace

absl::StatusOr<CrossPlayGame> ParseEvalJson(const std::string& line) {
  CrossPlayGame game;
  std::smatch match;
  if (line.empty() || line.front() != '{' ||
      !std::regex_search(line, match, std::regex("\"return_mean\":([^,}]+)")) ||
      !absl::SimpleAtod(match[1].str(), &game.return_mean)) {
    return absl::InvalidArgumentError(absl::StrCat("not rill eval's JSON line (no return_mean): '", line, "'"));
  }
  const size_t metrics = line.find("\"env_metrics\":{");
  if (metrics == std::string::npos) return game;
  const size_t open = line.find('{', metrics);
  const size_t close = line.find('}', open);
  const std::string inner = line.substr(open + 1, close == std::string::npos ? std::string::npos : close - open - 1);
  const std::regex entry("\"([^\"]+)\":([^,]+)");
  for (auto it = std::sregex_iterator(inner.begin(), inner.end(), entry); it != std::sregex_iterator(); ++it) {
    double value = 0;
    if (!absl::SimpleAtod((*it)[2].str(), &value)) {
      return absl::InvalidArgumentError(absl::StrCat("env figure ", (*it)[1].str(), " is not a number in '", line, "'"));
    }
    game.figures[(*it)[1].str()] = value;
  }
  return game;
}

absl::StatusOr<std::vector<CrossPlayGame>> PlayCrossPlay(const std::string& self, const std::vector<CrossPlayRun>& runs,
                                                         const std::vector<std::string>& names,
                                                         const CrossPlayOptions& options, const std::string& sweep_dir,
                                                         const absl::Notification& stop) {
  const std::string folder = sweep_dir + "/cross_play";
  std::error_code error;
  fs::create_directories(folder, error);
  std::vector<CrossPlayGame> games;
  for (const CrossPlayRun& run : runs) {
    if (!run.finished) continue;
    for (const CrossPlayRun& opponent : runs) {
      if (!opponent.finished || opponent.seed != run.seed) continue;
      ASSIGN_OR_RETURN(CrossPlayGame game, PlayGame(self, run, opponent, names, options, folder, stop));
      std::printf("cross-play seed %lld: %s, %s played by %s: return %.2f\n", static_cast<long long>(run.seed),
                  names[run.setting].c_str(), absl::StrJoin(options.agents, ",").c_str(),
                  names[opponent.setting].c_str(), game.return_mean);
      std::fflush(stdout);
      games.push_back(std::move(game));
    }
  }
  return games;
}

std::string CrossPlayTables(const std::vector<CrossPlayGame>& games, const std::vector<std::string>& names,
                            const CrossPlayOptions& options) {
  const std::string agents = absl::StrJoin(options.agents, ", ");
  std::string tables = Matrix("mean return", games, names, agents,
                              [](const CrossPlayGame& game) -> std::optional<double> { return game.return_mean; });
  for (const std::string& figure : FigureNames(games)) {
    absl::StrAppend(&tables, "\n",
                    Matrix(figure, games, names, agents, [&figure](const CrossPlayGame& game) -> std::optional<double> {
                      const auto found = game.figures.find(figure);
                      if (found == game.figures.end()) return std::nullopt;
                      return found->second;
                    }));
  }
  return tables;
}

absl::Status WriteCrossPlay(const std::vector<CrossPlayGame>& games, const std::vector<std::string>& names,
                            const CrossPlayOptions& options, const std::string& sweep_dir) {
  const std::vector<std::string> figures = FigureNames(games);
  std::string csv = "setting,opponent_setting,seed,return_mean";
  for (const std::string& figure : figures) absl::StrAppend(&csv, ",", figure);
  absl::StrAppend(&csv, "\n");
  for (const CrossPlayGame& game : games) {
    absl::StrAppend(&csv, names[game.setting], ",", names[game.opponent], ",", game.seed, ",",
                    absl::StrFormat("%.6g", game.return_mean));
    for (const std::string& figure : figures) {
      const auto found = game.figures.find(figure);
      absl::StrAppend(&csv, ",", found == game.figures.end() ? "" : absl::StrFormat("%.6g", found->second));
    }
    absl::StrAppend(&csv, "\n");
  }
  const std::string tables = CrossPlayTables(games, names, options);
  const std::string agents = absl::StrJoin(options.agents, ", ");
  const std::string markdown = absl::StrCat(
      "# Cross-play: ", agents, " against the other agents\n\n", "Each cell: ", agents,
      " on the column's networks, every other agent on the row's, both runs of one seed; ", options.episodes,
      " episodes per seed", options.sample_actions ? " with sampled actions" : "",
      ". Mean ± sample standard deviation (n - 1) over the seeds, their number in parentheses.\n\n", tables,
      "\nEvery game: cross_play.csv; each game's log: cross_play/<setting>-vs-<opponent>-seed-<k>.log.\n");
  RETURN_IF_ERROR(WriteFileAtomically(sweep_dir + "/cross_play.csv", csv));
  RETURN_IF_ERROR(WriteFileAtomically(sweep_dir + "/cross_play.md", markdown));
  std::printf("\n%s\n", tables.c_str());
  return absl::OkStatus();
}

}  // namespace rill::cli
