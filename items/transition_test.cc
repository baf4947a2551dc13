#include "items/transition.h"

#include <cmath>
#include <string>
#include <vector>

#include "envs/catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::items {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::FloatEq;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pointwise;

envs::EnvSpec PendulumSpec() { return *envs::LookupEnvSpec("Pendulum-v1"); }

envs::EnvSpec CartPoleSpec() { return *envs::LookupEnvSpec("CartPole-v1"); }

TransitionBuilderOptions Options(const envs::EnvSpec& env, int n_step, double gamma, int num_envs = 1) {
  TransitionBuilderOptions options;
  options.env = env;
  options.num_envs = num_envs;
  options.n_step = n_step;
  options.gamma = gamma;
  options.signature = TransitionBuilder::DefaultSignature(env, n_step);
  return options;
}

std::unique_ptr<TransitionBuilder> MakeBuilder(const TransitionBuilderOptions& options) {
  absl::StatusOr<std::unique_ptr<TransitionBuilder>> builder = TransitionBuilder::Create(options);
  EXPECT_TRUE(builder.ok()) << builder.status();
  return builder.ok() ? *std::move(builder) : nullptr;
}

// The observation of env `env` at step `t` of its episode: every value
// distinct, so a test sees which step an item's obs or next_obs came from.
std::vector<float> Obs(int env, int t, int dim = 3) {
  std::vector<float> obs(dim);
  for (int i = 0; i < dim; ++i) obs[i] = 100.f * env + t + 0.125f * i;
  return obs;
}

