// Table with compressed columns (TableConfig.compression): what it stores,
// what it samples, how it counts bytes, and how it restores and replays
// items of either codec. The frame table of test_items.h: "frame" uint8
// [4, 10, 10] (400 bytes, a sparse pattern of its key) and "action" int64.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/table.h"
#include "replay/testing/table_testing.h"
#include "replay/testing/test_items.h"

namespace rill::replay {
namespace {

using ::testing::HasSubstr;
using Compression = v1::TableConfig::ColumnCompression;

constexpr int64_t kPlainItemBytes = kTestFrameBytes + 8;

void Fill(Table& table, uint64_t begin, uint64_t end) {
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table.Insert(FrameInsertRequest(Range(begin, end)), Later(), &stored).ok());
  ASSERT_EQ(stored.size(), end - begin);
}

TEST(TableCompressionTest, CompressedTableSamplesTheOriginalBytes) {
  std::unique_ptr<Table> table = MakeTable(FrameTableConfig(1000, /*compressed=*/true));
  ASSERT_TRUE(table->codecs()[0].compresses());
  EXPECT_FALSE(table->codecs()[1].compresses());
  Fill(*table, 0, 300);
  for (int batch = 0; batch < 5; ++batch) {
    v1::SampleResponse response;
    ASSERT_TRUE(table->Sample(128, Later(), &response).ok());
    ASSERT_EQ(response.keys_size(), 128);
    EXPECT_TRUE(FrameRowsMatchKeys(response));
    EXPECT_EQ(response.columns(0).dtype(), v1::DTYPE_UINT8);
  }
}

TEST(TableCompressionTest, BytesCountWhatTheTableHoldsCompressed) {
  std::unique_ptr<Table> plain = MakeTable(FrameTableConfig(1000, false));
  std::unique_ptr<Table> compressed = MakeTable(FrameTableConfig(1000, true));
  Fill(*plain, 0, 100);
  Fill(*compressed, 0, 100);
  EXPECT_EQ(plain->Stats().bytes, 100 * kPlainItemBytes);
  EXPECT_EQ(plain->Info().bytes(), 100 * kPlainItemBytes);
  const int64_t bytes = compressed->Stats().bytes;
  EXPECT_EQ(compressed->Info().bytes(), bytes);
  // The 8-byte actions as they are, the frames at well under half their size.
  EXPECT_GT(bytes, 100 * 8 + 100 * 20);
  EXPECT_LT(bytes, 100 * 8 + 100 * kTestFrameBytes / 2);
  EXPECT_EQ(compressed->item_bytes(), kPlainItemBytes);  // what a sample holds
}

TEST(TableCompressionTest, EvictionAndSamplingOutReleaseTheirBytes) {
  std::unique_ptr<Table> table = MakeTable(FrameTableConfig(10, true));
  Fill(*table, 0, 10);
  const int64_t ten = table->Stats().bytes;
  for (uint64_t k = 10; k < 40; k += 10) Fill(*table, k, k + 10);  // evicts 30
  EXPECT_EQ(table->Stats().size, 10);
  EXPECT_NEAR(static_cast<double>(table->Stats().bytes), static_cast<double>(ten), 0.5 * static_cast<double>(ten));

  v1::TableConfig queue_config = FrameTableConfig(100, true);
  queue_config.mutable_selector()->mutable_fifo();
  std::unique_ptr<Table> queue = MakeTable(queue_config);
  Fill(*queue, 0, 20);
  v1::SampleResponse response;
  ASSERT_TRUE(queue->Sample(20, Later(), &response).ok());
  EXPECT_TRUE(FrameRowsMatchKeys(response));
  EXPECT_EQ(queue->Stats().size, 0);
  EXPECT_EQ(queue->Stats().bytes, 0);
}

TEST(TableCompressionTest, MaxBytesBoundsTheCompressedBytesAndHoldsMoreItemsThanUncompressed) {
  constexpr int64_t kMaxBytes = 50 * kPlainItemBytes;  // 50 uncompressed items
  v1::TableConfig config = FrameTableConfig(10000, true);
  config.set_max_bytes(kMaxBytes);
  std::unique_ptr<Table> table = MakeTable(config);
  EXPECT_EQ(table->capacity(), 10000);
  for (uint64_t k = 0; k < 2000; k += 100) {
    Fill(*table, k, k + 100);
    EXPECT_LE(table->Stats().bytes, kMaxBytes);
  }
  EXPECT_GT(table->Stats().size, 100);  // more than twice the uncompressed 50
  // The oldest went first: the newest item is still there.
  v1::SampleResponse response;
  ASSERT_TRUE(table->Sample(200, Later(), &response).ok());
  EXPECT_TRUE(FrameRowsMatchKeys(response));
  for (uint64_t key : response.keys()) EXPECT_GE(key, 2000 - static_cast<uint64_t>(table->Stats().size));

  v1::TableConfig plain = FrameTableConfig(10000, false);
  plain.set_max_bytes(kMaxBytes);
  EXPECT_EQ(MakeTable(plain)->capacity(), 50);
}

TEST(TableCompressionTest, PrepareTakesTheRequestAndInsertPreparedStoresIt) {
  std::unique_ptr<Table> table = MakeTable(FrameTableConfig(100, true));
  v1::InsertRequest request = FrameInsertRequest({5, 6, 7});
  EncodedInsert prepared;
  ASSERT_TRUE(table->Prepare(&request, &prepared).ok());
  EXPECT_EQ(request.keys_size(), 0);  // taken
  EXPECT_EQ(prepared.codec(0), Compression::ZSTD);
  EXPECT_LT(prepared.request().columns(0).data().size(), 3 * kTestFrameBytes);
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table->InsertPrepared(prepared, Later(), &stored).ok());
  EXPECT_EQ(stored, (std::vector<uint64_t>{5, 6, 7}));
  // A retry of the same prepared request is acknowledged, not stored twice.
  ASSERT_TRUE(table->InsertPrepared(prepared, Later(), &stored).ok());
  EXPECT_EQ(table->Stats().size, 3);
}

