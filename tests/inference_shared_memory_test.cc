// Central inference through shared memory (proto/inference.proto, "Shared
// memory"): an actor's CentralActionSource and a real InferenceService on
// a real port, the region taken over the stream's first answer.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "actor/action_sources/central.h"
#include "common/grpc_util.h"
#include "envs/observation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/inference/batcher.h"
#include "learner/inference/counting_policy.h"
#include "learner/inference/inference_service.h"
#include "policies/registry.h"
#include "prometheus/registry.h"

namespace rill {
namespace {

using actor::ActionBuffers;
using actor::CentralActionSource;
using actor::CentralOptions;
using actor::ObservationRows;
using learner::CountingPolicy;
using ::testing::HasSubstr;

constexpr int64_t kMessageBytes = 4 << 20;
constexpr int kObsDim = 3;

// A learner's inference side: a published policy (a Gaussian MLP of
// kObsDim observations and one action, or the recurrent CountingPolicy),
// its batcher and the service on a port of its own.
struct Served {
  parameters::ParameterStore store;
  prometheus::Registry registry;
  std::unique_ptr<learner::InferenceBatcher> batcher;
  std::unique_ptr<learner::InferenceServiceImpl> service;
  StartedServer server;

  explicit Served(envs::ObservationType type = envs::ObservationType::kFloat32, bool counting = false) {
    v1::PolicySpec spec;
    spec.set_kind("gaussian");
    spec.set_obs_dim(kObsDim);
    spec.set_action_dim(1);
    spec.add_hidden_sizes(32);
    spec.add_action_low(-2);
    spec.add_action_high(2);
    absl::StatusOr<std::unique_ptr<policies::Policy>> policy =
        counting ? CountingPolicy::FromParameters(CountingPolicy::Parameters(CountingPolicy::Spec()), 5)
                 : policies::MakePolicy(spec, 5);
    EXPECT_TRUE(policy.ok()) << policy.status();
    absl::StatusOr<v1::ParameterSet> params = (*policy)->ExportParameters();
    EXPECT_TRUE(store.Publish(1, 0, params->SerializeAsString()).ok());
    learner::InferenceOptions options;
    options.max_wait = absl::Microseconds(200);
    options.observation_type = type;
    if (counting) options.make_policy = CountingPolicy::FromParameters;
    batcher = std::make_unique<learner::InferenceBatcher>(options, [this] { return store.Latest(); }, &registry);
    service = std::make_unique<learner::InferenceServiceImpl>(batcher.get());
    absl::StatusOr<StartedServer> started = StartGrpcServer("127.0.0.1:0", {service.get()}, kMessageBytes);
    EXPECT_TRUE(started.ok()) << started.status();
    server = std::move(*started);
  }
  ~Served() {
    server.server->Shutdown(DeadlineIn(absl::Seconds(2)));
    batcher->Stop();
  }
  // rill_inference_shared_memory_streams now.
  double SharedStreamsGauge() const {
    for (const prometheus::MetricFamily& family : registry.Collect()) {
      if (family.name == "rill_inference_shared_memory_streams") return family.metric.at(0).gauge.value;
    }
    return -1;
  }
  std::unique_ptr<CentralActionSource> Source(bool shared_memory, int max_rows) const {
    CentralOptions options;
    options.address = "127.0.0.1:" + std::to_string(server.port);
    options.max_message_bytes = kMessageBytes;
    options.shared_memory = shared_memory;
    options.max_rows = max_rows;
    return std::make_unique<CentralActionSource>(options);
  }
};

// One step's outputs: a Gaussian's behaviour distribution (mean and log
// std per row), its log-probs and actions.
struct Acted {
  std::vector<float> actions, log_probs, distributions, core_states;
};

absl::StatusOr<Acted> Step(CentralActionSource& source, const void* obs, envs::ObservationType type, int rows,
                           int obs_dim, bool behaviour = true, const uint8_t* episode_start = nullptr,
                           int state_width = 0) {
  Acted acted;
  acted.actions.resize(rows);
  acted.log_probs.resize(rows);
  acted.distributions.resize(rows * 2);
  acted.core_states.resize(rows * state_width);
  ActionBuffers out;
  out.actions = acted.actions.data();
  out.action_dim = 1;
  out.log_probs = acted.log_probs.data();
  out.distributions = acted.distributions.data();
  out.distribution_width = 2;
  if (state_width > 0) {
    out.core_states = acted.core_states.data();
    out.state_width = state_width;
  }
  ObservationRows observations{obs, type, rows, obs_dim, episode_start};
  absl::Notification stop;
  absl::StatusOr<actor::CentralAnswer> answer = source.Exchange(observations, behaviour, stop, out);
  if (!answer.ok()) return answer.status();
  return acted;
}

std::vector<float> Observations(int rows, float scale) {
  std::vector<float> obs(rows * kObsDim);
  for (size_t k = 0; k < obs.size(); ++k) obs[k] = scale * (static_cast<float>(k % 7) - 3.f);
  return obs;
}

TEST(InferenceSharedMemoryTest, ARegionAnswersExactlyAsGrpcDoesForTheSameObservations) {
  Served served;
  auto shared = served.Source(/*shared_memory=*/true, /*max_rows=*/8);
  auto grpc_only = served.Source(/*shared_memory=*/false, 8);
  for (int round = 0; round < 4; ++round) {
    const std::vector<float> obs = Observations(8, 0.3f * (round + 1));
    absl::StatusOr<Acted> through_region = Step(*shared, obs.data(), envs::ObservationType::kFloat32, 8, kObsDim);
    absl::StatusOr<Acted> over_grpc = Step(*grpc_only, obs.data(), envs::ObservationType::kFloat32, 8, kObsDim);
    ASSERT_TRUE(through_region.ok()) << through_region.status();
    ASSERT_TRUE(over_grpc.ok()) << over_grpc.status();
    // The first answer came over gRPC and offered the region; the others
    // came through it.
    EXPECT_TRUE(shared->shared_memory());
    EXPECT_FALSE(grpc_only->shared_memory());
    EXPECT_EQ(through_region->distributions, over_grpc->distributions) << "round " << round;
    for (int r = 0; r < 8; ++r) EXPECT_TRUE(std::isfinite(through_region->log_probs[r]));
  }
  EXPECT_EQ(served.service->shared_memory_streams(), 1);
  EXPECT_EQ(served.SharedStreamsGauge(), 1);
  // Fewer rows than the region holds go through it; more go over gRPC,
  // answered all the same.
  const std::vector<float> few = Observations(3, 1.f), many = Observations(12, 1.f);
  absl::StatusOr<Acted> small = Step(*shared, few.data(), envs::ObservationType::kFloat32, 3, kObsDim);
  absl::StatusOr<Acted> large = Step(*shared, many.data(), envs::ObservationType::kFloat32, 12, kObsDim);
  ASSERT_TRUE(small.ok()) << small.status();
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_TRUE(shared->shared_memory());
  absl::StatusOr<Acted> large_grpc = Step(*grpc_only, many.data(), envs::ObservationType::kFloat32, 12, kObsDim);
  ASSERT_TRUE(large_grpc.ok());
  EXPECT_EQ(large->distributions, large_grpc->distributions);
  EXPECT_EQ(shared->reconnects(), 0);
  shared.reset();  // the actor leaves: its stream no longer counts
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (served.SharedStreamsGauge() != 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(served.SharedStreamsGauge(), 0);
}

TEST(InferenceSharedMemoryTest, Uint8ObservationsGoThroughTheRegionAsBytesAndActAsTheirScaledFloats) {
  Served served(envs::ObservationType::kUint8);
  auto shared = served.Source(true, 4);
  auto grpc_only = served.Source(false, 4);
  std::vector<uint8_t> pixels(4 * kObsDim);
  for (size_t k = 0; k < pixels.size(); ++k) pixels[k] = static_cast<uint8_t>(37 * k);
  std::vector<float> scaled(pixels.size());
  for (size_t k = 0; k < pixels.size(); ++k) scaled[k] = pixels[k] * envs::kUint8ObservationScale;
  for (int round = 0; round < 2; ++round) {
    absl::StatusOr<Acted> through_region = Step(*shared, pixels.data(), envs::ObservationType::kUint8, 4, kObsDim);
    absl::StatusOr<Acted> as_floats = Step(*grpc_only, scaled.data(), envs::ObservationType::kFloat32, 4, kObsDim);
    ASSERT_TRUE(through_region.ok()) << through_region.status();
    ASSERT_TRUE(as_floats.ok()) << as_floats.status();
    EXPECT_EQ(through_region->distributions, as_floats->distributions);
  }
  EXPECT_TRUE(shared->shared_memory());
}

TEST(InferenceSharedMemoryTest, ARecurrentPolicysCoreStatesAndEpisodeStartsGoThroughTheRegion) {
  Served served(envs::ObservationType::kFloat32, /*counting=*/true);
  auto shared = served.Source(true, 2);
  const std::vector<float> obs = {1.f, 2.f};
  const int width = CountingPolicy::Spec().lstm_size() * 2;
  std::vector<float> steps;
  for (int step = 0; step < 3; ++step) {
    absl::StatusOr<Acted> acted = Step(*shared, obs.data(), envs::ObservationType::kFloat32, 2, 1, true, nullptr,
                                       width);
    ASSERT_TRUE(acted.ok()) << acted.status();
    steps.push_back(acted->actions[0]);
    // The state each row acted from: the steps before this one.
    EXPECT_EQ(acted->core_states[0], static_cast<float>(step));
  }
  EXPECT_EQ(steps, (std::vector<float>{1, 2, 3}));
  EXPECT_TRUE(shared->shared_memory());
  const uint8_t first_row_starts[] = {1, 0};
  absl::StatusOr<Acted> acted = Step(*shared, obs.data(), envs::ObservationType::kFloat32, 2, 1, true,
                                     first_row_starts, width);
  ASSERT_TRUE(acted.ok()) << acted.status();
  EXPECT_EQ(acted->actions, (std::vector<float>{1, 4}));
}

TEST(InferenceSharedMemoryTest, ANaNThroughTheRegionIsRefusedByNameAndOtherStreamsGoOn) {
  Served served;
  auto bad = served.Source(true, 2);
  auto good = served.Source(true, 2);
  std::vector<float> obs = Observations(2, 1.f);
  ASSERT_TRUE(Step(*bad, obs.data(), envs::ObservationType::kFloat32, 2, kObsDim).ok());
  ASSERT_TRUE(Step(*good, obs.data(), envs::ObservationType::kFloat32, 2, kObsDim).ok());
  ASSERT_TRUE(bad->shared_memory());
  obs[4] = std::nanf("");
  absl::StatusOr<Acted> refused = Step(*bad, obs.data(), envs::ObservationType::kFloat32, 2, kObsDim);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("NaN"));
  // A wrong width is named too, after the stream reopens.
  const std::vector<float> wide(2 * (kObsDim + 1), 0.5f);
  ASSERT_TRUE(Step(*good, Observations(2, 1.f).data(), envs::ObservationType::kFloat32, 2, kObsDim).ok());
  EXPECT_TRUE(good->shared_memory());
  absl::StatusOr<Acted> narrow = Step(*bad, wide.data(), envs::ObservationType::kFloat32, 2, kObsDim + 1);
  EXPECT_FALSE(narrow.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(narrow.status())) << narrow.status();
}

TEST(InferenceSharedMemoryTest, AServiceThatStopsEndsTheRegionAndTheActorReconnectsUntilItsStop) {
  Served served;
  auto shared = served.Source(true, 2);
  const std::vector<float> obs = Observations(2, 1.f);
  ASSERT_TRUE(Step(*shared, obs.data(), envs::ObservationType::kFloat32, 2, kObsDim).ok());
  ASSERT_TRUE(Step(*shared, obs.data(), envs::ObservationType::kFloat32, 2, kObsDim).ok());
  ASSERT_TRUE(shared->shared_memory());
  served.batcher->Stop();  // every request from now on is Cancelled: the stream ends
  std::vector<float> actions(2), log_probs(2), distributions(4);
  ActionBuffers out;
  out.actions = actions.data();
  out.action_dim = 1;
  out.log_probs = log_probs.data();
  out.distributions = distributions.data();
  out.distribution_width = 2;
  absl::Notification stop;
  std::thread stopper([&] {
    while (shared->reconnects() < 2) absl::SleepFor(absl::Milliseconds(5));
    stop.Notify();
  });
  absl::StatusOr<actor::CentralAnswer> answer =
      shared->Exchange(ObservationRows{obs.data(), envs::ObservationType::kFloat32, 2, kObsDim}, true, stop, out);
  stopper.join();
  EXPECT_TRUE(absl::IsCancelled(answer.status())) << answer.status();
  EXPECT_FALSE(shared->shared_memory());
}

}  // namespace
}  // namespace rill