// Several observations back to back, as a column holds them.
std::vector<float> Concat(const std::vector<std::vector<float>>& parts) {
  std::vector<float> out;
  for (const std::vector<float>& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

std::vector<uint8_t> Concat8(const std::vector<std::vector<uint8_t>>& parts) {
  std::vector<uint8_t> out;
  for (const std::vector<uint8_t>& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// Step `t` of a Pendulum-like env: from Obs(env, t) to Obs(env, t + 1).
void Step(TransitionBuilder& builder, int env, int t, float action, float reward, bool terminated = false,
          bool truncated = false) {
  const std::vector<float> obs = Obs(env, t);
  const std::vector<float> next_obs = Obs(env, t + 1);
  builder.AddStep(env, obs.data(), &action, reward, terminated, truncated, next_obs.data());
}

int ColumnIndex(const v1::Signature& signature, const std::string& name) {
  for (int c = 0; c < signature.columns_size(); ++c) {
    if (signature.columns(c).name() == name) return c;
  }
  ADD_FAILURE() << "the signature has no column '" << name << "'";
  return -1;
}

// The ready items' column `name` as floats, `width` floats per item.
std::vector<float> FloatColumn(const TransitionBuilder& builder, const v1::Signature& signature,
                               const std::string& name, int width = 1) {
  const int c = ColumnIndex(signature, name);
  if (c < 0) return {};
  const std::vector<const void*> columns = builder.Columns();
  const float* data = static_cast<const float*>(columns[c]);
  return std::vector<float>(data, data + builder.ready() * width);
}

std::vector<int64_t> IndexColumn(const TransitionBuilder& builder, const v1::Signature& signature,
                                 const std::string& name) {
  const int c = ColumnIndex(signature, name);
  if (c < 0) return {};
  const std::vector<const void*> columns = builder.Columns();
  const int64_t* data = static_cast<const int64_t*>(columns[c]);
  return std::vector<int64_t>(data, data + builder.ready());
}

v1::ColumnSpec* FindColumn(v1::Signature* signature, const std::string& name) {
  for (v1::ColumnSpec& column : *signature->mutable_columns()) {
    if (column.name() == name) return &column;
  }
  return nullptr;
}

TEST(TransitionBuilderTest, DefaultSignatureHasTheFiveOldColumnsAtOneStep) {
  const v1::Signature signature = TransitionBuilder::DefaultSignature(PendulumSpec(), 1);
  ASSERT_EQ(signature.columns_size(), 5);
  const std::vector<std::string> names = {"obs", "action", "reward", "terminated", "next_obs"};
  const std::vector<std::vector<int64_t>> shapes = {{3}, {1}, {}, {}, {3}};
  for (int c = 0; c < 5; ++c) {
    EXPECT_EQ(signature.columns(c).name(), names[c]);
    EXPECT_EQ(signature.columns(c).dtype(), v1::DTYPE_FLOAT32) << names[c];
    EXPECT_THAT(signature.columns(c).shape(), ElementsAreArray(shapes[c])) << names[c];
  }
}

TEST(TransitionBuilderTest, DefaultSignatureAddsDiscountAboveOneStep) {
  const v1::Signature signature = TransitionBuilder::DefaultSignature(PendulumSpec(), 3);
  ASSERT_EQ(signature.columns_size(), 6);
  EXPECT_EQ(signature.columns(5).name(), "discount");
  EXPECT_EQ(signature.columns(5).dtype(), v1::DTYPE_FLOAT32);
  EXPECT_THAT(signature.columns(5).shape(), IsEmpty());
}

TEST(TransitionBuilderTest, DefaultSignatureOfADiscreteEnvHasAnInt64ActionIndex) {
  const v1::Signature signature = TransitionBuilder::DefaultSignature(CartPoleSpec(), 1);
  const v1::ColumnSpec& action = signature.columns(ColumnIndex(signature, "action"));
  EXPECT_EQ(action.dtype(), v1::DTYPE_INT64);
  EXPECT_THAT(action.shape(), IsEmpty());
  EXPECT_THAT(signature.columns(ColumnIndex(signature, "obs")).shape(), ElementsAre(4));
}

TEST(TransitionBuilderTest, DefaultSignaturesPassTheirOwnCheck) {
  for (const envs::EnvSpec& env : {PendulumSpec(), CartPoleSpec()}) {
    for (int n : {1, 2, 5}) {
      EXPECT_TRUE(TransitionBuilder::CheckSignature(TransitionBuilder::DefaultSignature(env, n), env, n).ok())
          << env.name << " n=" << n;
    }
  }
}

TEST(TransitionBuilderTest, OneStepMatchesTheOldFiveColumnItems) {
  // What the actor wrote before: per lockstep step, one item per env in env
  // order, terminated 1 only on a true termination (not on truncation).
  TransitionBuilderOptions options = Options(PendulumSpec(), 1, 0.99, /*num_envs=*/2);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  Step(*builder, 0, 0, 0.5f, -1.f);
  EXPECT_EQ(builder->ready(), 1);
  EXPECT_EQ(builder->pending(0), 0);
  Step(*builder, 1, 0, -0.25f, -2.f, /*terminated=*/true);
  Step(*builder, 0, 1, 1.f, -3.f, /*terminated=*/false, /*truncated=*/true);
  ASSERT_EQ(builder->ready(), 3);

  const v1::Signature& sig = options.signature;
  EXPECT_EQ(builder->Columns().size(), 5u);
  EXPECT_THAT(FloatColumn(*builder, sig, "obs", 3), ElementsAreArray(Concat({Obs(0, 0), Obs(1, 0), Obs(0, 1)})));
  EXPECT_THAT(FloatColumn(*builder, sig, "action", 1), ElementsAre(0.5f, -0.25f, 1.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "reward"), ElementsAre(-1.f, -2.f, -3.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "terminated"), ElementsAre(0.f, 1.f, 0.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "next_obs", 3),
              ElementsAreArray(Concat({Obs(0, 1), Obs(1, 1), Obs(0, 2)})));
}

TEST(TransitionBuilderTest, OneStepDiscountColumnIsGammaUnlessTerminated) {
  TransitionBuilderOptions options = Options(PendulumSpec(), 1, 0.75);
  *options.signature.add_columns() = TransitionBuilder::DefaultSignature(PendulumSpec(), 2).columns(5);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  Step(*builder, 0, 0, 0.f, 1.f);
  Step(*builder, 0, 1, 0.f, 1.f, /*terminated=*/true);
  Step(*builder, 0, 0, 0.f, 1.f, /*terminated=*/false, /*truncated=*/true);
  EXPECT_THAT(FloatColumn(*builder, options.signature, "discount"), ElementsAre(0.75f, 0.f, 0.75f));
}

TEST(TransitionBuilderTest, FillsColumnsByNameInTheSignaturesOrder) {
  TransitionBuilderOptions options = Options(PendulumSpec(), 1, 0.99);
  options.signature.Clear();
  const v1::Signature defaults = TransitionBuilder::DefaultSignature(PendulumSpec(), 1);
  for (const char* name : {"next_obs", "reward", "action", "obs", "terminated"}) {
    *options.signature.add_columns() = defaults.columns(ColumnIndex(defaults, name));
  }
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  Step(*builder, 0, 0, 0.5f, -1.f);
  Step(*builder, 0, 1, -0.75f, -2.f, /*terminated=*/true);
  ASSERT_EQ(builder->ready(), 2);

  const std::vector<const void*> columns = builder->Columns();
  ASSERT_EQ(columns.size(), 5u);
  const float* next_obs = static_cast<const float*>(columns[0]);
  const float* reward = static_cast<const float*>(columns[1]);
  const float* action = static_cast<const float*>(columns[2]);
  const float* obs = static_cast<const float*>(columns[3]);
  const float* terminated = static_cast<const float*>(columns[4]);
  EXPECT_THAT(std::vector<float>(next_obs, next_obs + 6), ElementsAreArray(Concat({Obs(0, 1), Obs(0, 2)})));
  EXPECT_THAT(std::vector<float>(reward, reward + 2), ElementsAre(-1.f, -2.f));
  EXPECT_THAT(std::vector<float>(action, action + 2), ElementsAre(0.5f, -0.75f));
  EXPECT_THAT(std::vector<float>(obs, obs + 6), ElementsAreArray(Concat({Obs(0, 0), Obs(0, 1)})));
  EXPECT_THAT(std::vector<float>(terminated, terminated + 2), ElementsAre(0.f, 1.f));
}

TEST(TransitionBuilderTest, HoldsItemsUntilNStepsFollowThem) {
  TransitionBuilderOptions options = Options(PendulumSpec(), 3, 0.5);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  Step(*builder, 0, 0, 0.f, 1.f);
  Step(*builder, 0, 1, 0.f, 2.f);
  EXPECT_EQ(builder->ready(), 0);
  EXPECT_EQ(builder->pending(0), 2);
  Step(*builder, 0, 2, 0.f, 4.f);
  ASSERT_EQ(builder->ready(), 1);
  EXPECT_EQ(builder->pending(0), 2);
  const v1::Signature& sig = options.signature;
  EXPECT_THAT(FloatColumn(*builder, sig, "obs", 3), ElementsAreArray(Obs(0, 0)));
  EXPECT_THAT(FloatColumn(*builder, sig, "reward"), ElementsAre(1.f + 0.5f * 2 + 0.25f * 4));
  EXPECT_THAT(FloatColumn(*builder, sig, "next_obs", 3), ElementsAreArray(Obs(0, 3)));
  EXPECT_THAT(FloatColumn(*builder, sig, "discount"), ElementsAre(0.125f));
  EXPECT_THAT(FloatColumn(*builder, sig, "terminated"), ElementsAre(0.f));
}

TEST(TransitionBuilderTest, TerminationInsideTheWindowEndsEveryPendingItemWithoutBootstrap) {
  TransitionBuilderOptions options = Options(PendulumSpec(), 3, 0.5);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  Step(*builder, 0, 0, 0.1f, 1.f);
  Step(*builder, 0, 1, 0.2f, 2.f);
  Step(*builder, 0, 2, 0.3f, 4.f, /*terminated=*/true);
  ASSERT_EQ(builder->ready(), 3);
  EXPECT_EQ(builder->pending(0), 0);
  const v1::Signature& sig = options.signature;
  EXPECT_THAT(FloatColumn(*builder, sig, "obs", 3), ElementsAreArray(Concat({Obs(0, 0), Obs(0, 1), Obs(0, 2)})));
  EXPECT_THAT(FloatColumn(*builder, sig, "action"), ElementsAre(0.1f, 0.2f, 0.3f));
  // 1 + .5*2 + .25*4, 2 + .5*4, 4.
  EXPECT_THAT(FloatColumn(*builder, sig, "reward"), ElementsAre(3.f, 4.f, 4.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "terminated"), ElementsAre(1.f, 1.f, 1.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "discount"), ElementsAre(0.f, 0.f, 0.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "next_obs", 3),
              ElementsAreArray(Concat({Obs(0, 3), Obs(0, 3), Obs(0, 3)})));
}

TEST(TransitionBuilderTest, TruncationInsideTheWindowBootstrapsFromTheRealFinalObs) {
  TransitionBuilderOptions options = Options(PendulumSpec(), 3, 0.5);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  Step(*builder, 0, 0, 0.1f, 1.f);
  Step(*builder, 0, 1, 0.2f, 2.f);
  Step(*builder, 0, 2, 0.3f, 4.f, /*terminated=*/false, /*truncated=*/true);
  ASSERT_EQ(builder->ready(), 3);
  EXPECT_EQ(builder->pending(0), 0);
  const v1::Signature& sig = options.signature;
  EXPECT_THAT(FloatColumn(*builder, sig, "obs", 3), ElementsAreArray(Concat({Obs(0, 0), Obs(0, 1), Obs(0, 2)})));
  EXPECT_THAT(FloatColumn(*builder, sig, "reward"), ElementsAre(3.f, 4.f, 4.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "terminated"), ElementsAre(0.f, 0.f, 0.f));
  // gamma^k for items of 3, 2 and 1 steps.
  EXPECT_THAT(FloatColumn(*builder, sig, "discount"), ElementsAre(0.125f, 0.25f, 0.5f));
  EXPECT_THAT(FloatColumn(*builder, sig, "next_obs", 3),
              ElementsAreArray(Concat({Obs(0, 3), Obs(0, 3), Obs(0, 3)})));
}

TEST(TransitionBuilderTest, TerminationAfterAFullWindowEndsTheRestShorter) {
  TransitionBuilderOptions options = Options(PendulumSpec(), 3, 0.5);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  Step(*builder, 0, 0, 0.f, 1.f);
  Step(*builder, 0, 1, 0.f, 2.f);
  Step(*builder, 0, 2, 0.f, 4.f);
  Step(*builder, 0, 3, 0.f, 8.f, /*terminated=*/true);
  ASSERT_EQ(builder->ready(), 4);
  const v1::Signature& sig = options.signature;
  EXPECT_THAT(FloatColumn(*builder, sig, "reward"), ElementsAre(3.f, 2.f + 2.f + 2.f, 4.f + 4.f, 8.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "terminated"), ElementsAre(0.f, 1.f, 1.f, 1.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "discount"), ElementsAre(0.125f, 0.f, 0.f, 0.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "next_obs", 3),
              ElementsAreArray(Concat({Obs(0, 3), Obs(0, 4), Obs(0, 4), Obs(0, 4)})));
}

TEST(TransitionBuilderTest, NLargerThanTheEpisodeEmitsShortItemsAndStartsTheNextEpisodeEmpty) {
  TransitionBuilderOptions options = Options(PendulumSpec(), 5, 0.5);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  Step(*builder, 0, 0, 0.f, 1.f);
  Step(*builder, 0, 1, 0.f, 2.f, /*terminated=*/false, /*truncated=*/true);
  ASSERT_EQ(builder->ready(), 2);
  const v1::Signature& sig = options.signature;
  EXPECT_THAT(FloatColumn(*builder, sig, "reward"), ElementsAre(2.f, 2.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "discount"), ElementsAre(0.25f, 0.5f));
  EXPECT_THAT(FloatColumn(*builder, sig, "next_obs", 3), ElementsAreArray(Concat({Obs(0, 2), Obs(0, 2)})));

  // The next episode's items hold none of the last one's steps.
  builder->ClearReady();
  Step(*builder, 0, 10, 0.f, 16.f, /*terminated=*/true);
  ASSERT_EQ(builder->ready(), 1);
  EXPECT_THAT(FloatColumn(*builder, sig, "obs", 3), ElementsAreArray(Obs(0, 10)));
  EXPECT_THAT(FloatColumn(*builder, sig, "reward"), ElementsAre(16.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "discount"), ElementsAre(0.f));
}

TEST(TransitionBuilderTest, InterleavedEnvsKeepSeparateWindows) {
  TransitionBuilderOptions options = Options(PendulumSpec(), 2, 0.5, /*num_envs=*/2);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  Step(*builder, 0, 0, 0.f, 1.f);
  Step(*builder, 1, 0, 1.f, 10.f);
  EXPECT_EQ(builder->ready(), 0);
  Step(*builder, 0, 1, 0.f, 2.f);   // env 0's item 0 completes
  Step(*builder, 1, 1, 1.f, 20.f, /*terminated=*/true);  // env 1's items 0, 1 end
  EXPECT_EQ(builder->pending(0), 1);
  EXPECT_EQ(builder->pending(1), 0);
  Step(*builder, 0, 2, 0.f, 4.f);   // env 0's item 1 completes
  ASSERT_EQ(builder->ready(), 4);
  const v1::Signature& sig = options.signature;
  EXPECT_THAT(FloatColumn(*builder, sig, "obs", 3),
              ElementsAreArray(Concat({Obs(0, 0), Obs(1, 0), Obs(1, 1), Obs(0, 1)})));
  EXPECT_THAT(FloatColumn(*builder, sig, "action"), ElementsAre(0.f, 1.f, 1.f, 0.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "reward"), ElementsAre(1.f + 1.f, 10.f + 10.f, 20.f, 2.f + 2.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "terminated"), ElementsAre(0.f, 1.f, 1.f, 0.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "discount"), ElementsAre(0.25f, 0.f, 0.f, 0.25f));
  EXPECT_THAT(FloatColumn(*builder, sig, "next_obs", 3),
              ElementsAreArray(Concat({Obs(0, 2), Obs(1, 2), Obs(1, 2), Obs(0, 3)})));
}

TEST(TransitionBuilderTest, StoresDiscreteActionsAsInt64Indices) {
  TransitionBuilderOptions options = Options(CartPoleSpec(), 1, 0.99);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  for (int t = 0; t < 3; ++t) {
    const std::vector<float> obs = Obs(0, t, 4);
    const std::vector<float> next_obs = Obs(0, t + 1, 4);
    builder->AddStep(0, obs.data(), int64_t{t % 2}, 1.f, /*terminated=*/t == 2, /*truncated=*/false,
                     next_obs.data());
  }
  ASSERT_EQ(builder->ready(), 3);
  const v1::Signature& sig = options.signature;
  EXPECT_THAT(IndexColumn(*builder, sig, "action"), ElementsAre(0, 1, 0));
  EXPECT_THAT(FloatColumn(*builder, sig, "obs", 4),
              ElementsAreArray(Concat({Obs(0, 0, 4), Obs(0, 1, 4), Obs(0, 2, 4)})));
  EXPECT_THAT(FloatColumn(*builder, sig, "terminated"), ElementsAre(0.f, 0.f, 1.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "next_obs", 4),
              ElementsAreArray(Concat({Obs(0, 1, 4), Obs(0, 2, 4), Obs(0, 3, 4)})));
}

TEST(TransitionBuilderTest, FlushPendingEndsEveryWindowAsTruncated) {
  TransitionBuilderOptions options = Options(PendulumSpec(), 3, 0.5, /*num_envs=*/3);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  Step(*builder, 0, 0, 0.f, 1.f);
  Step(*builder, 1, 0, 0.f, 10.f);
  Step(*builder, 0, 1, 0.f, 2.f);
  // env 2 never stepped: nothing to flush.
  ASSERT_EQ(builder->ready(), 0);
  builder->FlushPending();
  ASSERT_EQ(builder->ready(), 3);
  for (int env = 0; env < 3; ++env) EXPECT_EQ(builder->pending(env), 0) << env;
  const v1::Signature& sig = options.signature;
  EXPECT_THAT(FloatColumn(*builder, sig, "obs", 3), ElementsAreArray(Concat({Obs(0, 0), Obs(0, 1), Obs(1, 0)})));
  EXPECT_THAT(FloatColumn(*builder, sig, "reward"), ElementsAre(2.f, 2.f, 10.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "terminated"), ElementsAre(0.f, 0.f, 0.f));
  EXPECT_THAT(FloatColumn(*builder, sig, "discount"), ElementsAre(0.25f, 0.5f, 0.5f));
  EXPECT_THAT(FloatColumn(*builder, sig, "next_obs", 3),
              ElementsAreArray(Concat({Obs(0, 2), Obs(0, 2), Obs(1, 1)})));

  builder->ClearReady();
  builder->FlushPending();
  EXPECT_EQ(builder->ready(), 0);
}

TEST(TransitionBuilderTest, ClearReadyForgetsTakenItems) {
  TransitionBuilderOptions options = Options(PendulumSpec(), 1, 0.99);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  Step(*builder, 0, 0, 0.f, 1.f);
  Step(*builder, 0, 1, 0.f, 2.f);
  builder->ClearReady();
  EXPECT_EQ(builder->ready(), 0);
  Step(*builder, 0, 2, 0.f, 3.f);
  ASSERT_EQ(builder->ready(), 1);
  EXPECT_THAT(FloatColumn(*builder, options.signature, "obs", 3), ElementsAreArray(Obs(0, 2)));
  EXPECT_THAT(FloatColumn(*builder, options.signature, "reward"), ElementsAre(3.f));
}

// An independent n-step reference: item t of an episode of L steps covers
// k = min(n, L - t) steps; it terminates when its last step is the episode's
// last step and that step terminated.
struct Expected {
  std::vector<float> obs, action, reward, terminated, next_obs, discount;
};

void AddReferenceEpisode(int n, double gamma, int first_t, const std::vector<float>& rewards, bool terminated,
                         Expected* expected) {
  const int length = static_cast<int>(rewards.size());
  for (int t = 0; t < length; ++t) {
    const int k = std::min(n, length - t);
    const int last = t + k - 1;
    const bool item_terminated = terminated && last == length - 1;
    double reward = 0;
    for (int i = 0; i < k; ++i) reward += std::pow(gamma, i) * rewards[t + i];
    const std::vector<float> obs = Obs(0, first_t + t);
    const std::vector<float> next_obs = Obs(0, first_t + last + 1);
    expected->obs.insert(expected->obs.end(), obs.begin(), obs.end());
    expected->action.push_back(0.01f * (first_t + t));
    expected->reward.push_back(static_cast<float>(reward));
    expected->terminated.push_back(item_terminated ? 1.f : 0.f);
    expected->next_obs.insert(expected->next_obs.end(), next_obs.begin(), next_obs.end());
    expected->discount.push_back(item_terminated ? 0.f : static_cast<float>(std::pow(gamma, k)));
  }
}

TEST(TransitionBuilderTest, ManyEpisodesMatchANaiveNStepReference) {
  constexpr int kN = 3;
  constexpr double kGamma = 0.9;
  TransitionBuilderOptions options = Options(PendulumSpec(), kN, kGamma);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  Expected expected;
  int first_t = 0;
  // Lengths and endings that wrap the ring at every offset.
  const std::vector<std::pair<int, bool>> episodes = {{7, true}, {2, false}, {5, true}, {1, true}, {8, false}};
  for (const auto& [length, terminated] : episodes) {
    std::vector<float> rewards;
    for (int t = 0; t < length; ++t) rewards.push_back(std::sin(1.7f * (first_t + t)));
    for (int t = 0; t < length; ++t) {
      const bool last = t == length - 1;
      Step(*builder, 0, first_t + t, 0.01f * (first_t + t), rewards[t], last && terminated, last && !terminated);
    }
    AddReferenceEpisode(kN, kGamma, first_t, rewards, terminated, &expected);
    first_t += length + 100;  // observations of different episodes differ
  }
  const v1::Signature& sig = options.signature;
  ASSERT_EQ(builder->ready(), static_cast<int64_t>(expected.reward.size()));
  EXPECT_THAT(FloatColumn(*builder, sig, "obs", 3), ElementsAreArray(expected.obs));
  EXPECT_THAT(FloatColumn(*builder, sig, "action"), ElementsAreArray(expected.action));
  EXPECT_THAT(FloatColumn(*builder, sig, "reward"), Pointwise(FloatEq(), expected.reward));
  EXPECT_THAT(FloatColumn(*builder, sig, "terminated"), ElementsAreArray(expected.terminated));
  EXPECT_THAT(FloatColumn(*builder, sig, "next_obs", 3), ElementsAreArray(expected.next_obs));
  EXPECT_THAT(FloatColumn(*builder, sig, "discount"), Pointwise(FloatEq(), expected.discount));
}

TEST(TransitionBuilderTest, CheckSignatureNamesAMissingDiscountAboveOneStep) {
  const v1::Signature signature = TransitionBuilder::DefaultSignature(PendulumSpec(), 1);
  const absl::Status status = TransitionBuilder::CheckSignature(signature, PendulumSpec(), 3);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("'discount'"));
}

TEST(TransitionBuilderTest, CheckSignatureNamesAnyOtherMissingColumn) {
  v1::Signature signature = TransitionBuilder::DefaultSignature(PendulumSpec(), 1);
  signature.mutable_columns()->DeleteSubrange(ColumnIndex(signature, "terminated"), 1);
  const absl::Status status = TransitionBuilder::CheckSignature(signature, PendulumSpec(), 1);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("'terminated'"));
}

TEST(TransitionBuilderTest, CheckSignatureNamesAFloatActionForADiscreteEnv) {
  v1::Signature signature = TransitionBuilder::DefaultSignature(CartPoleSpec(), 1);
  FindColumn(&signature, "action")->set_dtype(v1::DTYPE_FLOAT32);
  const absl::Status status = TransitionBuilder::CheckSignature(signature, CartPoleSpec(), 1);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("'action'"));
  EXPECT_THAT(status.message(), HasSubstr("DTYPE_INT64"));
}

TEST(TransitionBuilderTest, CheckSignatureNamesAWrongObsShape) {
  v1::Signature signature = TransitionBuilder::DefaultSignature(PendulumSpec(), 1);
  FindColumn(&signature, "obs")->set_shape(0, 4);
  const absl::Status status = TransitionBuilder::CheckSignature(signature, PendulumSpec(), 1);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("'obs'"));
  EXPECT_THAT(status.message(), HasSubstr("[3]"));
}

