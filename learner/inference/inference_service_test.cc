#include "learner/inference/inference_service.h"

#include <memory>
#include <thread>
#include <tuple>
#include <vector>

#include "common/grpc_util.h"
#include "common/shared_region.h"
#include "common/torch_tensor.h"
#include "envs/observation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/inference/counting_policy.h"
#include "learner/torch_policy.h"
#include "policies/registry.h"
#include "torch/torch.h"

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

  // `observation_type`: the env's (uint8 for images). `counting`: serve a
  // recurrent CountingPolicy of obs_dim 1 rather than a Gaussian MLP of 3.
  explicit Served(int max_batch, envs::ObservationType observation_type = envs::ObservationType::kFloat32,
                  bool counting = false) {
    v1::PolicySpec spec;
    spec.set_kind("gaussian");
    spec.set_obs_dim(3);
    spec.set_action_dim(1);
    spec.add_hidden_sizes(32);
    spec.add_action_low(-2);
    spec.add_action_high(2);
    absl::StatusOr<std::unique_ptr<policies::Policy>> policy =
        counting ? CountingPolicy::FromParameters(CountingPolicy::Parameters(CountingPolicy::Spec()), 5)
                 : policies::MakePolicy(spec, 5);
    EXPECT_TRUE(policy.ok()) << policy.status();
    absl::StatusOr<v1::ParameterSet> params = (*policy)->ExportParameters();
    EXPECT_TRUE(params.ok());
    EXPECT_TRUE(store.Publish(1, 0, params->SerializeAsString()).ok());
    direct = std::move(*policy);
    InferenceOptions options;
    options.max_batch = max_batch;
    options.max_wait = absl::Hours(1);
    options.observation_type = observation_type;
    if (counting) options.make_policy = CountingPolicy::FromParameters;
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
  // One step of a recurrent policy: `obs` with its episode_start flags;
  // false when the stream gave no answer.
  bool Step(const torch::Tensor& obs, v1::ActResponse* response, std::string episode_start = "",
            bool return_core_state = false) {
    v1::ActRequest request;
    absl::StatusOr<v1::Tensor> encoded = FromTorch(obs);
    EXPECT_TRUE(encoded.ok());
    *request.mutable_observations() = *encoded;
    request.set_episode_start(std::move(episode_start));
    request.set_return_core_state(return_core_state);
    return stream->Write(request) && stream->Read(response);
  }
  // Closes the stream from the actor's side.
  grpc::Status Close() {
    stream->WritesDone();
    return stream->Finish();
  }
};

// A CountingPolicy's actions, [rows] of [rows, 1] as the response holds them.
std::vector<float> Actions(const v1::ActResponse& response) {
  absl::StatusOr<torch::Tensor> actions = ToTorch(response.actions());
  EXPECT_TRUE(actions.ok()) << actions.status();
  if (!actions.ok()) return {};
  const torch::Tensor flat = actions->reshape({-1}).contiguous();
  return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
}

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

