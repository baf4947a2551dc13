// `rill eval`'s work, in process, on real learner checkpoints of
// hand-made CartPole policies whose returns are known: a balancing
// controller holds every episode to the 500-step limit, and always pushing
// left drops the pole within a dozen steps. What it prints agrees with what
// it measured, every spelling of the folder finds the same checkpoint, and
// bad input is refused naming the problem. Cross-play runs on MADDPG
// checkpoints of predator-prey whose prey is made to stay or to run, head
// to head on PongDuel checkpoints of paddles that track the ball or not.
#include "roles/eval_main.h"

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "actor/ratings.h"
#include "common/video_testing.h"
#include "envs/catalog.h"
#include "envs/multi_agent/joint.h"
#include "envs/registry.h"
#include "envs/render.h"
#include "experiment/config.h"
#include "gtest/gtest.h"
#include "learner/algorithms/maddpg.h"
#include "learner/checkpoint.h"
#include "policies/hand_set.h"
#include "policies/registry.h"
#include "policies/spec.h"
#include "proto/config.pb.h"
#include "proto/parameters.pb.h"
#include "roles/render_main.h"
#include "torch/torch.h"

namespace rill::roles {
namespace {

namespace fs = std::filesystem;

// A config file with `text` in the test's folder; its path.
std::string ConfigFile(const std::string& name, const std::string& text) {
  const std::string path = (fs::path(std::getenv("TEST_TMPDIR")) / name).string();
  std::ofstream(path) << text;
  return path;
}

std::string CartPoleConfig() {
  return ConfigFile("cartpole.textpb", "name: \"cartpole\" env { name: \"CartPole-v1\" } learner { impala {} }");
}
std::string PendulumConfig() { return ConfigFile("pendulum.textpb", "name: \"pendulum\" env { name: \"Pendulum-v1\" }"); }

envs::EnvSpec CartPoleSpaces(int obs_dim) {
  envs::EnvSpec env;
  env.name = "CartPole-v1";
  env.observation_shape = {obs_dim};
  env.discrete = true;
  env.num_actions = 2;
  return env;
}

// A categorical policy with one hidden layer of two units over CartPole's
// (x, x_dot, theta, theta_dot): s = `gains` . obs, hidden (relu(s),
// relu(-s)), logits (relu(-s), relu(s)) plus `bias`: action 1 (push
// right) where s > 0.
v1::ParameterSet LinearController(const std::vector<float>& gains, const std::vector<float>& bias,
                                  int obs_dim = 4) {
  v1::PolicySpec spec = policies::PolicySpecFor("categorical", CartPoleSpaces(obs_dim), {2});
  v1::ParameterSet params = *(*policies::MakePolicy(spec, /*seed=*/1))->ExportParameters();
  std::vector<float> hidden(gains);
  for (float g : gains) hidden.push_back(-g);
  policies::SetTensor(&params, "policy.layers.0.weight", hidden);
  policies::SetTensor(&params, "policy.layers.0.bias", {0, 0});
  policies::SetTensor(&params, "policy.layers.1.weight", {0, 1, 1, 0});
  policies::SetTensor(&params, "policy.layers.1.bias", bias);
  return params;
}

v1::ParameterSet Balancing() { return LinearController({1, 1, 10, 3}, {0, 0}); }
v1::ParameterSet AlwaysLeft() { return LinearController({0, 0, 0, 0}, {1, 0}); }

// A run folder as `rill launch --run_dir` leaves it: RUN/config.textpb
// and the learner's newest checkpoint after `updates` updates.
std::string RunFolder(const std::string& name, const v1::ParameterSet& policy, int64_t updates = 781,
                      const std::string& config = CartPoleConfig()) {
  const fs::path run = fs::path(std::getenv("TEST_TMPDIR")) / name;
  fs::remove_all(run);
  fs::create_directories(run);
  absl::StatusOr<v1::ExperimentConfig> loaded = experiment::LoadExperimentConfig(config);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(experiment::WriteExperimentConfig(*loaded, (run / "config.textpb").string()).ok());
  const absl::Status written = learner::WriteCheckpoint(
      (run / "checkpoints/learner/latest").string(),
      {{"impala.updates", torch::tensor(updates, torch::kInt64)}}, policy);
  EXPECT_TRUE(written.ok()) << written;
  return run.string();
}

EvalOptions Options(const std::string& dir, int episodes) {
  EvalOptions options;
  options.checkpoint_dir = dir;
  options.episodes = episodes;
  return options;
}

TEST(EvalTest, BalancingPolicyHoldsEveryEpisodeToTheTimeLimit) {
  const std::string run = RunFolder("balancing", Balancing());
  absl::StatusOr<EvalReport> report = EvaluateCheckpoint(Options(run, 5));
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->episodes.size(), 5u);
  for (const envs::EpisodeRecord& episode : report->episodes) {
    EXPECT_EQ(episode.episode_return, 500.0);
    EXPECT_EQ(episode.length, 500);
    EXPECT_FALSE(episode.terminated);
  }
  EXPECT_EQ(report->return_mean, 500.0);
  EXPECT_EQ(report->return_std, 0.0);
  EXPECT_EQ(report->length_mean, 500.0);
  EXPECT_EQ(report->env, "CartPole-v1");
  EXPECT_EQ(report->parameter_version, 782);
  EXPECT_EQ(fs::path(report->checkpoint), fs::path(run) / "checkpoints/learner/latest");
  EXPECT_EQ(fs::path(report->config), fs::absolute(fs::path(run) / "config.textpb"));
}

TEST(EvalTest, AlwaysPushingLeftDropsThePoleWithinADozenSteps) {
  absl::StatusOr<EvalReport> report = EvaluateCheckpoint(Options(RunFolder("left", AlwaysLeft()), 8));
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->episodes.size(), 8u);
  for (const envs::EpisodeRecord& episode : report->episodes) {
    EXPECT_GE(episode.length, 5);
    EXPECT_LE(episode.length, 12);
    EXPECT_EQ(episode.episode_return, episode.length);  // CartPole pays 1 a step
    EXPECT_TRUE(episode.terminated);
  }
  EXPECT_LT(report->return_mean, 12.0);
  EXPECT_LE(report->return_min, report->return_mean);
  EXPECT_GE(report->return_max, report->return_mean);
}

