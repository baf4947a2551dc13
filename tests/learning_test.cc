// Each algorithm learns through `rill launch` with 2 actors (real processes):
// the evaluator's mean return over 10 deterministic episodes of a policy
// reaches the bar within the step budget. The runs pass the bar as
// --stop_at_eval_return, so each ends at its first evaluation that reaches
// it (a run that never does spends its budget and fails on its final
// evaluation); the spread figures quoted below are of runs to the budget.
//   SAC on Pendulum-v1: >= -250 within 20,000 env steps (SB3's SAC benchmark
//     reports about -157 at 20k steps), with the actors' own policy copies,
//     with central inference (the learner batches the actors' observations
//     and acts with its newest policy) and with two data-parallel learner
//     ranks.
//   TD3 on Pendulum-v1: >= -250 within 20,000 env steps.
//   DSAC-T on Pendulum-v1: >= -250 within 20,000 env steps (4 runs
//     reached it at 6,400 to 6,480 env steps, about 28 s; one run to the
//     budget ended at -144).
//   DroQ on Pendulum-v1 at 10 updates per env step (64 x 64 networks):
//     >= -250 within 5,000 env steps (4 runs reached it at 1,096 to 1,886
//     env steps, 12 to 25 s: a quarter of what SAC and DSAC-T take).
//   SimbaV2 on Pendulum-v1 (one block of 64 for the actor, of 128 for the
//     critics): >= -250 within 10,000 env steps (4 runs reached it at
//     4,552 to 7,520 env steps, 38 to 72 s on 2 cores shared with other
//     work; the slowest made 0.65 updates per env step).
//   SAC-discrete on CartPole-v1: >= 300 within 50,000 env steps.
//   IMPALA on CartPole-v1 (4 actors): >= 450 within 500,000 env steps, with
//     local and with central inference, and on CartPole-v1's dynamics in
//     numpy served by the Python env server (env.remote).
//   SAC on Hover-v0 from an env plugin library (env.plugin): >= 150 within
//     6,000 env steps; MAPPO on Rendezvous-v0, a multi-agent env from a C
//     plugin library: >= -4 per scout within 100,000 agent-steps; PPO on
//     Gate-v0, a plugin env with an action mask: >= 6.8 within 200,000
//     env steps, its first evaluation >= 4.8.
//   PPO on CartPole-v1 (synchronous, 4 actors): >= 490 within 500,000 env
//     steps.
//   PPO with an LSTM core on the memory task, CartPoleNoVelocity-v1
//     (positions only): an evaluation >= 400 within 800,000 env steps,
//     where no evaluation of the same run without the core reaches 100.
//   PPO on MaskedPick-v0 with its action mask: >= 2.45 within 40,000 env
//     steps, its first evaluation >= 1.9, and ahead over the first 10,000
//     env steps of the same run with env.ignore_action_mask.
//   PPO on Beacon-v0's Dict observation (a uint8 image and a float32
//     vector; in C++, and in Python over gRPC and shared memory): >= 0.85
//     within 200,000 env steps, where neither leaf alone gets an
//     evaluation to 0.5 within 120,000.
//   IMPALA with MinAtar's conv torso on MinAtar Breakout (uint8 images,
//     4 actors): >= 3 within 1,000,000 env steps (a random policy scores
//     about 0.5).
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/scalar_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/env_server_process.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

