#include "actor/lockstep_envs.h"

#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envs/batch/agent_rows.h"
#include "envs/batch/joint.h"
#include "envs/batch/local.h"
#include "envs/batch/test_multi_agent_env.h"
#include "envs/interface.h"
#include "envs/registry.h"
#include "envs/remote/env_server.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace rill::actor {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kGame[] = "MinAtar/Breakout-v1";  // uint8 [4, 10, 10], 3 actions
constexpr int kStack = 3;
constexpr int kNumEnvs = 3;
constexpr uint64_t kBaseSeed = 20;

v1::EnvConfig Config(const std::string& text) {
  v1::EnvConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

v1::EnvConfig RemoteConfig(const std::string& address) {
  return Config(absl::StrCat(R"(frame_stack: )", kStack, R"( remote { address: ")", address, R"("
      reconnect_seconds: 10
      observation_space { box { shape: [4, 10, 10] dtype: DTYPE_UINT8 } }
      action_space { discrete { n: 3 } } })"));
}

// Env i's stacks as they should be: the frames of an unwrapped env of the
// same seed, reset where its episode ended, the reset frame repeated at an
// episode's start.
class ReferenceStack {
 public:
  explicit ReferenceStack(uint64_t seed) : env_(envs::MakeEnv(kGame, 0, seed).value()) {
    frame_.resize(env_->spec().obs_bytes());
    Reset();
  }

  // Steps with `action`; true when the episode ended (and Stack() is the
  // one it ended on until Reset).
  bool Step(float action) {
    absl::StatusOr<envs::StepResult> result = env_->StepRaw(&action, frame_.data());
    EXPECT_TRUE(result.ok()) << result.status();
    frames_.pop_front();
    frames_.push_back(frame_);
    return result->terminated || result->truncated;
  }
  void Reset() {
    env_->ResetRaw(frame_.data());
    frames_.assign(kStack, frame_);
  }
  std::vector<uint8_t> Stack() const {
    std::vector<uint8_t> joined;
    for (const std::vector<uint8_t>& frame : frames_) joined.insert(joined.end(), frame.begin(), frame.end());
    return joined;
  }

 private:
  std::unique_ptr<envs::Env> env_;
  std::vector<uint8_t> frame_;
  std::deque<std::vector<uint8_t>> frames_;
};

std::vector<uint8_t> Row(const std::vector<uint8_t>& rows, int i, int row_bytes) {
  return std::vector<uint8_t>(rows.begin() + static_cast<size_t>(i) * row_bytes,
                              rows.begin() + static_cast<size_t>(i + 1) * row_bytes);
}

// Steps `envs` with random actions, as the actor loop does, and compares
// every observation and every ended episode's final observation with the
// reference stacks, byte for byte. Returns the episodes that ended.
int ExpectTheStacksOfEachEpisodeOnly(LockstepEnvs& envs, int steps) {
  std::vector<ReferenceStack> reference;
  for (int i = 0; i < kNumEnvs; ++i) reference.emplace_back(kBaseSeed + i + 1);
  const int row_bytes = envs.obs_bytes();
  EXPECT_TRUE(envs.ResetAll().ok());
  for (int i = 0; i < kNumEnvs; ++i) EXPECT_EQ(Row(envs.obs(), i, row_bytes), reference[i].Stack()) << "env " << i;
  std::mt19937_64 rng(9);
  std::vector<uint8_t> next_obs, final_obs;
  std::vector<EnvOutcome> outcomes;
  int episodes = 0;
  for (int step = 0; step < steps; ++step) {
    envs.RandomActions(rng);
    absl::Status stepped = envs.Step(kNumEnvs, &next_obs, &final_obs, &outcomes);
    EXPECT_TRUE(stepped.ok()) << stepped;
    if (!stepped.ok()) return episodes;
    for (int i = 0; i < kNumEnvs; ++i) {
      EXPECT_FALSE(outcomes[i].failed) << outcomes[i].error;
      const bool ended = reference[i].Step(static_cast<float>(envs.action_index(i)));
      EXPECT_EQ(outcomes[i].episode.has_value(), ended) << "env " << i << " step " << step;
      if (ended) {
        ++episodes;
        EXPECT_EQ(Row(final_obs, i, row_bytes), reference[i].Stack()) << "env " << i << " step " << step;
        reference[i].Reset();
      }
      EXPECT_EQ(Row(next_obs, i, row_bytes), reference[i].Stack()) << "env " << i << " step " << step;
      if (::testing::Test::HasFailure()) return episodes;
    }
    envs.obs().swap(next_obs);
  }
  return episodes;
}

TEST(LockstepEnvsTest, LocalEnvsWithFrameStackSeeTheirOwnEpisodesFramesOnly) {
  absl::StatusOr<std::unique_ptr<LockstepEnvs>> envs = LockstepEnvs::Create(
      Config(absl::StrCat(R"(name: ")", kGame, R"(" frame_stack: )", kStack)), kNumEnvs, kBaseSeed);
  ASSERT_TRUE(envs.ok()) << envs.status();
  EXPECT_THAT((*envs)->spec().observation_shape, ElementsAre(kStack * 4, 10, 10));
  EXPECT_EQ((*envs)->obs_bytes(), kStack * 400);
  EXPECT_EQ((*envs)->observation_rows().type, envs::ObservationType::kUint8);
  EXPECT_GT(ExpectTheStacksOfEachEpisodeOnly(**envs, 1500), 10);
}

// A remote server resets an env inside the step that ends its episode; the
// stacks are built here, from its frames.
TEST(LockstepEnvsTest, RemoteEnvsWithFrameStackSeeTheirOwnEpisodesFramesOnly) {
  absl::StatusOr<std::unique_ptr<envs::EnvServer>> server =
      envs::EnvServer::Start("127.0.0.1:0", [](uint64_t seed) { return envs::MakeEnv(kGame, 0, seed); });
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::unique_ptr<LockstepEnvs>> envs =
      LockstepEnvs::Create(RemoteConfig((*server)->address()), kNumEnvs, kBaseSeed);
  ASSERT_TRUE(envs.ok()) << envs.status();
  EXPECT_TRUE((*envs)->remote());
  EXPECT_THAT((*envs)->spec().observation_shape, ElementsAre(kStack * 4, 10, 10));
  EXPECT_GT(ExpectTheStacksOfEachEpisodeOnly(**envs, 1500), 10);
}

TEST(LockstepEnvsTest, FrameStackOfAFloatEnvIsRefusedByName) {
  absl::StatusOr<std::unique_ptr<LockstepEnvs>> envs =
      LockstepEnvs::Create(Config(R"(name: "CartPole-v1" frame_stack: 4)"), 1, kBaseSeed);
  EXPECT_EQ(envs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(envs.status().message(), HasSubstr("CartPole-v1 observes float32 [4]"));
}

TEST(LockstepEnvsTest, AMultiAgentEnvIsOneRowPerAgentAndEndsItsEpisodeForEach) {
  absl::StatusOr<std::unique_ptr<LockstepEnvs>> envs =
      LockstepEnvs::Create(Config(R"(name: "CooperativeNavigation-v0")"), 2, kBaseSeed);
  ASSERT_TRUE(envs.ok()) << envs.status();
  EXPECT_EQ((*envs)->size(), 6) << "2 envs of 3 agents";
  ASSERT_TRUE((*envs)->ResetAll().ok());
  std::mt19937_64 rng(1);
  std::vector<uint8_t> next_obs, final_obs;
  std::vector<EnvOutcome> outcomes;
  for (int step = 1; step <= 25; ++step) {
    (*envs)->RandomActions(rng);
    ASSERT_TRUE((*envs)->Step(6, &next_obs, &final_obs, &outcomes).ok());
    for (const EnvOutcome& outcome : outcomes) {
      EXPECT_FALSE(outcome.masked);
      EXPECT_EQ(outcome.episode.has_value(), step == 25) << "the particle tasks end every agent together";
    }
    (*envs)->obs().swap(next_obs);
  }
  EXPECT_EQ(outcomes[4].episode->length, 25);
  EXPECT_TRUE(outcomes[4].result.truncated);
  // Each env's own figures, once per env episode, by its first row.
  ASSERT_EQ((*envs)->metrics().size(), 2u);
  ASSERT_EQ((*envs)->env_episodes().size(), 2u);
  EXPECT_EQ((*envs)->env_episodes()[0].first_row, 0);
  EXPECT_EQ((*envs)->env_episodes()[1].first_row, 3);
  EXPECT_GT((*envs)->env_episodes()[1].values[0], 0) << "a landmark distance";
  EXPECT_GE((*envs)->env_episodes()[1].values[1], 0) << "a count of collisions";
}

// Each agent row carries its env's State(): the same for an env's agents,
// as an env of the same seed stepped alone gives it, at the observation,
// after the step and where the time limit ended the episode.
TEST(LockstepEnvsTest, AgentRowsCarryTheirEnvsGlobalStateOnceTracked) {
  std::unique_ptr<LockstepEnvs> envs =
      LockstepEnvs::Create(Config(R"(name: "CooperativeNavigation-v0" max_episode_steps: 2)"), 2, kBaseSeed).value();
  ASSERT_TRUE(envs->TrackStates().ok());
  const int s = envs->spec().state_dim;
  ASSERT_GT(s, 0);
  // Env 1 alone (seeded base_seed + 2), stepped with the same actions.
  std::unique_ptr<envs::MultiAgentEnv> alone =
      envs::MakeMultiAgentEnv("CooperativeNavigation-v0", 2, kBaseSeed + 2).value();
  std::vector<std::vector<float>> agent_obs(3, std::vector<float>(envs->obs_dim()));
  std::vector<float*> obs_rows = {agent_obs[0].data(), agent_obs[1].data(), agent_obs[2].data()};
  alone->Reset(obs_rows.data());
  std::vector<float> expected(s);
  auto row = [s](const float* state) { return std::vector<float>(state, state + s); };
  ASSERT_TRUE(envs->ResetAll().ok());
  alone->State(expected.data());
  for (int i = 3; i < 6; ++i) EXPECT_EQ(row(envs->state_row(i)), expected) << "row " << i;
  EXPECT_NE(row(envs->state_row(0)), expected) << "env 0 is seeded apart";
  std::mt19937_64 rng(1);
  std::vector<uint8_t> next_obs, final_obs;
  std::vector<EnvOutcome> outcomes;
  for (int step = 1; step <= 2; ++step) {
    envs->RandomActions(rng);
    std::vector<std::vector<float>> actions(3, std::vector<float>(envs->act_dim()));
    for (int k = 0; k < 3; ++k) envs->EnvAction(3 + k, actions[k].data());
    std::vector<const float*> action_rows = {actions[0].data(), actions[1].data(), actions[2].data()};
    std::vector<envs::StepResult> results(3);
    ASSERT_TRUE(alone->Step(action_rows.data(), obs_rows.data(), results.data()).ok());
    ASSERT_TRUE(envs->Step(6, &next_obs, &final_obs, &outcomes).ok());
    alone->State(expected.data());
    for (int i = 3; i < 6; ++i) EXPECT_EQ(row(envs->final_state_row(i)), expected) << "step " << step;
    if (step == 1) {
      for (int i = 3; i < 6; ++i) EXPECT_EQ(row(envs->next_state_row(i)), expected);
    } else {
      EXPECT_TRUE(outcomes[3].result.truncated);
      EXPECT_NE(row(envs->next_state_row(3)), expected) << "the next episode's first state";
    }
    const std::vector<float> next = row(envs->next_state_row(3));
    envs->obs().swap(next_obs);
    envs->AdvanceStates();
    EXPECT_EQ(row(envs->state_row(3)), next) << "the next state is the one the next action is chosen in";
  }
}

TEST(LockstepEnvsTest, TrackingStatesOfAnEnvWithoutOneIsRefusedNamingIt) {
  std::unique_ptr<LockstepEnvs> single = LockstepEnvs::Create(Config(R"(name: "CartPole-v1")"), 1, kBaseSeed).value();
  absl::Status status = single->TrackStates();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("CartPole-v1 offers no global state"));
}

TEST(LockstepEnvsTest, AScriptedAgentsRowsTakeTheirEnvsScriptedActions) {
  absl::StatusOr<std::unique_ptr<LockstepEnvs>> envs =
      LockstepEnvs::Create(Config(R"(name: "PongDuel-v0")"), 2, kBaseSeed);
  ASSERT_TRUE(envs.ok()) << envs.status();
  ASSERT_TRUE((*envs)->ScriptAgents({"player_1"}).ok());
  EXPECT_FALSE((*envs)->scripted(0));
  EXPECT_TRUE((*envs)->scripted(1));
  EXPECT_FALSE((*envs)->scripted(2));
  EXPECT_TRUE((*envs)->scripted(3));
  ASSERT_TRUE((*envs)->ResetAll().ok());
  // Both paddles start at row 4 (rows 4-6) and the ball in rows 3-8: the
  // script (at its skill, mostly) moves toward the ball, so over many steps
  // its choices are not all one action, and the policy's rows keep theirs.
  std::vector<uint8_t> next_obs, final_obs;
  std::vector<EnvOutcome> outcomes;
  std::set<int64_t> chosen;
  for (int step = 0; step < 50; ++step) {
    ActionBuffers buffers = (*envs)->buffers();
    for (int i = 0; i < 4; ++i) buffers.action_indices[i] = 0;
    ASSERT_TRUE((*envs)->ApplyScripts().ok());
    EXPECT_EQ((*envs)->action_index(0), 0);
    EXPECT_EQ((*envs)->action_index(2), 0);
    chosen.insert((*envs)->action_index(1));
    chosen.insert((*envs)->action_index(3));
    ASSERT_TRUE((*envs)->Step(4, &next_obs, &final_obs, &outcomes).ok());
    (*envs)->obs().swap(next_obs);
  }
  EXPECT_GE(chosen.size(), 2u);
  for (int64_t a : chosen) EXPECT_TRUE(a >= 0 && a < 3) << a;
}

// Joint rows (MADDPG): the scripted prey is a slot of every row, so no
// row is the script's and every row's episode counts; the envs step the
// prey by its script whatever the row's slot says.
TEST(LockstepEnvsTest, AScriptedAgentOfJointRowsLeavesEveryRowThePolicys) {
  std::unique_ptr<LockstepEnvs> envs =
      LockstepEnvs::Create(Config(R"(name: "PredatorPrey-v0" joint_agents: true)"), 2, kBaseSeed).value();
  ASSERT_TRUE(envs->ScriptAgents({"agent_0"}).ok());
  EXPECT_FALSE(envs->scripted(0));
  EXPECT_FALSE(envs->scripted(1));
  ASSERT_TRUE(envs->ResetAll().ok());
  // The prey's velocity in row r: its slot follows the predators' 3 x 16
  // floats and starts with it.
  const int width = envs->spec().obs_dim();
  const auto prey_speed = [&](int r) {
    const float* prey = reinterpret_cast<const float*>(envs->obs().data()) + r * width + 3 * 16;
    return std::hypot(prey[0], prey[1]);
  };
  std::vector<uint8_t> next_obs, final_obs;
  std::vector<EnvOutcome> outcomes;
  for (int step = 1; step <= 25; ++step) {
    // Every slot all zeros: a discrete agent's no-op (the first of equal
    // entries).
    ActionBuffers buffers = envs->buffers();
    std::fill(buffers.actions, buffers.actions + 2 * envs->act_dim(), 0.f);
    ASSERT_TRUE(envs->ApplyScripts().ok());
    ASSERT_TRUE(envs->Step(2, &next_obs, &final_obs, &outcomes).ok());
    envs->obs().swap(next_obs);
    if (step == 3) {
      // The slots say no-op; the script pushes the prey (0.4 after its
      // first push of force 4, more after three).
      EXPECT_GT(prey_speed(0), 0.3f);
      EXPECT_GT(prey_speed(1), 0.3f);
    }
  }
  // 25 steps: both rows' episodes ended (the time limit), and they count.
  EXPECT_TRUE(outcomes[0].result.truncated);
  EXPECT_TRUE(outcomes[1].result.truncated);
}

TEST(LockstepEnvsTest, ScriptingAnAgentTheEnvLacksOrASingleAgentEnvIsRefusedByName) {
  std::unique_ptr<LockstepEnvs> duel = LockstepEnvs::Create(Config(R"(name: "PongDuel-v0")"), 1, kBaseSeed).value();
  absl::Status unknown = duel->ScriptAgents({"player_2"});
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.message(), HasSubstr("no agent 'player_2'; its agents: player_0, player_1"));
  std::unique_ptr<LockstepEnvs> single = LockstepEnvs::Create(Config(R"(name: "CartPole-v1")"), 1, kBaseSeed).value();
  EXPECT_EQ(single->ScriptAgents({"player_1"}).code(), absl::StatusCode::kInvalidArgument);
  std::unique_ptr<LockstepEnvs> spread =
      LockstepEnvs::Create(Config(R"(name: "CooperativeNavigation-v0")"), 1, kBaseSeed).value();
  absl::Status unscripted = spread->ScriptAgents({"agent_1"});
  EXPECT_EQ(unscripted.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(unscripted.message(), HasSubstr("scripts no player for its agent agent_1"));
}

TEST(LockstepEnvsTest, AnAgentThatLeftIsMaskedAndStartsItsNextEpisodeWithItsEnv) {
  std::vector<std::unique_ptr<envs::MultiAgentEnv>> made;
  made.push_back(std::make_unique<envs::LeaveEnv>(std::vector<int>{1, 3}));
  std::unique_ptr<LockstepEnvs> envs = LockstepEnvs::OverBatch(
      envs::AgentRowsEnvBatch::Create(envs::LeaveEnv::Spec(2).agent_specs[0], std::move(made)).value(), false);
  ASSERT_TRUE(envs->ResetAll().ok());
  std::vector<uint8_t> next_obs, final_obs;
  std::vector<EnvOutcome> outcomes;
  std::vector<std::vector<bool>> masked;
  std::vector<std::vector<bool>> starts;
  for (int step = 1; step <= 4; ++step) {
    ASSERT_TRUE(envs->Step(2, &next_obs, &final_obs, &outcomes).ok());
    envs->obs().swap(next_obs);
    masked.push_back({outcomes[0].masked, outcomes[1].masked});
    starts.push_back({envs->observation_rows().episode_start[0] != 0, envs->observation_rows().episode_start[1] != 0});
    if (step == 1) {
      ASSERT_TRUE(outcomes[0].episode.has_value());
      EXPECT_EQ(outcomes[0].episode->length, 1);
      EXPECT_EQ(outcomes[0].episode->episode_return, 1);
    }
    if (step == 3) {
      ASSERT_TRUE(outcomes[1].episode.has_value());
      EXPECT_EQ(outcomes[1].episode->length, 3);
      EXPECT_EQ(outcomes[1].episode->episode_return, 6);
    }
  }
  EXPECT_THAT(masked, ElementsAre(ElementsAre(false, false), ElementsAre(true, false), ElementsAre(true, false),
                                  ElementsAre(false, false)));
  // Step 4 is the new episode's first, where agent 0 ends again.
  EXPECT_THAT(starts, ElementsAre(ElementsAre(true, false), ElementsAre(true, false), ElementsAre(true, true),
                                  ElementsAre(true, false)));
}

// Two agents whose observations end in a mask of 2 actions ([step, m0,
// m1]): agent 0 leaves after step 1 on a mask that allows nothing (a final
// observation may); agent 1 acts until step 3, its mask allowing action 0,
// except at `empty_at` where it allows nothing though the agent is live.
class MaskedLeaveEnv final : public envs::MultiAgentEnv {
 public:
  static envs::MultiAgentSpec Spec() {
    envs::MultiAgentSpec spec;
    spec.name = "MaskedLeave-v0";
    envs::EnvSpec agent;
    agent.name = spec.name;
    agent.observation_shape = {3};
    agent.discrete = true;
    agent.num_actions = 2;
    agent.action_mask = true;
    agent.max_episode_steps = 100;
    spec.agents = {"agent_0", "agent_1"};
    spec.agent_specs = {agent, agent};
    spec.max_episode_steps = 100;
    return spec;
  }
  explicit MaskedLeaveEnv(int empty_at) : MultiAgentEnv(Spec()), empty_at_(empty_at) {}

  void Reset(float* const* obs) override {
    StartEpisode();
    step_ = 0;
    for (int k = 0; k < 2; ++k) Observe(obs[k], 1.f);
  }
  absl::Status Step(const float* const* actions, float* const* next_obs, envs::StepResult* results) override {
    if (absl::Status checked = CheckStep(actions); !checked.ok()) return checked;
    ++step_;
    if (live(0)) {
      Observe(next_obs[0], 0.f);  // it leaves: nothing allowed any more
      results[0] = envs::StepResult{1.f, true, false};
    }
    if (live(1)) {
      Observe(next_obs[1], step_ == empty_at_ ? 0.f : 1.f);
      results[1] = envs::StepResult{1.f, step_ == 3, false};
    }
    EndStep(results);
    return absl::OkStatus();
  }

 private:
  void Observe(float* obs, float allowed) const {
    obs[0] = static_cast<float>(step_);
    obs[1] = allowed;
    obs[2] = 0.f;
  }

  int empty_at_;
  int step_ = 0;
};

std::unique_ptr<LockstepEnvs> MaskedLeaveRows(int empty_at) {
  std::vector<std::unique_ptr<envs::MultiAgentEnv>> made;
  made.push_back(std::make_unique<MaskedLeaveEnv>(empty_at));
  return LockstepEnvs::OverBatch(
      envs::AgentRowsEnvBatch::Create(MaskedLeaveEnv::Spec().agent_specs[0], std::move(made)).value(), false);
}

TEST(LockstepEnvsTest, AnAgentMayLeaveOnAMaskThatAllowsNothingButALiveOneMayNot) {
  std::unique_ptr<LockstepEnvs> envs = MaskedLeaveRows(/*empty_at=*/0);
  ASSERT_TRUE(envs->ResetAll().ok());
  std::vector<uint8_t> next_obs, final_obs;
  std::vector<EnvOutcome> outcomes;
  for (int step = 1; step <= 4; ++step) {
    absl::Status stepped = envs->Step(2, &next_obs, &final_obs, &outcomes);
    ASSERT_TRUE(stepped.ok()) << "step " << step << ": " << stepped;
    envs->obs().swap(next_obs);
  }

  envs = MaskedLeaveRows(/*empty_at=*/2);
  ASSERT_TRUE(envs->ResetAll().ok());
  ASSERT_TRUE(envs->Step(2, &next_obs, &final_obs, &outcomes).ok());
  envs->obs().swap(next_obs);
  const absl::Status refused = envs->Step(2, &next_obs, &final_obs, &outcomes);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("MaskedLeave-v0 (row 1): its observation ends in an"));
}

