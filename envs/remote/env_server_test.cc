// The C++ EnvService server on port 0, against envs::RemoteEnvs (the client
// the actors use) and against raw streams that break the protocol: the
// served envs step bit for bit as the same envs in-process, episode ends
// carry their final observations, a failing instance is named and reset
// while the stream goes on, and a request the server cannot serve ends
// that stream only, with a status naming the field. Renders: the env's
// cameras announced, frames drawn between steps without stepping anything,
// bad requests answered by name while the stream goes on, and frames no
// server should send refused by RemoteEnvs. Row control: a step mask steps
// only the instances it marks, deferred episode ends wait at their final
// observation for a reset request, and malformed masks and reset indices
// end the stream naming the field.
#include "envs/remote/env_server.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"
#include "envs/remote/raw_env_stream.h"
#include "envs/plugin/plugin_envs.h"
#include "envs/registry.h"
#include "envs/remote/remote_envs.h"
#include "envs/render.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(30);

EnvFactory Registered(const std::string& name, int max_episode_steps = 0) {
  return [name, max_episode_steps](uint64_t seed) { return MakeEnv(name, max_episode_steps, seed); };
}

std::string TestPlugin(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/rill/envs/plugin/testdata/lib", name, ".so");
}

EnvFactory Plugin(const std::string& library, const std::string& id) {
  v1::PluginEnvConfig config;
  config.set_library(library);
  config.set_id(id);
  return [config](uint64_t seed) { return MakePluginEnv(config, 0, seed); };
}

std::unique_ptr<EnvServer> Serve(EnvFactory factory) {
  absl::StatusOr<std::unique_ptr<EnvServer>> server = EnvServer::Start("127.0.0.1:0", std::move(factory));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

v1::EnvRequest Open(int num_envs, int num_seeds) {
  v1::EnvRequest request;
  request.mutable_open()->set_num_envs(num_envs);
  for (int i = 0; i < num_seeds; ++i) request.mutable_open()->add_seeds(100 + i);
  return request;
}

template <typename T>
v1::EnvRequest Step(v1::DType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  v1::EnvRequest request;
  v1::Tensor* actions = request.mutable_step()->mutable_actions();
  actions->set_dtype(dtype);
  for (int64_t d : shape) actions->add_shape(d);
  actions->set_data(values.data(), values.size() * sizeof(T));
  return request;
}

// The stream opened with `open` then sent `bad` ends with `code`, its
// message containing `names`.
void ExpectStreamEnds(const std::string& address, const v1::EnvRequest& open, const v1::EnvRequest& bad,
                      grpc::StatusCode code, const std::string& names) {
  RawEnvStream stream(address);
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(open, &response));
  ASSERT_TRUE(response.has_opened());
  EXPECT_FALSE(stream.Call(bad, &response));
  const grpc::Status status = stream.Finish();
  EXPECT_EQ(status.error_code(), code) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(names));
}

// The server still opens and steps a stream.
void ExpectServes(const std::string& address) {
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(address, 2, 0, kTimeout);
  ASSERT_TRUE(envs.ok()) << envs.status();
  const std::vector<float> actions((*envs)->spec().discrete ? 2 : 2 * (*envs)->spec().action_dim(), 0.f);
  RemoteStep step;
  EXPECT_TRUE((*envs)->Step(actions.data(), &step).ok());
}

// Whether two buffers hold the same bytes (the observations RemoteEnvs
// returns are bytes; an Env's are floats).
template <typename A, typename B>
bool SameBits(const std::vector<A>& a, const std::vector<B>& b) {
  return a.size() * sizeof(A) == b.size() * sizeof(B) && std::memcmp(a.data(), b.data(), a.size() * sizeof(A)) == 0;
}

