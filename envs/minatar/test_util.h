// What the games' rule tests share: a started game without sticky actions,
// so each step does what it asks, and one step of it.
#ifndef RILL_ENVS_MINATAR_TEST_UTIL_H_
#define RILL_ENVS_MINATAR_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/minatar/game_env.h"
#include "gtest/gtest.h"

namespace rill::envs::minatar {

template <typename Game>
std::unique_ptr<Game> StartedGame(uint64_t seed = 1) {
  std::unique_ptr<Game> env = Game::Create(0, seed).value();
  env->SetStickyActionProbabilityForTesting(0);
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_bytes()));
  env->ResetRaw(obs.data());
  return env;
}

// One step with `action`; a refused step fails the test.
inline StepResult Play(GameEnv* env, float action) {
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_bytes()));
  absl::StatusOr<StepResult> result = env->StepRaw(&action, obs.data());
  EXPECT_TRUE(result.ok()) << result.status();
  return result.value_or(StepResult());
}

}  // namespace rill::envs::minatar

#endif  // RILL_ENVS_MINATAR_TEST_UTIL_H_
