// Tests of videos (common/video_writer.h and its users): a written MP4
// decoded back to RGB frames by ffmpeg itself, the reader independent of
// the writer.
#ifndef RILL_COMMON_VIDEO_TESTING_H_
#define RILL_COMMON_VIDEO_TESTING_H_

#include <cstdint>
#include <string>
#include <vector>

namespace rill {

// The frames of the video at `path`, each `width` x `height` RGB (3 bytes a
// pixel, top row first; the padding of an odd size cropped off). Empty when
// ffmpeg cannot read it.
std::vector<std::vector<uint8_t>> DecodeVideo(const std::string& path, int width, int height);

}  // namespace rill

#endif  // RILL_COMMON_VIDEO_TESTING_H_
