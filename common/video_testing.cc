#include "common/video_testing.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/video_writer.h"

namespace rill {

std::vector<std::vector<uint8_t>> DecodeVideo(const std::string& path, int width, int height) {
  // Converted to RGB before the crop: a crop in yuv420p would round odd
  // sizes down.
  const std::string command =
      absl::StrCat(VideoWriter::FfmpegProgram(), " -loglevel error -i '", path,
                   "' -f rawvideo -pix_fmt rgb24 -vf format=rgb24,crop=", width, ":", height, ":0:0 pipe:1");
  std::vector<std::vector<uint8_t>> frames;
  FILE* decoder = popen(command.c_str(), "r");
  if (decoder == nullptr) return frames;
  std::vector<uint8_t> frame(static_cast<size_t>(width) * height * 3);
  while (fread(frame.data(), 1, frame.size(), decoder) == frame.size()) frames.push_back(frame);
  pclose(decoder);
  return frames;
}

}  // namespace rill