// float32 observations as RemoteEnvs returns them (bytes), as floats.
std::vector<float> Floats(const std::vector<uint8_t>& bytes) {
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

// Steps `name` served and in-process with the same seeds and actions for
// `steps` steps, over `transport` (shared memory: through the stream's
// region, which the server offers a client on its host); returns the
// episode ends seen.
int ExpectSameAsInProcess(const std::string& name, int num_envs, int steps, RemoteEnvs::Transport transport) {
  std::unique_ptr<EnvServer> server = Serve(Registered(name));
  if (server == nullptr) return 0;
  constexpr uint64_t kBaseSeed = 40;
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> remote =
      RemoteEnvs::Open(server->address(), num_envs, kBaseSeed, kTimeout, transport);
  EXPECT_TRUE(remote.ok()) << remote.status();
  if (!remote.ok()) return 0;
  EXPECT_EQ((*remote)->shared_memory(), transport == RemoteEnvs::Transport::kSharedMemoryWhenLocal)
      << (*remote)->shared_memory_note();
  const EnvSpec& spec = (*remote)->spec();
  const int obs_dim = spec.obs_dim();
  const int width = spec.discrete ? 1 : spec.action_dim();

  // The same instances in this process: instance i seeded base + i + 1.
  std::vector<std::unique_ptr<Env>> local;
  std::vector<float> obs(static_cast<size_t>(num_envs) * obs_dim);
  for (int i = 0; i < num_envs; ++i) {
    absl::StatusOr<std::unique_ptr<Env>> env = MakeEnv(name, 0, kBaseSeed + i + 1);
    EXPECT_TRUE(env.ok()) << env.status();
    if (!env.ok()) return 0;
    local.push_back(*std::move(env));
    local[i]->Reset(&obs[static_cast<size_t>(i) * obs_dim]);
  }
  EXPECT_TRUE(SameBits((*remote)->first_observations(), obs));

  std::mt19937_64 rng(3);
  std::vector<float> actions(static_cast<size_t>(num_envs) * width);
  std::vector<float> next(obs_dim);
  RemoteStep step;
  int ends = 0;
  for (int t = 0; t < steps; ++t) {
    for (float& a : actions) {
      a = spec.discrete ? static_cast<float>(std::uniform_int_distribution<int>(0, spec.num_actions - 1)(rng))
                        : std::uniform_real_distribution<float>(spec.action_low[0], spec.action_high[0])(rng);
    }
    absl::Status stepped = (*remote)->Step(actions.data(), &step);
    EXPECT_TRUE(stepped.ok()) << stepped;
    if (!stepped.ok()) return ends;
    std::vector<float> rewards(num_envs), final_observations;  // floats: the Env's
    std::vector<uint8_t> terminated(num_envs), truncated(num_envs);
    std::vector<int> final_indices;
    for (int i = 0; i < num_envs; ++i) {
      float* row = &obs[static_cast<size_t>(i) * obs_dim];
      absl::StatusOr<StepResult> result = local[i]->Step(&actions[static_cast<size_t>(i) * width], next.data());
      EXPECT_TRUE(result.ok()) << result.status();
      if (!result.ok()) return ends;
      rewards[i] = result->reward;
      terminated[i] = result->terminated;
      truncated[i] = result->truncated;
      if (result->terminated || result->truncated) {
        final_indices.push_back(i);
        final_observations.insert(final_observations.end(), next.begin(), next.end());
        local[i]->Reset(row);
      } else {
        std::copy(next.begin(), next.end(), row);
      }
    }
    EXPECT_TRUE(SameBits(step.observations, obs)) << "step " << t;
    EXPECT_TRUE(SameBits(step.rewards, rewards)) << "step " << t;
    EXPECT_EQ(step.terminated, terminated) << "step " << t;
    EXPECT_EQ(step.truncated, truncated) << "step " << t;
    EXPECT_EQ(step.final_indices, final_indices) << "step " << t;
    EXPECT_TRUE(SameBits(step.final_observations, final_observations)) << "step " << t;
    EXPECT_TRUE(step.errors.empty()) << "step " << t;
    ends += static_cast<int>(final_indices.size());
  }
  return ends;
}

TEST(EnvServerTest, ServedCartPoleStepsBitForBitAsInProcessThroughEpisodeEnds) {
  for (RemoteEnvs::Transport transport : {RemoteEnvs::Transport::kGrpc, RemoteEnvs::Transport::kSharedMemoryWhenLocal}) {
    const int ends = ExpectSameAsInProcess("CartPole-v1", 4, 400, transport);
    EXPECT_GT(ends, 20) << "random CartPole episodes last a few dozen steps";
  }
}

TEST(EnvServerTest, ServedPendulumStepsBitForBitAsInProcessThroughTimeLimits) {
  for (RemoteEnvs::Transport transport : {RemoteEnvs::Transport::kGrpc, RemoteEnvs::Transport::kSharedMemoryWhenLocal}) {
    const int ends = ExpectSameAsInProcess("Pendulum-v1", 3, 450, transport);
    EXPECT_EQ(ends, 6) << "each instance truncated at steps 200 and 400";
  }
}

TEST(EnvServerTest, OpenedAnnouncesTheSpacesAndTheEnvsTimeLimit) {
  std::unique_ptr<EnvServer> server = Serve(Registered("Pendulum-v1", 50));
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(server->address(), 1, 0, kTimeout);
  ASSERT_TRUE(envs.ok()) << envs.status();
  const EnvSpec& spec = (*envs)->spec();
  EXPECT_EQ(spec.name, "Pendulum-v1");
  EXPECT_EQ(spec.observation_shape, std::vector<int64_t>{3});
  EXPECT_FALSE(spec.discrete);
  EXPECT_EQ(spec.action_low, std::vector<float>{-2.f});
  EXPECT_EQ(spec.action_high, std::vector<float>{2.f});
  EXPECT_EQ(spec.max_episode_steps, 50);
  EXPECT_EQ((*envs)->observation_space().box().dtype(), v1::DTYPE_FLOAT32);
}

TEST(EnvServerTest, ActionsOfTheWrongDtypeEndTheStreamWithInvalidArgumentNamingTheField) {
  std::unique_ptr<EnvServer> server = Serve(Registered("CartPole-v1"));
  ASSERT_NE(server, nullptr);
  ExpectStreamEnds(server->address(), Open(2, 2), Step<float>(v1::DTYPE_FLOAT32, {2}, {0.f, 1.f}),
                   grpc::StatusCode::INVALID_ARGUMENT, "step.actions has dtype DTYPE_FLOAT32");
  ExpectServes(server->address());
}

TEST(EnvServerTest, ActionsOfTheWrongShapeEndTheStreamWithInvalidArgumentNamingTheField) {
  std::unique_ptr<EnvServer> server = Serve(Registered("Pendulum-v1"));
  ASSERT_NE(server, nullptr);
  ExpectStreamEnds(server->address(), Open(2, 2), Step<float>(v1::DTYPE_FLOAT32, {3, 1}, {0.f, 1.f, 0.f}),
                   grpc::StatusCode::INVALID_ARGUMENT, "step.actions has dtype DTYPE_FLOAT32 and shape [3, 1]");
  ExpectServes(server->address());
}

TEST(EnvServerTest, ActionsWhoseBytesDoNotFitTheirShapeEndTheStream) {
  std::unique_ptr<EnvServer> server = Serve(Registered("CartPole-v1"));
  ASSERT_NE(server, nullptr);
  ExpectStreamEnds(server->address(), Open(2, 2), Step<int64_t>(v1::DTYPE_INT64, {2}, {0}),
                   grpc::StatusCode::INVALID_ARGUMENT, "step.actions holds 8 bytes");
  ExpectServes(server->address());
}

TEST(EnvServerTest, NanActionsEndTheStreamWithInvalidArgumentNamingTheField) {
  std::unique_ptr<EnvServer> server = Serve(Registered("Pendulum-v1"));
  ASSERT_NE(server, nullptr);
  ExpectStreamEnds(server->address(), Open(2, 2),
                   Step<float>(v1::DTYPE_FLOAT32, {2, 1}, {0.f, std::numeric_limits<float>::quiet_NaN()}),
                   grpc::StatusCode::INVALID_ARGUMENT, "step.actions holds NaN or infinity (env 1");
  ExpectServes(server->address());
}

TEST(EnvServerTest, AFirstMessageThatIsNotOpenEndsTheStreamWithFailedPrecondition) {
  std::unique_ptr<EnvServer> server = Serve(Registered("CartPole-v1"));
  ASSERT_NE(server, nullptr);
  for (const v1::EnvRequest& first : {Step<int64_t>(v1::DTYPE_INT64, {1}, {0}), v1::EnvRequest()}) {
    RawEnvStream stream(server->address());
    v1::EnvResponse response;
    EXPECT_FALSE(stream.Call(first, &response));
    const grpc::Status status = stream.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("the first message of a stream must be open"));
  }
  ExpectServes(server->address());
}

TEST(EnvServerTest, ASecondOpenEndsTheStreamWithFailedPrecondition) {
  std::unique_ptr<EnvServer> server = Serve(Registered("CartPole-v1"));
  ASSERT_NE(server, nullptr);
  ExpectStreamEnds(server->address(), Open(1, 1), Open(1, 1), grpc::StatusCode::FAILED_PRECONDITION,
                   "a stream opens once");
}

TEST(EnvServerTest, NumEnvsOutOfRangeEndsTheStreamWithInvalidArgument) {
  std::unique_ptr<EnvServer> server = Serve(Registered("CartPole-v1"));
  ASSERT_NE(server, nullptr);
  for (const int n : {0, -1, kMaxEnvsPerStream + 1}) {
    RawEnvStream stream(server->address());
    v1::EnvResponse response;
    EXPECT_FALSE(stream.Call(Open(n, std::max(n, 0)), &response));
    const grpc::Status status = stream.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << n;
    EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat("open.num_envs ", n, " is out of range (1..4096)")));
  }
  RawEnvStream most(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(most.Call(Open(kMaxEnvsPerStream, kMaxEnvsPerStream), &response));
  EXPECT_THAT(response.opened().observations().shape(), ElementsAre(kMaxEnvsPerStream, 4));
  EXPECT_TRUE(most.Finish().ok());
}

TEST(EnvServerTest, SeedsThatAreNotOnePerEnvEndTheStreamWithInvalidArgument) {
  std::unique_ptr<EnvServer> server = Serve(Registered("CartPole-v1"));
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  EXPECT_FALSE(stream.Call(Open(3, 2), &response));
  const grpc::Status status = stream.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("open.seeds has 2 seeds for 3 envs"));
}

TEST(EnvServerTest, ADiscreteActionOutOfRangeIsThatInstancesErrorAndTheStreamGoesOn) {
  std::unique_ptr<EnvServer> server = Serve(Registered("CartPole-v1"));
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2, 2), &response));
  ASSERT_TRUE(stream.Call(Step<int64_t>(v1::DTYPE_INT64, {2}, {1, 5}), &response));
  const v1::EnvsStepped& stepped = response.stepped();
  ASSERT_EQ(stepped.errors_size(), 1);
  EXPECT_EQ(stepped.errors(0).env_index(), 1);
  EXPECT_EQ(stepped.errors(0).field(), "action");
  EXPECT_THAT(stepped.errors(0).message(), HasSubstr("action 5 is outside Discrete(2)"));
  EXPECT_EQ(stepped.truncated().data(), std::string("\0\1", 2));
  EXPECT_EQ(stepped.terminated().data(), std::string("\0\0", 2));
  EXPECT_TRUE(stepped.final_indices().empty());
  float rewards[2];
  std::memcpy(rewards, stepped.rewards().data().data(), sizeof(rewards));
  EXPECT_EQ(rewards[0], 1.f);
  EXPECT_EQ(rewards[1], 0.f);
  ASSERT_TRUE(stream.Call(Step<int64_t>(v1::DTYPE_INT64, {2}, {0, 1}), &response));
  EXPECT_EQ(response.stepped().errors_size(), 0);
  EXPECT_TRUE(stream.Finish().ok());
}

