#include "replay/server/blocked_reporter.h"

#include <memory>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/testing/test_items.h"

namespace rill::replay {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kInsertReason[] =
    "insert blocked: one more insert would raise inserts*samples_per_insert - samples to 4, above "
    "min_size_to_sample*samples_per_insert + error_buffer = 3; waiting for samples (inserts=3, samples=0, "
    "size=3, samples_per_insert=1, error_buffer=2)";
constexpr char kSampleReason[] =
    "sample blocked: the table holds 0 items, fewer than min_size_to_sample 5; waiting for inserts "
    "(inserts=0, samples=0)";

v1::TableInfo Info(double insert_blocked_seconds, double sample_blocked_seconds, const std::string& reason,
                   int64_t inserted = 3) {
  v1::TableInfo info;
  info.set_name("transitions");
  info.set_size(3);
  info.set_items_inserted(inserted);
  info.mutable_rate_limiter()->set_insert_blocked_seconds(insert_blocked_seconds);
  info.mutable_rate_limiter()->set_sample_blocked_seconds(sample_blocked_seconds);
  info.mutable_rate_limiter()->set_blocked_reason(reason);
  return info;
}

const absl::Time kStart = absl::FromUnixSeconds(1000);

TEST(SideReasonTest, SplitsTheTwoSidesOfTheLimitersReason) {
  const std::string both = absl::StrCat(kInsertReason, "; ", kSampleReason);
  EXPECT_EQ(SideReason(both, true), kInsertReason);
  EXPECT_EQ(SideReason(both, false), kSampleReason);
  EXPECT_EQ(SideReason(kSampleReason, true), "");
  EXPECT_EQ(SideReason(kSampleReason, false), kSampleReason);
  EXPECT_EQ(SideReason("", false), "");
}

TEST(BlockedTrackerTest, ReportsAStalledSideEveryIntervalWithHowLongAndWhy) {
  BlockedTracker tracker(0.5, absl::Seconds(60));
  EXPECT_THAT(tracker.Update({Info(0, 0, kInsertReason)}, kStart), IsEmpty());
  std::vector<BlockedLine> lines = tracker.Update({Info(4.5, 0, kInsertReason)}, kStart + absl::Seconds(5));
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0].level, LogLevel::kWarning);
  EXPECT_THAT(lines[0].text, HasSubstr("table 'transitions': inserts stalled for 4.5 s (none in the last 5.0 s): insert blocked:"));
  EXPECT_THAT(lines[0].text, HasSubstr("inserts=3, samples=0"));
  lines = tracker.Update({Info(9.5, 0, kInsertReason)}, kStart + absl::Seconds(10));
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_THAT(lines[0].text, HasSubstr("inserts stalled for 9.5 s"));
}

TEST(BlockedTrackerTest, AThrottledSideIsReportedAtInfoOncePerPeriod) {
  // Inserts wait 90% of the time but keep flowing: the limiter paces them.
  BlockedTracker tracker(0.5, absl::Seconds(60));
  tracker.Update({Info(0, 0, kInsertReason, 100)}, kStart);
  std::vector<BlockedLine> lines = tracker.Update({Info(4.5, 0, kInsertReason, 150)}, kStart + absl::Seconds(5));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].level, LogLevel::kInfo);
  EXPECT_THAT(lines[0].text, HasSubstr("inserts throttled by the rate limiter for 4.5 s (waiting 90% of the last "
                                       "5.0 s, 50 inserted meanwhile): insert blocked:"));
  for (int i = 2; i <= 12; ++i) {
    EXPECT_THAT(tracker.Update({Info(4.5 * i, 0, kInsertReason, 100 + 50 * i)}, kStart + absl::Seconds(5 * i)),
                IsEmpty())
        << "interval " << i;
  }
  // 60 s after the first line, the next.
  lines = tracker.Update({Info(4.5 * 13, 0, kInsertReason, 750)}, kStart + absl::Seconds(65));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0].text, HasSubstr("throttled by the rate limiter for 58.5 s"));
  // Then nothing gets through: a stall, at WARNING, counted from its start.
  lines = tracker.Update({Info(4.5 * 13 + 5, 0, kInsertReason, 750)}, kStart + absl::Seconds(70));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].level, LogLevel::kWarning);
  EXPECT_THAT(lines[0].text, HasSubstr("inserts stalled for 5.0 s"));
}

