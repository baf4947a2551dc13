#include "envs/minatar/game_env.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "envs/minatar/asterix.h"
#include "envs/minatar/breakout.h"
#include "envs/minatar/freeway.h"
#include "envs/minatar/seaquest.h"
#include "envs/minatar/space_invaders.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs::minatar {
namespace {

using ::testing::ElementsAre;

struct Game {
  std::string name;
  int channels;
  std::vector<Action> actions;
  std::function<std::unique_ptr<GameEnv>(int max_episode_steps, uint64_t seed)> make;
};

// gtest names a failing case by its game.
void PrintTo(const Game& game, std::ostream* os) { *os << game.name; }

template <typename G>
std::function<std::unique_ptr<GameEnv>(int, uint64_t)> Maker() {
  return [](int max_episode_steps, uint64_t seed) -> std::unique_ptr<GameEnv> {
    return G::Create(max_episode_steps, seed).value();
  };
}

std::vector<Game> Games() {
  using A = Action;
  return {
      {"MinAtar/Breakout-v1", 4, {A::kNoop, A::kLeft, A::kRight}, Maker<Breakout>()},
      {"MinAtar/SpaceInvaders-v1", 6, {A::kNoop, A::kLeft, A::kRight, A::kFire}, Maker<SpaceInvaders>()},
      {"MinAtar/Freeway-v1", 7, {A::kNoop, A::kUp, A::kDown}, Maker<Freeway>()},
      {"MinAtar/Asterix-v1", 4, {A::kNoop, A::kLeft, A::kUp, A::kRight, A::kDown}, Maker<Asterix>()},
      {"MinAtar/Seaquest-v1", 10, {A::kNoop, A::kLeft, A::kUp, A::kRight, A::kDown, A::kFire}, Maker<Seaquest>()},
  };
}

class GameEnvTest : public ::testing::TestWithParam<Game> {};

// One step's outcome and observation, for comparing runs.
struct Record {
  float reward;
  bool terminated;
  bool truncated;
  std::vector<uint8_t> obs;
  bool operator==(const Record& o) const {
    return reward == o.reward && terminated == o.terminated && truncated == o.truncated && obs == o.obs;
  }
};

// `steps` uniformly random actions (from `action_seed`), resetting at each
// episode's end; the Reset observations are recorded too.
std::vector<Record> Play(GameEnv* env, int steps, uint64_t action_seed) {
  std::mt19937_64 actions(action_seed);
  std::vector<Record> frames;
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_bytes()));
  env->ResetRaw(obs.data());
  frames.push_back({0, false, false, obs});
  for (int i = 0; i < steps; ++i) {
    const float action = static_cast<float>(actions() % static_cast<uint64_t>(env->act_dim()));
    const absl::StatusOr<StepResult> result = env->StepRaw(&action, obs.data());
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) break;
    frames.push_back({result->reward, result->terminated, result->truncated, obs});
    if (result->terminated || result->truncated) {
      env->ResetRaw(obs.data());
      frames.push_back({0, false, false, obs});
    }
  }
  return frames;
}

TEST_P(GameEnvTest, SpecIsUint8ChannelsByTenByTenWithTheMinimalActionSet) {
  const Game& game = GetParam();
  std::unique_ptr<GameEnv> env = game.make(0, 1);
  const EnvSpec& spec = env->spec();
  EXPECT_EQ(spec.name, game.name);
  EXPECT_THAT(spec.observation_shape, ElementsAre(game.channels, 10, 10));
  EXPECT_EQ(spec.observation_type, ObservationType::kUint8);
  EXPECT_EQ(spec.obs_bytes(), game.channels * 100);
  EXPECT_TRUE(spec.discrete);
  EXPECT_EQ(spec.num_actions, static_cast<int>(game.actions.size()));
  EXPECT_EQ(env->action_set(), game.actions);
  EXPECT_EQ(env->max_episode_steps(), 10000);
  EXPECT_EQ(game.make(25, 1)->max_episode_steps(), 25);
}

