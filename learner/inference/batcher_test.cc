#include "learner/inference/batcher.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "envs/observation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/inference/counting_policy.h"
#include "learner/torch_policy.h"
#include "policies/registry.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

v1::PolicySpec Spec(const std::string& kind = "gaussian") {
  v1::PolicySpec spec;
  spec.set_kind(kind);
  spec.set_obs_dim(3);
  spec.set_action_dim(kind == "categorical" ? 4 : 1);
  spec.add_hidden_sizes(16);
  spec.add_hidden_sizes(16);
  if (kind != "categorical") {
    spec.add_action_low(-2);
    spec.add_action_high(2);
  }
  return spec;
}

// Publishes a freshly initialised policy of `spec` (seeded) as `version`
// and returns a copy of it for direct forwards.
std::unique_ptr<policies::Policy> PublishPolicy(parameters::ParameterStore& store, int64_t version, uint64_t seed,
                                      const v1::PolicySpec& spec = Spec()) {
  absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::MakePolicy(spec, seed);
  EXPECT_TRUE(policy.ok()) << policy.status();
  absl::StatusOr<v1::ParameterSet> params = (*policy)->ExportParameters();
  EXPECT_TRUE(params.ok()) << params.status();
  EXPECT_TRUE(store.Publish(version, version, params->SerializeAsString()).ok());
  absl::StatusOr<std::unique_ptr<policies::Policy>> copy = policies::PolicyFromParameters(*params, seed);
  EXPECT_TRUE(copy.ok()) << copy.status();
  return std::move(*copy);
}

// Collects one request's answer.
struct Answer {
  absl::Notification arrived;
  std::optional<absl::StatusOr<ActResult>> result;
  ActDone Callback() {
    return [this](absl::StatusOr<ActResult> r) {
      result.emplace(std::move(r));
      arrived.Notify();
    };
  }
  bool Wait(absl::Duration timeout = absl::Seconds(10)) { return arrived.WaitForNotificationWithTimeout(timeout); }
};

LatestParameters From(parameters::ParameterStore& store) {
  return [&store] { return store.Latest(); };
}

TEST(InferenceBatcherTest, RequestsOfManyStreamsGetExactlyTheirRowsOfOneForward) {
  parameters::ParameterStore store;
  std::unique_ptr<policies::Policy> direct = PublishPolicy(store, 1, 7);
  InferenceOptions options;
  options.max_batch = 4 * 5;  // all four requests in one batch
  options.max_wait = absl::Hours(1);
  InferenceBatcher batcher(options, From(store));
  std::vector<torch::Tensor> observations;
  std::vector<Answer> answers(4);
  for (int stream = 0; stream < 4; ++stream) {
    observations.push_back(torch::randn({5, 3}));
    ASSERT_TRUE(batcher.Submit(stream, observations.back(), ActKind::kDeterministic, answers[stream].Callback()).ok());
  }
  for (int stream = 0; stream < 4; ++stream) {
    ASSERT_TRUE(answers[stream].Wait());
    ASSERT_TRUE(answers[stream].result->ok()) << answers[stream].result->status();
    const ActResult& result = **answers[stream].result;
    EXPECT_EQ(result.batch_rows, 20);
    EXPECT_EQ(result.version, 1);
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(result.actions, Act(*direct, observations[stream], true), 1e-5, 1e-6))
        << "stream " << stream;
  }
  EXPECT_EQ(batcher.Stats().batches, 1);
  EXPECT_EQ(batcher.Stats().requests, 4);
}

TEST(InferenceBatcherTest, ABatchClosesOnSize) {
  parameters::ParameterStore store;
  PublishPolicy(store, 1, 7);
  InferenceOptions options;
  options.max_batch = 8;
  options.max_wait = absl::Hours(1);
  InferenceBatcher batcher(options, From(store));
  Answer first, second;
  ASSERT_TRUE(batcher.Submit(1, torch::zeros({3, 3}), ActKind::kExplore, first.Callback()).ok());
  EXPECT_FALSE(first.Wait(absl::Milliseconds(200))) << "3 of 8 rows, and the wait is an hour";
  ASSERT_TRUE(batcher.Submit(2, torch::zeros({5, 3}), ActKind::kExplore, second.Callback()).ok());
  ASSERT_TRUE(first.Wait());
  ASSERT_TRUE(second.Wait());
  EXPECT_EQ((*first.result)->batch_rows, 8);
  EXPECT_EQ((*second.result)->actions.size(0), 5);
}