// The printed lines: one per episode, the summary, the JSON object last;
// its mean is the mean of the printed returns.
TEST(EvalTest, PrintedSummaryAgreesWithThePrintedEpisodes) {
  absl::StatusOr<EvalReport> report = EvaluateCheckpoint(Options(RunFolder("printed", AlwaysLeft()), 6));
  ASSERT_TRUE(report.ok()) << report.status();
  const std::vector<std::string> lines = absl::StrSplit(FormatEvalReport(*report), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 6u + 2u);
  double sum = 0;
  for (int i = 0; i < 6; ++i) {
    const std::string prefix = absl::StrCat("episode ", i + 1, ": return ");
    ASSERT_EQ(lines[i].rfind(prefix, 0), 0u) << lines[i];
    double value = 0;
    ASSERT_TRUE(absl::SimpleAtod(lines[i].substr(prefix.size(), lines[i].find(',') - prefix.size()), &value))
        << lines[i];
    sum += value;
  }
  const std::string mean = absl::StrFormat("%.1f", sum / 6);
  EXPECT_EQ(lines[6].rfind(absl::StrCat("eval: 6 episodes of CartPole-v1, mean return ", mean, " ± "), 0), 0u)
      << lines[6];
  EXPECT_NE(lines[6].find("policy version 782, from "), std::string::npos) << lines[6];
  const std::string& json = lines[7];
  EXPECT_EQ(json.rfind("{\"episodes\":6,\"return_mean\":", 0), 0u) << json;
  double json_mean = 0;
  const size_t at = json.find(':', json.find("\"return_mean\"")) + 1;
  ASSERT_TRUE(absl::SimpleAtod(json.substr(at, json.find(',', at) - at), &json_mean)) << json;
  EXPECT_NEAR(json_mean, sum / 6, 1e-9);
  EXPECT_NE(json.find("\"parameter_version\":782,\"env\":\"CartPole-v1\",\"checkpoint\":\""), std::string::npos)
      << json;
  EXPECT_EQ(json.back(), '}');
}

TEST(EvalTest, RunFolderLearnerFolderAndCheckpointGiveTheSameEvaluation) {
  const std::string run = RunFolder("spellings", AlwaysLeft());
  absl::StatusOr<EvalReport> from_run = EvaluateCheckpoint(Options(run, 4));
  ASSERT_TRUE(from_run.ok()) << from_run.status();
  for (const std::string& dir : {run + "/checkpoints/learner", run + "/checkpoints/learner/latest"}) {
    absl::StatusOr<EvalReport> report = EvaluateCheckpoint(Options(dir, 4));
    ASSERT_TRUE(report.ok()) << dir << ": " << report.status();
    EXPECT_EQ(fs::path(report->checkpoint), fs::path(from_run->checkpoint)) << dir;
    EXPECT_EQ(report->config, from_run->config) << dir;
    EXPECT_EQ(report->return_mean, from_run->return_mean) << dir;
  }
}

