// A run's TensorBoard event files, read back by a reader of this file's
// own, written against the published record format (length, masked
// CRC-32C of the length, data, masked CRC-32C of the data; the data an
// Event protobuf): nothing of Rill's writer or its .proto is used here.
#include <signal.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/scalar_log.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

// CRC-32C, bit by bit (reflected polynomial 0x82F63B78).
uint32_t Crc32c(const std::string& data) {
  uint32_t crc = ~0u;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

uint32_t Masked(const std::string& data) {
  const uint32_t crc = Crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

uint64_t Fixed(const std::string& bytes, size_t at, int width) {
  uint64_t value = 0;
  for (int i = 0; i < width; ++i) value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[at + i])) << (8 * i);
  return value;
}

// A protobuf message's fields: number -> each value's bytes (varints
// decoded into 8 little-endian bytes).
std::multimap<int, std::string> Fields(const std::string& message) {
  std::multimap<int, std::string> fields;
  size_t at = 0;
  auto varint = [&]() {
    uint64_t value = 0;
    for (int shift = 0; at < message.size(); shift += 7) {
      const uint8_t byte = static_cast<uint8_t>(message[at++]);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) break;
    }
    return value;
  };
  while (at < message.size()) {
    const uint64_t key = varint();
    const int number = static_cast<int>(key >> 3);
    switch (key & 7) {
      case 0: {
        const uint64_t value = varint();
        fields.emplace(number, std::string(reinterpret_cast<const char*>(&value), 8));
        break;
      }
      case 1:
        fields.emplace(number, message.substr(at, 8));
        at += 8;
        break;
      case 2: {
        const uint64_t length = varint();
        fields.emplace(number, message.substr(at, length));
        at += length;
        break;
      }
      case 5:
        fields.emplace(number, message.substr(at, 4));
        at += 4;
        break;
      default:
        ADD_FAILURE() << "wire type " << (key & 7) << " of field " << number;
        return fields;
    }
  }
  return fields;
}

struct Scalar {
  int64_t step = 0;
  double wall_time = 0;
  float value = 0;
};

struct EventFile {
  std::string version;
  std::map<std::string, std::vector<Scalar>> scalars;  // by tag
  int records = 0;
  size_t whole_bytes = 0;  // the bytes of its whole records
  size_t bytes = 0;
};

// Reads every whole record, checking both CRCs; stops at a torn one.
EventFile ReadEventFile(const std::string& path) {
  const std::string bytes = ReadFile(path);
  EventFile file;
  file.bytes = bytes.size();
  size_t at = 0;
  while (at + 12 <= bytes.size()) {
    const uint64_t length = Fixed(bytes, at, 8);
    EXPECT_EQ(Fixed(bytes, at + 8, 4), Masked(bytes.substr(at, 8))) << path << " at " << at;
    if (at + 12 + length + 4 > bytes.size()) break;
    const std::string data = bytes.substr(at + 12, length);
    EXPECT_EQ(Fixed(bytes, at + 12 + length, 4), Masked(data)) << path << " at " << at;
    const std::multimap<int, std::string> event = Fields(data);
    Scalar scalar;
    if (event.count(1) > 0) std::memcpy(&scalar.wall_time, event.find(1)->second.data(), 8);
    if (event.count(2) > 0) scalar.step = static_cast<int64_t>(Fixed(event.find(2)->second, 0, 8));
    if (event.count(3) > 0) file.version = event.find(3)->second;
    const auto summary = event.find(5);
    if (summary != event.end()) {
      for (const auto& [number, value] : Fields(summary->second)) {
        if (number != 1) continue;
        const std::multimap<int, std::string> fields = Fields(value);
        if (fields.count(1) == 0 || fields.count(2) == 0) {
          ADD_FAILURE() << "a value without a tag or simple_value in " << path;
          continue;
        }
        Scalar one = scalar;
        std::memcpy(&one.value, fields.find(2)->second.data(), 4);
        file.scalars[fields.find(1)->second].push_back(one);
      }
    }
    ++file.records;
    at += 12 + length + 4;
    file.whole_bytes = at;
  }
  return file;
}

std::vector<std::string> EventFiles(const std::string& run_dir) {
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir + "/tb", error)) {
    if (absl::StrContains(entry.path().filename().string(), "tfevents")) files.push_back(entry.path().string());
  }
  return files;
}

