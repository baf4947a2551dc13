// `rill inference` across real processes: a learner, and an inference role
// that follows its parameter stream and acts for actors pointed at it
// through inference.address. Actions come back in the env's shape with a
// version the learner published; a wrong observation shape is refused with
// INVALID_ARGUMENT naming the field; once the learner trains (on an actor
// acting through the inference role), the role acts with newer versions.
// For an image env, the role takes the actor's observations as uint8.
#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/inference.grpc.pb.h"
#include "proto/parameters.grpc.pb.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kConfigPath[] = "tests/configs/tiny_pendulum.textpb";
constexpr int kPublishEvery = 5;  // the config's learner.publish_every
constexpr int kObsDim = 3;        // Pendulum-v1
constexpr int kActionDim = 1;

// The test config with topology.inference "central" and, when `address` is
// not empty, inference.address; returns its path ("" if the config changed
// shape).
std::string WriteCentralConfig(const std::string& name, const std::string& address) {
  std::string text = ReadFile(kConfigPath);
  const std::string topology = "topology { num_actors: 2 }";
  const size_t at = text.find(topology);
  EXPECT_NE(at, std::string::npos) << kConfigPath << " changed; update this test";
  if (at == std::string::npos) return "";
  std::string central = "topology { num_actors: 1 inference: CENTRAL }";
  if (!address.empty()) absl::StrAppend(&central, "\ninference { address: \"", address, "\" }");
  text.replace(at, topology.size(), central);
  const std::string path = TempDir(name) + "/central.textpb";
  std::ofstream(path) << text;
  return path;
}

// `rows` observations, a [rows, cols] float32 tensor (a [rows] one when
// cols is 0), every value 0.5.
v1::ActRequest Observations(int rows, int cols) {
  v1::ActRequest request;
  v1::Tensor* tensor = request.mutable_observations();
  tensor->set_dtype(v1::DTYPE_FLOAT32);
  tensor->add_shape(rows);
  if (cols > 0) tensor->add_shape(cols);
  std::vector<float> values(static_cast<size_t>(rows) * std::max(cols, 1), 0.5f);
  tensor->set_data(values.data(), values.size() * sizeof(float));
  return request;
}

struct Acted {
  bool answered = false;
  v1::ActResponse response;
  grpc::Status status;  // how the stream ended
};

// Opens an Act stream, sends `request` and closes the stream after the
// answer.
Acted ActOnce(v1::InferenceService::Stub& stub, const v1::ActRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  std::unique_ptr<grpc::ClientReaderWriter<v1::ActRequest, v1::ActResponse>> stream = stub.Act(&context);
  Acted acted;
  acted.answered = stream->Write(request) && stream->Read(&acted.response);
  stream->WritesDone();
  acted.status = stream->Finish();
  return acted;
}

// The learner's newest published version (its Status RPC).
int64_t LearnerVersion(v1::ParameterService::Stub& stub) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(5)));
  v1::LearnerStatus status;
  const grpc::Status rpc = stub.Status(&context, v1::LearnerStatusRequest(), &status);
  EXPECT_TRUE(rpc.ok()) << rpc.error_message();
  return status.version();
}

// The learner publishes at its start (version 1) and every publish_every
// updates (version = updates + 1).
bool IsPublishedVersion(int64_t version, int64_t learner_version) {
  return version >= 1 && version <= learner_version && (version - 1) % kPublishEvery == 0;
}

void ExpectActionsOfTheEnvsShape(const v1::ActResponse& response, int rows) {
  const v1::Tensor& actions = response.actions();
  EXPECT_EQ(actions.dtype(), v1::DTYPE_FLOAT32);
  ASSERT_THAT(actions.shape(), ::testing::ElementsAre(rows, kActionDim));
  ASSERT_EQ(actions.data().size(), static_cast<size_t>(rows) * kActionDim * sizeof(float));
  std::vector<float> values(static_cast<size_t>(rows) * kActionDim);
  std::memcpy(values.data(), actions.data().data(), actions.data().size());
  for (float value : values) {
    EXPECT_GE(value, -1.f);  // the policy's [-1, 1] units
    EXPECT_LE(value, 1.f);
  }
  EXPECT_GE(response.batch_rows(), rows);
}

void ExpectCleanStop(RoleProcess& role) {
  const int status = role.process->Stop(absl::Seconds(30));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << role.process->name() << ": " << ChildProcess::DescribeStatus(status) << "\n"
      << role.process->LogTail(10);
}

