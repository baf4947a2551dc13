// RecoverWal on real segment files, written by WriteAheadLog or by hand:
// a torn tail is dropped in every mode; damage followed by records of a
// later group commit, a bad length, a missing segment and a log that does
// not reach back to its start are losses, refused by default with the
// file, offset and items named, or skipped / truncated and counted exactly;
// segments of the format before still read.
#include "replay/durability/wal_recovery.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/durability/crc32c.h"
#include "replay/durability/record_file.h"
#include "replay/durability/wal.h"
#include "replay/durability/wal_format.h"
#include "replay/testing/test_items.h"

namespace rill::replay {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Record(const std::string& payload) { return std::string(kRecordHeaderBytes, '\0') + payload; }

std::unique_ptr<WriteAheadLog> OpenLog(const std::string& dir, uint64_t first_segment, WalPosition start = {}) {
  WriteAheadLog::Options options;
  options.dir = dir;
  options.first_segment = first_segment;
  options.start = start;
  absl::StatusOr<std::unique_ptr<WriteAheadLog>> log = WriteAheadLog::Open(options);
  EXPECT_TRUE(log.ok()) << log.status();
  return *std::move(log);
}

// Appends payloads "0", "1", ... ("<first>" on), `items` items each, each
// its own group commit (synced before the next is appended).
void AppendEach(WriteAheadLog& log, int first, int count, uint32_t items) {
  for (int i = first; i < first + count; ++i) {
    const uint64_t ticket = log.Append(Record(std::to_string(i)), items);
    ASSERT_TRUE(log.WaitDurable(ticket, absl::Now() + absl::Seconds(10)).ok());
  }
}

struct Recovered {
  absl::StatusOr<WalRecoveryResult> result;
  std::vector<std::string> payloads;
};

Recovered Recover(const std::string& dir, OnCorruption on_corruption,
                  std::optional<WalPosition> start = WalPosition{}) {
  WalRecoveryOptions options;
  options.start = start;
  options.on_corruption = on_corruption;
  Recovered recovered;
  recovered.result = RecoverWal(dir, options, [&](std::string_view payload) {
    recovered.payloads.emplace_back(payload);
    return absl::OkStatus();
  });
  return recovered;
}

std::vector<std::string> Numbers(int begin, int end) {
  std::vector<std::string> numbers;
  for (int i = begin; i < end; ++i) numbers.push_back(std::to_string(i));
  return numbers;
}

// Offsets of the records of a format-2 segment.
std::vector<size_t> RecordOffsets(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<size_t> offsets;
  WalRecordHeader header;
  for (size_t offset = kWalSegmentHeaderBytes;
       DecodeWalRecordHeader(bytes.data() + offset, bytes.size() - offset, &header);
       offset += kWalRecordHeaderBytes + header.length) {
    offsets.push_back(offset);
  }
  return offsets;
}

void Overwrite(const std::string& path, size_t offset, const std::string& bytes) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void FlipByte(const std::string& path, size_t offset) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(offset));
  const char c = static_cast<char>(file.get());
  file.seekp(static_cast<std::streamoff>(offset));
  file.put(static_cast<char>(c ^ 0x5a));
}

// A format-2 segment made by hand, for group commits the writer's timing
// would not make reliably.
class HandMadeSegment {
 public:
  explicit HandMadeSegment(WalPosition start) : bytes_(EncodeWalSegmentHeader(start)) {}
  // Returns the record's offset.
  size_t Add(uint64_t sequence, uint64_t first_item, uint32_t items, uint32_t group_offset,
             const std::string& payload) {
    WalRecordHeader header;
    header.length = static_cast<uint32_t>(payload.size());
    header.sequence = sequence;
    header.first_item = first_item;
    header.items = items;
    header.group_offset = group_offset;
    header.payload_crc = Crc32c(payload.data(), payload.size());
    char encoded[kWalRecordHeaderBytes];
    EncodeWalRecordHeader(header, encoded);
    const size_t offset = bytes_.size();
    bytes_.append(encoded, sizeof(encoded));
    bytes_.append(payload);
    return offset;
  }
  void WriteTo(const std::string& path) const { std::ofstream(path, std::ios::binary) << bytes_; }