TEST(TableCompressionTest, InsertPreparedRefusesARequestInAnotherCodec) {
  std::unique_ptr<Table> table = MakeTable(FrameTableConfig(100, true));
  const v1::InsertRequest request = FrameInsertRequest({1});
  EncodedInsert plain;
  EncodedInsert::BorrowPlain(request, &plain);
  std::vector<uint64_t> stored;
  absl::Status st = table->InsertPrepared(plain, Later(), &stored);
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_THAT(st.message(), HasSubstr("column 'frame' of the request is not in the table's codec (zstd level"));
  EXPECT_EQ(table->Stats().size, 0);
}

TEST(TableCompressionTest, BadRequestIsRefusedBeforeAnythingIsCompressed) {
  std::unique_ptr<Table> table = MakeTable(FrameTableConfig(100, true));
  v1::InsertRequest request = FrameInsertRequest({1, 2});
  request.mutable_columns(0)->mutable_data()->resize(799);
  EncodedInsert prepared;
  absl::Status st = table->Prepare(&request, &prepared);
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_THAT(st.message(), HasSubstr("table 'frames': columns[0]"));
  EXPECT_EQ(request.keys_size(), 2);  // left as it was
}

// The snapshot of `table` as RestoreItems takes it: rows in insertion order.
struct Restorable {
  TableSnapshot snapshot;
  std::vector<std::string> columns;                 // per column, rows in order
  std::vector<std::vector<uint32_t>> sizes;         // per compressed column
  std::vector<uint64_t> keys;
  std::vector<int32_t> times_sampled;
  RestoredItems items() const {
    RestoredItems items;
    items.count = static_cast<int64_t>(keys.size());
    items.keys = keys.data();
    items.times_sampled = times_sampled.data();
    items.codecs = snapshot.codecs;
    for (size_t c = 0; c < columns.size(); ++c) {
      items.columns.push_back(columns[c].data());
      items.sizes.push_back(sizes[c].empty() ? nullptr : sizes[c].data());
    }
    return items;
  }
};