TEST(InferenceRoleTest, ActsWithTheLearnersVersionsForActorsPointedAtIt) {
  const std::string config = absl::StrCat("--config=", kConfigPath);
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", config});
  ASSERT_TRUE(replay.ok()) << replay.status();
  // The learner's config is the plain one, so that it serves no
  // InferenceService itself; the role reads the actors' (central).
  absl::StatusOr<RoleProcess> learner = StartRole(
      "learner", {"learner", config, "--replay_address=" + replay->address(), "--checkpoint_dir=" + TempDir("ckpt")});
  ASSERT_TRUE(learner.ok()) << learner.status();
  const std::string role_config = WriteCentralConfig("inference-role-config", "");
  ASSERT_FALSE(role_config.empty());
  absl::StatusOr<RoleProcess> inference = StartRole(
      "inference", {"inference", "--config=" + role_config, "--learner_address=" + learner->address()});
  ASSERT_TRUE(inference.ok()) << inference.status();

  auto parameters = v1::ParameterService::NewStub(MakeChannel(learner->address(), 64 << 20));
  auto stub = v1::InferenceService::NewStub(MakeChannel(inference->address(), 64 << 20));

  // Until the first version arrives from the learner, requests get
  // UNAVAILABLE; then actions of the env's shape, by the version the learner
  // holds (no actor yet, so it has not trained past version 1).
  Acted first;
  ASSERT_TRUE(WaitUntil(
      [&] {
        first = ActOnce(*stub, Observations(2, kObsDim));
        return first.answered;
      },
      absl::Seconds(30)))
      << first.status.error_code() << ": " << first.status.error_message() << "\n"
      << inference->process->LogTail(10);
  EXPECT_TRUE(first.status.ok()) << first.status.error_message();
  ExpectActionsOfTheEnvsShape(first.response, 2);
  EXPECT_EQ(first.response.version(), 1);
  EXPECT_EQ(first.response.version(), LearnerVersion(*parameters));

  // Observations of the wrong width, or not a matrix: the stream ends with
  // INVALID_ARGUMENT naming the field.
  const Acted wide = ActOnce(*stub, Observations(2, kObsDim + 2));
  EXPECT_FALSE(wide.answered);
  EXPECT_EQ(wide.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(wide.status.error_message(), HasSubstr("ActRequest.observations"));
  EXPECT_THAT(wide.status.error_message(), HasSubstr("obs_dim 3"));
  const Acted flat = ActOnce(*stub, Observations(kObsDim, 0));
  EXPECT_FALSE(flat.answered);
  EXPECT_EQ(flat.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(flat.status.error_message(), HasSubstr("ActRequest.observations"));
  // ...and the role serves the next stream as before.
  const Acted again = ActOnce(*stub, Observations(3, kObsDim));
  ASSERT_TRUE(again.answered) << again.status.error_message();
  ExpectActionsOfTheEnvsShape(again.response, 3);
  const double requests_before_actor = SumMetric(inference->Metrics(), "rill_inference_requests_total");

  // An actor whose config points inference.address at the role. Its items
  // let the learner train and publish newer versions.
  const std::string actor_config = WriteCentralConfig("actor-config", inference->address());
  ASSERT_FALSE(actor_config.empty());
  absl::StatusOr<RoleProcess> actor =
      StartRole("actor", {"actor", "--config=" + actor_config, "--actor_id=0", "--replay_address=" + replay->address(),
                          "--learner_address=" + learner->address()});
  ASSERT_TRUE(actor.ok()) << actor.status();

  // The role takes up the learner's newer versions: a fresh stream acts with
  // one the learner published after version 1.
  Acted newer;
  ASSERT_TRUE(WaitUntil(
      [&] {
        newer = ActOnce(*stub, Observations(2, kObsDim));
        return newer.answered && newer.response.version() > 1;
      },
      absl::Seconds(40)))
      << "the inference role still acts with version " << newer.response.version() << "; learner at version "
      << LearnerVersion(*parameters) << "\n"
      << learner->process->LogTail(5) << "\n"
      << inference->process->LogTail(5) << "\n"
      << actor->process->LogTail(5);
  ExpectActionsOfTheEnvsShape(newer.response, 2);
  const int64_t learner_version = LearnerVersion(*parameters);
  EXPECT_TRUE(IsPublishedVersion(newer.response.version(), learner_version))
      << "version " << newer.response.version() << " with the learner at " << learner_version;
  // The actor acted through the role, with the role's versions (it holds no
  // policy of its own with central inference).
  const MetricSamples role_metrics = inference->Metrics();
  EXPECT_GT(SumMetric(role_metrics, "rill_inference_requests_total"), requests_before_actor + 1);
  EXPECT_GT(SumMetric(role_metrics, "rill_inference_parameter_version"), 1);
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(actor->Metrics(), "rill_actor_parameter_version") > 1; },
                        absl::Seconds(10)))
      << actor->process->LogTail(10);
  const int64_t actor_version = static_cast<int64_t>(SumMetric(actor->Metrics(), "rill_actor_parameter_version"));
  EXPECT_TRUE(IsPublishedVersion(actor_version, LearnerVersion(*parameters))) << "actor at version " << actor_version;

  for (RoleProcess* role : {&*actor, &*inference, &*learner, &*replay}) ExpectCleanStop(*role);
  EXPECT_THAT(inference->process->LogTail(3), HasSubstr("stopped after"));
  EXPECT_THAT(inference->process->LogTail(20), ::testing::Not(HasSubstr("topology.inference is")));
}

