// Table with columns that share planes (TableConfig.compression
// share_planes): the stack table of test_items.h, whose transition t holds
// frames t .. t+3 in obs and t+1 .. t+4 in next_obs. What it samples, how
// many bytes it holds as items come and go, and how max_bytes, retries and
// write-ahead-log replay treat shared planes.
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/encoded_insert.h"
#include "replay/table.h"
#include "replay/testing/table_testing.h"
#include "replay/testing/test_items.h"

namespace rill::replay {
namespace {

constexpr int64_t kActionBytes = 8;

// Inserts transitions [begin, end) as Insert does.
void Fill(Table& table, uint64_t begin, uint64_t end) {
  std::vector<uint64_t> stored;
  const absl::Status status = table.Insert(StackInsertRequest(Range(begin, end)), Later(), &stored);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(stored.size(), end - begin);
}

// Inserts them as the replay service does: prepared (planes hashed) first.
void FillPrepared(Table& table, uint64_t begin, uint64_t end) {
  v1::InsertRequest request = StackInsertRequest(Range(begin, end));
  EncodedInsert prepared;
  ASSERT_TRUE(table.Prepare(&request, &prepared).ok());
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table.InsertPrepared(prepared, Later(), &stored).ok());
  ASSERT_EQ(stored.size(), end - begin);
}

// Bytes of a table holding transitions [first, last]: frames first ..
// last + kTestStack once each, and the actions.
int64_t SharedBytes(int64_t first, int64_t last) {
  return (last + kTestStack - first + 1) * kTestPlaneBytes + (last - first + 1) * kActionBytes;
}

void ExpectSamplesMatch(Table& table, int batch) {
  v1::SampleResponse response;
  ASSERT_TRUE(table.Sample(batch, Later(), &response).ok());
  ASSERT_EQ(response.keys_size(), batch);
  EXPECT_TRUE(StackRowsMatchKeys(response));
}

TEST(TablePlanesTest, SamplesTheOriginalStacksBitForBit) {
  std::unique_ptr<Table> table = MakeTable(StackTableConfig(1000, /*share_planes=*/true));
  Fill(*table, 0, 150);
  FillPrepared(*table, 150, 300);
  for (int batch = 0; batch < 5; ++batch) ExpectSamplesMatch(*table, 128);
  EXPECT_EQ(table->item_bytes(), 2 * kTestStack * kTestPlaneBytes + kActionBytes);  // what a sample holds
}

TEST(TablePlanesTest, HoldsEachDistinctFrameOnce) {
  std::unique_ptr<Table> plain = MakeTable(StackTableConfig(1000, false));
  std::unique_ptr<Table> shared = MakeTable(StackTableConfig(1000, true));
  Fill(*plain, 0, 200);
  Fill(*shared, 0, 200);
  EXPECT_EQ(plain->Stats().bytes, 200 * plain->item_bytes());
  // 200 transitions hold frames 0 .. 203 and 200 actions: 8 planes per item
  // stored as about one.
  EXPECT_EQ(shared->Stats().bytes, SharedBytes(0, 199));
  EXPECT_EQ(shared->Info().bytes(), shared->Stats().bytes);

  // Equal planes are shared whatever their column and item: a retried
  // insert, and another key with the same frames, add nothing new.
  v1::InsertRequest again = StackInsertRequest({5});
  std::vector<uint64_t> stored;
  ASSERT_TRUE(shared->Insert(again, Later(), &stored).ok());
  EXPECT_EQ(stored, std::vector<uint64_t>{5});
  EXPECT_EQ(shared->Stats().size, 200);
  v1::InsertRequest same_frames = StackInsertRequest({7});
  same_frames.set_keys(0, 100000);
  ASSERT_TRUE(shared->Insert(same_frames, Later(), &stored).ok());
  EXPECT_EQ(shared->Stats().size, 201);
  EXPECT_EQ(shared->Stats().bytes, SharedBytes(0, 199) + kActionBytes);
}

TEST(TablePlanesTest, ItemsThatLeaveReleaseTheirPlanes) {
  std::unique_ptr<Table> table = MakeTable(StackTableConfig(10, true));
  for (uint64_t k = 0; k < 100; k += 10) Fill(*table, k, k + 10);  // evicts 0 .. 89
  EXPECT_EQ(table->Stats().size, 10);
  EXPECT_EQ(table->Stats().bytes, SharedBytes(90, 99));
  ExpectSamplesMatch(*table, 10);

  v1::TableConfig queue_config = StackTableConfig(100, true);
  queue_config.mutable_selector()->mutable_fifo();
  std::unique_ptr<Table> queue = MakeTable(queue_config);
  Fill(*queue, 0, 20);
  v1::SampleResponse response;
  ASSERT_TRUE(queue->Sample(20, Later(), &response).ok());
  EXPECT_TRUE(StackRowsMatchKeys(response));
  EXPECT_EQ(queue->Stats().size, 0);
  EXPECT_EQ(queue->Stats().bytes, 0);
  // The pool reuses what it freed: a refill holds what a fresh table would.
  Fill(*queue, 1000, 1020);
  EXPECT_EQ(queue->Stats().bytes, SharedBytes(1000, 1019));
}

TEST(TablePlanesTest, MaxBytesBoundsTheSharedBytesAndHoldsMoreItemsThanAsIs) {
  v1::TableConfig config = StackTableConfig(1000, true);
  const int64_t max_bytes = SharedBytes(0, 49);
  config.set_max_bytes(max_bytes);
  std::unique_ptr<Table> table = MakeTable(config);
  EXPECT_EQ(table->capacity(), 1000);
  Fill(*table, 0, 300);
  EXPECT_LE(table->Stats().bytes, max_bytes);
  EXPECT_EQ(table->Stats().size, 50);  // as is, max_bytes would hold 6
  ExpectSamplesMatch(*table, 50);
}

TEST(TablePlanesTest, ReplayedLogRecordsSharePlanesAndSkipHeldKeys) {
  std::unique_ptr<Table> table = MakeTable(StackTableConfig(1000, true));
  Fill(*table, 0, 50);
  EncodedInsert record;
  v1::InsertRequest request = StackInsertRequest(Range(40, 80));  // 40 .. 49 held
  EncodedInsert::TakePlain(&request, &record);
  ASSERT_TRUE(table->ReplayInsert(&record).ok());
  EXPECT_EQ(table->Stats().size, 80);
  EXPECT_EQ(table->Stats().bytes, SharedBytes(0, 79));
  ExpectSamplesMatch(*table, 80);
}

TEST(TablePlanesTest, ASnapshotHoldsEachPlaneOnceAndRowsNameThem) {
  std::unique_ptr<Table> table = MakeTable(StackTableConfig(100, true));
  Fill(*table, 0, 30);
  const TableSnapshot snapshot = table->Snapshot();
  EXPECT_EQ(snapshot.plane_bytes, kTestPlaneBytes);
  EXPECT_EQ(snapshot.plane_ids.size(), 30u + kTestStack);
  EXPECT_EQ(snapshot.planes.size(), snapshot.plane_ids.size() * kTestPlaneBytes);
  EXPECT_EQ(snapshot.bytes, SharedBytes(0, 29));
  // Row of key 3: obs names frames 3 .. 6, next_obs 4 .. 7.
  int64_t row = -1;
  for (int64_t r : snapshot.order) {
    if (snapshot.keys[static_cast<size_t>(r)] == 3) row = r;
  }
  ASSERT_GE(row, 0);
  auto plane = [&](uint32_t id) {
    for (size_t i = 0; i < snapshot.plane_ids.size(); ++i) {
      if (snapshot.plane_ids[i] == id) return snapshot.planes.substr(i * kTestPlaneBytes, kTestPlaneBytes);
    }
    return std::string();
  };
  for (int64_t p = 0; p < kTestStack; ++p) {
    EXPECT_EQ(plane(snapshot.row_planes[0][static_cast<size_t>(row * kTestStack + p)]),
              TestStackFrame(static_cast<uint64_t>(3 + p)));
    EXPECT_EQ(plane(snapshot.row_planes[1][static_cast<size_t>(row * kTestStack + p)]),
              TestStackFrame(static_cast<uint64_t>(4 + p)));
  }
}

}  // namespace
}  // namespace rill::replay