Restorable SnapshotOf(const Table& table) {
  Restorable r;
  r.snapshot = table.Snapshot();
  const TableSnapshot& s = r.snapshot;
  r.columns.resize(s.column_item_bytes.size());
  r.sizes.resize(s.column_item_bytes.size());
  for (int64_t row : s.order) {
    r.keys.push_back(s.keys[static_cast<size_t>(row)]);
    r.times_sampled.push_back(s.times_sampled[static_cast<size_t>(row)]);
    for (size_t c = 0; c < s.column_item_bytes.size(); ++c) {
      if (s.columns[c] != nullptr) {
        r.columns[c].append(s.columns[c].get() + row * s.column_item_bytes[c],
                            static_cast<size_t>(s.column_item_bytes[c]));
        continue;
      }
      const std::vector<uint64_t>& offsets = s.stored_offsets[c];
      const size_t begin = offsets[static_cast<size_t>(row)], end = offsets[static_cast<size_t>(row) + 1];
      r.columns[c].append(s.stored[c].data() + begin, end - begin);
      r.sizes[c].push_back(static_cast<uint32_t>(end - begin));
    }
  }
  return r;
}

TEST(TableCompressionTest, SnapshotKeepsTheFramesAndRestoresIntoEitherCodec) {
  std::unique_ptr<Table> source = MakeTable(FrameTableConfig(1000, true));
  Fill(*source, 100, 400);
  const Restorable restorable = SnapshotOf(*source);
  EXPECT_EQ(restorable.snapshot.bytes, source->Stats().bytes);
  EXPECT_EQ(restorable.snapshot.codecs[0], Compression::ZSTD);
  ASSERT_EQ(restorable.keys.size(), 300u);

  for (bool compressed : {true, false}) {
    std::unique_ptr<Table> restored = MakeTable(FrameTableConfig(1000, compressed));
    ASSERT_TRUE(restored->RestoreItems(restorable.items()).ok()) << compressed;
    ASSERT_TRUE(restored->RestoreCounters(1.0, 300, 0, 0).ok());
    EXPECT_EQ(restored->Stats().size, 300);
    EXPECT_EQ(restored->Stats().bytes, compressed ? source->Stats().bytes : 300 * kPlainItemBytes);
    v1::SampleResponse response;
    ASSERT_TRUE(restored->Sample(256, Later(), &response).ok());
    EXPECT_TRUE(FrameRowsMatchKeys(response)) << compressed;
  }
}

TEST(TableCompressionTest, UncompressedItemsRestoreIntoACompressedTable) {
  std::unique_ptr<Table> source = MakeTable(FrameTableConfig(1000, false));
  Fill(*source, 0, 50);
  const Restorable restorable = SnapshotOf(*source);
  EXPECT_TRUE(restorable.snapshot.codecs.size() == 2 && restorable.snapshot.codecs[0] == Compression::NONE);
  std::unique_ptr<Table> restored = MakeTable(FrameTableConfig(1000, true));
  ASSERT_TRUE(restored->RestoreItems(restorable.items()).ok());
  ASSERT_TRUE(restored->RestoreCounters(1.0, 50, 0, 0).ok());
  EXPECT_LT(restored->Stats().bytes, source->Stats().bytes);
  v1::SampleResponse response;
  ASSERT_TRUE(restored->Sample(64, Later(), &response).ok());
  EXPECT_TRUE(FrameRowsMatchKeys(response));
}

