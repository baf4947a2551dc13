#include "replay/table_config.h"

#include "absl/strings/str_cat.h"
#include "common/os.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
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

v1::TableConfig WithCompression(const std::string& column, v1::TableConfig::ColumnCompression::Codec codec,
                                int level = 0) {
  v1::TableConfig config = FrameTableConfig(1000, /*compressed=*/false);
  v1::TableConfig::ColumnCompression* entry = config.add_compression();
  entry->set_column(column);
  entry->set_codec(codec);
  entry->set_level(level);
  return config;
}

constexpr auto kZstd = v1::TableConfig::ColumnCompression::ZSTD;

TEST(TableConfigTest, CompressionOfAColumnOfTheSignatureIsAccepted) {
  EXPECT_FALSE(FindTableConfigIssue(WithCompression("frame", kZstd)).has_value());
  EXPECT_FALSE(FindTableConfigIssue(WithCompression("frame", kZstd, 19)).has_value());
  EXPECT_FALSE(FindTableConfigIssue(WithCompression("frame", kZstd, -5)).has_value());
  EXPECT_FALSE(FindTableConfigIssue(WithCompression("action", v1::TableConfig::ColumnCompression::NONE)).has_value());
}

TEST(TableConfigTest, CompressionOfAColumnNotInTheSignatureIsRefusedNamingIt) {
  std::optional<FieldIssue> issue = FindTableConfigIssue(WithCompression("obs", kZstd));
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "compression[0].column");
  EXPECT_EQ(issue->why, "'obs' is not a column of the signature (frame, action)");
  EXPECT_THAT(CheckTableConfig(WithCompression("obs", kZstd)).message(),
              HasSubstr("table 'frames': compression[0].column 'obs' is not a column of the signature"));
  EXPECT_THAT(Table::Create(WithCompression("obs", kZstd)).status().message(),
              HasSubstr("compression[0].column 'obs' is not a column"));

  issue = FindTableConfigIssue(WithCompression("", kZstd));
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "compression[0].column");
}

TEST(TableConfigTest, ACompressedColumnListedTwiceIsRefused) {
  v1::TableConfig config = WithCompression("frame", kZstd);
  *config.add_compression() = config.compression(0);
  std::optional<FieldIssue> issue = FindTableConfigIssue(config);
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "compression[1].column");
  EXPECT_THAT(issue->why, HasSubstr("'frame' is listed twice (also in compression[0])"));
}

TEST(TableConfigTest, UnknownCodecIsRefusedNamingTheField) {
  std::optional<FieldIssue> issue =
      FindTableConfigIssue(WithCompression("frame", static_cast<v1::TableConfig::ColumnCompression::Codec>(7)));
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "compression[0].codec");
  EXPECT_EQ(issue->why, "7 is not a known codec (NONE, ZSTD)");
}

TEST(TableConfigTest, AWrongCodecNameInTheTextConfigIsRefusedNamingIt) {
  v1::TableConfig config;
  google::protobuf::TextFormat::Parser parser;
  struct Errors : google::protobuf::io::ErrorCollector {
    void AddError(int line, int column, const std::string& message) override {
      text += absl::StrCat(line + 1, ":", column + 1, ": ", message);
    }
    std::string text;
  } errors;
  parser.RecordErrorsTo(&errors);
  EXPECT_FALSE(parser.ParseFromString(R"(compression { column: "frame" codec: LZ4 })", &config));
  EXPECT_THAT(errors.text, HasSubstr("\"LZ4\""));
  EXPECT_THAT(errors.text, HasSubstr("codec"));
}

TEST(TableConfigTest, ZstdLevelOutOfRangeIsRefused) {
  for (int level : {23, 1000, -101}) {
    std::optional<FieldIssue> issue = FindTableConfigIssue(WithCompression("frame", kZstd, level));
    ASSERT_TRUE(issue.has_value()) << level;
    EXPECT_EQ(issue->field, "compression[0].level");
    EXPECT_THAT(issue->why, HasSubstr("is out of range: zstd takes 1..22, or a fast level -100..-1"));
  }
  std::optional<FieldIssue> issue =
      FindTableConfigIssue(WithCompression("frame", v1::TableConfig::ColumnCompression::NONE, 3));
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "compression[0].level");
  EXPECT_THAT(issue->why, HasSubstr("with codec NONE"));
}

TEST(TableConfigTest, CompressedTableIsBoundedByMaxSizeAndItsBytesByMaxBytes) {
  v1::TableConfig config = WithCompression("frame", kZstd);
  config.set_max_bytes(4000);  // 9 uncompressed items of 408 bytes
  EXPECT_EQ(TableCapacity(config), 1000);
  config.set_max_bytes(7);  // not even one item's uncompressed action
  std::optional<FieldIssue> issue = FindTableConfigIssue(config);
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "max_bytes");
  EXPECT_THAT(issue->why, HasSubstr("smaller than one item's uncompressed columns (8 bytes)"));
}

