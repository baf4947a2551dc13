// One table's checkpoint file on its own: a snapshot written with
// WriteTableFile reads back (ReadTableHeader, RestoreTableFile) into a fresh
// table holding the same items, bytes and counters, for columns stored as
// is, compressed or in shared planes; a file that is not a table's is
// DataLoss naming it.
#include "replay/durability/table_file.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "replay/durability/record_file.h"
#include "replay/table.h"
#include "replay/testing/table_testing.h"
#include "replay/testing/test_items.h"

namespace rill::replay {
namespace {

// Writes `table`'s file and restores it into a fresh table of `config`.
std::unique_ptr<Table> RoundTrip(const Table& table, const v1::TableConfig& config, const std::string& name) {
  const std::string path = FreshTestDir(name) + "/table-0.rtbl";
  EXPECT_TRUE(WriteTableFile(path, config, table.Snapshot()).ok());
  absl::StatusOr<RecordReader> reader = RecordReader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return nullptr;
  absl::StatusOr<v1::TableConfig> header = ReadTableHeader(*reader, path);
  EXPECT_TRUE(header.ok()) << header.status();
  if (!header.ok()) return nullptr;
  EXPECT_EQ(header->SerializeAsString(), config.SerializeAsString());
  std::unique_ptr<Table> restored = MakeTable(config);
  const absl::Status status = RestoreTableFile(*reader, path, *header, restored.get());
  EXPECT_TRUE(status.ok()) << status;
  return restored;
}

void ExpectSameCounters(const Table& a, const Table& b) {
  const TableStats x = a.Stats();
  const TableStats y = b.Stats();
  EXPECT_EQ(x.size, y.size);
  EXPECT_EQ(x.bytes, y.bytes);
  EXPECT_EQ(x.items_inserted, y.items_inserted);
  EXPECT_EQ(x.items_sampled, y.items_sampled);
  EXPECT_EQ(x.items_evicted, y.items_evicted);
}

TEST(TableFileTest, RestoresTheItemsAndCountersItWrote) {
  const v1::TableConfig config = TestTableConfig(16);
  std::unique_ptr<Table> table = MakeTable(config);
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->Insert(TestInsertRequest(Range(1, 13)), absl::InfiniteFuture(), &stored).ok());
  ASSERT_TRUE(table->Insert(TestInsertRequest(Range(13, 25)), absl::InfiniteFuture(), &stored).ok());
  v1::SampleResponse batch;
  ASSERT_TRUE(table->Sample(4, absl::InfiniteFuture(), &batch).ok());

  std::unique_ptr<Table> restored = RoundTrip(*table, config, "table_file_plain");
  ASSERT_NE(restored, nullptr);
  ExpectSameCounters(*table, *restored);
  v1::SampleResponse sampled;
  ASSERT_TRUE(restored->Sample(16, absl::InfiniteFuture(), &sampled).ok());
  EXPECT_TRUE(RowsMatchKeys(sampled));
  for (uint64_t key : sampled.keys()) EXPECT_GE(key, 9u);  // 1..8 were evicted
}

TEST(TableFileTest, RestoresCompressedFramesAndSharedPlanes) {
  for (const v1::TableConfig& config : {FrameTableConfig(32, /*compressed=*/true),
                                        StackTableConfig(32, /*share_planes=*/true)}) {
    std::unique_ptr<Table> table = MakeTable(config);
    const bool frames = config.name() == kFrameTable;
    std::vector<uint64_t> stored;
    ASSERT_TRUE(table
                    ->Insert(frames ? FrameInsertRequest(Range(0, 20)) : StackInsertRequest(Range(0, 20)),
                             absl::InfiniteFuture(), &stored)
                    .ok());
    std::unique_ptr<Table> restored = RoundTrip(*table, config, "table_file_" + config.name());
    ASSERT_NE(restored, nullptr);
    ExpectSameCounters(*table, *restored);
    v1::SampleResponse sampled;
    ASSERT_TRUE(restored->Sample(20, absl::InfiniteFuture(), &sampled).ok());
    EXPECT_TRUE(frames ? FrameRowsMatchKeys(sampled) : StackRowsMatchKeys(sampled)) << config.name();
  }
}

TEST(TableFileTest, AFileThatIsNotATablesIsDataLossNamingIt) {
  const std::string path = FreshTestDir("table_file_bad") + "/table-0.rtbl";
  {
    absl::StatusOr<RecordWriter> writer = RecordWriter::Create(path);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE(writer->Write("NOTATABLE").ok());
    ASSERT_TRUE(writer->SyncAndClose().ok());
  }
  absl::StatusOr<RecordReader> reader = RecordReader::Open(path);
  ASSERT_TRUE(reader.ok());
  const absl::StatusOr<v1::TableConfig> header = ReadTableHeader(*reader, path);
  EXPECT_EQ(header.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(header.status().message().find(path), std::string::npos) << header.status();
}

}  // namespace
}  // namespace rill::replay