TEST(EnvServerTest, APluginEnvThatFailsInStepIsNamedByIndexResetAndTheStreamGoesOn) {
  std::unique_ptr<EnvServer> server = Serve(Plugin(TestPlugin("faulty_plugin"), "Lever-v0"));
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(server->address(), 3, 0, kTimeout);
  ASSERT_TRUE(envs.ok()) << envs.status();
  RemoteStep step;
  const std::vector<float> pull_lever_1 = {0, 1, 0};
  ASSERT_TRUE((*envs)->Step(pull_lever_1.data(), &step).ok());
  ASSERT_EQ(step.errors.size(), 1u);
  EXPECT_EQ(step.errors[0].env_index, 1);
  EXPECT_EQ(step.errors[0].field, "step");
  EXPECT_THAT(step.errors[0].message, HasSubstr("lever 1 is broken"));
  EXPECT_EQ(step.rewards, std::vector<float>({1.f, 0.f, 1.f}));
  EXPECT_EQ(step.truncated, std::vector<uint8_t>({0, 1, 0}));
  // Instances 0 and 2 stepped once; 1 is at the first observation of its reset.
  EXPECT_EQ(Floats(step.observations), std::vector<float>({1.f, 1.f, 0.f, 0.f, 1.f, 1.f}));

  const std::vector<float> pull_lever_0 = {0, 0, 0};
  ASSERT_TRUE((*envs)->Step(pull_lever_0.data(), &step).ok());
  EXPECT_TRUE(step.errors.empty());
  EXPECT_EQ(step.rewards, std::vector<float>({1.f, 1.f, 1.f}));
  EXPECT_EQ(Floats(step.observations), std::vector<float>({2.f, 1.f, 1.f, 1.f, 2.f, 1.f}));
}

TEST(EnvServerTest, APluginEnvWhoseResetFailsIsNamedAtEachStepUntilItResets) {
  std::unique_ptr<EnvServer> server = Serve(Plugin(TestPlugin("faulty_plugin"), "Lever-v0"));
  ASSERT_NE(server, nullptr);
  // base seed 5: instance 1 is seeded 7, whose reset fails.
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(server->address(), 2, 5, kTimeout);
  ASSERT_TRUE(envs.ok()) << envs.status();
  RemoteStep step;
  const std::vector<float> actions = {0, 0};
  for (int t = 0; t < 2; ++t) {
    ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
    ASSERT_EQ(step.errors.size(), 1u);
    EXPECT_EQ(step.errors[0].env_index, 1);
    EXPECT_THAT(step.errors[0].message, HasSubstr("cannot reset with seed 7"));
    EXPECT_EQ(step.truncated, std::vector<uint8_t>({0, 1}));
    EXPECT_EQ(step.rewards, std::vector<float>({1.f, 0.f}));
  }
}

// Camera-v0's frame ([2, 4, 4] uint8): channel 0 all `first`, channel 1 all
// `second`.
std::string Frame(int first, int second) {
  return std::string(16, static_cast<char>(first)) + std::string(16, static_cast<char>(second));
}

TEST(EnvServerTest, Uint8ObservationsTravelAsUint8) {
  // Camera-v0: uint8 [2, 4, 4] frames, Discrete(3), time limit 10; a reset
  // fills the frame with seed % 200, step t with action a sets channel 0 to
  // t and channel 1 to 100 + 50 a, and pays a.
  std::unique_ptr<EnvServer> server = Serve(Plugin(TestPlugin("faulty_plugin"), "Camera-v0"));
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2, 2), &response));  // seeds 100, 101
  const v1::EnvsOpened& opened = response.opened();
  EXPECT_EQ(opened.observation_space().box().dtype(), v1::DTYPE_UINT8);
  EXPECT_THAT(opened.observation_space().box().shape(), ElementsAre(2, 4, 4));
  EXPECT_EQ(opened.max_episode_steps(), 10);
  EXPECT_EQ(opened.observations().dtype(), v1::DTYPE_UINT8);
  EXPECT_THAT(opened.observations().shape(), ElementsAre(2, 2, 4, 4));
  EXPECT_EQ(opened.observations().data(), Frame(100, 100) + Frame(101, 101));
  for (int t = 1; t <= 9; ++t) {
    ASSERT_TRUE(stream.Call(Step<int64_t>(v1::DTYPE_INT64, {2}, {0, 2}), &response)) << t;
    EXPECT_EQ(response.stepped().errors_size(), 0);
    EXPECT_EQ(response.stepped().observations().data(), Frame(t, 100) + Frame(t, 200)) << t;
  }
  ASSERT_TRUE(stream.Call(Step<int64_t>(v1::DTYPE_INT64, {2}, {1, 2}), &response));
  const v1::EnvsStepped& stepped = response.stepped();
  EXPECT_EQ(stepped.observations().dtype(), v1::DTYPE_UINT8);
  EXPECT_EQ(stepped.observations().data(), Frame(100, 100) + Frame(101, 101)) << "both reset";
  EXPECT_THAT(stepped.final_indices(), ElementsAre(0, 1)) << "the time limit";
  EXPECT_EQ(stepped.final_observations().dtype(), v1::DTYPE_UINT8);
  EXPECT_THAT(stepped.final_observations().shape(), ElementsAre(2, 2, 4, 4));
  EXPECT_EQ(stepped.final_observations().data(), Frame(10, 150) + Frame(10, 200));
  EXPECT_EQ(stepped.truncated().data(), std::string("\1\1", 2));
  EXPECT_TRUE(stream.Finish().ok());
}

// Beacon-v0's Dict observation (envs/games/beacon.h): announced leaf by
// leaf, sent as rows of the image's bytes then the vector's float32s, and
// read back by RemoteEnvs over either transport as the spec the env has
// in-process, with the same rows.
TEST(EnvServerTest, ADictObservationTravelsAsRowsOfItsLeavesOverEitherTransport) {
  std::unique_ptr<EnvServer> server = Serve(Registered("Beacon-v0"));
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2, 2), &response));
  const v1::DictSpace& dict = response.opened().observation_space().dict();
  ASSERT_EQ(dict.leaves_size(), 2);
  EXPECT_EQ(dict.leaves(0).name(), "image");
  EXPECT_THAT(dict.leaves(0).box().shape(), ElementsAre(1, 7, 7));
  EXPECT_EQ(dict.leaves(0).box().dtype(), v1::DTYPE_UINT8);
  EXPECT_EQ(dict.leaves(1).name(), "beacon");
  EXPECT_EQ(dict.leaves(1).box().dtype(), v1::DTYPE_FLOAT32);
  EXPECT_EQ(response.opened().observations().dtype(), v1::DTYPE_UINT8);
  EXPECT_THAT(response.opened().observations().shape(), ElementsAre(2, 49 + 8));
  EXPECT_TRUE(stream.Finish().ok());

  const EnvSpec local_spec = (*MakeEnv("Beacon-v0", 0, 1))->spec();
  for (RemoteEnvs::Transport transport : {RemoteEnvs::Transport::kGrpc, RemoteEnvs::Transport::kSharedMemoryWhenLocal}) {
    absl::StatusOr<std::unique_ptr<RemoteEnvs>> remote =
        RemoteEnvs::Open(server->address(), 3, /*base_seed=*/40, kTimeout, transport);
    ASSERT_TRUE(remote.ok()) << remote.status();
    const EnvSpec& spec = (*remote)->spec();
    EXPECT_EQ(spec.observation_leaves, local_spec.observation_leaves);
    EXPECT_EQ(spec.observation_shape, local_spec.observation_shape);
    EXPECT_EQ(spec.flat_dim, 2);
    EXPECT_TRUE(spec.packed_observations());
    // The first rows are what the same seeds give in this process.
    std::vector<uint8_t> rows(3 * spec.obs_bytes());
    for (int i = 0; i < 3; ++i) (*MakeEnv("Beacon-v0", 0, 40 + i + 1))->ResetRaw(&rows[i * spec.obs_bytes()]);
    EXPECT_EQ((*remote)->first_observations(), rows);
  }
}