 private:
  std::string bytes_;
};

// The log: 100 requests of 10 items, each its own group commit, in
// one segment; returns its path.
std::string HundredRequestsOfTenItems(const std::string& dir) {
  auto log = OpenLog(dir, 1);
  AppendEach(*log, 0, 100, 10);
  return WriteAheadLog::SegmentPath(dir, 1);
}

TEST(WalRecoveryTest, NumbersRecordsAndItemsOnAcrossSegmentsAndRestarts) {
  const std::string dir = FreshTestDir("recover-numbers");
  WalPosition rotated;
  {
    auto log = OpenLog(dir, 1);
    AppendEach(*log, 0, 3, 2);
    EXPECT_EQ(log->Rotate(&rotated), 2u);
    AppendEach(*log, 3, 2, 2);
  }
  EXPECT_EQ(rotated, (WalPosition{4, 6}));
  Recovered first = Recover(dir, OnCorruption::kRefuse);
  ASSERT_TRUE(first.result.ok()) << first.result.status();
  EXPECT_EQ(first.payloads, Numbers(0, 5));
  EXPECT_EQ(first.result->next, (WalPosition{6, 10}));
  {
    auto log = OpenLog(dir, 3, first.result->next);
    AppendEach(*log, 5, 1, 2);
  }
  Recovered second = Recover(dir, OnCorruption::kRefuse);
  ASSERT_TRUE(second.result.ok()) << second.result.status();
  EXPECT_EQ(second.payloads, Numbers(0, 6));
  EXPECT_EQ(second.result->next, (WalPosition{7, 12}));
  EXPECT_EQ(second.result->lost_items, 0);
  EXPECT_EQ(second.result->torn_segments, 0);
}

TEST(WalRecoveryTest, AFlippedByteBeforeALaterGroupCommitIsRefusedNamingFileOffsetAndItems) {
  const std::string dir = FreshTestDir("recover-flip-refuse");
  const std::string path = HundredRequestsOfTenItems(dir);
  const size_t offset = RecordOffsets(path)[65];
  FlipByte(path, offset + kWalRecordHeaderBytes + 1);
  Recovered recovered = Recover(dir, OnCorruption::kRefuse);
  ASSERT_TRUE(absl::IsFailedPrecondition(recovered.result.status())) << recovered.result.status();
  const std::string message(recovered.result.status().message());
  EXPECT_THAT(message, HasSubstr(absl::StrCat("'", path, "' at offset ", offset)));
  EXPECT_THAT(message, HasSubstr("checksum mismatch"));
  EXPECT_THAT(message, HasSubstr("10 acknowledged items in 1 record (66 to 66)"));
  EXPECT_THAT(message, HasSubstr("SKIP_RECORD would lose 10 acknowledged items"));
  EXPECT_THAT(message, HasSubstr("up to the first damage and lose 350"));
  EXPECT_TRUE(recovered.payloads.empty());  // nothing applied
}

TEST(WalRecoveryTest, SkipRecordResynchronisesOnTheNextValidRecordAndCountsTheLoss) {
  const std::string dir = FreshTestDir("recover-flip-skip");
  const std::string path = HundredRequestsOfTenItems(dir);
  FlipByte(path, RecordOffsets(path)[65] + kWalRecordHeaderBytes + 1);
  Recovered recovered = Recover(dir, OnCorruption::kSkipRecord);
  ASSERT_TRUE(recovered.result.ok()) << recovered.result.status();
  std::vector<std::string> expected = Numbers(0, 100);
  expected.erase(expected.begin() + 65);
  EXPECT_EQ(recovered.payloads, expected);
  EXPECT_EQ(recovered.result->lost_items, 10);
  EXPECT_EQ(recovered.result->lost_records, 1);
  EXPECT_FALSE(recovered.result->loss_unknown);
  ASSERT_EQ(recovered.result->losses.size(), 1u);
  EXPECT_THAT(recovered.result->losses[0], HasSubstr(path));
  EXPECT_EQ(recovered.result->next, (WalPosition{101, 1000}));
}

