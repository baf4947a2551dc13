// `rill launch` as a user runs it: to --max_env_steps with a summary, stopped
// by Ctrl-C, with an actor, a replay shard, the learner or one of two
// learner ranks killed mid-run, and with the env server that
// env.remote.command starts (killed mid-run too).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <iterator>
#include <regex>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/grpc_util.h"
#include "common/tls.h"
#include "common/torch_tensor.h"
#include "learner/checkpoint.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kConfig[] = "--config=tests/configs/tiny_pendulum.textpb";

// Pids of live processes whose command line mentions `needle`.
std::vector<pid_t> ProcessesMentioning(const std::string& needle) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadFile(entry.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    std::string stat = ReadFile(entry.path().string() + "/stat");
    const bool zombie = stat.find(") Z ") != std::string::npos;
    if (!zombie && cmdline.find(needle) != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

// The value of series `series` (name and labels as written) in a final
// metrics file, or -1 when it has none.
double SeriesIn(const std::string& prom, const std::string& series) {
  std::istringstream lines(prom);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

struct Launched {
  std::unique_ptr<ChildProcess> process;
  std::string run_dir;
  std::string log;
  std::string summary;
};

Launched StartLaunch(const std::string& name, const std::vector<std::string>& extra,
                     const std::string& config = kConfig) {
  Launched launched;
  launched.run_dir = TempDir("run-" + name);
  launched.log = launched.run_dir + "-launch.log";
  launched.summary = launched.run_dir + "/summary.json";
  std::vector<std::string> args = {"launch", config, "--run_dir=" + launched.run_dir,
                                   "--summary_json=" + launched.summary, "--progress_every=1s"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto child = ChildProcess::Start(name, RillBinary(), args, launched.log);
  EXPECT_TRUE(child.ok()) << child.status();
  if (child.ok()) launched.process = std::move(*child);
  return launched;
}

TEST(LaunchTest, RunsToMaxEnvStepsAndWritesTheSummary) {
  // learner.num_threads 0, the default (tiny_pendulum fixes 1 thread).
  Launched run = StartLaunch("max-steps", {"--max_env_steps=2000", "--seed=11", "--set=learner.num_threads=0"});
  ASSERT_NE(run.process, nullptr);
  // --ready_fd (ChildProcess::Start's pipe): "ready" once the run is up,
  // and no warning that the flag is not launch's.
  const absl::StatusOr<std::map<std::string, int>> ready = run.process->WaitReady(absl::Seconds(120));
  ASSERT_TRUE(ready.ok()) << ready.status();
  std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
  const std::string summary = ReadFile(run.summary);
  EXPECT_EQ(JsonNumber(summary, "env_steps"), 2000) << summary;
  EXPECT_GT(JsonNumber(summary, "learner_updates"), 0) << summary;
  EXPECT_GT(JsonNumber(summary, "wall_seconds"), 0) << summary;
  EXPECT_GT(JsonNumber(summary, "env_steps_per_second"), 0) << summary;
  EXPECT_GT(JsonNumber(summary, "updates_per_second"), 0) << summary;
  EXPECT_GT(JsonNumber(summary, "eval_episodes"), 0) << summary;
  EXPECT_LE(JsonNumber(summary, "eval_return_mean"), 0) << summary;  // Pendulum returns are negative
  EXPECT_THAT(ReadFile(run.log), HasSubstr("env steps"));
  EXPECT_THAT(ReadFile(run.log), Not(HasSubstr("not a flag")));
  // One learner measures its intra-op threads, up to every core, and says so.
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  EXPECT_THAT(ReadFile(run.log), HasSubstr(absl::StrCat("learner: up to ", cores, " CPU threads, as many as update "
                                                        "fastest beside the actors")));
  const double threads = SeriesIn(ReadFile(run.run_dir + "/final-metrics/learner.prom"), "rill_learner_intra_op_threads");
  EXPECT_GE(threads, 1);
  EXPECT_LE(threads, cores);
  if (cores > 1) {
    // What its probe found, or (a run that ended before the probe, as a
    // loaded machine's 2,000 steps can) that it was still measuring.
    EXPECT_THAT(ReadFile(run.run_dir + "/logs/learner.log"),
                ::testing::ContainsRegex("learner: ([0-9]+ intra-op threads? \\([0-9]+ threads: [0-9.]+ ms per "
                                         "update, |stopped while measuring its intra-op threads)"));
  }
  // The run says what ran, in its summary and in run.json from its start.
  for (const std::string& described : {summary, ReadFile(run.run_dir + "/run.json")}) {
    EXPECT_THAT(described, HasSubstr("\"config_name\": \"tiny_pendulum\"")) << described;
    EXPECT_THAT(described, HasSubstr("\"config_file\": \"" + run.run_dir + "/config.textpb\"")) << described;
    EXPECT_THAT(described, HasSubstr("\"env\": \"Pendulum-v1\"")) << described;
    EXPECT_THAT(described, HasSubstr("\"algorithm\": \"sac\"")) << described;
    EXPECT_THAT(described, HasSubstr("\"seed\": 11,")) << described;  // --seed, over the config's
    EXPECT_THAT(described, ::testing::ContainsRegex("\"rill_commit\": \"[0-9a-z-]+\"")) << described;
    EXPECT_THAT(described, ::testing::ContainsRegex("\"started_at\": \"20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T")) << described;
    EXPECT_THAT(described, HasSubstr("\"--max_env_steps=2000\"")) << described;
  }
  // `rill eval` plays the run's policy, given the run folder.
  auto eval = ChildProcess::Start("eval", RillBinary(), {"eval", "--checkpoint_dir=" + run.run_dir, "--episodes=3"},
                                  run.run_dir + "-eval.log");
  ASSERT_TRUE(eval.ok()) << eval.status();
  std::optional<int> evaluated = (*eval)->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(evaluated.has_value() && WIFEXITED(*evaluated) && WEXITSTATUS(*evaluated) == 0) << (*eval)->LogTail(10);
  const std::string played = ReadFile(run.run_dir + "-eval.log");
  EXPECT_THAT(played, HasSubstr("eval: 3 episodes of Pendulum-v1, mean return -")) << played;
  EXPECT_THAT(played, HasSubstr(run.run_dir + "/checkpoints/learner/latest")) << played;
  // Every child is gone.
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
}

// --stop_at_eval_return: a target any evaluation reaches ends the run at the
// first round, far inside a budget it would take minutes to spend, as a
// finished run (checkpoint, plots, summary); so does the first round of a
// run evaluating several times a second that reaches a bar, even when a
// later round falls below it; one no round can reach leaves the run to its
// budget and its usual final evaluation.
TEST(LaunchTest, StopAtEvalReturnEndsTheRunAtTheFirstEvaluationThatReachesIt) {
  Launched run = StartLaunch("stop-at", {"--max_env_steps=1000000", "--stop_at_eval_return=-100000"});
  ASSERT_NE(run.process, nullptr);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "launch did not stop at its target:\n" << run.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
  const std::string summary = ReadFile(run.summary);
  EXPECT_GT(JsonNumber(summary, "env_steps"), 0) << summary;
  EXPECT_LT(JsonNumber(summary, "env_steps"), 1000000) << summary;
  EXPECT_GE(JsonNumber(summary, "eval_return_mean"), -100000) << summary;
  EXPECT_EQ(JsonNumber(summary, "stop_at_eval_return"), -100000) << summary;
  EXPECT_THAT(summary, ::testing::ContainsRegex("\"final_eval\": \"target reached: -[0-9]+\\.[0-9]{3} >= -100000\""));
  // The summary's evaluation is the round that reached the target, not a
  // later one read at the stop.
  const std::string log = ReadFile(run.log);
  std::smatch reached;
  ASSERT_TRUE(std::regex_search(log, reached,
                                std::regex("evaluation of version ([0-9]+) returned (-?[0-9.]+) >= -100000 "
                                           "\\(--stop_at_eval_return\\)")))
      << log;
  EXPECT_EQ(JsonNumber(summary, "eval_parameter_version"), std::stod(reached[1].str())) << summary;
  EXPECT_NEAR(JsonNumber(summary, "eval_return_mean"), std::stod(reached[2].str()), 0.0005) << summary;
  EXPECT_THAT(summary, HasSubstr("\"final_eval\": \"target reached: " + reached[2].str() + " >= -100000\""));
  EXPECT_TRUE(std::filesystem::exists(run.run_dir + "/checkpoints/learner/latest"));
  EXPECT_TRUE(std::filesystem::exists(run.run_dir + "/plots/eval.csv"));
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());

  // Every round counts, not only the one the launcher happens to see:
  // MaskedPick-v0's PPO evaluates 400 episodes several times a second and
  // its rounds go up and down by a few hundredths, so the latest round at
  // a look is often below a bar an earlier one met. The run stops at the
  // first round of the evaluator's log that reaches the bar (about 2.3
  // comes at 6k-12k env steps, the budget's tenth).
  Launched fast = StartLaunch("stop-at-fast", {"--max_env_steps=100000", "--stop_at_eval_return=2.3"},
                              "--config=deploy/configs/masked_pick_ppo.textpb");
  ASSERT_NE(fast.process, nullptr);
  status = fast.process->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << fast.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << fast.process->LogTail(30);
  const std::string fast_summary = ReadFile(fast.summary);
  EXPECT_THAT(fast_summary, HasSubstr("\"final_eval\": \"target reached: ")) << fast_summary;
  const std::string rounds = ReadFile(fast.run_dir + "/metrics/evaluator.jsonl");
  std::string before;
  for (const std::string& line : std::vector<std::string>(absl::StrSplit(rounds, '\n', absl::SkipEmpty()))) {
    std::smatch round;
    ASSERT_TRUE(std::regex_search(line, round,
                                  std::regex("\"parameter_version\": ([0-9]+),.*\"return_mean\": (-?[0-9.e+-]+)")))
        << line;
    if (std::stod(round[2].str()) < 2.3) {
      absl::StrAppend(&before, round[1].str(), ":", round[2].str(), " ");
      continue;
    }
    EXPECT_EQ(JsonNumber(fast_summary, "eval_parameter_version"), std::stod(round[1].str()))
        << "the first round to reach 2.3 was version " << round[1] << " (after " << before << "): " << fast_summary;
    EXPECT_NEAR(JsonNumber(fast_summary, "eval_return_mean"), std::stod(round[2].str()), 0.0005) << fast_summary;
    break;
  }
  EXPECT_LT(JsonNumber(fast_summary, "env_steps"), 100000) << fast_summary;

  Launched unreached = StartLaunch("stop-at-unreached", {"--max_env_steps=1000", "--stop_at_eval_return=1000"});
  ASSERT_NE(unreached.process, nullptr);
  status = unreached.process->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << unreached.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << unreached.process->LogTail(30);
  const std::string spent = ReadFile(unreached.summary);
  EXPECT_EQ(JsonNumber(spent, "env_steps"), 1000) << spent;
  EXPECT_THAT(spent, HasSubstr("\"final_eval\": \"done\"")) << spent;
  EXPECT_EQ(JsonNumber(spent, "stop_at_eval_return"), 1000) << spent;

  // Refused before anything starts: an infinite target, and a lock-step run
  // (it evaluates once, at its end).
  for (const auto& [flags, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--stop_at_eval_return=inf"}, "--stop_at_eval_return must be a finite return, not inf"},
           {{"--stop_at_eval_return=-200", "--deterministic"}, "--stop_at_eval_return does not apply to --deterministic"}}) {
    std::vector<std::string> args = {"--max_env_steps=100"};
    args.insert(args.end(), flags.begin(), flags.end());
    Launched refused = StartLaunch("stop-at-refused", args);
    ASSERT_NE(refused.process, nullptr);
    std::optional<int> code = refused.process->WaitExit(absl::Seconds(60));
    ASSERT_TRUE(code.has_value());
    EXPECT_TRUE(WIFEXITED(*code) && WEXITSTATUS(*code) != 0);
    EXPECT_THAT(ReadFile(refused.log), HasSubstr(message));
    EXPECT_FALSE(std::filesystem::exists(refused.run_dir + "/run.json"));
  }
}

// eval.video_every_seconds: the evaluator draws an episode now and then into
// <run_dir>/videos, named by version and return, and the summary lists the
// files; `rill render` then plays the run's checkpoint into a video of its
// own, a frame per step.
TEST(LaunchTest, TheEvaluatorsVideosAreListedAndRillRenderPlaysTheRun) {
  const std::string config =
      ConfigWith("tests/configs/tiny_pendulum.textpb", "video-config", "eval { episodes: 2 }",
                 "eval { episodes: 2 every_updates: 200 video_every_seconds: 1 video_width: 64 video_height: 48 }");
  ASSERT_FALSE(config.empty());
  Launched run = StartLaunch("videos", {"--config=" + config, "--max_env_steps=2000"});
  ASSERT_NE(run.process, nullptr);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
  const std::string summary = ReadFile(run.summary);
  std::smatch listed;
  ASSERT_TRUE(std::regex_search(summary, listed, std::regex("\"videos\": \\[([^\\]]*)\\]"))) << summary;
  const std::vector<std::string> videos = absl::StrSplit(listed[1].str(), ", ", absl::SkipEmpty());
  ASSERT_GE(videos.size(), 1u) << summary;
  for (std::string video : videos) {
    video = video.substr(1, video.size() - 2);  // the quotes
    EXPECT_THAT(video, ::testing::MatchesRegex(run.run_dir + "/videos/v[0-9]{6}_return_-[0-9]+\\.[0-9]\\.mp4"));
    EXPECT_EQ(ReadFile(video).substr(4, 4), "ftyp") << video << " is an MP4";
  }
  EXPECT_THAT(ReadFile(run.run_dir + "/logs/evaluator.log"), HasSubstr("eval: video of version "));

  const std::string out = run.run_dir + "/episode.mp4";
  auto render = ChildProcess::Start("render", RillBinary(),
                                    {"render", "--checkpoint_dir=" + run.run_dir, "--out=" + out, "--size=64x48"},
                                    run.run_dir + "-render.log");
  ASSERT_TRUE(render.ok()) << render.status();
  std::optional<int> rendered = (*render)->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(rendered.has_value() && WIFEXITED(*rendered) && WEXITSTATUS(*rendered) == 0) << (*render)->LogTail(10);
  const std::string printed = ReadFile(run.run_dir + "-render.log");
  // Pendulum's 200 steps: the reset's frame and 199 more.
  EXPECT_THAT(printed, HasSubstr("render: 1 episodes of Pendulum-v1, 200 frames")) << printed;
  EXPECT_THAT(printed, HasSubstr("\"video\":\"" + out + "\"")) << printed;
  EXPECT_EQ(ReadFile(out).substr(4, 4), "ftyp");

  // A bad size is refused by name, with the exit code of bad input.
  auto refused = ChildProcess::Start("render-bad", RillBinary(),
                                     {"render", "--checkpoint_dir=" + run.run_dir, "--size=64by48"},
                                     run.run_dir + "-render-bad.log");
  ASSERT_TRUE(refused.ok()) << refused.status();
  std::optional<int> bad = (*refused)->WaitExit(absl::Seconds(30));
  ASSERT_TRUE(bad.has_value());
  EXPECT_TRUE(WIFEXITED(*bad) && WEXITSTATUS(*bad) == 2);
  EXPECT_THAT(ReadFile(run.run_dir + "-render-bad.log"), HasSubstr("--size='64by48': expected WIDTHxHEIGHT"));
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
}

// Rows of a CSV file with a header line, each as numbers by column name.
std::vector<std::map<std::string, double>> ReadCsv(const std::string& path) {
  std::vector<std::map<std::string, double>> rows;
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return rows;
  const std::vector<std::string> header = absl::StrSplit(line, ',');
  while (std::getline(in, line)) {
    const std::vector<std::string> cells = absl::StrSplit(line, ',');
    std::map<std::string, double> row;
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = std::stod(cells[i]);
    rows.push_back(std::move(row));
  }
  return rows;
}

// Width and height from a PNG file's signature and IHDR chunk; {0, 0} if it
// is not a PNG.
std::pair<uint32_t, uint32_t> PngSize(const std::string& path) {
  const std::string bytes = ReadFile(path);
  static constexpr unsigned char kSignature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 24 || bytes.compare(0, 8, reinterpret_cast<const char*>(kSignature), 8) != 0 ||
      bytes.compare(12, 4, "IHDR") != 0) {
    return {0, 0};
  }
  auto big_endian = [&](size_t at) {
    uint32_t value = 0;
    for (size_t i = at; i < at + 4; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
    return value;
  };
  return {big_endian(16), big_endian(20)};
}

// The PNGs are drawn from the metric history the launcher scraped, whose
// CSVs end with the summary's figures.
TEST(LaunchTest, RunEndsWithPlotsDrawnFromItsMetricHistory) {
  Launched run = StartLaunch("plots", {"--max_env_steps=2000"});
  ASSERT_NE(run.process, nullptr);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
  const std::string summary = ReadFile(run.summary);
  const std::string plots = run.run_dir + "/plots";
  for (const char* name : {"eval_return_by_env_steps.png", "eval_return_by_time.png", "env_steps_per_second.png",
                           "updates_per_second.png", "learner_statistics.png"}) {
    SCOPED_TRACE(name);
    const std::string path = plots + "/" + name;
    EXPECT_THAT(summary, HasSubstr("\"" + path + "\"")) << summary;
    const auto [width, height] = PngSize(path);
    EXPECT_GT(width, 0u) << ReadFile(run.run_dir + "/logs/plot.log");
    EXPECT_GT(height, 0u);
  }
  EXPECT_THAT(ReadFile(run.log), HasSubstr("plots ("));

  const std::vector<std::map<std::string, double>> history = ReadCsv(plots + "/history.csv");
  ASSERT_FALSE(history.empty());
  for (size_t i = 1; i < history.size(); ++i) {
    EXPECT_GT(history[i].at("seconds"), history[i - 1].at("seconds")) << "row " << i;
    EXPECT_GE(history[i].at("env_steps"), history[i - 1].at("env_steps")) << "row " << i;
    EXPECT_GE(history[i].at("learner_updates"), history[i - 1].at("learner_updates")) << "row " << i;
  }
  EXPECT_EQ(history.back().at("env_steps"), JsonNumber(summary, "env_steps")) << summary;
  EXPECT_EQ(history.back().at("env_steps"), 2000);
  EXPECT_EQ(history.back().at("learner_updates"), JsonNumber(summary, "learner_updates")) << summary;

  const std::vector<std::map<std::string, double>> evals = ReadCsv(plots + "/eval.csv");
  ASSERT_FALSE(evals.empty());
  for (size_t i = 1; i < evals.size(); ++i) {
    EXPECT_GT(evals[i].at("seconds"), evals[i - 1].at("seconds")) << "row " << i;
    EXPECT_GE(evals[i].at("env_steps"), evals[i - 1].at("env_steps")) << "row " << i;
  }
  // The summary prints the return with 3 decimals: within half a unit of
  // the last place, and a hair more for a tie (-1740.3295 printed -1740.329).
  EXPECT_NEAR(evals.back().at("return_mean"), JsonNumber(summary, "eval_return_mean"), 0.0005 + 1e-9) << summary;
  EXPECT_EQ(evals.back().at("parameter_version"), JsonNumber(summary, "eval_parameter_version")) << summary;

  // Every evaluation round is in the history, from the evaluator's scalar
  // log, and the learner logged its losses and statistics at each interval.
  std::vector<std::string> rounds = absl::StrSplit(ReadFile(run.run_dir + "/metrics/evaluator.jsonl"), '\n',
                                                   absl::SkipEmpty());
  EXPECT_EQ(evals.size(), rounds.size());
  ASSERT_FALSE(rounds.empty());
  EXPECT_THAT(rounds.back(), HasSubstr("\"return_mean\": "));
  EXPECT_THAT(rounds.back(), HasSubstr("\"return_min\": "));
  std::vector<std::string> intervals = absl::StrSplit(ReadFile(run.run_dir + "/metrics/learner.jsonl"), '\n',
                                                      absl::SkipEmpty());
  ASSERT_FALSE(intervals.empty()) << "no learner scalars";
  for (const char* field : {"\"updates\": ", "\"loss/critic\": ", "\"loss/actor\": ", "\"alpha\": "}) {
    EXPECT_THAT(intervals.back(), HasSubstr(field)) << intervals.back();
  }
  // Each actor logged every episode it finished: 2,000 steps over 2 actors
  // x 2 envs are 500 steps per env, two whole 200-step Pendulum episodes
  // each.
  int episodes = 0;
  for (int actor = 0; actor < 2; ++actor) {
    std::vector<std::string> lines = absl::StrSplit(
        ReadFile(absl::StrCat(run.run_dir, "/metrics/actor-", actor, ".jsonl")), '\n', absl::SkipEmpty());
    for (const std::string& line : lines) {
      for (const char* field : {"\"env_steps\": ", "\"return\": ", "\"length\": 200", "\"parameter_version\": ",
                                "\"episode\": "}) {
        EXPECT_THAT(line, HasSubstr(field)) << "actor " << actor;
      }
    }
    episodes += static_cast<int>(lines.size());
  }
  EXPECT_EQ(episodes, 8);
}

// Observation normalisation through every process: the learner's
// statistics of Pendulum's observations reach the checkpoint's policy (and
// so every actor and the evaluator, which act with them).
TEST(LaunchTest, NormalizedObservationsShipWithTheParametersAndTheCheckpoint) {
  Launched run = StartLaunch("normalized", {"--config=tests/configs/tiny_pendulum_normalized.textpb",
                                            "--max_env_steps=2000"});
  ASSERT_NE(run.process, nullptr);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
  EXPECT_GT(JsonNumber(ReadFile(run.summary), "eval_episodes"), 0);

  const std::string checkpoint = run.run_dir + "/checkpoints/learner/latest";
  absl::StatusOr<v1::ParameterSet> policy = learner::ReadCheckpointPolicy(checkpoint);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->policy().observation_clip(), 10);
  const int n = policy->tensors_size();
  ASSERT_GE(n, 2);
  EXPECT_EQ(policy->tensors(n - 2).name(), "obs_norm.mean");
  EXPECT_EQ(policy->tensors(n - 1).name(), "obs_norm.std");
  absl::StatusOr<torch::Tensor> mean = ViewAsTorch(policy->tensors(n - 2).tensor());
  absl::StatusOr<torch::Tensor> std = ViewAsTorch(policy->tensors(n - 1).tensor());
  ASSERT_TRUE(mean.ok() && std.ok());
  // Pendulum-v1: (cos, sin) on the unit circle, angular velocity in [-8, 8].
  EXPECT_LT(mean->abs().max().item<float>(), 8.0f) << *mean;
  EXPECT_GT(std->select(0, 0).item<float>(), 0.05f) << *std;
  EXPECT_LT(std->select(0, 0).item<float>(), 1.0f) << *std;
  EXPECT_GT(std->select(0, 2).item<float>(), 0.1f) << *std;
  EXPECT_LT(std->select(0, 2).item<float>(), 8.0f) << *std;
  // The statistics are in the checkpoint's state: every sampled batch counted.
  absl::StatusOr<std::map<std::string, torch::Tensor>> state = learner::ReadCheckpointState(checkpoint);
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_TRUE(state->count("obs_norm.count"));
  EXPECT_GE(state->at("obs_norm.count").item<double>(), 32.0 * JsonNumber(ReadFile(run.summary), "learner_updates"));
}

// The rate limiter holds samples per insert at the configured 32 (one update
// of batch 32 per env step) whatever the number of actors: after 2,000 steps
// with learning from 200, updates are 1,800 plus at most error_buffer / 32 =
// 100 that the learner may run ahead.
TEST(LaunchTest, UpdatesPerEnvStepDoNotDependOnTheNumberOfActors) {
  for (int actors : {1, 3}) {
    SCOPED_TRACE(actors);
    Launched run = StartLaunch("ratio-" + std::to_string(actors),
                               {"--max_env_steps=2000", "--num_actors=" + std::to_string(actors)});
    ASSERT_NE(run.process, nullptr);
    std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
    ASSERT_TRUE(status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
    const std::string summary = ReadFile(run.summary);
    EXPECT_EQ(JsonNumber(summary, "num_actors"), actors) << summary;
    EXPECT_GE(JsonNumber(summary, "learner_updates"), 1800) << summary;
    EXPECT_LE(JsonNumber(summary, "learner_updates"), 1900) << summary;
  }
}

TEST(LaunchTest, CtrlCStopsEveryProcessCleanly) {
  Launched run = StartLaunch("sigint", {"--max_env_steps=0"});
  ASSERT_NE(run.process, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(run.log).find("all processes ready") != std::string::npos; },
                        absl::Seconds(90)))
      << ReadFile(run.log);
  // The launcher, replay, learner, 2 actors and the evaluator.
  EXPECT_EQ(ProcessesMentioning(run.run_dir).size(), 6u);
  run.process->Signal(SIGINT);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(90));
  ASSERT_TRUE(status.has_value()) << run.process->LogTail(20);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(20);
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
  EXPECT_TRUE(std::filesystem::exists(run.summary));
}

