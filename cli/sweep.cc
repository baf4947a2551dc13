#include "cli/sweep.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cli/cross_play.h"
#include "cli/run_report.h"
#include "cli/seed_spread.h"
#include "common/child_process.h"
#include "common/os.h"
#include "common/process.h"
#include "common/status_macros.h"
#include "experiment/config.h"
#include "roles/role.h"

ABSL_FLAG(std::string, seeds, "1-3", "rill sweep: the seeds of every setting: a range (1-5), a list (1,3,7) or both.");
ABSL_FLAG(std::string, sweep_dir, "", "rill sweep: folder of the runs and the comparison; default .rill-sweeps/<name>-<time>.");
ABSL_FLAG(std::vector<std::string>, cross_play_agents, {},
          "rill sweep: after the runs, play each setting's runs with these agents (comma-separated env agent "
          "names, e.g. agent_0 of PredatorPrey-v0) on each setting's networks of the same seed, and write "
          "cross_play.md and cross_play.csv (the MADDPG paper's MADDPG-against-DDPG table). Needs two settings "
          "or more.");
ABSL_FLAG(int32_t, cross_play_episodes, 100, "rill sweep: episodes per cross-play game (rill eval --episodes).");
ABSL_FLAG(bool, cross_play_sample_actions, false,
          "rill sweep: cross-play games draw their actions as the actors do in training (rill eval "
          "--sample_actions).");
ABSL_FLAG(int32_t, parallel, 0,
          "rill sweep: runs at once; 0: as many as the cores hold, one per (actors + 2) cores, at least one.");

// `rill launch`'s own, passed on to every run; --set is config_settings'.
ABSL_DECLARE_FLAG(int64_t, max_env_steps);
ABSL_DECLARE_FLAG(int32_t, num_actors);
ABSL_DECLARE_FLAG(std::string, plot_python);
ABSL_DECLARE_FLAG(std::string, set);