TEST(TransitionBuilderTest, CheckSignatureNamesAnUnknownColumnAndTheKnownOnes) {
  v1::Signature signature = TransitionBuilder::DefaultSignature(PendulumSpec(), 1);
  v1::ColumnSpec* foo = signature.add_columns();
  foo->set_name("foo");
  foo->set_dtype(v1::DTYPE_FLOAT32);
  const absl::Status status = TransitionBuilder::CheckSignature(signature, PendulumSpec(), 1);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("'foo'"));
  EXPECT_THAT(status.message(), HasSubstr("obs, action, reward, terminated, next_obs, discount"));
}

TEST(TransitionBuilderTest, CheckSignatureAllowsDiscountAtOneStep) {
  v1::Signature signature = TransitionBuilder::DefaultSignature(PendulumSpec(), 2);
  EXPECT_TRUE(TransitionBuilder::CheckSignature(signature, PendulumSpec(), 1).ok());
}

TEST(TransitionBuilderTest, CreateRejectsABadSignature) {
  TransitionBuilderOptions options = Options(PendulumSpec(), 3, 0.99);
  options.signature = TransitionBuilder::DefaultSignature(PendulumSpec(), 1);
  absl::StatusOr<std::unique_ptr<TransitionBuilder>> builder = TransitionBuilder::Create(options);
  EXPECT_TRUE(absl::IsInvalidArgument(builder.status())) << builder.status();
  EXPECT_THAT(builder.status().message(), HasSubstr("'discount'"));
}

