// What the render tests share: a checksum that pins an image's bytes, and a
// PPM copy of an image among the test's outputs, so a person can look at
// what an env draws:
//
//   bazel test //envs/classic:render_test
//   ls bazel-testlogs/envs/classic/render_test/test.outputs/
//
// (PPM needs no library; `python3 -c "from PIL import Image;
// Image.open('x.ppm').save('x.png')"` converts one.)
#ifndef RILL_ENVS_RENDER_TEST_UTIL_H_
#define RILL_ENVS_RENDER_TEST_UTIL_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"

namespace rill::envs::render {

// 64-bit FNV-1a of `bytes`.
inline uint64_t Fnv1a(absl::Span<const uint8_t> bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (uint8_t byte : bytes) {
    hash ^= byte;
    hash *= 1099511628211ull;
  }
  return hash;
}

// Writes the image (`height` rows of `width` RGB pixels) as binary PPM to
// $TEST_UNDECLARED_OUTPUTS_DIR/`name`.ppm; does nothing outside `bazel
// test`, where that variable is unset. Returns false when the file could
// not be written.
inline bool WritePpmToTestOutputs(const std::string& name, int width, int height, const uint8_t* rgb) {
  const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  if (dir == nullptr) return true;
  const std::string path = absl::StrCat(dir, "/", name, ".ppm");
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return false;
  const std::string header = absl::StrCat("P6\n", width, " ", height, "\n255\n");
  const size_t bytes = static_cast<size_t>(width) * height * 3;
  const bool ok = std::fwrite(header.data(), 1, header.size(), file) == header.size() &&
                  std::fwrite(rgb, 1, bytes, file) == bytes;
  return std::fclose(file) == 0 && ok;
}

}  // namespace rill::envs::render

#endif  // RILL_ENVS_RENDER_TEST_UTIL_H_
