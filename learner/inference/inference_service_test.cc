#include "learner/inference/inference_service.h"

#include <memory>
#include <thread>
#include <vector>

#include "common/grpc_util.h"
#include "common/torch_tensor.h"
#include "envs/observation.h"
#include "gtest/gtest.h"
#include "learner/torch_policy.h"
#include "policies/registry.h"

namespace rill::learner {
namespace {

constexpr int64_t kMessageBytes = 4 << 20;

// A learner's inference side on a real port: store, batcher, service.
struct Served {
  parameters::ParameterStore store;
  std::unique_ptr<policies::Policy> direct;  // the published policy, for direct forwards
  std::unique_ptr<InferenceBatcher> batcher;
  std::unique_ptr<InferenceServiceImpl> service;
  StartedServer server;

  // `observation_type`: the env's (uint8 for images).
  explicit Served(int max_batch, envs::ObservationType observation_type = envs::ObservationType::kFloat32) {
    v1::PolicySpec spec;
    spec.set_kind("gaussian");
    spec.set_obs_dim(3);
    spec.set_action_dim(1);
    spec.add_hidden_sizes(32);
    spec.add_action_low(-2);
    spec.add_action_high(2);
    absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::MakePolicy(spec, 5);
    EXPECT_TRUE(policy.ok()) << policy.status();
    absl::StatusOr<v1::ParameterSet> params = (*policy)->ExportParameters();
    EXPECT_TRUE(params.ok());
    EXPECT_TRUE(store.Publish(1, 0, params->SerializeAsString()).ok());
    direct = std::move(*policy);
    InferenceOptions options;
    options.max_batch = max_batch;
    options.max_wait = absl::Hours(1);
    options.observation_type = observation_type;
    batcher = std::make_unique<InferenceBatcher>(options, [this] { return store.Latest(); });
    service = std::make_unique<InferenceServiceImpl>(batcher.get());
    absl::StatusOr<StartedServer> started = StartGrpcServer("127.0.0.1:0", {service.get()}, kMessageBytes);
    EXPECT_TRUE(started.ok()) << started.status();
    server = std::move(*started);
  }
  ~Served() {
    server.server->Shutdown(DeadlineIn(absl::Seconds(2)));
    batcher->Stop();
  }
  std::unique_ptr<v1::InferenceService::Stub> Stub() const {
    return v1::InferenceService::NewStub(MakeChannel("127.0.0.1:" + std::to_string(server.port), kMessageBytes));
  }
};

// One actor's stream.
struct ActorStream {
  std::unique_ptr<v1::InferenceService::Stub> stub;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ActRequest, v1::ActResponse>> stream;