TEST(TransitionBuilderTest, CreateRejectsNStepZero) {
  TransitionBuilderOptions options = Options(PendulumSpec(), 1, 0.99);
  options.n_step = 0;
  absl::StatusOr<std::unique_ptr<TransitionBuilder>> builder = TransitionBuilder::Create(options);
  EXPECT_TRUE(absl::IsInvalidArgument(builder.status())) << builder.status();
  EXPECT_THAT(builder.status().message(), HasSubstr("n_step"));
}

TEST(TransitionBuilderTest, CreateRejectsGammaOutsideZeroOne) {
  for (double gamma : {1.5, -0.1, std::nan("")}) {
    absl::StatusOr<std::unique_ptr<TransitionBuilder>> builder =
        TransitionBuilder::Create(Options(PendulumSpec(), 1, gamma));
    EXPECT_TRUE(absl::IsInvalidArgument(builder.status())) << gamma;
    EXPECT_THAT(builder.status().message(), HasSubstr("gamma"));
  }
  EXPECT_TRUE(TransitionBuilder::Create(Options(PendulumSpec(), 1, 1.0)).ok());
  EXPECT_TRUE(TransitionBuilder::Create(Options(PendulumSpec(), 1, 0.0)).ok());
}

TEST(TransitionBuilderTest, CreateRejectsNoEnvs) {
  absl::StatusOr<std::unique_ptr<TransitionBuilder>> builder =
      TransitionBuilder::Create(Options(PendulumSpec(), 1, 0.99, /*num_envs=*/0));
  EXPECT_TRUE(absl::IsInvalidArgument(builder.status())) << builder.status();
  EXPECT_THAT(builder.status().message(), HasSubstr("num_envs"));
}