// Two policies' stores and batchers behind one service: each stream acts
// with the policy its first request names, and keeps it.
TEST(InferenceServiceTest, EachStreamActsWithItsOwnPolicyAndKeepsIt) {
  struct Policy {
    parameters::ParameterStore store;
    std::unique_ptr<policies::Policy> direct;
    std::unique_ptr<InferenceBatcher> batcher;
  };
  Policy served[2];
  InferenceBatchers batchers;
  for (int p = 0; p < 2; ++p) {
    v1::PolicySpec spec;
    spec.set_kind("gaussian");
    spec.set_obs_dim(3);
    spec.set_action_dim(1);
    spec.add_hidden_sizes(8);
    spec.add_action_low(-2);
    spec.add_action_high(2);
    absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::MakePolicy(spec, 11 + p);  // apart
    ASSERT_TRUE(policy.ok()) << policy.status();
    absl::StatusOr<v1::ParameterSet> params = (*policy)->ExportParameters();
    ASSERT_TRUE(params.ok());
    ASSERT_TRUE(served[p].store.Publish(1 + p, 0, params->SerializeAsString()).ok());
    served[p].direct = std::move(*policy);
    InferenceOptions options;
    options.max_batch = 2;
    options.max_wait = absl::Milliseconds(1);
    parameters::ParameterStore* store = &served[p].store;
    served[p].batcher = std::make_unique<InferenceBatcher>(options, [store] { return store->Latest(); });
    batchers.emplace_back(p == 0 ? "lead" : "wings", served[p].batcher.get());
  }
  InferenceServiceImpl service(batchers);
  absl::StatusOr<StartedServer> server = StartGrpcServer("127.0.0.1:0", {&service}, kMessageBytes);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::InferenceService::NewStub(MakeChannel("127.0.0.1:" + std::to_string(server->port), kMessageBytes));
  const auto request = [](const torch::Tensor& obs, const std::string& policy) {
    v1::ActRequest request;
    *request.mutable_observations() = *FromTorch(obs);
    request.set_deterministic(true);
    request.set_policy(policy);
    return request;
  };
  const torch::Tensor obs = torch::randn({2, 3});
  for (const auto& [policy, index, version] : {std::tuple<std::string, int, int64_t>{"wings", 1, 2},
                                               {"lead", 0, 1},
                                               {"", 0, 1}}) {  // none named: the first
    SCOPED_TRACE(policy);
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    auto stream = stub->Act(&context);
    v1::ActResponse response;
    ASSERT_TRUE(stream->Write(request(obs, policy)) && stream->Read(&response));
    EXPECT_EQ(response.version(), version);
    absl::StatusOr<torch::Tensor> actions = ToTorch(response.actions());
    ASSERT_TRUE(actions.ok());
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(*actions, Act(*served[index].direct, obs, true), 1e-5, 1e-6));
    // Another policy on the same stream ends it, naming both.
    ASSERT_TRUE(stream->Write(request(obs, policy == "wings" ? "lead" : "wings")));
    EXPECT_FALSE(stream->Read(&response));
    const grpc::Status switched = stream->Finish();
    EXPECT_EQ(switched.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(switched.error_message(), ::testing::HasSubstr("one stream per policy"));
  }
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  auto stream = stub->Act(&context);
  v1::ActResponse response;
  ASSERT_TRUE(stream->Write(request(obs, "tail")));
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status unknown = stream->Finish();
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), ::testing::HasSubstr("no policy 'tail'; its policies: lead, wings"));
  server->server->Shutdown(DeadlineIn(absl::Seconds(2)));
  for (Policy& policy : served) policy.batcher->Stop();
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

TEST(InferenceServiceTest, EachStreamKeepsItsEnvsCoreStatesUntilItCloses) {
  Served served(1, envs::ObservationType::kFloat32, /*counting=*/true);
  ActorStream first(served), second(served);
  const torch::Tensor obs = torch::ones({2, 1});
  v1::ActResponse response;
  ASSERT_TRUE(first.Step(obs, &response));
  ASSERT_TRUE(first.Step(obs, &response));
  ASSERT_TRUE(second.Step(obs, &response));
  EXPECT_EQ(Actions(response), (std::vector<float>{1, 1})) << "a new stream starts from zeros";
  ASSERT_TRUE(first.Step(obs, &response));
  EXPECT_EQ(Actions(response), (std::vector<float>{3, 3}));
  ASSERT_TRUE(second.Step(obs, &response));
  EXPECT_EQ(Actions(response), (std::vector<float>{2, 2}));

  EXPECT_TRUE(first.Close().ok());
  ActorStream reconnected(served);
  ASSERT_TRUE(reconnected.Step(obs, &response));
  EXPECT_EQ(Actions(response), (std::vector<float>{1, 1})) << "the closed stream's states went with it";
  ASSERT_TRUE(second.Step(obs, &response));
  EXPECT_EQ(Actions(response), (std::vector<float>{3, 3}));
  EXPECT_TRUE(second.Close().ok());
  EXPECT_TRUE(reconnected.Close().ok());
}

TEST(InferenceServiceTest, EpisodeStartResetsItsRowsAndReturnCoreStateAnswersWithTheStatesActedFrom) {
  Served served(1, envs::ObservationType::kFloat32, /*counting=*/true);
  ActorStream actor(served);
  const torch::Tensor obs = torch::tensor({1.f, 3.f}).view({2, 1});
  v1::ActResponse response;
  ASSERT_TRUE(actor.Step(obs, &response, "", /*return_core_state=*/true));
  absl::StatusOr<torch::Tensor> core_state = ToTorch(response.core_state());
  ASSERT_TRUE(core_state.ok()) << core_state.status();
  EXPECT_TRUE(torch::equal(*core_state, torch::zeros({2, 2}))) << *core_state;
  ASSERT_TRUE(actor.Step(obs, &response));
  EXPECT_FALSE(response.has_core_state()) << "not asked for";
  ASSERT_TRUE(actor.Step(obs, &response, std::string("\1\0", 2), /*return_core_state=*/true));
  EXPECT_EQ(Actions(response), (std::vector<float>{1, 3}));
  core_state = ToTorch(response.core_state());
  ASSERT_TRUE(core_state.ok()) << core_state.status();
  EXPECT_EQ(core_state->scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(*core_state, torch::tensor({0.f, 0.f, 2.f, 6.f}).view({2, 2}))) << *core_state;
  EXPECT_TRUE(actor.Close().ok());
}