// An env whose outputs the server must refuse: action 1 returns a NaN
// reward, action 2 an infinite observation; seed 13 resets to NaN.
class Misbehaving final : public Env {
 public:
  explicit Misbehaving(uint64_t seed) : Env(Spec()), seed_(seed) {}
  static EnvSpec Spec() {
    EnvSpec spec;
    spec.name = "Misbehaving-v0";
    spec.observation_shape = {2};
    spec.discrete = true;
    spec.num_actions = 3;
    spec.max_episode_steps = 100;
    return spec;
  }
  void Reset(float* obs) override {
    obs[0] = seed_ == 13 ? std::numeric_limits<float>::quiet_NaN() : 0.f;
    obs[1] = 0.f;
  }
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override {
    next_obs[0] = action[0] == 2.f ? std::numeric_limits<float>::infinity() : 1.f;
    next_obs[1] = 1.f;
    StepResult result;
    result.reward = action[0] == 1.f ? std::numeric_limits<float>::quiet_NaN() : 1.f;
    return result;
  }

 private:
  uint64_t seed_;
};

EnvFactory MakeMisbehaving() {
  return [](uint64_t seed) -> absl::StatusOr<std::unique_ptr<Env>> { return std::make_unique<Misbehaving>(seed); };
}

TEST(EnvServerTest, ANonFiniteRewardOrObservationIsNamedByFieldAndTheInstanceReset) {
  std::unique_ptr<EnvServer> server = Serve(MakeMisbehaving());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(server->address(), 3, 0, kTimeout);
  ASSERT_TRUE(envs.ok()) << envs.status();
  RemoteStep step;
  const std::vector<float> actions = {0, 1, 2};
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
  ASSERT_EQ(step.errors.size(), 2u);
  EXPECT_EQ(step.errors[0].env_index, 1);
  EXPECT_EQ(step.errors[0].field, "reward");
  EXPECT_EQ(step.errors[1].env_index, 2);
  EXPECT_EQ(step.errors[1].field, "observation");
  EXPECT_THAT(step.errors[1].message, HasSubstr("observation[0] = inf"));
  EXPECT_EQ(step.rewards, std::vector<float>({1.f, 0.f, 0.f}));
  EXPECT_EQ(step.truncated, std::vector<uint8_t>({0, 1, 1}));
  EXPECT_EQ(Floats(step.observations), std::vector<float>({1.f, 1.f, 0.f, 0.f, 0.f, 0.f}));
}

TEST(EnvServerTest, AResetToANonFiniteObservationIsAnOpenErrorWithAZeroRowRetriedAtEachStep) {
  std::unique_ptr<EnvServer> server = Serve(MakeMisbehaving());
  ASSERT_NE(server, nullptr);
  // base seed 11: instance 1 is seeded 13.
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(server->address(), 2, 11, kTimeout);
  ASSERT_TRUE(envs.ok()) << envs.status();
  ASSERT_EQ((*envs)->open_errors().size(), 1u);
  EXPECT_EQ((*envs)->open_errors()[0].env_index, 1);
  EXPECT_EQ((*envs)->open_errors()[0].field, "observation");
  EXPECT_EQ(Floats((*envs)->first_observations()), std::vector<float>(4, 0.f));
  RemoteStep step;
  const std::vector<float> actions = {0, 0};
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
  ASSERT_EQ(step.errors.size(), 1u);
  EXPECT_EQ(step.errors[0].env_index, 1);
  EXPECT_THAT(step.errors[0].message, HasSubstr("reset's observation holds NaN"));
  EXPECT_EQ(step.truncated, std::vector<uint8_t>({0, 1}));
  EXPECT_EQ(Floats(step.observations), std::vector<float>({1.f, 1.f, 0.f, 0.f}));
}

TEST(EnvServerTest, AFactoryThatFailsAtOpenEndsThatStreamWithFailedPrecondition) {
  std::unique_ptr<EnvServer> server = Serve([](uint64_t seed) -> absl::StatusOr<std::unique_ptr<Env>> {
    if (seed == 101) return absl::ResourceExhaustedError("no licence left");
    return MakeEnv("CartPole-v1", 0, seed);
  });
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  EXPECT_FALSE(stream.Call(Open(3, 3), &response));  // seeds 100, 101, 102
  const grpc::Status status = stream.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("cannot make env 1 of CartPole-v1 (seed 101)"));
  EXPECT_THAT(status.error_message(), HasSubstr("no licence left"));
  ExpectServes(server->address());
}

TEST(EnvServerTest, AFactoryThatCannotMakeItsEnvFailsAtStart) {
  absl::StatusOr<std::unique_ptr<EnvServer>> server =
      EnvServer::Start("127.0.0.1:0", Plugin(TestPlugin("faulty_plugin"), "Broken-v0"));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(server.status().message(), HasSubstr("no licence"));
}

TEST(EnvServerTest, AnAddressWithoutAPortIsRefused) {
  absl::StatusOr<std::unique_ptr<EnvServer>> server = EnvServer::Start("localhost", Registered("CartPole-v1"));
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EnvServerTest, StopEndsOpenStreamsAndTheirNextStepFails) {
  std::unique_ptr<EnvServer> server = Serve(Registered("CartPole-v1"));
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(server->address(), 1, 0, kTimeout);
  ASSERT_TRUE(envs.ok()) << envs.status();
  server->Stop(absl::Milliseconds(100));  // returns: the open stream was cancelled
  RemoteStep step;
  const std::vector<float> actions = {0};
  EXPECT_FALSE((*envs)->Step(actions.data(), &step).ok());
}

// ---- Rendering ----

// An env that draws: its observation is [t] (steps since reset),
// Discrete(2), cameras "front" (the default) and "top"; pixel (x, y) of a
// frame is (t, y, x) from the front and (t, y, 100 + x) from the top. Seed
// 666 makes an env whose renderer cannot start.
class Canvas final : public Env {
 public:
  explicit Canvas(uint64_t seed) : Env(Spec()), broken_(seed == 666) {}
  static EnvSpec Spec() {
    EnvSpec spec;
    spec.name = "Canvas-v0";
    spec.observation_shape = {1};
    spec.discrete = true;
    spec.num_actions = 2;
    spec.max_episode_steps = 100;
    return spec;
  }
  void Reset(float* obs) override {
    t_ = 0;
    obs[0] = 0.f;
  }
  absl::StatusOr<StepResult> Step(const float*, float* next_obs) override {
    next_obs[0] = static_cast<float>(++t_);
    return StepResult{1.f, false, false};
  }
  std::vector<std::string> cameras() const override { return {"front", "top"}; }
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) override {
    if (broken_) return absl::FailedPreconditionError("no OpenGL context");
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        uint8_t* pixel = rgb + (static_cast<size_t>(y) * width + x) * 3;
        pixel[0] = static_cast<uint8_t>(t_);
        pixel[1] = static_cast<uint8_t>(y);
        pixel[2] = static_cast<uint8_t>((camera == "top" ? 100 : 0) + x);
      }
    }
    return absl::OkStatus();
  }

  static std::vector<uint8_t> Expected(int t, int width, int height, bool top) {
    std::vector<uint8_t> rgb;
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        rgb.push_back(static_cast<uint8_t>(t));
        rgb.push_back(static_cast<uint8_t>(y));
        rgb.push_back(static_cast<uint8_t>((top ? 100 : 0) + x));
      }
    }
    return rgb;
  }

 private:
  const bool broken_;
  int t_ = 0;
};

EnvFactory MakeCanvas() {
  return [](uint64_t seed) -> absl::StatusOr<std::unique_ptr<Env>> { return std::make_unique<Canvas>(seed); };
}

v1::EnvRequest Render(int index, int width, int height, const std::string& camera = "") {
  v1::EnvRequest request;
  v1::RenderEnv* render = request.mutable_render();
  render->set_env_index(index);
  render->set_width(width);
  render->set_height(height);
  render->set_camera(camera);
  return request;
}

TEST(EnvServerTest, OpenedAnnouncesTheEnvsCamerasDefaultFirst) {
  std::unique_ptr<EnvServer> server = Serve(MakeCanvas());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(server->address(), 2, 0, kTimeout);
  ASSERT_TRUE(envs.ok()) << envs.status();
  EXPECT_EQ((*envs)->cameras(), std::vector<std::string>({"front", "top"}));
}