// An env of uint8 images [2, 2, 2] with Discrete(3).
envs::EnvSpec CameraSpec() {
  envs::EnvSpec env;
  env.name = "Camera-v0";
  env.observation_shape = {2, 2, 2};
  env.observation_type = envs::ObservationType::kUint8;
  env.discrete = true;
  env.num_actions = 3;
  env.max_episode_steps = 10;
  return env;
}

TEST(TransitionBuilderTest, Uint8ObservationsAreCopiedAsBytesIntoUint8Columns) {
  const envs::EnvSpec env = CameraSpec();
  const v1::Signature signature = TransitionBuilder::DefaultSignature(env, 2);
  ASSERT_EQ(signature.columns(0).name(), "obs");
  EXPECT_EQ(signature.columns(0).dtype(), v1::DTYPE_UINT8);
  EXPECT_EQ(signature.columns(4).name(), "next_obs");
  EXPECT_EQ(signature.columns(4).dtype(), v1::DTYPE_UINT8);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(Options(env, 2, 0.5));
  ASSERT_NE(builder, nullptr);
  // Pixels 0..255 in three frames: every byte value survives.
  std::vector<std::vector<uint8_t>> frames(3, std::vector<uint8_t>(8));
  for (int f = 0; f < 3; ++f) {
    for (int k = 0; k < 8; ++k) frames[f][k] = static_cast<uint8_t>(f == 2 ? 255 - k : 8 * f + k);
  }
  builder->AddStep(0, frames[0].data(), int64_t{1}, 1.f, false, false, frames[1].data());
  builder->AddStep(0, frames[1].data(), int64_t{2}, 2.f, /*terminated=*/true, false, frames[2].data());
  ASSERT_EQ(builder->ready(), 2);
  const std::vector<const void*> columns = builder->Columns();
  const auto* obs = static_cast<const uint8_t*>(columns[0]);
  const auto* next_obs = static_cast<const uint8_t*>(columns[4]);
  EXPECT_EQ(std::vector<uint8_t>(obs, obs + 16), Concat8({frames[0], frames[1]}));
  EXPECT_EQ(std::vector<uint8_t>(next_obs, next_obs + 16), Concat8({frames[2], frames[2]}));
  const auto* reward = static_cast<const float*>(columns[2]);
  EXPECT_THAT(std::vector<float>(reward, reward + 2), ElementsAre(FloatEq(1.f + 0.5f * 2.f), FloatEq(2.f)));
}