TEST_P(GameEnvTest, ObservationsHoldOnlyZeroOr255AndEveryChannelIsUsed) {
  std::unique_ptr<GameEnv> env = GetParam().make(0, 3);
  const int channels = GetParam().channels;
  std::vector<bool> channel_seen(static_cast<size_t>(channels), false);
  for (const Record& frame : Play(env.get(), 5000, 4)) {
    ASSERT_EQ(frame.obs.size(), static_cast<size_t>(channels * 100));
    for (size_t k = 0; k < frame.obs.size(); ++k) {
      ASSERT_TRUE(frame.obs[k] == 0 || frame.obs[k] == 255) << "element " << k << " = " << int{frame.obs[k]};
      if (frame.obs[k] == 255) channel_seen[k / 100] = true;
    }
  }
  // Random play shows every kind of object at least once.
  for (int c = 0; c < channels; ++c) EXPECT_TRUE(channel_seen[static_cast<size_t>(c)]) << "channel " << c;
}

TEST_P(GameEnvTest, FloatResetAndStepGiveTheRawValues) {
  std::unique_ptr<GameEnv> raw_env = GetParam().make(0, 5);
  std::unique_ptr<GameEnv> float_env = GetParam().make(0, 5);
  const size_t n = static_cast<size_t>(raw_env->obs_dim());
  std::vector<uint8_t> raw(n);
  std::vector<float> floats(n);
  raw_env->ResetRaw(raw.data());
  float_env->Reset(floats.data());
  for (size_t k = 0; k < n; ++k) ASSERT_EQ(floats[k], static_cast<float>(raw[k])) << k;
  std::mt19937_64 actions(6);
  for (int i = 0; i < 500; ++i) {
    const float action = static_cast<float>(actions() % static_cast<uint64_t>(raw_env->act_dim()));
    const StepResult a = raw_env->StepRaw(&action, raw.data()).value();
    const StepResult b = float_env->Step(&action, floats.data()).value();
    ASSERT_EQ(a.reward, b.reward);
    ASSERT_EQ(a.terminated, b.terminated);
    for (size_t k = 0; k < n; ++k) ASSERT_EQ(floats[k], static_cast<float>(raw[k])) << "step " << i << ", " << k;
    if (a.terminated || a.truncated) {
      raw_env->ResetRaw(raw.data());
      float_env->Reset(floats.data());
    }
  }
}

TEST_P(GameEnvTest, SameSeedGivesTheSameEpisodesAndAnotherSeedOthers) {
  std::unique_ptr<GameEnv> first = GetParam().make(0, 11);
  std::unique_ptr<GameEnv> second = GetParam().make(0, 11);
  std::unique_ptr<GameEnv> other = GetParam().make(0, 12);
  const std::vector<Record> a = Play(first.get(), 1000, 99);
  const std::vector<Record> b = Play(second.get(), 1000, 99);
  const std::vector<Record> c = Play(other.get(), 1000, 99);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_TRUE(a[i] == b[i]) << "frame " << i;
  EXPECT_FALSE(a == c);
}

TEST_P(GameEnvTest, StickyActionsRepeatThePreviousActionAboutOneStepInTen) {
  std::unique_ptr<GameEnv> env = GetParam().make(0, 21);
  std::mt19937_64 pick(22);
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_bytes()));
  env->ResetRaw(obs.data());
  const int n = env->act_dim();
  int chances = 0;  // steps that asked for something other than the last action
  int repeats = 0;  // ... and got the last action anyway
  for (int i = 0; i < 40000; ++i) {
    const int index = static_cast<int>(pick() % static_cast<uint64_t>(n));
    const Action previous = env->last_action();
    const float action = static_cast<float>(index);
    const StepResult result = env->StepRaw(&action, obs.data()).value();
    const Action asked = env->action_set()[static_cast<size_t>(index)];
    if (asked != previous) {
      ++chances;
      if (env->last_action() == previous) {
        ++repeats;
      } else {
        ASSERT_EQ(env->last_action(), asked);
      }
    }
    if (result.terminated || result.truncated) env->ResetRaw(obs.data());
  }
  ASSERT_GT(chances, 20000);
  // The standard error is about 0.002.
  EXPECT_NEAR(static_cast<double>(repeats) / chances, 0.1, 0.01);
}