TEST(EnvServerTest, RenderDrawsTheInstancesCurrentStateFromTheCameraAsked) {
  std::unique_ptr<EnvServer> server = Serve(MakeCanvas());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(server->address(), 2, 0, kTimeout);
  ASSERT_TRUE(envs.ok()) << envs.status();
  RemoteStep step;
  const std::vector<float> actions = {0, 0};
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());

  absl::StatusOr<RgbImage> front = (*envs)->Render(1, 7, 5);
  ASSERT_TRUE(front.ok()) << front.status();
  EXPECT_EQ(front->width, 7);
  EXPECT_EQ(front->height, 5);
  EXPECT_EQ(front->rgb, Canvas::Expected(2, 7, 5, false));
  absl::StatusOr<RgbImage> top = (*envs)->Render(0, 3, 4, "top");
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_EQ(top->rgb, Canvas::Expected(2, 3, 4, true));
}

TEST(EnvServerTest, ARenderLeavesTheEpisodesAsTheyWere) {
  std::unique_ptr<EnvServer> server = Serve(MakeCanvas());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(server->address(), 2, 0, kTimeout);
  ASSERT_TRUE(envs.ok()) << envs.status();
  RemoteStep step;
  const std::vector<float> actions = {0, 1};
  for (int t = 1; t <= 3; ++t) {
    ASSERT_TRUE((*envs)->Render(t % 2, 2, 2).ok());
    ASSERT_TRUE((*envs)->Render(t % 2, 2, 2, "top").ok());
    ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
    EXPECT_EQ(Floats(step.observations), std::vector<float>(2, static_cast<float>(t))) << "a render stepped nothing";
    EXPECT_TRUE(step.final_indices.empty());
    EXPECT_TRUE(step.errors.empty());
  }
}

TEST(EnvServerTest, AServedPendulumRendersBitForBitAsInProcess) {
  std::unique_ptr<EnvServer> server = Serve(Registered("Pendulum-v1"));
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> remote = RemoteEnvs::Open(server->address(), 1, 40, kTimeout);
  ASSERT_TRUE(remote.ok()) << remote.status();
  absl::StatusOr<std::unique_ptr<Env>> local = MakeEnv("Pendulum-v1", 0, 41);  // instance 0: base + 1
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ((*remote)->cameras(), (*local)->cameras());
  ASSERT_FALSE((*remote)->cameras().empty()) << "Pendulum-v1 renders";
  std::vector<float> obs(3);
  (*local)->Reset(obs.data());
  RemoteStep step;
  const std::vector<float> action = {1.5f};
  for (int t = 0; t < 5; ++t) {
    ASSERT_TRUE((*remote)->Step(action.data(), &step).ok());
    ASSERT_TRUE((*local)->Step(action.data(), obs.data()).ok());
  }
  absl::StatusOr<RgbImage> served = (*remote)->Render(0, 48, 32);
  ASSERT_TRUE(served.ok()) << served.status();
  absl::StatusOr<RgbImage> in_process = RenderFrame(**local, 48, 32);
  ASSERT_TRUE(in_process.ok()) << in_process.status();
  EXPECT_EQ(served->width, 48);
  EXPECT_EQ(served->height, 32);
  EXPECT_EQ(served->rgb, in_process->rgb);
}

TEST(EnvServerTest, RemoteEnvsRefusesARenderOutsideTheStreamWithoutAsking) {
  std::unique_ptr<EnvServer> server = Serve(MakeCanvas());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(server->address(), 2, 0, kTimeout);
  ASSERT_TRUE(envs.ok()) << envs.status();
  struct Case {
    int index, width, height;
    std::string camera, names;
  };
  for (const Case& c : {Case{2, 8, 8, "", "render of env 2: the stream has envs 0..1"},
                        Case{-1, 8, 8, "", "render of env -1"},
                        Case{0, 0, 8, "", "a render of 0x8 pixels"},
                        Case{0, 8, kMaxRenderSize + 1, "", "a render of 8x4097 pixels"},
                        Case{0, 8, 8, "side", "has no camera 'side'; its cameras: front, top"}}) {
    absl::StatusOr<RgbImage> image = (*envs)->Render(c.index, c.width, c.height, c.camera);
    EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument) << c.names;
    EXPECT_THAT(image.status().message(), HasSubstr("env server at " + server->address())) << c.names;
    EXPECT_THAT(image.status().message(), HasSubstr(c.names));
  }
  RemoteStep step;
  const std::vector<float> actions = {0, 0};
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
  EXPECT_EQ(Floats(step.observations), std::vector<float>({1.f, 1.f}));
}

TEST(EnvServerTest, ARenderTheServerCannotDrawIsAnsweredWithAnErrorAndTheStreamGoesOn) {
  std::unique_ptr<EnvServer> server = Serve(MakeCanvas());
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2, 2), &response));
  EXPECT_THAT(response.opened().cameras(), ElementsAre("front", "top"));
  struct Case {
    v1::EnvRequest request;
    std::string names;
  };
  for (const Case& c : {Case{Render(2, 8, 8), "render.env_index 2 is out of range (0..1)"},
                        Case{Render(-3, 8, 8), "render.env_index -3 is out of range (0..1)"},
                        Case{Render(0, 8, 0), "env 0 of Canvas-v0: a render of 8x0 pixels"},
                        Case{Render(1, kMaxRenderSize + 1, 8), "env 1 of Canvas-v0: a render of 4097x8 pixels"},
                        Case{Render(1, 8, 8, "side"), "Canvas-v0 has no camera 'side'; its cameras: front, top"}}) {
    ASSERT_TRUE(stream.Call(c.request, &response)) << c.names;
    ASSERT_TRUE(response.has_rendered()) << c.names;
    EXPECT_EQ(response.rendered().env_index(), c.request.render().env_index());
    EXPECT_FALSE(response.rendered().has_frame()) << c.names;
    EXPECT_THAT(response.rendered().error(), HasSubstr(c.names));
  }
  ASSERT_TRUE(stream.Call(Step<int64_t>(v1::DTYPE_INT64, {2}, {0, 1}), &response));
  EXPECT_EQ(response.stepped().errors_size(), 0);
  ASSERT_TRUE(stream.Call(Render(1, 2, 1), &response));
  EXPECT_EQ(response.rendered().frame().data(), std::string("\1\0\0\1\0\1", 6));
  EXPECT_TRUE(stream.Finish().ok());
}