// kill -9 of the launcher and its processes mid-run, then `rill launch
// --resume`: the run goes on where it was (env steps, updates, the history behind its plots),
// the learner from its checkpoint and replay from its WAL, without a second
// warm-up, and ends at the budget with one summary of the whole run.
TEST(LaunchTest, AKilledLauncherIsResumedWhereTheRunWas) {
  const std::string config = ConfigWith("tests/configs/tiny_pendulum.textpb", "resume-config", "replay {",
                                        "replay {\n  durability { mode: WAL }");
  ASSERT_FALSE(config.empty());
  const std::string run_dir = TempDir("run-resume");
  const std::string progress = run_dir + "/progress.json";
  auto first = ChildProcess::Start("launch-1", RillBinary(),
                                   {"launch", "--config=" + config, "--run_dir=" + run_dir,
                                    "--max_env_steps=10000000", "--progress_every=1s"},
                                   run_dir + "-launch-1.log");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(WaitUntil(
      [&] {
        return JsonNumber(ReadFile(progress), "env_steps") >= 2000 &&
               std::filesystem::exists(run_dir + "/checkpoints/learner/latest");
      },
      absl::Seconds(120)))
      << (*first)->LogTail(20);
  // A crash of the whole run: SIGKILL to the launcher and to every process
  // it started, none of them stopping gracefully.
  (*first)->Kill();
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (pid_t pid : ProcessesMentioning(run_dir)) kill(pid, SIGKILL);
        return ProcessesMentioning(run_dir).empty();
      },
      absl::Seconds(30)));
  const std::string at_kill = ReadFile(progress);
  const double steps_at_kill = JsonNumber(at_kill, "env_steps");
  const double updates_at_kill = JsonNumber(at_kill, "learner_updates");
  const double seconds_at_kill = JsonNumber(at_kill, "wall_seconds");
  ASSERT_GT(updates_at_kill, 0) << at_kill;
  // The first part's budget is out of reach (a loaded machine can take
  // seconds between the checkpoint and the kill); the resumed part is given
  // a budget 4,000 steps past where the first part was killed.
  const int64_t budget = static_cast<int64_t>(steps_at_kill) + 4000;

  // A relaunch of another config into the folder is refused: two runs would mix.
  auto other = ChildProcess::Start("launch-other", RillBinary(),
                                   {"launch", "--config=tests/configs/tiny_cartpole_impala.textpb",
                                    "--run_dir=" + run_dir},
                                   run_dir + "-launch-other.log");
  ASSERT_TRUE(other.ok());
  std::optional<int> refused = (*other)->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(WEXITSTATUS(*refused), 2);
  EXPECT_THAT((*other)->LogTail(5), HasSubstr("holds a run of another config"));

  const std::string summary_path = run_dir + "/summary.json";
  auto second = ChildProcess::Start("launch-2", RillBinary(),
                                    {"launch", "--resume=" + run_dir, "--summary_json=" + summary_path,
                                     absl::StrCat("--max_env_steps=", budget), "--progress_every=1s"},
                                    run_dir + "-launch-2.log");
  ASSERT_TRUE(second.ok());
  std::optional<int> status = (*second)->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << (*second)->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*second)->LogTail(30);
  const std::string log = ReadFile(run_dir + "-launch-2.log");
  EXPECT_THAT(log, HasSubstr("resuming (part 2)"));
  EXPECT_THAT(log, HasSubstr("the learner from its last checkpoint"));
  EXPECT_THAT(log, HasSubstr("replay from its WAL files"));
  EXPECT_THAT(ReadFile(run_dir + "/logs/learner.log"), HasSubstr("resumed from"));
  // Its items back from the checkpoint and the write-ahead log (the first
  // part's shard started empty).
  EXPECT_THAT(ReadFile(run_dir + "/logs/replay.log"), ::testing::ContainsRegex("now holding [1-9][0-9]* items"));
  EXPECT_THAT(ReadFile(run_dir + "/config-resumed.textpb"), HasSubstr("learning_starts: 0"));

  // One summary of the whole run: the budget, the updates of both parts.
  const std::string summary = ReadFile(summary_path);
  EXPECT_EQ(JsonNumber(summary, "env_steps"), budget) << summary;
  EXPECT_EQ(JsonNumber(summary, "resumes"), 1) << summary;
  EXPECT_GT(JsonNumber(summary, "learner_updates"), updates_at_kill) << summary;
  EXPECT_GT(JsonNumber(summary, "wall_seconds"), seconds_at_kill) << summary;
  EXPECT_GT(JsonNumber(summary, "eval_episodes"), 0) << summary;
  // The history holds both parts, in order.
  const std::vector<std::map<std::string, double>> history = ReadCsv(run_dir + "/plots/history.csv");
  ASSERT_GE(history.size(), 3u);
  EXPECT_LE(history.front().at("env_steps"), steps_at_kill);
  EXPECT_EQ(history.back().at("env_steps"), budget);
  bool before = false, after = false;
  for (size_t i = 0; i < history.size(); ++i) {
    if (i > 0) {
      EXPECT_GT(history[i].at("seconds"), history[i - 1].at("seconds"));
      EXPECT_GE(history[i].at("env_steps"), history[i - 1].at("env_steps"));
    }
    before = before || history[i].at("env_steps") <= steps_at_kill;
    after = after || history[i].at("env_steps") > steps_at_kill;
  }
  EXPECT_TRUE(before && after) << ReadFile(run_dir + "/plots/history.csv");
  // The plots mark the resume where the first part's history ends.
  const std::vector<std::map<std::string, double>> resumes = ReadCsv(run_dir + "/plots/resumes.csv");
  ASSERT_EQ(resumes.size(), 1u) << ReadFile(run_dir + "/plots/resumes.csv");
  EXPECT_LE(resumes[0].at("env_steps"), steps_at_kill);
  EXPECT_GE(resumes[0].at("env_steps"), history.front().at("env_steps"));
  EXPECT_THAT(ProcessesMentioning(run_dir), ::testing::IsEmpty());

  // Its budget spent, the run says so rather than starting again.
  auto third = ChildProcess::Start("launch-3", RillBinary(), {"launch", "--resume=" + run_dir},
                                   run_dir + "-launch-3.log");
  ASSERT_TRUE(third.ok());
  std::optional<int> spent = (*third)->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(spent.has_value());
  EXPECT_EQ(WEXITSTATUS(*spent), 2);
  EXPECT_THAT((*third)->LogTail(5), HasSubstr("raise --max_env_steps to go on"));
}

