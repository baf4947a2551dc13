#include "actor/action_sources/central.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/grpc_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::actor {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMessageBytes = 4 << 20;

// An InferenceService that keeps every request and answers it with one zero
// action per row and, when asked, `state_width` floats of core state per row
// (row r's all 10 * r + its index in the row); none for state_width 0, as a
// feed-forward policy.
class FakeInferenceService final : public v1::InferenceService::Service {
 public:
  // `offer_out_of_reach`: answer a request that asks for a shared region
  // with one whose socket does not exist.
  explicit FakeInferenceService(int state_width, bool offer_out_of_reach = false)
      : state_width_(state_width), offer_out_of_reach_(offer_out_of_reach) {}

  grpc::Status Act(grpc::ServerContext*,
                   grpc::ServerReaderWriter<v1::ActResponse, v1::ActRequest>* stream) override {
    v1::ActRequest request;
    while (stream->Read(&request)) {
      const int64_t rows = request.observations().shape(0);
      v1::ActResponse response;
      const std::vector<float> actions(rows, 0.f);
      Fill(actions, {rows, 1}, response.mutable_actions());
      if (request.return_core_state() && state_width_ > 0) {
        std::vector<float> states;
        for (int64_t r = 0; r < rows; ++r) {
          for (int i = 0; i < state_width_; ++i) states.push_back(10.f * r + i);
        }
        Fill(states, {rows, state_width_}, response.mutable_core_state());
      }
      response.set_version(7);
      if (request.has_shared_memory() && offer_out_of_reach_) {
        // A region whose socket no client on this host can reach, as one
        // in another network namespace would be.
        v1::ActRegion* region = response.mutable_shared_memory();
        region->set_socket("rill-test-no-such-socket-" + std::to_string(::getpid()));
        region->set_token(std::string(16, 't'));
        region->set_size(4096);
        region->set_actions_offset(1024);
        region->set_log_prob_offset(2048);
        region->set_distribution_offset(3072);
        region->set_core_state_offset(4032);
      }
      {
        absl::MutexLock lock(&mu_);
        requests_.push_back(request);
      }
      if (!stream->Write(response)) break;
    }
    return grpc::Status::OK;
  }

  std::vector<v1::ActRequest> requests() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  static void Fill(const std::vector<float>& values, std::initializer_list<int64_t> shape, v1::Tensor* tensor) {
    tensor->set_dtype(v1::DTYPE_FLOAT32);
    for (int64_t size : shape) tensor->add_shape(size);
    tensor->set_data(values.data(), values.size() * sizeof(float));
  }

  const int state_width_;
  const bool offer_out_of_reach_;
  mutable absl::Mutex mu_;
  std::vector<v1::ActRequest> requests_ ABSL_GUARDED_BY(mu_);
};

// The fake on a port of its own, and an actor's source talking to it.
struct Connected {
  FakeInferenceService service;
  StartedServer server;
  std::unique_ptr<CentralActionSource> source;

  explicit Connected(int state_width) : service(state_width) {
    absl::StatusOr<StartedServer> started = StartGrpcServer("127.0.0.1:0", {&service}, kMessageBytes);
    EXPECT_TRUE(started.ok()) << started.status();
    server = std::move(*started);
    source = std::make_unique<CentralActionSource>("127.0.0.1:" + std::to_string(server.port), kMessageBytes);
  }
  ~Connected() {
    source.reset();
    server.server->Shutdown(DeadlineIn(absl::Seconds(2)));
  }
};

// Two envs' observations (obs_dim 1) with their episode_start flags.
struct Step {
  std::vector<float> obs = {0.5f, 0.25f};
  std::vector<uint8_t> episode_start;
  std::vector<float> actions = std::vector<float>(2);
  ObservationRows rows() const {
    ObservationRows rows{obs.data(), envs::ObservationType::kFloat32, 2, 1};
    rows.episode_start = episode_start.empty() ? nullptr : episode_start.data();
    return rows;
  }
  // The actions' buffers, and `core_states` (of `state_width` per row) when given.
  ActionBuffers buffers(std::vector<float>* core_states = nullptr, int state_width = 0) {
    ActionBuffers out;
    out.actions = actions.data();
    out.action_dim = 1;
    if (core_states != nullptr) {
      core_states->assign(2 * state_width, -1.f);
      out.core_states = core_states->data();
      out.state_width = state_width;
    }
    return out;
  }
};

