#include "replay/durability/wal_recovery.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "replay/durability/crc32c.h"
#include "replay/durability/record_file.h"

namespace rill::replay {
namespace {

uint32_t Load32(const char* data) {
  uint32_t value;
  std::memcpy(&value, data, sizeof(value));
  return value;
}

// A segment file mapped read-only for the scan (nothing mapped when empty).
class MappedFile {
 public:
  static absl::StatusOr<MappedFile> Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return absl::InternalError(absl::StrCat("cannot open '", path, "': ", std::strerror(errno)));
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat("cannot stat '", path, "': ", std::strerror(err)));
    }
    MappedFile file;
    file.size_ = static_cast<size_t>(st.st_size);
    if (file.size_ > 0) {
      void* data = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (data == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        return absl::InternalError(absl::StrCat("cannot map '", path, "': ", std::strerror(err)));
      }
      file.data_ = static_cast<const char*>(data);
    }
    ::close(fd);
    return file;
  }
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  MappedFile& operator=(MappedFile&& other) noexcept {
    if (this != &other) {
      Unmap();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  MappedFile(const MappedFile&) = delete;
  ~MappedFile() { Unmap(); }

  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void Unmap() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
    data_ = nullptr;
  }
  const char* data_ = nullptr;
  size_t size_ = 0;
};

// A valid record or a damaged stretch of a segment, in file order.
struct Part {
  bool damaged = false;
  size_t offset = 0;
  size_t end = 0;
  int version = 2;
  WalRecordHeader header;  // a format-2 record
  std::string why;         // damaged: what is wrong at `offset`

  size_t payload_offset() const { return offset + (version == 2 ? kWalRecordHeaderBytes : kRecordHeaderBytes); }
  uint64_t group_first() const { return header.sequence - header.group_offset; }
};

struct Segment {
  std::string path;
  MappedFile file;
  int version = 2;  // 1: format 1 (no header); 2: format 2, or empty, or a damaged header
  std::optional<WalPosition> start;  // a valid format-2 header
  std::vector<Part> parts;
};

// "" when a valid format-2 record starts at `offset` (filling `header`),
// else what is wrong there.
std::string CheckRecordV2(const char* data, size_t size, size_t offset, WalRecordHeader* header) {
  const size_t left = size - offset;
  if (left < kWalRecordHeaderBytes) {
    return absl::StrCat("the file ends inside a record header (", left, " of ", kWalRecordHeaderBytes, " bytes)");
  }
  if (!DecodeWalRecordHeader(data + offset, left, header)) {
    return Load32(data + offset) == kWalRecordMagic
               ? "header checksum mismatch (a damaged length, number or checksum field)"
               : "no record marker where a record should start";
  }
  if (header->length > left - kWalRecordHeaderBytes) {
    return absl::StrCat("the file ends inside the record (", left - kWalRecordHeaderBytes, " of ", header->length,
                        " payload bytes)");
  }
  if (Crc32c(data + offset + kWalRecordHeaderBytes, header->length) != header->payload_crc) {
    return "checksum mismatch in the record's payload";
  }
  return "";
}

// The same for a format-1 record ([u32 length][u32 CRC][payload]).
std::string CheckRecordV1(const char* data, size_t size, size_t offset, uint32_t* length) {
  const size_t left = size - offset;
  if (left < kRecordHeaderBytes) {
    return "the file ends inside a record header";
  }
  *length = Load32(data + offset);
  if (*length > kMaxRecordBytes) {
    return absl::StrCat("the record claims ", *length, " bytes (a corrupt length)");
  }
  if (*length > left - kRecordHeaderBytes) {
    return absl::StrCat("the file ends inside the record (", left - kRecordHeaderBytes, " of ", *length, " bytes)");
  }
  const uint32_t crc = Crc32c(data + offset + kRecordHeaderBytes, *length, Crc32c(length, sizeof(*length)));
  if (crc != Load32(data + offset + 4)) return "checksum mismatch in the record";
  return "";
}

// Offset of the next valid record after `offset`, or `size`.
size_t Resync(const Segment& segment, size_t offset) {
  const char* data = segment.file.data();
  const size_t size = segment.file.size();
  if (segment.version == 2) {
    WalRecordHeader header;
    for (size_t p = offset + 1; p + kWalRecordHeaderBytes <= size; ++p) {
      if (Load32(data + p) == kWalRecordMagic && CheckRecordV2(data, size, p, &header).empty()) return p;
    }
  } else {
    for (size_t p = offset + 1; p + kRecordHeaderBytes <= size; ++p) {
      const uint32_t length = Load32(data + p);
      if (length > size - p - kRecordHeaderBytes) continue;
      const uint32_t crc = Crc32c(data + p + kRecordHeaderBytes, length, Crc32c(&length, sizeof(length)));
      if (crc == Load32(data + p + 4)) return p;
    }
  }
  return size;
}