TEST(InferenceBatcherTest, ABatchClosesOnTime) {
  parameters::ParameterStore store;
  PublishPolicy(store, 1, 7);
  InferenceOptions options;
  options.max_batch = 1000;
  options.max_wait = absl::Milliseconds(30);
  InferenceBatcher batcher(options, From(store));
  Answer answer;
  const absl::Time submitted = absl::Now();
  ASSERT_TRUE(batcher.Submit(1, torch::zeros({2, 3}), ActKind::kExplore, answer.Callback()).ok());
  ASSERT_TRUE(answer.Wait());
  EXPECT_GE(absl::Now() - submitted, absl::Milliseconds(30));
  ASSERT_TRUE(answer.result->ok());
  EXPECT_EQ((*answer.result)->batch_rows, 2);
}

TEST(InferenceBatcherTest, TheAutomaticBatchIsHalfTheConnectedRows) {
  parameters::ParameterStore store;
  PublishPolicy(store, 1, 7);
  InferenceOptions options;
  options.max_wait = absl::Hours(1);
  InferenceBatcher batcher(options, From(store));
  // Hold the batch thread inside the answer of a first request, so that all
  // four streams are queued before it picks its next batch; otherwise it can
  // close a batch when only the first stream is connected (target 2) and
  // leave the last one short of 8 rows for the hour-long wait.
  absl::Notification holding, release;
  absl::Cleanup never_hold_forever = [&] {
    if (!release.HasBeenNotified()) release.Notify();
  };
  ASSERT_TRUE(batcher
                  .Submit(100, torch::zeros({1, 3}), ActKind::kExplore,
                          [&](absl::StatusOr<ActResult>) {
                            holding.Notify();
                            release.WaitForNotification();
                          })
                  .ok());
  ASSERT_TRUE(holding.WaitForNotificationWithTimeout(absl::Seconds(10)));
  batcher.StreamClosed(100);
  std::vector<Answer> answers(4);
  // Four streams of 4 envs: 16 rows connected, batches close at 8.
  for (int stream = 0; stream < 4; ++stream) {
    ASSERT_TRUE(batcher.Submit(stream, torch::zeros({4, 3}), ActKind::kExplore, answers[stream].Callback()).ok());
  }
  release.Notify();
  for (Answer& answer : answers) ASSERT_TRUE(answer.Wait());
  EXPECT_EQ(batcher.TargetRows(), 8);
  for (Answer& answer : answers) EXPECT_EQ((*answer.result)->batch_rows, 8);
  for (int stream = 0; stream < 4; ++stream) batcher.StreamClosed(stream);
  EXPECT_EQ(batcher.TargetRows(), 1);
}

