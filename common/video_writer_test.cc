#include "common/video_writer.h"

#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/video_testing.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

std::string TempFolder() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string folder = absl::StrCat(base != nullptr ? base : "/tmp", "/video_XXXXXX");
  return mkdtemp(folder.data());
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// `rgb` frames of width x height, each filled with one colour: frame i is
// colours[i % colours.size()].
void WriteSolidFrames(VideoWriter& writer, int width, int height, const std::vector<std::vector<uint8_t>>& colours,
                      int frames) {
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  for (int i = 0; i < frames; ++i) {
    const std::vector<uint8_t>& colour = colours[i % colours.size()];
    for (size_t p = 0; p < rgb.size(); p += 3) {
      rgb[p] = colour[0];
      rgb[p + 1] = colour[1];
      rgb[p + 2] = colour[2];
    }
    ASSERT_TRUE(writer.WriteFrame(rgb.data()).ok());
  }
}

double MeanOf(const std::vector<uint8_t>& frame, int channel) {
  double sum = 0;
  for (size_t p = channel; p < frame.size(); p += 3) sum += frame[p];
  return sum / (frame.size() / 3);
}

TEST(VideoWriterTest, WritesAnMp4WhoseFramesDecodeToWhatWasWritten) {
  const std::string path = TempFolder() + "/episode.mp4";
  auto writer = VideoWriter::Open(path, 64, 48, 30);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const std::vector<std::vector<uint8_t>> colours = {{220, 30, 30}, {30, 200, 40}, {20, 40, 230}};
  WriteSolidFrames(**writer, 64, 48, colours, 30);
  EXPECT_FALSE(Exists(path)) << "the video appears under its name only once finished";
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ((*writer)->frames(), 30);
  ASSERT_TRUE(Exists(path));
  EXPECT_FALSE(Exists(path + ".partial"));
  EXPECT_FALSE(Exists(path + ".ffmpeg.log"));

  std::ifstream in(path, std::ios::binary);
  char head[12] = {};
  in.read(head, sizeof(head));
  EXPECT_EQ(std::string(head + 4, 4), "ftyp") << "an MP4 starts with its ftyp box";

  const std::vector<std::vector<uint8_t>> frames = DecodeVideo(path, 64, 48);
  ASSERT_EQ(frames.size(), 30u);
  for (size_t i = 0; i < frames.size(); ++i) {
    const std::vector<uint8_t>& colour = colours[i % colours.size()];
    for (int channel = 0; channel < 3; ++channel) {
      EXPECT_NEAR(MeanOf(frames[i], channel), colour[channel], 12) << "frame " << i << " channel " << channel;
    }
  }
}

TEST(VideoWriterTest, AnOddSizeIsPaddedAndStillDecodes) {
  const std::string path = TempFolder() + "/odd.mp4";
  auto writer = VideoWriter::Open(path, 85, 63, 20);
  ASSERT_TRUE(writer.ok()) << writer.status();
  WriteSolidFrames(**writer, 85, 63, {{200, 200, 200}}, 5);
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ(DecodeVideo(path, 85, 63).size(), 5u);
}

TEST(VideoWriterTest, AnAbandonedVideoLeavesNoFiles) {
  const std::string folder = TempFolder();
  const std::string path = folder + "/abandoned.mp4";
  {
    auto writer = VideoWriter::Open(path, 32, 32, 30);
    ASSERT_TRUE(writer.ok()) << writer.status();
    WriteSolidFrames(**writer, 32, 32, {{1, 2, 3}}, 3);
  }
  EXPECT_FALSE(Exists(path));
  EXPECT_FALSE(Exists(path + ".partial"));
  EXPECT_FALSE(Exists(path + ".ffmpeg.log"));
}

TEST(VideoWriterTest, AVideoOfNoFramesIsRefusedAndNotWritten) {
  const std::string path = TempFolder() + "/empty.mp4";
  auto writer = VideoWriter::Open(path, 32, 32, 30);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const absl::Status finished = (*writer)->Finish();
  EXPECT_EQ(finished.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(finished.message().find("no frames"), std::string::npos) << finished;
  EXPECT_FALSE(Exists(path));
  EXPECT_EQ((*writer)->Finish().code(), absl::StatusCode::kFailedPrecondition) << "a second Finish";
}

TEST(VideoWriterTest, BadSizesRatesAndFoldersAreRefusedByName) {
  const std::string folder = TempFolder();
  EXPECT_EQ(VideoWriter::Open(folder + "/a.mp4", 0, 10, 30).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VideoWriter::Open(folder + "/a.mp4", 10, 9000, 30).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VideoWriter::Open(folder + "/a.mp4", 10, 10, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VideoWriter::Open("", 10, 10, 30).status().code(), absl::StatusCode::kInvalidArgument);
  const absl::Status no_folder = VideoWriter::Open(folder + "/missing/a.mp4", 10, 10, 30).status();
  EXPECT_EQ(no_folder.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(no_folder.message().find("does not exist"), std::string::npos) << no_folder;
}

TEST(VideoWriterTest, AMissingFfmpegIsNamedWithItsPackage) {
  setenv("RILL_FFMPEG", "/nonexistent/ffmpeg", 1);
  const absl::Status available = VideoWriter::CheckAvailable();
  const absl::Status opened = VideoWriter::Open(TempFolder() + "/a.mp4", 10, 10, 30).status();
  unsetenv("RILL_FFMPEG");
  EXPECT_EQ(available.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(available.message().find("ffmpeg package"), std::string::npos) << available;
  EXPECT_EQ(opened.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(VideoWriterTest, AnFfmpegThatDiesIsReportedWithItsOutput) {
  // A stand-in that reads nothing and fails at once: the writer sees EPIPE
  // (or the failed exit at Finish) and names it, without SIGPIPE.
  const std::string folder = TempFolder();
  const std::string fake = folder + "/fake_ffmpeg";
  {
    std::ofstream script(fake);
    script << "#!/bin/sh\necho 'fake encoder gives up' >&2\nexit 3\n";
  }
  chmod(fake.c_str(), 0755);
  setenv("RILL_FFMPEG", fake.c_str(), 1);
  auto writer = VideoWriter::Open(folder + "/dies.mp4", 256, 256, 30);
  unsetenv("RILL_FFMPEG");
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::vector<uint8_t> frame(256 * 256 * 3, 7);
  absl::Status status = absl::OkStatus();
  for (int i = 0; i < 100 && status.ok(); ++i) status = (*writer)->WriteFrame(frame.data());
  if (status.ok()) status = (*writer)->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("fake encoder gives up"), std::string::npos) << status;
  EXPECT_FALSE(Exists(folder + "/dies.mp4"));
}

}  // namespace
}  // namespace rill
