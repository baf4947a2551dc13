// Framed records on disk, the unit of checkpoint files (checkpoint.h) and
// of write-ahead-log segments of format 1 (wal_format.h; format 2 frames its
// records itself): each record is
//   [u32 payload length][u32 CRC-32C of length and payload][payload]
// in little-endian, so a reader tells a complete record from a torn or
// corrupted one. Plus the few POSIX file helpers both need (write all,
// fdatasync, fsync of a folder so that a rename or a new file is durable).
//
// Thread-compatible: one thread uses a writer or reader at a time.
#ifndef RILL_REPLAY_DURABILITY_RECORD_FILE_H_
#define RILL_REPLAY_DURABILITY_RECORD_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rill::replay {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "record files are written little-endian");

// Bytes before each record's payload.
inline constexpr size_t kRecordHeaderBytes = 8;
// Longest payload a reader accepts: a longer length field is corruption.
inline constexpr uint32_t kMaxRecordBytes = 1u << 30;

// `buffer` holds kRecordHeaderBytes placeholder bytes followed by the
// payload; fills in the header. Lets a caller serialize straight into the
// buffer that is written, without a copy.
void SealRecord(std::string* buffer);

// Writes all of `data` to `fd`, retrying short writes and EINTR. Internal
// naming `what` (a path) on an error.
absl::Status WriteAll(int fd, const void* data, size_t size, const std::string& what);
// fdatasync / fsync of a folder (to make the entries in it durable).
absl::Status SyncFile(int fd, const std::string& what);
absl::Status SyncDir(const std::string& dir);

// Creates `path` (truncating it) and appends records to it.
class RecordWriter {
 public:
  static absl::StatusOr<RecordWriter> Create(const std::string& path);
  RecordWriter(RecordWriter&& other) noexcept;
  RecordWriter& operator=(RecordWriter&& other) noexcept;
  RecordWriter(const RecordWriter&) = delete;
  ~RecordWriter();  // closes without syncing

  // Appends one record (copies the payload once into an internal buffer).
  absl::Status Write(std::string_view payload);
  // fdatasync, then close. Internal on an I/O error.
  absl::Status SyncAndClose();
  int64_t bytes_written() const { return bytes_written_; }

 private:
  RecordWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
  std::string buffer_;
  int64_t bytes_written_ = 0;
};

// Reads the records of `path` in order.
class RecordReader {
 public:
  // NotFound / Internal when the file cannot be opened.
  static absl::StatusOr<RecordReader> Open(const std::string& path);
  RecordReader(RecordReader&& other) noexcept;
  RecordReader& operator=(RecordReader&& other) noexcept;
  RecordReader(const RecordReader&) = delete;
  ~RecordReader();

  // The next record's payload into `payload`. OutOfRange at a clean end of
  // the file; DataLoss naming the file and offset for a torn record (the
  // file ends inside it) or a checksum mismatch; Internal for a read error.
  absl::Status Next(std::string* payload);
  // Offset of the next record: after a DataLoss, where the good records end.
  int64_t offset() const { return offset_; }

 private:
  RecordReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  // Reads exactly `size` bytes; the count read when the file ends first.
  absl::StatusOr<size_t> ReadUpTo(void* data, size_t size);
  int fd_ = -1;
  std::string path_;
  int64_t offset_ = 0;
};

}  // namespace rill::replay

#endif  // RILL_REPLAY_DURABILITY_RECORD_FILE_H_