TEST(InferenceBatcherTest, ANewVersionActsFromTheNextBatchOn) {
  parameters::ParameterStore store;
  std::unique_ptr<policies::Policy> first_policy = PublishPolicy(store, 1, 7);
  InferenceOptions options;
  options.max_batch = 1;
  InferenceBatcher batcher(options, From(store));
  const torch::Tensor obs = torch::randn({6, 3});
  Answer before;
  ASSERT_TRUE(batcher.Submit(1, obs, ActKind::kDeterministic, before.Callback()).ok());
  ASSERT_TRUE(before.Wait());
  std::unique_ptr<policies::Policy> second_policy = PublishPolicy(store, 2, 99);
  Answer after;
  ASSERT_TRUE(batcher.Submit(1, obs, ActKind::kDeterministic, after.Callback()).ok());
  ASSERT_TRUE(after.Wait());
  torch::NoGradGuard no_grad;
  EXPECT_EQ((*before.result)->version, 1);
  EXPECT_TRUE(torch::allclose((*before.result)->actions, Act(*first_policy, obs, true), 1e-5, 1e-6));
  EXPECT_EQ((*after.result)->version, 2);
  EXPECT_TRUE(torch::allclose((*after.result)->actions, Act(*second_policy, obs, true), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose((*before.result)->actions, (*after.result)->actions));
}

TEST(InferenceBatcherTest, BehaviourRequestsGetTheDistribution) {
  parameters::ParameterStore store;
  PublishPolicy(store, 1, 7, Spec("categorical"));
  InferenceOptions options;
  options.max_batch = 1;
  InferenceBatcher batcher(options, From(store));
  Answer answer;
  ASSERT_TRUE(batcher.Submit(1, torch::randn({5, 3}), ActKind::kExploreWithBehaviour, answer.Callback()).ok());
  ASSERT_TRUE(answer.Wait());
  ASSERT_TRUE(answer.result->ok()) << answer.result->status();
  EXPECT_EQ((*answer.result)->actions.sizes(), (std::vector<int64_t>{5}));
  EXPECT_EQ((*answer.result)->log_prob.sizes(), (std::vector<int64_t>{5}));
  EXPECT_EQ((*answer.result)->distribution.sizes(), (std::vector<int64_t>{5, 4}));
}

TEST(InferenceBatcherTest, BadObservationsAreRefusedWithoutHurtingTheirBatch) {
  parameters::ParameterStore store;
  std::unique_ptr<policies::Policy> direct = PublishPolicy(store, 1, 7);
  InferenceOptions options;
  options.max_batch = 6;
  options.max_wait = absl::Hours(1);
  InferenceBatcher batcher(options, From(store));
  Answer ignored;
  torch::Tensor with_nan = torch::zeros({2, 3});
  with_nan[1][2] = std::numeric_limits<float>::quiet_NaN();
  absl::Status nan = batcher.Submit(1, with_nan, ActKind::kExplore, ignored.Callback());
  EXPECT_EQ(nan.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(nan.message().find("NaN"), std::string::npos) << nan;
  EXPECT_EQ(batcher.Submit(1, torch::zeros({2, 3}, torch::kFloat64), ActKind::kExplore, ignored.Callback()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(batcher.Submit(1, torch::zeros({3}), ActKind::kExplore, ignored.Callback()).code(),
            absl::StatusCode::kInvalidArgument);
  // The wrong width is only known against the policy: it fails alone.
  Answer wrong, good;
  const torch::Tensor obs = torch::randn({3, 3});
  ASSERT_TRUE(batcher.Submit(2, torch::zeros({3, 5}), ActKind::kDeterministic, wrong.Callback()).ok());
  ASSERT_TRUE(batcher.Submit(3, obs, ActKind::kDeterministic, good.Callback()).ok());
  ASSERT_TRUE(wrong.Wait());
  ASSERT_TRUE(good.Wait());
  EXPECT_EQ(wrong.result->status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.result->status().message().find("obs_dim 3"), std::string::npos) << wrong.result->status();
  ASSERT_TRUE(good.result->ok());
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose((*good.result)->actions, Act(*direct, obs, true), 1e-5, 1e-6));
  EXPECT_FALSE(ignored.arrived.HasBeenNotified());
}

// The floats an actor's local policy acts on for `pixels` ([rows, d] uint8):
// envs/observation.h's scaling.
torch::Tensor LocalPolicyFloats(const torch::Tensor& pixels) {
  envs::EnvSpec spec;
  spec.observation_shape = {pixels.size(1)};
  spec.observation_type = envs::ObservationType::kUint8;
  std::vector<float> scratch;
  const float* floats = envs::ObservationsAsFloat(spec, pixels.data_ptr<uint8_t>(), pixels.size(0), &scratch);
  return torch::from_blob(const_cast<float*>(floats), {pixels.size(0), pixels.size(1)}, torch::kFloat32).clone();
}

TEST(InferenceBatcherTest, Uint8ObservationsActExactlyAsTheirFloatsScaledBy1Over255) {
  parameters::ParameterStore store;
  std::unique_ptr<policies::Policy> direct = PublishPolicy(store, 1, 7);
  InferenceOptions options;
  options.max_batch = 4;  // each request a batch of its own, of the same size
  options.max_wait = absl::Hours(1);
  options.observation_type = envs::ObservationType::kUint8;
  InferenceBatcher batcher(options, From(store));
  const torch::Tensor pixels = torch::randint(0, 256, {4, 3}, torch::kUInt8);
  const torch::Tensor floats = LocalPolicyFloats(pixels);
  for (ActKind kind : {ActKind::kDeterministic, ActKind::kExploreWithBehaviour}) {
    Answer from_pixels, from_floats;
    ASSERT_TRUE(batcher.Submit(1, pixels, kind, from_pixels.Callback()).ok());
    ASSERT_TRUE(from_pixels.Wait());
    ASSERT_TRUE(batcher.Submit(2, floats, kind, from_floats.Callback()).ok());
    ASSERT_TRUE(from_floats.Wait());
    ASSERT_TRUE(from_pixels.result->ok()) << from_pixels.result->status();
    ASSERT_TRUE(from_floats.result->ok()) << from_floats.result->status();
    if (kind == ActKind::kDeterministic) {
      EXPECT_TRUE(torch::equal((*from_pixels.result)->actions, (*from_floats.result)->actions));
      torch::NoGradGuard no_grad;
      EXPECT_TRUE(torch::allclose((*from_pixels.result)->actions, Act(*direct, floats, true), 1e-5, 1e-6));
    } else {
      // Sampled actions differ; what they are drawn from does not.
      EXPECT_TRUE(torch::equal((*from_pixels.result)->distribution, (*from_floats.result)->distribution));
    }
  }
}

// A Dict observation's packed rows (EnvSpec::packed_observations): a
// pixel's byte, then two float32s' bytes. The batcher reads them as an
// actor's local policy does; rows too short for the floats, or holding a
// NaN among them, are refused by name.
TEST(InferenceBatcherTest, PackedDictRowsActAsTheFloatsALocalPolicyReadsFromThem) {
  parameters::ParameterStore store;
  std::unique_ptr<policies::Policy> direct = PublishPolicy(store, 1, 7);  // obs_dim 3
  InferenceOptions options;
  options.max_batch = 4;
  options.max_wait = absl::Hours(1);
  options.observation_type = envs::ObservationType::kUint8;
  options.flat_dim = 2;
  InferenceBatcher batcher(options, From(store));
  envs::EnvSpec spec;
  spec.observation_shape = {1};
  spec.observation_type = envs::ObservationType::kUint8;
  spec.flat_dim = 2;
  torch::Tensor packed = torch::randint(0, 256, {4, 9}, torch::kUInt8);
  const torch::Tensor leaves = torch::randn({4, 2});
  for (int r = 0; r < 4; ++r) std::memcpy(packed[r].data_ptr<uint8_t>() + 1, leaves[r].data_ptr<float>(), 8);
  std::vector<float> scratch;
  const float* local = envs::ObservationsAsFloat(spec, packed.data_ptr<uint8_t>(), 4, &scratch);
  const torch::Tensor floats = torch::from_blob(const_cast<float*>(local), {4, 3}, torch::kFloat32).clone();
  EXPECT_TRUE(torch::equal(floats.narrow(1, 1, 2), leaves));
  Answer answer;
  ASSERT_TRUE(batcher.Submit(1, packed, ActKind::kDeterministic, answer.Callback()).ok());
  ASSERT_TRUE(answer.Wait());
  ASSERT_TRUE(answer.result->ok()) << answer.result->status();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose((*answer.result)->actions, Act(*direct, floats, true), 1e-5, 1e-6));

  Answer ignored;
  const absl::Status short_rows =
      batcher.Submit(2, torch::zeros({2, 8}, torch::kUInt8), ActKind::kExplore, ignored.Callback());
  EXPECT_EQ(short_rows.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(short_rows.message()), ::testing::HasSubstr("8 bytes cannot hold an image and the env's 2"));
  const float nan = std::nanf("");
  std::memcpy(packed[2].data_ptr<uint8_t>() + 5, &nan, 4);
  const absl::Status not_finite = batcher.Submit(3, packed, ActKind::kExplore, ignored.Callback());
  EXPECT_THAT(std::string(not_finite.message()), ::testing::HasSubstr("NaN or infinite"));
  EXPECT_FALSE(ignored.arrived.HasBeenNotified());
}

TEST(InferenceBatcherTest, Uint8ObservationsOfAFloatEnvOrOfTheWrongShapeAreRefusedByName) {
  parameters::ParameterStore store;
  PublishPolicy(store, 1, 7);
  InferenceOptions options;
  options.max_batch = 1;
  InferenceBatcher float_env(options, From(store));
  Answer ignored;
  const absl::Status refused =
      float_env.Submit(1, torch::zeros({2, 3}, torch::kUInt8), ActKind::kExplore, ignored.Callback());
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.message()), ::testing::HasSubstr("uint8, but the env observes float32"));

  options.observation_type = envs::ObservationType::kUint8;
  InferenceBatcher image_env(options, From(store));
  const absl::Status images = image_env.Submit(1, torch::zeros({2, 1, 3}, torch::kUInt8), ActKind::kExplore,
                                               ignored.Callback());
  EXPECT_EQ(images.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(images.message()), ::testing::HasSubstr("[rows, obs_dim] float32 or uint8"));
  const absl::Status int64 =
      image_env.Submit(1, torch::zeros({2, 3}, torch::kInt64), ActKind::kExplore, ignored.Callback());
  EXPECT_THAT(std::string(int64.message()), ::testing::HasSubstr("float32 or uint8 tensor, got 2-d Long"));
  EXPECT_FALSE(ignored.arrived.HasBeenNotified());
  Answer wide;
  ASSERT_TRUE(image_env.Submit(2, torch::zeros({2, 5}, torch::kUInt8), ActKind::kExplore, wide.Callback()).ok());
  ASSERT_TRUE(wide.Wait());
  EXPECT_EQ(wide.result->status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(wide.result->status().message()), ::testing::HasSubstr("the policy takes obs_dim 3"));
}

