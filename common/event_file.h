// Writes TensorBoard event files: `tensorboard --logdir DIR` draws the
// scalars a writer appends, each at its step.
//
// The file is TensorBoard's record format: each record is its length
// (uint64, little-endian), the masked CRC32C of those 8 bytes, the data,
// and the masked CRC32C of the data; the data is an Event protobuf
// (proto/tensorboard.proto). The first record names the format version.
// Each record goes out in one write and is flushed, so a writer killed
// at any point leaves whole records behind it (and at worst one torn last
// record, which readers drop by its length or CRC).
//
// `rill launch` writes <run_dir>/tb/ through one (cli/run_tensorboard.h).
// Not thread-safe: one owner appends.
#ifndef RILL_COMMON_EVENT_FILE_H_
#define RILL_COMMON_EVENT_FILE_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rill {

class EventFileWriter {
 public:
  // Creates `dir` and in it a new file named as TensorBoard looks for them,
  // events.out.tfevents.<unix seconds>.<host>.<pid>.<n>, holding the version
  // record. PermissionDenied when it cannot be created.
  static absl::StatusOr<std::unique_ptr<EventFileWriter>> Create(const std::string& dir);
  ~EventFileWriter();

  // One Event at `step` and `when` with a scalar per (tag, value). Values
  // are stored as float32, as TensorBoard's scalars are; a non-finite one
  // is left out. Nothing to write (no finite value) writes nothing.
  // DataLoss when the write fails.
  absl::Status WriteScalars(int64_t step, absl::Time when,
                            const std::vector<std::pair<std::string, double>>& values);

  const std::string& path() const { return path_; }

 private:
  EventFileWriter(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  absl::Status WriteRecord(const std::string& data);

  const std::string path_;
  std::FILE* file_;
};

// CRC-32C (Castagnoli) of `data`, and its masked form as the record
// format stores it: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t Crc32c(absl::string_view data);
uint32_t MaskedCrc32c(absl::string_view data);

}  // namespace rill

#endif  // RILL_COMMON_EVENT_FILE_H_