TEST(LaunchTest, KilledActorIsRestartedAndTheRunGoesOn) {
  Launched run = StartLaunch("restart", {"--max_env_steps=0"});
  ASSERT_NE(run.process, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(run.log).find("all processes ready") != std::string::npos; },
                        absl::Seconds(90)))
      << ReadFile(run.log);
  std::vector<pid_t> before = ProcessesMentioning("--actor_id=0 ");
  std::vector<pid_t> mine;
  for (pid_t pid : before) {
    std::string cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
    if (cmdline.find(run.run_dir) != std::string::npos) mine.push_back(pid);
  }
  ASSERT_EQ(mine.size(), 1u);
  ASSERT_EQ(kill(mine[0], SIGKILL), 0);
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(run.log).find("restarting it") != std::string::npos; },
                        absl::Seconds(30)))
      << ReadFile(run.log);
  EXPECT_TRUE(WaitUntil([&] { return ProcessesMentioning(run.run_dir).size() == 6; }, absl::Seconds(30)));
  run.process->Signal(SIGINT);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(90));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(20);
  EXPECT_EQ(JsonNumber(ReadFile(run.summary), "actor_restarts"), 1);
}

// Two replay shards: actors 0 and 1 have different home shards. Shard 1 is
// killed; the launcher restarts it on its port, the learner keeps training
// meanwhile, and the run stops cleanly.
TEST(LaunchTest, KilledReplayShardIsRestartedWhileTrainingGoesOn) {
  Launched run = StartLaunch("shards", {"--max_env_steps=0", "--num_replay_shards=2"});
  ASSERT_NE(run.process, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(run.log).find("all processes ready") != std::string::npos; },
                        absl::Seconds(90)))
      << ReadFile(run.log);
  // The launcher, 2 replay shards, learner, 2 actors and the evaluator.
  EXPECT_EQ(ProcessesMentioning(run.run_dir).size(), 7u);
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(run.log).find("2/2 shards up") != std::string::npos; },
                        absl::Seconds(30)))
      << ReadFile(run.log);
  std::vector<pid_t> mine;
  for (pid_t pid : ProcessesMentioning("--shard_index=1")) {
    std::string cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
    if (cmdline.find(run.run_dir) != std::string::npos) mine.push_back(pid);
  }
  ASSERT_EQ(mine.size(), 1u);
  ASSERT_EQ(kill(mine[0], SIGKILL), 0);
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(run.log).find("replay/1 ended") != std::string::npos; },
                        absl::Seconds(30)))
      << ReadFile(run.log);
  EXPECT_TRUE(WaitUntil([&] { return ProcessesMentioning(run.run_dir).size() == 7; }, absl::Seconds(30)));
  // Progress goes on with both shards.
  const size_t mark = ReadFile(run.log).size();
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(run.log).find("2/2 shards up", mark) != std::string::npos; },
                        absl::Seconds(30)))
      << ReadFile(run.log);
  run.process->Signal(SIGINT);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(90));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(20);
  const std::string summary = ReadFile(run.summary);
  EXPECT_EQ(JsonNumber(summary, "replay_shards"), 2) << summary;
  EXPECT_EQ(JsonNumber(summary, "replay_restarts"), 1) << summary;
  EXPECT_GT(JsonNumber(summary, "learner_updates"), 0) << summary;
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
}