namespace rill::cli {

// cli/plot_sweep.py, embedded by //cli:plot_sweep_embedded.
extern const char kPlotSweepScript[];

namespace {

namespace fs = std::filesystem;

constexpr int kMaxSeeds = 1000;
constexpr int kMaxRuns = 10000;

struct Run {
  size_t combination = 0;
  int64_t seed = 0;
  std::string run_dir;
  std::unique_ptr<ChildProcess> process;
  std::optional<int> status;
  // From its summary and eval.csv once it has ended.
  std::optional<double> final_return, best_return;
  double wall_seconds = 0, env_steps_per_second = 0, env_steps = 0;
  std::vector<std::pair<double, double>> curve;  // (env steps, eval return)
  // The env's own figures (cooperative navigation's landmark_distance,
  // collisions, ...) in its last evaluation round, by name.
  std::map<std::string, double> final_env;
};

std::optional<double> SummaryNumber(const std::string& summary, const std::string& key) {
  std::smatch match;
  if (!std::regex_search(summary, match, std::regex("\"" + key + "\": (-?[0-9.eE+-]+)"))) return std::nullopt;
  return std::stod(match[1].str());
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// What a finished run left: its summary's figures and its evaluation curve.
void ReadResults(Run& run) {
  const std::string summary = ReadText(run.run_dir + "/summary.json");
  run.final_return = SummaryNumber(summary, "eval_return_mean");
  run.wall_seconds = SummaryNumber(summary, "wall_seconds").value_or(0);
  run.env_steps_per_second = SummaryNumber(summary, "env_steps_per_second").value_or(0);
  run.env_steps = SummaryNumber(summary, "env_steps").value_or(0);
  std::ifstream eval(run.run_dir + "/plots/eval.csv");
  std::string line;
  std::getline(eval, line);  // seconds,env_steps,learner_updates,parameter_version,return_mean
  while (std::getline(eval, line)) {
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    double steps = 0, value = 0;
    if (fields.size() != 5 || !absl::SimpleAtod(fields[1], &steps) || !absl::SimpleAtod(fields[4], &value)) continue;
    run.curve.push_back({steps, value});
    run.best_return = std::max(run.best_return.value_or(value), value);
  }
  run.final_env = FinalEnvFigures(run.run_dir);
}

// Every env figure any run reported, sorted.
std::vector<std::string> EnvFigureNames(const std::vector<Run>& runs) {
  std::set<std::string> names;
  for (const Run& run : runs) {
    for (const auto& [name, value] : run.final_env) names.insert(name);
  }
  return {names.begin(), names.end()};
}

std::string Optional(const std::optional<double>& value) {
  return value.has_value() ? absl::StrFormat("%.3f", *value) : "";
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> ParseSeeds(const std::string& text) {
  std::vector<int64_t> seeds;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    const size_t dash = part.find('-', 1);
    int64_t first = 0, last = 0;
    const bool parsed = dash == absl::string_view::npos
                            ? absl::SimpleAtoi(part, &first) && (last = first, true)
                            : absl::SimpleAtoi(part.substr(0, dash), &first) &&
                                  absl::SimpleAtoi(part.substr(dash + 1), &last);
    if (!parsed || first < 0 || last < first) {
      return absl::InvalidArgumentError(absl::StrCat("--seeds: '", part, "' is not a seed >= 0 or a range A-B with A <= B"));
    }
    if (last - first >= kMaxSeeds || static_cast<int64_t>(seeds.size()) + last - first >= kMaxSeeds) {
      return absl::InvalidArgumentError(absl::StrCat("--seeds: more than ", kMaxSeeds, " seeds"));
    }
    for (int64_t seed = first; seed <= last; ++seed) {
      if (std::find(seeds.begin(), seeds.end(), seed) == seeds.end()) seeds.push_back(seed);
    }
  }
  if (seeds.empty()) return absl::InvalidArgumentError("--seeds is empty");
  return seeds;
}

std::vector<std::vector<std::pair<std::string, std::string>>> Grid(const std::vector<SweptSetting>& settings) {
  std::vector<std::vector<std::pair<std::string, std::string>>> grid = {{}};
  for (const SweptSetting& setting : settings) {
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const auto& combination : grid) {
      for (const std::string& value : setting.values) {
        next.push_back(combination);
        next.back().push_back({setting.path, value});
      }
    }
    grid = std::move(next);
  }
  return grid;
}

std::string CombinationName(const std::vector<std::pair<std::string, std::string>>& combination) {
  if (combination.empty()) return "default";
  std::vector<std::string> parts;
  for (const auto& [path, value] : combination) {
    std::string name = absl::StrCat(path.substr(path.rfind('.') + 1), "=", value);
    for (char& c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '=' && c != '.' && c != '-' && c != '_') c = '_';
    }
    parts.push_back(name);
  }
  return absl::StrJoin(parts, ",");
}

namespace {

bool Succeeded(const Run& run) {
  return run.status.has_value() && WIFEXITED(*run.status) && WEXITSTATUS(*run.status) == 0;
}

// Every combination's config: its settings applied to `config` (the config
// as given), then finalized (so that a bad one fails before
// any run starts) and written to <sweep_dir>/<name>/config.textpb; the
// combinations' names in `names`, their files in `configs`. On an error,
// `failed` says what failed: "bad setting" or "sweep folder".
absl::Status WriteCombinationConfigs(const v1::ExperimentConfig& config,
                                     const std::vector<std::vector<std::pair<std::string, std::string>>>& grid,
                                     const std::string& sweep_dir, std::vector<std::string>& names,
                                     std::vector<std::string>& configs, const char** failed) {
  *failed = "bad setting";
  for (const auto& combination : grid) {
    absl::StatusOr<v1::ExperimentConfig> changed = ApplySettings(config, combination);
    if (changed.ok()) changed = experiment::FinalizeExperimentConfig(*std::move(changed));
    if (!changed.ok()) {
      return absl::Status(changed.status().code(),
                          absl::StrCat(CombinationName(combination), ": ", changed.status().message()));
    }
    names.push_back(CombinationName(combination));
    const std::string folder = absl::StrCat(sweep_dir, "/", names.back());
    std::error_code error;
    fs::create_directories(folder, error);
    configs.push_back(folder + "/config.textpb");
    absl::Status written = experiment::WriteExperimentConfig(*changed, configs.back());
    if (!written.ok()) {
      *failed = "sweep folder";
      return written;
    }
  }
  return absl::OkStatus();
}

// Starts `run` as a `rill launch` of its combination's config.
absl::Status StartRun(Run& run, const std::string& self, const std::string& name, const std::string& config_file) {
  std::vector<std::string> args = {"launch", "--config=" + config_file, "--run_dir=" + run.run_dir,
                                   absl::StrCat("--seed=", run.seed), "--summary_json=" + run.run_dir + "/summary.json"};
  if (absl::GetFlag(FLAGS_max_env_steps) >= 0) {
    args.push_back(absl::StrCat("--max_env_steps=", absl::GetFlag(FLAGS_max_env_steps)));
  }
  if (absl::GetFlag(FLAGS_num_actors) > 0) args.push_back(absl::StrCat("--num_actors=", absl::GetFlag(FLAGS_num_actors)));
  std::error_code error;
  fs::create_directories(run.run_dir, error);
  ASSIGN_OR_RETURN(run.process, ChildProcess::StartProgram(absl::StrCat(name, "/seed-", run.seed), self, args,
                                                           run.run_dir + "/launch.log"));
  return absl::OkStatus();
}

// The line a finished run gets.
std::string RunResult(const Run& run) {
  if (!Succeeded(run)) {
    return absl::StrCat("failed (", ChildProcess::DescribeStatus(*run.status), "); see ", run.run_dir, "/launch.log");
  }
  return absl::StrFormat("final %s, best %s, %.0fs, %.0f env steps/s",
                         run.final_return.has_value() ? absl::StrFormat("%.1f", *run.final_return) : "-",
                         run.best_return.has_value() ? absl::StrFormat("%.1f", *run.best_return) : "-",
                         run.wall_seconds, run.env_steps_per_second);
}

// Runs `runs`, `parallel` at a time, until all have ended or `stop` is
// notified (then stops those still running). Returns how many failed.
absl::StatusOr<int> RunAll(std::vector<Run>& runs, int parallel, const std::vector<std::string>& names,
                           const std::vector<std::string>& configs, absl::Notification& stop) {
  ASSIGN_OR_RETURN(const std::string self, SelfBinary());
  size_t next = 0, finished = 0;
  int running = 0, failed = 0;
  while (finished < runs.size() && !stop.HasBeenNotified()) {
    while (running < parallel && next < runs.size()) {
      Run& run = runs[next++];
      RETURN_IF_ERROR(StartRun(run, self, names[run.combination], configs[run.combination]));
      ++running;
    }
    stop.WaitForNotificationWithTimeout(absl::Milliseconds(200));
    for (Run& run : runs) {
      if (run.process == nullptr || run.status.has_value()) continue;
      run.status = run.process->Poll();
      if (!run.status.has_value()) continue;
      --running;
      ++finished;
      ReadResults(run);
      if (!Succeeded(run)) ++failed;
      std::printf("[%zu/%zu] %s seed %lld: %s\n", finished, runs.size(), names[run.combination].c_str(),
                  static_cast<long long>(run.seed), RunResult(run).c_str());
      std::fflush(stdout);
    }
  }
  if (stop.HasBeenNotified()) {
    std::printf("interrupted; stopping the runs\n");
    for (Run& run : runs) {
      if (run.process != nullptr && !run.status.has_value()) run.process->Signal(SIGTERM);
    }
    for (Run& run : runs) {
      if (run.process != nullptr && !run.status.has_value()) run.status = run.process->Stop(absl::Seconds(30));
    }
  }
  return failed;
}

// The comparison's markdown table: every setting over its seeds.
// An env's own figures (EnvFigureNames) follow, as of each run's last
// evaluation round.
std::string ComparisonTable(const std::vector<Run>& runs, const std::vector<std::string>& names, size_t num_seeds) {
  const std::vector<std::string> figures = EnvFigureNames(runs);
  // Cells: mean ± sample standard deviation over the setting's seeds.
  std::string table = "| setting | runs | final return | best return | wall s | env steps/s |";
  std::string rule = "|---|---|---|---|---|---|";
  for (const std::string& figure : figures) {
    absl::StrAppend(&table, " final ", figure, " |");
    absl::StrAppend(&rule, "---|");
  }
  absl::StrAppend(&table, "\n", rule, "\n");
  for (size_t c = 0; c < names.size(); ++c) {
    std::vector<double> finals, bests, walls, rates;
    std::vector<std::vector<double>> env_finals(figures.size());
    int done = 0;
    for (const Run& run : runs) {
      if (run.combination != c || !Succeeded(run)) continue;
      ++done;
      if (run.final_return) finals.push_back(*run.final_return);
      if (run.best_return) bests.push_back(*run.best_return);
      walls.push_back(run.wall_seconds);
      rates.push_back(run.env_steps_per_second);
      for (size_t f = 0; f < figures.size(); ++f) {
        const auto value = run.final_env.find(figures[f]);
        if (value != run.final_env.end()) env_finals[f].push_back(value->second);
      }
    }
    absl::StrAppend(&table, "| ", names[c], " | ", done, "/", num_seeds, " | ", Cell(SpreadOf(finals)), " | ",
                    Cell(SpreadOf(bests)), " | ", Cell(SpreadOf(walls)), " | ", Cell(SpreadOf(rates)), " |");
    for (const std::vector<double>& values : env_finals) absl::StrAppend(&table, " ", FigureCell(SpreadOf(values)), " |");
    absl::StrAppend(&table, "\n");
  }
  return table;
}

// comparison.csv (every run), curves.csv and comparison.md in `sweep_dir`;
// prints the table.
absl::Status WriteComparison(const std::vector<Run>& runs, const std::vector<std::string>& names, size_t num_seeds,
                             const std::string& config_name, const std::string& sweep_dir) {
  const std::vector<std::string> figures = EnvFigureNames(runs);
  std::string csv = "setting,seed,status,final_return,best_return,wall_seconds,env_steps,env_steps_per_second";
  for (const std::string& figure : figures) absl::StrAppend(&csv, ",final_env_", figure);
  absl::StrAppend(&csv, "\n");
  std::string curves = "setting,seed,env_steps,return_mean\n";
  for (const Run& run : runs) {
    absl::StrAppend(&csv, names[run.combination], ",", run.seed, ",",
                    Succeeded(run) ? "done" : (run.status ? "failed" : "not run"), ",", Optional(run.final_return),
                    ",", Optional(run.best_return), ",",
                    absl::StrFormat("%.3f,%.0f,%.3f", run.wall_seconds, run.env_steps, run.env_steps_per_second));
    for (const std::string& figure : figures) {
      const auto value = run.final_env.find(figure);
      absl::StrAppend(&csv, ",", value == run.final_env.end() ? "" : absl::StrFormat("%.6g", value->second));
    }
    absl::StrAppend(&csv, "\n");
    for (const auto& [steps, value] : run.curve) {
      absl::StrAppend(&curves, names[run.combination], ",", run.seed, ",", absl::StrFormat("%.0f,%.6f", steps, value),
                      "\n");
    }
  }
  const std::string table = ComparisonTable(runs, names, num_seeds);
  std::string markdown = absl::StrCat("# ", config_name, ": ", names.size(), " setting(s) x ", num_seeds,
                                      " seed(s)\n\nMean ± sample standard deviation (n - 1) over the seeds of each setting.\n\n",
                                      table, "\nEvery run: comparison.csv; each run's folder: <setting>/seed-<k>.\n");
  for (const auto& [file, text] : std::vector<std::pair<std::string, std::string>>{
           {"comparison.csv", csv}, {"comparison.md", markdown}, {"curves.csv", curves}}) {
    RETURN_IF_ERROR(WriteFileAtomically(absl::StrCat(sweep_dir, "/", file), text));
  }
  std::printf("\n%s\n", table.c_str());
  return absl::OkStatus();
}

// The mean curves, drawn as the runs' plots are (matplotlib optional).
void DrawSweepPlot(const std::string& sweep_dir, const std::string& python) {
  const std::string script = sweep_dir + "/plot_sweep.py";
  absl::Status saved = WriteFileAtomically(script, kPlotSweepScript);
  if (!saved.ok() || python.empty() || access(python.c_str(), X_OK) != 0) return;
  absl::StatusOr<std::unique_ptr<ChildProcess>> plot =
      ChildProcess::StartProgram("plot_sweep", python, {script, sweep_dir}, sweep_dir + "/plot.log");
  std::optional<int> drawn = plot.ok() ? (*plot)->WaitExit(absl::Seconds(60)) : std::nullopt;
  if (drawn.has_value() && WIFEXITED(*drawn) && WEXITSTATUS(*drawn) == 0) {
    std::printf("plot: %s/return_by_env_steps.png\n", sweep_dir.c_str());
  } else {
    std::printf("no plot (see %s/plot.log); the curves are in %s/curves.csv\n", sweep_dir.c_str(), sweep_dir.c_str());
  }
}

// Every setting's run of every seed, each with its folder.
std::vector<Run> PlanRuns(const std::vector<std::string>& names, const std::vector<int64_t>& seeds,
                          const std::string& sweep_dir) {
  std::vector<Run> runs;
  for (size_t c = 0; c < names.size(); ++c) {
    for (int64_t seed : seeds) {
      Run run;
      run.combination = c;
      run.seed = seed;
      run.run_dir = absl::StrCat(sweep_dir, "/", names[c], "/seed-", seed);
      runs.push_back(std::move(run));
    }
  }
  return runs;
}

// --cross_play_* as options; InvalidArgument naming the flag for agents
// with fewer than two settings or fewer than one episode.
absl::StatusOr<CrossPlayOptions> CrossPlayFromFlags(size_t num_settings) {
  CrossPlayOptions options;
  options.agents = absl::GetFlag(FLAGS_cross_play_agents);
  options.episodes = absl::GetFlag(FLAGS_cross_play_episodes);
  options.sample_actions = absl::GetFlag(FLAGS_cross_play_sample_actions);
  if (options.agents.empty()) return options;
  if (num_settings < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--cross_play_agents: cross-play sets the settings' runs against each other, and this sweep has ",
        num_settings, " setting; give --set two values or more"));
  }
  if (options.episodes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cross_play_episodes must be at least 1, got ", options.episodes));
  }
  return options;
}

