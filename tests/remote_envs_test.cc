// envs::RemoteEnvs (the C++ client of rill.v1.EnvService) against the real
// Python env server (python/rill/env_server.py) started as a process on
// port 0: spaces into an EnvSpec, lockstep steps with episode ends and
// final observations, a misbehaving env named, spaces the actors cannot
// take refused by name, a server killed mid-run reported as UNAVAILABLE,
// and a user's env's render() frames (or what is wrong with them) between
// steps. Every case runs twice: over gRPC messages, and through the shared
// region a client on the server's host takes (proto/env.proto, "Shared
// memory"), with the same answers and errors. The batch wrappers that need
// row control (action repeat, pixels) over a served env, and a server
// without it refused by name. A scalar observation and one of rank 4.
#include "envs/remote/remote_envs.h"

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/child_process.h"
#include "envs/batch/make.h"
#include "envs/batch/test_outputs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/env_server_process.h"
#include "tests/harness.h"

namespace rill::envs {
namespace {

using ::testing::HasSubstr;

using PythonServer = ::rill::testing::EnvServerProcess;

using Transport = RemoteEnvs::Transport;

class RemoteEnvsTest : public ::testing::TestWithParam<Transport> {
 protected:
  // Opens N instances at `address` over the case's transport, and checks
  // that the stream took it.
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> Open(const std::string& address, int num_envs, uint64_t base_seed,
                                                   absl::Duration timeout = absl::Seconds(30)) {
    absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs =
        RemoteEnvs::Open(address, num_envs, base_seed, timeout, GetParam());
    if (envs.ok()) {
      EXPECT_EQ((*envs)->shared_memory(), GetParam() == Transport::kSharedMemoryWhenLocal)
          << (*envs)->shared_memory_note();
    }
    return envs;
  }
};

// The float32 observations in `bytes`.
std::vector<float> Floats(const std::vector<uint8_t>& bytes) {
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

TEST_P(RemoteEnvsTest, StepsAServedCartPoleInLockstep) {
  PythonServer server("cartpole:make");
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = Open(server.address(), 3, 41);
  ASSERT_TRUE(envs.ok()) << envs.status() << server.log();
  const EnvSpec& spec = (*envs)->spec();
  EXPECT_EQ(spec.name, "cartpole:make");
  EXPECT_EQ(spec.observation_shape, std::vector<int64_t>{4});
  EXPECT_TRUE(spec.discrete);
  EXPECT_EQ(spec.num_actions, 2);
  EXPECT_EQ(spec.max_episode_steps, 500);
  EXPECT_FALSE(spec.uint8_observations());
  ASSERT_EQ((*envs)->first_observations().size(), 12u * sizeof(float));
  for (float x : Floats((*envs)->first_observations())) EXPECT_LE(std::abs(x), 0.05f);

  RemoteStep step;
  const std::vector<float> left(3, 0.f);
  bool ended = false;
  for (int t = 0; t < 100 && !ended; ++t) {
    ASSERT_TRUE((*envs)->Step(left.data(), &step).ok());
    ASSERT_EQ(step.rewards, std::vector<float>(3, 1.f));
    EXPECT_TRUE(step.errors.empty());
    ended = !step.final_indices.empty();
  }
  ASSERT_TRUE(ended) << "pushing left, a pole falls within 100 steps";
  const std::vector<float> final_observations = Floats(step.final_observations);
  const std::vector<float> observations = Floats(step.observations);
  ASSERT_EQ(final_observations.size(), 4 * step.final_indices.size());
  for (size_t k = 0; k < step.final_indices.size(); ++k) {
    const int i = step.final_indices[k];
    EXPECT_TRUE(step.terminated[i]);
    const float x = final_observations[4 * k], theta = final_observations[4 * k + 2];
    EXPECT_TRUE(std::abs(x) > 2.4f || std::abs(theta) > 0.2094f) << x << " " << theta;
    for (int d = 0; d < 4; ++d) EXPECT_LE(std::abs(observations[4 * i + d]), 0.05f);  // the next episode
  }
}

TEST_P(RemoteEnvsTest, AMisbehavingEnvIsNamedAndTheStreamGoesOn) {
  PythonServer server("test_envs:raises_in_step");
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = Open(server.address(), 2, 0);
  ASSERT_TRUE(envs.ok()) << envs.status();
  RemoteStep step;
  const std::vector<float> actions = {1, 2};
  for (int t = 1; t <= 2; ++t) {
    ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
    EXPECT_TRUE(step.errors.empty());
  }
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());  // the third step raises
  ASSERT_EQ(step.errors.size(), 2u);
  EXPECT_EQ(step.errors[0].env_index, 0);
  EXPECT_EQ(step.errors[0].field, "step");
  EXPECT_THAT(step.errors[0].message, HasSubstr("the simulator diverged"));
  EXPECT_EQ(step.truncated, std::vector<uint8_t>(2, 1));
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
  EXPECT_TRUE(step.errors.empty());
}

TEST_P(RemoteEnvsTest, Uint8ImagesAndABoxOfTwoDimensionsTravelAsTheyAre) {
  PythonServer server("test_envs:echo");  // uint8 images [3, 8, 8], a [2, 3] box action
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = Open(server.address(), 2, 10);
  ASSERT_TRUE(envs.ok()) << envs.status() << server.log();
  const EnvSpec& spec = (*envs)->spec();
  EXPECT_TRUE(spec.uint8_observations());
  EXPECT_EQ(spec.observation_shape, (std::vector<int64_t>{3, 8, 8}));
  EXPECT_EQ(spec.obs_bytes(), 192);
  EXPECT_EQ(spec.action_low.size(), 6u);
  // Reset with seeds 11 and 12: every pixel holds its seed.
  ASSERT_EQ((*envs)->first_observations().size(), 2u * 192);
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 192; ++k) ASSERT_EQ((*envs)->first_observations()[i * 192 + k], 11 + i);
  }
  // Env 0 gets actions summing to -3 (value 0), env 1 to 6 * 0.5 (value 60).
  std::vector<float> actions(12, -0.5f);
  std::fill(actions.begin() + 6, actions.end(), 0.5f);
  RemoteStep step;
  for (int t = 1; t <= 4; ++t) {
    ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
    ASSERT_EQ(step.observations.size(), 2u * 192);
  }
  // The fourth step ended both episodes: the final observations carry the
  // action's echo, the rows the next episode's first (seed drawn by the env: 0).
  ASSERT_EQ(step.final_indices, (std::vector<int>{0, 1}));
  ASSERT_EQ(step.final_observations.size(), 2u * 192);
  EXPECT_EQ(step.final_observations[0], 0);
  EXPECT_EQ(step.final_observations[191], 0);
  EXPECT_EQ(step.final_observations[192], 60);
  EXPECT_EQ(step.final_observations[383], 60);
  EXPECT_EQ(step.observations[192], 0);
}

