// ItemStore on its own, without a table: items put into slots come back
// byte for byte from Gather, and stored_bytes() counts what the store holds
// as stored (columns as is, compressed frames, shared planes once) as items
// come and go.
#include "replay/item_store.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "replay/encoded_insert.h"
#include "replay/testing/test_items.h"

namespace rill::replay {
namespace {

std::unique_ptr<ItemStore> MakeStore(const v1::TableConfig& config) {
  absl::StatusOr<std::unique_ptr<ItemStore>> store = ItemStore::Create(config, config.max_size());
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

// A response with room for `rows` items of `layout`, as Table readies one.
v1::SampleResponse EmptyBatch(const ItemLayout& layout, int rows) {
  v1::SampleResponse out;
  for (size_t c = 0; c < layout.num_columns(); ++c) {
    const v1::ColumnSpec& spec = layout.column(c).spec;
    v1::Tensor* tensor = out.add_columns();
    tensor->set_dtype(spec.dtype());
    tensor->add_shape(rows);
    for (int64_t d : spec.shape()) tensor->add_shape(d);
    tensor->mutable_data()->resize(static_cast<size_t>(rows * layout.column(c).item_bytes));
  }
  return out;
}

std::vector<char*> Targets(v1::SampleResponse* out) {
  std::vector<char*> to;
  for (int c = 0; c < out->columns_size(); ++c) to.push_back(out->mutable_columns(c)->mutable_data()->data());
  return to;
}

// Puts every item of `request`, prepared by the store's layout, item i in
// slot slots[i]; then gathers slot slots[i] into row i of a batch and
// decompresses its frames.
v1::SampleResponse PutAndGather(ItemStore& store, v1::InsertRequest request, const std::vector<int64_t>& slots) {
  EncodedInsert encoded;
  EncodedInsert::TakePlain(&request, &encoded);
  EXPECT_TRUE(store.layout().Prepare(&encoded).ok());
  for (int i = 0; i < encoded.num_items(); ++i) {
    store.HoldPlanes(encoded, i);
    store.Put(slots[static_cast<size_t>(i)], encoded, i);
  }
  v1::SampleResponse out = EmptyBatch(store.layout(), encoded.num_items());
  std::vector<char*> to = Targets(&out);
  DrawnFrames frames;
  for (int i = 0; i < encoded.num_items(); ++i) {
    store.Gather(slots[static_cast<size_t>(i)], i, encoded.request().keys(i), to.data(), &frames);
    out.add_keys(encoded.request().keys(i));
  }
  EXPECT_TRUE(store.layout().DecompressFrames(frames, &out).ok());
  return out;
}

TEST(ItemStoreTest, GatherReturnsTheBytesPutIntoEachSlot) {
  std::unique_ptr<ItemStore> store = MakeStore(TestTableConfig(8));
  const v1::SampleResponse out = PutAndGather(*store, TestInsertRequest({5, 6, 7}), {3, 0, 7});
  EXPECT_TRUE(RowsMatchKeys(out));
  EXPECT_EQ(store->layout().item_bytes(), 16);
  EXPECT_EQ(store->stored_bytes(), 3 * 16);
}

TEST(ItemStoreTest, GatherManyCopiesEveryDrawnSlotIntoConsecutiveRows) {
  std::unique_ptr<ItemStore> store = MakeStore(TestTableConfig(8));
  PutAndGather(*store, TestInsertRequest({10, 11, 12, 13}), {0, 1, 2, 3});
  std::vector<uint64_t> slot_keys = {10, 11, 12, 13};
  const std::vector<Selection> draws = {{2, 0.25}, {0, 0.25}, {2, 0.25}};
  v1::SampleResponse out = EmptyBatch(store->layout(), 3);
  std::vector<char*> to = Targets(&out);
  DrawnFrames frames;
  store->GatherMany(draws.data(), 3, 0, slot_keys.data(), to.data(), &frames);
  for (const Selection& draw : draws) out.add_keys(slot_keys[static_cast<size_t>(draw.slot)]);
  EXPECT_TRUE(RowsMatchKeys(out));
  EXPECT_TRUE(frames.frames.empty());
}

TEST(ItemStoreTest, EraseReleasesAnItemsBytes) {
  std::unique_ptr<ItemStore> store = MakeStore(TestTableConfig(8));
  PutAndGather(*store, TestInsertRequest({1, 2}), {0, 1});
  store->Erase(0);
  EXPECT_EQ(store->stored_bytes(), 16);
  store->Erase(1);
  EXPECT_EQ(store->stored_bytes(), 0);
}

TEST(ItemStoreTest, CompressedColumnKeepsFramesAndDecompressesThemBitExact) {
  std::unique_ptr<ItemStore> store = MakeStore(FrameTableConfig(8, /*compressed=*/true));
  ASSERT_TRUE(store->layout().compresses());
  const v1::SampleResponse out = PutAndGather(*store, FrameInsertRequest({3, 4, 5}), {0, 1, 2});
  EXPECT_TRUE(FrameRowsMatchKeys(out));
  // Sparse frames compress: the store holds less than the raw bytes.
  EXPECT_GT(store->stored_bytes(), 0);
  EXPECT_LT(store->stored_bytes(), 3 * store->layout().item_bytes());
  EXPECT_EQ(store->stored_bytes(), store->frame_bytes()[0] + 3 * 8);
  for (int64_t slot = 0; slot < 3; ++slot) store->Erase(slot);
  EXPECT_EQ(store->stored_bytes(), 0);
  EXPECT_EQ(store->frame_bytes()[0], 0);
}

TEST(ItemStoreTest, DamagedFrameIsDataLossNamingTheColumnAndKey) {
  std::unique_ptr<ItemStore> store = MakeStore(FrameTableConfig(8, /*compressed=*/true));
  v1::SampleResponse out = EmptyBatch(store->layout(), 1);
  DrawnFrames frames;
  frames.bytes = "not a zstd frame";
  frames.frames.push_back(DrawnFrames::Frame{0, 0, 0, static_cast<uint32_t>(frames.bytes.size()), 42});
  const absl::Status status = store->layout().DecompressFrames(frames, &out);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("'frame'"), std::string::npos) << status;
  EXPECT_NE(status.message().find("42"), std::string::npos) << status;
}

TEST(ItemStoreTest, SharedPlanesAreHeldOnceAndReleasedWithTheirLastItem) {
  std::unique_ptr<ItemStore> store = MakeStore(StackTableConfig(16, /*share_planes=*/true));
  ASSERT_TRUE(store->layout().shares_planes());
  const v1::SampleResponse out = PutAndGather(*store, StackInsertRequest({0, 1, 2}), {0, 1, 2});
  EXPECT_TRUE(StackRowsMatchKeys(out));
  // Transitions 0..2 hold frames 0..6, each once, and three 8-byte actions.
  EXPECT_EQ(store->num_planes(), 7);
  EXPECT_EQ(store->stored_bytes(), 7 * kTestPlaneBytes + 3 * 8);
  store->Erase(0);  // frame 0 was transition 0's alone
  EXPECT_EQ(store->num_planes(), 6);
  store->Erase(1);
  store->Erase(2);
  EXPECT_EQ(store->num_planes(), 0);
  EXPECT_EQ(store->stored_bytes(), 0);
}

}  // namespace
}  // namespace rill::replay