TEST(CentralActionSourceTest, SendsEpisodeStartAndReturnsTheCoreStatesWhenTheBuffersTakeThem) {
  Connected connected(/*state_width=*/2);
  absl::Notification stop;
  Step first;
  first.episode_start = {0, 1};
  std::vector<float> core_states;
  ASSERT_TRUE(connected.source->Act(first.rows(), false, false, stop, first.buffers(&core_states, 2)).ok());
  EXPECT_EQ(core_states, (std::vector<float>{0, 1, 10, 11}));
  EXPECT_EQ(connected.source->version(), 7);

  Step second;
  second.episode_start = {0, 0};
  ASSERT_TRUE(connected.source->Act(second.rows(), false, false, stop, second.buffers()).ok());

  const std::vector<v1::ActRequest> requests = connected.service.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].episode_start(), std::string("\0\1", 2));
  EXPECT_TRUE(requests[0].return_core_state());
  EXPECT_EQ(requests[1].episode_start(), "") << "no row begins an episode: no flags on the wire";
  EXPECT_FALSE(requests[1].return_core_state());
}

TEST(CentralActionSourceTest, ACoreStateOfAnotherWidthIsRefusedNamingTheField) {
  Connected connected(/*state_width=*/3);
  absl::Notification stop;
  Step step;
  std::vector<float> core_states;
  const absl::Status status = connected.source->Act(step.rows(), false, false, stop, step.buffers(&core_states, 2));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("ActResponse.core_state"));
}

TEST(CentralActionSourceTest, CoreStatesAskedOfAFeedForwardPolicyFailNamingTheField) {
  Connected connected(/*state_width=*/0);
  absl::Notification stop;
  Step step;
  std::vector<float> core_states;
  const absl::Status status = connected.source->Act(step.rows(), false, false, stop, step.buffers(&core_states, 2));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("ActResponse.core_state is empty"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("feed-forward"));
  // Without core states asked, the same service answers.
  Step plain;
  EXPECT_TRUE(connected.source->Act(plain.rows(), false, false, stop, plain.buffers()).ok());
}

TEST(CentralActionSourceTest, ARegionOutOfReachLeavesTheStreamOnGrpcAndIsNotAskedForAgain) {
  FakeInferenceService service(/*state_width=*/0, /*offer_out_of_reach=*/true);
  absl::StatusOr<StartedServer> started = StartGrpcServer("127.0.0.1:0", {&service}, kMessageBytes);
  ASSERT_TRUE(started.ok()) << started.status();
  CentralOptions options;
  options.address = "127.0.0.1:" + std::to_string(started->port);
  options.max_message_bytes = kMessageBytes;
  options.shared_memory = true;
  options.max_rows = 2;
  CentralActionSource source(options);
  absl::Notification stop;
  for (int i = 0; i < 3; ++i) {
    Step step;
    ASSERT_TRUE(source.Act(step.rows(), false, false, stop, step.buffers()).ok());
    EXPECT_FALSE(source.shared_memory());
  }
  const std::vector<v1::ActRequest> requests = service.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_TRUE(requests[0].has_shared_memory());
  EXPECT_EQ(requests[0].shared_memory().rows(), 2);
  EXPECT_EQ(requests[0].shared_memory().observation_bytes(), 4);
  EXPECT_EQ(requests[0].shared_memory().action_dim(), 1);
  EXPECT_FALSE(requests[1].has_shared_memory());
  EXPECT_FALSE(requests[2].has_shared_memory());
  EXPECT_EQ(source.reconnects(), 0);
  started->server->Shutdown(DeadlineIn(absl::Seconds(2)));
}

}  // namespace
}  // namespace rill::actor
