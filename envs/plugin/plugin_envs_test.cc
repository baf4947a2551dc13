// The plugin loader against real shared libraries: the example plugin
// (examples/plugin/hover.cc) and the misbehaving ones of testdata/.
#include "envs/plugin/plugin_envs.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envs/episode_statistics.h"
#include "envs/plugin/test_libraries.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Hover() { return Runfile("examples/plugin/libhover.so"); }

v1::PluginEnvConfig Config(const std::string& library, const std::string& id) { return PluginConfig(library, id); }

std::unique_ptr<Env> Make(const std::string& library, const std::string& id, uint64_t seed, int max_steps = 0) {
  absl::StatusOr<std::unique_ptr<Env>> env = MakePluginEnv(Config(library, id), max_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? *std::move(env) : nullptr;
}

TEST(PluginEnvsTest, TheExamplePluginStatesItsSpaces) {
  absl::StatusOr<EnvSpec> spec = PluginEnvSpec(Config(Hover(), "Hover-v0"), 0);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name, "Hover-v0");
  EXPECT_EQ(spec->observation_shape, std::vector<int64_t>({3}));
  EXPECT_FALSE(spec->discrete);
  EXPECT_EQ(spec->action_low, std::vector<float>({0.f}));
  EXPECT_EQ(spec->action_high, std::vector<float>({1.f}));
  EXPECT_EQ(spec->max_episode_steps, 200);
  absl::StatusOr<EnvSpec> limited = PluginEnvSpec(Config(Hover(), "Hover-v0"), 50);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->max_episode_steps, 50);
}

// Mean return of `episodes` episodes of Hover-v0 under `policy` (obs ->
// throttle).
template <typename Policy>
double MeanReturn(Policy policy, int episodes, uint64_t seed) {
  EpisodeStatistics env(Make(Hover(), "Hover-v0", seed));
  float obs[3];
  double total = 0;
  for (int e = 0; e < episodes; ++e) {
    env.Reset(obs);
    while (true) {
      const float action = policy(obs);
      absl::StatusOr<StepResult> result = env.Step(&action, obs);
      EXPECT_TRUE(result.ok()) << result.status();
      if (!result.ok() || result->terminated || result->truncated) break;
    }
    total += env.finished()->episode_return;
  }
  return total / episodes;
}

TEST(PluginEnvsTest, AControllerHoversWhereRandomThrottleCrashes) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> uniform(0.f, 1.f);
  const double random = MeanReturn([&](const float*) { return uniform(rng); }, 200, 11);
  const double full = MeanReturn([](const float*) { return 1.f; }, 200, 11);
  const double controller = MeanReturn([](const float* o) { return 0.49f + 0.3f * o[0] - 0.3f * o[1]; }, 200, 11);
  std::printf("Hover-v0 mean return over 200 episodes: random %.1f, full throttle %.1f, PD controller %.1f\n", random,
              full, controller);
  EXPECT_GT(controller, random + 100);
  EXPECT_GT(controller, full + 100);
}

TEST(PluginEnvsTest, EqualSeedsGiveEqualEpisodesAndTheTimeLimitTruncates) {
  std::unique_ptr<Env> a = Make(Hover(), "Hover-v0", 5, 20), b = Make(Hover(), "Hover-v0", 5, 20),
                       c = Make(Hover(), "Hover-v0", 6, 20);
  float oa[3], ob[3], oc[3];
  a->Reset(oa);
  b->Reset(ob);
  c->Reset(oc);
  EXPECT_EQ(std::vector<float>(oa, oa + 3), std::vector<float>(ob, ob + 3));
  EXPECT_NE(std::vector<float>(oa, oa + 3), std::vector<float>(oc, oc + 3));
  const float hold = 0.49f;
  for (int t = 1; t <= 20; ++t) {
    absl::StatusOr<StepResult> ra = a->Step(&hold, oa), rb = b->Step(&hold, ob);
    ASSERT_TRUE(ra.ok() && rb.ok());
    EXPECT_EQ(ra->reward, rb->reward);
    EXPECT_FALSE(ra->terminated);
    EXPECT_EQ(ra->truncated, t == 20) << t;
  }
  EXPECT_THAT(a->Step(&hold, oa).status().message(), HasSubstr("Reset"));
}