void ScanSegment(Segment* segment) {
  const char* data = segment->file.data();
  const size_t size = segment->file.size();
  if (size == 0) return;  // created, never written
  size_t offset = 0;
  WalPosition start;
  uint32_t length = 0;
  if (DecodeWalSegmentHeader(data, size, &start)) {
    segment->start = start;
    offset = kWalSegmentHeaderBytes;
  } else if (CheckRecordV1(data, size, 0, &length).empty()) {
    segment->version = 1;
  } else {
    // A format-2 segment whose header is damaged or cut short.
    Part bad;
    bad.damaged = true;
    bad.offset = 0;
    bad.end = Resync(*segment, 0);
    bad.why = size < kWalSegmentHeaderBytes ? absl::StrCat("the segment header is cut short (", size, " bytes)")
                                            : "the segment header is damaged";
    offset = bad.end;
    segment->parts.push_back(std::move(bad));
  }
  while (offset < size) {
    Part part;
    part.offset = offset;
    part.version = segment->version;
    const std::string why = segment->version == 2 ? CheckRecordV2(data, size, offset, &part.header)
                                                  : CheckRecordV1(data, size, offset, &length);
    if (why.empty()) {
      part.end = part.payload_offset() + (segment->version == 2 ? part.header.length : length);
      offset = part.end;
    } else {
      part.damaged = true;
      part.why = why;
      part.end = Resync(*segment, offset);
      offset = part.end;
    }
    segment->parts.push_back(std::move(part));
  }
}

// A place where acknowledged records are missing.
struct Loss {
  std::string path;
  size_t offset = 0;
  std::string why;
  bool known = false;  // whether the counts below are known
  uint64_t first_record = 0;
  int64_t records = 0;
  int64_t items = 0;
};

std::string DescribeLoss(const Loss& loss) {
  std::string text = absl::StrCat("'", loss.path, "' at offset ", loss.offset, ": ", loss.why, ": ");
  if (!loss.known) {
    absl::StrAppend(&text, "an unknown number of acknowledged items (a format-1 segment has no sequence numbers)");
  } else {
    absl::StrAppend(&text, loss.items, " acknowledged items in ", loss.records,
                    loss.records == 1 ? " record" : " records", " (", loss.first_record, " to ",
                    loss.first_record + loss.records - 1, ")");
  }
  return text;
}

// The walk over the scanned segments that decides, for each damaged place,
// torn tail or loss (see wal_recovery.h), and which records are kept.
class LogWalk {
 public:
  LogWalk(const WalRecoveryOptions& options, const std::vector<Segment>& segments)
      : segments_(segments), expected_(options.start) {}

  void Run() {
    for (size_t i = 0; i < segments_.size(); ++i) WalkSegment(i);
    if (pending_.has_value()) {
      // Evidence of a sync with nothing after it to count from.
      Lose(*pending_, std::nullopt, {});
      pending_.reset();
    }
  }

  struct Kept {
    size_t segment;
    size_t part;
    bool after_first_loss;
  };
  const std::vector<Kept>& kept() const { return kept_; }
  const std::vector<Loss>& losses() const { return losses_; }
  int64_t torn_segments() const { return torn_segments_; }
  int64_t torn_bytes() const { return torn_bytes_; }
  const std::optional<WalPosition>& furthest() const { return furthest_; }

 private:
  void Advance(const WalPosition& position) {
    if (!furthest_.has_value() || position.sequence > furthest_->sequence) furthest_ = position;
  }

  // Records `loss`, counted from expected_ to `resume` when both are known.
  void Lose(Loss loss, const std::optional<WalPosition>& resume, const std::string& note) {
    if (expected_.has_value() && resume.has_value() && resume->sequence > expected_->sequence) {
      loss.known = true;
      loss.first_record = expected_->sequence;
      loss.records = static_cast<int64_t>(resume->sequence - expected_->sequence);
      loss.items = resume->item > expected_->item ? static_cast<int64_t>(resume->item - expected_->item) : 0;
    }
    if (!note.empty()) absl::StrAppend(&loss.why, "; ", note);
    losses_.push_back(std::move(loss));
    if (resume.has_value()) expected_ = resume;
  }

  // "Everything before this record was synced" marks of segment `i`:
  // marks[j] is the largest of the group starts of its valid records from
  // part j on and where the next segment starts, so the mark after part j
  // is marks[j + 1].
  std::vector<uint64_t> SyncedMarksAfter(size_t i) const {
    const Segment& segment = segments_[i];
    std::vector<uint64_t> marks(segment.parts.size() + 1, NextSegmentMark(i));
    for (size_t k = segment.parts.size(); k-- > 0;) {
      const Part& part = segment.parts[k];
      marks[k] = marks[k + 1];
      if (!part.damaged && part.version == 2) marks[k] = std::max(marks[k], part.group_first());
    }
    return marks;
  }