// test_envs.Drift: a scalar observation (a Box of shape ()) and a scalar
// Box action. The actors see one value, shape [1]; the server's tensors are
// [N], the same bytes.
TEST_P(RemoteEnvsTest, AScalarObservationArrivesAsOneValueAndAScalarActionAsOne) {
  PythonServer server("test_envs:drift");
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = Open(server.address(), 3, 0);
  ASSERT_TRUE(envs.ok()) << envs.status() << server.log();
  const EnvSpec& spec = (*envs)->spec();
  EXPECT_EQ(spec.observation_shape, std::vector<int64_t>{1});
  EXPECT_EQ(spec.obs_bytes(), 4);
  EXPECT_FALSE(spec.discrete);
  EXPECT_EQ(spec.action_low, std::vector<float>{-1.f});
  EXPECT_EQ(spec.action_high, std::vector<float>{1.f});
  EXPECT_EQ(spec.max_episode_steps, 20);
  EXPECT_TRUE((*envs)->observation_space().box().shape().empty());  // as the server announced it
  const std::vector<float> first = Floats((*envs)->first_observations());
  ASSERT_EQ(first.size(), 3u);
  for (float x : first) EXPECT_LE(std::abs(x), 1.f);
  RemoteStep step;
  const std::vector<float> actions = {1, -1, 0};
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
  const std::vector<float> moved = Floats(step.observations);
  ASSERT_EQ(moved.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(moved[i], std::clamp(first[i] + 0.1f * actions[i], -2.f, 2.f), 1e-6) << i;
    EXPECT_NEAR(step.rewards[i], -std::abs(moved[i]), 1e-6) << i;
  }
  for (int t = 2; t <= 20; ++t) ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
  EXPECT_EQ(step.final_indices, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(step.final_observations.size(), 3u * sizeof(float));
  EXPECT_EQ(step.truncated, std::vector<uint8_t>(3, 1));
  EXPECT_TRUE(step.errors.empty());
}

// test_envs.RankFour: a float observation [2, 1, 2, 2], bounds one per
// element.
TEST_P(RemoteEnvsTest, AnObservationOfRankFourTravelsAsItIs) {
  PythonServer server("test_envs:rank_four");
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = Open(server.address(), 2, 0);
  ASSERT_TRUE(envs.ok()) << envs.status() << server.log();
  EXPECT_EQ((*envs)->spec().observation_shape, (std::vector<int64_t>{2, 1, 2, 2}));
  RemoteStep step;
  const std::vector<float> actions = {0, 1};
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
  const std::vector<float> observations = Floats(step.observations);
  ASSERT_EQ(observations.size(), 16u);
  for (int k = 0; k < 8; ++k) EXPECT_NEAR(observations[8 + k], 1 + k / 10.f, 1e-6) << k;
}

TEST_P(RemoteEnvsTest, AKilledServerIsReportedAsUnavailableNamingItsAddress) {
  PythonServer server("cartpole:make");
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = Open(server.address(), 2, 0);
  ASSERT_TRUE(envs.ok()) << envs.status();
  RemoteStep step;
  const std::vector<float> actions = {0, 1};
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
  server.child().Signal(SIGKILL);
  ASSERT_TRUE(server.child().WaitExit(absl::Seconds(10)).has_value());
  absl::Status status = (*envs)->Step(actions.data(), &step);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr(server.address()));
  EXPECT_EQ((*envs)->Step(actions.data(), &step).code(), absl::StatusCode::kFailedPrecondition);

  absl::StatusOr<std::unique_ptr<RemoteEnvs>> again = Open(server.address(), 2, 0, absl::Seconds(1));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(again.status().message(), HasSubstr("is not reachable"));
}