TEST(EnvServerTest, AnEnvWhoseRendererFailsIsNamedWithItsReasonAndTheStreamGoesOn) {
  std::unique_ptr<EnvServer> server = Serve(MakeCanvas());
  ASSERT_NE(server, nullptr);
  // base seed 664: instance 1 is seeded 666, whose renderer cannot start.
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(server->address(), 2, 664, kTimeout);
  ASSERT_TRUE(envs.ok()) << envs.status();
  absl::StatusOr<RgbImage> image = (*envs)->Render(1, 4, 4);
  EXPECT_EQ(image.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(image.status().message(), HasSubstr("cannot render env 1: env 1 of Canvas-v0: no OpenGL context"));
  EXPECT_TRUE((*envs)->Render(0, 4, 4).ok());
  RemoteStep step;
  const std::vector<float> actions = {0, 0};
  ASSERT_TRUE((*envs)->Step(actions.data(), &step).ok());
  EXPECT_EQ(Floats(step.observations), std::vector<float>({1.f, 1.f}));
}

TEST(EnvServerTest, AnEnvThatCannotRenderAnnouncesNoCamerasAndRenderIsUnimplemented) {
  std::unique_ptr<EnvServer> server = Serve(MakeMisbehaving());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(server->address(), 1, 0, kTimeout);
  ASSERT_TRUE(envs.ok()) << envs.status();
  EXPECT_TRUE((*envs)->cameras().empty());
  absl::StatusOr<RgbImage> image = (*envs)->Render(0, 4, 4);
  EXPECT_EQ(image.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(image.status().message(), HasSubstr("env server at " + server->address()));
  EXPECT_THAT(image.status().message(), HasSubstr("does not render"));
  ExpectServes(server->address());
}

// A server that opens one Discrete(2) env of [1] float32 observations
// with one camera and answers every later request with `answer`: frames
// no Rill server would send.
class FrameServer final : public v1::EnvService::Service {
 public:
  explicit FrameServer(v1::EnvRendered answer) : answer_(std::move(answer)) {}

  grpc::Status Connect(grpc::ServerContext*,
                       grpc::ServerReaderWriter<v1::EnvResponse, v1::EnvRequest>* stream) override {
    v1::EnvRequest request;
    if (!stream->Read(&request)) return grpc::Status::OK;
    v1::EnvResponse opened;
    *opened.mutable_opened()->mutable_observation_space() = ObservationSpaceOf(Canvas::Spec());
    *opened.mutable_opened()->mutable_action_space() = ActionSpaceOf(Canvas::Spec());
    opened.mutable_opened()->set_env_id("Frames-v0");
    opened.mutable_opened()->add_cameras("default");
    v1::Tensor* observations = opened.mutable_opened()->mutable_observations();
    observations->set_dtype(v1::DTYPE_FLOAT32);
    observations->add_shape(request.open().num_envs());
    observations->add_shape(1);
    observations->set_data(std::string(sizeof(float) * request.open().num_envs(), '\0'));
    if (!stream->Write(opened)) return grpc::Status::OK;
    v1::EnvResponse rendered;
    *rendered.mutable_rendered() = answer_;
    while (stream->Read(&request)) {
      if (!stream->Write(rendered)) break;
    }
    return grpc::Status::OK;
  }

 private:
  const v1::EnvRendered answer_;
};

v1::EnvRendered Frame(v1::DType dtype, std::vector<int64_t> shape, size_t bytes, int index = 0) {
  v1::EnvRendered rendered;
  rendered.set_env_index(index);
  rendered.mutable_frame()->set_dtype(dtype);
  for (int64_t d : shape) rendered.mutable_frame()->add_shape(d);
  rendered.mutable_frame()->set_data(std::string(bytes, '\7'));
  return rendered;
}

// What RemoteEnvs::Render(0, 4, 4) returns when the server answers `answer`.
absl::StatusOr<RgbImage> RenderAnswered(v1::EnvRendered answer) {
  FrameServer service(std::move(answer));
  absl::StatusOr<StartedServer> started = StartGrpcServer("127.0.0.1:0", {&service}, EnvServer::kMaxMessageBytes);
  if (!started.ok()) return started.status();
  const std::string address = absl::StrCat("127.0.0.1:", started->port);
  absl::StatusOr<RgbImage> image = absl::UnknownError("not opened");
  {
    absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(address, 1, 0, kTimeout);
    if (!envs.ok()) return envs.status();
    image = (*envs)->Render(0, 4, 4);
  }
  started->server->Shutdown(DeadlineIn(absl::Seconds(5)));
  return image;
}

TEST(EnvServerTest, RenderTakesAFrameAtTheSizeTheServerDrewIt) {
  absl::StatusOr<RgbImage> image = RenderAnswered(Frame(v1::DTYPE_UINT8, {2, 5, 3}, 30));
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->width, 5);
  EXPECT_EQ(image->height, 2);
  EXPECT_EQ(image->rgb, std::vector<uint8_t>(30, 7));
}

TEST(EnvServerTest, RenderRefusesAFrameWhoseBytesDoNotFitItsShape) {
  absl::StatusOr<RgbImage> image = RenderAnswered(Frame(v1::DTYPE_UINT8, {4, 4, 3}, 47));
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(), HasSubstr("rendered.frame of shape [4, 4, 3] with 47 bytes; 48 expected"));
}

TEST(EnvServerTest, RenderRefusesAFrameLargerThanTheLargestRender) {
  absl::StatusOr<RgbImage> image = RenderAnswered(Frame(v1::DTYPE_UINT8, {kMaxRenderSize + 1, 1, 3}, 3 * 4097));
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(), HasSubstr("rendered.frame of dtype DTYPE_UINT8 and shape [4097, 1, 3]"));
  EXPECT_THAT(image.status().message(), HasSubstr("height and width in 1..4096"));
}

TEST(EnvServerTest, RenderRefusesAFrameThatIsNotUint8Rgb) {
  for (const v1::EnvRendered& answer : {Frame(v1::DTYPE_FLOAT32, {2, 2, 3}, 48), Frame(v1::DTYPE_UINT8, {2, 2}, 4),
                                        Frame(v1::DTYPE_UINT8, {2, 2, 4}, 16), Frame(v1::DTYPE_UINT8, {0, 2, 3}, 0)}) {
    absl::StatusOr<RgbImage> image = RenderAnswered(answer);
    EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument) << answer.DebugString();
    EXPECT_THAT(image.status().message(), HasSubstr("the protocol says DTYPE_UINT8 [height, width, 3]"));
  }
}

TEST(EnvServerTest, RenderRefusesAnAnswerForAnotherInstance) {
  absl::StatusOr<RgbImage> image = RenderAnswered(Frame(v1::DTYPE_UINT8, {1, 1, 3}, 3, /*index=*/1));
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(), HasSubstr("answered a render of env 0 for env 1"));
}

// ---- Row control ----

// An env whose observation tells what happened to it: [seed, episode,
// t, calls] (episode: resets since creation, less one; t: steps since the
// last reset; calls: every Step ever called). Discrete(2): action 1 ends
// the episode (terminated), 0 goes on; each step pays 1. It draws every
// pixel as (episode, t, calls).
class Counter final : public Env {
 public:
  explicit Counter(uint64_t seed) : Env(Spec()), seed_(seed) {}
  static EnvSpec Spec() {
    EnvSpec spec;
    spec.name = "Counter-v0";
    spec.observation_shape = {4};
    spec.discrete = true;
    spec.num_actions = 2;
    spec.max_episode_steps = 100;
    return spec;
  }
  void Reset(float* obs) override {
    ++episode_;
    t_ = 0;
    Observe(obs);
  }
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override {
    ++t_;
    ++calls_;
    Observe(next_obs);
    return StepResult{1.f, action[0] == 1.f, false};
  }
  std::vector<std::string> cameras() const override { return {"default"}; }
  absl::Status Render(int width, int height, const std::string&, uint8_t* rgb) override {
    for (int p = 0; p < width * height; ++p) {
      rgb[3 * p] = static_cast<uint8_t>(episode_);
      rgb[3 * p + 1] = static_cast<uint8_t>(t_);
      rgb[3 * p + 2] = static_cast<uint8_t>(calls_);
    }
    return absl::OkStatus();
  }

 private:
  void Observe(float* obs) const {
    obs[0] = static_cast<float>(seed_);
    obs[1] = static_cast<float>(episode_);
    obs[2] = static_cast<float>(t_);
    obs[3] = static_cast<float>(calls_);
  }

  const uint64_t seed_;
  int episode_ = -1;
  int t_ = 0;
  int calls_ = 0;
};

EnvFactory MakeCounter() {
  return [](uint64_t seed) -> absl::StatusOr<std::unique_ptr<Env>> { return std::make_unique<Counter>(seed); };
}

// A step of Discrete actions with a step mask (none when `mask` is empty)
// and defer_resets.
v1::EnvRequest MaskedStep(const std::vector<int64_t>& actions, const std::vector<uint8_t>& mask, bool defer_resets) {
  v1::EnvRequest request = Step<int64_t>(v1::DTYPE_INT64, {static_cast<int64_t>(actions.size())}, actions);
  if (!mask.empty()) {
    v1::Tensor* step_mask = request.mutable_step()->mutable_step_mask();
    step_mask->set_dtype(v1::DTYPE_BOOL);
    step_mask->add_shape(static_cast<int64_t>(mask.size()));
    step_mask->set_data(mask.data(), mask.size());
  }
  request.mutable_step()->set_defer_resets(defer_resets);
  return request;
}

v1::EnvRequest ResetRequest(const std::vector<int>& indices) {
  v1::EnvRequest request;
  v1::ResetEnvs* reset = request.mutable_reset();  // set even when it names none
  for (const int i : indices) reset->add_env_indices(i);
  return request;
}

std::vector<float> Floats(const v1::Tensor& tensor) {
  std::vector<float> values(tensor.data().size() / sizeof(float));
  std::memcpy(values.data(), tensor.data().data(), values.size() * sizeof(float));
  return values;
}