TEST(WalRecoveryTest, TruncateKeepsTheLogUpToTheFirstDamageAndCountsTheRest) {
  const std::string dir = FreshTestDir("recover-flip-truncate");
  const std::string path = HundredRequestsOfTenItems(dir);
  FlipByte(path, RecordOffsets(path)[65] + kWalRecordHeaderBytes + 1);
  Recovered recovered = Recover(dir, OnCorruption::kTruncate);
  ASSERT_TRUE(recovered.result.ok()) << recovered.result.status();
  EXPECT_EQ(recovered.payloads, Numbers(0, 65));
  EXPECT_EQ(recovered.result->lost_items, 350);
  EXPECT_EQ(recovered.result->lost_records, 35);
  // Numbers go on past everything seen, so that the gap stays visible.
  EXPECT_EQ(recovered.result->next, (WalPosition{101, 1000}));
}

TEST(WalRecoveryTest, AHugeLengthFieldIsDamageInsideTheLogNotItsEnd) {
  const std::string dir = FreshTestDir("recover-length");
  const std::string path = HundredRequestsOfTenItems(dir);
  const size_t offset = RecordOffsets(path)[65];
  const uint32_t huge = 0xFFFFFFF0u;
  Overwrite(path, offset + 4, std::string(reinterpret_cast<const char*>(&huge), 4));

  Recovered refused = Recover(dir, OnCorruption::kRefuse);
  ASSERT_TRUE(absl::IsFailedPrecondition(refused.result.status())) << refused.result.status();
  EXPECT_THAT(refused.result.status().message(), HasSubstr(absl::StrCat("at offset ", offset, ": header checksum")));
  EXPECT_THAT(refused.result.status().message(), HasSubstr("10 acknowledged items"));
  Recovered skipped = Recover(dir, OnCorruption::kSkipRecord);
  ASSERT_TRUE(skipped.result.ok()) << skipped.result.status();
  EXPECT_EQ(skipped.payloads.size(), 99u);
  EXPECT_EQ(skipped.result->lost_items, 10);
  Recovered truncated = Recover(dir, OnCorruption::kTruncate);
  ASSERT_TRUE(truncated.result.ok()) << truncated.result.status();
  EXPECT_EQ(truncated.payloads.size(), 65u);
  EXPECT_EQ(truncated.result->lost_items, 350);
}

TEST(WalRecoveryTest, ATruncatedTailIsDroppedInEveryModeAsNeverAcknowledged) {
  const std::string dir = FreshTestDir("recover-tail");
  const std::string path = HundredRequestsOfTenItems(dir);
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(fs::file_size(path) - 1)), 0);
  for (OnCorruption mode : {OnCorruption::kRefuse, OnCorruption::kSkipRecord, OnCorruption::kTruncate}) {
    Recovered recovered = Recover(dir, mode);
    ASSERT_TRUE(recovered.result.ok()) << OnCorruptionName(mode) << ": " << recovered.result.status();
    EXPECT_EQ(recovered.payloads, Numbers(0, 99)) << OnCorruptionName(mode);
    EXPECT_EQ(recovered.result->lost_items, 0);
    EXPECT_EQ(recovered.result->torn_segments, 1);
    // The next log goes on from the torn record, which never happened.
    EXPECT_EQ(recovered.result->next, (WalPosition{100, 990}));
  }
}

