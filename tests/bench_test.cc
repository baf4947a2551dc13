// Every `rill bench` command, run as a user runs it (a real process, real
// servers on ports it picks), at sizes small enough for CI: it exits 0 and
// its last line is the JSON docs/benchmarks.md describes, with the figures
// measured (a bench that silently measured nothing would print zeros). What
// the figures are on this machine is the closing notes' business, not a
// test's; these only keep the benchmarks working from one change to the next.
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/harness.h"
#include "common/child_process.h"

namespace rill::testing {
namespace {

struct BenchRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
  std::string json;    // the last line that starts with '{'
};

BenchRun RunBench(const std::string& name, const std::vector<std::string>& args,
                  absl::Duration timeout = absl::Seconds(240)) {
  BenchRun run;
  const std::string log = TempDir(name) + "/bench.log";
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::StartProgram(name, RillBinary(), args, log);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return run;
  const std::optional<int> status = (*process)->WaitExit(timeout);
  EXPECT_TRUE(status.has_value()) << name << " did not finish within " << timeout;
  if (status.has_value() && WIFEXITED(*status)) run.exit_code = WEXITSTATUS(*status);
  run.output = ReadFile(log);
  for (absl::string_view line : absl::StrSplit(run.output, '\n')) {
    if (absl::StartsWith(line, "{")) run.json = std::string(line);
  }
  return run;
}

// The number after the first `"key":` in `json` at or after `from` (a key
// written `"key": ` with a space too); NaN if absent.
double Number(const std::string& json, const std::string& key, const std::string& from = "") {
  size_t at = from.empty() ? 0 : json.find(from);
  if (at == std::string::npos) return std::nan("");
  at = json.find(absl::StrCat("\"", key, "\":"), at);
  if (at == std::string::npos) return std::nan("");
  const char* start = json.c_str() + at + key.size() + 3;
  char* end = nullptr;
  const double value = std::strtod(start, &end);
  return end == start ? std::nan("") : value;
}

TEST(BenchTest, ReplayMeasuresInsertsSamplesAndTheCrowd) {
  BenchRun run = RunBench("bench_replay", {"bench", "replay", "--bench_tables=pendulum", "--bench_writers=2",
                                           "--bench_seconds=0.4", "--bench_memory=false", "--bench_wal=false",
                                           "--bench_crowd_writers=40", "--bench_planes_transitions=512",
                                           "--bench_planes_layouts=as_is,share_planes", "--bench_compression=false"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_FALSE(run.json.empty()) << run.output;
  EXPECT_GT(Number(run.json, "insert_items_per_second"), 0) << run.json;
  EXPECT_GT(Number(run.json, "sample_batches_per_second"), 0) << run.json;
  EXPECT_GT(Number(run.json, "loopback_tcp_mb_per_second"), 0) << run.json;
  // The crowd: every writer acknowledged, and the shard's own admitted
  // latency read from its metrics.
  EXPECT_EQ(Number(run.json, "writers", "\"crowd\":"), 40) << run.json;
  EXPECT_EQ(Number(run.json, "writers_without_ack", "\"crowd\":"), 0) << run.json;
  EXPECT_GT(Number(run.json, "p99", "\"admitted_to_ack_ms\":"), 0) << run.json;
  EXPECT_GT(Number(run.json, "rss_bytes_per_stream", "\"idle_streams\":"), 0) << run.json;
  // Frame-stacked transitions: with shared planes the shard stores each
  // distinct frame once, under a fifth of the 8 frames per transition as is.
  const double as_is = Number(run.json, "stored_bytes_per_transition", "\"layout\":\"as_is\"");
  const double shared = Number(run.json, "stored_bytes_per_transition", "\"layout\":\"share_planes\"");
  EXPECT_EQ(as_is, 2 * 4 * 84 * 84 + 8) << run.json;
  EXPECT_GT(shared, 0) << run.json;
  EXPECT_LT(shared, as_is / 5) << run.json;
}

TEST(BenchTest, ParametersReachEverySubscriber) {
  BenchRun run = RunBench("bench_parameters", {"bench", "parameters", "--bench_subscribers=20", "--bench_versions=3",
                                               "--bench_warmup_versions=1", "--bench_policy_floats=5000"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(Number(run.json, "subscribers"), 20) << run.json;
  EXPECT_EQ(Number(run.json, "versions"), 3) << run.json;
  EXPECT_EQ(Number(run.json, "blob_bytes"), 20000) << run.json;
  EXPECT_GT(Number(run.json, "p50", "\"delivery_ms\":"), 0) << run.json;
  EXPECT_GT(Number(run.json, "max", "\"warmup_all_delivered_ms\":"), 0) << run.json;
}

// Followers of both transports, in one run: each took versions, and the
// region's followers took them without a message each.
TEST(BenchTest, ParameterFollowersMeasureGrpcAndTheSharedRegion) {
  BenchRun run = RunBench("bench_parameter_followers",
                          {"bench", "parameters", "--bench_followers=2", "--bench_seconds=1", "--bench_publish_hz=200",
                           "--bench_policy_floats=5000"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(Number(run.json, "followers"), 2) << run.json;
  EXPECT_GT(Number(run.json, "idle_cores"), 0) << run.json;
  for (const std::string transport : {"grpc", "shared_memory"}) {
    SCOPED_TRACE(transport);
    const std::string at = "\"" + transport + "\":";
    EXPECT_GT(Number(run.json, "published", at), 50) << run.json;
    EXPECT_GT(Number(run.json, "taken", at), 50) << run.json;
    EXPECT_GT(Number(run.json, "p50", at), 0) << run.json;
    EXPECT_FALSE(std::isnan(Number(run.json, "cpu_us_per_version_above_idle", at))) << run.json;
  }
}

TEST(BenchTest, InferenceMeasuresCentralAndLocal) {
  BenchRun run = RunBench("bench_inference",
                          {"bench", "inference", "--bench_streams=2", "--bench_envs=1", "--bench_seconds=0.3"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(Number(run.json, "central_actions_per_second"), 0) << run.json;
  EXPECT_GT(Number(run.json, "local_actions_per_second_per_core"), 0) << run.json;
  EXPECT_GT(Number(run.json, "p99", "\"round_trip_ms\":"), 0) << run.json;
}

TEST(BenchTest, InferenceThroughSharedMemoryMeasuresTheRegionsTransport) {
  BenchRun run = RunBench("bench_inference_shared",
                          {"bench", "inference", "--bench_transport=shared_memory", "--bench_streams=2",
                           "--bench_envs=1", "--bench_seconds=0.3"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(absl::StrContains(run.json, "\"transport\":\"shared_memory\"")) << run.json;
  EXPECT_FALSE(absl::StrContains(run.json, "\"transport\":\"grpc\"")) << run.json;
  EXPECT_GT(Number(run.json, "central_actions_per_second"), 0) << run.json;
  EXPECT_GT(Number(run.json, "central_to_local_per_core"), 0) << run.json;
  BenchRun refused = RunBench("bench_inference_bad_transport",
                              {"bench", "inference", "--bench_transport=tcp", "--bench_seconds=0.3"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "--bench_transport: 'tcp' is not a transport")) << refused.output;
}

TEST(BenchTest, InferenceWithAConvTorsoSendsPixelsAndComparesPerCore) {
  BenchRun run = RunBench("bench_inference_torso",
                          {"bench", "inference", "--torso=MINATAR_CNN", "--obs_shape=4,10,10", "--bench_streams=2",
                           "--bench_envs=1", "--bench_seconds=0.3"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(absl::StrContains(run.json, "\"torso\":\"MINATAR_CNN\"")) << run.json;
  EXPECT_GT(Number(run.json, "central_actions_per_second_per_core"), 0) << run.json;
  EXPECT_GT(Number(run.json, "local_actions_per_second_per_core"), 0) << run.json;
  EXPECT_GT(Number(run.json, "central_to_local_per_core"), 0) << run.json;
  // The pixels travelled as uint8, not as floats.
  EXPECT_GT(Number(run.json, "uint8_observation_bytes"), 0) << run.json;
  EXPECT_EQ(Number(run.json, "float32_observation_bytes"), 0) << run.json;
}

TEST(BenchTest, EnvServerMeasuresBothTransportsAgainstInProcess) {
  BenchRun run = RunBench("bench_env_server", {"bench", "env", "--bench_env_server", "--bench_env_server_envs=1",
                                               "--bench_seconds=0.3"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(Number(run.json, "in_process_env_steps_per_second"), 0) << run.json;
  EXPECT_GT(Number(run.json, "served_env_steps_per_second"), 0) << run.json;  // through the shared region
  EXPECT_GT(Number(run.json, "grpc_env_steps_per_second"), 0) << run.json;
}

TEST(BenchTest, EnvMeasuresStepsAgainstBarePhysics) {
  BenchRun run = RunBench("bench_env", {"bench", "env", "--env=Pendulum-v1", "--bench_num_envs=2",
                                        "--bench_seconds=0.3", "--bench_policy_hidden=16,16"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(Number(run.json, "env_steps_per_second"), 0) << run.json;
  EXPECT_GT(Number(run.json, "with_policy_env_steps_per_second"), 0) << run.json;
}

// --bench_agents_vs_single: a multi-agent env's actor loop and a single-agent
// env's, side by side in one run, each with its parts.
TEST(BenchTest, EnvAgentsVsSingleMeasuresBothLoopsAndTheirRatio) {
  BenchRun run = RunBench("bench_env_agents", {"bench", "env", "--bench_agents_vs_single",
                                               "--env=CooperativeNavigation-v0", "--bench_num_envs=2",
                                               "--bench_seconds=0.3", "--bench_policy_hidden=16,16"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(absl::StrContains(run.json, "\"bench\": \"agents_vs_single\"")) << run.json;
  EXPECT_EQ(Number(run.json, "agents_per_env"), 3) << run.json;
  EXPECT_EQ(Number(run.json, "rows"), 6) << run.json;
  EXPECT_TRUE(absl::StrContains(run.json, "\"policy_hidden\": \"16,16\"")) << run.json;
  for (const char* side : {"\"multi_agent\"", "\"single_agent\"", "\"lone_agent\""}) {
    for (const char* key : {"agent_steps_per_second", "env_steps_per_second", "us_per_agent_step",
                            "policy_us_per_agent_step", "env_us_per_agent_step", "bookkeeping_us_per_agent_step",
                            "bare_env_agent_steps_per_second"}) {
      EXPECT_GT(Number(run.json, key, side), 0) << side << " " << key << ": " << run.json;
    }
  }
  EXPECT_GT(Number(run.json, "agent_step_cost_ratio"), 0) << run.json;
  // A ratio of two differences of 0.3 s timings: on a loaded machine the
  // bare env can time slower than the loop around it, and the ratio goes
  // below 0. It must be there and be a number.
  EXPECT_TRUE(std::isfinite(Number(run.json, "agent_step_cost_ratio_beyond_bare_env"))) << run.json;
  EXPECT_GT(Number(run.json, "lone_agent_cost_ratio"), 0) << run.json;
  EXPECT_TRUE(absl::StrContains(run.json, "\"within_target\": true") ||
              absl::StrContains(run.json, "\"within_target\": false"))
      << run.json;
}

// A multi-agent env whose agents differ is refused with why, not measured.
TEST(BenchTest, EnvAgentsVsSingleRefusesAgentsOfDifferentSpaces) {
  BenchRun run = RunBench("bench_env_agents_mixed", {"bench", "env", "--bench_agents_vs_single",
                                                     "--env=PredatorPrey-v0", "--bench_seconds=0.1"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(absl::StrContains(run.output, "differ")) << run.output;
  EXPECT_TRUE(run.json.empty()) << run.json;
}

// --render: frames drawn per second against the same env's steps, in one run.
TEST(BenchTest, EnvRenderMeasuresFramesAgainstTheSameEnvsSteps) {
  BenchRun run = RunBench("bench_env_render", {"bench", "env", "--env=HalfCheetah-v4", "--bench_num_envs=1",
                                               "--bench_seconds=0.3", "--bench_policy_hidden=16,16",
                                               "--render=84x84"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(Number(run.json, "render_frames_per_second"), 0) << run.json;
  EXPECT_GT(Number(run.json, "render_physics_env_steps_per_second"), Number(run.json, "render_frames_per_second"))
      << "drawing costs more than a physics step on a CPU: " << run.json;
  EXPECT_GT(Number(run.json, "render_frames_to_physics_steps"), 0) << run.json;
}

TEST(BenchTest, TorsoMeasuresTheActorsConvForwardAgainstLibTorch) {
  BenchRun run = RunBench("bench_torso", {"bench", "torso", "--bench_seconds=0.05"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  for (const char* torso : {"minatar_cnn", "nature_cnn", "impala_resnet"}) {
    const std::string at = absl::StrCat("\"torso\": \"", torso, "\"");
    EXPECT_GT(Number(run.json, "actor_samples_per_second", at), 0) << torso << ": " << run.json;
    EXPECT_GT(Number(run.json, "libtorch_samples_per_second", at), 0) << torso << ": " << run.json;
    EXPECT_GT(Number(run.json, "libtorch_train_samples_per_second", at), 0) << torso << ": " << run.json;
  }
}

TEST(BenchTest, LearnerMeasuresUpdatesAgainstAMatmul) {
  BenchRun run = RunBench("bench_learner", {"bench", "learner", "--algo=sac", "--obs_dim=3", "--act_dim=1",
                                            "--batch=32", "--hidden=32,32", "--bench_seconds=0.5"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(Number(run.json, "updates_per_second"), 0) << run.json;
  EXPECT_GT(Number(run.json, "matmul_gflops"), 0) << run.json;
  // The reference is the update's widest layer: batch x width x width.
  EXPECT_TRUE(absl::StrContains(run.json, "\"matmul_shape\":\"32x32x32\"")) << run.json;
  EXPECT_TRUE(absl::StrContains(run.json, "\"libtorch\":\"")) << run.json;
}

TEST(BenchTest, LearnerContentionTimesTheUpdateAloneAndBesideABusyProcessThatEndsWithIt) {
  const std::vector<std::string> args = {"bench", "learner", "--algo=sac", "--obs_dim=3", "--act_dim=1",
                                         "--batch=32", "--hidden=32,32", "--bench_seconds=1",
                                         "--bench_contention"};
  BenchRun run = RunBench("bench_learner_contention", args);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  for (const char* rate : {"tuned_alone_updates_per_second", "tuned_beside_busy_updates_per_second",
                           "fixed_alone_updates_per_second", "fixed_beside_busy_updates_per_second"}) {
    EXPECT_GT(Number(run.json, rate, "\"contention\":"), 0) << rate << ": " << run.json;
  }
  for (const char* threads : {"tuned_alone_threads", "tuned_beside_busy_threads"}) {
    EXPECT_GE(Number(run.json, threads, "\"contention\":"), 1) << threads << ": " << run.json;
    EXPECT_LE(Number(run.json, threads, "\"contention\":"), cores) << threads << ": " << run.json;
  }
  EXPECT_EQ(Number(run.json, "fixed_threads", "\"contention\":"), cores) << run.json;
  EXPECT_TRUE(absl::StrContains(run.output, "beside one busy process")) << run.output;
  // The busy child went with the benchmark.
  for (const LiveProcess& process : ListLiveProcesses()) {
    EXPECT_FALSE(absl::StrContains(process.cmdline, "--bench_contention")) << process.pid << " " << process.cmdline;
  }
}

TEST(BenchTest, SystemRunsTheConfigAndTimesEachPartAgainstItsBound) {
  // The run's folder goes under TMPDIR; it is left for the user to read.
  const std::string dir = TempDir("bench_system_tmp");
  setenv("TMPDIR", dir.c_str(), 1);
  BenchRun run = RunBench("bench_system", {"bench", "system", "--config=pendulum_sac", "--bench_seconds=2",
                                           "--bench_warmup_seconds=0"});
  unsetenv("TMPDIR");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  for (const char* figure : {"env_steps_per_second", "updates_per_second", "bound_env_steps_per_second",
                             "fraction_of_bound", "run_cores_used", "update_us_one_thread",
                             "cores_bound_env_steps_per_second", "serial_bound_env_steps_per_second",
                             "update_wall_us_fastest", "update_fastest_threads"}) {
    EXPECT_GT(Number(run.json, figure), 0) << figure << ": " << run.json;
  }
  // The bound is the lower of the cores' and the learner thread's, and says
  // which.
  EXPECT_DOUBLE_EQ(Number(run.json, "bound_env_steps_per_second"),
                   std::min(Number(run.json, "cores_bound_env_steps_per_second"),
                            Number(run.json, "serial_bound_env_steps_per_second")))
      << run.json;
  EXPECT_TRUE(absl::StrContains(run.json, "\"bound_by\": \"cores\"") ||
              absl::StrContains(run.json, "\"bound_by\": \"learner thread\""))
      << run.json;
  // SAC's rate limiter: one update per env step, as pendulum_sac sets it.
  EXPECT_NEAR(Number(run.json, "updates_per_env_step"), 1, 0.3) << run.json;
  for (const char* stage : {"env_step", "policy_forward", "learner_update", "replay_in_run"}) {
    EXPECT_GT(Number(run.json, stage, "\"stage_us_per_env_step\":"), 0) << stage << ": " << run.json;
  }
  for (const char* role : {"actor", "learner", "replay"}) {
    EXPECT_GT(Number(run.json, role, "\"run_cores\":"), 0) << role << ": " << run.json;
  }
  // The launcher mostly waits: over 2 s it may not use one clock tick.
  EXPECT_GE(Number(run.json, "launcher", "\"run_cores\":"), 0) << run.json;
  EXPECT_GE(Number(run.json, "other_cores"), 0) << run.json;
  EXPECT_TRUE(absl::StrContains(run.json, "\"below_bound_by\": \"")) << run.json;
  EXPECT_TRUE(absl::StrContains(run.json, absl::StrCat("\"run_dir\": \"", dir))) << run.json;
  // The run it measured has stopped, every process of it.
  for (const LiveProcess& process : ListLiveProcesses()) {
    EXPECT_FALSE(absl::StrContains(process.cmdline, dir)) << process.pid << " " << process.cmdline;
  }
}

// Several policies: each policy's update is costed at its own share of the
// run's updates, from its learner log (a line every 2 s: the 4 s window
// holds at least one of each), and each is in the JSON.
TEST(BenchTest, SystemCostsEachPolicysUpdates) {
  const std::string dir = TempDir("bench_system_policies_tmp");
  setenv("TMPDIR", dir.c_str(), 1);
  BenchRun run = RunBench("bench_system_policies", {"bench", "system",
                                                    "--config=tests/configs/tiny_predator_prey_policies.textpb",
                                                    "--bench_seconds=4", "--bench_warmup_seconds=1"});
  unsetenv("TMPDIR");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  double shares = 0;
  for (const char* policy : {"predators", "prey"}) {
    EXPECT_GT(Number(run.json, absl::StrCat("learner_update/", policy), "\"stage_us_per_env_step\":"), 0)
        << policy << ": " << run.json;
    const std::string section = absl::StrCat("\"", policy, "\": {");
    EXPECT_GT(Number(run.json, "update_us_one_thread", section), 0) << policy << ": " << run.json;
    const double share = Number(run.json, "updates_per_env_step", section);
    EXPECT_GT(share, 0) << policy << ": " << run.json;
    shares += share;
  }
  // The policies' shares make up the run's updates per env step.
  EXPECT_NEAR(shares, Number(run.json, "updates_per_env_step"), 1e-3 * shares) << run.json;
  EXPECT_GT(Number(run.json, "fraction_of_bound"), 0) << run.json;
  for (const LiveProcess& process : ListLiveProcesses()) {
    EXPECT_FALSE(absl::StrContains(process.cmdline, dir)) << process.pid << " " << process.cmdline;
  }
}

TEST(BenchTest, LearnerOnCudaWithoutOneSaysWhy) {
  BenchRun run = RunBench("bench_learner_cuda", {"bench", "learner", "--device=cuda", "--batch=32",
                                                 "--hidden=32,32", "--bench_seconds=0.5"});
  if (run.exit_code == 0) GTEST_SKIP() << "this machine has a GPU: " << run.json;
  EXPECT_TRUE(absl::StrContains(run.output, "--device cuda")) << run.output;
  EXPECT_TRUE(absl::StrContains(run.output, "LibTorch")) << run.output;
}

TEST(BenchTest, BadFlagsAreNamed) {
  BenchRun replay = RunBench("bench_replay_bad", {"bench", "replay", "--bench_writers=0"});
  EXPECT_NE(replay.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(replay.output, "--bench_writers")) << replay.output;
  BenchRun parameters = RunBench("bench_parameters_bad", {"bench", "parameters", "--bench_warmup_versions=-1"});
  EXPECT_NE(parameters.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(parameters.output, "--bench_warmup_versions")) << parameters.output;
  BenchRun followers = RunBench("bench_followers_bad", {"bench", "parameters", "--bench_followers=100"});
  EXPECT_NE(followers.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(followers.output, "--bench_followers must be 1..64")) << followers.output;
  BenchRun learner = RunBench("bench_learner_bad", {"bench", "learner", "--device=tpu"});
  EXPECT_NE(learner.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(learner.output, "--device 'tpu'")) << learner.output;
  BenchRun system = RunBench("bench_system_bad", {"bench", "system", "--config=no_such_config"});
  EXPECT_NE(system.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(system.output, "no_such_config")) << system.output;
}

}  // namespace
}  // namespace rill::testing