// Counter's observation: instance i of a stream opened with Open(n, n) is
// seeded 100 + i.
std::vector<float> CounterRow(int i, int episode, int t, int calls) {
  return {static_cast<float>(100 + i), static_cast<float>(episode), static_cast<float>(t), static_cast<float>(calls)};
}

std::vector<float> Rows(std::initializer_list<std::vector<float>> rows) {
  std::vector<float> values;
  for (const std::vector<float>& row : rows) values.insert(values.end(), row.begin(), row.end());
  return values;
}

TEST(EnvServerTest, OpenedAnnouncesRowControl) {
  std::unique_ptr<EnvServer> server = Serve(MakeCounter());
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2, 2), &response));
  EXPECT_TRUE(response.opened().row_control());
  EXPECT_TRUE(stream.Finish().ok());
}

TEST(EnvServerTest, AMaskedStepStepsOnlyTheMarkedInstancesAndLeavesTheOthersRowsAsTheyWere) {
  std::unique_ptr<EnvServer> server = Serve(MakeCounter());
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(3, 3), &response));
  ASSERT_TRUE(stream.Call(MaskedStep({0, 0, 0}, {}, false), &response));
  // Instance 1 is left out with an action that would end its episode, and
  // instance 2 with one outside Discrete(2): neither is looked at.
  ASSERT_TRUE(stream.Call(MaskedStep({0, 1, 5}, {1, 0, 0}, false), &response));
  const v1::EnvsStepped& stepped = response.stepped();
  EXPECT_EQ(Floats(stepped.observations()),
            Rows({CounterRow(0, 0, 2, 2), CounterRow(1, 0, 1, 1), CounterRow(2, 0, 1, 1)}));
  EXPECT_EQ(Floats(stepped.rewards()), std::vector<float>({1.f, 0.f, 0.f}));
  EXPECT_EQ(stepped.terminated().data(), std::string("\0\0\0", 3));
  EXPECT_EQ(stepped.truncated().data(), std::string("\0\0\0", 3));
  EXPECT_TRUE(stepped.final_indices().empty());
  EXPECT_EQ(stepped.final_observations().data(), "");
  EXPECT_EQ(stepped.errors_size(), 0);

  ASSERT_TRUE(stream.Call(MaskedStep({0, 0, 0}, {}, false), &response));
  EXPECT_EQ(Floats(response.stepped().observations()),
            Rows({CounterRow(0, 0, 3, 3), CounterRow(1, 0, 2, 2), CounterRow(2, 0, 2, 2)}))
      << "the left-out instances were stepped once in two steps";
  EXPECT_TRUE(stream.Finish().ok());
}

TEST(EnvServerTest, ADeferredEpisodeEndWaitsAtItsFinalObservationUntilAResetRequest) {
  std::unique_ptr<EnvServer> server = Serve(MakeCounter());
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2, 2), &response));
  ASSERT_TRUE(stream.Call(MaskedStep({1, 0}, {}, true), &response));
  {
    const v1::EnvsStepped& stepped = response.stepped();
    EXPECT_EQ(Floats(stepped.observations()), Rows({CounterRow(0, 0, 1, 1), CounterRow(1, 0, 1, 1)}))
        << "instance 0 not reset";
    EXPECT_THAT(stepped.final_indices(), ElementsAre(0));
    EXPECT_EQ(Floats(stepped.final_observations()), CounterRow(0, 0, 1, 1));
    EXPECT_EQ(stepped.terminated().data(), std::string("\1\0", 2));
    EXPECT_EQ(Floats(stepped.rewards()), std::vector<float>({1.f, 1.f}));
    EXPECT_EQ(stepped.errors_size(), 0);
  }

  ASSERT_TRUE(stream.Call(Render(0, 2, 1), &response));
  EXPECT_EQ(response.rendered().frame().data(), std::string("\0\1\1\0\1\1", 6)) << "the episode's last state";

  // Ended, left out of a step: its row is still the observation it ended on.
  ASSERT_TRUE(stream.Call(MaskedStep({0, 0}, {0, 1}, true), &response));
  EXPECT_EQ(Floats(response.stepped().observations()), Rows({CounterRow(0, 0, 1, 1), CounterRow(1, 0, 2, 2)}));
  EXPECT_TRUE(response.stepped().final_indices().empty());
  EXPECT_EQ(response.stepped().errors_size(), 0);

  ASSERT_TRUE(stream.Call(ResetRequest({0}), &response));
  ASSERT_TRUE(response.has_reset());
  EXPECT_THAT(response.reset().observations().shape(), ElementsAre(1, 4));
  EXPECT_EQ(Floats(response.reset().observations()), CounterRow(0, 1, 0, 1)) << "its next episode's first";
  EXPECT_EQ(response.reset().errors_size(), 0);

  ASSERT_TRUE(stream.Call(MaskedStep({0, 0}, {}, true), &response));
  EXPECT_EQ(Floats(response.stepped().observations()), Rows({CounterRow(0, 1, 1, 2), CounterRow(1, 0, 3, 3)}));
  EXPECT_EQ(response.stepped().errors_size(), 0);
  EXPECT_TRUE(stream.Finish().ok());
}

TEST(EnvServerTest, AResetRequestAnswersInItsOrderAndResetsInstancesThatHaveNotEnded) {
  std::unique_ptr<EnvServer> server = Serve(MakeCounter());
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(3, 3), &response));
  ASSERT_TRUE(stream.Call(MaskedStep({0, 0, 0}, {}, false), &response));
  ASSERT_TRUE(stream.Call(ResetRequest({0, 2}), &response));
  EXPECT_EQ(Floats(response.reset().observations()), Rows({CounterRow(0, 1, 0, 1), CounterRow(2, 1, 0, 1)}));
  ASSERT_TRUE(stream.Call(ResetRequest({}), &response));
  EXPECT_THAT(response.reset().observations().shape(), ElementsAre(0, 4));
  ASSERT_TRUE(stream.Call(MaskedStep({0, 0, 0}, {}, false), &response));
  EXPECT_EQ(Floats(response.stepped().observations()),
            Rows({CounterRow(0, 1, 1, 2), CounterRow(1, 0, 2, 2), CounterRow(2, 1, 1, 2)}));
  EXPECT_TRUE(stream.Finish().ok());
}

TEST(EnvServerTest, SteppingAnEndedInstanceBeforeItsResetFailsItAndResetsIt) {
  std::unique_ptr<EnvServer> server = Serve(MakeCounter());
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2, 2), &response));
  ASSERT_TRUE(stream.Call(MaskedStep({0, 1}, {}, true), &response));
  ASSERT_THAT(response.stepped().final_indices(), ElementsAre(1));
  ASSERT_TRUE(stream.Call(MaskedStep({0, 0}, {}, true), &response));
  const v1::EnvsStepped& stepped = response.stepped();
  ASSERT_EQ(stepped.errors_size(), 1);
  EXPECT_EQ(stepped.errors(0).env_index(), 1);
  EXPECT_EQ(stepped.errors(0).field(), "step");
  EXPECT_THAT(stepped.errors(0).message(), HasSubstr("stepped before a reset request named it"));
  EXPECT_EQ(stepped.truncated().data(), std::string("\0\1", 2));
  EXPECT_EQ(stepped.terminated().data(), std::string("\0\0", 2));
  EXPECT_EQ(Floats(stepped.rewards()), std::vector<float>({1.f, 0.f}));
  EXPECT_TRUE(stepped.final_indices().empty());
  // Instance 1's env was reset, not stepped (one call, in the first step).
  EXPECT_EQ(Floats(stepped.observations()), Rows({CounterRow(0, 0, 2, 2), CounterRow(1, 1, 0, 1)}));
  ASSERT_TRUE(stream.Call(MaskedStep({0, 0}, {}, true), &response));
  EXPECT_EQ(response.stepped().errors_size(), 0);
  EXPECT_EQ(Floats(response.stepped().observations()), Rows({CounterRow(0, 0, 3, 3), CounterRow(1, 1, 1, 2)}));
  EXPECT_TRUE(stream.Finish().ok());
}