TEST(InferenceServiceTest, AMalformedEpisodeStartEndsOnlyItsStreamNamingTheField) {
  Served served(1, envs::ObservationType::kFloat32, /*counting=*/true);
  ActorStream good(served), bad(served);
  const torch::Tensor obs = torch::ones({2, 1});
  v1::ActResponse response;
  ASSERT_TRUE(good.Step(obs, &response));
  ASSERT_TRUE(bad.Step(obs, &response));
  EXPECT_FALSE(bad.Step(obs, &response, std::string("\1\1\1", 3)));
  const grpc::Status status = bad.stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("ActRequest.episode_start has 3 flags for 2 rows"));
  ASSERT_TRUE(good.Step(obs, &response));
  EXPECT_EQ(Actions(response), (std::vector<float>{2, 2})) << "the other stream's states are as they were";
  EXPECT_TRUE(good.Close().ok());
}

TEST(InferenceServiceTest, AFeedForwardPolicyAnswersFlaggedRequestsAsBeforeWithNoCoreState) {
  Served served(1);
  ActorStream actor(served);
  const torch::Tensor obs = torch::randn({2, 3});
  v1::ActResponse response;
  for (int step = 0; step < 2; ++step) {
    v1::ActRequest request;
    *request.mutable_observations() = *FromTorch(obs);
    request.set_deterministic(true);
    request.set_episode_start(std::string("\1\0", 2));
    request.set_return_core_state(true);
    ASSERT_TRUE(actor.stream->Write(request));
    ASSERT_TRUE(actor.stream->Read(&response));
    EXPECT_FALSE(response.has_core_state());
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(*ToTorch(response.actions()), Act(*served.direct, obs, true), 1e-5, 1e-6));
  }
  EXPECT_TRUE(actor.Close().ok());
}

// A request asking for a region, over gRPC: [1, 3] observations.
v1::ActRequest AskingRequest(int rows) {
  v1::ActRequest request;
  absl::StatusOr<v1::Tensor> encoded = FromTorch(torch::zeros({1, 3}));
  EXPECT_TRUE(encoded.ok());
  *request.mutable_observations() = *encoded;
  request.set_deterministic(true);
  v1::ActRegionAsk* ask = request.mutable_shared_memory();
  ask->set_rows(rows);
  ask->set_observation_bytes(12);
  ask->set_action_dim(1);
  return request;
}

TEST(InferenceServiceTest, AnAskOutOfRangeEndsTheStreamNamingItsField) {
  Served served(1);
  ActorStream actor(served);
  v1::ActResponse response;
  ASSERT_TRUE(actor.stream->Write(AskingRequest(0)));
  EXPECT_FALSE(actor.stream->Read(&response));
  const grpc::Status status = actor.stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("ActRequest.shared_memory.rows: 0 is out of range"));
}

TEST(InferenceServiceTest, AFrameThatIsNoActRequestEndsTheStreamAndClosesTheRegion) {
  Served served(1);
  ActorStream actor(served);
  v1::ActResponse response;
  ASSERT_TRUE(actor.stream->Write(AskingRequest(4)));
  ASSERT_TRUE(actor.stream->Read(&response));
  ASSERT_TRUE(response.has_shared_memory());
  EXPECT_FALSE(response.actions().data().empty());  // the asking request itself is answered over gRPC
  const v1::ActRegion& layout = response.shared_memory();
  EXPECT_EQ(layout.observations_offset() % 64, 0);
  EXPECT_EQ(layout.actions_offset() % 64, 0);
  absl::StatusOr<std::unique_ptr<SharedRegion>> region =
      SharedRegion::Connect({layout.socket(), layout.token(), layout.size()},
                            {{"observations", layout.observations_offset(), 4 * 12},
                             {"actions", layout.actions_offset(), 4 * 8}},
                            absl::Seconds(5));
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(served.service->shared_memory_streams(), 1);
  std::string answer;
  const absl::Status exchanged = (*region)->Exchange("\xff\xff not a message", &answer, absl::Seconds(10));
  EXPECT_TRUE(absl::IsUnavailable(exchanged)) << exchanged;  // the service closed the socket
  const grpc::Status status = actor.stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("not a serialized ActRequest"));
}

}  // namespace
}  // namespace rill::learner
