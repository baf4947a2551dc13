#include "items/unroll.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "envs/catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::items {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::Each;
using ::testing::HasSubstr;

envs::EnvSpec CartPoleSpec() { return *envs::LookupEnvSpec("CartPole-v1"); }

envs::EnvSpec PendulumSpec() { return *envs::LookupEnvSpec("Pendulum-v1"); }

// Observation of env `env` at its global step `t` (distinct values), and
// `reset` marks an episode's first observation.
std::vector<float> Obs(int env, int t, int dim, bool reset = false) {
  std::vector<float> obs(dim);
  for (int i = 0; i < dim; ++i) obs[i] = 1000.f * env + t + 0.125f * i + (reset ? 0.5f : 0.f);
  return obs;
}

// Drives one env of a builder through steps, keeping the buffers each Step
// points into alive until the next call.
class Driver {
 public:
  Driver(UnrollBuilder* builder, const envs::EnvSpec& env, int index) : builder_(builder), env_(env), index_(index) {
    obs_ = Obs(index, 0, env.obs_dim());
  }

  // One step at global step t; `version` acted. Ends the episode when asked
  // (the next obs is then a reset observation).
  void Step(int t, int64_t version, bool terminated = false, bool truncated = false) {
    const int d = env_.obs_dim();
    final_ = Obs(index_, t + 1, d);
    next_ = (terminated || truncated) ? Obs(index_, t + 1, d, /*reset=*/true) : final_;
    const int a = env_.discrete ? env_.num_actions : static_cast<int>(env_.action_low.size());
    distribution_.assign(env_.discrete ? a : 2 * a, 0.f);
    for (size_t i = 0; i < distribution_.size(); ++i) distribution_[i] = 10.f * t + static_cast<float>(i);
    action_.assign(env_.discrete ? 0 : a, 0.01f * t);
    rill::items::Step step;
    step.obs = obs_.data();
    step.action = env_.discrete ? nullptr : action_.data();
    step.action_index = t % 2;
    step.reward = static_cast<float>(t);
    step.terminated = terminated;
    step.truncated = truncated;
    step.final_obs = final_.data();
    step.next_obs = next_.data();
    step.log_prob = -0.1f * t;
    step.distribution = distribution_.data();
    step.version = version;
    step.core_state = core_state_.empty() ? nullptr : core_state_.data();
    builder_->AddStep(index_, step);
    obs_ = next_;
  }

  // What a recurrent policy's core state is at the next steps.
  void set_core_state(std::vector<float> state) { core_state_ = std::move(state); }

 private:
  UnrollBuilder* builder_;
  envs::EnvSpec env_;
  int index_;
  std::vector<float> obs_, final_, next_, distribution_, action_, core_state_;
};

std::unique_ptr<UnrollBuilder> Make(const envs::EnvSpec& env, int t, int num_envs = 1, v1::Signature signature = {},
                                    int core_state_size = 0) {
  UnrollBuilderOptions options;
  options.env = env;
  options.num_envs = num_envs;
  options.unroll_length = t;
  options.core_state_size = core_state_size;
  options.signature =
      signature.columns_size() > 0 ? signature : UnrollBuilder::DefaultSignature(env, t, core_state_size);
  absl::StatusOr<std::unique_ptr<UnrollBuilder>> builder = UnrollBuilder::Create(options);
  EXPECT_TRUE(builder.ok()) << builder.status();
  return builder.ok() ? *std::move(builder) : nullptr;
}

// Column `name` of the ready items: `per_item` elements of item `item`.
template <typename T>
std::vector<T> Read(const UnrollBuilder& builder, const v1::Signature& signature, const std::string& name, int item) {
  const std::vector<const void*> columns = builder.Columns();
  for (int c = 0; c < signature.columns_size(); ++c) {
    if (signature.columns(c).name() != name) continue;
    int64_t size = 1;
    for (int64_t d : signature.columns(c).shape()) size *= d;
    const T* data = static_cast<const T*>(columns[c]) + item * size;
    return std::vector<T>(data, data + size);
  }
  ADD_FAILURE() << "no column " << name;
  return {};
}