TEST(LockstepEnvsTest, JointRowsExposeEachAgentsRewardAndTermination) {
  std::vector<std::unique_ptr<envs::MultiAgentEnv>> made;
  made.push_back(std::make_unique<envs::LeaveEnv>(std::vector<int>{2, 3}));  // agents end at steps 2 and 3
  std::unique_ptr<LockstepEnvs> envs =
      LockstepEnvs::OverBatch(envs::JointAgentsEnvBatch::Create(std::move(made)).value(), false);
  EXPECT_EQ(envs->size(), 1);
  ASSERT_TRUE(envs->ResetAll().ok());
  std::vector<uint8_t> next_obs, final_obs;
  std::vector<EnvOutcome> outcomes;
  std::vector<std::vector<float>> rewards;
  std::vector<std::vector<int>> terminated;
  for (int step = 1; step <= 3; ++step) {
    ASSERT_TRUE(envs->Step(1, &next_obs, &final_obs, &outcomes).ok());
    envs->obs().swap(next_obs);
    rewards.push_back({envs->agent_rewards_row(0)[0], envs->agent_rewards_row(0)[1]});
    terminated.push_back({envs->agent_terminated_row(0)[0], envs->agent_terminated_row(0)[1]});
  }
  EXPECT_THAT(rewards, ElementsAre(ElementsAre(1, 2), ElementsAre(1, 2), ElementsAre(0, 2)));
  EXPECT_THAT(terminated, ElementsAre(ElementsAre(0, 0), ElementsAre(1, 0), ElementsAre(1, 1)));
  ASSERT_TRUE(outcomes[0].episode.has_value());
  EXPECT_EQ(outcomes[0].episode->length, 3);
  EXPECT_DOUBLE_EQ(outcomes[0].episode->episode_return, 1.5 + 1.5 + 1) << "the row's mean rewards";
  EXPECT_TRUE(outcomes[0].result.terminated);
}