TEST(EvalTest, SeedChoosesTheEpisodes) {
  const std::string run = RunFolder("seeds", AlwaysLeft());
  EvalOptions options = Options(run, 16);
  options.seed = 1;
  const std::vector<envs::EpisodeRecord> first = EvaluateCheckpoint(options)->episodes;
  const std::vector<envs::EpisodeRecord> again = EvaluateCheckpoint(options)->episodes;
  options.seed = 2;
  const std::vector<envs::EpisodeRecord> other = EvaluateCheckpoint(options)->episodes;
  std::vector<int> lengths[3];
  for (const auto& [records, into] : {std::pair{&first, 0}, std::pair{&again, 1}, std::pair{&other, 2}}) {
    for (const envs::EpisodeRecord& record : *records) lengths[into].push_back(record.length);
  }
  EXPECT_EQ(lengths[0], lengths[1]);
  EXPECT_NE(lengths[0], lengths[2]);
}

// Logits (0, 0): the deterministic action is always the first (push
// left: the pole falls within a dozen steps), a drawn one a fair coin
// (uniform random play: about 22 steps an episode). The draws follow the
// seed, and the printed lines and the JSON say they were drawn.
TEST(EvalTest, SampledActionsDrawFromThePolicyAndFollowTheSeed) {
  const std::string run = RunFolder("coin", LinearController({0, 0, 0, 0}, {0, 0}));
  EvalOptions options = Options(run, 16);
  options.seed = 3;
  absl::StatusOr<EvalReport> argmax = EvaluateCheckpoint(options);
  ASSERT_TRUE(argmax.ok()) << argmax.status();
  EXPECT_FALSE(argmax->sampled_actions);
  EXPECT_LE(argmax->return_max, 12.0);
  options.sample_actions = true;
  absl::StatusOr<EvalReport> drawn = EvaluateCheckpoint(options);
  ASSERT_TRUE(drawn.ok()) << drawn.status();
  EXPECT_TRUE(drawn->sampled_actions);
  EXPECT_GT(drawn->return_mean, 15.0);
  EXPECT_GT(drawn->return_max, 30.0);
  absl::StatusOr<EvalReport> again = EvaluateCheckpoint(options);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->return_mean, drawn->return_mean);
  options.seed = 4;
  absl::StatusOr<EvalReport> other = EvaluateCheckpoint(options);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(other->return_mean, drawn->return_mean);

  const std::string printed = FormatEvalReport(*drawn);
  EXPECT_NE(printed.find(", sampled actions, from "), std::string::npos) << printed;
  EXPECT_NE(printed.find(",\"sampled_actions\":true"), std::string::npos) << printed;
  EXPECT_NE(FormatEvalReport(*argmax).find(",\"sampled_actions\":false"), std::string::npos);
}

