#include "common/event_file.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "proto/tensorboard.pb.h"

namespace rill {
namespace {

constexpr char kFileVersion[] = "brain.Event:2";

std::array<uint32_t, 256> Crc32cTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    table[i] = crc;
  }
  return table;
}

void PutLittleEndian(uint64_t value, int bytes, std::string& out) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::string Hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

uint32_t Crc32c(absl::string_view data) {
  static const std::array<uint32_t, 256> table = Crc32cTable();
  uint32_t crc = 0xFFFFFFFFu;
  for (const char c : data) crc = table[(crc ^ static_cast<uint8_t>(c)) & 0xff] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t MaskedCrc32c(absl::string_view data) {
  const uint32_t crc = Crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

absl::StatusOr<std::unique_ptr<EventFileWriter>> EventFileWriter::Create(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::PermissionDeniedError(absl::StrCat("cannot create '", dir, "': ", error.message()));
  // The pid and a count keep two writers' files apart, whenever they start.
  static std::atomic<int> made{0};
  const std::string path = absl::StrCat(dir, "/events.out.tfevents.", absl::ToUnixSeconds(absl::Now()), ".",
                                        Hostname(), ".", getpid(), ".", made.fetch_add(1));
  std::FILE* file = std::fopen(path.c_str(), "ab");
  if (file == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("cannot open '", path, "': ", std::strerror(errno)));
  }
  std::unique_ptr<EventFileWriter> writer(new EventFileWriter(path, file));
  tensorboard::Event event;
  event.set_wall_time(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
  event.set_file_version(kFileVersion);
  absl::Status written = writer->WriteRecord(event.SerializeAsString());
  if (!written.ok()) return written;
  return writer;
}

EventFileWriter::~EventFileWriter() { std::fclose(file_); }

absl::Status EventFileWriter::WriteScalars(int64_t step, absl::Time when,
                                           const std::vector<std::pair<std::string, double>>& values) {
  tensorboard::Event event;
  event.set_wall_time(absl::ToDoubleSeconds(when - absl::UnixEpoch()));
  event.set_step(step);
  for (const auto& [tag, value] : values) {
    if (!std::isfinite(value)) continue;
    tensorboard::SummaryValue* scalar = event.mutable_summary()->add_value();
    scalar->set_tag(tag);
    scalar->set_simple_value(static_cast<float>(value));
  }
  if (!event.has_summary()) return absl::OkStatus();
  return WriteRecord(event.SerializeAsString());
}

absl::Status EventFileWriter::WriteRecord(const std::string& data) {
  std::string record;
  record.reserve(data.size() + 16);
  PutLittleEndian(data.size(), 8, record);
  PutLittleEndian(MaskedCrc32c(record), 4, record);
  record += data;
  PutLittleEndian(MaskedCrc32c(data), 4, record);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() || std::fflush(file_) != 0) {
    return absl::DataLossError(absl::StrCat("cannot write to '", path_, "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace rill