TEST(InferenceBatcherTest, UnavailableBeforeTheFirstVersionAndCancelledOnStop) {
  parameters::ParameterStore store;
  InferenceOptions options;
  options.max_batch = 1;
  InferenceBatcher batcher(options, From(store));
  Answer early;
  ASSERT_TRUE(batcher.Submit(1, torch::zeros({1, 3}), ActKind::kExplore, early.Callback()).ok());
  ASSERT_TRUE(early.Wait());
  EXPECT_EQ(early.result->status().code(), absl::StatusCode::kUnavailable);

  InferenceOptions slow;
  slow.max_batch = 100;
  slow.max_wait = absl::Hours(1);
  InferenceBatcher stopping(slow, From(store));
  Answer queued;
  ASSERT_TRUE(stopping.Submit(1, torch::zeros({1, 3}), ActKind::kExplore, queued.Callback()).ok());
  stopping.Stop();
  ASSERT_TRUE(queued.Wait());
  EXPECT_EQ(queued.result->status().code(), absl::StatusCode::kCancelled);
  Answer late;
  EXPECT_EQ(stopping.Submit(1, torch::zeros({1, 3}), ActKind::kExplore, late.Callback()).code(),
            absl::StatusCode::kCancelled);
}

// Recurrent policies: the batcher keeps each stream's rows' core states.