// test_envs.Painter's frame at step t: [6, 5, 3], pixel (x, y) = (t, y, x).
std::vector<uint8_t> PainterFrame(int t) {
  std::vector<uint8_t> rgb;
  for (int y = 0; y < 6; ++y) {
    for (int x = 0; x < 5; ++x) rgb.insert(rgb.end(), {static_cast<uint8_t>(t), static_cast<uint8_t>(y),
                                                        static_cast<uint8_t>(x)});
  }
  return rgb;
}

TEST_P(RemoteEnvsTest, AGymnasiumStyleEnvClassRendersItsFrameBitForBitBetweenSteps) {
  // The server makes test_envs.Painter(render_mode="rgb_array").
  PythonServer server("test_envs:Painter");
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = Open(server.address(), 2, 0);
  ASSERT_TRUE(envs.ok()) << envs.status() << server.log();
  EXPECT_EQ((*envs)->cameras(), std::vector<std::string>{"default"});
  RemoteStep step;
  const std::vector<float> actions = {0, 0};
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
  // Asked for 84x84; a Python env draws at its own size.
  absl::StatusOr<RgbImage> frame = (*envs)->Render(1, 84, 84);
  ASSERT_TRUE(frame.ok()) << frame.status() << server.log();
  EXPECT_EQ(frame->width, 5);
  EXPECT_EQ(frame->height, 6);
  EXPECT_EQ(frame->rgb, PainterFrame(1));
  ASSERT_TRUE((*envs)->Render(0, 84, 84, "default").ok());
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
  EXPECT_EQ(Floats(step.observations), std::vector<float>({2, 1, 2, 1})) << "the renders stepped nothing";
  frame = (*envs)->Render(0, 84, 84);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->rgb, PainterFrame(2));
}

