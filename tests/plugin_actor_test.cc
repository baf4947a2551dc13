// Actors stepping envs from a plugin library (env.plugin): real replay,
// learner and actor processes on port 0, loading the misbehaving test
// library (envs/plugin/testdata/faulty_plugin.c). A step the library fails
// is counted (rill_actor_env_errors_total), logged with the library's
// message, the env is reset and the run goes on; a library that cannot be
// loaded stops the process at start, naming the file.
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <utility>
#include <vector>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/metrics_scrape.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/replay.grpc.pb.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;

std::string FaultyLibrary() {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/rill/envs/plugin/testdata/libfaulty_plugin.so");
}

// An off-policy run on `library`'s env `id` that acts at random throughout
// (the learner trains once replay holds `min_size_to_sample` items).
std::string WriteConfig(const std::string& library, const std::string& id, const std::string& name,
                        int min_size_to_sample = 100000) {
  const std::string text = absl::StrCat("env { plugin { library: \"", library, "\" id: \"", id, "\" } }", R"(
network { hidden_sizes: 16 }
replay { tables { name: "transitions" max_size: 100000 rate_limiter { min_size_to_sample: )", min_size_to_sample, R"( } } }
actor { num_envs: 4 learning_starts: 10000000 insert_batch_items: 16 max_in_flight_batches: 4 }
learner { sac_discrete { } batch_size: 32 num_threads: 1 }
eval { episodes: 2 }
topology { num_actors: 1 }
)");
  const std::string path = TempDir("plugin-" + name) + "/config.textpb";
  std::ofstream(path) << text;
  return path;
}

// A replay shard, a learner and an actor (and an evaluator) on `config`.
struct PluginRun {
  RoleProcess replay;
  RoleProcess learner;
  RoleProcess actor;
  std::optional<RoleProcess> evaluator;
};

absl::StatusOr<PluginRun> StartRun(const std::string& config, bool with_evaluator) {
  ASSIGN_OR_RETURN(RoleProcess replay, StartRole("replay", {"replay", "--config=" + config}));
  ASSIGN_OR_RETURN(RoleProcess learner,
                   StartRole("learner", {"learner", "--config=" + config, "--replay_address=" + replay.address()}));
  const std::vector<std::string> addresses = {"--replay_address=" + replay.address(),
                                              "--learner_address=" + learner.address()};
  std::vector<std::string> args = {"actor", "--config=" + config};
  args.insert(args.end(), addresses.begin(), addresses.end());
  ASSIGN_OR_RETURN(RoleProcess actor, StartRole("actor", args));
  PluginRun run{std::move(replay), std::move(learner), std::move(actor), std::nullopt};
  if (with_evaluator) {
    args.push_back("--eval");
    ASSIGN_OR_RETURN(run.evaluator, StartRole("evaluator", args));
  }
  return run;
}

TEST(PluginActorTest, AFailingPluginEnvIsCountedResetAndTheRunGoesOn) {
  // Lever-v0: lever 1 (half of the random actions) fails the step.
  const std::string config = WriteConfig(FaultyLibrary(), "Lever-v0", "lever");
  absl::StatusOr<PluginRun> run = StartRun(config, /*with_evaluator=*/false);
  ASSERT_TRUE(run.ok()) << run.status();
  RoleProcess* replay = &run->replay;
  RoleProcess* actor = &run->actor;
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(actor->Metrics(), "rill_actor_env_errors_total") >= 40; },
                        absl::Seconds(60)))
      << actor->process->LogTail(20);
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(replay->Metrics(), "rill_replay_items_inserted_total") >= 64; },
                        absl::Seconds(60)))
      << actor->process->LogTail(20);
  EXPECT_THAT(actor->process->LogTail(200), HasSubstr("lever 1 is broken"));
  EXPECT_TRUE(actor->process->running());
}

// One sampled batch of `size` items from the replay at `address`.
v1::SampleResponse SampleBatch(const std::string& address, int size) {
  auto stub = v1::ReplayService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = stub->Sample(&context);
  v1::SampleRequest request;
  request.set_table("transitions");
  request.set_batch_size(size);
  request.set_num_batches(1);
  v1::SampleResponse batch;
  EXPECT_TRUE(stream->Write(request) && stream->Read(&batch));
  stream->WritesDone();
  context.TryCancel();
  return batch;
}