  // Where segment i + 1 starts (its header, else its first valid record's
  // group start); 0 when there is none.
  uint64_t NextSegmentMark(size_t i) const {
    uint64_t mark = 0;
    if (i + 1 < segments_.size()) {
      const Segment& next = segments_[i + 1];
      if (next.start.has_value()) {
        mark = std::max(mark, next.start->sequence);
      } else {
        for (const Part& part : next.parts) {
          if (!part.damaged && part.version == 2) {
            mark = std::max(mark, part.group_first());
            break;
          }
        }
      }
    }
    return mark;
  }

  void WalkSegment(size_t i) {
    const Segment& segment = segments_[i];
    if (segment.start.has_value()) {
      const WalPosition start = *segment.start;
      if (expected_.has_value() && start.sequence > expected_->sequence) {
        Loss loss = pending_.value_or(Loss{segment.path, 0, "", false, 0, 0, 0});
        if (!pending_.has_value()) {
          loss.why = absl::StrCat("the segment starts at record ", start.sequence, " where record ",
                                  expected_->sequence,
                                  " should come next (a missing segment, or a log that does not reach back to the "
                                  "restored checkpoint)");
        } else {
          loss.why = absl::StrCat(loss.why, "; the next segment goes on from record ", start.sequence);
        }
        Lose(std::move(loss), start, "");
      } else if (expected_.has_value() && start.sequence < expected_->sequence) {
        RILL_LOG(WARNING) << "write-ahead log: '" << segment.path << "' numbers its records from " << start.sequence
                          << " again (a log opened without its position)";
      }
      pending_.reset();
      expected_ = start;
      Advance(start);
    }
    if (segment.version == 1) expected_.reset();
    const std::vector<uint64_t> marks = SyncedMarksAfter(i);
    for (size_t j = 0; j < segment.parts.size(); ++j) {
      const Part& part = segment.parts[j];
      if (!part.damaged) {
        if (part.version == 2) {
          const WalPosition here{part.header.sequence, part.header.first_item};
          if (expected_.has_value() && here.sequence > expected_->sequence) {
            Loss loss = pending_.value_or(Loss{segment.path, part.offset, "", false, 0, 0, 0});
            if (!pending_.has_value()) {
              loss.why = absl::StrCat("record ", here.sequence, " follows record ", expected_->sequence - 1,
                                      " with nothing between");
            }
            Lose(std::move(loss), here, "");
          }
          pending_.reset();
          expected_ = WalPosition{here.sequence + 1, here.item + part.header.items};
          Advance(*expected_);
        }
        kept_.push_back(Kept{i, j, !losses_.empty()});
        continue;
      }
      // Damage: is there a valid record after it in this segment?
      std::optional<size_t> next;
      for (size_t k = j + 1; k < segment.parts.size() && !next.has_value(); ++k) {
        if (!segment.parts[k].damaged) next = k;
      }
      Loss loss{segment.path, part.offset, part.why, false, 0, 0, 0};
      if (segment.version == 1 || !expected_.has_value()) {
        // No numbers to judge by: valid records after the damage are the
        // only sign that it held acknowledged ones.
        if (next.has_value()) {
          Lose(std::move(loss), std::nullopt, "valid records follow it");
          if (segment.version == 2) expected_.reset();  // the next record's numbers are taken as they are
          continue;
        }
        Torn(i, j);
        return;
      }
      if (marks[j + 1] > expected_->sequence) {
        // A later group commit (or segment) was written after the records
        // here were synced: they were acknowledged.
        if (next.has_value()) {
          const Part& resume = segment.parts[*next];
          Lose(std::move(loss), WalPosition{resume.header.sequence, resume.header.first_item},
               "valid records of a later group commit follow it");
        } else {
          pending_ = std::move(loss);  // counted where the next segment starts
        }
        j = next.has_value() ? *next - 1 : segment.parts.size();
        continue;
      }
      Torn(i, j);
      return;
    }
  }

  // Damage at part `j` of segment `i` that no sync is known to have
  // covered: the rest of the segment is the last group commit, cut short.
  void Torn(size_t i, size_t j) {
    const Segment& segment = segments_[i];
    const Part& part = segment.parts[j];
    ++torn_segments_;
    torn_bytes_ += static_cast<int64_t>(segment.file.size() - part.offset);
    RILL_LOG(WARNING) << "write-ahead log: '" << segment.path << "' at offset " << part.offset << ": " << part.why
                      << "; using its " << part.offset
                      << " bytes before (a write cut short by a crash was never acknowledged)";
  }