TEST(WalRecoveryTest, GarbageAfterTheLastRecordIsATornTailInEveryMode) {
  const std::string dir = FreshTestDir("recover-garbage");
  const std::string path = HundredRequestsOfTenItems(dir);
  std::mt19937 random(7);
  std::string garbage(1000, '\0');
  for (char& c : garbage) c = static_cast<char>(random());
  std::ofstream(path, std::ios::binary | std::ios::app) << garbage;
  for (OnCorruption mode : {OnCorruption::kRefuse, OnCorruption::kSkipRecord, OnCorruption::kTruncate}) {
    Recovered recovered = Recover(dir, mode);
    ASSERT_TRUE(recovered.result.ok()) << OnCorruptionName(mode) << ": " << recovered.result.status();
    EXPECT_EQ(recovered.payloads, Numbers(0, 100)) << OnCorruptionName(mode);
    EXPECT_EQ(recovered.result->lost_items, 0);
    EXPECT_EQ(recovered.result->torn_bytes, 1000);
  }
}

// A power loss can persist later pages of the last, unsynced group commit
// and not earlier ones: a hole, then valid records of the same group.
TEST(WalRecoveryTest, AHoleInTheLastGroupCommitIsATornTailEvenWithValidRecordsAfterIt) {
  const std::string dir = FreshTestDir("recover-last-group");
  HandMadeSegment segment(WalPosition{1, 0});
  for (uint64_t s = 1; s <= 5; ++s) segment.Add(s, (s - 1) * 10, 10, 0, Numbers(s, s + 1)[0]);
  const size_t hole = segment.Add(6, 50, 10, 0, std::string(100, 'x'));
  segment.Add(7, 60, 10, 1, "7");
  segment.Add(8, 70, 10, 2, "8");
  const std::string path = WriteAheadLog::SegmentPath(dir, 1);
  segment.WriteTo(path);
  Overwrite(path, hole, std::string(kWalRecordHeaderBytes + 100, '\0'));

  Recovered recovered = Recover(dir, OnCorruption::kRefuse);
  ASSERT_TRUE(recovered.result.ok()) << recovered.result.status();
  EXPECT_EQ(recovered.payloads, Numbers(1, 6));
  EXPECT_EQ(recovered.result->lost_items, 0);
  EXPECT_EQ(recovered.result->torn_segments, 1);
  EXPECT_EQ(recovered.result->next, (WalPosition{6, 50}));
}

TEST(WalRecoveryTest, AMissingSegmentIsALoss) {
  const std::string dir = FreshTestDir("recover-missing");
  {
    auto log = OpenLog(dir, 1);
    AppendEach(*log, 0, 4, 10);
    log->Rotate();
    AppendEach(*log, 4, 4, 10);
    log->Rotate();
    AppendEach(*log, 8, 4, 10);
  }
  fs::remove(WriteAheadLog::SegmentPath(dir, 2));
  Recovered refused = Recover(dir, OnCorruption::kRefuse);
  ASSERT_TRUE(absl::IsFailedPrecondition(refused.result.status())) << refused.result.status();
  EXPECT_THAT(refused.result.status().message(), HasSubstr(WriteAheadLog::SegmentPath(dir, 3)));
  EXPECT_THAT(refused.result.status().message(), HasSubstr("starts at record 9 where record 5 should come next"));
  EXPECT_THAT(refused.result.status().message(), HasSubstr("40 acknowledged items in 4 records (5 to 8)"));
  Recovered skipped = Recover(dir, OnCorruption::kSkipRecord);
  ASSERT_TRUE(skipped.result.ok()) << skipped.result.status();
  std::vector<std::string> expected = Numbers(0, 4);
  for (const std::string& n : Numbers(8, 12)) expected.push_back(n);
  EXPECT_EQ(skipped.payloads, expected);
  EXPECT_EQ(skipped.result->lost_items, 40);
}