  explicit ActorStream(const Served& served) : stub(served.Stub()) {
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    stream = stub->Act(&context);
  }
  bool Send(const torch::Tensor& obs, bool deterministic = true) {
    v1::ActRequest request;
    absl::StatusOr<v1::Tensor> encoded = FromTorch(obs);
    EXPECT_TRUE(encoded.ok());
    *request.mutable_observations() = *encoded;
    request.set_deterministic(deterministic);
    return stream->Write(request);
  }
};

TEST(InferenceServiceTest, StreamsOfFourActorsAreAnsweredFromOneBatchExactly) {
  Served served(4 * 5);
  std::vector<std::unique_ptr<ActorStream>> actors;
  for (int i = 0; i < 4; ++i) actors.push_back(std::make_unique<ActorStream>(served));
  for (int round = 0; round < 2; ++round) {
    std::vector<torch::Tensor> observations;
    for (auto& actor : actors) {
      observations.push_back(torch::randn({5, 3}));
      ASSERT_TRUE(actor->Send(observations.back()));
    }
    for (size_t i = 0; i < actors.size(); ++i) {
      v1::ActResponse response;
      ASSERT_TRUE(actors[i]->stream->Read(&response));
      EXPECT_EQ(response.batch_rows(), 20);
      EXPECT_EQ(response.version(), 1);
      absl::StatusOr<torch::Tensor> actions = ToTorch(response.actions());
      ASSERT_TRUE(actions.ok());
      torch::NoGradGuard no_grad;
      EXPECT_TRUE(torch::allclose(*actions, Act(*served.direct, observations[i], true), 1e-5, 1e-6));
    }
  }
  for (auto& actor : actors) {
    actor->stream->WritesDone();
    EXPECT_TRUE(actor->stream->Finish().ok());
  }
  EXPECT_EQ(served.batcher->Stats().batches, 2);
}

TEST(InferenceServiceTest, AnActorThatLeavesMidBatchDoesNotBreakTheOthers) {
  Served served(3 * 4);
  ActorStream leaving(served), second(served), third(served);
  ASSERT_TRUE(leaving.Send(torch::randn({4, 3})));
  // Its rows are in the batch being gathered when it leaves.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (served.batcher->Stats().queued_rows < 4 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(served.batcher->Stats().queued_rows, 4);
  leaving.context.TryCancel();
  EXPECT_EQ(leaving.stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  const torch::Tensor obs2 = torch::randn({4, 3}), obs3 = torch::randn({4, 3});
  ASSERT_TRUE(second.Send(obs2));
  ASSERT_TRUE(third.Send(obs3));
  v1::ActResponse response;
  ASSERT_TRUE(second.stream->Read(&response));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(*ToTorch(response.actions()), Act(*served.direct, obs2, true), 1e-5, 1e-6));
  ASSERT_TRUE(third.stream->Read(&response));
  EXPECT_TRUE(torch::allclose(*ToTorch(response.actions()), Act(*served.direct, obs3, true), 1e-5, 1e-6));
}

TEST(InferenceServiceTest, BadObservationsEndOnlyTheirStreamWithInvalidArgument) {
  Served served(1);
  ActorStream good(served);
  struct Case {
    std::string what;
    torch::Tensor obs;
    bool behaviour_and_deterministic = false;
  };
  torch::Tensor with_nan = torch::zeros({2, 3});
  with_nan[0][0] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<Case> cases = {{"float64", torch::zeros({2, 3}, torch::kFloat64)},
                                   {"NaN", with_nan},
                                   {"uint8 of a float32 env", torch::zeros({2, 3}, torch::kUInt8)},
                                   {"wrong width", torch::zeros({2, 7})},
                                   {"behaviour with deterministic", torch::zeros({2, 3}), true}};
  for (const Case& c : cases) {
    ActorStream bad(served);
    v1::ActRequest request;
    *request.mutable_observations() = *FromTorch(c.obs);
    request.set_deterministic(true);
    request.set_behaviour(c.behaviour_and_deterministic);
    ASSERT_TRUE(bad.stream->Write(request)) << c.what;
    v1::ActResponse response;
    EXPECT_FALSE(bad.stream->Read(&response)) << c.what;
    grpc::Status status = bad.stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.what << ": " << status.error_message();
    EXPECT_NE(status.error_message().find("ActRequest"), std::string::npos) << status.error_message();
    // The good actor is served throughout.
    const torch::Tensor obs = torch::randn({2, 3});
    ASSERT_TRUE(good.Send(obs));
    ASSERT_TRUE(good.stream->Read(&response)) << c.what;
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(*ToTorch(response.actions()), Act(*served.direct, obs, true), 1e-5, 1e-6));
  }
}

// An image env's actors send their pixels as uint8 (a quarter of the
// bytes); they are acted on exactly as their floats / 255 would be, and a
// row of the wrong width is refused as a float one is.
TEST(InferenceServiceTest, Uint8ObservationsAreAnsweredAsTheirFloatsScaledBy1Over255) {
  Served served(2, envs::ObservationType::kUint8);
  ActorStream actor(served);
  const torch::Tensor pixels = torch::randint(0, 256, {2, 3}, torch::kUInt8);
  const torch::Tensor floats = pixels.to(torch::kFloat32) * envs::kUint8ObservationScale;
  v1::ActResponse from_pixels, from_floats;
  ASSERT_TRUE(actor.Send(pixels));
  ASSERT_TRUE(actor.stream->Read(&from_pixels));
  ASSERT_TRUE(actor.Send(floats));
  ASSERT_TRUE(actor.stream->Read(&from_floats));
  EXPECT_TRUE(torch::equal(*ToTorch(from_pixels.actions()), *ToTorch(from_floats.actions())));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(*ToTorch(from_pixels.actions()), Act(*served.direct, floats, true), 1e-5, 1e-6));
  actor.stream->WritesDone();
  EXPECT_TRUE(actor.stream->Finish().ok());

  ActorStream wide(served);
  ASSERT_TRUE(wide.Send(torch::zeros({2, 5}, torch::kUInt8)));
  EXPECT_FALSE(wide.stream->Read(&from_pixels));
  const grpc::Status status = wide.stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("ActRequest.observations: observations have 5 columns; the policy takes "
                                        "obs_dim 3"),
            std::string::npos)
      << status.error_message();
}

}  // namespace
}  // namespace rill::learner