// kill -9 of the learner mid-run: the launcher restarts it on its ports, it
// resumes from its checkpoint (updates go on counting from there), the actors
// and replay keep running, and the run reaches its step budget.
// After a kill: waits for the launcher to log `message` (its reaction),
// then for the run to end with exit 0; returns its summary ("" after a
// failure, which it reports).
std::string SummaryAfterRecovery(Launched& run, const std::string& message) {
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(run.log).find(message) != std::string::npos; }, absl::Seconds(30)))
      << ReadFile(run.log);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
  if (!status.has_value()) {
    ADD_FAILURE() << "launch did not finish:\n" << run.process->LogTail(20);
    return "";
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    ADD_FAILURE() << run.process->LogTail(30);
    return "";
  }
  return ReadFile(run.summary);
}

// Waits for each of `checkpoints` (folders under the run's
// checkpoints/learner) to exist, kills the learner process with SIGKILL,
// and returns the run's summary once the launcher has restarted it and the
// run has ended; "" (with the failure recorded) when any of that fails.
std::string KillTheLearnerOnceCheckpointed(Launched& run, const std::vector<std::string>& checkpoints) {
  const std::string checkpoint_dir = run.run_dir + "/checkpoints/learner";
  const bool checkpointed = WaitUntil(
      [&] {
        return std::all_of(checkpoints.begin(), checkpoints.end(), [&](const std::string& folder) {
          return std::filesystem::exists(checkpoint_dir + "/" + folder);
        });
      },
      absl::Seconds(120));
  EXPECT_TRUE(checkpointed) << ReadFile(run.log);
  const std::vector<pid_t> learner = ProcessesMentioning("--checkpoint_dir=" + checkpoint_dir);
  EXPECT_EQ(learner.size(), 1u);
  if (!checkpointed || learner.size() != 1 || kill(learner[0], SIGKILL) != 0) return "";
  return SummaryAfterRecovery(run, "learner ended");
}