TEST_P(RemoteEnvsTest, APythonEnvWhoseRenderMisbehavesIsNamedAndTheNextStepWorks) {
  // test_envs.BadPainter: the instance seeded 1 renders None, 2 a [6, 5]
  // array, 4 raises (base seed 0: instance i is seeded i + 1).
  PythonServer server("test_envs:bad_painter");
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = Open(server.address(), 4, 0);
  ASSERT_TRUE(envs.ok()) << envs.status() << server.log();
  ASSERT_FALSE((*envs)->cameras().empty());
  struct Case {
    int index;
    std::string names;
  };
  for (const Case& c : {Case{0, "env 0 (test_envs:bad_painter): render() returned None"},
                        Case{1, "env 1 (test_envs:bad_painter): render() returned an array of shape (6, 5)"},
                        Case{3, "env 3 (test_envs:bad_painter): render() raised RuntimeError: the renderer lost"}}) {
    absl::StatusOr<RgbImage> frame = (*envs)->Render(c.index, 64, 64);
    EXPECT_EQ(frame.status().code(), absl::StatusCode::kFailedPrecondition) << c.names;
    EXPECT_THAT(frame.status().message(), HasSubstr("env server at " + server.address()));
    EXPECT_THAT(frame.status().message(), HasSubstr(c.names));
    RemoteStep step;
    const std::vector<float> actions(4, 1.f);
    ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok()) << c.names;
    EXPECT_TRUE(step.errors.empty());
  }
}

TEST_P(RemoteEnvsTest, APythonEnvWithoutRenderAnnouncesNoCameras) {
  PythonServer server("test_envs:counter");
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = Open(server.address(), 1, 0);
  ASSERT_TRUE(envs.ok()) << envs.status() << server.log();
  EXPECT_TRUE((*envs)->cameras().empty());
  absl::StatusOr<RgbImage> frame = (*envs)->Render(0, 64, 64);
  EXPECT_EQ(frame.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(frame.status().message(), HasSubstr("env server at " + server.address()));
}

TEST_P(RemoteEnvsTest, NonFiniteBoxActionsEndTheStreamWithTheServersStatus) {
  PythonServer server("test_envs:echo");  // a [2, 3] box action
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = Open(server.address(), 1, 0);
  ASSERT_TRUE(envs.ok()) << envs.status() << server.log();
  RemoteStep step;
  std::vector<float> actions(6, 0.f);
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
  actions[4] = std::nanf("");
  absl::Status status = (*envs)->Step(actions.data(), &step);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("step.actions holds NaN or infinity"));
  EXPECT_THAT(status.message(), HasSubstr(server.address()));
  // The server goes on serving other streams.
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> again = Open(server.address(), 1, 0);
  ASSERT_TRUE(again.ok()) << again.status();
  actions[4] = 0.f;
  EXPECT_TRUE((*again)->Step(actions.data(), &step).ok());
}

