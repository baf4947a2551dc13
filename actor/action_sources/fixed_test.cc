// A FixedPolicySource acts as its policy does on the same rows: floats as
// they are, uint8 rows scaled by 1/255, a recurrent policy's state carried
// per row and zeroed where an episode starts; a policy for another env is
// refused naming its version.
#include "actor/action_sources/fixed.h"

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "policies/registry.h"
#include "policies/spec.h"

namespace rill::actor {
namespace {

envs::EnvSpec ContinuousEnv() {
  envs::EnvSpec env;
  env.name = "Continuous";
  env.observation_shape = {5};
  env.action_low = {-2.f, -1.f};
  env.action_high = {2.f, 1.f};
  return env;
}

envs::EnvSpec DiscreteEnv(envs::ObservationType type) {
  envs::EnvSpec env;
  env.name = "Discrete";
  env.observation_shape = {6};
  env.observation_type = type;
  env.discrete = true;
  env.num_actions = 3;
  return env;
}

v1::ParameterSet Parameters(const std::string& kind, const envs::EnvSpec& env, int lstm_size = 0) {
  v1::PolicySpec spec = policies::PolicySpecFor(kind, env, {16});
  spec.set_lstm_size(lstm_size);
  return *(*policies::MakePolicy(spec, /*seed=*/21))->ExportParameters();
}

std::vector<float> Observations(int rows, int obs_dim, float offset) {
  std::vector<float> obs(static_cast<size_t>(rows) * obs_dim);
  for (size_t k = 0; k < obs.size(); ++k) obs[k] = offset + 0.37f * static_cast<float>(k % 11) - 1.5f;
  return obs;
}

TEST(FixedPolicySourceTest, ActsAsItsPolicyDeterministically) {
  const envs::EnvSpec env = ContinuousEnv();
  const v1::ParameterSet parameters = Parameters("gaussian", env);
  FixedPolicySource source(env, /*seed=*/1);
  ASSERT_TRUE(source.Load(parameters, /*version=*/4).ok());
  EXPECT_TRUE(source.ready());
  EXPECT_EQ(source.version(), 4);

  constexpr int kRows = 3;
  const std::vector<float> obs = Observations(kRows, 5, 0.f);
  std::vector<float> actions(kRows * 2, 99.f);
  ActionBuffers out;
  out.actions = actions.data();
  out.action_dim = 2;
  absl::Notification stop;
  ASSERT_TRUE(source.Act(ObservationRows{obs.data(), envs::ObservationType::kFloat32, kRows, 5}, true, false, stop, out)
                  .ok());

  std::unique_ptr<policies::Policy> policy = *policies::PolicyFromParameters(parameters, /*seed=*/1);
  policies::PolicyOutput expected;
  policy->Act(obs.data(), kRows, /*deterministic=*/true, &expected);
  EXPECT_EQ(actions, expected.actions);
}

TEST(FixedPolicySourceTest, ScalesUint8ObservationsBy1Over255) {
  const envs::EnvSpec env = DiscreteEnv(envs::ObservationType::kUint8);
  const v1::ParameterSet parameters = Parameters("categorical", env);
  FixedPolicySource source(env, /*seed=*/1);
  ASSERT_TRUE(source.Load(parameters, 1).ok());

  constexpr int kRows = 4;
  std::vector<uint8_t> pixels(kRows * 6);
  std::vector<float> scaled(pixels.size());
  for (size_t k = 0; k < pixels.size(); ++k) {
    pixels[k] = static_cast<uint8_t>((k * 53) % 256);
    scaled[k] = static_cast<float>(pixels[k]) / 255.f;
  }
  std::vector<int64_t> indices(kRows, -1);
  ActionBuffers out;
  out.action_indices = indices.data();
  absl::Notification stop;
  ASSERT_TRUE(
      source.Act(ObservationRows{pixels.data(), envs::ObservationType::kUint8, kRows, 6}, true, false, stop, out).ok());

  std::unique_ptr<policies::Policy> policy = *policies::PolicyFromParameters(parameters, 1);
  policies::PolicyOutput expected;
  policy->Act(scaled.data(), kRows, /*deterministic=*/true, &expected);
  EXPECT_EQ(indices, expected.indices);
}

// Two steps of two rows: row 0's episode starts again at the second step,
// row 1's goes on. The state each row acted from (out.core_states) is
// zeros for row 0 and the carried state for row 1, and row 0 acts as at
// its first step.
TEST(FixedPolicySourceTest, RecurrentRowsCarryTheirStateAndResetWhereAnEpisodeStarts) {
  const envs::EnvSpec env = ContinuousEnv();
  constexpr int kLstm = 4;
  FixedPolicySource source(env, /*seed=*/1);
  ASSERT_TRUE(source.Load(Parameters("deterministic", env, kLstm), 1).ok());

  constexpr int kRows = 2;
  const std::vector<float> obs = Observations(kRows, 5, 0.f);
  std::vector<float> actions(kRows * 2);
  std::vector<float> states(kRows * 2 * kLstm, 7.f);
  ActionBuffers out;
  out.actions = actions.data();
  out.action_dim = 2;
  out.core_states = states.data();
  out.state_width = 2 * kLstm;
  absl::Notification stop;
  const uint8_t first[kRows] = {1, 1};
  ASSERT_TRUE(source.Act(ObservationRows{obs.data(), envs::ObservationType::kFloat32, kRows, 5, first}, true, false,
                         stop, out)
                  .ok());
  EXPECT_EQ(states, std::vector<float>(states.size(), 0.f));
  const std::vector<float> first_actions = actions;

  const uint8_t second[kRows] = {1, 0};
  ASSERT_TRUE(source.Act(ObservationRows{obs.data(), envs::ObservationType::kFloat32, kRows, 5, second}, true, false,
                         stop, out)
                  .ok());
  for (int k = 0; k < 2 * kLstm; ++k) EXPECT_EQ(states[k], 0.f) << "row 0, state " << k;
  float carried = 0;
  for (int k = 0; k < 2 * kLstm; ++k) carried += std::abs(states[2 * kLstm + k]);
  EXPECT_GT(carried, 0.f) << "row 1 acted from zeros again";
  EXPECT_EQ(actions[0], first_actions[0]);
  EXPECT_EQ(actions[1], first_actions[1]);
}

TEST(FixedPolicySourceTest, PolicyForAnotherEnvIsRefusedNamingTheVersion) {
  FixedPolicySource source(DiscreteEnv(envs::ObservationType::kFloat32), /*seed=*/1);
  const absl::Status loaded = source.Load(Parameters("gaussian", ContinuousEnv()), /*version=*/7);
  EXPECT_EQ(loaded.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(loaded.message().find("parameter version 7 is a gaussian policy for obs 5"), std::string::npos)
      << loaded.message();
  EXPECT_NE(loaded.message().find("Discrete has obs 6"), std::string::npos) << loaded.message();
  EXPECT_FALSE(source.ready());
}

TEST(FixedPolicySourceTest, ActingBeforeALoadIsFailedPrecondition) {
  FixedPolicySource source(ContinuousEnv(), /*seed=*/1);
  const std::vector<float> obs = Observations(1, 5, 0.f);
  std::vector<float> actions(2);
  ActionBuffers out;
  out.actions = actions.data();
  out.action_dim = 2;
  absl::Notification stop;
  EXPECT_EQ(source.Act(ObservationRows{obs.data(), envs::ObservationType::kFloat32, 1, 5}, true, false, stop, out)
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace rill::actor