std::vector<float> Concat(const std::vector<std::vector<float>>& parts) {
  std::vector<float> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(UnrollBuilderTest, DefaultSignatureFollowsTheEnvAndUnrollLength) {
  const v1::Signature discrete = UnrollBuilder::DefaultSignature(CartPoleSpec(), 20);
  std::vector<std::string> names;
  for (const auto& c : discrete.columns()) names.push_back(c.name() + " " + std::to_string(c.shape_size()));
  EXPECT_THAT(names, ElementsAre("obs 2", "action 1", "reward 1", "terminated 1", "truncated 1", "final_obs 2",
                                 "behaviour_log_prob 1", "behaviour_logits 2", "policy_version 0"));
  EXPECT_THAT(discrete.columns(0).shape(), ElementsAre(21, 4));
  EXPECT_EQ(discrete.columns(1).dtype(), v1::DTYPE_INT64);
  EXPECT_THAT(discrete.columns(7).shape(), ElementsAre(20, 2));

  const v1::Signature continuous = UnrollBuilder::DefaultSignature(PendulumSpec(), 5);
  names.clear();
  for (const auto& c : continuous.columns()) names.push_back(c.name());
  EXPECT_THAT(names, ElementsAre("obs", "action", "reward", "terminated", "truncated", "final_obs",
                                 "behaviour_log_prob", "behaviour_mean", "behaviour_log_std", "policy_version"));
  EXPECT_THAT(continuous.columns(1).shape(), ElementsAre(5, 1));
  EXPECT_EQ(continuous.columns(1).dtype(), v1::DTYPE_FLOAT32);
}

TEST(UnrollBuilderTest, SignatureOfAnotherUnrollLengthIsRefusedNamingTheColumn) {
  const v1::Signature signature = UnrollBuilder::DefaultSignature(CartPoleSpec(), 20);
  absl::Status status = UnrollBuilder::CheckSignature(signature, CartPoleSpec(), 10);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'obs' is DTYPE_FLOAT32 [21, 4]"));
  EXPECT_THAT(status.message(), HasSubstr("needs DTYPE_FLOAT32 [11, 4]"));
  EXPECT_THAT(status.message(), HasSubstr("unroll_length 10"));
}

TEST(UnrollBuilderTest, SignatureOfAnotherEnvIsRefusedNamingTheColumn) {
  // Pendulum's unroll columns for CartPole: continuous-only columns.
  absl::Status status = UnrollBuilder::CheckSignature(UnrollBuilder::DefaultSignature(PendulumSpec(), 20),
                                                      CartPoleSpec(), 20);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'obs'"));

  v1::Signature signature = UnrollBuilder::DefaultSignature(CartPoleSpec(), 20);
  signature.mutable_columns(1)->set_dtype(v1::DTYPE_FLOAT32);
  status = UnrollBuilder::CheckSignature(signature, CartPoleSpec(), 20);
  EXPECT_THAT(status.message(), HasSubstr("'action' is DTYPE_FLOAT32 [20] but env 'CartPole-v1' needs DTYPE_INT64 [20]"));

  signature = UnrollBuilder::DefaultSignature(CartPoleSpec(), 20);
  *signature.add_columns() = UnrollBuilder::DefaultSignature(PendulumSpec(), 20).columns(7);  // behaviour_mean
  status = UnrollBuilder::CheckSignature(signature, CartPoleSpec(), 20);
  EXPECT_THAT(status.message(), HasSubstr("'behaviour_mean' is not an unroll column of a discrete env"));
}

TEST(UnrollBuilderTest, MissingRequiredColumnIsNamedAndOptionalOnesMayBeLeftOut) {
  v1::Signature signature = UnrollBuilder::DefaultSignature(CartPoleSpec(), 4);
  signature.mutable_columns()->erase(signature.mutable_columns()->begin() + 6);  // behaviour_log_prob
  absl::Status status = UnrollBuilder::CheckSignature(signature, CartPoleSpec(), 4);
  EXPECT_THAT(status.message(), HasSubstr("lacks unroll column 'behaviour_log_prob'"));

  signature = UnrollBuilder::DefaultSignature(CartPoleSpec(), 4);
  signature.mutable_columns()->erase(signature.mutable_columns()->begin() + 7);  // behaviour_logits
  EXPECT_TRUE(UnrollBuilder::CheckSignature(signature, CartPoleSpec(), 4).ok());
}

TEST(UnrollBuilderTest, ConsecutiveUnrollsOverlapByTheBootstrapObservationAndCarryTheFirstVersion) {
  const envs::EnvSpec env = CartPoleSpec();
  const v1::Signature signature = UnrollBuilder::DefaultSignature(env, 3);
  std::unique_ptr<UnrollBuilder> builder = Make(env, 3);
  Driver driver(builder.get(), env, 0);
  driver.Step(0, /*version=*/7);
  driver.Step(1, 7);
  EXPECT_EQ(builder->ready(), 0);
  EXPECT_EQ(builder->pending(0), 2);
  driver.Step(2, 8);  // a new version arrives mid-unroll
  ASSERT_EQ(builder->ready(), 1);
  for (int t = 3; t < 6; ++t) driver.Step(t, 9);
  ASSERT_EQ(builder->ready(), 2);

  const int d = 4;
  EXPECT_THAT(Read<float>(*builder, signature, "obs", 0), ElementsAreArray(Concat({Obs(0, 0, d), Obs(0, 1, d), Obs(0, 2, d), Obs(0, 3, d)})));
  EXPECT_THAT(Read<float>(*builder, signature, "obs", 1), ElementsAreArray(Concat({Obs(0, 3, d), Obs(0, 4, d), Obs(0, 5, d), Obs(0, 6, d)})));
  EXPECT_THAT(Read<int64_t>(*builder, signature, "action", 0), ElementsAre(0, 1, 0));
  EXPECT_THAT(Read<float>(*builder, signature, "reward", 1), ElementsAre(3, 4, 5));
  EXPECT_THAT(Read<float>(*builder, signature, "behaviour_log_prob", 1), ElementsAre(-0.3f, -0.4f, -0.5f));
  EXPECT_THAT(Read<float>(*builder, signature, "behaviour_logits", 0), ElementsAre(0, 1, 10, 11, 20, 21));
  EXPECT_THAT(Read<int64_t>(*builder, signature, "policy_version", 0), ElementsAre(7));
  EXPECT_THAT(Read<int64_t>(*builder, signature, "policy_version", 1), ElementsAre(9));
  EXPECT_THAT(Read<float>(*builder, signature, "terminated", 0), Each(0.f));
  EXPECT_THAT(Read<float>(*builder, signature, "final_obs", 1), Each(0.f));

  builder->ClearReady();
  EXPECT_EQ(builder->ready(), 0);
  driver.Step(6, 9);
  EXPECT_EQ(builder->ready(), 0);
}

TEST(UnrollBuilderTest, TerminationInsideAnUnrollIsMaskedAndTheUnrollGoesOnIntoTheNextEpisode) {
  const envs::EnvSpec env = CartPoleSpec();
  const v1::Signature signature = UnrollBuilder::DefaultSignature(env, 4);
  std::unique_ptr<UnrollBuilder> builder = Make(env, 4);
  Driver driver(builder.get(), env, 0);
  driver.Step(0, 1);
  driver.Step(1, 1, /*terminated=*/true);
  driver.Step(2, 1);
  driver.Step(3, 1);
  ASSERT_EQ(builder->ready(), 1);
  const int d = 4;
  // Every step is kept; x_2 is the next episode's first observation.
  EXPECT_THAT(Read<float>(*builder, signature, "obs", 0),
              ElementsAreArray(Concat({Obs(0, 0, d), Obs(0, 1, d), Obs(0, 2, d, true), Obs(0, 3, d), Obs(0, 4, d)})));
  EXPECT_THAT(Read<float>(*builder, signature, "terminated", 0), ElementsAre(0, 1, 0, 0));
  EXPECT_THAT(Read<float>(*builder, signature, "truncated", 0), ElementsAre(0, 0, 0, 0));
  EXPECT_THAT(Read<float>(*builder, signature, "final_obs", 0), Each(0.f));
  EXPECT_THAT(Read<float>(*builder, signature, "reward", 0), ElementsAre(0, 1, 2, 3));
}

TEST(UnrollBuilderTest, TruncationKeepsTheRealFinalObservationToBootstrapFrom) {
  const envs::EnvSpec env = CartPoleSpec();
  const v1::Signature signature = UnrollBuilder::DefaultSignature(env, 3);
  std::unique_ptr<UnrollBuilder> builder = Make(env, 3);
  Driver driver(builder.get(), env, 0);
  driver.Step(0, 1);
  driver.Step(1, 1, /*terminated=*/false, /*truncated=*/true);
  driver.Step(2, 1, /*terminated=*/false, /*truncated=*/true);  // a truncation on the unroll's last step
  ASSERT_EQ(builder->ready(), 1);
  const int d = 4;
  EXPECT_THAT(Read<float>(*builder, signature, "truncated", 0), ElementsAre(0, 1, 1));
  EXPECT_THAT(Read<float>(*builder, signature, "final_obs", 0),
              ElementsAreArray(Concat({std::vector<float>(d, 0.f), Obs(0, 2, d), Obs(0, 3, d)})));
  // The bootstrap observation x_3 is the next episode's first: the next
  // unroll starts there.
  EXPECT_THAT(Read<float>(*builder, signature, "obs", 0),
              ElementsAreArray(Concat({Obs(0, 0, d), Obs(0, 1, d), Obs(0, 2, d, true), Obs(0, 3, d, true)})));
}

TEST(UnrollBuilderTest, TerminationWinsOverTruncationOnTheSameStep) {
  const envs::EnvSpec env = CartPoleSpec();
  const v1::Signature signature = UnrollBuilder::DefaultSignature(env, 1);
  std::unique_ptr<UnrollBuilder> builder = Make(env, 1);
  Driver driver(builder.get(), env, 0);
  driver.Step(0, 1, /*terminated=*/true, /*truncated=*/true);
  EXPECT_THAT(Read<float>(*builder, signature, "terminated", 0), ElementsAre(1));
  EXPECT_THAT(Read<float>(*builder, signature, "truncated", 0), ElementsAre(0));
  EXPECT_THAT(Read<float>(*builder, signature, "final_obs", 0), Each(0.f));
}

TEST(UnrollBuilderTest, EnvsFillTheirOwnUnrollsAndColumnsFollowAShuffledSignature) {
  const envs::EnvSpec env = PendulumSpec();
  v1::Signature signature = UnrollBuilder::DefaultSignature(env, 2);
  std::mt19937 rng(3);
  std::shuffle(signature.mutable_columns()->begin(), signature.mutable_columns()->end(), rng);
  std::unique_ptr<UnrollBuilder> builder = Make(env, 2, /*num_envs=*/2, signature);
  Driver env0(builder.get(), env, 0);
  Driver env1(builder.get(), env, 1);
  env0.Step(0, 5);
  env1.Step(0, 5);
  env1.Step(1, 6);  // env 1 completes first
  env0.Step(1, 6);
  ASSERT_EQ(builder->ready(), 2);
  const int d = 3;
  EXPECT_THAT(Read<float>(*builder, signature, "obs", 0), ElementsAreArray(Concat({Obs(1, 0, d), Obs(1, 1, d), Obs(1, 2, d)})));
  EXPECT_THAT(Read<float>(*builder, signature, "obs", 1), ElementsAreArray(Concat({Obs(0, 0, d), Obs(0, 1, d), Obs(0, 2, d)})));
  EXPECT_THAT(Read<float>(*builder, signature, "action", 1), ElementsAre(0.f, 0.01f));
  // Gaussian: [mean, log_std] per step, split into the two columns.
  EXPECT_THAT(Read<float>(*builder, signature, "behaviour_mean", 0), ElementsAre(0, 10));
  EXPECT_THAT(Read<float>(*builder, signature, "behaviour_log_std", 0), ElementsAre(1, 11));
  EXPECT_THAT(Read<int64_t>(*builder, signature, "policy_version", 0), ElementsAre(5));
}

TEST(UnrollBuilderTest, StoppingDropsPartialUnrolls) {
  const envs::EnvSpec env = CartPoleSpec();
  std::unique_ptr<UnrollBuilder> builder = Make(env, 4);
  Driver driver(builder.get(), env, 0);
  driver.Step(0, 1);
  driver.Step(1, 1);
  builder->FlushPending();
  EXPECT_EQ(builder->ready(), 0);
  EXPECT_EQ(builder->pending(0), 0);
}

TEST(UnrollBuilderTest, BadOptionsAreRefused) {
  UnrollBuilderOptions options;
  options.env = CartPoleSpec();
  options.signature = UnrollBuilder::DefaultSignature(options.env, 20);
  options.num_envs = 0;
  EXPECT_THAT(UnrollBuilder::Create(options).status().message(), HasSubstr("num_envs"));
  options.num_envs = 1;
  options.unroll_length = 0;
  EXPECT_THAT(UnrollBuilder::Create(options).status().message(), HasSubstr("unroll_length"));
}

// A recurrent policy's unrolls record the core state of their first step
// only: the learner re-runs the core from there, resetting it at the
// episode starts the masks mark.
TEST(UnrollBuilderTest, RecurrentUnrollsRecordTheCoreStateOfTheirFirstStep) {
  const envs::EnvSpec env = CartPoleSpec();
  const v1::Signature signature = UnrollBuilder::DefaultSignature(env, 3, /*core_state_size=*/4);
  ASSERT_EQ(signature.columns(signature.columns_size() - 1).name(), "core_state");
  EXPECT_THAT(signature.columns(signature.columns_size() - 1).shape(), ElementsAre(4));
  std::unique_ptr<UnrollBuilder> builder = Make(env, 3, 1, signature, 4);
  ASSERT_NE(builder, nullptr);
  Driver driver(builder.get(), env, 0);
  EXPECT_TRUE(builder->needs_core_state(0));
  driver.set_core_state({1, 2, 3, 4});
  driver.Step(0, 1);
  EXPECT_FALSE(builder->needs_core_state(0)) << "only an unroll's first step's state is recorded";
  driver.set_core_state({5, 6, 7, 8});
  driver.Step(1, 1);
  driver.Step(2, 1, /*terminated=*/true);
  EXPECT_TRUE(builder->needs_core_state(0));
  driver.set_core_state({0, 0, 0, 0});  // the next episode's first step
  driver.Step(3, 1);
  driver.set_core_state({9, 9, 9, 9});
  driver.Step(4, 1);
  driver.Step(5, 1);
  ASSERT_EQ(builder->ready(), 2);
  EXPECT_THAT(Read<float>(*builder, signature, "core_state", 0), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(Read<float>(*builder, signature, "core_state", 1), ElementsAre(0, 0, 0, 0));

  // A feed-forward builder has no such column, and never asks for it.
  std::unique_ptr<UnrollBuilder> plain = Make(env, 3);
  EXPECT_FALSE(plain->needs_core_state(0));
}

// A row of an env with a 2-float global state (an agent of a particle
// task, say): the state columns record the state at each observation, the
// bootstrap state, and the state a truncated episode ended in.
TEST(UnrollBuilderTest, StateColumnsRecordTheEnvsStateAtEachObservationAndWhereTruncated) {
  envs::EnvSpec env = CartPoleSpec();
  env.state_dim = 2;
  const v1::Signature plain = UnrollBuilder::DefaultSignature(env, 3);
  for (const v1::ColumnSpec& column : plain.columns()) EXPECT_NE(column.name(), "state");
  const v1::Signature signature = UnrollBuilder::DefaultSignature(env, 3, 0, /*global_state=*/true);
  std::unique_ptr<UnrollBuilder> builder = Make(env, 3, 1, signature);
  ASSERT_NE(builder, nullptr);
  EXPECT_TRUE(builder->needs_state());
  EXPECT_FALSE(Make(env, 3, 1, plain)->needs_state());
  const float obs[4] = {0, 0, 0, 0};
  float action_dist[2] = {0, 0};
  // State at global step t: {t, -t}; the episode is truncated after step 1
  // in state {20, -20} and the next begins in {100, -100}.
  const std::vector<std::vector<float>> states = {{0, 0}, {1, -1}, {100, -100}, {101, -101}};
  const std::vector<float> ended = {20, -20};
  for (int t = 0; t < 3; ++t) {
    rill::items::Step step;
    step.obs = obs;
    step.next_obs = obs;
    step.final_obs = obs;
    step.distribution = action_dist;
    step.truncated = t == 1;
    step.state = states[t].data();
    step.next_state = states[t + 1].data();
    step.final_state = t == 1 ? ended.data() : states[t + 1].data();
    builder->AddStep(0, step);
  }
  ASSERT_EQ(builder->ready(), 1);
  EXPECT_THAT(Read<float>(*builder, signature, "state", 0), ElementsAre(0, 0, 1, -1, 100, -100, 101, -101));
  EXPECT_THAT(Read<float>(*builder, signature, "final_state", 0), ElementsAre(0, 0, 20, -20, 0, 0));
}

TEST(UnrollBuilderTest, StateColumnOfAnEnvWithoutAStateIsRefusedByName) {
  envs::EnvSpec with_state = CartPoleSpec();
  with_state.state_dim = 2;
  const v1::Signature signature = UnrollBuilder::DefaultSignature(with_state, 3, 0, /*global_state=*/true);
  const absl::Status status = UnrollBuilder::CheckSignature(signature, CartPoleSpec(), 3);
  EXPECT_THAT(status.message(), HasSubstr("'state'"));
}

TEST(UnrollBuilderTest, CoreStateColumnOfAnotherSizeOrWithoutACoreIsRefusedByName) {
  const envs::EnvSpec env = CartPoleSpec();
  const v1::Signature recurrent = UnrollBuilder::DefaultSignature(env, 3, 4);
  absl::Status other = UnrollBuilder::CheckSignature(recurrent, env, 3, 6);
  EXPECT_THAT(other.message(), HasSubstr("core_state"));
  absl::Status feed_forward = UnrollBuilder::CheckSignature(recurrent, env, 3, 0);
  EXPECT_THAT(feed_forward.message(), HasSubstr("'core_state' is not an unroll column"));
  absl::Status missing = UnrollBuilder::CheckSignature(UnrollBuilder::DefaultSignature(env, 3), env, 3, 4);
  EXPECT_THAT(missing.message(), HasSubstr("lacks unroll column 'core_state'"));
}

}  // namespace
}  // namespace rill::items