// A tiny IMPALA run on an image env, MinAtar Breakout (uint8 [4, 10, 10],
// stepped in the actor) with two frames stacked; TOPOLOGY is replaced by
// each process's topology.
constexpr char kImageConfig[] = R"(name: "tiny_breakout"
env { name: "MinAtar/Breakout-v1" frame_stack: 2 }
network { hidden_sizes: 16 }
replay { tables { name: "unrolls" selector { fifo {} } max_size: 64
  rate_limiter { min_size_to_sample: 4 samples_per_insert: 1 error_buffer: 60 } } }
actor { num_envs: 2 insert_batch_items: 2 max_in_flight_batches: 1 }
learner { impala { unroll_length: 5 } batch_size: 4 publish_every: 1 prefetch_batches: 1 }
TOPOLOGY
seed: 3
)";
constexpr int kImageObsDim = 2 * 4 * 10 * 10;  // two stacked frames
constexpr int kImageActions = 3;                // Breakout's minimal action set
constexpr char kUint8BytesSeries[] = "rill_inference_observation_bytes_total{dtype=\"uint8\"}";

std::string WriteImageConfig(const std::string& name, const std::string& topology) {
  std::string text = kImageConfig;
  text.replace(text.find("TOPOLOGY"), std::string("TOPOLOGY").size(), topology);
  const std::string path = TempDir(name) + "/config.textpb";
  std::ofstream(path) << text;
  return path;
}

// Pixel value of row r, column j of the test's images.
uint8_t Pixel(int r, int j) { return static_cast<uint8_t>((r * 37 + j * 11) % 256); }

// `rows` images of `cols` pixels as they go on the wire: DTYPE_UINT8, or
// (`as_floats`) their values / 255 as float32.
v1::ActRequest Images(int rows, int cols, bool as_floats = false) {
  v1::ActRequest request;
  request.set_deterministic(true);
  v1::Tensor* tensor = request.mutable_observations();
  tensor->set_dtype(as_floats ? v1::DTYPE_FLOAT32 : v1::DTYPE_UINT8);
  tensor->add_shape(rows);
  tensor->add_shape(cols);
  std::vector<uint8_t> pixels;
  std::vector<float> floats;
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < cols; ++j) {
      pixels.push_back(Pixel(r, j));
      floats.push_back(static_cast<float>(Pixel(r, j)) * (1.f / 255.f));
    }
  }
  if (as_floats) {
    tensor->set_data(floats.data(), floats.size() * sizeof(float));
  } else {
    tensor->set_data(pixels.data(), pixels.size());
  }
  return request;
}

double SeriesValue(const MetricSamples& samples, const std::string& series) {
  auto it = samples.find(series);
  return it == samples.end() ? 0 : it->second;
}

