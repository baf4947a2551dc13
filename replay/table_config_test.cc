#include "replay/table_config.h"

#include "common/os.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/table.h"
#include "replay/testing/test_items.h"

namespace rill::replay {
namespace {

using ::testing::HasSubstr;

// The config's rules state the limits Table applies.
static_assert(kMaxSampleBatchItems == Table::kMaxSampleBatchSize);
static_assert(kMaxSampleBatchBytes == Table::kMaxSampleBytes);

// A table of `max_size` items of `floats` float32s each.
v1::TableConfig WideTable(int64_t max_size, int64_t floats) {
  v1::TableConfig config = TestTableConfig(max_size);
  config.mutable_signature()->mutable_columns(0)->set_shape(0, floats);
  return config;
}

TEST(TableConfigTest, StorageBeyondThisMachinesMemoryIsRefusedNamingMaxSize) {
  // 4 MiB items: a table of 2^20 of them needs 4 TiB.
  std::optional<FieldIssue> issue = FindTableConfigIssue(WideTable(1 << 20, 1 << 20));
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "max_size");
  EXPECT_THAT(issue->why, HasSubstr("need 4.0 TiB, more than this machine's"));
  EXPECT_THAT(CheckTableConfig(WideTable(1 << 20, 1 << 20)).message(), HasSubstr("table 'transitions': max_size"));
}

TEST(TableConfigTest, StorageBoundedByMaxBytesIsRefusedNamingMaxBytesAndAcceptedWithinMemory) {
  v1::TableConfig config = WideTable(int64_t{1} << 26, 1 << 16);
  config.set_max_bytes(PhysicalMemoryBytes() * 2);
  std::optional<FieldIssue> issue = FindTableConfigIssue(config);
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "max_bytes");
  config.set_max_bytes(PhysicalMemoryBytes() / 4);
  EXPECT_FALSE(FindTableConfigIssue(config).has_value());
}

TEST(TableConfigTest, SampleBatchWithinEveryLimitHasNoIssue) {
  EXPECT_FALSE(FindSampleBatchIssue(TestTableConfig(1000), 256, 64 << 20).has_value());
  // A uniform table samples with replacement: a batch may exceed its size.
  EXPECT_FALSE(FindSampleBatchIssue(TestTableConfig(10), 256, 64 << 20).has_value());
}

TEST(TableConfigTest, SampleBatchOutOfRangeIsAnIssue) {
  for (int64_t batch : {int64_t{0}, int64_t{-1}, kMaxSampleBatchItems + 1}) {
    std::optional<FieldIssue> issue = FindSampleBatchIssue(TestTableConfig(1000), batch, 64 << 20);
    ASSERT_TRUE(issue.has_value()) << batch;
    EXPECT_THAT(issue->why, HasSubstr("out of range: one sample holds 1..1048576 items"));
  }
}

TEST(TableConfigTest, SampleBatchOverTheMessageLimitIsAnIssue) {
  // 16-byte items: a batch of 256 needs 256 * (16 + 18) + 2 * 64 + 1024 bytes.
  EXPECT_EQ(SampleBatchBytes(TestTableConfig(1000), 256), 9856);
  EXPECT_FALSE(FindSampleBatchIssue(TestTableConfig(1000), 256, 9856).has_value());
  std::optional<FieldIssue> issue = FindSampleBatchIssue(TestTableConfig(1000), 256, 9855);
  ASSERT_TRUE(issue.has_value());
  EXPECT_THAT(issue->why, HasSubstr("needs about 9856 bytes, over replay.max_message_bytes 9855"));
}

TEST(TableConfigTest, SampleBatchOverTheSamplePayloadLimitIsAnIssue) {
  // 4 MiB items: 257 of them are over 1 GiB.
  std::optional<FieldIssue> issue = FindSampleBatchIssue(WideTable(1000, 1 << 20), 257, int64_t{1} << 31);
  ASSERT_TRUE(issue.has_value());
  EXPECT_THAT(issue->why, HasSubstr("over the 1.0 GiB one sample may hold"));
}

TEST(TableConfigTest, FifoBatchAboveTheQueuesCapacityIsAnIssue) {
  v1::TableConfig config = TestTableConfig(64);
  config.mutable_selector()->mutable_fifo();
  EXPECT_FALSE(FindSampleBatchIssue(config, 64, 64 << 20).has_value());
  std::optional<FieldIssue> issue = FindSampleBatchIssue(config, 65, 64 << 20);
  ASSERT_TRUE(issue.has_value());
  EXPECT_THAT(issue->why, HasSubstr("exceeds the capacity 64"));
}

}  // namespace
}  // namespace rill::replay