// Publishes a CountingPolicy of `spec` as `version`.
void PublishCounting(parameters::ParameterStore& store, int64_t version,
                     const v1::PolicySpec& spec = CountingPolicy::Spec()) {
  ASSERT_TRUE(store.Publish(version, version, CountingPolicy::Parameters(spec).SerializeAsString()).ok());
}

// A batcher of CountingPolicies: each request a batch of its own, unless
// `max_batch` says otherwise.
InferenceOptions CountingOptions(int max_batch = 1) {
  InferenceOptions options;
  options.max_batch = max_batch;
  options.max_wait = absl::Hours(1);
  options.make_policy = CountingPolicy::FromParameters;
  return options;
}

// Submits `observations` of `stream` and waits for the answer.
absl::StatusOr<ActResult> ActNow(InferenceBatcher& batcher, int64_t stream, const torch::Tensor& observations,
                                 CoreStateRequest core = {}, ActKind kind = ActKind::kExplore) {
  Answer answer;
  RETURN_IF_ERROR(batcher.Submit(stream, observations, kind, answer.Callback(), std::move(core)));
  if (!answer.Wait()) return absl::DeadlineExceededError("no answer in 10 s");
  return *answer.result;
}

// What a CountingPolicy acts: each row's steps since its reset, [rows, 1].
torch::Tensor Steps(std::vector<float> steps) {
  return torch::tensor(steps).view({-1, 1});
}

CoreStateRequest ReturningCoreState(std::string episode_start = "") {
  CoreStateRequest core;
  core.episode_start = std::move(episode_start);
  core.return_core_state = true;
  return core;
}