TEST(TransitionBuilderTest, AFloatObservationColumnIsRefusedForAUint8Env) {
  const envs::EnvSpec env = CameraSpec();
  envs::EnvSpec as_floats = env;
  as_floats.observation_type = envs::ObservationType::kFloat32;
  absl::Status status =
      TransitionBuilder::CheckSignature(TransitionBuilder::DefaultSignature(as_floats, 1), env, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("'obs' is DTYPE_FLOAT32 [8] but env 'Camera-v0' needs DTYPE_UINT8 [8]"));
}


// A joint row of two agents (env.joint_agents): 2 floats of observation,
// two one-hots of 2 entries.
envs::EnvSpec JointSpec() {
  envs::EnvSpec env;
  env.name = "Joint-v0";
  env.observation_shape = {2};
  env.action_low = {-1, -1, -1, -1};
  env.action_high = {1, 1, 1, 1};
  env.max_episode_steps = 100;
  env.joint_agents = 2;
  return env;
}

// Step `t` of a joint row, with its agents' rewards and terminations.
void JointStep(TransitionBuilder& builder, int t, std::vector<float> agent_rewards,
               std::vector<uint8_t> agent_terminated, bool terminated = false) {
  const std::vector<float> obs = Obs(0, t, 2);
  const std::vector<float> next_obs = Obs(0, t + 1, 2);
  const float action[] = {1, -1, -1, 1};
  items::Step step;
  step.obs = obs.data();
  step.action = action;
  step.reward = (agent_rewards[0] + agent_rewards[1]) / 2;
  step.terminated = terminated;
  step.final_obs = next_obs.data();
  step.next_obs = next_obs.data();
  step.agent_rewards = agent_rewards.data();
  step.agent_terminated = agent_terminated.data();
  builder.AddStep(0, step);
}