TEST(TableCompressionTest, RestoredCorruptFrameIsDataLossNamingColumnAndKeyAndNothingIsStored) {
  std::unique_ptr<Table> source = MakeTable(FrameTableConfig(1000, true));
  Fill(*source, 0, 10);
  Restorable restorable = SnapshotOf(*source);
  // The fourth item's frame: its magic number broken.
  size_t at = 0;
  for (int i = 0; i < 3; ++i) at += restorable.sizes[0][static_cast<size_t>(i)];
  restorable.columns[0][at] = static_cast<char>(restorable.columns[0][at] ^ 0xff);
  std::unique_ptr<Table> restored = MakeTable(FrameTableConfig(1000, true));
  absl::Status st = restored->RestoreItems(restorable.items());
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("table 'frames': column 'frame' of the restored item with key 3"));
  EXPECT_EQ(restored->Stats().size, 0);
}

TEST(TableCompressionTest, ReplayedLogRecordsOfEitherCodecAreStored) {
  std::unique_ptr<Table> writer = MakeTable(FrameTableConfig(100, true));
  v1::InsertRequest request = FrameInsertRequest(Range(0, 20));
  EncodedInsert prepared;
  ASSERT_TRUE(writer->Prepare(&request, &prepared).ok());
  std::string compressed_record;
  prepared.AppendLogRecord(&compressed_record);
  const std::string plain_record = FrameInsertRequest(Range(20, 40)).SerializeAsString();

  for (bool compressed : {true, false}) {
    std::unique_ptr<Table> table = MakeTable(FrameTableConfig(100, compressed));
    for (const std::string& record : {compressed_record, plain_record}) {
      EncodedInsert parsed;
      ASSERT_TRUE(EncodedInsert::ParseLogRecord(record, &parsed).ok());
      ASSERT_TRUE(table->ReplayInsert(&parsed).ok()) << compressed;
    }
    EXPECT_EQ(table->Stats().size, 40);
    v1::SampleResponse response;
    ASSERT_TRUE(table->Sample(100, Later(), &response).ok());
    EXPECT_TRUE(FrameRowsMatchKeys(response)) << compressed;
  }
}

TEST(TableCompressionTest, ReplayedRecordWithACorruptFrameIsDataLossAndNothingIsStored) {
  std::unique_ptr<Table> writer = MakeTable(FrameTableConfig(100, true));
  v1::InsertRequest request = FrameInsertRequest(Range(0, 5));
  EncodedInsert prepared;
  ASSERT_TRUE(writer->Prepare(&request, &prepared).ok());
  std::string record;
  prepared.AppendLogRecord(&record);
  const size_t at = record.find(std::string(prepared.item(0, 2)));
  ASSERT_NE(at, std::string::npos);
  record[at + 1] = static_cast<char>(record[at + 1] ^ 0xff);  // inside the frame's magic number

  std::unique_ptr<Table> table = MakeTable(FrameTableConfig(100, true));
  EncodedInsert parsed;
  ASSERT_TRUE(EncodedInsert::ParseLogRecord(record, &parsed).ok());
  absl::Status st = table->ReplayInsert(&parsed);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("table 'frames': columns[0] ('frame') item 2 (key 2)"));
  EXPECT_EQ(table->Stats().size, 0);
}

TEST(TableCompressionTest, ConcurrentInsertsAndSamplesStayBitExact) {
  std::unique_ptr<Table> table = MakeTable(FrameTableConfig(500, true));
  Fill(*table, 0, 100);
  std::vector<std::thread> threads;
  std::atomic<bool> mismatch{false};
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      for (uint64_t k = 0; k < 2000; k += 50) {
        const uint64_t base = 1000000 * static_cast<uint64_t>(w + 1) + k;
        std::vector<uint64_t> stored;
        EXPECT_TRUE(table->Insert(FrameInsertRequest(Range(base, base + 50)), Later(), &stored).ok());
      }
    });
  }
  for (int s = 0; s < 2; ++s) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        v1::SampleResponse response;
        EXPECT_TRUE(table->Sample(64, Later(), &response).ok());
        if (!FrameRowsMatchKeys(response)) mismatch = true;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_FALSE(mismatch);
}

}  // namespace
}  // namespace rill::replay