TEST(InferenceBatcherCoreStateTest, EachRowCarriesItsStateFromStepToStep) {
  parameters::ParameterStore store;
  PublishCounting(store, 1);
  InferenceBatcher batcher(CountingOptions(), From(store));
  const torch::Tensor obs = torch::tensor({1.f, 10.f, 100.f}).view({3, 1});
  for (float step = 1; step <= 3; ++step) {
    absl::StatusOr<ActResult> acted = ActNow(batcher, 1, obs);
    ASSERT_TRUE(acted.ok()) << acted.status();
    EXPECT_TRUE(torch::equal(acted->actions, Steps({step, step, step}))) << acted->actions;
  }
  absl::StatusOr<ActResult> fourth = ActNow(batcher, 1, obs, ReturningCoreState());
  ASSERT_TRUE(fourth.ok()) << fourth.status();
  // Each row's own sum: rows are not mixed up.
  EXPECT_TRUE(torch::equal(fourth->core_state, torch::tensor({3.f, 3.f, 3.f, 30.f, 3.f, 300.f}).view({3, 2})))
      << fourth->core_state;
}

TEST(InferenceBatcherCoreStateTest, StreamsOfDifferentHistoriesActFromTheirOwnStatesInOneBatch) {
  parameters::ParameterStore store;
  PublishCounting(store, 1);
  InferenceBatcher batcher(CountingOptions(/*max_batch=*/4), From(store));
  const torch::Tensor obs = torch::ones({2, 1});
  // Stream 1 steps twice (its batches filled by streams 3 and 4), stream 2 not yet.
  for (int64_t filler : {3, 4}) {
    Answer first, other;
    ASSERT_TRUE(batcher.Submit(1, obs, ActKind::kExplore, first.Callback()).ok());
    ASSERT_TRUE(batcher.Submit(filler, obs, ActKind::kExplore, other.Callback()).ok());
    ASSERT_TRUE(first.Wait());
    ASSERT_TRUE(other.Wait());
  }
  Answer one, two;
  ASSERT_TRUE(batcher.Submit(1, obs, ActKind::kExplore, one.Callback()).ok());
  ASSERT_TRUE(batcher.Submit(2, obs, ActKind::kExplore, two.Callback()).ok());
  ASSERT_TRUE(one.Wait());
  ASSERT_TRUE(two.Wait());
  ASSERT_TRUE(one.result->ok() && two.result->ok());
  EXPECT_EQ((*one.result)->batch_rows, 4) << "both in one batch";
  EXPECT_TRUE(torch::equal((*one.result)->actions, Steps({3, 3}))) << (*one.result)->actions;
  EXPECT_TRUE(torch::equal((*two.result)->actions, Steps({1, 1}))) << (*two.result)->actions;
}

TEST(InferenceBatcherCoreStateTest, EpisodeStartResetsOnlyItsRowsBeforeActing) {
  parameters::ParameterStore store;
  PublishCounting(store, 1);
  InferenceBatcher batcher(CountingOptions(), From(store));
  const torch::Tensor obs = torch::ones({3, 1});
  ASSERT_TRUE(ActNow(batcher, 1, obs).ok());
  ASSERT_TRUE(ActNow(batcher, 1, obs).ok());
  absl::StatusOr<ActResult> reset = ActNow(batcher, 1, obs, ReturningCoreState(std::string("\0\1\0", 3)));
  ASSERT_TRUE(reset.ok()) << reset.status();
  EXPECT_TRUE(torch::equal(reset->actions, Steps({3, 1, 3}))) << reset->actions;
  EXPECT_TRUE(torch::equal(reset->core_state, torch::tensor({2.f, 2.f, 0.f, 0.f, 2.f, 2.f}).view({3, 2})))
      << "the states acted from, after the reset: " << reset->core_state;
  absl::StatusOr<ActResult> after = ActNow(batcher, 1, obs);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(torch::equal(after->actions, Steps({4, 2, 4}))) << after->actions;
}

TEST(InferenceBatcherCoreStateTest, ReturnCoreStateAnswersWithTheStatesBeforeTheStep) {
  parameters::ParameterStore store;
  PublishCounting(store, 1);
  InferenceBatcher batcher(CountingOptions(), From(store));
  const torch::Tensor obs = torch::tensor({2.f, 5.f}).view({2, 1});
  absl::StatusOr<ActResult> first = ActNow(batcher, 1, obs, ReturningCoreState());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->core_state.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(first->core_state, torch::zeros({2, 2}))) << "a new stream's rows start from zeros";
  absl::StatusOr<ActResult> unasked = ActNow(batcher, 1, obs);
  ASSERT_TRUE(unasked.ok()) << unasked.status();
  EXPECT_FALSE(unasked->core_state.defined());
  absl::StatusOr<ActResult> third = ActNow(batcher, 1, obs, ReturningCoreState());
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_TRUE(torch::equal(third->core_state, torch::tensor({2.f, 4.f, 2.f, 10.f}).view({2, 2})))
      << third->core_state;
  EXPECT_TRUE(torch::equal(third->actions, Steps({3, 3})));
}