TEST(LaunchTest, KilledLearnerIsRestartedAndResumesFromItsCheckpoint) {
  Launched run = StartLaunch("learner-kill", {"--max_env_steps=8000"});
  ASSERT_NE(run.process, nullptr);
  // tiny_pendulum checkpoints every 500 updates.
  const std::string summary = KillTheLearnerOnceCheckpointed(run, {"latest"});
  ASSERT_FALSE(summary.empty());
  EXPECT_EQ(JsonNumber(summary, "env_steps"), 8000) << summary;
  EXPECT_EQ(JsonNumber(summary, "learner_restarts"), 1) << summary;
  EXPECT_EQ(JsonNumber(summary, "actor_restarts"), 0) << summary;
  // Resumed, not restarted from scratch: the new learner's log says from
  // which update, and the count went on past the checkpoint.
  const std::string learner_log = ReadFile(run.run_dir + "/logs/learner.log");
  std::smatch resumed;
  ASSERT_TRUE(std::regex_search(learner_log, resumed, std::regex("resumed from .* at update ([0-9]+)"))) << learner_log;
  EXPECT_GE(std::stod(resumed[1].str()), 500);
  EXPECT_GT(JsonNumber(summary, "learner_updates"), std::stod(resumed[1].str())) << summary;
  EXPECT_GT(JsonNumber(summary, "eval_episodes"), 0) << summary;
  // The actor took versions through each learner's shared region: the
  // restarted learner offered a new one.
  const std::string actor_log = ReadFile(run.run_dir + "/logs/actor-0.log");
  const std::regex through("parameter versions from .* through shared region @rill-parameters-");
  EXPECT_GE(std::distance(std::sregex_iterator(actor_log.begin(), actor_log.end(), through), std::sregex_iterator()), 2)
      << actor_log;
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
}

// A learner of several policies killed mid-run: the launcher restarts it,
// and each policy resumes from its own checkpoint (its own update count).
TEST(LaunchTest, KilledLearnerOfSeveralPoliciesResumesEachFromItsOwnCheckpoint) {
  Launched run = StartLaunch("policies-kill", {"--max_env_steps=12000"},
                             "--config=tests/configs/tiny_navigation_policies.textpb");
  ASSERT_NE(run.process, nullptr);
  // tiny_navigation_policies checkpoints every 50 updates of each policy.
  const std::string summary = KillTheLearnerOnceCheckpointed(run, {"lead/latest", "wings/latest"});
  ASSERT_FALSE(summary.empty());
  EXPECT_EQ(JsonNumber(summary, "env_steps"), 12000) << summary;
  EXPECT_EQ(JsonNumber(summary, "learner_restarts"), 1) << summary;
  // Each policy resumed from its own folder at its own update, and went on.
  const std::string learner_log = ReadFile(run.run_dir + "/logs/learner.log");
  const std::string learner_metrics = ReadFile(run.run_dir + "/final-metrics/learner.prom");
  for (const std::string policy : {"lead", "wings"}) {
    SCOPED_TRACE(policy);
    std::smatch resumed;
    ASSERT_TRUE(std::regex_search(learner_log, resumed,
                                  std::regex("resumed from [^ ]*/" + policy + "/[^ ]* at update ([0-9]+)")))
        << learner_log;
    EXPECT_GE(std::stod(resumed[1].str()), 50);
    // The version count went on from the checkpoint's.
    EXPECT_GT(SeriesIn(learner_metrics, "rill_learner_parameter_version{policy=\"" + policy + "\"}"),
              std::stod(resumed[1].str()))
        << learner_metrics;
  }
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
}

// Kills this run's learner rank 1 (its command line names the run's
// folder) with SIGKILL and returns the run's summary once the launcher has
// restarted the group and the run has ended; "" (with the failure
// recorded) when any of that fails.
std::string KillRankOneAndRecover(Launched& run) {
  std::vector<pid_t> rank1;
  for (pid_t pid : ProcessesMentioning(run.run_dir)) {
    if (ReadFile(absl::StrCat("/proc/", pid, "/cmdline")).find("--rank=1") != std::string::npos) rank1.push_back(pid);
  }
  EXPECT_EQ(rank1.size(), 1u);
  if (rank1.size() != 1 || kill(rank1[0], SIGKILL) != 0) {
    ADD_FAILURE() << "cannot kill rank 1";
    return "";
  }
  return SummaryAfterRecovery(run, "restarting the learner group");
}

// `rill launch --num_learners=2`: two ranks of one learner group train in
// step. kill -9 of rank 1 ends rank 0 too (its next collective fails,
// naming rank 1; it checkpoints what it has), and the launcher restarts
// the whole group from rank 0's checkpoint while the actors and replay go
// on: the run reaches its budget with one group restart.
TEST(LaunchTest, KilledLearnerRankRestartsTheGroupFromRankZerosCheckpoint) {
  Launched run = StartLaunch("rank-kill", {"--max_env_steps=8000", "--num_learners=2"});
  ASSERT_NE(run.process, nullptr);
  const std::string rank0_log = run.run_dir + "/logs/learner.log";
  const std::string rank1_log = run.run_dir + "/logs/learner-1.log";
  // Both ranks train: rank 1 logs its figures every 2 s once it updates.
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(rank1_log).find("updates/s") != std::string::npos; },
                        absl::Seconds(120)))
      << ReadFile(run.log) << ReadFile(rank1_log);
  const std::string summary = KillRankOneAndRecover(run);
  ASSERT_FALSE(summary.empty());
  EXPECT_EQ(JsonNumber(summary, "env_steps"), 8000) << summary;
  EXPECT_EQ(JsonNumber(summary, "num_learners"), 2) << summary;
  EXPECT_EQ(JsonNumber(summary, "learner_restarts"), 1) << summary;
  EXPECT_EQ(JsonNumber(summary, "actor_restarts"), 0) << summary;
  EXPECT_EQ(JsonNumber(summary, "replay_restarts"), 0) << summary;
  const std::string log0 = ReadFile(rank0_log);
  // Rank 0 named the rank that had gone, and the new group started from
  // rank 0's checkpoint, at the update it had reached.
  EXPECT_THAT(log0, HasSubstr("rank 1 has gone"));
  std::smatch resumed;
  ASSERT_TRUE(std::regex_search(log0, resumed, std::regex("resumed from .* at update ([0-9]+)"))) << log0;
  EXPECT_GT(std::stod(resumed[1].str()), 0);
  EXPECT_GT(JsonNumber(summary, "learner_updates"), std::stod(resumed[1].str())) << summary;
  // The new rank 1 took rank 0's state; the ranks stopped after the same update.
  const std::string log1 = ReadFile(rank1_log);
  EXPECT_THAT(log1, HasSubstr(absl::StrCat("rank 0's state at update ", resumed[1].str())));
  std::smatch stop0, stop1;
  ASSERT_TRUE(std::regex_search(log0, stop0, std::regex("learner stops after ([0-9]+) updates"))) << log0;
  ASSERT_TRUE(std::regex_search(log1, stop1, std::regex("learner stops after ([0-9]+) updates"))) << log1;
  EXPECT_EQ(stop0[1].str(), stop1[1].str());
  EXPECT_GT(JsonNumber(summary, "eval_episodes"), 0) << summary;
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
}

// `rill launch --num_learners=2` of a run of several policies: every rank
// trains every policy, each policy's gradients averaged through a subgroup
// of its own (learner/learner_group.h), so each policy's ranks update in
// step; rank 0 alone checkpoints each policy.
TEST(LaunchTest, TwoLearnerRanksOfSeveralPoliciesTrainEachPolicyInStep) {
  Launched run = StartLaunch("policies-ranks", {"--max_env_steps=12000", "--num_learners=2"},
                             "--config=tests/configs/tiny_navigation_policies.textpb");
  ASSERT_NE(run.process, nullptr);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
  const std::string summary = ReadFile(run.summary);
  EXPECT_EQ(JsonNumber(summary, "env_steps"), 12000) << summary;
  EXPECT_EQ(JsonNumber(summary, "num_learners"), 2) << summary;
  EXPECT_EQ(JsonNumber(summary, "learner_restarts"), 0) << summary;
  const std::string rank0 = ReadFile(run.run_dir + "/final-metrics/learner.prom");
  const std::string rank1 = ReadFile(run.run_dir + "/final-metrics/learner-1.prom");
  for (const std::string policy : {"lead", "wings"}) {
    SCOPED_TRACE(policy);
    const std::string updates0 = "rill_learner_updates_total{rank=\"0\",policy=\"" + policy + "\"}";
    const std::string updates1 = "rill_learner_updates_total{rank=\"1\",policy=\"" + policy + "\"}";
    EXPECT_GT(SeriesIn(rank0, updates0), 10) << rank0;
    // Every update of a policy is an allreduce with the other rank's.
    EXPECT_EQ(SeriesIn(rank0, updates0), SeriesIn(rank1, updates1)) << rank0 << rank1;
    // At least one allreduce per update (the final metrics count them all).
    EXPECT_GE(SeriesIn(rank1, "rill_learner_allreduces_total{rank=\"1\",policy=\"" + policy + "\"}"),
              SeriesIn(rank1, updates1))
        << rank1;
    EXPECT_TRUE(std::filesystem::exists(run.run_dir + "/checkpoints/learner/" + policy + "/latest"));
  }
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
}