void KillEverythingOf(const std::string& run_dir) {
  ASSERT_TRUE(WaitUntil(
      [&] {
        bool any = false;
        for (const LiveProcess& process : ListLiveProcesses()) {
          if (!absl::StrContains(process.cmdline, run_dir)) continue;
          kill(process.pid, SIGKILL);
          any = true;
        }
        return !any;
      },
      absl::Seconds(30)));
}

TEST(TensorBoardTest, ARunsEventFileHoldsItsCurvesAtEnvSteps) {
  const std::string run_dir = TempDir("tb-run");
  auto launch = ChildProcess::Start("launch", RillBinary(),
                                    {"launch", "--config=tests/configs/tiny_pendulum.textpb", "--run_dir=" + run_dir,
                                     "--max_env_steps=2000", "--progress_every=1s"},
                                    run_dir + "-launch.log");
  ASSERT_TRUE(launch.ok()) << launch.status();
  std::optional<int> status = (*launch)->WaitExit(absl::Seconds(240));
  ASSERT_TRUE(status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*launch)->LogTail(30);

  const std::vector<std::string> files = EventFiles(run_dir);
  ASSERT_EQ(files.size(), 1u);
  const EventFile file = ReadEventFile(files[0]);
  EXPECT_EQ(file.version, "brain.Event:2");
  EXPECT_EQ(file.whole_bytes, file.bytes);
  // Every evaluation round, as the evaluator logged it, in order.
  const std::vector<std::map<std::string, double>> rounds = ReadScalarLog(run_dir + "/metrics/evaluator.jsonl");
  ASSERT_FALSE(rounds.empty());
  ASSERT_EQ(file.scalars.count("eval/return_mean"), 1u);
  const std::vector<Scalar>& returns = file.scalars.at("eval/return_mean");
  ASSERT_EQ(returns.size(), rounds.size());
  for (size_t i = 0; i < rounds.size(); ++i) {
    EXPECT_EQ(returns[i].value, static_cast<float>(rounds[i].at("return_mean"))) << i;
    EXPECT_NEAR(returns[i].wall_time, rounds[i].at("time"), 1e-3) << i;
    if (i > 0) EXPECT_GE(returns[i].step, returns[i - 1].step) << i;
  }
  // The learner's losses, one value per logged line.
  size_t critic_lines = 0;
  for (const auto& line : ReadScalarLog(run_dir + "/metrics/learner.jsonl")) critic_lines += line.count("loss/critic");
  ASSERT_GT(critic_lines, 0u);
  ASSERT_EQ(file.scalars.count("learner/loss/critic"), 1u);
  EXPECT_EQ(file.scalars.at("learner/loss/critic").size(), critic_lines);
  // Throughput at each progress line, the actors' episodes.
  ASSERT_EQ(file.scalars.count("throughput/env_steps_per_second"), 1u);
  EXPECT_EQ(file.scalars.count("train/return"), 1u);
  // Steps are the run's env steps.
  for (const auto& [tag, scalars] : file.scalars) {
    for (const Scalar& scalar : scalars) {
      EXPECT_GE(scalar.step, 0) << tag;
      EXPECT_LE(scalar.step, 2000) << tag;
    }
  }
  EXPECT_EQ(file.scalars.at("throughput/env_steps_per_second").back().step, 2000);
}

TEST(TensorBoardTest, AKilledLauncherLeavesOnlyWholeRecords) {
  const std::string run_dir = TempDir("tb-killed");
  auto launch = ChildProcess::Start("launch", RillBinary(),
                                    {"launch", "--config=tests/configs/tiny_pendulum.textpb", "--run_dir=" + run_dir,
                                     "--max_env_steps=10000000", "--progress_every=0.25s"},
                                    run_dir + "-launch.log");
  ASSERT_TRUE(launch.ok()) << launch.status();
  ASSERT_TRUE(WaitUntil(
      [&] {
        const std::vector<std::string> files = EventFiles(run_dir);
        return !files.empty() && ReadEventFile(files[0]).scalars["throughput/env_steps_per_second"].size() >= 8;
      },
      absl::Seconds(120)))
      << (*launch)->LogTail(20);
  (*launch)->Kill();
  KillEverythingOf(run_dir);
  const std::vector<std::string> files = EventFiles(run_dir);
  ASSERT_EQ(files.size(), 1u);
  const EventFile file = ReadEventFile(files[0]);
  EXPECT_EQ(file.version, "brain.Event:2");
  EXPECT_GE(file.records, 9);
  EXPECT_EQ(file.whole_bytes, file.bytes) << "a torn record at the end";
}

}  // namespace
}  // namespace rill::testing