TEST(InferenceBatcherCoreStateTest, DeterministicAndBehaviourRequestsAdvanceTheStateToo) {
  parameters::ParameterStore store;
  PublishCounting(store, 1);
  InferenceBatcher batcher(CountingOptions(), From(store));
  const torch::Tensor obs = torch::ones({2, 1});
  float step = 0;
  for (ActKind kind : {ActKind::kDeterministic, ActKind::kExploreWithBehaviour, ActKind::kExplore,
                       ActKind::kDeterministic}) {
    absl::StatusOr<ActResult> acted = ActNow(batcher, 1, obs, {}, kind);
    ASSERT_TRUE(acted.ok()) << acted.status();
    ++step;
    EXPECT_TRUE(torch::equal(acted->actions, Steps({step, step}))) << "kind " << static_cast<int>(kind);
  }
}

TEST(InferenceBatcherCoreStateTest, AClosedStreamsStatesAreDroppedAndItsIdStartsFromZeros) {
  parameters::ParameterStore store;
  PublishCounting(store, 1);
  InferenceBatcher batcher(CountingOptions(), From(store));
  const torch::Tensor obs = torch::ones({2, 1});
  ASSERT_TRUE(ActNow(batcher, 1, obs).ok());
  ASSERT_TRUE(ActNow(batcher, 2, obs).ok());
  ASSERT_TRUE(ActNow(batcher, 1, obs).ok());
  batcher.StreamClosed(1);
  absl::StatusOr<ActResult> reopened = ActNow(batcher, 1, obs, ReturningCoreState());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_TRUE(torch::equal(reopened->actions, Steps({1, 1}))) << reopened->actions;
  EXPECT_TRUE(torch::equal(reopened->core_state, torch::zeros({2, 2})));
  absl::StatusOr<ActResult> other = ActNow(batcher, 2, obs);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_TRUE(torch::equal(other->actions, Steps({2, 2}))) << "another stream keeps its states";
}

TEST(InferenceBatcherCoreStateTest, AnotherRowCountStartsTheStreamFromZeros) {
  parameters::ParameterStore store;
  PublishCounting(store, 1);
  InferenceBatcher batcher(CountingOptions(), From(store));
  ASSERT_TRUE(ActNow(batcher, 1, torch::ones({2, 1})).ok());
  ASSERT_TRUE(ActNow(batcher, 1, torch::ones({2, 1})).ok());
  absl::StatusOr<ActResult> more = ActNow(batcher, 1, torch::ones({3, 1}));
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_TRUE(torch::equal(more->actions, Steps({1, 1, 1}))) << more->actions;
  absl::StatusOr<ActResult> next = ActNow(batcher, 1, torch::ones({3, 1}));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(torch::equal(next->actions, Steps({2, 2, 2}))) << next->actions;
}

TEST(InferenceBatcherCoreStateTest, ANewVersionOfTheSameNetworkKeepsTheStates) {
  parameters::ParameterStore store;
  PublishCounting(store, 1);
  InferenceBatcher batcher(CountingOptions(), From(store));
  const torch::Tensor obs = torch::ones({1, 1});
  ASSERT_TRUE(ActNow(batcher, 1, obs).ok());
  PublishCounting(store, 2);
  absl::StatusOr<ActResult> acted = ActNow(batcher, 1, obs);
  ASSERT_TRUE(acted.ok()) << acted.status();
  EXPECT_EQ(acted->version, 2);
  EXPECT_TRUE(torch::equal(acted->actions, Steps({2}))) << acted->actions;
}