TEST(EvalTest, FolderWithoutACheckpointIsNotFoundNamingWhatWasLookedFor) {
  const fs::path empty = fs::path(std::getenv("TEST_TMPDIR")) / "no_checkpoint";
  fs::create_directories(empty);
  absl::StatusOr<EvalReport> report = EvaluateCheckpoint(Options(empty.string(), 3));
  EXPECT_EQ(report.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(report.status().message().find((empty / "checkpoints/learner/latest/policy.pb").string()),
            std::string::npos)
      << report.status();
}

TEST(EvalTest, CheckpointWithoutARunConfigAsksForConfigAndRunsWithOne) {
  const fs::path checkpoint = fs::path(std::getenv("TEST_TMPDIR")) / "loose/a/b/c/latest";
  ASSERT_TRUE(learner::WriteCheckpoint(checkpoint.string(), {}, AlwaysLeft()).ok());
  absl::StatusOr<EvalReport> report = EvaluateCheckpoint(Options(checkpoint.string(), 2));
  EXPECT_EQ(report.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(report.status().message().find("--config"), std::string::npos) << report.status();

  EvalOptions options = Options(checkpoint.string(), 2);
  options.config = CartPoleConfig();
  report = EvaluateCheckpoint(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->episodes.size(), 2u);
  EXPECT_EQ(report->parameter_version, 0);  // no training state beside the policy
  EXPECT_NE(FormatEvalReport(*report).find("policy version unknown"), std::string::npos);
  EXPECT_NE(FormatEvalReport(*report).find("\"parameter_version\":null"), std::string::npos);
}

TEST(EvalTest, AnEnvsOwnFiguresArePrintedAndInTheJson) {
  EvalReport report;
  report.episodes = {envs::EpisodeRecord{-40, 25, false}, envs::EpisodeRecord{-30, 25, false}};
  report.return_mean = -35;
  report.env = "CooperativeNavigation-v0";
  report.env_metrics = {{"landmark_distance", 0.25}, {"collisions", 2}};
  const std::string text = FormatEvalReport(report);
  EXPECT_NE(text.find("eval: landmark_distance 0.25, collisions 2 (means over env episodes)\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find(",\"env_metrics\":{\"landmark_distance\":0.25,\"collisions\":2}}"), std::string::npos)
      << text;
  report.env_metrics.clear();
  EXPECT_EQ(FormatEvalReport(report).find("env_metrics"), std::string::npos) << "absent for an env without any";
}

TEST(EvalTest, PolicyForAnotherObservationSizeIsInvalidArgumentNamingBoth) {
  const std::string run = RunFolder("wrong_obs", LinearController({1, 1, 1}, {0, 0}, /*obs_dim=*/3));
  absl::StatusOr<EvalReport> report = EvaluateCheckpoint(Options(run, 2));
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(report.status().message());
  EXPECT_NE(message.find("categorical policy for obs 3"), std::string::npos) << message;
  EXPECT_NE(message.find("CartPole-v1 has obs 4"), std::string::npos) << message;
}

TEST(EvalTest, PolicyOfAnotherRunsEnvIsInvalidArgument) {
  EvalOptions options = Options(RunFolder("wrong_env", AlwaysLeft()), 2);
  options.config = PendulumConfig();
  absl::StatusOr<EvalReport> report = EvaluateCheckpoint(options);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("Pendulum-v1"), std::string::npos) << report.status();
}

TEST(EvalTest, MoreEpisodesThanLockstepEnvsAreInvalidArgument) {
  absl::StatusOr<EvalReport> report = EvaluateCheckpoint(Options(RunFolder("many", AlwaysLeft()), 1 << 20));
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("--episodes=1048576: "), std::string::npos) << report.status();
}

TEST(EvalTest, FewerThanOneEpisodeIsInvalidArgument) {
  absl::StatusOr<EvalReport> report = EvaluateCheckpoint(Options(RunFolder("zero", AlwaysLeft()), 0));
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("--episodes must be at least 1, got 0"), std::string::npos);
}

// Cross-play: two MADDPG runs of predator-prey. Their predators' networks
// are a learner's fresh ones; their prey (agent_0, the row's last agent)
// is made to stay put or to run up out of the arena, which costs it up to
// 10 a step, so which prey played shows in the returns.

std::string PredatorPreyConfig() {
  return ConfigFile("predator_prey.textpb",
                    "name: \"pp\" env { name: \"PredatorPrey-v0\" } network { hidden_sizes: 8 } "
                    "learner { maddpg {} }");
}

constexpr int kStay = 0, kRunUp = 4;  // PredatorPrey's actions: no-op, up

// What a MADDPG learner with networks from `seed` publishes, its prey's
// head biased to `prey_action`.
v1::ParameterSet PredatorPreyPolicy(uint64_t seed, int prey_action, std::vector<int> hidden = {8}) {
  const absl::StatusOr<envs::MultiAgentSpec> agents = envs::LookupMultiAgentSpec("PredatorPrey-v0");
  EXPECT_TRUE(agents.ok()) << agents.status();
  learner::MaddpgOptions options;
  options.env = *envs::JointSpec(*agents);
  options.slots = envs::JointLayout(*agents);
  options.hidden = hidden;
  options.seed = seed;
  absl::StatusOr<std::unique_ptr<learner::Maddpg>> maddpg = learner::Maddpg::Create(options);
  EXPECT_TRUE(maddpg.ok()) << maddpg.status();
  if (!maddpg.ok()) return {};
  absl::StatusOr<v1::ParameterSet> policy = (*maddpg)->ExportPolicy();
  EXPECT_TRUE(policy.ok()) << policy.status();
  std::vector<float> bias(5, 0.f);
  bias[prey_action] = 100;
  policies::SetTensor(&*policy, absl::StrCat("agent_3.policy.layers.", hidden.size(), ".bias"), bias);
  return *policy;
}

std::string PredatorPreyRun(const std::string& name, uint64_t seed, int prey_action, int64_t updates) {
  return RunFolder(name, PredatorPreyPolicy(seed, prey_action), updates, PredatorPreyConfig());
}

EvalOptions CrossPlay(const std::string& dir, const std::string& opponent, std::vector<std::string> agents) {
  EvalOptions options = Options(dir, 16);
  options.seed = 3;
  options.opponent_checkpoint_dir = opponent;
  options.opponent_agents = std::move(agents);
  return options;
}