// The config's env section for `server`'s test_envs:Painter, served with
// a time limit of 3 steps, as the actors' MakeEnvBatch takes it.
v1::EnvConfig PainterSection(const std::string& address, Transport transport) {
  v1::EnvConfig env;
  env.set_name("test_envs:Painter");
  env.set_max_episode_steps(3);
  v1::RemoteEnvConfig* remote = env.mutable_remote();
  remote->set_address(address);
  remote->set_shared_memory(transport == Transport::kSharedMemoryWhenLocal);
  remote->set_reconnect_seconds(10);
  v1::BoxSpace* box = remote->mutable_observation_space()->mutable_box();
  box->add_shape(2);
  box->set_dtype(v1::DTYPE_FLOAT32);
  remote->mutable_action_space()->mutable_discrete()->set_n(3);
  return env;
}

TEST_P(RemoteEnvsTest, ActionRepeatAndPixelsWrapARemoteEnvAsTheyWrapALocalOne) {
  PythonServer server("test_envs:Painter", 0, {"--max_episode_steps=3"});
  v1::EnvConfig env = PainterSection(server.address(), GetParam());
  env.set_action_repeat(2);
  env.mutable_pixels()->set_width(5);
  env.mutable_pixels()->set_height(6);
  absl::StatusOr<std::unique_ptr<EnvBatch>> batch = MakeEnvBatch(env, 2, 0);
  ASSERT_TRUE(batch.ok()) << batch.status() << server.log();
  ASSERT_EQ((*batch)->spec().obs_bytes(), 3 * 6 * 5);
  EXPECT_EQ((*batch)->spec().max_episode_steps, 2);  // ceil(3 / 2)
  // Each row one [3, 6, 5] frame; the batch test buffers count floats.
  StepBuffers buffers(2, 3 * 6 * 5 / 4 + 1);
  buffers.obs.resize(2 * 90);
  buffers.final_obs.resize(2 * 90);
  ASSERT_TRUE((*batch)->Reset(buffers.obs.data()).ok()) << server.log();
  // Red is the step the frame was drawn at (PainterFrame, as planes).
  const auto red = [&](const std::vector<uint8_t>& frames, int row) { return frames[static_cast<size_t>(row) * 90]; };
  EXPECT_EQ(red(buffers.obs, 0), 0);
  const std::vector<float> actions = {0, 0};
  ASSERT_TRUE((*batch)->Step(2, actions.data(), buffers.out()).ok()) << server.log();
  EXPECT_EQ(buffers.rewards, std::vector<float>({2, 2})) << "two env steps, reward 1 each";
  EXPECT_EQ(red(buffers.obs, 1), 2);
  EXPECT_TRUE(buffers.failures.empty()) << buffers.failures[0].message;
  // The third env step truncates: the repeat stops there, the final frame
  // is the state at step 3, and the next episode's first frame is drawn
  // after the server's deferred reset.
  ASSERT_TRUE((*batch)->Step(2, actions.data(), buffers.out()).ok()) << server.log();
  EXPECT_EQ(buffers.rewards, std::vector<float>({1, 1}));
  EXPECT_EQ(buffers.truncated, std::vector<uint8_t>({1, 1}));
  EXPECT_EQ(red(buffers.final_obs, 0), 3);
  EXPECT_EQ(red(buffers.obs, 0), 0);
  // The planes: green is the row, blue the column of the pixel.
  EXPECT_EQ(buffers.obs[30 + 5 * 4], 4);
  EXPECT_EQ(buffers.obs[60 + 3], 3);
  ASSERT_TRUE((*batch)->Step(2, actions.data(), buffers.out()).ok()) << server.log();
  EXPECT_EQ(red(buffers.obs, 1), 2) << "the new episode took both repeats";
}