// kill -9 of rank 1 of a run of several policies: rank 0's next allreduce
// of some policy fails, the launcher restarts the whole group, and each
// policy resumes from rank 0's checkpoint of it; the ranks then go on in
// step to the budget.
TEST(LaunchTest, KilledRankOfSeveralPoliciesRestartsTheGroupAndEachPolicyResumes) {
  Launched run = StartLaunch("policies-rank-kill", {"--max_env_steps=100000", "--num_learners=2"},
                             "--config=tests/configs/tiny_navigation_policies.textpb");
  ASSERT_NE(run.process, nullptr);
  const std::string checkpoints = run.run_dir + "/checkpoints/learner/";
  ASSERT_TRUE(WaitUntil(
      [&] {
        return std::filesystem::exists(checkpoints + "lead/latest") &&
               std::filesystem::exists(checkpoints + "wings/latest");
      },
      absl::Seconds(120)))
      << ReadFile(run.log);
  const std::string summary = KillRankOneAndRecover(run);
  ASSERT_FALSE(summary.empty());
  EXPECT_EQ(JsonNumber(summary, "env_steps"), 100000) << summary;
  EXPECT_EQ(JsonNumber(summary, "learner_restarts"), 1) << summary;
  EXPECT_EQ(JsonNumber(summary, "actor_restarts"), 0) << summary;
  const std::string log0 = ReadFile(run.run_dir + "/logs/learner.log");
  EXPECT_THAT(log0, HasSubstr("rank 1 has gone"));
  const std::string rank0 = ReadFile(run.run_dir + "/final-metrics/learner.prom");
  const std::string rank1_metrics = ReadFile(run.run_dir + "/final-metrics/learner-1.prom");
  for (const std::string policy : {"lead", "wings"}) {
    SCOPED_TRACE(policy);
    std::smatch resumed;
    ASSERT_TRUE(std::regex_search(log0, resumed, std::regex("resumed from [^ ]*/" + policy + "/[^ ]* at update ([0-9]+)")))
        << log0;
    EXPECT_GE(std::stod(resumed[1].str()), 50);
    // The new group's counts go on from the checkpoint, alike on both ranks.
    const double updates0 = SeriesIn(rank0, "rill_learner_updates_total{rank=\"0\",policy=\"" + policy + "\"}");
    EXPECT_GT(updates0, std::stod(resumed[1].str())) << rank0;
    EXPECT_EQ(updates0, SeriesIn(rank1_metrics, "rill_learner_updates_total{rank=\"1\",policy=\"" + policy + "\"}"))
        << rank0 << rank1_metrics;
  }
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
}

// `rill launch --tls`: the launcher makes a throwaway CA and certificate in
// <run_dir>/tls, every process serves and dials mutual TLS with them, and the
// run trains to its budget. Meanwhile the replay shard answers a client with
// the run's certificate and refuses a plain-text one.
TEST(LaunchTest, TlsRunTrainsAndItsShardRefusesPlainTextClients) {
  Launched run = StartLaunch("tls", {"--tls", "--max_env_steps=4000"});
  ASSERT_NE(run.process, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(run.log).find("all processes ready") != std::string::npos; },
                        absl::Seconds(90)))
      << ReadFile(run.log);
  std::smatch ready;
  const std::string log = ReadFile(run.log);
  ASSERT_TRUE(std::regex_search(log, ready, std::regex("all processes ready .*: replay (127\\.0\\.0\\.1:[0-9]+)")))
      << log;
  const std::string replay_address = ready[1].str();
  const std::string tls_dir = run.run_dir + "/tls";
  TlsFiles files;
  files.cert = tls_dir + "/tls.crt";
  files.key = tls_dir + "/tls.key";
  files.ca = tls_dir + "/ca.crt";
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files, absl::Now());
  ASSERT_TRUE(material.ok()) << material.status();
  auto tls = grpc::CreateChannel(replay_address, MakeChannelCredentials(*material));
  auto plain = grpc::CreateChannel(replay_address, grpc::InsecureChannelCredentials());
  EXPECT_TRUE(CheckHealth(*tls, absl::Seconds(10)).ok());
  const absl::Status refused = CheckHealth(*plain, absl::Seconds(10));
  EXPECT_TRUE(absl::IsUnavailable(refused)) << refused;
  // Still serving: the plain client was refused for want of TLS.
  EXPECT_TRUE(CheckHealth(*tls, absl::Seconds(10)).ok());

  std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
  const std::string summary = ReadFile(run.summary);
  EXPECT_EQ(JsonNumber(summary, "env_steps"), 4000) << summary;
  EXPECT_GT(JsonNumber(summary, "learner_updates"), 0) << summary;
  EXPECT_GT(JsonNumber(summary, "eval_episodes"), 0) << summary;
  // The certificate's key is private; the CA's key is gone.
  EXPECT_EQ(std::filesystem::status(files.key).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_FALSE(std::filesystem::exists(tls_dir + "/ca.key"));
  for (const char* role : {"replay", "learner", "actor-0", "actor-1", "evaluator"}) {
    EXPECT_THAT(ReadFile(run.run_dir + "/logs/" + role + ".log"), HasSubstr("mutual TLS on every gRPC server"))
        << role;
  }
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
}

// ---- The env server that env.remote.command starts.

constexpr char kPythonEnvConfig[] = "tests/configs/tiny_cartpole_python.textpb";

// The launcher's last "env server listening on HOST:PORT ... (pid N)" line:
// the address the server bound and its process group (the shell the
// launcher started leads it); {"", 0} before there is one.
std::pair<std::string, pid_t> EnvServerStarted(const Launched& run) {
  const std::string log = ReadFile(run.log);
  std::pair<std::string, pid_t> last = {"", 0};
  const std::regex line("env server listening on (127\\.0\\.0\\.1:[0-9]+)[^\n]*\\(pid ([0-9]+)\\)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator(); ++it) {
    last = {(*it)[1].str(), static_cast<pid_t>(std::stoi((*it)[2].str()))};
  }
  return last;
}

// Pids of the live Python processes (the env server, not the shell that
// started it) in process group `group`.
std::vector<pid_t> PythonProcessesInGroup(pid_t group) {
  std::vector<pid_t> pids;
  for (const LiveProcess& process : ListLiveProcesses()) {
    if (process.group == group && process.cmdline.rfind("/usr/bin/python3", 0) == 0) pids.push_back(process.pid);
  }
  return pids;
}

// The tiny Python-env config with `from` replaced by `to` in its text.
std::string PythonEnvConfigWith(const std::string& name, const std::string& from, const std::string& to) {
  const std::string path = ConfigWith(kPythonEnvConfig, name, from, to);
  EXPECT_FALSE(path.empty()) << from;
  return path;
}

TEST(LaunchTest, StartsTheConfigsEnvServerAndTheActorsStepItsEnvsToTheBudget) {
  Launched run = StartLaunch("env-command", {std::string("--config=") + kPythonEnvConfig, "--max_env_steps=4000"});
  ASSERT_NE(run.process, nullptr);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
  const std::string summary = ReadFile(run.summary);
  EXPECT_EQ(JsonNumber(summary, "env_steps"), 4000) << summary;
  EXPECT_GT(JsonNumber(summary, "learner_updates"), 0) << summary;
  EXPECT_GT(JsonNumber(summary, "eval_episodes"), 0) << summary;
  EXPECT_EQ(JsonNumber(summary, "env_server_restarts"), 0) << summary;
  // The config has no address: the server bound a free port, and the
  // actors and the evaluator stepped their envs there.
  const auto [address, group] = EnvServerStarted(run);
  ASSERT_FALSE(address.empty()) << ReadFile(run.log);
  EXPECT_NE(address, "127.0.0.1:0");
  const std::string server_log = ReadFile(run.run_dir + "/logs/env-server.log");
  EXPECT_THAT(server_log, HasSubstr("listening on " + address));
  // An actor's stream of 4 envs (the evaluator, started first, opens its
  // own first).
  EXPECT_THAT(server_log, HasSubstr(": 4 envs of cartpole:make"));
  // Stopped with the rest.
  EXPECT_THAT(PythonProcessesInGroup(group), ::testing::IsEmpty());
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
}