std::vector<double> Returns(const EvalReport& report) {
  std::vector<double> returns;
  for (const envs::EpisodeRecord& episode : report.episodes) returns.push_back(episode.episode_return);
  return returns;
}

TEST(CrossPlayTest, PlayingARunAgainstItselfIsItsPlainEvaluation) {
  const std::string run = PredatorPreyRun("pp_self", 1, kStay, 999);
  absl::StatusOr<EvalReport> plain = EvaluateCheckpoint(CrossPlay(run, "", {}));
  absl::StatusOr<EvalReport> self = EvaluateCheckpoint(CrossPlay(run, run, {"agent_0"}));
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_EQ(Returns(*self), Returns(*plain));
  EXPECT_EQ(self->env_metrics, plain->env_metrics);
  EXPECT_EQ(self->env, "PredatorPrey-v0");
  EXPECT_TRUE(plain->opponent_agents.empty());
  EXPECT_EQ(FormatEvalReport(*plain).find("opponent"), std::string::npos) << "plain eval has no opponent";
}

TEST(CrossPlayTest, TheNamedAgentsPlayTheOpponentsNetworksAndTheRestTheBases) {
  const std::string staying = PredatorPreyRun("pp_staying", 1, kStay, 999);
  const std::string running = PredatorPreyRun("pp_running", 2, kRunUp, 1999);
  absl::StatusOr<EvalReport> alone = EvaluateCheckpoint(CrossPlay(staying, "", {}));
  absl::StatusOr<EvalReport> crossed = EvaluateCheckpoint(CrossPlay(staying, running, {"agent_0"}));
  absl::StatusOr<EvalReport> mirrored =
      EvaluateCheckpoint(CrossPlay(running, staying, {"adversary_0", "adversary_1", "adversary_2"}));
  ASSERT_TRUE(alone.ok()) << alone.status();
  ASSERT_TRUE(crossed.ok()) << crossed.status();
  ASSERT_TRUE(mirrored.ok()) << mirrored.status();
  // The running prey leaves the arena: a quarter of its penalty, up to 10 a
  // step for 25 steps, lands in the mean over the four agents.
  EXPECT_LT(crossed->return_mean, alone->return_mean - 10) << "the opponent's prey ran";
  // The same pairing (staying's predators, running's prey) either way round.
  EXPECT_EQ(Returns(*crossed), Returns(*mirrored));
  EXPECT_EQ(crossed->parameter_version, 1000) << "the base's version";
  EXPECT_EQ(mirrored->parameter_version, 2000);
  EXPECT_EQ(fs::path(crossed->opponent_checkpoint), fs::path(running) / "checkpoints/learner/latest");
  EXPECT_EQ(crossed->opponent_agents, std::vector<std::string>{"agent_0"});

  const std::vector<std::string> lines = absl::StrSplit(FormatEvalReport(*crossed), '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 3u);
  const std::string expected_line = absl::StrCat("eval: cross-play: agent_0 played ", crossed->opponent_checkpoint,
                                                 ", the other agents ", crossed->checkpoint);
  EXPECT_NE(std::find(lines.begin(), lines.end(), expected_line), lines.end()) << FormatEvalReport(*crossed);
  EXPECT_NE(lines.back().find(absl::StrCat("\"opponent_checkpoint\":\"", crossed->opponent_checkpoint,
                                           "\",\"opponent_agents\":[\"agent_0\"]")),
            std::string::npos)
      << lines.back();
  EXPECT_NE(lines.back().find("\"parameter_version\":1000,"), std::string::npos) << lines.back();
}

TEST(CrossPlayTest, RefusalsNameTheFlagAndTheProblem) {
  const std::string run = PredatorPreyRun("pp_base", 1, kStay, 10);
  const std::string other = PredatorPreyRun("pp_other", 2, kRunUp, 10);
  const std::string wider = RunFolder("pp_wider", PredatorPreyPolicy(3, kStay, {16}), 10, PredatorPreyConfig());
  const std::string cartpole = RunFolder("cartpole_opponent", AlwaysLeft());
  const struct {
    const char* what;
    EvalOptions options;
    const char* message;
  } cases[] = {
      {"agents alone", CrossPlay(run, "", {"agent_0"}), "--opponent_agents needs --opponent_checkpoint_dir"},
      {"folder alone", CrossPlay(run, other, {}), "--opponent_checkpoint_dir needs --opponent_agents"},
      {"unknown agent", CrossPlay(run, other, {"prey"}),
       "--opponent_agents: PredatorPrey-v0 has no agent 'prey' (its agents: adversary_0, adversary_1, "
       "adversary_2, agent_0)"},
      {"twice", CrossPlay(run, other, {"agent_0", "agent_0"}), "--opponent_agents names 'agent_0' twice"},
      {"every agent", CrossPlay(run, other, {"agent_0", "adversary_2", "adversary_1", "adversary_0"}),
       "--opponent_agents names every agent of PredatorPrey-v0"},
      {"base not per_agent", CrossPlay(cartpole, other, {"agent_0"}),
       "--checkpoint_dir: cross-play needs a run whose agents each have their own network (learner.maddpg); "
       "the policy in"},
      {"opponent not per_agent", CrossPlay(run, cartpole, {"agent_0"}),
       "--opponent_checkpoint_dir: cross-play needs a run whose agents each have their own network "
       "(learner.maddpg); the policy in"},
      {"other networks", CrossPlay(run, wider, {"agent_0"}),
       "(the base): agent 3's hidden_sizes is [8] in the base policy but [16] in the other"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<EvalReport> report = EvaluateCheckpoint(c.options);
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument) << c.what << ": " << report.status();
    EXPECT_NE(report.status().message().find(c.message), std::string::npos) << c.what << ": " << report.status();
  }
  absl::StatusOr<EvalReport> nowhere = EvaluateCheckpoint(CrossPlay(run, run + "/nowhere", {"agent_0"}));
  EXPECT_EQ(nowhere.status().code(), absl::StatusCode::kNotFound) << nowhere.status();
  EXPECT_EQ(nowhere.status().message().rfind("--opponent_checkpoint_dir: ", 0), 0u) << nowhere.status();
}

// Head to head: PongDuel-v0 runs of one shared categorical policy, a
// paddle that tracks the ball and one that never moves (as in
// tests/self_play_eval_test.cc). The run's config scripts player_1 for its
// evaluator; head to head plays without it.

std::string PongDuelConfig() {
  return ConfigFile("pong_duel.textpb",
                    "name: \"pong\" env { name: \"PongDuel-v0\" } learner { ppo {} } "
                    "eval { scripted_agents: \"player_1\" }");
}

EvalOptions HeadToHead(const std::string& dir, const std::string& opponent, std::vector<std::string> agents = {}) {
  EvalOptions options = Options(dir, 12);
  options.seed = 4;
  options.opponent_checkpoint_dir = opponent;
  options.opponent_agents = std::move(agents);
  return options;
}

// A run against itself (the still paddle, so that the ball starts decide
// games): every row plays the same deterministic policy on
// the same ball starts, so each env's game is the same whoever "owns" a
// seat. With the opponent fixed on player_1 the run's side is player_0 in
// every env, and the reverse with player_0: its results swap exactly
// (zero-sum), and seats alternating take env e's from the side e mod 2.
TEST(HeadToHeadTest, ARunAgainstItselfPlaysEachGameFromBothSides) {
  const std::string run = RunFolder("pong_still_self", policies::PongDuelPaddle(false), 99, PongDuelConfig());
  absl::StatusOr<EvalReport> as_player_0 = EvaluateCheckpoint(HeadToHead(run, run, {"player_1"}));
  absl::StatusOr<EvalReport> as_player_1 = EvaluateCheckpoint(HeadToHead(run, run, {"player_0"}));
  absl::StatusOr<EvalReport> alternating = EvaluateCheckpoint(HeadToHead(run, run));
  ASSERT_TRUE(as_player_0.ok()) << as_player_0.status();
  ASSERT_TRUE(as_player_1.ok()) << as_player_1.status();
  ASSERT_TRUE(alternating.ok()) << alternating.status();
  ASSERT_EQ(as_player_0->episodes.size(), 12u);
  ASSERT_EQ(alternating->episodes.size(), 12u);
  ASSERT_TRUE(as_player_0->head_to_head.has_value());
  EXPECT_GT(as_player_0->head_to_head->wins + as_player_0->head_to_head->losses, 0) << "some games are decided";
  EXPECT_EQ(as_player_0->head_to_head->wins, as_player_1->head_to_head->losses);
  EXPECT_EQ(as_player_0->head_to_head->draws, as_player_1->head_to_head->draws);
  EXPECT_EQ(as_player_0->head_to_head->losses, as_player_1->head_to_head->wins);
  EXPECT_NEAR(as_player_0->elo_difference, -as_player_1->elo_difference, 1e-9);
  for (size_t e = 0; e < 12; ++e) {
    const EvalReport& side = e % 2 == 0 ? *as_player_0 : *as_player_1;
    EXPECT_EQ(alternating->episodes[e].episode_return, side.episodes[e].episode_return) << "env " << e;
    EXPECT_EQ(as_player_0->episodes[e].episode_return, -as_player_1->episodes[e].episode_return) << "env " << e;
  }
  EXPECT_EQ(alternating->head_to_head->games(), 12);
  EXPECT_EQ(alternating->parameter_version, 100);
  EXPECT_EQ(alternating->opponent_parameter_version, 100);
}

TEST(HeadToHeadTest, TheTrackingPaddleBeatsTheStillOneFromEitherSide) {
  const std::string tracking = RunFolder("pong_tracker", policies::PongDuelPaddle(true), 199, PongDuelConfig());
  const std::string still = RunFolder("pong_still", policies::PongDuelPaddle(false), 49, PongDuelConfig());
  absl::StatusOr<EvalReport> won = EvaluateCheckpoint(HeadToHead(tracking, still));
  absl::StatusOr<EvalReport> lost = EvaluateCheckpoint(HeadToHead(still, tracking));
  ASSERT_TRUE(won.ok()) << won.status();
  ASSERT_TRUE(lost.ok()) << lost.status();
  const actor::WinDrawLoss& games = *won->head_to_head;
  EXPECT_EQ(games.games(), 12);
  EXPECT_GT(games.wins, games.losses);
  EXPECT_GT(won->elo_difference, 0);
  EXPECT_NEAR(won->elo_difference, actor::EloDifference(games), 1e-9);
  EXPECT_GT(lost->head_to_head->losses, lost->head_to_head->wins);
  EXPECT_LT(lost->elo_difference, 0);
  EXPECT_EQ(won->parameter_version, 200);
  EXPECT_EQ(won->opponent_parameter_version, 50);
  // The env's player_0_wins figure is not the scripted round's any more:
  // both seats are policies.
  int returned = 0;
  for (const envs::EpisodeRecord& episode : won->episodes) returned += episode.episode_return > 0;
  EXPECT_EQ(returned, games.wins) << "wins are the episodes the run's side won";

  const std::vector<std::string> lines = absl::StrSplit(FormatEvalReport(*won), '\n', absl::SkipEmpty());
  const std::string expected = absl::StrFormat(
      "eval: head to head against %s (seats alternating): won %d, drawn %d, lost %d of 12, score %.3f, Elo "
      "difference %+.0f",
      won->opponent_checkpoint, games.wins, games.draws, games.losses, games.score() / 12, won->elo_difference);
  EXPECT_NE(std::find(lines.begin(), lines.end(), expected), lines.end()) << FormatEvalReport(*won);
  EXPECT_NE(lines.back().find(absl::StrFormat("\"opponent_agents\":[],\"opponent_parameter_version\":50,"
                                              "\"wins\":%d,\"draws\":%d,\"losses\":%d,\"score\":",
                                              games.wins, games.draws, games.losses)),
            std::string::npos)
      << lines.back();
  EXPECT_NE(lines.back().find("\"elo_difference\":"), std::string::npos) << lines.back();
}

TEST(HeadToHeadTest, RefusalsNameTheFlagAndTheProblem) {
  const std::string run = RunFolder("pong_base", policies::PongDuelPaddle(true), 10, PongDuelConfig());
  const std::string cartpole = RunFolder("cartpole_pong_opponent", AlwaysLeft());
  const struct {
    const char* what;
    EvalOptions options;
    const char* message;
  } cases[] = {
      {"both seats", HeadToHead(run, run, {"player_0", "player_1"}),
       "--opponent_agents names every agent of PongDuel-v0"},
      {"unknown seat", HeadToHead(run, run, {"player_2"}),
       "--opponent_agents: PongDuel-v0 has no agent 'player_2' (its agents: player_0, player_1)"},
      {"another env's opponent", HeadToHead(run, cartpole),
       "--opponent_checkpoint_dir: the policy in '"},
      {"no two-player game", HeadToHead(cartpole, run),
       "--opponent_checkpoint_dir: head to head needs a two-player game whose players share one policy (such as "
       "PongDuel-v0), and CartPole-v1 is none"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<EvalReport> report = EvaluateCheckpoint(c.options);
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument) << c.what << ": " << report.status();
    EXPECT_NE(report.status().message().find(c.message), std::string::npos) << c.what << ": " << report.status();
  }
  absl::StatusOr<EvalReport> nowhere = EvaluateCheckpoint(HeadToHead(run, run + "/nowhere"));
  EXPECT_EQ(nowhere.status().code(), absl::StatusCode::kNotFound) << nowhere.status();
  EXPECT_EQ(nowhere.status().message().rfind("--opponent_checkpoint_dir: ", 0), 0u) << nowhere.status();
}

// `rill render`'s work on the same checkpoints: the video holds one frame
// per step of each episode, decodes (ffmpeg) to what the env draws, and
// what cannot be recorded is refused before anything is played.

RenderOptions VideoOptions(const std::string& dir, const std::string& out, int episodes) {
  RenderOptions options;
  options.checkpoint_dir = dir;
  options.episodes = episodes;
  options.out = (fs::path(std::getenv("TEST_TMPDIR")) / out).string();
  options.width = 96;
  options.height = 64;
  options.seed = 5;  // env 0 is seeded 6
  return options;
}

TEST(RenderTest, TheVideoHoldsAFramePerStepAndItsFirstIsTheFirstState) {
  const RenderOptions options = VideoOptions(RunFolder("video", AlwaysLeft()), "left.mp4", 3);
  absl::StatusOr<RenderReport> report = RenderCheckpoint(options);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->episodes.size(), 3u);
  int steps = 0;
  for (const envs::EpisodeRecord& episode : report->episodes) {
    EXPECT_TRUE(episode.terminated);
    steps += episode.length;
  }
  // The reset's frame, then one per step but the last of each episode.
  EXPECT_EQ(report->frames, steps);
  EXPECT_EQ(report->fps, 50) << "CartPole's render_fps";
  EXPECT_EQ(report->env, "CartPole-v1");
  EXPECT_EQ(report->parameter_version, 782);
  const std::vector<std::vector<uint8_t>> frames = DecodeVideo(options.out, 96, 64);
  ASSERT_EQ(static_cast<int>(frames.size()), steps);

  // Env 0 (seed 5 + 0 + 1), drawn in process: the video's first frame, up
  // to H.264's loss.
  absl::StatusOr<std::unique_ptr<envs::Env>> env = envs::MakeEnv("CartPole-v1", 0, /*seed=*/6);
  ASSERT_TRUE(env.ok()) << env.status();
  std::vector<float> obs(4);
  (*env)->Reset(obs.data());
  absl::StatusOr<envs::RgbImage> drawn = envs::RenderFrame(**env, 96, 64);
  ASSERT_TRUE(drawn.ok()) << drawn.status();
  double difference = 0;
  for (size_t i = 0; i < drawn->rgb.size(); ++i) difference += std::abs(int(drawn->rgb[i]) - int(frames[0][i]));
  EXPECT_LT(difference / drawn->rgb.size(), 6) << "mean absolute difference per byte";
  // The pole falls: the last frame of the first episode differs from the first.
  double moved = 0;
  const std::vector<uint8_t>& last = frames[report->episodes[0].length - 1];
  for (size_t i = 0; i < last.size(); ++i) moved += std::abs(int(last[i]) - int(frames[0][i]));
  EXPECT_GT(moved / last.size(), 1) << "the picture follows the state";

  const std::vector<std::string> lines = absl::StrSplit(FormatRenderReport(*report), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u + 2u);
  EXPECT_EQ(lines[3].rfind(absl::StrCat("render: 3 episodes of CartPole-v1, ", steps, " frames"), 0), 0u) << lines[3];
  EXPECT_NE(lines[4].find(absl::StrCat("\"frames\":", steps, ",\"fps\":50")), std::string::npos) << lines[4];
}