// Runs `rill launch` on `config` for `steps` env steps and returns the final
// evaluation's mean return (failing the test if the run fails).
double LaunchAndEvaluate(const std::string& name, const std::string& config, int64_t steps, int num_actors = 2,
                         double* wall_seconds = nullptr, std::string* summary_out = nullptr,
                         const std::vector<std::string>& extra = {}) {
  const std::string run_dir = TempDir("learning-" + name);
  const std::string summary_path = run_dir + "/summary.json";
  std::vector<std::string> args = {"launch",
                                   "--config=" + config,
                                   absl::StrCat("--num_actors=", num_actors),
                                   absl::StrCat("--max_env_steps=", steps),
                                   "--run_dir=" + run_dir,
                                   "--summary_json=" + summary_path,
                                   // The CSVs behind the plots (eval.csv is read
                                   // below), not the PNGs: matplotlib costs
                                   // about 2 s a run, and launch_test checks them.
                                   "--plot_python="};
  args.insert(args.end(), extra.begin(), extra.end());
  auto child = ChildProcess::Start("launch", RillBinary(), args, run_dir + "-launch.log");
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return -1e9;
  std::optional<int> status = (*child)->WaitExit(absl::Minutes(12));
  EXPECT_TRUE(status.has_value()) << (*child)->LogTail(20);
  EXPECT_TRUE(status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*child)->LogTail(30);
  std::ifstream in(summary_path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string summary = text.str();
  std::smatch match;
  EXPECT_TRUE(std::regex_search(summary, match, std::regex("\"env_steps\": ([0-9]+)"))) << summary;
  if (!match.empty()) {
    // Within the budget: all of it, unless an evaluation reached
    // --stop_at_eval_return first.
    if (summary.find("\"final_eval\": \"target reached: ") != std::string::npos) {
      EXPECT_GT(std::stoll(match[1].str()), 0) << summary;
      EXPECT_LE(std::stoll(match[1].str()), steps) << summary;
    } else {
      EXPECT_EQ(std::stoll(match[1].str()), steps) << summary;
    }
  }
  if (!std::regex_search(summary, match, std::regex("\"eval_return_mean\": (-?[0-9.]+)"))) {
    ADD_FAILURE() << "no evaluation in the summary: " << summary << "\n" << (*child)->LogTail(30);
    return -1e9;
  }
  std::printf("learning summary (%s): %s\n", name.c_str(), summary.c_str());
  if (summary_out != nullptr) *summary_out = summary;
  std::smatch wall;
  if (wall_seconds != nullptr && std::regex_search(summary, wall, std::regex("\"wall_seconds\": ([0-9.]+)"))) {
    *wall_seconds = std::stod(wall[1].str());
  }
  return std::stod(match[1].str());
}

// LaunchAndEvaluate with --stop_at_eval_return=`bar`: the run ends at its
// first evaluation >= `bar` (whose mean is returned), or spends `steps`.
double LaunchUntil(const std::string& name, const std::string& config, int64_t steps, double bar, int num_actors = 2,
                   double* wall_seconds = nullptr, std::string* summary_out = nullptr,
                   std::vector<std::string> extra = {}) {
  extra.push_back(absl::StrCat("--stop_at_eval_return=", bar));
  return LaunchAndEvaluate(name, config, steps, num_actors, wall_seconds, summary_out, extra);
}

TEST(LearningTest, SacReachesMinus250OnPendulumWithin20kStepsAcrossProcesses) {
  EXPECT_GE(LaunchUntil("sac", "deploy/configs/pendulum_sac.textpb", 20000, -250.0), -250.0);
}

TEST(LearningTest, SacWithCentralInferenceReachesMinus250OnPendulumWithin20kSteps) {
  std::string summary;
  EXPECT_GE(LaunchUntil("sac_central", "deploy/configs/pendulum_sac_central.textpb", 20000, -250.0, 2, nullptr, &summary),
            -250.0);
  // The actions came from the learner's batches: two actors of one env,
  // so batches of one or two rows.
  std::smatch batch;
  ASSERT_TRUE(std::regex_search(summary, batch, std::regex("\"inference_batch_rows_mean\": ([0-9.]+)"))) << summary;
  EXPECT_GE(std::stod(batch[1].str()), 1.0);
  EXPECT_LE(std::stod(batch[1].str()), 2.0);
}

// Two data-parallel learner ranks (rill launch --num_learners=2), each
// sampling its own 256 transitions and averaging gradients with the other:
// the same samples per env step as one learner, in half the updates of
// twice the batch. Same bar as the single learner.
TEST(LearningTest, SacWithTwoLearnerRanksReachesMinus250OnPendulumWithin20kSteps) {
  std::string summary;
  EXPECT_GE(LaunchUntil("sac_ranks", "deploy/configs/pendulum_sac.textpb", 20000, -250.0, 2, nullptr, &summary,
                        {"--num_learners=2"}),
            -250.0);
  std::smatch learners;
  ASSERT_TRUE(std::regex_search(summary, learners, std::regex("\"num_learners\": ([0-9]+)"))) << summary;
  EXPECT_EQ(learners[1].str(), "2");
}

TEST(LearningTest, Td3ReachesMinus250OnPendulumWithin20kStepsAcrossProcesses) {
  EXPECT_GE(LaunchUntil("td3", "deploy/configs/pendulum_td3.textpb", 20000, -250.0), -250.0);
}

// DSAC-T, with the summary's update-to-data ratio: one update per env
// step after the warm-up, as learner.updates_per_env_step states.
TEST(LearningTest, DsacTReachesMinus250OnPendulumWithin20kStepsAcrossProcesses) {
  std::string summary;
  EXPECT_GE(LaunchUntil("dsac_t", "deploy/configs/pendulum_dsac_t.textpb", 20000, -250.0, 2, nullptr, &summary),
            -250.0);
  std::smatch ratio;
  ASSERT_TRUE(std::regex_search(summary, ratio, std::regex("\"updates_per_env_step\": ([0-9.]+)"))) << summary;
  EXPECT_GT(std::stod(ratio[1].str()), 0.8) << summary;
  EXPECT_LT(std::stod(ratio[1].str()), 1.2) << summary;
  EXPECT_NE(summary.find("\"updates_per_env_step_target\": 1.000"), std::string::npos) << summary;
}

// DroQ at 10 updates per env step learns Pendulum in a quarter of SAC's
// env steps.
TEST(LearningTest, DroqReachesMinus250OnPendulumWithin5kStepsAtTenUpdatesPerStep) {
  std::string summary;
  EXPECT_GE(LaunchUntil("droq", "deploy/configs/pendulum_droq.textpb", 5000, -250.0, 2, nullptr, &summary), -250.0);
  std::smatch ratio;
  ASSERT_TRUE(std::regex_search(summary, ratio, std::regex("\"updates_per_env_step\": ([0-9.]+)"))) << summary;
  EXPECT_GT(std::stod(ratio[1].str()), 8.0) << summary;
  EXPECT_LT(std::stod(ratio[1].str()), 12.0) << summary;
}

// CrossQ: no target networks, batch renormalisation, one update per env
// step.
TEST(LearningTest, CrossQReachesMinus250OnPendulumWithin10kStepsAcrossProcesses) {
  EXPECT_GE(LaunchUntil("crossq", "deploy/configs/pendulum_crossq.textpb", 10000, -250.0), -250.0);
}

// SimbaV2: hyperspherical networks (the actors run their own BLAS twin of
// the actor), twin categorical critics, one update per env step.
TEST(LearningTest, SimbaV2ReachesMinus250OnPendulumWithin10kStepsAcrossProcesses) {
  EXPECT_GE(LaunchUntil("simbav2", "deploy/configs/pendulum_simbav2.textpb", 10000, -250.0), -250.0);
}

TEST(LearningTest, SacDiscreteReaches300OnCartPoleWithin50kStepsAcrossProcesses) {
  EXPECT_GE(LaunchUntil("sac_discrete", "deploy/configs/cartpole_sac_discrete.textpb", 50000, 300.0), 300.0);
}

// IMPALA through the whole stack: 4 actors x 8 envs, unrolls through the
// FIFO queue, V-trace with PopArt on the learner. The target is eval
// >= 450 within 500,000 env steps and 3 minutes: over 14 runs of this config
// (4 of them with both cores taken by busy loops, 60-70 s each) every final
// evaluation was 500.0.
TEST(LearningTest, ImpalaLearnsCartPoleWithin500kStepsAndThreeMinutesAcrossProcesses) {
  double wall = 0;
  EXPECT_GE(LaunchUntil("impala", "deploy/configs/cartpole_impala.textpb", 500000, 450.0, /*num_actors=*/4, &wall),
            450.0);
  EXPECT_LE(wall, 180.0);
}

// Synchronous PPO through the whole stack: 4 actors x 4 envs, unrolls of 32
// steps, each batch of 16 unrolls trained on for 4 epochs of 4 minibatches
// while the actors wait for the version it makes. The target is eval
// >= 490 within 500,000 env steps and 60 s on two cores; the bound on the
// wall time leaves room for a machine that other jobs load (see the config
// and the PPO section of docs/algorithms.md for the measured spread).
TEST(LearningTest, PpoLearnsCartPoleWithin500kStepsAndAMinuteAcrossProcesses) {
  double wall = 0;
  EXPECT_GE(LaunchUntil("ppo", "deploy/configs/cartpole_ppo.textpb", 500000, 490.0, /*num_actors=*/4, &wall), 490.0);
  EXPECT_LE(wall, 120.0);
}

// Cooperative navigation: three agents, rows of one PPO policy they share
// (each writes its own unrolls). An evaluation round is 10 envs x 3
// agents; a uniform random policy scores about -60 per agent-episode, and
// the first round (34k agent-steps) scored -59 to -62. Seeds 2-4 reached
// -42 after 112k-176k agent-steps (8 s each); seed 1 ran 2M steps and
// evaluated between -31 and -45 from 300k on.
TEST(LearningTest, PpoSharedByThreeAgentsLearnsCooperativeNavigationWithin600kAgentSteps) {
  std::string summary;
  EXPECT_GE(LaunchUntil("cooperative_navigation_ppo", "deploy/configs/cooperative_navigation_ppo.textpb", 600000,
                        -42.0, /*num_actors=*/2, /*wall_seconds=*/nullptr, &summary),
            -42.0);
  // The task's own figures reach the evaluator's log and the actors'
  // metrics.
  std::smatch run_dir;
  ASSERT_TRUE(std::regex_search(summary, run_dir, std::regex("\"run_dir\": \"([^\"]+)\""))) << summary;
  std::stringstream rounds, actor_metrics;
  rounds << std::ifstream(run_dir[1].str() + "/metrics/evaluator.jsonl").rdbuf();
  EXPECT_NE(rounds.str().find("\"env/landmark_distance\": "), std::string::npos) << rounds.str();
  EXPECT_NE(rounds.str().find("\"env/collisions\": "), std::string::npos) << rounds.str();
  actor_metrics << std::ifstream(run_dir[1].str() + "/final-metrics/actor-0.prom").rdbuf();
  EXPECT_NE(actor_metrics.str().find("rill_actor_env_metric{metric=\"collisions\",role=\"actor\"}"), std::string::npos)
      << actor_metrics.str();
}

// MAPPO (Yu et al. 2022): the shared policy above with a centralised
// value, a separate MLP on the env's global state (the unrolls' state
// column). Seeds 1-3 of its sweep first evaluated -38 or better after
// 110k-156k agent-steps; this test, run 3 times, stopped at 117k-135k
// (-37.2, -35.8, -34.5; 17-45 s on 2 shared cores).
// The same task with a policy of its own per agent (config.policies:
// three learner states in the learner process, none sharing parameters):
// each policy learns from its own agent's unrolls only. Seeds 1-5 first
// evaluated -42 or better after 59k-176k agent-steps and ended at -35.6 to
// -43.0 after 600k (21-41 s); the shared policy above, the same seeds:
// 63k-124k and -33.8 to -43.7.
TEST(LearningTest, PpoWithAPolicyPerAgentLearnsCooperativeNavigationWithin600kAgentSteps) {
  std::string summary;
  EXPECT_GE(LaunchUntil("cooperative_navigation_policies", "deploy/configs/cooperative_navigation_policies.textpb",
                        600000, -42.0, /*num_actors=*/2, /*wall_seconds=*/nullptr, &summary),
            -42.0);
  // Each policy has its own versions, and the evaluator reports each.
  std::smatch run_dir;
  ASSERT_TRUE(std::regex_search(summary, run_dir, std::regex("\"run_dir\": \"([^\"]+)\""))) << summary;
  const std::string learner = ReadFile(run_dir[1].str() + "/final-metrics/learner.prom");
  for (const std::string policy : {"agent_0", "agent_1", "agent_2"}) {
    EXPECT_NE(learner.find("rill_learner_updates_total{policy=\"" + policy + "\"}"), std::string::npos) << learner;
  }
  EXPECT_NE(ReadFile(run_dir[1].str() + "/metrics/evaluator.jsonl").find("\"policy/agent_2/return\": "),
            std::string::npos);
}

TEST(LearningTest, MappoLearnsCooperativeNavigationWithin600kAgentSteps) {
  EXPECT_GE(LaunchUntil("cooperative_navigation_mappo", "deploy/configs/cooperative_navigation_mappo.textpb", 600000,
                        -38.0),
            -38.0);
}

// MADDPG (Lowe et al. 2017) with the paper's settings on cooperative
// navigation: each agent's actor sees its own observation, each critic all
// of them, on joint transitions of the env's 3 agents. An evaluation
// round's return is the mean over the agents of their episode's reward
// (uniform random: about -60; the shared PPO policy above: -42). Seed 1
// evaluated -30.1 after 152k env steps and -21 at 625k (89 s on 2 cores).
TEST(LearningTest, MaddpgLearnsCooperativeNavigationWithin400kEnvSteps) {
  EXPECT_GE(LaunchUntil("cooperative_navigation_maddpg", "deploy/configs/cooperative_navigation_maddpg.textpb", 400000,
                        -30.0, /*num_actors=*/1),
            -30.0);
}

// Self-play in its simplest form: one PPO policy plays both sides of
// PongDuel-v0 and is evaluated as player_0 against the env's scripted
// player (skill 0.7; eval.scripted_agents). A round's mean return is
// (wins - losses) / games, so 0.6 with no draws is an 80% win rate. Seeds
// 1-3 evaluated 1.0 (20 of 20 games) at their first round, after 52k-144k
// steps (11-12 s); the policy against itself draws every game at the
// 400-step limit.
TEST(LearningTest, PpoInSelfPlayBeatsPongDuelsScriptedPlayerInEightyPercentOfGames) {
  EXPECT_GE(LaunchUntil("pong_duel_ppo", "deploy/configs/pong_duel_ppo.textpb", 400000, 0.6), 0.6);
}

// Self-play against a pool of past versions (self_play): the policy trains
// on one seat of each env, its opponent the newest version 80% of the
// time and otherwise one of the learner's last 10 snapshots. Evaluated as
// above against the scripted player; seeds 1-4 won 20 of 20 games at
// their first round, after 104k-133k env steps (8-32 s).
TEST(LearningTest, PpoAgainstAPoolOfPastSelvesBeatsPongDuelsScriptedPlayerInEightyPercentOfGames) {
  EXPECT_GE(LaunchUntil("pong_duel_self_play", "deploy/configs/pong_duel_self_play.textpb", 400000, 0.6), 0.6);
}

// The best evaluation of a run (its plots/eval.csv, every round's mean
// return), from the run directory its summary names.
// Every evaluation round of a run (its plots/eval.csv): the best mean
// return, and the curve as "env_steps:return" pairs for failure messages.
struct EvaluationCurve {
  double best = -1e9;
  int rounds = 0;
  std::string text;
  std::vector<std::pair<int64_t, double>> points;  // (env steps, mean return) per round
  // The mean of the rounds at or before `steps` env steps.
  double MeanUpTo(int64_t steps) const {
    double sum = 0;
    int n = 0;
    for (const auto& [at, value] : points) {
      if (at <= steps) sum += value, ++n;
    }
    return n > 0 ? sum / n : std::nan("");
  }
};

EvaluationCurve EvaluationRounds(const std::string& summary) {
  EvaluationCurve curve;
  std::smatch match;
  if (!std::regex_search(summary, match, std::regex("\"run_dir\": \"([^\"]+)\""))) {
    ADD_FAILURE() << "no run_dir in the summary: " << summary;
    return curve;
  }
  std::ifstream in(match[1].str() + "/plots/eval.csv");
  std::string line;
  std::getline(in, line);  // seconds,env_steps,learner_updates,parameter_version,return_mean
  while (std::getline(in, line)) {
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    if (fields.size() < 5) continue;
    const double value = std::stod(fields.back());
    curve.best = std::max(curve.best, value);
    ++curve.rounds;
    curve.points.emplace_back(std::stoll(fields[1]), value);
    absl::StrAppend(&curve.text, curve.text.empty() ? "" : " ", fields[1], ":", absl::StrFormat("%.0f", value));
  }
  EXPECT_GE(curve.rounds, 1) << "no evaluation round in " << match[1].str();
  return curve;
}

// Memory: CartPole observed as [x, theta] only. The LSTM run carries each
// env's core state in the actors, records it at every unroll's start and
// re-runs the core over the unrolls in the learner; the feed-forward run of
// the same settings sees one position and angle at a time. A policy that
// balances can still collapse late (seeds 1-8 to a 400,000-step budget
// ended at 291, 500, 500, 497, 500, 500, 103 and 500), so the test asserts
// what the issue asks, an evaluation >= 400 within the budget, 800,000 env
// steps: seeds 1-12 met it at 104k-373k (16-54 s). With 400,000, 19 runs
// met it by 347k and one, in CI, peaked at 372; with 600,000, seed 4 took
// 513k. The MLP's 3 runs to 800,000 never went above 49.
TEST(LearningTest, PpoWithAnLstmBalancesCartPoleWithoutVelocitiesWhereAnMlpCannot) {
  double wall = 0;
  std::string summary;
  LaunchUntil("memory-lstm", "deploy/configs/memory_cartpole_lstm.textpb", 800000, 400.0, /*num_actors=*/4, &wall,
              &summary);
  const EvaluationCurve lstm = EvaluationRounds(summary);
  EXPECT_GE(lstm.best, 400.0) << "LSTM evaluations (env steps:return): " << lstm.text;
  EXPECT_LE(wall, 240.0);
  LaunchAndEvaluate("memory-mlp", "deploy/configs/memory_cartpole_mlp.textpb", 800000, /*num_actors=*/4, nullptr,
                    &summary);
  const EvaluationCurve mlp = EvaluationRounds(summary);
  EXPECT_LT(mlp.best, 100.0) << "MLP evaluations (env steps:return): " << mlp.text;
}

// Action masks (MaskedPick-v0, envs/games/masked_pick.h): the masked
// policy never picks a forbidden item, so its first evaluation is already
// the random-among-pickable 2.0, and it reaches 2.45 (the best picks score
// 2.57) within 40,000 env steps; seeds 1-4 reached it at 10k-16k (about 3 s
// each). The same run with env.ignore_action_mask must learn the mask from
// its observation: its first evaluations score -0.6 to 1.8 (forbidden picks
// pay -1 and end the episode), and of seeds 1-4 two reached 2.45 within
// 40,000 env steps (at 16k and 22k) and two never went above 2.42.
TEST(LearningTest, PpoWithAnActionMaskPicksWellFromTheStartAndSoonerThanWithoutIt) {
  std::string summary;
  EXPECT_GE(LaunchUntil("masked-pick", "deploy/configs/masked_pick_ppo.textpb", 40000, 2.45, /*num_actors=*/2,
                        nullptr, &summary),
            2.45);
  const EvaluationCurve masked = EvaluationRounds(summary);
  ASSERT_FALSE(masked.points.empty());
  EXPECT_GE(masked.points.front().second, 1.9) << "masked evaluations (env steps:return): " << masked.text;
  LaunchAndEvaluate("masked-pick-ignored", "deploy/configs/masked_pick_ppo.textpb", 10000, /*num_actors=*/2, nullptr,
                    &summary, {"--set=env.ignore_action_mask=true"});
  const EvaluationCurve ignored = EvaluationRounds(summary);
  ASSERT_FALSE(ignored.points.empty());
  EXPECT_LT(ignored.points.front().second, 0.5) << "without the mask, forbidden picks cost: " << ignored.text;
  EXPECT_GT(masked.MeanUpTo(10000), ignored.MeanUpTo(10000))
      << "masked " << masked.text << "; without the mask " << ignored.text;
}

// The same task in Python (examples/python/masked_pick.py, a Dict
// observation with its "action_mask"), served by the Python env server
// over each transport: the server's mask matches the config's, the
// first evaluation is already the random-among-pickable 2.0, and 2.4
// comes within 20,000 env steps (2.47 at 20k over both, 3.4-3.7 s).
TEST(LearningTest, PpoHonoursAPythonEnvsActionMaskOverGrpcAndSharedMemory) {
  for (const char* shared_memory : {"false", "true"}) {
    SCOPED_TRACE(shared_memory);
    std::string summary;
    EXPECT_GE(LaunchUntil(absl::StrCat("masked-pick-python-", shared_memory),
                          "deploy/configs/masked_pick_ppo_python.textpb", 20000, 2.4, /*num_actors=*/2, nullptr,
                          &summary, {absl::StrCat("--set=env.remote.shared_memory=", shared_memory)}),
              2.4);
    const EvaluationCurve curve = EvaluationRounds(summary);
    ASSERT_FALSE(curve.points.empty());
    EXPECT_GE(curve.points.front().second, 1.9) << curve.text;
    EXPECT_THAT(summary, ::testing::HasSubstr("\"env_errors\": 0,"));
  }
}

// Masks of a multi-agent env (examples/python/pick_party.py: two pickers,
// each observing a Dict of "observation" and "action_mask", one leaving
// after a pick) on one PPO policy shared by both: the first evaluation is
// already the own-items-at-random 0.73 (unmasked runs start at -0.3 to
// -0.45), and 1.0 comes within 60,000 env steps (seeds 1-3 at 24k-32k;
// the best pick averages 1.10; unmasked runs reach 0.93-0.98 by 40k).
TEST(LearningTest, PpoSharedByAMultiAgentEnvsPickersHonoursEachAgentsMask) {
  for (const char* shared_memory : {"false", "true"}) {
    SCOPED_TRACE(shared_memory);
    std::string summary;
    EXPECT_GE(LaunchUntil(absl::StrCat("pick-party-", shared_memory), "deploy/configs/pick_party_ppo_python.textpb",
                          60000, 1.0, /*num_actors=*/2, nullptr, &summary,
                          {absl::StrCat("--set=env.remote.shared_memory=", shared_memory)}),
              1.0);
    const EvaluationCurve curve = EvaluationRounds(summary);
    ASSERT_FALSE(curve.points.empty());
    EXPECT_GE(curve.points.front().second, 0.65) << curve.text;
    EXPECT_THAT(summary, ::testing::HasSubstr("\"env_errors\": 0,"));
  }
}

// The same pickers as one joint row for MADDPG (env.joint_agents): each
// picker's mask reaches its actor's Gumbel-softmax and argmax, so the
// first evaluation is already about the 0.73 of own items at random
// (without the mask -0.58), and seeds 1-2 made 0.94-0.96 at 100,000 env
// steps (12 s a run).
TEST(LearningTest, MaddpgOnJointRowsHonoursEachPickersMask) {
  std::string summary;
  EXPECT_GE(LaunchUntil("pick-party-maddpg", "deploy/configs/pick_party_maddpg_python.textpb", 100000, 0.9,
                        /*num_actors=*/1, nullptr, &summary),
            0.9);
  const EvaluationCurve curve = EvaluationRounds(summary);
  ASSERT_FALSE(curve.points.empty());
  EXPECT_GE(curve.points.front().second, 0.6) << curve.text;
  EXPECT_THAT(summary, ::testing::HasSubstr("\"env_errors\": 0,"));
}

// Pixels end to end: MinAtar Breakout's uint8 [4, 10, 10] grids through
// uint8 unrolls, replay and the learner's conv torso (LibTorch), and the
// actors' own conv forward (no LibTorch). With the config's 4 unrolls per
// update and wider network, three runs on this 2-core machine reached the
// bar after 215,000-223,000 steps (an evaluation of 3.6-5.1, 35 s each);
// full 5M-step runs of seeds 1-5 evaluated at 6.0-13.2 near 1.1M steps and
// ended at 19.4-23.2. A random policy scores about 0.5.
// A Dict observation (Beacon-v0, envs/games/beacon.h): the conv torso on
// the image of where the agent is, the vector of where the beacon is
// beside its features. Walking straight there pays 0.93 on average; seeds
// 1-4 reached 0.85 at 98k-127k env steps (about 6 s each) and ended at
// 0.91-0.93 after 200k. On one leaf alone the same PPO cannot: its best
// evaluation over 200k steps was -0.01 and 0.08 from the image
// (BeaconImage-v0), -0.53 and -0.48 from the vector (BeaconPosition-v0,
// no torso), seeds 1-2. The one-leaf runs are the same config with --set
// (env.name, and network.torso for the vector): --set changes the config
// as given, so the replay signature follows the env.
TEST(LearningTest, PpoOnADictObservationWalksToTheBeaconWhereEitherLeafAloneCannot) {
  EXPECT_GE(LaunchUntil("beacon", "deploy/configs/beacon_ppo.textpb", 200000, 0.85), 0.85);
  struct Alone {
    const char* env;
    std::vector<std::string> settings;
  };
  for (const Alone& alone : {Alone{"BeaconImage-v0", {"--set=env.name=BeaconImage-v0"}},
                             Alone{"BeaconPosition-v0", {"--set=env.name=BeaconPosition-v0; network.torso=NO_TORSO"}}}) {
    SCOPED_TRACE(alone.env);
    std::string summary;
    LaunchAndEvaluate(absl::StrCat("beacon-", alone.env), "deploy/configs/beacon_ppo.textpb", 120000,
                      /*num_actors=*/2, nullptr, &summary, alone.settings);
    EXPECT_THAT(summary, ::testing::HasSubstr(absl::StrCat("\"env\": \"", alone.env, "\"")));
    const EvaluationCurve curve = EvaluationRounds(summary);
    ASSERT_FALSE(curve.points.empty());
    EXPECT_LT(curve.best, 0.5) << "one leaf alone: " << curve.text;
  }
}

// Two image leaves (BeaconCameras-v0: where the agent is, where the
// beacon is, uint8 [1, 7, 7] each), a torso on each
// (PolicySpec.image_channels) in the learner, the actors and the
// evaluator. Seeds 1-4 reached 0.85 at 57k-113k env steps and ended at
// 0.911-0.933 after 200k (12 s each).
TEST(LearningTest, PpoWithATorsoPerImageLeafWalksToTheBeacon) {
  std::string summary;
  EXPECT_GE(LaunchUntil("beacon-cameras", "deploy/configs/beacon_ppo.textpb", 200000, 0.85, /*num_actors=*/2,
                        nullptr, &summary, {"--set=env.name=BeaconCameras-v0"}),
            0.85);
  EXPECT_THAT(summary, ::testing::HasSubstr("\"env\": \"BeaconCameras-v0\""));
}

// The same task in Python (examples/python/beacon.py, a Gymnasium-style
// Dict of a uint8 image, a float32 vector and an action mask of the moves
// that stay on the grid), served by the Python env server over each
// transport: each row the image's bytes then the vector's and the mask's
// floats (proto/env.proto, DictSpace). Seed 1 reached 0.85 at 97k env
// steps through shared memory (9.2k env steps/s) and at 96k over gRPC
// (7.6k), both ending at 0.93 after 200k.
TEST(LearningTest, PpoOnAPythonEnvsDictObservationWalksToTheBeaconOverGrpcAndSharedMemory) {
  for (const char* shared_memory : {"false", "true"}) {
    SCOPED_TRACE(shared_memory);
    EXPECT_GE(LaunchUntil(absl::StrCat("beacon-python-", shared_memory), "deploy/configs/beacon_ppo_python.textpb",
                          200000, 0.85, /*num_actors=*/2, nullptr, nullptr,
                          {absl::StrCat("--set=env.remote.shared_memory=", shared_memory)}),
              0.85);
  }
}

TEST(LearningTest, ImpalaWithAConvTorsoScoresOnMinAtarBreakoutWithin1MSteps) {
  EXPECT_GE(LaunchUntil("minatar_breakout", "deploy/configs/minatar_breakout_impala.textpb", 1000000, 3.0,
                        /*num_actors=*/4),
            3.0);
}

// The same config on a Python CartPole (examples/python/cartpole.py) served
// by `python3 -m rill.env_server`: the 4 actors and the evaluator step their
// envs there over rill.v1.EnvService. Same bar as the C++ env.
TEST(LearningTest, ImpalaLearnsAPythonCartPoleServedRemotelyWithin500kSteps) {
  EnvServerProcess server("cartpole:make");
  ASSERT_FALSE(server.address().empty());
  std::string text = ReadFile("deploy/configs/cartpole_impala.textpb");
  const std::string env = "env { name: \"CartPole-v1\" }";
  ASSERT_NE(text.find(env), std::string::npos) << "cartpole_impala.textpb changed; update this test";
  text.replace(text.find(env), env.size(), server.EnvSection());
  const std::string path = TempDir("impala-remote-config") + "/config.textpb";
  std::ofstream(path) << text;
  EXPECT_GE(LaunchUntil("impala_remote", path, 500000, 450.0, /*num_actors=*/4), 450.0);
}

// SAC on Hover-v0, an env loaded from a plugin library built against the
// public header alone (examples/plugin/hover.cc): its PD controller scores
// about 176 and a random throttle -41; SAC passed 150 within 6,000 env steps
// in every run (see the note for the spread).
// A copy of shipped `config` whose plugin library is the test's built
// `library` (examples/plugin/), not bazel-bin's; "" when the config names
// another.
std::string WithPluginFromRunfiles(const std::string& config, const std::string& library) {
  std::string text = ReadFile(config);
  const std::string shipped = "bazel-bin/examples/plugin/" + library;
  if (text.find(shipped) == std::string::npos) return "";
  text.replace(text.find(shipped), shipped.size(),
               absl::StrCat(std::getenv("TEST_SRCDIR"), "/rill/examples/plugin/", library));
  const std::string path = TempDir(library + "-config") + "/config.textpb";
  std::ofstream(path) << text;
  return path;
}

TEST(LearningTest, SacLearnsThePluginHoverEnvWithin6kSteps) {
  const std::string path = WithPluginFromRunfiles("deploy/configs/hover_sac_plugin.textpb", "libhover.so");
  ASSERT_FALSE(path.empty()) << "hover_sac_plugin.textpb changed; update this test";
  EXPECT_GE(LaunchUntil("sac_plugin", path, 6000, 150.0), 150.0);
}

// PPO on Gate-v0, a plugin env whose library declares an action mask (ABI
// version 3, examples/plugin/gate.c): its policy never passes a locked
// gate, so its first evaluation is already about the 5.0 of a uniform pick
// among the open ones (the same run without the mask first scores -1.13),
// and it takes the larger open prizes from there: seeds 1-2 passed 6.8 at
// 110k-125k env steps and ended at 7.01 and 7.06 at 200k (6 s each; the
// best possible is about 7.5).
TEST(LearningTest, PpoOnAMaskedPluginEnvNeverPassesALockedGate) {
  const std::string path = WithPluginFromRunfiles("deploy/configs/gate_ppo_plugin.textpb", "libgate.so");
  ASSERT_FALSE(path.empty()) << "gate_ppo_plugin.textpb changed; update this test";
  std::string summary;
  EXPECT_GE(LaunchUntil("masked_plugin", path, 200000, 6.8, /*num_actors=*/2, nullptr, &summary), 6.8);
  const EvaluationCurve curve = EvaluationRounds(summary);
  ASSERT_FALSE(curve.points.empty());
  EXPECT_GE(curve.points.front().second, 4.8) << "evaluations (env steps:return): " << curve.text;
}

// PPO on Beacon-v0's rules from a C plugin library with a Dict observation
// (ABI version 4, examples/plugin/beacon.c): an image, a vector and an
// action mask, one buffer per leaf in the library and one row in Rill.
// Seeds 1-4 passed 0.85 at 84k-113k env steps and ended at 0.924-0.927 at
// 200k (9 s each; walking straight pays 0.93).
TEST(LearningTest, PpoLearnsADictObservationFromAPluginEnv) {
  const std::string path = WithPluginFromRunfiles("deploy/configs/beacon_ppo_plugin.textpb", "libbeacon.so");
  ASSERT_FALSE(path.empty()) << "beacon_ppo_plugin.textpb changed; update this test";
  EXPECT_GE(LaunchUntil("beacon_plugin", path, 200000, 0.85), 0.85);
}

// MAPPO on Rendezvous-v0, three agents of a multi-agent env from a C plugin
// library (examples/plugin/rendezvous.c, ABI version 2), rows of one shared
// policy with a value on the env's global state. Per scout and episode,
// standing still scores about -14 and heading for the other two at full
// speed about -2; 5 runs to 150,000 agent-steps first evaluated at -1.4 to
// -2.0 after 40,000-50,000 (10 s each).
TEST(LearningTest, MappoLearnsAMultiAgentPluginEnvWithin100kAgentSteps) {
  const std::string path =
      WithPluginFromRunfiles("deploy/configs/rendezvous_ppo_plugin.textpb", "librendezvous.so");
  ASSERT_FALSE(path.empty()) << "rendezvous_ppo_plugin.textpb changed; update this test";
  std::string summary;
  EXPECT_GE(LaunchUntil("mappo_plugin", path, 100000, -4.0, /*num_actors=*/2, /*wall_seconds=*/nullptr, &summary),
            -4.0);
  // Each scout's series, by the agent label.
  std::smatch run_dir;
  ASSERT_TRUE(std::regex_search(summary, run_dir, std::regex("\"run_dir\": \"([^\"]+)\""))) << summary;
  const std::string actor_metrics = ReadFile(run_dir[1].str() + "/final-metrics/actor-0.prom");
  const std::string evaluator_metrics = ReadFile(run_dir[1].str() + "/final-metrics/evaluator.prom");
  // The evaluator's gauges hold its last round, which is its scalar log's
  // last line; the summary's round may be the one before (the evaluator
  // can finish another round while the launcher stops the run).
  const std::vector<std::map<std::string, double>> rounds =
      ReadScalarLog(run_dir[1].str() + "/metrics/evaluator.jsonl");
  ASSERT_FALSE(rounds.empty());
  ASSERT_TRUE(rounds.back().count("return_mean"));
  const double last_round = rounds.back().at("return_mean");
  for (const char* scout : {"scout_0", "scout_1", "scout_2"}) {
    const std::string labels = absl::StrCat("{agent=\"", scout, "\",role=\"actor\"} ");
    const std::string episodes = absl::StrCat("rill_actor_agent_episodes_total", labels);
    const size_t at = actor_metrics.find(episodes);
    ASSERT_NE(at, std::string::npos) << actor_metrics;
    EXPECT_GT(std::stod(actor_metrics.substr(at + episodes.size())), 0) << actor_metrics;
    EXPECT_NE(actor_metrics.find(absl::StrCat("rill_actor_agent_episode_return", labels)), std::string::npos);
    std::smatch mean;
    ASSERT_TRUE(std::regex_search(
        evaluator_metrics, mean,
        std::regex(absl::StrCat("rill_eval_agent_return_mean\\{agent=\"", scout, "\"\\} ([-0-9.e]+)"))))
        << evaluator_metrics;
    // A shared reward: every scout's mean is the round's.
    EXPECT_NEAR(std::stod(mean[1].str()), last_round, 0.01) << evaluator_metrics;
  }
}

// The same with central inference: the learner acts for all 32 envs in
// batches and returns the behaviour log-probabilities V-trace needs.
TEST(LearningTest, ImpalaWithCentralInferenceLearnsCartPoleWithin500kSteps) {
  std::string summary;
  EXPECT_GE(LaunchUntil("impala_central", "deploy/configs/cartpole_impala_central.textpb", 500000, 450.0,
                        /*num_actors=*/4, nullptr, &summary),
            450.0);
  std::smatch batch;
  ASSERT_TRUE(std::regex_search(summary, batch, std::regex("\"inference_batch_rows_mean\": ([0-9.]+)"))) << summary;
  EXPECT_GE(std::stod(batch[1].str()), 8.0) << "each request carries an actor's 8 envs";
}

// SAC on a Python env of Rill's own (examples/python/heated_room.py) served
// by `python3 -m rill.env_server`, with the shipped config's spaces (an
// actor refuses a server whose spaces differ). Over 100 episodes a
// proportional thermostat scores -52 and a planner that knows the model and
// the schedule -28. The final evaluation (50 episodes, SE about 2) of 11
// runs of 20,000 steps was -30.0 to -34.4 (34-64 s at load 4-9).
TEST(LearningTest, SacBeatsAThermostatOnAPythonHeatedRoomServedRemotelyWithin20kSteps) {
  EnvServerProcess server("heated_room:make");
  ASSERT_FALSE(server.address().empty());
  std::string text = ReadFile("deploy/configs/heated_room_sac_remote.textpb");
  const std::string address = "address: \"127.0.0.1:50061\"";
  ASSERT_NE(text.find(address), std::string::npos) << "heated_room_sac_remote.textpb changed; update this test";
  text.replace(text.find(address), address.size(), absl::StrCat("address: \"", server.address(), "\""));
  const std::string path = TempDir("heated-room-config") + "/config.textpb";
  std::ofstream(path) << text;
  EXPECT_GE(LaunchUntil("sac_heated_room", path, 20000, -42.0), -42.0);
}

// SAC-discrete on images: Catch in pixels (examples/python/pixel_catch.py,
// uint8 [1, 10, 5], 10 balls an episode: random play -5.6, a perfect catcher
// 10) served by `python3 -m rill.env_server`; the pixels reach replay as
// uint8 and the networks as x / 255. Six runs (seeds 1-6) of the shipped
// config all ended at 10.0, in 37-75 s at load 5-12.
TEST(LearningTest, SacDiscreteCatchesTheBallsOfPixelCatchServedRemotelyWithin20kSteps) {
  EnvServerProcess server("pixel_catch:make");
  ASSERT_FALSE(server.address().empty());
  std::string text = ReadFile("deploy/configs/pixel_catch_sac_discrete_python.textpb");
  const std::regex command("command: \"[^\"]*\"");
  ASSERT_TRUE(std::regex_search(text, command)) << "pixel_catch_sac_discrete_python.textpb changed; update this test";
  text = std::regex_replace(text, command, absl::StrCat("address: \"", server.address(), "\""));
  const std::string path = TempDir("pixel-catch-config") + "/config.textpb";
  std::ofstream(path) << text;
  EXPECT_GE(LaunchUntil("sac_discrete_pixel_catch", path, 20000, 9.0), 9.0);
}

// DrQ-v2 learns Pendulum from its own renders (env.pixels: 48x48 grayscale,
// 3 frames, action repeat 2), through a conv encoder trained by the critic
// loss with random-shift augmentation. A random policy scores -1,200 to
// -1,500. Run with --deterministic (actor, table and learner taking turns
// on one thread), so the test sees the same run every time: asynchronous
// runs of seed 1 ended at 8,000 steps anywhere from -127 to -1,563 (two of
// five above -700; the learner's interleaving with the actor differs run
// to run). Deterministic, seed 1 ended at -122.0 run by hand (twice, the
// same policy digest, with two builds) and at -146.7 under bazel test, in
// 190-215 s on 2 cores; seeds 2 and 3 at -882.4 and -31.6. Half the
// updates (samples_per_insert 64: the paper's update every 2 steps) would
// halve the time, but seeds 1 and 2 then ended at -1,252.5 and -987.5.
// Its own target (deterministic_learning_test), beside the other tests.
TEST(DeterministicLearningTest, DrqV2LearnsPendulumFromPixelsWithin8kSteps) {
  double wall = 0;
  EXPECT_GE(LaunchAndEvaluate("drqv2_pixels", "deploy/configs/pendulum_pixels_drqv2.textpb", 8000, /*num_actors=*/1,
                              &wall, nullptr, {"--deterministic"}),
            -700.0);
  std::printf("drqv2 pixels wall: %.1f s\n", wall);
}

// Pixels beside the state (env.pixels.state): one 48x48 grayscale frame,
// no stack, and Pendulum's own (cos, sin, angular velocity) as a flat leaf
// past DrQ-v2's trunk. Deterministic, 8,000 agent steps (about 3 min):
// seeds 1 and 2 ended at -140.1 and -296.5 (the frame alone, seed 1:
// -1,574.7).
TEST(DeterministicLearningTest, DrqV2LearnsPendulumFromAFrameBesideItsState) {
  double wall = 0;
  std::string summary;
  EXPECT_GE(LaunchAndEvaluate("drqv2_pixels_state", "deploy/configs/pendulum_pixels_state_drqv2.textpb", 8000,
                              /*num_actors=*/1, &wall, &summary, {"--deterministic"}),
            -700.0);
  EXPECT_THAT(summary, ::testing::HasSubstr("\"algorithm\": \"drqv2\""));
  std::printf("drqv2 pixels beside the state wall: %.1f s\n", wall);
}

}  // namespace
}  // namespace rill::testing