TEST(LockstepEnvsTest, JointAgentsOfTheConfigMakeOneRowPerEnvAndOtherRowsHaveNoAgentRewards) {
  std::unique_ptr<LockstepEnvs> joint =
      LockstepEnvs::Create(Config(R"(name: "CooperativeNavigation-v0" joint_agents: true)"), 2, kBaseSeed).value();
  EXPECT_EQ(joint->size(), 2);
  EXPECT_EQ(joint->spec().joint_agents, 3);
  EXPECT_NE(joint->agent_rewards_row(1), nullptr);
  std::unique_ptr<LockstepEnvs> rows =
      LockstepEnvs::Create(Config(R"(name: "CooperativeNavigation-v0")"), 1, kBaseSeed).value();
  EXPECT_EQ(rows->agent_rewards_row(0), nullptr);
  EXPECT_EQ(rows->agent_terminated_row(0), nullptr);
}

}  // namespace
}  // namespace rill::actor

namespace rill::actor {
namespace {

// A masked env whose mask is what the test sets: [state, mask of 2].
class SetMaskEnv final : public envs::Env {
 public:
  static envs::EnvSpec Spec() {
    envs::EnvSpec spec;
    spec.name = "SetMask-v0";
    spec.observation_shape = {3};
    spec.discrete = true;
    spec.num_actions = 2;
    spec.max_episode_steps = 100;
    spec.action_mask = true;
    return spec;
  }
  explicit SetMaskEnv(std::vector<float>* mask) : Env(Spec()), mask_(mask) {}
  void Reset(float* obs) override { Write(obs); }
  absl::StatusOr<envs::StepResult> Step(const float*, float* next_obs) override {
    Write(next_obs);
    return envs::StepResult{};
  }