TEST(WalRecoveryTest, ALogThatDoesNotReachBackToWhereItMustStartIsALoss) {
  const std::string dir = FreshTestDir("recover-start");
  HandMadeSegment segment(WalPosition{31, 300});
  for (uint64_t s = 31; s <= 100; ++s) segment.Add(s, (s - 1) * 10, 10, 0, std::to_string(s));
  segment.WriteTo(WriteAheadLog::SegmentPath(dir, 2));
  Recovered refused = Recover(dir, OnCorruption::kRefuse, WalPosition{1, 0});
  ASSERT_TRUE(absl::IsFailedPrecondition(refused.result.status())) << refused.result.status();
  EXPECT_THAT(refused.result.status().message(), HasSubstr("300 acknowledged items in 30 records (1 to 30)"));
  Recovered skipped = Recover(dir, OnCorruption::kSkipRecord, WalPosition{1, 0});
  ASSERT_TRUE(skipped.result.ok()) << skipped.result.status();
  EXPECT_EQ(skipped.payloads.size(), 70u);
  EXPECT_EQ(skipped.result->lost_items, 300);
  // TRUNCATE keeps the consistent prefix: here, nothing.
  Recovered truncated = Recover(dir, OnCorruption::kTruncate, WalPosition{1, 0});
  ASSERT_TRUE(truncated.result.ok()) << truncated.result.status();
  EXPECT_TRUE(truncated.payloads.empty());
  EXPECT_EQ(truncated.result->lost_items, 1000);
  // With no known start (a checkpoint written before positions), the same
  // log reads whole.
  Recovered unknown = Recover(dir, OnCorruption::kRefuse, std::nullopt);
  ASSERT_TRUE(unknown.result.ok()) << unknown.result.status();
  EXPECT_EQ(unknown.payloads.size(), 70u);
}

// Damage at the end of a segment: the next segment's start says whether
// the records there were synced (a rotation, or a restart that read them)
// or the restart went on from before them (they were a torn tail).
void DamagedSegmentEndThenNextSegmentAt(const std::string& dir, uint64_t next_start, size_t* damaged_offset) {
  HandMadeSegment first(WalPosition{1, 0});
  for (uint64_t s = 1; s <= 9; ++s) first.Add(s, (s - 1) * 10, 10, 0, std::to_string(s));
  *damaged_offset = first.Add(10, 90, 10, 0, "10");
  const std::string path = WriteAheadLog::SegmentPath(dir, 1);
  first.WriteTo(path);
  FlipByte(path, *damaged_offset + kWalRecordHeaderBytes);
  HandMadeSegment second(WalPosition{next_start, (next_start - 1) * 10});
  second.Add(next_start, (next_start - 1) * 10, 10, 0, std::to_string(next_start));
  second.WriteTo(WriteAheadLog::SegmentPath(dir, 2));
}

TEST(WalRecoveryTest, DamageAtASegmentEndIsALossWhenTheNextSegmentStartsPastIt) {
  const std::string dir = FreshTestDir("recover-segment-end-loss");
  size_t offset = 0;
  DamagedSegmentEndThenNextSegmentAt(dir, 11, &offset);
  Recovered refused = Recover(dir, OnCorruption::kRefuse);
  ASSERT_TRUE(absl::IsFailedPrecondition(refused.result.status())) << refused.result.status();
  EXPECT_THAT(refused.result.status().message(),
              HasSubstr(absl::StrCat("'", WriteAheadLog::SegmentPath(dir, 1), "' at offset ", offset)));
  EXPECT_THAT(refused.result.status().message(), HasSubstr("10 acknowledged items in 1 record (10 to 10)"));
  Recovered skipped = Recover(dir, OnCorruption::kSkipRecord);
  ASSERT_TRUE(skipped.result.ok()) << skipped.result.status();
  EXPECT_EQ(skipped.payloads.size(), 10u);
  EXPECT_EQ(skipped.result->lost_items, 10);
}

TEST(WalRecoveryTest, DamageAtASegmentEndIsATornTailWhenTheNextSegmentGoesOnFromBeforeIt) {
  const std::string dir = FreshTestDir("recover-segment-end-torn");
  size_t offset = 0;
  DamagedSegmentEndThenNextSegmentAt(dir, 10, &offset);
  Recovered recovered = Recover(dir, OnCorruption::kRefuse);
  ASSERT_TRUE(recovered.result.ok()) << recovered.result.status();
  EXPECT_EQ(recovered.payloads.size(), 10u);  // 1..9, then the next segment's 10
  EXPECT_EQ(recovered.payloads.back(), "10");
  EXPECT_EQ(recovered.result->lost_items, 0);
  EXPECT_EQ(recovered.result->torn_segments, 1);
}