TEST_P(GameEnvTest, WithoutStickinessTheAskedActionIsAlwaysApplied) {
  std::unique_ptr<GameEnv> env = GetParam().make(0, 21);
  env->SetStickyActionProbabilityForTesting(0);
  std::mt19937_64 pick(22);
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_bytes()));
  env->ResetRaw(obs.data());
  for (int i = 0; i < 10000; ++i) {
    const int index = static_cast<int>(pick() % static_cast<uint64_t>(env->act_dim()));
    const float action = static_cast<float>(index);
    const StepResult result = env->StepRaw(&action, obs.data()).value();
    ASSERT_EQ(env->last_action(), env->action_set()[static_cast<size_t>(index)]) << "step " << i;
    if (result.terminated || result.truncated) env->ResetRaw(obs.data());
  }
}

TEST_P(GameEnvTest, TheLastActionOutlivesResetAsInMinAtar) {
  std::unique_ptr<GameEnv> env = GetParam().make(0, 1);
  env->SetStickyActionProbabilityForTesting(0);
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_bytes()));
  EXPECT_EQ(env->last_action(), Action::kNoop);
  env->ResetRaw(obs.data());
  const float last = static_cast<float>(env->act_dim() - 1);
  ASSERT_TRUE(env->StepRaw(&last, obs.data()).ok());
  env->ResetRaw(obs.data());
  EXPECT_EQ(env->last_action(), env->action_set().back());
  // Always sticky now: the new episode's first step repeats it.
  env->SetStickyActionProbabilityForTesting(1);
  const float noop = 0;
  ASSERT_TRUE(env->StepRaw(&noop, obs.data()).ok());
  EXPECT_EQ(env->last_action(), env->action_set().back());
}

TEST_P(GameEnvTest, BadIndicesAndStepsOutsideAnEpisodeAreRefused) {
  std::unique_ptr<GameEnv> env = GetParam().make(0, 1);
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_bytes()));
  const float zero = 0;
  EXPECT_EQ(env->StepRaw(&zero, obs.data()).status().code(), absl::StatusCode::kFailedPrecondition);
  env->ResetRaw(obs.data());
  for (const float bad : {-1.f, 0.5f, static_cast<float>(env->act_dim())}) {
    EXPECT_EQ(env->StepRaw(&bad, obs.data()).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(env->StepRaw(&zero, obs.data()).ok());
}

TEST_P(GameEnvTest, TheTimeLimitTruncates) {
  std::unique_ptr<GameEnv> env = GetParam().make(3, 1);
  env->SetStickyActionProbabilityForTesting(0);
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_bytes()));
  env->ResetRaw(obs.data());
  const float noop = 0;
  // No game ends within three no-ops from its start.
  for (int step = 1; step <= 3; ++step) {
    const StepResult result = env->StepRaw(&noop, obs.data()).value();
    EXPECT_FALSE(result.terminated) << step;
    EXPECT_EQ(result.truncated, step == 3) << step;
  }
  EXPECT_EQ(env->StepRaw(&noop, obs.data()).status().code(), absl::StatusCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(AllGames, GameEnvTest, ::testing::ValuesIn(Games()),
                         [](const ::testing::TestParamInfo<Game>& info) {
                           std::string name = info.param.name.substr(std::string("MinAtar/").size());
                           return name.substr(0, name.find('-'));
                         });

}  // namespace
}  // namespace rill::envs::minatar