// Central inference for an image env: the role takes uint8 observations
// (and float32 ones, already scaled, acting on them alike), refuses a
// uint8 row of the wrong width by name, and serves an actor of the env,
// which sends its stacked frames as uint8 while the learner trains on its
// unrolls.
TEST(InferenceRoleTest, ActsOnTheUint8ImagesOfAnImageEnvAsOnTheirFloatsOver255) {
  const std::string plain = WriteImageConfig("images-plain", "topology { num_actors: 1 }");
  const std::string central = WriteImageConfig("images-central", "topology { num_actors: 1 inference: CENTRAL }");
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", "--config=" + plain});
  ASSERT_TRUE(replay.ok()) << replay.status();
  absl::StatusOr<RoleProcess> learner =
      StartRole("learner", {"learner", "--config=" + plain, "--replay_address=" + replay->address(),
                            "--checkpoint_dir=" + TempDir("images-ckpt")});
  ASSERT_TRUE(learner.ok()) << learner.status();
  absl::StatusOr<RoleProcess> inference =
      StartRole("inference", {"inference", "--config=" + central, "--learner_address=" + learner->address()});
  ASSERT_TRUE(inference.ok()) << inference.status();
  auto stub = v1::InferenceService::NewStub(MakeChannel(inference->address(), 64 << 20));

  Acted from_pixels;
  ASSERT_TRUE(WaitUntil(
      [&] {
        from_pixels = ActOnce(*stub, Images(3, kImageObsDim));
        return from_pixels.answered;
      },
      absl::Seconds(30)))
      << from_pixels.status.error_message() << "\n"
      << inference->process->LogTail(10);
  const v1::Tensor& actions = from_pixels.response.actions();
  EXPECT_EQ(actions.dtype(), v1::DTYPE_INT64);
  ASSERT_THAT(actions.shape(), ::testing::ElementsAre(3));
  std::vector<int64_t> indices(3);
  ASSERT_EQ(actions.data().size(), indices.size() * sizeof(int64_t));
  std::memcpy(indices.data(), actions.data().data(), actions.data().size());
  for (int64_t a : indices) EXPECT_TRUE(a >= 0 && a < kImageActions) << a;
  // No actor yet: the learner is still at version 1, and the same images
  // as floats / 255 get the same (deterministic) actions. The counter is
  // read as a difference: a request the wait above retried was counted
  // when it arrived, answered or not.
  const double uint8_bytes = SeriesValue(inference->Metrics(), kUint8BytesSeries);
  const Acted from_floats = ActOnce(*stub, Images(3, kImageObsDim, /*as_floats=*/true));
  ASSERT_TRUE(from_floats.answered) << from_floats.status.error_message();
  EXPECT_EQ(from_floats.response.version(), from_pixels.response.version());
  EXPECT_EQ(from_floats.response.actions().data(), actions.data());
  EXPECT_EQ(SeriesValue(inference->Metrics(), kUint8BytesSeries), uint8_bytes)
      << "a float32 request counts no uint8 bytes";
  const Acted again = ActOnce(*stub, Images(3, kImageObsDim));
  ASSERT_TRUE(again.answered) << again.status.error_message();
  EXPECT_EQ(again.response.actions().data(), actions.data());
  EXPECT_EQ(SeriesValue(inference->Metrics(), kUint8BytesSeries) - uint8_bytes, 3.0 * kImageObsDim)
      << "each uint8 request carries one byte per pixel";

  const Acted narrow = ActOnce(*stub, Images(2, kImageObsDim / 2));
  EXPECT_FALSE(narrow.answered);
  EXPECT_EQ(narrow.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(narrow.status.error_message(), HasSubstr("ActRequest.observations"));
  EXPECT_THAT(narrow.status.error_message(), HasSubstr("obs_dim 800"));

  const std::string actor_config = WriteImageConfig(
      "images-actor",
      absl::StrCat("topology { num_actors: 1 inference: CENTRAL }\ninference { address: \"", inference->address(),
                   "\" }"));
  absl::StatusOr<RoleProcess> actor =
      StartRole("actor", {"actor", "--config=" + actor_config, "--actor_id=0", "--replay_address=" + replay->address(),
                          "--learner_address=" + learner->address()});
  ASSERT_TRUE(actor.ok()) << actor.status();
  // The actor's observations arrive as bytes, and the learner trains on
  // its unrolls: the role acts with newer versions.
  Acted newer;
  ASSERT_TRUE(WaitUntil(
      [&] {
        newer = ActOnce(*stub, Images(1, kImageObsDim));
        return newer.answered && newer.response.version() > 1;
      },
      absl::Seconds(60)))
      << "the inference role still acts with version " << newer.response.version() << "\n"
      << learner->process->LogTail(5) << "\n"
      << inference->process->LogTail(5) << "\n"
      << actor->process->LogTail(5);
  const MetricSamples role_metrics = inference->Metrics();
  EXPECT_GT(SeriesValue(role_metrics, kUint8BytesSeries), 10.0 * 2 * kImageObsDim)
      << "the actor's steps (2 envs each) came as uint8";
  EXPECT_EQ(SeriesValue(role_metrics, "rill_inference_observation_bytes_total{dtype=\"float32\"}"),
            3.0 * kImageObsDim * sizeof(float))
      << "only the test's one float32 request";

  for (RoleProcess* role : {&*actor, &*inference, &*learner, &*replay}) ExpectCleanStop(*role);
}

// `rill launch` with topology.num_inference_servers: 2 starts two `rill
// inference` processes after the learner, which then hosts none; the two
// actors stream to one each, and the run reaches its step budget with the
// processes' batches in the summary. A bad count is refused by name.
TEST(InferenceRoleTest, LaunchStartsInferenceProcessesAndPointsTheActorsAtThem) {
  std::string text = ReadFile(WriteCentralConfig("launch-inference-config", ""));
  const std::string topology = "topology { num_actors: 1 inference: CENTRAL }";
  const size_t at = text.find(topology);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, topology.size(), "topology { num_actors: 2 inference: CENTRAL num_inference_servers: 2 }");
  const std::string dir = TempDir("launch-inference");
  const std::string config = dir + "/config.textpb";
  std::ofstream(config) << text;
  const std::string run_dir = dir + "/run";
  auto launch = ChildProcess::Start(
      "launch", RillBinary(),
      {"launch", "--config=" + config, "--run_dir=" + run_dir, "--summary_json=" + run_dir + "/summary.json",
       "--max_env_steps=1500", "--progress_every=1s"},
      dir + "/launch.log");
  ASSERT_TRUE(launch.ok()) << launch.status();
  const std::optional<int> status = (*launch)->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value()) << "launch did not finish:\n" << (*launch)->LogTail(20);
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*launch)->LogTail(30);
  const std::string summary = ReadFile(run_dir + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"env_steps\": 1500,")) << summary;
  EXPECT_THAT(summary, HasSubstr("\"inference_servers\": 2,")) << summary;
  EXPECT_THAT(summary, ::testing::Not(HasSubstr("\"inference_batch_rows_mean\": null"))) << summary;
  EXPECT_THAT(ReadFile(run_dir + "/logs/learner.log"), HasSubstr("served by 2 rill inference processes"));
  for (const std::string server : {"inference-0", "inference-1"}) {
    // Each served requests: actor i streams to process i mod 2.
    const std::string log = ReadFile(run_dir + "/logs/" + server + ".log");
    std::smatch served;
    ASSERT_TRUE(std::regex_search(log, served, std::regex("stopped after ([0-9]+) requests"))) << server << ":\n" << log;
    EXPECT_GT(std::stol(served[1].str()), 100) << server;
  }
  EXPECT_THAT((*launch)->LogTail(200), HasSubstr("inference batch")) << "the progress line shows the mean batch";

  // A negative count, or a count without central inference, is refused by name.
  for (const auto& [replacement, names] : std::vector<std::pair<std::string, std::string>>{
           {"topology { num_actors: 2 num_inference_servers: 1 }", "needs topology.inference CENTRAL"},
           {"topology { num_actors: 2 inference: CENTRAL num_inference_servers: -1 }", "must be >= 0"}}) {
    std::string bad = ReadFile(config);
    const size_t where = bad.find("topology {");
    bad.replace(where, bad.find('}', where) + 1 - where, replacement);
    const std::string bad_path = dir + "/bad.textpb";
    std::ofstream(bad_path, std::ios::trunc) << bad;
    auto refused = ChildProcess::Start("bad-launch", RillBinary(),
                                              {"launch", "--config=" + bad_path, "--run_dir=" + dir + "/bad-run"},
                                              dir + "/bad.log");
    ASSERT_TRUE(refused.ok()) << refused.status();
    const std::optional<int> exit = (*refused)->WaitExit(absl::Seconds(60));
    ASSERT_TRUE(exit.has_value()) << (*refused)->LogTail(10);
    EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 2) << ChildProcess::DescribeStatus(*exit);
    EXPECT_THAT((*refused)->LogTail(5), HasSubstr("topology.num_inference_servers")) << names;
    EXPECT_THAT((*refused)->LogTail(5), HasSubstr(names));
  }
}

// Bad flags and configs stop the role at once with exit code 2 and a line
// naming what is wrong.
TEST(InferenceRoleTest, RefusesAnEmptyLearnerAddressAndAMissingConfig) {
  struct Case {
    std::vector<std::string> args;
    std::string names;
  };
  const std::vector<Case> cases = {
      {{"inference", absl::StrCat("--config=", kConfigPath), "--learner_address="}, "--learner_address is empty"},
      {{"inference", "--config=tests/configs/missing.textpb", "--learner_address=127.0.0.1:1"},
       "tests/configs/missing.textpb"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.names);
    auto child = ChildProcess::Start("inference", RillBinary(), c.args, TempDir("inference-bad") + "/out.log");
    ASSERT_TRUE(child.ok()) << child.status();
    const std::optional<int> status = (*child)->WaitExit(absl::Seconds(30));
    ASSERT_TRUE(status.has_value()) << "still running\n" << (*child)->LogTail(10);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << ChildProcess::DescribeStatus(*status);
    EXPECT_THAT((*child)->LogTail(5), HasSubstr(c.names));
  }
}

}  // namespace
}  // namespace rill::testing