TEST(RenderTest, AMissingFfmpegIsRefusedBeforeAnythingIsPlayed) {
  const RenderOptions options = VideoOptions(RunFolder("no_ffmpeg", AlwaysLeft()), "none.mp4", 1);
  setenv("RILL_FFMPEG", "/nonexistent/ffmpeg", 1);
  absl::StatusOr<RenderReport> report = RenderCheckpoint(options);
  unsetenv("RILL_FFMPEG");
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("ffmpeg package"), std::string::npos) << report.status();
  EXPECT_FALSE(fs::exists(options.out));
}

TEST(RenderTest, AnUnknownCameraIsRefusedNamingTheEnvsCameras) {
  RenderOptions options = VideoOptions(RunFolder("camera", AlwaysLeft()), "camera.mp4", 1);
  options.camera = "overhead";
  absl::StatusOr<RenderReport> report = RenderCheckpoint(options);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("no camera 'overhead'; its cameras: default"), std::string::npos)
      << report.status();
  EXPECT_FALSE(fs::exists(options.out));
}

TEST(RenderTest, AFolderThatDoesNotExistIsRefused) {
  RenderOptions options = VideoOptions(RunFolder("folder", AlwaysLeft()), "missing/video.mp4", 1);
  absl::StatusOr<RenderReport> report = RenderCheckpoint(options);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("does not exist"), std::string::npos) << report.status();
}

}  // namespace
}  // namespace rill::roles