TEST(TransitionBuilderTest, DefaultSignatureOfAJointRowHasEachAgentsRewardAndTermination) {
  const v1::Signature signature = TransitionBuilder::DefaultSignature(JointSpec(), 1);
  ASSERT_EQ(signature.columns_size(), 7);
  for (const std::string name : {"agent_rewards", "agent_terminated"}) {
    const v1::ColumnSpec& column = signature.columns(ColumnIndex(signature, name));
    EXPECT_EQ(column.dtype(), v1::DTYPE_FLOAT32) << name;
    EXPECT_THAT(column.shape(), ElementsAre(2)) << name;
  }
  EXPECT_TRUE(TransitionBuilder::CheckSignature(signature, JointSpec(), 1).ok());
  const v1::Signature three = TransitionBuilder::DefaultSignature(JointSpec(), 3);
  EXPECT_EQ(three.columns_size(), 8);
  EXPECT_TRUE(TransitionBuilder::CheckSignature(three, JointSpec(), 3).ok());
  EXPECT_EQ(TransitionBuilder::DefaultSignature(PendulumSpec(), 1).columns_size(), 5) << "no agent columns";
}

TEST(TransitionBuilderTest, OneStepJointItemsHoldEachAgentsRewardAndTermination) {
  const TransitionBuilderOptions options = Options(JointSpec(), 1, 0.9);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  JointStep(*builder, 0, {1, 2}, {0, 0});
  JointStep(*builder, 1, {3, 4}, {1, 0});
  JointStep(*builder, 2, {0, 5}, {1, 1}, /*terminated=*/true);
  ASSERT_EQ(builder->ready(), 3);
  EXPECT_THAT(FloatColumn(*builder, options.signature, "agent_rewards", 2), ElementsAre(1, 2, 3, 4, 0, 5));
  EXPECT_THAT(FloatColumn(*builder, options.signature, "agent_terminated", 2), ElementsAre(0, 0, 1, 0, 1, 1));
  EXPECT_THAT(FloatColumn(*builder, options.signature, "reward"), ElementsAre(1.5, 3.5, 2.5));
}