// Segments of the format before: records framed as record_file.h frames
// them ([length][CRC][payload]) with no segment header, which is exactly
// what WriteAheadLog wrote before sequence numbers.
std::string FormatOneSegment(const std::string& dir, uint64_t segment, const std::vector<std::string>& payloads) {
  const std::string path = WriteAheadLog::SegmentPath(dir, segment);
  absl::StatusOr<RecordWriter> writer = RecordWriter::Create(path);
  EXPECT_TRUE(writer.ok()) << writer.status();
  for (const std::string& payload : payloads) EXPECT_TRUE(writer->Write(payload).ok());
  EXPECT_TRUE(writer->SyncAndClose().ok());
  return path;
}

TEST(WalRecoveryTest, ReadsASegmentOfTheFormatBeforeAndTheNewLogAfterIt) {
  const std::string dir = FreshTestDir("recover-format-1");
  FormatOneSegment(dir, 1, Numbers(0, 5));
  Recovered old = Recover(dir, OnCorruption::kRefuse);
  ASSERT_TRUE(old.result.ok()) << old.result.status();
  EXPECT_EQ(old.payloads, Numbers(0, 5));
  {
    auto log = OpenLog(dir, 2, old.result->next);
    AppendEach(*log, 5, 3, 1);
  }
  Recovered both = Recover(dir, OnCorruption::kRefuse);
  ASSERT_TRUE(both.result.ok()) << both.result.status();
  EXPECT_EQ(both.payloads, Numbers(0, 8));
  EXPECT_EQ(both.result->lost_items, 0);
}

TEST(WalRecoveryTest, DamageInsideASegmentOfTheFormatBeforeLosesAnUnknownNumberOfItems) {
  const std::string dir = FreshTestDir("recover-format-1-damage");
  const std::string path = FormatOneSegment(dir, 1, {"aaaaaaaa", "bbbbbbbb", "cccccccc", "dddddddd", "eeeeeeee"});
  const size_t third = 2 * (kRecordHeaderBytes + 8);
  FlipByte(path, third + kRecordHeaderBytes + 2);
  Recovered refused = Recover(dir, OnCorruption::kRefuse);
  ASSERT_TRUE(absl::IsFailedPrecondition(refused.result.status())) << refused.result.status();
  EXPECT_THAT(refused.result.status().message(), HasSubstr(absl::StrCat("'", path, "' at offset ", third)));
  EXPECT_THAT(refused.result.status().message(), HasSubstr("an unknown number of acknowledged items"));
  Recovered skipped = Recover(dir, OnCorruption::kSkipRecord);
  ASSERT_TRUE(skipped.result.ok()) << skipped.result.status();
  EXPECT_EQ(skipped.payloads, (std::vector<std::string>{"aaaaaaaa", "bbbbbbbb", "dddddddd", "eeeeeeee"}));
  EXPECT_TRUE(skipped.result->loss_unknown);
  Recovered truncated = Recover(dir, OnCorruption::kTruncate);
  ASSERT_TRUE(truncated.result.ok()) << truncated.result.status();
  EXPECT_EQ(truncated.payloads, (std::vector<std::string>{"aaaaaaaa", "bbbbbbbb"}));
}

TEST(WalRecoveryTest, ATornTailOfASegmentOfTheFormatBeforeIsDropped) {
  const std::string dir = FreshTestDir("recover-format-1-torn");
  const std::string path = FormatOneSegment(dir, 1, Numbers(10, 20));
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(fs::file_size(path) - 1)), 0);
  Recovered recovered = Recover(dir, OnCorruption::kRefuse);
  ASSERT_TRUE(recovered.result.ok()) << recovered.result.status();
  EXPECT_EQ(recovered.payloads, Numbers(10, 19));
  EXPECT_EQ(recovered.result->torn_segments, 1);
}

}  // namespace
}  // namespace rill::replay