TEST(PluginEnvsTest, AMissingFileIsNamed) {
  absl::StatusOr<EnvSpec> spec = PluginEnvSpec(Config("/nonexistent/libnothing.so", "X-v0"), 0);
  EXPECT_TRUE(absl::IsNotFound(spec.status())) << spec.status();
  EXPECT_THAT(spec.status().message(), HasSubstr("/nonexistent/libnothing.so: no such file"));
}

TEST(PluginEnvsTest, AFileThatIsNoLibraryIsRefusedWithTheLoadersReason) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/notalibrary.so");
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("just text\n", file);
  std::fclose(file);
  absl::StatusOr<EnvSpec> spec = PluginEnvSpec(Config(path, "X-v0"), 0);
  EXPECT_TRUE(absl::IsInvalidArgument(spec.status())) << spec.status();
  EXPECT_THAT(spec.status().message(), AllOf(HasSubstr(path), HasSubstr("cannot be loaded")));
}

TEST(PluginEnvsTest, ALibraryWithoutTheEntryPointIsRefusedNamingTheSymbol) {
  absl::StatusOr<EnvSpec> spec = PluginEnvSpec(Config(TestPlugin("no_entry_plugin"), "X-v0"), 0);
  EXPECT_TRUE(absl::IsInvalidArgument(spec.status())) << spec.status();
  EXPECT_THAT(spec.status().message(), AllOf(HasSubstr("libno_entry_plugin.so"), HasSubstr("does not export rill_env_plugin")));
}

TEST(PluginEnvsTest, ALibraryBuiltForAnotherAbiVersionIsRefusedWithBothVersions) {
  absl::StatusOr<EnvSpec> spec = PluginEnvSpec(Config(TestPlugin("future_abi_plugin"), "X-v0"), 0);
  EXPECT_TRUE(absl::IsInvalidArgument(spec.status())) << spec.status();
  EXPECT_THAT(spec.status().message(),
              AllOf(HasSubstr("built for env plugin ABI version 999"),
                    HasSubstr(absl::StrCat("this Rill loads version ", RILL_ENV_PLUGIN_ABI_VERSION))));
}

TEST(PluginEnvsTest, MalformedSpacesAreRefusedNamingTheEnvAndDimension) {
  absl::StatusOr<EnvSpec> spec = PluginEnvSpec(Config(TestPlugin("bad_spaces_plugin"), "Upside-v0"), 0);
  EXPECT_TRUE(absl::IsInvalidArgument(spec.status())) << spec.status();
  EXPECT_THAT(spec.status().message(), AllOf(HasSubstr("env Upside-v0"), HasSubstr("dimension 1")));
}

TEST(PluginEnvsTest, AnUnknownIdListsTheLibrarysEnvs) {
  absl::StatusOr<EnvSpec> spec = PluginEnvSpec(Config(Hover(), "Hovr-v0"), 0);
  EXPECT_TRUE(absl::IsNotFound(spec.status())) << spec.status();
  EXPECT_THAT(spec.status().message(), AllOf(HasSubstr("no env 'Hovr-v0'"), HasSubstr("it offers: Hover-v0")));
}