TEST(TransitionBuilderTest, ThreeStepJointItemsDiscountEachAgentsRewardsAndKeepItsTermination) {
  // gamma 0.5; agent 0 terminates at step 1, agent 1 at step 3 (the row's end).
  const TransitionBuilderOptions options = Options(JointSpec(), 3, 0.5);
  std::unique_ptr<TransitionBuilder> builder = MakeBuilder(options);
  JointStep(*builder, 0, {1, 10}, {0, 0});
  JointStep(*builder, 1, {2, 20}, {1, 0});
  JointStep(*builder, 2, {0, 30}, {1, 0});
  ASSERT_EQ(builder->ready(), 1);
  JointStep(*builder, 3, {0, 40}, {1, 1}, /*terminated=*/true);
  ASSERT_EQ(builder->ready(), 4);
  EXPECT_THAT(FloatColumn(*builder, options.signature, "agent_rewards", 2),
              ElementsAre(1 + 0.5f * 2, 10 + 0.5f * 20 + 0.25f * 30,  // steps 0..2
                          2, 20 + 0.5f * 30 + 0.25f * 40,             // steps 1..3
                          0, 30 + 0.5f * 40,                          // steps 2..3
                          0, 40));                                    // step 3
  EXPECT_THAT(FloatColumn(*builder, options.signature, "agent_terminated", 2),
              ElementsAre(1, 0, 1, 1, 1, 1, 1, 1));
}

TEST(TransitionBuilderTest, CheckSignatureRefusesAgentColumnsOfARowThatIsNotJoint) {
  v1::Signature signature = TransitionBuilder::DefaultSignature(PendulumSpec(), 1);
  *signature.add_columns() = TransitionBuilder::DefaultSignature(JointSpec(), 1).columns(5);
  const absl::Status status = TransitionBuilder::CheckSignature(signature, PendulumSpec(), 1);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("'agent_rewards'"));
  EXPECT_THAT(status.message(), HasSubstr("env.joint_agents"));
}

TEST(TransitionBuilderTest, CheckSignatureNamesAMissingOrMisshapenAgentColumnOfAJointRow) {
  v1::Signature lacking = TransitionBuilder::DefaultSignature(JointSpec(), 1);
  lacking.mutable_columns()->RemoveLast();
  absl::Status status = TransitionBuilder::CheckSignature(lacking, JointSpec(), 1);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("'agent_terminated'"));

  v1::Signature misshapen = TransitionBuilder::DefaultSignature(JointSpec(), 1);
  FindColumn(&misshapen, "agent_rewards")->set_shape(0, 3);
  status = TransitionBuilder::CheckSignature(misshapen, JointSpec(), 1);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("agent_rewards"));
}

}  // namespace
}  // namespace rill::items