// The sweep's runs set against each other (cli/cross_play.h), written into
// `sweep_dir`.
absl::Status CrossPlay(const std::vector<Run>& runs, const std::vector<std::string>& names,
                       const CrossPlayOptions& options, const std::string& sweep_dir,
                       const absl::Notification& stop) {
  ASSIGN_OR_RETURN(const std::string self, SelfBinary());
  std::vector<CrossPlayRun> played;
  for (const Run& run : runs) played.push_back({run.combination, run.seed, run.run_dir, Succeeded(run)});
  ASSIGN_OR_RETURN(const std::vector<CrossPlayGame> games,
                   PlayCrossPlay(self, played, names, options, sweep_dir, stop));
  RETURN_IF_ERROR(WriteCrossPlay(games, names, options, sweep_dir));
  std::printf("cross-play: %s/cross_play.md and cross_play.csv\n", sweep_dir.c_str());
  std::fflush(stdout);
  return absl::OkStatus();
}

}  // namespace

int SweepMain() {
  absl::Notification& stop = InstallShutdownSignals();
  // The config as given too: each combination's settings change it before
  // it is finalized, as `rill launch --set` does.
  v1::ExperimentConfig given;
  absl::StatusOr<v1::ExperimentConfig> config = roles::LoadConfigFromFlags(nullptr, [&given](v1::ExperimentConfig& c) {
    given = c;
    return absl::OkStatus();
  });
  if (!config.ok()) return roles::ExitWith("bad config", config.status());
  absl::StatusOr<std::vector<int64_t>> seeds = ParseSeeds(absl::GetFlag(FLAGS_seeds));
  if (!seeds.ok()) return roles::ExitWith("flags", seeds.status());
  absl::StatusOr<std::vector<SweptSetting>> settings = ParseSettings(absl::GetFlag(FLAGS_set));
  if (!settings.ok()) return roles::ExitWith("flags", settings.status());
  const auto grid = Grid(*settings);
  absl::StatusOr<CrossPlayOptions> cross_play = CrossPlayFromFlags(grid.size());
  if (!cross_play.ok()) return roles::ExitWith("flags", cross_play.status());
  if (grid.size() * seeds->size() > kMaxRuns) {
    return roles::ExitWith("flags", absl::InvalidArgumentError(absl::StrCat(
                                        grid.size(), " settings x ", seeds->size(), " seeds is more than ", kMaxRuns,
                                        " runs")));
  }
  std::string sweep_dir = absl::GetFlag(FLAGS_sweep_dir);
  if (sweep_dir.empty()) {
    sweep_dir = absl::StrCat(".rill-sweeps/", config->name().empty() ? "sweep" : config->name(), "-",
                             absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::LocalTimeZone()));
  }
  std::vector<std::string> names, configs;
  const char* failed_step = "";
  given.set_seed(config->seed());  // --seed's, as the finalized config has it
  absl::Status written = WriteCombinationConfigs(given, grid, sweep_dir, names, configs, &failed_step);
  if (!written.ok()) return roles::ExitWith(failed_step, written);
  const int num_actors =
      absl::GetFlag(FLAGS_num_actors) > 0 ? absl::GetFlag(FLAGS_num_actors) : config->topology().num_actors();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int parallel = absl::GetFlag(FLAGS_parallel) > 0 ? absl::GetFlag(FLAGS_parallel)
                                                         : std::max(1, cores / (std::max(1, num_actors) + 2));
  std::vector<Run> runs = PlanRuns(names, *seeds, sweep_dir);
  std::printf("rill sweep: %zu setting(s) x %zu seed(s) = %zu runs of %s, %d at once, in %s\n", grid.size(),
              seeds->size(), runs.size(), config->name().c_str(), parallel, sweep_dir.c_str());
  std::fflush(stdout);
  absl::StatusOr<int> failed = RunAll(runs, parallel, names, configs, stop);
  if (!failed.ok()) return roles::ExitWith("sweep", failed.status());
  written = WriteComparison(runs, names, seeds->size(), config->name(), sweep_dir);
  if (!written.ok()) return roles::ExitWith("sweep folder", written);
  DrawSweepPlot(sweep_dir, absl::GetFlag(FLAGS_plot_python));
  std::printf("comparison: %s/comparison.md and comparison.csv\n", sweep_dir.c_str());
  std::fflush(stdout);
  if (!cross_play->agents.empty() && !stop.HasBeenNotified()) {
    const absl::Status played = CrossPlay(runs, names, *cross_play, sweep_dir, stop);
    if (!played.ok()) return roles::ExitWith("cross-play", played);
  }
  if (stop.HasBeenNotified()) return roles::kExitFailure;
  return *failed > 0 ? roles::kExitFailure : 0;
}

}  // namespace rill::cli