// kill -9 of the Python server once an actor steps its envs: the launcher
// restarts it on the address it had bound, the actors reconnect (none of
// them crashes) and the run reaches its budget.
TEST(LaunchTest, KilledEnvServerIsRestartedOnItsAddressAndTheRunReachesItsBudget) {
  Launched run = StartLaunch("env-kill", {std::string("--config=") + kPythonEnvConfig, "--max_env_steps=50000"});
  ASSERT_NE(run.process, nullptr);
  const std::string server_log = run.run_dir + "/logs/env-server.log";
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(server_log).find("stream 1:") != std::string::npos; }, absl::Seconds(90)))
      << ReadFile(run.log);
  const auto [address, group] = EnvServerStarted(run);
  ASSERT_FALSE(address.empty()) << ReadFile(run.log);
  std::vector<pid_t> servers = PythonProcessesInGroup(group);
  ASSERT_EQ(servers.size(), 1u);
  ASSERT_EQ(kill(servers[0], SIGKILL), 0);
  // A copy: clang 14 lambdas cannot capture a structured binding.
  const std::string again = "env server listening on " + address + " again";
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(run.log).find(again) != std::string::npos; },
                        absl::Seconds(60)))
      << ReadFile(run.log);
  EXPECT_THAT(ReadFile(run.log), HasSubstr("env server ended (exit code 137); restarting it on " + address));
  std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
  const std::string summary = ReadFile(run.summary);
  EXPECT_EQ(JsonNumber(summary, "env_steps"), 50000) << summary;
  EXPECT_EQ(JsonNumber(summary, "env_server_restarts"), 1) << summary;
  EXPECT_EQ(JsonNumber(summary, "actor_restarts"), 0) << summary;
  EXPECT_GT(JsonNumber(summary, "eval_episodes"), 0) << summary;
  // The new server bound the same address and was stepped.
  const std::string log = ReadFile(server_log);
  const size_t second = log.find("listening on " + address, log.find("listening on " + address) + 1);
  ASSERT_NE(second, std::string::npos) << log;
  EXPECT_NE(log.find("stream 1:", second), std::string::npos) << log;
  const auto [restarted_address, restarted_group] = EnvServerStarted(run);
  EXPECT_EQ(restarted_address, address);
  EXPECT_NE(restarted_group, group);
  EXPECT_THAT(PythonProcessesInGroup(group), ::testing::IsEmpty());
  EXPECT_THAT(PythonProcessesInGroup(restarted_group), ::testing::IsEmpty());
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
}

TEST(LaunchTest, EnvServerThatExitsBeforeListeningFailsTheRunWithItsStatusAndLog) {
  const std::string config =
      PythonEnvConfigWith("env-exits", "--factory=cartpole:make", "--factory=no_such_env_module:make");
  Launched run = StartLaunch("env-exits", {"--config=" + config, "--max_env_steps=1000"});
  ASSERT_NE(run.process, nullptr);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(120));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << run.process->LogTail(30);
  const std::string log = ReadFile(run.log);
  EXPECT_THAT(log, HasSubstr("the env server exited before it listened (exit code 2)"));
  EXPECT_THAT(log, HasSubstr(run.run_dir + "/logs/env-server.log"));
  EXPECT_THAT(log, HasSubstr("no_such_env_module"));  // the server's own words, from its log
  // It failed first: no other process was started.
  EXPECT_FALSE(std::filesystem::exists(run.run_dir + "/logs/replay.log"));
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
}

TEST(LaunchTest, EnvServerThatNeverListensTimesOutNamingTheCommandAndItsLog) {
  // A command that neither prints "listening on" nor binds: a sleep, with a
  // duration no other process has.
  const std::string sleep = "sleep " + std::to_string(100000 + getpid());
  const std::string config = PythonEnvConfigWith(
      "env-silent",
      "RILL_PROTO_CACHE=$TEST_TMPDIR/python-protos PYTHONPATH=python:examples/python /usr/bin/python3 -m "
      "rill.env_server --factory=cartpole:make --address={address}",
      sleep + " # {address}");
  Launched run = StartLaunch("env-silent", {"--config=" + config, "--max_env_steps=1000", "--start_timeout=2s"});
  ASSERT_NE(run.process, nullptr);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(120));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << run.process->LogTail(30);
  const std::string log = ReadFile(run.log);
  EXPECT_THAT(log, HasSubstr("the env server did not listen within 2s"));
  EXPECT_THAT(log, HasSubstr(sleep + " # 127.0.0.1:0"));
  EXPECT_THAT(log, HasSubstr(run.run_dir + "/logs/env-server.log"));
  // The launcher killed what it started.
  EXPECT_THAT(ProcessesMentioning(sleep), ::testing::IsEmpty());
}

// A Python env whose observation is a scalar (a Box of shape ()) and whose
// action is one too, served from env.remote.command: the config states its
// spaces as `rill envs --remote` prints them (no shape, one value per
// bound), the actors take one value per observation, and SAC learns to
// steer it (doing nothing scores -10; see the config).
TEST(LaunchTest, APythonEnvOfScalarObservationsTrainsThroughTheLauncher) {
  Launched run = StartLaunch("env-scalar", {"--config=tests/configs/tiny_drift_python.textpb", "--max_env_steps=2000",
                                            "--plot_python="});
  ASSERT_NE(run.process, nullptr);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(180));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
  const std::string summary = ReadFile(run.summary);
  EXPECT_EQ(JsonNumber(summary, "env_steps"), 2000) << summary;
  EXPECT_EQ(JsonNumber(summary, "env_errors"), 0) << summary;
  EXPECT_GT(JsonNumber(summary, "learner_updates"), 0) << summary;
  EXPECT_GT(JsonNumber(summary, "eval_episodes"), 0) << summary;
  EXPECT_GT(JsonNumber(summary, "eval_return_mean"), -6.0) << summary;
  // The actor's stream (the evaluator's may open first).
  EXPECT_THAT(ReadFile(run.run_dir + "/logs/env-server.log"), HasSubstr(": 4 envs of test_envs:drift"));
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());
}

// Whether something accepts TCP connections on 127.0.0.1:`port`.
bool ListensOnLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return connected;
}

// A served env whose config states no spaces: the launcher starts its
// command once to ask the server for them, stops it, and runs with them
// (the run folder's config has them, for every process and for `rill
// eval`); a command that cannot serve is named instead.
TEST(LaunchTest, AServedEnvsSpacesComeFromItsServerWhenTheConfigLeavesThemOut) {
  std::string text;
  {
    std::istringstream lines(ReadFile("tests/configs/tiny_drift_python.textpb"));
    for (std::string line; std::getline(lines, line);) {
      if (line.find("_space {") == std::string::npos) text += line + "\n";
    }
  }
  ASSERT_THAT(text, ::testing::Not(HasSubstr("observation_space")));
  const std::string config = TempDir("spaces-from-env") + "/config.textpb";
  std::ofstream(config) << text;
  Launched run = StartLaunch("spaces-from-env", {"--config=" + config, "--max_env_steps=1000", "--plot_python="});
  ASSERT_NE(run.process, nullptr);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(180));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
  EXPECT_EQ(JsonNumber(ReadFile(run.summary), "env_steps"), 1000);
  EXPECT_THAT(ReadFile(run.log), HasSubstr("env.remote: the spaces of test_envs:drift as the env server at"));
  // The server's scalar Box, as it announces it.
  const std::string effective = ReadFile(run.run_dir + "/config.textpb");
  EXPECT_THAT(effective, HasSubstr("observation_space {"));
  EXPECT_THAT(effective, HasSubstr("low: -2"));
  EXPECT_THAT(effective, HasSubstr("name: \"test_envs:drift\""));
  // The server asked was stopped before the run's own started: its
  // address no longer answers (and the run's own is gone with the run).
  const std::regex asked("the env server at 127\\.0\\.0\\.1:([0-9]+) announces");
  std::smatch match;
  const std::string log = ReadFile(run.log);
  ASSERT_TRUE(std::regex_search(log, match, asked)) << log;
  EXPECT_FALSE(ListensOnLoopback(std::stoi(match[1].str()))) << match[0];
  EXPECT_THAT(ProcessesMentioning(run.run_dir), ::testing::IsEmpty());

  // A command that exits at once: named, with its log, before anything starts.
  std::string broken = text;
  const size_t command = broken.find("command: \"");
  ASSERT_NE(command, std::string::npos);
  broken.replace(command, broken.find('\n', command) - command, "command: \"echo no server here {address}; exit 3\"");
  const std::string broken_config = TempDir("spaces-from-broken-env") + "/config.textpb";
  std::ofstream(broken_config) << broken;
  Launched failed = StartLaunch("spaces-from-broken-env", {"--config=" + broken_config});
  ASSERT_NE(failed.process, nullptr);
  std::optional<int> refused = failed.process->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(WEXITSTATUS(*refused), 2) << ReadFile(failed.log);
  EXPECT_THAT(ReadFile(failed.log), HasSubstr("config field env.remote: states no spaces, and the env server that "
                                              "env.remote.command starts, asked for them, failed"));
  EXPECT_THAT(ReadFile(failed.log), HasSubstr("no server here"));
}