// A server that dies under the wrappers: the step fails every row, each
// drawn from the restarted server's first state, and stepping goes on.
TEST_P(RemoteEnvsTest, ARestartedServerUnderTheWrappersFailsEveryRowAndStepsOn) {
  auto server = std::make_unique<PythonServer>("test_envs:Painter", 0, std::vector<std::string>{"--max_episode_steps=3"});
  const int port = server->port();
  v1::EnvConfig env = PainterSection(server->address(), GetParam());
  env.set_action_repeat(2);
  env.mutable_pixels()->set_width(5);
  env.mutable_pixels()->set_height(6);
  absl::StatusOr<std::unique_ptr<EnvBatch>> batch = MakeEnvBatch(env, 2, 0);
  ASSERT_TRUE(batch.ok()) << batch.status() << server->log();
  StepBuffers buffers(2, 23);
  buffers.obs.resize(2 * 90);
  buffers.final_obs.resize(2 * 90);
  ASSERT_TRUE((*batch)->Reset(buffers.obs.data()).ok());
  const std::vector<float> actions = {0, 0};
  ASSERT_TRUE((*batch)->Step(2, actions.data(), buffers.out()).ok());
  ASSERT_EQ(buffers.obs[0], 2);
  server->child().Signal(SIGKILL);
  ASSERT_TRUE(server->child().WaitExit(absl::Seconds(10)).has_value());
  server = std::make_unique<PythonServer>("test_envs:Painter", port, std::vector<std::string>{"--max_episode_steps=3"});
  ASSERT_EQ(server->port(), port) << server->log();
  ASSERT_TRUE((*batch)->Step(2, actions.data(), buffers.out()).ok()) << server->log();
  ASSERT_EQ(buffers.failures.size(), 2u);
  EXPECT_EQ(buffers.failures[0].index, 0);
  EXPECT_EQ(buffers.failures[1].index, 1);
  EXPECT_EQ(buffers.obs[0], 0) << "row 0 drawn from the new stream's first state";
  EXPECT_EQ(buffers.obs[90], 0) << "row 1 too";
  ASSERT_TRUE((*batch)->Step(2, actions.data(), buffers.out()).ok()) << server->log();
  EXPECT_TRUE(buffers.failures.empty());
  EXPECT_EQ(buffers.rewards, std::vector<float>({2, 2}));
  EXPECT_EQ(buffers.obs[90], 2);
}

TEST_P(RemoteEnvsTest, AServerWithoutRowControlIsRefusedForActionRepeatByName) {
  // A server that predates row control: the C++ client sees no
  // row_control in its opened answer.
  PythonServer server("test_envs:Painter", 0, {"--no_row_control"});
  v1::EnvConfig env = PainterSection(server.address(), GetParam());
  env.set_action_repeat(2);
  absl::StatusOr<std::unique_ptr<EnvBatch>> batch = MakeEnvBatch(env, 2, 0);
  ASSERT_FALSE(batch.ok());
  EXPECT_THAT(batch.status().message(), HasSubstr("env.action_repeat: test_envs:Painter's envs cannot repeat actions"));
}

INSTANTIATE_TEST_SUITE_P(Transports, RemoteEnvsTest,
                         ::testing::Values(Transport::kGrpc, Transport::kSharedMemoryWhenLocal),
                         [](const ::testing::TestParamInfo<Transport>& info) {
                           return info.param == Transport::kGrpc ? "Grpc" : "SharedMemory";
                         });

TEST(RemoteEnvsAddressTest, OnlyLoopbackAddressesAskForSharedMemory) {
  for (const std::string address : {"127.0.0.1:5000", "127.1.2.3:1", "localhost:80", "[::1]:7", "ipv4:127.0.0.1:9",
                                    "dns:///localhost:9"}) {
    EXPECT_TRUE(RemoteEnvs::IsLoopback(address)) << address;
  }
  for (const std::string address : {"10.0.0.2:5000", "envs.svc.cluster.local:80", "[2001:db8::1]:7", "128.0.0.1:1",
                                    "localhost.example.com:1"}) {
    EXPECT_FALSE(RemoteEnvs::IsLoopback(address)) << address;
  }
}

}  // namespace
}  // namespace rill::envs
