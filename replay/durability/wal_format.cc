#include "replay/durability/wal_format.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "replay/durability/crc32c.h"

namespace rill::replay {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "write-ahead logs are written little-endian");

constexpr char kSegmentMagic[8] = {'R', 'I', 'L', 'L', 'W', 'A', 'L', 'S'};
constexpr char kSegmentPrefix[] = "wal-";
constexpr char kSegmentSuffix[] = ".log";

template <typename T>
void Put(char* out, size_t offset, T value) {
  std::memcpy(out + offset, &value, sizeof(T));
}

template <typename T>
T Get(const char* data, size_t offset) {
  T value;
  std::memcpy(&value, data + offset, sizeof(T));
  return value;
}

}  // namespace

std::string EncodeWalSegmentHeader(const WalPosition& start) {
  std::string header(kWalSegmentHeaderBytes, '\0');
  std::memcpy(header.data(), kSegmentMagic, sizeof(kSegmentMagic));
  Put<uint32_t>(header.data(), 8, kWalFormatVersion);
  Put<uint32_t>(header.data(), 12, 0);
  Put<uint64_t>(header.data(), 16, start.sequence);
  Put<uint64_t>(header.data(), 24, start.item);
  Put<uint32_t>(header.data(), 32, Crc32c(header.data(), 32));
  return header;
}

bool DecodeWalSegmentHeader(const char* data, size_t size, WalPosition* start) {
  if (size < kWalSegmentHeaderBytes || std::memcmp(data, kSegmentMagic, sizeof(kSegmentMagic)) != 0) return false;
  if (Get<uint32_t>(data, 32) != Crc32c(data, 32) || Get<uint32_t>(data, 8) != kWalFormatVersion) return false;
  start->sequence = Get<uint64_t>(data, 16);
  start->item = Get<uint64_t>(data, 24);
  return true;
}

void EncodeWalRecordHeader(const WalRecordHeader& header, char* out) {
  Put<uint32_t>(out, 0, kWalRecordMagic);
  Put<uint32_t>(out, 4, header.length);
  Put<uint64_t>(out, 8, header.sequence);
  Put<uint64_t>(out, 16, header.first_item);
  Put<uint32_t>(out, 24, header.items);
  Put<uint32_t>(out, 28, header.group_offset);
  Put<uint32_t>(out, 32, header.payload_crc);
  Put<uint32_t>(out, 36, Crc32c(out, 36));
}

bool DecodeWalRecordHeader(const char* data, size_t size, WalRecordHeader* header) {
  if (size < kWalRecordHeaderBytes || Get<uint32_t>(data, 0) != kWalRecordMagic) return false;
  if (Get<uint32_t>(data, 36) != Crc32c(data, 36)) return false;
  header->length = Get<uint32_t>(data, 4);
  header->sequence = Get<uint64_t>(data, 8);
  header->first_item = Get<uint64_t>(data, 16);
  header->items = Get<uint32_t>(data, 24);
  header->group_offset = Get<uint32_t>(data, 28);
  header->payload_crc = Get<uint32_t>(data, 32);
  return true;
}

std::string WalSegmentPath(const std::string& dir, uint64_t segment) {
  char name[48];
  std::snprintf(name, sizeof(name), "%s%016llu%s", kSegmentPrefix, static_cast<unsigned long long>(segment),
                kSegmentSuffix);
  return absl::StrCat(dir, "/", name);
}

std::vector<uint64_t> ListWalSegments(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<uint64_t> segments;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    const size_t prefix = sizeof(kSegmentPrefix) - 1, suffix = sizeof(kSegmentSuffix) - 1;
    if (name.size() <= prefix + suffix || name.rfind(kSegmentPrefix, 0) != 0 ||
        name.compare(name.size() - suffix, suffix, kSegmentSuffix) != 0) {
      continue;
    }
    uint64_t segment;
    if (absl::SimpleAtoi(name.substr(prefix, name.size() - prefix - suffix), &segment)) segments.push_back(segment);
  }
  std::sort(segments.begin(), segments.end());
  return segments;
}

}  // namespace rill::replay
