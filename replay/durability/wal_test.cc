// The write-ahead log on real files: durable records read back in order, a
// torn tail is dropped without losing the records before it, rotation starts
// a new segment and old ones can be deleted.
#include "replay/testing/test_items.h"
#include "replay/durability/wal.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"
#include "replay/durability/record_file.h"

namespace rill::replay {
namespace {

namespace fs = std::filesystem;

std::string Record(const std::string& payload) { return std::string(kRecordHeaderBytes, '\0') + payload; }

std::vector<std::string> ReadAll(const std::string& dir, uint64_t first, WriteAheadLog::ReadStats* stats = nullptr) {
  std::vector<std::string> payloads;
  absl::StatusOr<WriteAheadLog::ReadStats> read =
      WriteAheadLog::ReadSegments(dir, first, [&](std::string_view payload) {
        payloads.emplace_back(payload);
        return absl::OkStatus();
      });
  EXPECT_TRUE(read.ok()) << read.status();
  if (stats != nullptr && read.ok()) *stats = *read;
  return payloads;
}

std::unique_ptr<WriteAheadLog> OpenLog(const std::string& dir, uint64_t first_segment) {
  WriteAheadLog::Options options;
  options.dir = dir;
  options.first_segment = first_segment;
  absl::StatusOr<std::unique_ptr<WriteAheadLog>> log = WriteAheadLog::Open(options);
  EXPECT_TRUE(log.ok()) << log.status();
  return *std::move(log);
}

TEST(WalTest, DurableRecordsFromManyThreadsReadBackInTicketOrder) {
  const std::string dir = FreshTestDir("wal-order");
  auto log = OpenLog(dir, 1);
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const uint64_t ticket = log->Append(Record(std::to_string(t * 1000 + i)));
        ASSERT_TRUE(log->WaitDurable(ticket, absl::Now() + absl::Seconds(10)).ok());
      }
    });
  }
  for (auto& w : writers) w.join();
  std::vector<std::string> payloads = ReadAll(dir, 0);
  ASSERT_EQ(payloads.size(), 200u);
  // Each writer's records appear in its own order.
  for (int t = 0; t < 4; ++t) {
    int last = -1;
    for (const std::string& p : payloads) {
      const int v = std::stoi(p);
      if (v / 1000 != t) continue;
      EXPECT_GT(v % 1000, last);
      last = v % 1000;
    }
    EXPECT_EQ(last, 49);
  }
}

TEST(WalTest, ATornTailIsDroppedAndTheRecordsBeforeItKept) {
  const std::string dir = FreshTestDir("wal-torn");
  {
    auto log = OpenLog(dir, 1);
    uint64_t ticket = 0;
    for (int i = 0; i < 10; ++i) ticket = log->Append(Record(std::string(100, static_cast<char>('a' + i))));
    ASSERT_TRUE(log->WaitDurable(ticket, absl::Now() + absl::Seconds(10)).ok());
  }
  const std::string path = WriteAheadLog::SegmentPath(dir, 1);
  // Cut the last record in half, as a crash during its write would.
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(fs::file_size(path) - 50)), 0);
  WriteAheadLog::ReadStats stats;
  std::vector<std::string> payloads = ReadAll(dir, 0, &stats);
  ASSERT_EQ(payloads.size(), 9u);
  EXPECT_EQ(payloads[8], std::string(100, 'i'));
  EXPECT_EQ(stats.torn_segments, 1);

  // A later log starts a new segment, so new records never follow the tear.
  auto log = OpenLog(dir, 2);
  const uint64_t ticket = log->Append(Record("after"));
  ASSERT_TRUE(log->WaitDurable(ticket, absl::Now() + absl::Seconds(10)).ok());
  payloads = ReadAll(dir, 0);
  ASSERT_EQ(payloads.size(), 10u);
  EXPECT_EQ(payloads.back(), "after");
}

TEST(WalTest, ACorruptedRecordEndsItsSegment) {
  const std::string dir = FreshTestDir("wal-corrupt");
  {
    auto log = OpenLog(dir, 1);
    uint64_t ticket = 0;
    for (int i = 0; i < 3; ++i) ticket = log->Append(Record(std::string(64, 'x')));
    ASSERT_TRUE(log->WaitDurable(ticket, absl::Now() + absl::Seconds(10)).ok());
  }
  {
    std::fstream file(WriteAheadLog::SegmentPath(dir, 1), std::ios::in | std::ios::out | std::ios::binary);
    // Inside the second payload (format 2: segment header, record headers).
    file.seekp(kWalSegmentHeaderBytes + kWalRecordHeaderBytes + 64 + kWalRecordHeaderBytes + 10);
    file.put('y');
  }
  EXPECT_EQ(ReadAll(dir, 0).size(), 1u);
}

TEST(WalTest, RotationStartsANewSegmentAndOldOnesCanBeDeleted) {
  const std::string dir = FreshTestDir("wal-rotate");
  auto log = OpenLog(dir, 5);
  uint64_t ticket = log->Append(Record("old"));
  const uint64_t segment = log->Rotate();
  EXPECT_EQ(segment, 6u);
  EXPECT_EQ(log->bytes_since_rotation(), 0);
  ticket = log->Append(Record("new"));
  ASSERT_TRUE(log->WaitDurable(ticket, absl::Now() + absl::Seconds(10)).ok());
  EXPECT_GT(log->bytes_since_rotation(), 0);
  EXPECT_EQ(WriteAheadLog::ListSegments(dir), (std::vector<uint64_t>{5, 6}));
  EXPECT_EQ(ReadAll(dir, 6), std::vector<std::string>{"new"});
  ASSERT_TRUE(log->DeleteSegmentsBefore(segment).ok());
  EXPECT_EQ(WriteAheadLog::ListSegments(dir), (std::vector<uint64_t>{6}));
  EXPECT_EQ(ReadAll(dir, 0), std::vector<std::string>{"new"});
}

TEST(WalTest, WaitDurableHonoursItsDeadlineOnlyWhenTheRecordIsNotSynced) {
  const std::string dir = FreshTestDir("wal-deadline");
  WriteAheadLog::Options options;
  options.dir = dir;
  options.group_commit = absl::Milliseconds(300);
  auto log = *WriteAheadLog::Open(options);
  const uint64_t ticket = log->Append(Record("slow"));
  // The group waits 300 ms for company: still not durable after 20 ms.
  EXPECT_TRUE(absl::IsDeadlineExceeded(log->WaitDurable(ticket, absl::Now() + absl::Milliseconds(20))));
  EXPECT_TRUE(log->WaitDurable(ticket, absl::Now() + absl::Seconds(10)).ok());
}

}  // namespace
}  // namespace rill::replay
