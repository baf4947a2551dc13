#include "cli/run_tensorboard.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/scalar_log.h"
#include "proto/tensorboard.pb.h"

namespace rill::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// The events of an event file (common/event_file_test.cc checks the CRCs).
std::vector<tensorboard::Event> Events(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  std::vector<tensorboard::Event> events;
  for (size_t at = 0; at + 12 <= bytes.size();) {
    uint64_t length = 0;
    for (int i = 0; i < 8; ++i) length |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[at + i])) << (8 * i);
    tensorboard::Event event;
    EXPECT_TRUE(event.ParseFromString(bytes.substr(at + 12, length)));
    events.push_back(event);
    at += 12 + length + 4;
  }
  return events;
}

std::string RunDir(const std::string& name) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::filesystem::create_directories(dir + "/metrics");
  return dir;
}

TEST(TensorBoardScalarsTest, TagsNameTheProcessAndLeaveOutWhatIsNoCurve) {
  EXPECT_THAT(TensorBoardScalars("learner", {{"time", 1}, {"loss/critic", 0.5}, {"alpha", 0.2}}),
              ElementsAre(Pair("learner/alpha", 0.2), Pair("learner/loss/critic", 0.5)));
  EXPECT_THAT(TensorBoardScalars("learner.red", {{"time", 1}, {"loss/actor", -3}}),
              ElementsAre(Pair("learner.red/loss/actor", -3)));
  EXPECT_THAT(TensorBoardScalars("evaluator", {{"time", 1}, {"return_mean", -150}}),
              ElementsAre(Pair("eval/return_mean", -150)));
  EXPECT_THAT(TensorBoardScalars("actor-3", {{"time", 1}, {"env_steps", 400}, {"return", -900}, {"length", 200},
                                             {"episode", 2}, {"parameter_version", 7}}),
              ElementsAre(Pair("train/return", -900), Pair("train/length", 200)));
}

TEST(RunTensorBoardTest, EachNewLineOfTheScalarLogsBecomesOneEventAtTheRunsEnvSteps) {
  const std::string run_dir = RunDir("new-lines");
  absl::StatusOr<std::unique_ptr<ScalarLog>> learner = ScalarLog::Open(run_dir + "/metrics/learner.jsonl");
  ASSERT_TRUE(learner.ok());
  (*learner)->Append({{"loss/critic", 0.5}}, absl::FromUnixSeconds(1000));
  absl::StatusOr<std::unique_ptr<RunTensorBoard>> board = RunTensorBoard::Open(run_dir, /*resumed=*/false);
  ASSERT_TRUE(board.ok()) << board.status();
  // Env steps at a time: 100 per second.
  const auto step_at = [](absl::Time when) { return absl::ToUnixSeconds(when) * 100; };
  (*board)->TakeScalarLogs(step_at);
  (*board)->AddProgress(100500, absl::FromUnixSeconds(1005), 210.5, 200.25);
  (*learner)->Append({{"loss/critic", 0.25}}, absl::FromUnixSeconds(1010));
  (*board)->TakeScalarLogs(step_at);
  (*board)->TakeScalarLogs(step_at);  // nothing new

  const std::vector<tensorboard::Event> events = Events((*board)->path());
  ASSERT_EQ(events.size(), 4u);  // the version, then three
  EXPECT_EQ(events[1].step(), 100000);
  EXPECT_EQ(events[1].summary().value(0).tag(), "learner/loss/critic");
  EXPECT_EQ(events[1].summary().value(0).simple_value(), 0.5f);
  EXPECT_EQ(events[2].step(), 100500);
  EXPECT_EQ(events[2].summary().value(0).tag(), "throughput/env_steps_per_second");
  EXPECT_EQ(events[3].step(), 101000);
  EXPECT_EQ(events[3].summary().value(0).simple_value(), 0.25f);
}

TEST(RunTensorBoardTest, AResumedRunWritesANewFileFromTheEndOfEachLog) {
  const std::string run_dir = RunDir("resumed");
  absl::StatusOr<std::unique_ptr<ScalarLog>> eval = ScalarLog::Open(run_dir + "/metrics/evaluator.jsonl");
  ASSERT_TRUE(eval.ok());
  (*eval)->Append({{"return_mean", -1200}}, absl::FromUnixSeconds(1000));
  absl::StatusOr<std::unique_ptr<RunTensorBoard>> first = RunTensorBoard::Open(run_dir, false);
  ASSERT_TRUE(first.ok());
  const auto step_at = [](absl::Time when) { return absl::ToUnixSeconds(when) - 1000; };
  (*first)->TakeScalarLogs(step_at);
  (*eval)->Append({{"return_mean", -300}}, absl::FromUnixSeconds(1100));
  absl::StatusOr<std::unique_ptr<RunTensorBoard>> second = RunTensorBoard::Open(run_dir, true);
  ASSERT_TRUE(second.ok());
  // A new file (even within the same second).
  EXPECT_NE((*second)->path(), (*first)->path());
  (*eval)->Append({{"return_mean", -150}}, absl::FromUnixSeconds(1200));
  (*second)->TakeScalarLogs(step_at);
  const std::vector<tensorboard::Event> events = Events((*second)->path());
  ASSERT_EQ(events.size(), 2u);  // the line written before the resume is not taken again
  EXPECT_EQ(events[1].summary().value(0).tag(), "eval/return_mean");
  EXPECT_EQ(events[1].summary().value(0).simple_value(), -150.0f);
  EXPECT_EQ(events[1].step(), 200);
}

}  // namespace
}  // namespace rill::cli