TEST(BlockedTrackerTest, IgnoresSidesThatWaitedLessThanTheFraction) {
  BlockedTracker tracker(0.5, absl::Seconds(60));
  tracker.Update({Info(0, 0, "")}, kStart);
  EXPECT_THAT(tracker.Update({Info(1.0, 2.0, "")}, kStart + absl::Seconds(5)), IsEmpty());
}

TEST(BlockedTrackerTest, SaysOnceWhenASideIsNoLongerBlocked) {
  BlockedTracker tracker(0.5, absl::Seconds(60));
  tracker.Update({Info(0, 0, kSampleReason)}, kStart);
  std::vector<BlockedLine> lines = tracker.Update({Info(0, 5, kSampleReason)}, kStart + absl::Seconds(5));
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_THAT(lines[0].text, HasSubstr("samples stalled for 5.0 s (none in the last 5.0 s): sample blocked: the table holds 0 items"));
  lines = tracker.Update({Info(0, 6, "")}, kStart + absl::Seconds(10));
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0].level, LogLevel::kInfo);
  EXPECT_THAT(lines[0].text, HasSubstr("samples no longer blocked (were blocked for 6.0 s)"));
  EXPECT_THAT(tracker.Update({Info(0, 6, "")}, kStart + absl::Seconds(15)), IsEmpty());
}

TEST(BlockedTrackerTest, AStretchThatStartsAgainIsTimedAfresh) {
  BlockedTracker tracker(0.5, absl::Seconds(60));
  tracker.Update({Info(0, 0, kInsertReason)}, kStart);
  tracker.Update({Info(5, 0, kInsertReason)}, kStart + absl::Seconds(5));
  tracker.Update({Info(5, 0, "")}, kStart + absl::Seconds(10));
  std::vector<BlockedLine> lines = tracker.Update({Info(8, 0, kInsertReason)}, kStart + absl::Seconds(15));
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_THAT(lines[0].text, HasSubstr("inserts stalled for 3.0 s"));
}

// Collects the reporter's lines; waits for one containing a phrase.
class LineSink {
 public:
  void Add(const BlockedLine& line) {
    absl::MutexLock lock(&mu_);
    lines_.push_back(line.text);
  }
  // The first line containing `phrase`, or "" after the timeout.
  std::string WaitFor(const std::string& phrase, absl::Duration timeout) {
    std::string found;
    auto has = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const std::string& line : lines_) {
        if (line.find(phrase) != std::string::npos) {
          found = line;
          return true;
        }
      }
      return false;
    };
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&has), timeout);
    return found;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

TEST(BlockedReporterTest, LogsWhyARealTableBlocksItsWritersAndWhenTheyMoveAgain) {
  // samples_per_insert 1, error_buffer 2, min size 1: three inserts, then
  // inserts wait for samples.
  absl::StatusOr<std::unique_ptr<Table>> table = Table::Create(TestTableConfig(100, 1, 1, 2));
  ASSERT_TRUE(table.ok()) << table.status();
  std::vector<uint64_t> stored;
  ASSERT_TRUE((*table)->Insert(TestInsertRequest({1, 2, 3}), absl::Now() + absl::Seconds(10), &stored).ok());

  LineSink sink;
  BlockedReporterOptions options;
  options.interval = absl::Milliseconds(20);
  options.sink = [&sink](const BlockedLine& line) { sink.Add(line); };
  BlockedReporter reporter({table->get()}, options);

  absl::Status insert_status;
  std::thread writer([&] {
    std::vector<uint64_t> keys;
    insert_status = (*table)->Insert(TestInsertRequest({4}), absl::Now() + absl::Seconds(30), &keys);
  });
  const std::string blocked = sink.WaitFor("inserts stalled for", absl::Seconds(10));
  EXPECT_THAT(blocked, HasSubstr("table 'transitions': inserts stalled for"));
  EXPECT_THAT(blocked, HasSubstr("waiting for samples (inserts=3, samples=0, size=3"));

  v1::SampleResponse response;
  ASSERT_TRUE((*table)->Sample(2, absl::Now() + absl::Seconds(10), &response).ok());
  writer.join();
  EXPECT_TRUE(insert_status.ok()) << insert_status;
  EXPECT_THAT(sink.WaitFor("inserts no longer blocked", absl::Seconds(10)),
              HasSubstr("table 'transitions': inserts no longer blocked"));
  EXPECT_EQ(sink.WaitFor("samples blocked", absl::ZeroDuration()), "");
}

}  // namespace
}  // namespace rill::replay