  const std::vector<Segment>& segments_;
  std::optional<WalPosition> expected_;  // where the next record should be
  std::optional<WalPosition> furthest_;  // past the newest valid record (or segment start) seen
  std::optional<Loss> pending_;          // damage at a segment's end, counted at the next one
  std::vector<Kept> kept_;
  std::vector<Loss> losses_;
  int64_t torn_segments_ = 0;
  int64_t torn_bytes_ = 0;
};

// "350", or "at least 350" when a format-1 segment lost an unknown number.
std::string CountText(int64_t items, bool unknown) {
  return unknown ? absl::StrCat("at least ", items) : absl::StrCat(items);
}

}  // namespace

const char* OnCorruptionName(OnCorruption on_corruption) {
  switch (on_corruption) {
    case OnCorruption::kSkipRecord:
      return "SKIP_RECORD";
    case OnCorruption::kTruncate:
      return "TRUNCATE";
    case OnCorruption::kRefuse:
      break;
  }
  return "REFUSE";
}

absl::StatusOr<WalRecoveryResult> RecoverWal(const std::string& dir, const WalRecoveryOptions& options,
                                             const std::function<absl::Status(std::string_view)>& apply) {
  std::vector<Segment> segments;
  for (uint64_t number : ListWalSegments(dir)) {
    if (number < options.first_segment) continue;
    Segment segment;
    segment.path = WalSegmentPath(dir, number);
    ASSIGN_OR_RETURN(segment.file, MappedFile::Open(segment.path));
    ScanSegment(&segment);
    segments.push_back(std::move(segment));
  }
  LogWalk walk(options, segments);
  walk.Run();

  WalRecoveryResult result;
  result.segments = static_cast<int64_t>(segments.size());
  result.torn_segments = walk.torn_segments();
  result.torn_bytes = walk.torn_bytes();
  result.next = walk.furthest().value_or(options.start.value_or(WalPosition{}));
  if (options.start.has_value() && options.start->sequence > result.next.sequence) result.next = *options.start;

  // What each choice loses: SKIP_RECORD the damaged places; TRUNCATE those
  // and every valid record after the first.
  int64_t skip_items = 0, skip_records = 0, after_items = 0, after_records = 0;
  bool skip_unknown = false, after_unknown = false;
  for (const Loss& loss : walk.losses()) {
    skip_items += loss.items;
    skip_records += loss.records;
    skip_unknown |= !loss.known;
    result.losses.push_back(DescribeLoss(loss));
  }
  for (const LogWalk::Kept& kept : walk.kept()) {
    if (!kept.after_first_loss) continue;
    const Part& part = segments[kept.segment].parts[kept.part];
    ++after_records;
    if (part.version == 2) {
      after_items += part.header.items;
    } else {
      after_unknown = true;
    }
  }
  const std::vector<Loss>& losses = walk.losses();
  if (!losses.empty() && options.on_corruption == OnCorruption::kRefuse) {
    std::string text = absl::StrCat("the write-ahead log is damaged where acknowledged records were: ",
                                    result.losses.front());
    if (losses.size() > 1) {
      absl::StrAppend(&text, "; and ", losses.size() - 1, " more damaged place", losses.size() > 2 ? "s" : "", ": ",
                      absl::StrJoin(result.losses.begin() + 1, result.losses.end(), "; "));
    }
    absl::StrAppend(&text, ". on_corruption: SKIP_RECORD would lose ", CountText(skip_items, skip_unknown),
                    " acknowledged items and keep every valid record; TRUNCATE would keep the log only up to the "
                    "first damage and lose ", CountText(skip_items + after_items, skip_unknown || after_unknown));
    return absl::FailedPreconditionError(text);
  }
  const bool truncate = options.on_corruption == OnCorruption::kTruncate;
  result.lost_items = skip_items + (truncate ? after_items : 0);
  result.lost_records = skip_records + (truncate ? after_records : 0);
  result.loss_unknown = skip_unknown || (truncate && after_unknown);
  for (const LogWalk::Kept& kept : walk.kept()) {
    if (truncate && kept.after_first_loss) continue;
    const Segment& segment = segments[kept.segment];
    const Part& part = segment.parts[kept.part];
    const size_t payload = part.payload_offset();
    RETURN_IF_ERROR(apply(std::string_view(segment.file.data() + payload, part.end - payload)));
    ++result.records;
    result.bytes += static_cast<int64_t>(part.end - part.offset);
  }
  for (const std::string& loss : result.losses) {
    RILL_LOG(ERROR) << "write-ahead log: lost " << loss << " (on_corruption " << OnCorruptionName(options.on_corruption)
                    << ")";
  }
  return result;
}

}  // namespace rill::replay
