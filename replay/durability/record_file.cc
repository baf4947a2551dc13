#include "replay/durability/record_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "replay/durability/crc32c.h"

namespace rill::replay {
namespace {

absl::Status ErrnoError(const std::string& action, const std::string& what) {
  const int err = errno;
  return absl::InternalError(absl::StrCat("cannot ", action, " '", what, "': ", std::strerror(err)));
}

uint32_t RecordCrc(uint32_t length, const char* payload) {
  return Crc32c(payload, length, Crc32c(&length, sizeof(length)));
}

}  // namespace

void SealRecord(std::string* buffer) {
  const uint32_t length = static_cast<uint32_t>(buffer->size() - kRecordHeaderBytes);
  const uint32_t crc = RecordCrc(length, buffer->data() + kRecordHeaderBytes);
  std::memcpy(buffer->data(), &length, 4);
  std::memcpy(buffer->data() + 4, &crc, 4);
}

absl::Status WriteAll(int fd, const void* data, size_t size, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write", what);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SyncFile(int fd, const std::string& what) {
  if (::fdatasync(fd) != 0) return ErrnoError("sync", what);
  return absl::OkStatus();
}

absl::Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open folder", dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    errno = err;
    return ErrnoError("sync folder", dir);
  }
  return absl::OkStatus();
}

absl::StatusOr<RecordWriter> RecordWriter::Create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("create", path);
  return RecordWriter(fd, path);
}

RecordWriter::RecordWriter(RecordWriter&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      bytes_written_(other.bytes_written_) {}

RecordWriter& RecordWriter::operator=(RecordWriter&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    bytes_written_ = other.bytes_written_;
  }
  return *this;
}

RecordWriter::~RecordWriter() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status RecordWriter::Write(std::string_view payload) {
  if (payload.size() > kMaxRecordBytes) {
    return absl::InvalidArgumentError(absl::StrCat("record of ", payload.size(), " bytes for '", path_,
                                                   "' exceeds ", kMaxRecordBytes));
  }
  const uint32_t length = static_cast<uint32_t>(payload.size());
  const uint32_t crc = RecordCrc(length, payload.data());
  char header[kRecordHeaderBytes];
  std::memcpy(header, &length, 4);
  std::memcpy(header + 4, &crc, 4);
  if (auto st = WriteAll(fd_, header, sizeof(header), path_); !st.ok()) return st;
  if (auto st = WriteAll(fd_, payload.data(), payload.size(), path_); !st.ok()) return st;
  bytes_written_ += static_cast<int64_t>(sizeof(header) + payload.size());
  return absl::OkStatus();
}

absl::Status RecordWriter::SyncAndClose() {
  absl::Status st = SyncFile(fd_, path_);
  if (::close(fd_) != 0 && st.ok()) st = ErrnoError("close", path_);
  fd_ = -1;
  return st;
}

absl::StatusOr<RecordReader> RecordReader::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no file '", path, "'"));
    return ErrnoError("open", path);
  }
  return RecordReader(fd, path);
}

RecordReader::RecordReader(RecordReader&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), offset_(other.offset_) {}

RecordReader& RecordReader::operator=(RecordReader&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    offset_ = other.offset_;
  }
  return *this;
}

RecordReader::~RecordReader() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<size_t> RecordReader::ReadUpTo(void* data, size_t size) {
  char* p = static_cast<char*>(data);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd_, p + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read", path_);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::Status RecordReader::Next(std::string* payload) {
  char header[kRecordHeaderBytes];
  absl::StatusOr<size_t> got = ReadUpTo(header, sizeof(header));
  if (!got.ok()) return got.status();
  if (*got == 0) return absl::OutOfRangeError(absl::StrCat("end of '", path_, "'"));
  if (*got < sizeof(header)) {
    return absl::DataLossError(absl::StrCat("'", path_, "' ends inside a record header at offset ", offset_));
  }
  uint32_t length, crc;
  std::memcpy(&length, header, 4);
  std::memcpy(&crc, header + 4, 4);
  if (length > kMaxRecordBytes) {
    return absl::DataLossError(absl::StrCat("'", path_, "': record at offset ", offset_, " claims ", length,
                                            " bytes (corrupt length)"));
  }
  payload->resize(length);
  got = ReadUpTo(payload->data(), length);
  if (!got.ok()) return got.status();
  if (*got < length) {
    return absl::DataLossError(absl::StrCat("'", path_, "' ends inside the record at offset ", offset_, " (",
                                            *got, " of ", length, " bytes): torn write"));
  }
  if (RecordCrc(length, payload->data()) != crc) {
    return absl::DataLossError(absl::StrCat("'", path_, "': checksum mismatch in the record at offset ", offset_));
  }
  offset_ += static_cast<int64_t>(sizeof(header) + length);
  return absl::OkStatus();
}

}  // namespace rill::replay
