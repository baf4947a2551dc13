#include "common/event_file.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proto/tensorboard.pb.h"

namespace rill {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

uint64_t LittleEndian(const std::string& bytes, size_t at, int width) {
  uint64_t value = 0;
  for (int i = 0; i < width; ++i) value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[at + i])) << (8 * i);
  return value;
}

// The records of an event file, each checked against its two CRCs.
std::vector<tensorboard::Event> Records(const std::string& bytes) {
  std::vector<tensorboard::Event> events;
  size_t at = 0;
  while (at < bytes.size()) {
    const uint64_t length = LittleEndian(bytes, at, 8);
    EXPECT_EQ(LittleEndian(bytes, at + 8, 4), MaskedCrc32c(bytes.substr(at, 8)));
    const std::string data = bytes.substr(at + 12, length);
    EXPECT_EQ(LittleEndian(bytes, at + 12 + length, 4), MaskedCrc32c(data));
    tensorboard::Event event;
    EXPECT_TRUE(event.ParseFromString(data));
    events.push_back(event);
    at += 12 + length + 4;
  }
  EXPECT_EQ(at, bytes.size());
  return events;
}

TEST(Crc32cTest, MatchesTheCastagnoliCheckValues) {
  // The standard check value of CRC-32C, and RFC 3720's 32 zero bytes.
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(""), 0u);
  const uint32_t crc = Crc32c("123456789");
  EXPECT_EQ(MaskedCrc32c("123456789"), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

TEST(EventFileWriterTest, WritesTheVersionThenOneEventPerCallWithItsScalars) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/events";
  absl::StatusOr<std::unique_ptr<EventFileWriter>> writer = EventFileWriter::Create(dir + "/tb");
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_NE(std::filesystem::path((*writer)->path()).filename().string().find("events.out.tfevents."),
            std::string::npos);
  const absl::Time when = absl::FromUnixSeconds(1800000000);
  ASSERT_TRUE((*writer)->WriteScalars(1200, when, {{"eval/return_mean", -150.25}, {"learner/loss/critic", 0.0}}).ok());
  // A non-finite value is left out; an event of none is not written.
  ASSERT_TRUE((*writer)->WriteScalars(1400, when, {{"a", std::nan("")}, {"b", 2.5}}).ok());
  ASSERT_TRUE((*writer)->WriteScalars(1600, when, {{"a", INFINITY}}).ok());

  const std::vector<tensorboard::Event> events = Records(ReadAll((*writer)->path()));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_EQ(events[1].step(), 1200);
  EXPECT_EQ(events[1].wall_time(), 1800000000.0);
  ASSERT_EQ(events[1].summary().value_size(), 2);
  EXPECT_EQ(events[1].summary().value(0).tag(), "eval/return_mean");
  EXPECT_EQ(events[1].summary().value(0).simple_value(), -150.25f);
  // 0.0 is written, not left out as a proto3 default.
  EXPECT_EQ(events[1].summary().value(1).value_case(), tensorboard::SummaryValue::kSimpleValue);
  ASSERT_EQ(events[2].summary().value_size(), 1);
  EXPECT_EQ(events[2].summary().value(0).tag(), "b");
}

TEST(EventFileWriterTest, AFolderThatCannotBeMadeIsNamed) {
  const std::string file = std::string(std::getenv("TEST_TMPDIR")) + "/plain-file";
  std::ofstream(file) << "x";
  absl::StatusOr<std::unique_ptr<EventFileWriter>> writer = EventFileWriter::Create(file + "/tb");
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.status().message().find(file + "/tb"), std::string::npos) << writer.status();
}

}  // namespace
}  // namespace rill