TEST(EnvServerTest, AnInstanceThatFailsInAStepWithDeferredResetsIsResetInThatStep) {
  std::unique_ptr<EnvServer> server = Serve(MakeMisbehaving());
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  ASSERT_TRUE(stream.Call(Open(2, 2), &response));
  ASSERT_TRUE(stream.Call(MaskedStep({0, 1}, {}, true), &response));  // 1: a NaN reward
  ASSERT_EQ(response.stepped().errors_size(), 1);
  EXPECT_EQ(response.stepped().errors(0).field(), "reward");
  EXPECT_EQ(Floats(response.stepped().observations()), std::vector<float>({1.f, 1.f, 0.f, 0.f}));
  EXPECT_EQ(response.stepped().truncated().data(), std::string("\0\1", 2));
  ASSERT_TRUE(stream.Call(MaskedStep({0, 0}, {}, true), &response));
  EXPECT_EQ(response.stepped().errors_size(), 0) << "reset already: stepping it is no error";
  EXPECT_TRUE(stream.Finish().ok());
}

TEST(EnvServerTest, AFailedResetIsRetriedOnlyInAStepThatMarksIt) {
  std::unique_ptr<EnvServer> server = Serve(MakeMisbehaving());
  ASSERT_NE(server, nullptr);
  RawEnvStream stream(server->address());
  v1::EnvResponse response;
  v1::EnvRequest open = Open(2, 0);
  open.mutable_open()->add_seeds(12);
  open.mutable_open()->add_seeds(13);  // resets to NaN
  ASSERT_TRUE(stream.Call(open, &response));
  ASSERT_EQ(response.opened().errors_size(), 1);
  ASSERT_TRUE(stream.Call(MaskedStep({0, 0}, {1, 0}, false), &response));
  EXPECT_EQ(response.stepped().errors_size(), 0);
  EXPECT_EQ(response.stepped().truncated().data(), std::string("\0\0", 2));
  ASSERT_TRUE(stream.Call(MaskedStep({0, 0}, {0, 1}, false), &response));
  ASSERT_EQ(response.stepped().errors_size(), 1);
  EXPECT_EQ(response.stepped().errors(0).env_index(), 1);
  EXPECT_THAT(response.stepped().errors(0).message(), HasSubstr("reset's observation holds NaN"));
  EXPECT_EQ(response.stepped().truncated().data(), std::string("\0\1", 2));
  ASSERT_TRUE(stream.Call(ResetRequest({1}), &response));
  ASSERT_EQ(response.reset().errors_size(), 1);
  EXPECT_EQ(response.reset().errors(0).env_index(), 1);
  EXPECT_EQ(response.reset().errors(0).field(), "observation");
  EXPECT_EQ(Floats(response.reset().observations()), std::vector<float>({0.f, 0.f})) << "zeros";
  EXPECT_TRUE(stream.Finish().ok());
}

TEST(EnvServerTest, AStepMaskThatIsNotNBoolsEndsTheStreamWithInvalidArgumentNamingTheField) {
  std::unique_ptr<EnvServer> server = Serve(MakeCounter());
  ASSERT_NE(server, nullptr);
  struct Case {
    v1::DType dtype;
    std::vector<int64_t> shape;
    std::string data, names;
  };
  for (const Case& c :
       {Case{v1::DTYPE_FLOAT32, {2}, std::string(8, '\0'), "step.step_mask has dtype DTYPE_FLOAT32 and shape [2]"},
        Case{v1::DTYPE_BOOL, {3}, std::string(3, '\1'), "step.step_mask has dtype DTYPE_BOOL and shape [3]"},
        Case{v1::DTYPE_BOOL, {2, 1}, std::string(2, '\1'), "step.step_mask has dtype DTYPE_BOOL and shape [2, 1]"},
        Case{v1::DTYPE_BOOL, {}, "", "step.step_mask has dtype DTYPE_BOOL and shape []"},
        Case{v1::DTYPE_BOOL, {2}, std::string(1, '\1'), "step.step_mask holds 1 bytes"}}) {
    v1::EnvRequest step = MaskedStep({0, 0}, {}, false);
    v1::Tensor* mask = step.mutable_step()->mutable_step_mask();
    mask->set_dtype(c.dtype);
    for (int64_t d : c.shape) mask->add_shape(d);
    mask->set_data(c.data);
    SCOPED_TRACE(c.names);
    ExpectStreamEnds(server->address(), Open(2, 2), step, grpc::StatusCode::INVALID_ARGUMENT, c.names);
  }
  ExpectServes(server->address());
}

TEST(EnvServerTest, ResetIndicesThatAreNotAscendingInRangeAndOnceEachEndTheStreamWithInvalidArgument) {
  std::unique_ptr<EnvServer> server = Serve(MakeCounter());
  ASSERT_NE(server, nullptr);
  struct Case {
    std::vector<int> indices;
    std::string names;
  };
  for (const Case& c : {Case{{0, 3}, "reset.env_indices[1] = 3 is out of range (0..2)"},
                        Case{{-1}, "reset.env_indices[0] = -1 is out of range (0..2)"},
                        Case{{2, 0}, "reset.env_indices is not ascending: [1] = 0 follows 2"},
                        Case{{0, 1, 1}, "reset.env_indices names env 1 twice"}}) {
    SCOPED_TRACE(c.names);
    ExpectStreamEnds(server->address(), Open(3, 3), ResetRequest(c.indices), grpc::StatusCode::INVALID_ARGUMENT,
                     c.names);
  }
  ExpectServes(server->address());
}

// Row control through the region: masked steps, deferred episode ends
// and resets of chosen instances answer exactly as over gRPC.
TEST(EnvServerTest, RowControlThroughTheSharedRegionAnswersAsOverGrpc) {
  std::unique_ptr<EnvServer> server = Serve(Registered("Pendulum-v1", 5));
  ASSERT_NE(server, nullptr);
  std::vector<std::vector<uint8_t>> seen[2];
  int index = 0;
  for (RemoteEnvs::Transport transport : {RemoteEnvs::Transport::kGrpc, RemoteEnvs::Transport::kSharedMemoryWhenLocal}) {
    absl::StatusOr<std::unique_ptr<RemoteEnvs>> envs = RemoteEnvs::Open(server->address(), 3, 11, kTimeout, transport);
    ASSERT_TRUE(envs.ok()) << envs.status();
    ASSERT_TRUE((*envs)->row_control());
    EXPECT_EQ((*envs)->shared_memory(), index == 1) << (*envs)->shared_memory_note();
    std::vector<std::vector<uint8_t>>& out = seen[index++];
    const std::vector<float> actions = {0.5f, -1.f, 2.f};
    const uint8_t mask[] = {1, 0, 1};
    RemoteStep step;
    for (int t = 0; t < 7; ++t) {
      // Instance 1 is stepped every other step; ends wait for a reset.
      ASSERT_TRUE((*envs)->Step(actions.data(), &step, t % 2 == 0 ? mask : nullptr, /*defer_resets=*/true).ok());
      out.push_back(step.observations);
      out.push_back(std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(step.rewards.data()),
                                         reinterpret_cast<const uint8_t*>(step.rewards.data() + step.rewards.size())));
      out.push_back(step.truncated);
      out.push_back(std::vector<uint8_t>(step.final_indices.begin(), step.final_indices.end()));
      std::vector<int> ended;
      for (int i = 0; i < 3; ++i) {
        if (step.truncated[i] || step.terminated[i]) ended.push_back(i);
      }
      if (!ended.empty()) {
        std::vector<uint8_t> first;
        std::vector<RemoteEnvError> errors;
        ASSERT_TRUE((*envs)->ResetSome(ended, &first, &errors).ok());
        EXPECT_TRUE(errors.empty());
        out.push_back(first);
      }
    }
  }
  ASSERT_EQ(seen[0].size(), seen[1].size());
  EXPECT_GT(seen[0].size(), 7u * 4) << "some instance reached its 5-step limit and was reset";
  for (size_t k = 0; k < seen[0].size(); ++k) EXPECT_EQ(seen[0][k], seen[1][k]) << "answer part " << k;
}

}  // namespace
}  // namespace rill::envs