TEST(InferenceBatcherCoreStateTest, AnotherNetworkStartsEveryStreamFromZeros) {
  parameters::ParameterStore store;
  PublishCounting(store, 1);
  InferenceBatcher batcher(CountingOptions(), From(store));
  const torch::Tensor obs = torch::ones({1, 1});
  ASSERT_TRUE(ActNow(batcher, 1, obs).ok());
  PublishCounting(store, 2, CountingPolicy::Spec(/*obs_dim=*/1, /*lstm_size=*/2));
  absl::StatusOr<ActResult> acted = ActNow(batcher, 1, obs, ReturningCoreState());
  ASSERT_TRUE(acted.ok()) << acted.status();
  EXPECT_TRUE(torch::equal(acted->actions, Steps({1}))) << acted->actions;
  EXPECT_TRUE(torch::equal(acted->core_state, torch::zeros({1, 4}))) << "the new network's width";
}

TEST(InferenceBatcherCoreStateTest, AMalformedEpisodeStartIsRefusedByNameAndDisturbsNoStream) {
  parameters::ParameterStore store;
  PublishCounting(store, 1);
  InferenceBatcher batcher(CountingOptions(), From(store));
  const torch::Tensor obs = torch::ones({3, 1});
  ASSERT_TRUE(ActNow(batcher, 1, obs).ok());
  Answer never;
  CoreStateRequest short_flags;
  short_flags.episode_start = std::string("\1\1", 2);
  const absl::Status refused = batcher.Submit(1, obs, ActKind::kExplore, never.Callback(), short_flags);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.message()),
              ::testing::StartsWith("episode_start has 2 flags for 3 rows of observations"));
  EXPECT_FALSE(never.arrived.HasBeenNotified());
  absl::StatusOr<ActResult> next = ActNow(batcher, 1, obs);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(torch::equal(next->actions, Steps({2, 2, 2}))) << "no row was reset: " << next->actions;
}

TEST(InferenceBatcherCoreStateTest, AFeedForwardPolicyIgnoresEpisodeStartAndReturnsNoCoreState) {
  parameters::ParameterStore store;
  std::unique_ptr<policies::Policy> direct = PublishPolicy(store, 1, 7);
  InferenceOptions options;
  options.max_batch = 1;
  InferenceBatcher batcher(options, From(store));
  const torch::Tensor obs = torch::randn({3, 3});
  for (int step = 0; step < 2; ++step) {
    absl::StatusOr<ActResult> acted =
        ActNow(batcher, 1, obs, ReturningCoreState(std::string("\1\0\1", 3)), ActKind::kDeterministic);
    ASSERT_TRUE(acted.ok()) << acted.status();
    EXPECT_FALSE(acted->core_state.defined());
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(acted->actions, Act(*direct, obs, true), 1e-5, 1e-6));
  }
}

// The real thing: an LSTM policy served centrally acts as the same policy
// stepped directly with states of its own.
TEST(InferenceBatcherCoreStateTest, AnLstmPolicyActsAsTheSamePolicyDrivenWithItsOwnStates) {
  v1::PolicySpec spec = Spec();
  spec.set_lstm_size(4);
  parameters::ParameterStore store;
  std::unique_ptr<policies::Policy> direct = PublishPolicy(store, 1, 7, spec);
  ASSERT_EQ(direct->state_size(), 8);
  InferenceOptions options;
  options.max_batch = 1;
  InferenceBatcher batcher(options, From(store));
  std::vector<float> states(3 * 8, 0.f);
  torch::NoGradGuard no_grad;
  for (int step = 0; step < 4; ++step) {
    const torch::Tensor obs = torch::randn({3, 3});
    const std::string episode_start = step == 2 ? std::string("\0\1\0", 3) : std::string();
    if (step == 2) std::fill_n(&states[8], 8, 0.f);
    const torch::Tensor before = torch::from_blob(states.data(), {3, 8}, torch::kFloat32).clone();
    direct->set_state(states.data());
    const torch::Tensor expected = Act(*direct, obs, true);
    absl::StatusOr<ActResult> acted =
        ActNow(batcher, 1, obs, ReturningCoreState(episode_start), ActKind::kDeterministic);
    ASSERT_TRUE(acted.ok()) << acted.status();
    EXPECT_TRUE(torch::allclose(acted->core_state, before, 1e-5, 1e-6)) << "step " << step;
    EXPECT_TRUE(torch::allclose(acted->actions, expected, 1e-5, 1e-6)) << "step " << step;
  }
  EXPECT_FALSE(torch::allclose(torch::from_blob(states.data(), {3, 8}, torch::kFloat32), torch::zeros({3, 8})))
      << "the states moved";
}

}  // namespace
}  // namespace rill::learner