TEST(TableConfigTest, CompressedTableBeyondMemoryIsRefusedUnlessMaxBytesBoundsIt) {
  // 4 MiB frames: 2^20 of them are 4 TiB if they do not compress.
  v1::TableConfig config = WithCompression("frame", kZstd);
  config.mutable_signature()->mutable_columns(0)->set_shape(0, 1 << 20);
  config.mutable_signature()->mutable_columns(0)->set_shape(1, 2);
  config.mutable_signature()->mutable_columns(0)->set_shape(2, 2);
  config.set_max_size(1 << 20);
  std::optional<FieldIssue> issue = FindTableConfigIssue(config);
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "max_size");
  EXPECT_THAT(issue->why, HasSubstr("which bounds the compressed bytes"));
  config.set_max_bytes(PhysicalMemoryBytes() / 4);
  EXPECT_FALSE(FindTableConfigIssue(config).has_value());
}

TEST(TableConfigTest, SharedPlanesAreAcceptedForStacksAndRefusedWhereTheyCannotWork) {
  EXPECT_FALSE(FindTableConfigIssue(StackTableConfig(1000, /*share_planes=*/true)).has_value());
  EXPECT_EQ(SharedPlaneBytes(StackTableConfig(1000, true)), kTestPlaneBytes);
  EXPECT_EQ(SharedPlaneBytes(StackTableConfig(1000, false)), 0);
  // max_bytes bounds the bytes held, not the item count.
  v1::TableConfig bounded = StackTableConfig(1000, true);
  bounded.set_max_bytes(100 * kTestPlaneBytes);
  EXPECT_EQ(TableCapacity(bounded), 1000);

  v1::TableConfig zstd = StackTableConfig(1000, true);
  zstd.mutable_compression(1)->set_codec(kZstd);
  std::optional<FieldIssue> issue = FindTableConfigIssue(zstd);
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "compression[1].codec");
  EXPECT_THAT(issue->why, HasSubstr("ZSTD with share_planes"));

  v1::TableConfig flat = StackTableConfig(1000, true);
  v1::TableConfig::ColumnCompression* action = flat.add_compression();
  action->set_column("action");
  action->set_share_planes(true);
  issue = FindTableConfigIssue(flat);
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "compression[2].share_planes");
  EXPECT_THAT(issue->why, HasSubstr("needs items of rank >= 3"));
  EXPECT_THAT(issue->why, HasSubstr("column 'action' has items of shape []"));

  // A flat column names its plane size.
  v1::TableConfig flat_stacks = StackTableConfig(1000, false);
  for (int c = 0; c < 2; ++c) {
    v1::ColumnSpec* column = flat_stacks.mutable_signature()->mutable_columns(c);
    column->clear_shape();
    column->add_shape(kTestStack * kTestPlaneBytes);
    v1::TableConfig::ColumnCompression* entry = flat_stacks.add_compression();
    entry->set_column(column->name());
    entry->set_share_planes(true);
    entry->set_plane_size(kTestPlaneBytes);
  }
  EXPECT_FALSE(FindTableConfigIssue(flat_stacks).has_value());
  EXPECT_EQ(SharedPlaneBytes(flat_stacks), kTestPlaneBytes);
  flat_stacks.mutable_compression(1)->set_plane_size(60);
  issue = FindTableConfigIssue(flat_stacks);
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "compression[1].plane_size");
  EXPECT_THAT(issue->why, HasSubstr("60 does not divide column 'next_obs''s items of shape [256]"));
  flat_stacks.mutable_compression(1)->set_plane_size(kTestPlaneBytes);
  flat_stacks.mutable_compression(1)->set_share_planes(false);
  issue = FindTableConfigIssue(flat_stacks);
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "compression[1].plane_size");
  EXPECT_THAT(issue->why, HasSubstr("is only for share_planes"));

  v1::TableConfig mixed = StackTableConfig(1000, true);
  mixed.mutable_signature()->mutable_columns(1)->set_shape(2, 16);  // next_obs [4, 8, 16]
  issue = FindTableConfigIssue(mixed);
  ASSERT_TRUE(issue.has_value());
  EXPECT_EQ(issue->field, "compression[1].share_planes");
  EXPECT_THAT(issue->why, HasSubstr("one plane size"));
  EXPECT_THAT(CheckTableConfig(mixed).message(),
              HasSubstr("table 'stacks': compression[1].share_planes column 'next_obs' has planes of 128 bytes"));
}

}  // namespace
}  // namespace rill::replay