 private:
  void Write(float* obs) const {
    obs[0] = 0.5f;
    obs[1] = (*mask_)[0];
    obs[2] = (*mask_)[1];
  }
  std::vector<float>* mask_;
};

std::unique_ptr<LockstepEnvs> SetMaskEnvs(std::vector<float>* mask) {
  std::vector<std::unique_ptr<envs::Env>> made;
  made.push_back(std::make_unique<SetMaskEnv>(mask));
  return LockstepEnvs::OverBatch(
      envs::LocalEnvBatch::Create(SetMaskEnv::Spec(), std::move(made), envs::LocalEnvBatch::StepErrors::kFailStep)
          .value(),
      false);
}

TEST(LockstepEnvsTest, RandomActionsOfAMaskedEnvAreAllowedOnes) {
  std::unique_ptr<LockstepEnvs> envs = LockstepEnvs::Create(Config(R"(name: "MaskedPick-v0")"), 8, kBaseSeed).value();
  ASSERT_TRUE(envs->ResetAll().ok());
  std::mt19937_64 rng(1);
  std::vector<uint8_t> next_obs, final_obs;
  std::vector<EnvOutcome> outcomes;
  for (int step = 0; step < 200; ++step) {
    envs->RandomActions(rng);
    ASSERT_TRUE(envs->Step(8, &next_obs, &final_obs, &outcomes).ok()) << "step " << step;
    for (const EnvOutcome& outcome : outcomes) {
      EXPECT_GE(outcome.result.reward, 0) << "a random action was a forbidden pick";
    }
    envs->obs().swap(next_obs);
  }
}

TEST(LockstepEnvsTest, AnActionTheMaskForbidsIsRefusedBeforeTheEnvStepsNamingIt) {
  std::vector<float> mask = {1, 0};
  std::unique_ptr<LockstepEnvs> envs = SetMaskEnvs(&mask);
  ASSERT_TRUE(envs->ResetAll().ok());
  std::vector<uint8_t> next_obs, final_obs;
  std::vector<EnvOutcome> outcomes;
  envs->buffers(false).action_indices[0] = 1;
  const absl::Status status = envs->Step(1, &next_obs, &final_obs, &outcomes);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("SetMask-v0 (row 0): action 1 is forbidden by the observation's action "
                                          "mask [1, 0]"));
  envs->buffers(false).action_indices[0] = 0;
  EXPECT_TRUE(envs->Step(1, &next_obs, &final_obs, &outcomes).ok());
}

TEST(LockstepEnvsTest, AMaskThatAllowsNothingOrIsNotZeroOrOneIsNamed) {
  std::vector<float> mask = {0, 0};
  std::unique_ptr<LockstepEnvs> envs = SetMaskEnvs(&mask);
  EXPECT_THAT(envs->ResetAll().message(), HasSubstr("SetMask-v0 (row 0): its observation ends in an action mask "
                                                    "[0, 0] allows no action"));
  mask = {1, 1};
  ASSERT_TRUE(envs->ResetAll().ok());
  mask = {1, 0.5f};
  std::vector<uint8_t> next_obs, final_obs;
  std::vector<EnvOutcome> outcomes;
  envs->buffers(false).action_indices[0] = 0;
  EXPECT_THAT(envs->Step(1, &next_obs, &final_obs, &outcomes).message(), HasSubstr("element 1 is 0.5, not 0 or 1"));
}

TEST(LockstepEnvsTest, AMaskCannotGoWithAWrapperThatHidesItAndCanBeIgnored) {
  for (const char* wrapper : {"action_repeat: 2", "frame_stack: 2"}) {
    absl::StatusOr<std::unique_ptr<LockstepEnvs>> envs =
        LockstepEnvs::Create(Config(absl::StrCat(R"(name: "MaskedPick-v0" )", wrapper)), 1, kBaseSeed);
    ASSERT_FALSE(envs.ok()) << wrapper;
    EXPECT_THAT(envs.status().message(), HasSubstr("observations end in an action mask, which takes no such wrapper"));
  }
  std::unique_ptr<LockstepEnvs> ignored =
      LockstepEnvs::Create(Config(R"(name: "MaskedPick-v0" ignore_action_mask: true)"), 1, kBaseSeed).value();
  EXPECT_FALSE(ignored->spec().action_mask);
  EXPECT_EQ(ignored->spec().obs_dim(), 16) << "the mask stays in the observation";
}

}  // namespace
}  // namespace rill::actor