TEST(PluginActorTest, Uint8ImagesTravelAsBytesFromThePluginThroughReplayToTheLearner) {
  // Camera-v0: uint8 [2, 4, 4]; step t with action a fills channel 0 with
  // t and channel 1 with 100 + 50 a, and pays a.
  const std::string config = WriteConfig(FaultyLibrary(), "Camera-v0", "camera", /*min_size_to_sample=*/200);
  absl::StatusOr<PluginRun> run = StartRun(config, /*with_evaluator=*/true);
  ASSERT_TRUE(run.ok()) << run.status();
  RoleProcess* replay = &run->replay;
  RoleProcess* learner = &run->learner;
  RoleProcess* actor = &run->actor;
  RoleProcess* evaluator = &*run->evaluator;
  // The learner trains on the images and the evaluator acts on them.
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(learner->Metrics(), "rill_learner_updates_total") >= 20; },
                        absl::Seconds(90)))
      << learner->process->LogTail(20);
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(evaluator->Metrics(), "rill_eval_rounds_total") >= 1; },
                        absl::Seconds(90)))
      << evaluator->process->LogTail(20);
  EXPECT_EQ(SumMetric(actor->Metrics(), "rill_actor_env_errors_total"), 0);

  // Replay holds the pixels as uint8, byte for byte as the env made them.
  const v1::SampleResponse batch = SampleBatch(replay->address(), 64);
  ASSERT_EQ(batch.keys_size(), 64);
  ASSERT_EQ(batch.columns_size(), 5);  // obs, action, reward, terminated, next_obs
  const v1::Tensor& obs = batch.columns(0);
  const v1::Tensor& action = batch.columns(1);
  const v1::Tensor& reward = batch.columns(2);
  const v1::Tensor& next_obs = batch.columns(4);
  for (const v1::Tensor* pixels : {&obs, &next_obs}) {
    EXPECT_EQ(pixels->dtype(), v1::DTYPE_UINT8);
    ASSERT_EQ(pixels->shape_size(), 2);
    EXPECT_EQ(pixels->shape(1), 32);
    ASSERT_EQ(pixels->data().size(), 64u * 32);
  }
  ASSERT_EQ(action.dtype(), v1::DTYPE_INT64);
  const auto* actions = reinterpret_cast<const int64_t*>(action.data().data());
  const auto* rewards = reinterpret_cast<const float*>(reward.data().data());
  for (int i = 0; i < 64; ++i) {
    const auto* next = reinterpret_cast<const uint8_t*>(next_obs.data().data()) + i * 32;
    EXPECT_EQ(rewards[i], static_cast<float>(actions[i])) << i;
    for (int k = 0; k < 16; ++k) ASSERT_EQ(next[k], next[0]) << "item " << i;
    EXPECT_TRUE(next[0] >= 1 && next[0] <= 10) << "item " << i << ": step " << int{next[0]};
    for (int k = 16; k < 32; ++k) ASSERT_EQ(next[k], 100 + 50 * actions[i]) << "item " << i << " pixel " << k;
  }
}

TEST(PluginActorTest, ALibraryThatCannotBeLoadedStopsTheActorNamingIt) {
  const std::string config = WriteConfig("/nonexistent/libgone.so", "Gone-v0", "missing");
  absl::StatusOr<std::unique_ptr<ChildProcess>> actor = ChildProcess::Start(
      "actor", RillBinary(), {"actor", "--config=" + config, "--replay_address=127.0.0.1:1", "--metrics_port=-1"},
      TempDir("plugin-missing-actor") + "/actor.log");
  ASSERT_TRUE(actor.ok()) << actor.status();
  ASSERT_TRUE((*actor)->WaitExit(absl::Seconds(60)).has_value());
  EXPECT_THAT((*actor)->LogTail(10), HasSubstr("env plugin /nonexistent/libgone.so: no such file"));
}

}  // namespace
}  // namespace rill::testing