TEST(PluginEnvsTest, Uint8ObservationsStayBytes) {
  const v1::PluginEnvConfig config = Config(TestPlugin("faulty_plugin"), "Camera-v0");
  absl::StatusOr<EnvSpec> spec = PluginEnvSpec(config, 0);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(spec->uint8_observations());
  EXPECT_EQ(spec->observation_shape, (std::vector<int64_t>{2, 4, 4}));
  EXPECT_EQ(spec->obs_dim(), 32);
  EXPECT_EQ(spec->obs_bytes(), 32);
  absl::StatusOr<std::unique_ptr<Env>> env = MakePluginEnv(config, 0, 57);
  ASSERT_TRUE(env.ok()) << env.status();
  std::vector<uint8_t> pixels(32, 0);
  (*env)->ResetRaw(pixels.data());
  EXPECT_EQ(pixels, std::vector<uint8_t>(32, 57));
  const float action = 2;
  absl::StatusOr<StepResult> step = (*env)->StepRaw(&action, pixels.data());
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->reward, 2.f);
  for (int k = 0; k < 16; ++k) EXPECT_EQ(pixels[k], 1) << k;
  for (int k = 16; k < 32; ++k) EXPECT_EQ(pixels[k], 200) << k;
  // The float interface gives the same values as floats.
  std::vector<float> floats(32, -1.f);
  step = (*env)->Step(&action, floats.data());
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(floats[0], 2.f);
  EXPECT_EQ(floats[31], 200.f);
}

TEST(PluginEnvsTest, AFailedCreateCarriesTheLibrarysMessage) {
  absl::StatusOr<std::unique_ptr<Env>> env = MakePluginEnv(Config(TestPlugin("faulty_plugin"), "Broken-v0"), 0, 1);
  EXPECT_TRUE(absl::IsInternal(env.status())) << env.status();
  EXPECT_THAT(env.status().message(), AllOf(HasSubstr("Broken-v0"), HasSubstr("no licence")));
}

TEST(PluginEnvsTest, AFailedStepIsAnErrorAndTheEnvStepsAgainAfterAReset) {
  std::unique_ptr<Env> env = Make(TestPlugin("faulty_plugin"), "Lever-v0", 1);
  float obs[2];
  env->Reset(obs);
  const float lever0 = 0, lever1 = 1, lever2 = 2, half = 0.5f;
  ASSERT_TRUE(env->Step(&lever0, obs).ok());
  EXPECT_EQ(obs[0], 1.f);
  absl::StatusOr<StepResult> broken = env->Step(&lever1, obs);
  EXPECT_THAT(broken.status().message(), AllOf(HasSubstr("env Lever-v0"), HasSubstr("lever 1 is broken")));
  // Out of range or not whole: refused before the library sees it.
  EXPECT_TRUE(absl::IsInvalidArgument(env->Step(&lever2, obs).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(env->Step(&half, obs).status()));
  env->Reset(obs);
  absl::StatusOr<StepResult> again = env->Step(&lever0, obs);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->reward, 1.f);
}

TEST(PluginEnvsTest, AFailedResetSurfacesAsTheNextStepsError) {
  std::unique_ptr<Env> env = Make(TestPlugin("faulty_plugin"), "Lever-v0", 7);
  float obs[2] = {5, 5};
  env->Reset(obs);
  const float lever0 = 0;
  absl::StatusOr<StepResult> step = env->Step(&lever0, obs);
  EXPECT_TRUE(absl::IsFailedPrecondition(step.status())) << step.status();
  EXPECT_THAT(step.status().message(), HasSubstr("reset failed: cannot reset with seed 7"));
}

TEST(PluginEnvsTest, NonFiniteObservationsAndRewardsAreNamed) {
  std::unique_ptr<Env> env = Make(TestPlugin("faulty_plugin"), "Drift-v0", 1);
  float obs[1];
  env->Reset(obs);
  const float calm = 0.1f, up = 0.9f, down = -0.9f, nan = std::nanf("");
  ASSERT_TRUE(env->Step(&calm, obs).ok());
  EXPECT_FLOAT_EQ(obs[0], 0.1f);
  EXPECT_THAT(env->Step(&up, obs).status().message(), HasSubstr("observation[0] = nan"));
  env->Reset(obs);
  EXPECT_THAT(env->Step(&down, obs).status().message(), HasSubstr("reward nan"));
  env->Reset(obs);
  EXPECT_THAT(env->Step(&nan, obs).status().message(), HasSubstr("action[0] is NaN"));
}

}  // namespace
}  // namespace rill::envs