TEST(LaunchTest, SeveralPoliciesTrainApartInOneLearnerWithOrWithoutCentralInference) {
  const std::string base = ReadFile("tests/configs/tiny_navigation_policies.textpb");
  ASSERT_THAT(base, HasSubstr("topology { num_actors: 1 }"));
  // The actors' own copies; central inference in the learner; in a `rill
  // inference` process of its own.
  for (const std::string inference : {"", "learner", "server"}) {
    SCOPED_TRACE(inference.empty() ? "actors' own policy copies" : "central inference in the " + inference);
    const bool central = !inference.empty();
    std::string text = base;
    if (central) {
      text.replace(text.find("num_actors: 1 }"), 15,
                   inference == "server" ? "num_actors: 1 inference: CENTRAL num_inference_servers: 1 }"
                                         : "num_actors: 1 inference: CENTRAL }");
    }
    const std::string name = central ? "policies-central-" + inference : "policies";
    const std::string config = TempDir(name) + "/config.textpb";
    std::ofstream(config) << text;
    Launched run = StartLaunch(name, {"--max_env_steps=3000"}, "--config=" + config);
    ASSERT_NE(run.process, nullptr);
    std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
    ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
    ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
    EXPECT_EQ(JsonNumber(ReadFile(run.summary), "env_steps"), 3000);

    // Each policy trained on its own table, with its own versions.
    const std::string learner = ReadFile(run.run_dir + "/final-metrics/learner.prom");
    const std::string replay = ReadFile(run.run_dir + "/final-metrics/replay.prom");
    for (const std::string policy : {"lead", "wings"}) {
      SCOPED_TRACE(policy);
      EXPECT_GT(SeriesIn(learner, "rill_learner_updates_total{policy=\"" + policy + "\"}"), 0) << learner;
      EXPECT_GT(SeriesIn(replay, "rill_replay_items_inserted_total{table=\"unrolls." + policy + "\"}"), 0) << replay;
      // Its checkpoint, beside a config of its own (one policy, its table).
      const std::string folder = run.run_dir + "/checkpoints/learner/" + policy;
      EXPECT_TRUE(std::filesystem::exists(folder + "/latest")) << folder;
      const std::string own = ReadFile(folder + "/config.textpb");
      EXPECT_THAT(own, HasSubstr("name: \"unrolls." + policy + "\""));
      EXPECT_THAT(own, ::testing::Not(HasSubstr("policies {")));
      EXPECT_TRUE(std::filesystem::exists(run.run_dir + "/metrics/learner." + policy + ".jsonl"));
    }
    // "wings" (two agents) wrote about twice the items of "lead" (one).
    const double lead = SeriesIn(replay, "rill_replay_items_inserted_total{table=\"unrolls.lead\"}");
    const double wings = SeriesIn(replay, "rill_replay_items_inserted_total{table=\"unrolls.wings\"}");
    EXPECT_NEAR(wings / lead, 2.0, 0.35) << replay;
    // The evaluator played both, each with its own stream.
    const std::string evaluator = ReadFile(run.run_dir + "/final-metrics/evaluator.prom");
    EXPECT_GT(SeriesIn(evaluator, "rill_eval_policy_version{policy=\"wings\"}"), 0) << evaluator;
    EXPECT_NE(SeriesIn(evaluator, "rill_eval_policy_return_mean{policy=\"lead\"}"), -1) << evaluator;
    EXPECT_THAT(ReadFile(run.run_dir + "/metrics/evaluator.jsonl"), HasSubstr("\"policy/wings/return\""));
    // Each policy's losses, drawn from its own scalar log.
    EXPECT_TRUE(std::filesystem::exists(run.run_dir + "/plots/learner_statistics.png"));
    if (central) {
      // The actor shares the service's host: its streams went through
      // shared regions, not gRPC messages.
      const std::string actor = ReadFile(run.run_dir + "/logs/actor-0.log");
      EXPECT_THAT(actor, HasSubstr("through shared region @rill-inference-")) << actor;
    }
    if (inference == "server") {
      // One process served both policies, each from its own stream.
      const std::string log = ReadFile(run.run_dir + "/logs/inference-0.log");
      EXPECT_THAT(log, HasSubstr("policy 'lead': parameter version")) << log;
      EXPECT_THAT(log, HasSubstr("policy 'wings': parameter version")) << log;
      EXPECT_THAT(log, ::testing::ContainsRegex("last with parameter version lead [0-9]+, wings [0-9]+")) << log;
    }
    if (central) continue;
    // `rill eval` of the run plays every policy's checkpoint with its
    // agents; `rill export` wants one policy's folder, and names them.
    auto eval = ChildProcess::Start("eval-policies", RillBinary(), {"eval", "--checkpoint_dir=" + run.run_dir,
                                    "--episodes=2"}, run.run_dir + "-eval.log");
    ASSERT_TRUE(eval.ok()) << eval.status();
    std::optional<int> evaluated = (*eval)->WaitExit(absl::Seconds(60));
    ASSERT_TRUE(evaluated.has_value() && WIFEXITED(*evaluated) && WEXITSTATUS(*evaluated) == 0) << (*eval)->LogTail(10);
    const std::string played = ReadFile(run.run_dir + "-eval.log");
    EXPECT_THAT(played, HasSubstr("\"episodes\":6,"));  // 2 envs x 3 agents
    EXPECT_THAT(played, HasSubstr("\"checkpoint\":\"" + run.run_dir + "/checkpoints/learner\""));
    auto exported = ChildProcess::Start("export-policies", RillBinary(), {"export", "--checkpoint_dir=" + run.run_dir,
                                        "--out=" + run.run_dir + "/policy.onnx"}, run.run_dir + "-export.log");
    ASSERT_TRUE(exported.ok()) << exported.status();
    std::optional<int> refused = (*exported)->WaitExit(absl::Seconds(60));
    ASSERT_TRUE(refused.has_value() && WIFEXITED(*refused) && WEXITSTATUS(*refused) != 0);
    EXPECT_THAT(ReadFile(run.run_dir + "-export.log"), HasSubstr(run.run_dir + "/checkpoints/learner/lead, "));
  }
}

TEST(LaunchTest, PoliciesOfAgentsThatObserveDifferentlyTrainOnTheirOwnSpaces) {
  // Predators (3 agents, 16 floats) and prey (1 agent, 14 floats), the
  // prey with a learner section of its own (IMPALA, batches of 2).
  Launched run = StartLaunch("policies-spaces", {"--max_env_steps=2000"},
                             "--config=tests/configs/tiny_predator_prey_policies.textpb");
  ASSERT_NE(run.process, nullptr);
  std::optional<int> status = run.process->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << run.process->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.process->LogTail(30);
  const std::string learner = ReadFile(run.run_dir + "/final-metrics/learner.prom");
  const std::string replay = ReadFile(run.run_dir + "/final-metrics/replay.prom");
  for (const std::string policy : {"predators", "prey"}) {
    SCOPED_TRACE(policy);
    EXPECT_GT(SeriesIn(learner, "rill_learner_updates_total{policy=\"" + policy + "\"}"), 0) << learner;
    // Its own config names its agents, whose spaces its networks took.
    const std::string own = ReadFile(run.run_dir + "/checkpoints/learner/" + policy + "/config.textpb");
    EXPECT_THAT(own, HasSubstr(policy == "prey" ? "row_agents: \"agent_0\"" : "row_agents: \"adversary_2\""));
    EXPECT_THAT(own, HasSubstr(policy == "prey" ? "impala {" : "ppo {"));
    EXPECT_THAT(own, HasSubstr(policy == "prey" ? "batch_size: 2\n" : "batch_size: 4\n"));
  }
  // Each side's learner takes batches of its own size.
  EXPECT_EQ(SeriesIn(learner, "rill_learner_samples_total{policy=\"prey\"}"),
            2 * SeriesIn(learner, "rill_learner_updates_total{policy=\"prey\"}")) << learner;
  // Three predators' rows to one prey's.
  const double predators = SeriesIn(replay, "rill_replay_items_inserted_total{table=\"unrolls.predators\"}");
  const double prey = SeriesIn(replay, "rill_replay_items_inserted_total{table=\"unrolls.prey\"}");
  EXPECT_NEAR(predators / prey, 3.0, 0.5) << replay;

  // `rill eval` of the run plays both policies on their own agents; one
  // policy's folder cannot play the agents that observe otherwise.
  auto eval = ChildProcess::Start("eval-spaces", RillBinary(), {"eval", "--checkpoint_dir=" + run.run_dir,
                                  "--episodes=2"}, run.run_dir + "-eval.log");
  ASSERT_TRUE(eval.ok()) << eval.status();
  std::optional<int> evaluated = (*eval)->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(evaluated.has_value() && WIFEXITED(*evaluated) && WEXITSTATUS(*evaluated) == 0) << (*eval)->LogTail(10);
  EXPECT_THAT(ReadFile(run.run_dir + "-eval.log"), HasSubstr("\"episodes\":8,"));  // 2 envs x 4 agents
  const std::string prey_folder = run.run_dir + "/checkpoints/learner/prey";
  auto alone = ChildProcess::Start("eval-prey", RillBinary(), {"eval", "--checkpoint_dir=" + prey_folder,
                                   "--episodes=1"}, run.run_dir + "-prey.log");
  ASSERT_TRUE(alone.ok()) << alone.status();
  std::optional<int> refused = (*alone)->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(refused.has_value() && WIFEXITED(*refused) && WEXITSTATUS(*refused) != 0);
  EXPECT_THAT(ReadFile(run.run_dir + "-prey.log"), HasSubstr("is the policy of agent_0 only"));
}

}  // namespace
}  // namespace rill::testing
