// Checkpoints on real files in TEST_TMPDIR: a table survives a write and a
// restore with its items, priorities, times sampled, insertion order and
// rate-limiter counters, for every selector and remover; half-written and
// corrupt checkpoints are skipped; a different table config is refused;
// keep_latest prunes; a shard's write-ahead log brings back items written
// after the last checkpoint.
#include "replay/durability/checkpoint.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/base/casts.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "replay/durability/shard_durability.h"
#include "replay/durability/record_file.h"
#include "replay/testing/test_items.h"
#include "replay/durability/wal.h"

namespace rill::replay {
namespace {

namespace fs = std::filesystem;
using ::google::protobuf::TextFormat;
using ::testing::HasSubstr;

v1::ReplayConfig OneTable(const v1::TableConfig& table) {
  v1::ReplayConfig config;
  *config.add_tables() = table;
  return config;
}

std::vector<std::unique_ptr<Table>> Tables(const v1::ReplayConfig& config) {
  absl::StatusOr<std::vector<std::unique_ptr<Table>>> tables = CreateTables(config);
  EXPECT_TRUE(tables.ok()) << tables.status();
  return *std::move(tables);
}

std::vector<Table*> Raw(const std::vector<std::unique_ptr<Table>>& tables) {
  std::vector<Table*> raw;
  for (const auto& t : tables) raw.push_back(t.get());
  return raw;
}

void Insert(Table& table, const std::vector<uint64_t>& keys, const std::vector<double>& priorities = {}) {
  v1::InsertRequest request = TestInsertRequest(keys);
  for (double p : priorities) request.add_priorities(p);
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table.Insert(request, absl::Now() + absl::Seconds(5), &stored).ok());
}

std::vector<uint64_t> Range(uint64_t begin, uint64_t end) {
  std::vector<uint64_t> keys;
  for (uint64_t k = begin; k < end; ++k) keys.push_back(k);
  return keys;
}

// Everything a snapshot says about the items, in insertion order.
struct Contents {
  std::vector<uint64_t> keys;
  std::vector<double> priorities;
  std::vector<int32_t> times_sampled;
  std::vector<std::string> rows;  // payload of each item, all columns
  double default_priority;
  int64_t inserts, samples, deletes;
  bool operator==(const Contents& o) const {
    return keys == o.keys && priorities == o.priorities && times_sampled == o.times_sampled && rows == o.rows &&
           default_priority == o.default_priority && inserts == o.inserts && samples == o.samples &&
           deletes == o.deletes;
  }
};

Contents ContentsOf(const Table& table) {
  const TableSnapshot s = table.Snapshot();
  Contents c;
  for (int64_t row : s.order) {
    c.keys.push_back(s.keys[row]);
    if (!s.priorities.empty()) c.priorities.push_back(s.priorities[row]);
    c.times_sampled.push_back(s.times_sampled[row]);
    std::string payload;
    for (size_t col = 0; col < s.columns.size(); ++col) {
      if (!s.row_planes[col].empty()) {  // shared planes: the row's planes, as bytes
        const size_t planes = static_cast<size_t>(s.column_item_bytes[col] / s.plane_bytes);
        for (size_t p = 0; p < planes; ++p) {
          const uint32_t id = s.row_planes[col][static_cast<size_t>(row) * planes + p];
          const size_t at = static_cast<size_t>(
              std::lower_bound(s.plane_ids.begin(), s.plane_ids.end(), id) - s.plane_ids.begin());
          payload.append(s.planes, at * static_cast<size_t>(s.plane_bytes), static_cast<size_t>(s.plane_bytes));
        }
        continue;
      }
      if (s.columns[col] == nullptr) {  // compressed: the row's frame
        const std::vector<uint64_t>& offsets = s.stored_offsets[col];
        payload.append(s.stored[col], offsets[row], offsets[row + 1] - offsets[row]);
        continue;
      }
      payload.append(s.columns[col].get() + row * s.column_item_bytes[col], s.column_item_bytes[col]);
    }
    c.rows.push_back(payload);
  }
  c.default_priority = s.default_priority;
  c.inserts = s.inserts;
  c.samples = s.samples;
  c.deletes = s.deletes;
  return c;
}

struct Layout {
  const char* selector;
  const char* remover;
  int32_t max_times_sampled;
};

class RoundTripTest : public ::testing::TestWithParam<Layout> {};

TEST_P(RoundTripTest, RestoredTableHoldsTheSameItemsOrderPrioritiesAndCounters) {
  v1::TableConfig table_config = TestTableConfig(/*max_size=*/100);
  // The layout's names are the oneof cases: "prioritized" -> prioritized {}.
  ASSERT_TRUE(TextFormat::ParseFromString(absl::StrCat(GetParam().selector, " {}"), table_config.mutable_selector()));
  ASSERT_TRUE(TextFormat::ParseFromString(absl::StrCat(GetParam().remover, " {}"), table_config.mutable_remover()));
  table_config.set_max_times_sampled(GetParam().max_times_sampled);
  const bool prioritized = table_config.selector().has_prioritized();
  if (prioritized) table_config.mutable_selector()->mutable_prioritized()->set_priority_exponent(1.0);
  const v1::ReplayConfig config = OneTable(table_config);
  std::vector<std::unique_ptr<Table>> tables = Tables(config);
  Table& table = *tables[0];

  // 150 items into 100 slots: evictions; then samples (some items leave at
  // max_times_sampled) and priority updates.
  for (uint64_t begin = 0; begin < 150; begin += 10) {
    std::vector<double> priorities;
    if (prioritized) {
      for (int i = 0; i < 10; ++i) priorities.push_back(0.5 + ((begin + i) * 7919 % 13));
    }
    Insert(table, Range(begin, begin + 10), priorities);
  }
  v1::SampleResponse sampled;
  ASSERT_TRUE(table.Sample(table_config.selector().has_fifo() ? 30 : 60, absl::Now() + absl::Seconds(5), &sampled).ok());
  if (prioritized) {
    v1::UpdatePrioritiesRequest update;
    update.set_table(kTestTable);
    update.add_keys(120);
    update.add_priorities(42.0);
    update.add_keys(121);
    update.add_priorities(0.0);
    int64_t updated = 0;
    ASSERT_TRUE(table.UpdatePriorities(update, &updated).ok());
  }
  const Contents before = ContentsOf(table);
  ASSERT_GT(before.keys.size(), 10u);
  ASSERT_GT(before.deletes, 0);
  ASSERT_GT(before.samples, 0);

  const std::string dir = FreshTestDir(absl::StrCat("roundtrip-", GetParam().selector, "-", GetParam().remover));
  absl::StatusOr<std::unique_ptr<CheckpointStore>> store = CheckpointStore::Open(dir, 2);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<CheckpointSummary> written = (*store)->Write(config, Raw(tables), 0);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->items, static_cast<int64_t>(before.keys.size()));
  EXPECT_EQ(written->bytes, written->items * table.item_bytes());

  std::vector<std::unique_ptr<Table>> restored = Tables(config);
  absl::StatusOr<std::optional<CheckpointSummary>> summary = (*store)->RestoreLatest(config, &restored);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(summary->has_value());
  EXPECT_EQ((*summary)->path, written->path);
  EXPECT_TRUE(ContentsOf(*restored[0]) == before);
  const v1::TableInfo info_before = table.Info(), info_after = restored[0]->Info();
  EXPECT_EQ(info_after.items_inserted(), info_before.items_inserted());
  EXPECT_EQ(info_after.items_sampled(), info_before.items_sampled());
  EXPECT_EQ(info_after.items_evicted(), info_before.items_evicted());

  // Both tables go on the same way: the same victims, the same next items.
  Insert(table, Range(1000, 1030));
  Insert(*restored[0], Range(1000, 1030));
  EXPECT_EQ(ContentsOf(*restored[0]).keys, ContentsOf(table).keys);
  if (table_config.selector().has_fifo()) {
    v1::SampleResponse a, b;
    ASSERT_TRUE(table.Sample(20, absl::Now() + absl::Seconds(5), &a).ok());
    ASSERT_TRUE(restored[0]->Sample(20, absl::Now() + absl::Seconds(5), &b).ok());
    EXPECT_EQ(std::vector<uint64_t>(a.keys().begin(), a.keys().end()),
              std::vector<uint64_t>(b.keys().begin(), b.keys().end()));
    EXPECT_TRUE(RowsMatchKeys(b));
  }
}

INSTANTIATE_TEST_SUITE_P(AllSelectorsAndRemovers, RoundTripTest,
                         ::testing::Values(Layout{"uniform", "fifo", 0}, Layout{"uniform", "fifo", 2},
                                           Layout{"prioritized", "fifo", 0},
                                           Layout{"prioritized", "lowest_priority", 3}, Layout{"fifo", "fifo", 1}),
                         [](const auto& info) {
                           return absl::StrCat(info.param.selector, "_", info.param.remover, "_",
                                               info.param.max_times_sampled);
                         });

// A checkpoint of the release before the selector and remover became
// oneofs holds them as strings (fields 3, 4) and the exponents as doubles
// (9, 10) in its table header; today's shard restores it as its own.
TEST(CheckpointTest, RestoresACheckpointWhoseHeaderHasTheOldSelectorFields) {
  v1::TableConfig table_config = TestTableConfig(/*max_size=*/100);
  table_config.mutable_selector()->mutable_prioritized()->set_priority_exponent(1.0);
  table_config.mutable_remover()->mutable_lowest_priority();
  const v1::ReplayConfig config = OneTable(table_config);
  std::vector<std::unique_ptr<Table>> tables = Tables(config);
  Insert(*tables[0], Range(0, 20), std::vector<double>(20, 2.0));

  v1::ReplayConfig old_config = config;
  v1::TableConfig* old_table = old_config.mutable_tables(0);
  old_table->clear_selector();
  old_table->clear_remover();
  google::protobuf::UnknownFieldSet* old_fields = old_table->GetReflection()->MutableUnknownFields(old_table);
  old_fields->AddLengthDelimited(3, "prioritized");
  old_fields->AddLengthDelimited(4, "lowest_priority");
  old_fields->AddFixed64(9, absl::bit_cast<uint64_t>(1.0));
  const std::string dir = FreshTestDir("legacy-header");
  auto store = *CheckpointStore::Open(dir, 2);
  ASSERT_TRUE(store->Write(old_config, Raw(tables), 0).ok());

  std::vector<std::unique_ptr<Table>> restored = Tables(config);
  absl::StatusOr<std::optional<CheckpointSummary>> summary = store->RestoreLatest(config, &restored);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(summary->has_value());
  EXPECT_TRUE(ContentsOf(*restored[0]) == ContentsOf(*tables[0]));

  // The old header says alpha 1.0: a config with another alpha is refused.
  v1::ReplayConfig other = config;
  other.mutable_tables(0)->mutable_selector()->mutable_prioritized()->set_priority_exponent(0.6);
  restored = Tables(other);
  summary = store->RestoreLatest(other, &restored);
  ASSERT_TRUE(absl::IsFailedPrecondition(summary.status())) << summary.status();
  EXPECT_THAT(summary.status().message(), HasSubstr("priority_exponent"));
}

TEST(CheckpointTest, RestoresRateLimiterCountersSoTheRatioCarriesOn) {
  // samples_per_insert 1, error buffer 5: after 10 inserts and 4 samples an
  // insert may proceed only while inserts - samples stays <= 10 + 5.
  const v1::ReplayConfig config = OneTable(TestTableConfig(100, 10, 1.0, 5.0));
  std::vector<std::unique_ptr<Table>> tables = Tables(config);
  Insert(*tables[0], Range(0, 15));
  v1::SampleResponse sampled;
  ASSERT_TRUE(tables[0]->Sample(4, absl::Now() + absl::Seconds(5), &sampled).ok());
  const std::string dir = FreshTestDir("limiter");
  auto store = *CheckpointStore::Open(dir, 2);
  ASSERT_TRUE(store->Write(config, Raw(tables), 0).ok());
  std::vector<std::unique_ptr<Table>> restored = Tables(config);
  ASSERT_TRUE(store->RestoreLatest(config, &restored).ok());
  const v1::TableInfo info = restored[0]->Info();
  EXPECT_EQ(info.items_inserted(), 15);
  EXPECT_EQ(info.items_sampled(), 4);
  // 15 - 4 = 11: four more inserts fit (15 <= 15), the fifth is blocked.
  std::vector<uint64_t> stored;
  EXPECT_TRUE(restored[0]->Insert(TestInsertRequest(Range(100, 104)), absl::Now() + absl::Seconds(5), &stored).ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(
      restored[0]->Insert(TestInsertRequest({200}), absl::Now() + absl::Milliseconds(50), &stored)));
}

TEST(CheckpointTest, HalfWrittenAndCorruptCheckpointsAreSkipped) {
  const v1::ReplayConfig config = OneTable(TestTableConfig(1000));
  std::vector<std::unique_ptr<Table>> tables = Tables(config);
  const std::string dir = FreshTestDir("half-written");
  auto store = *CheckpointStore::Open(dir, 5);
  Insert(*tables[0], Range(0, 10));
  absl::StatusOr<CheckpointSummary> first = store->Write(config, Raw(tables), 0);
  ASSERT_TRUE(first.ok());
  Insert(*tables[0], Range(10, 20));
  absl::StatusOr<CheckpointSummary> second = store->Write(config, Raw(tables), 0);
  ASSERT_TRUE(second.ok());
  Insert(*tables[0], Range(20, 30));
  absl::StatusOr<CheckpointSummary> third = store->Write(config, Raw(tables), 0);
  ASSERT_TRUE(third.ok());

  // The newest lost its completion marker (as if the crash came before it),
  // the second has a flipped byte in its table file, and a temporary folder
  // of a fourth lies around.
  fs::remove(third->path + "/COMPLETE");
  {
    std::fstream file(second->path + "/table-0.rtbl", std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(-20, std::ios::end);
    file.put('\x5a');
  }
  fs::create_directories(dir + "/.tmp-ckpt-0000000004");

  std::vector<std::unique_ptr<Table>> restored = Tables(config);
  absl::StatusOr<std::optional<CheckpointSummary>> summary = store->RestoreLatest(config, &restored);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(summary->has_value());
  EXPECT_EQ((*summary)->path, first->path);
  EXPECT_EQ(ContentsOf(*restored[0]).keys, Range(0, 10));
}

TEST(CheckpointTest, ATableConfigThatDiffersIsRefusedNamingTheTableAndField) {
  const v1::ReplayConfig config = OneTable(TestTableConfig(100));
  std::vector<std::unique_ptr<Table>> tables = Tables(config);
  Insert(*tables[0], Range(0, 10));
  const std::string dir = FreshTestDir("mismatch");
  auto store = *CheckpointStore::Open(dir, 2);
  ASSERT_TRUE(store->Write(config, Raw(tables), 0).ok());

  v1::TableConfig bigger = TestTableConfig(200);
  v1::ReplayConfig changed = OneTable(bigger);
  std::vector<std::unique_ptr<Table>> restored = Tables(changed);
  absl::StatusOr<std::optional<CheckpointSummary>> summary = store->RestoreLatest(changed, &restored);
  ASSERT_TRUE(absl::IsFailedPrecondition(summary.status())) << summary.status();
  EXPECT_THAT(summary.status().message(), HasSubstr("table 'transitions'"));
  EXPECT_THAT(summary.status().message(), HasSubstr("max_size"));

  v1::TableConfig prioritized = TestTableConfig(100);
  prioritized.mutable_selector()->mutable_prioritized();
  changed = OneTable(prioritized);
  restored = Tables(changed);
  summary = store->RestoreLatest(changed, &restored);
  ASSERT_TRUE(absl::IsFailedPrecondition(summary.status())) << summary.status();
  EXPECT_THAT(summary.status().message(), HasSubstr("selector"));

  v1::ReplayConfig renamed = config;
  renamed.mutable_tables(0)->set_name("other");
  restored = Tables(renamed);
  summary = store->RestoreLatest(renamed, &restored);
  ASSERT_TRUE(absl::IsFailedPrecondition(summary.status())) << summary.status();
  EXPECT_THAT(summary.status().message(), HasSubstr("holds tables [transitions]"));

  // A different rate limiter is not a different layout.
  v1::ReplayConfig retuned = OneTable(TestTableConfig(100, 5, 2.0, 10.0));
  restored = Tables(retuned);
  summary = store->RestoreLatest(retuned, &restored);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(restored[0]->Stats().size, 10);
}

void InsertFrames(Table& table, uint64_t begin, uint64_t end) {
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table.Insert(FrameInsertRequest(Range(begin, end)), absl::Now() + absl::Seconds(5), &stored).ok());
}

// Samples `batch` items of a restored frame table and checks their bytes.
void ExpectFramesOfTheirKeys(Table& table, int batch) {
  v1::SampleResponse response;
  ASSERT_TRUE(table.Sample(batch, absl::Now() + absl::Seconds(5), &response).ok());
  EXPECT_TRUE(FrameRowsMatchKeys(response));
}

TEST(CheckpointTest, CompressedColumnsAreWrittenCompressedAndRestoreIntoEitherCodec) {
  const v1::ReplayConfig compressed = OneTable(FrameTableConfig(1000, /*compressed=*/true));
  std::vector<std::unique_ptr<Table>> tables = Tables(compressed);
  InsertFrames(*tables[0], 0, 500);
  const std::string dir = FreshTestDir("compressed-checkpoint");
  auto store = *CheckpointStore::Open(dir, 2);
  absl::StatusOr<CheckpointSummary> written = store->Write(compressed, Raw(tables), 0);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->items, 500);
  EXPECT_EQ(written->bytes, tables[0]->Stats().bytes);
  // The file holds the frames compressed: well under the 500 * 400 bytes of
  // the frames as they are.
  EXPECT_LT(fs::file_size(written->path + "/table-0.rtbl"), 500u * 8 + 500u * 400 / 2);

  std::vector<std::unique_ptr<Table>> restored = Tables(compressed);
  ASSERT_TRUE(store->RestoreLatest(compressed, &restored).ok());
  EXPECT_EQ(ContentsOf(*restored[0]), ContentsOf(*tables[0]));
  EXPECT_EQ(restored[0]->Stats().bytes, tables[0]->Stats().bytes);
  ExpectFramesOfTheirKeys(*restored[0], 256);

  // Compression off in the config: the same checkpoint restores, decompressed.
  const v1::ReplayConfig plain = OneTable(FrameTableConfig(1000, /*compressed=*/false));
  restored = Tables(plain);
  absl::StatusOr<std::optional<CheckpointSummary>> summary = store->RestoreLatest(plain, &restored);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(summary->has_value());
  EXPECT_EQ(restored[0]->Stats().size, 500);
  EXPECT_EQ(restored[0]->Stats().bytes, 500 * (400 + 8));
  ExpectFramesOfTheirKeys(*restored[0], 256);
}

TEST(CheckpointTest, AnUncompressedCheckpointRestoresIntoACompressedTable) {
  const v1::ReplayConfig plain = OneTable(FrameTableConfig(1000, false));
  std::vector<std::unique_ptr<Table>> tables = Tables(plain);
  InsertFrames(*tables[0], 0, 100);
  const std::string dir = FreshTestDir("plain-to-compressed");
  auto store = *CheckpointStore::Open(dir, 2);
  ASSERT_TRUE(store->Write(plain, Raw(tables), 0).ok());

  const v1::ReplayConfig compressed = OneTable(FrameTableConfig(1000, true, /*level=*/5));
  std::vector<std::unique_ptr<Table>> restored = Tables(compressed);
  ASSERT_TRUE(store->RestoreLatest(compressed, &restored).ok());
  EXPECT_EQ(restored[0]->Stats().size, 100);
  EXPECT_LT(restored[0]->Stats().bytes, tables[0]->Stats().bytes / 2);
  ExpectFramesOfTheirKeys(*restored[0], 100);
}

void InsertStacks(Table& table, uint64_t begin, uint64_t end) {
  std::vector<uint64_t> stored;
  ASSERT_TRUE(table.Insert(StackInsertRequest(Range(begin, end)), absl::Now() + absl::Seconds(5), &stored).ok());
}

void ExpectStacksOfTheirKeys(Table& table, int batch) {
  v1::SampleResponse response;
  ASSERT_TRUE(table.Sample(batch, absl::Now() + absl::Seconds(5), &response).ok());
  EXPECT_TRUE(StackRowsMatchKeys(response));
}

TEST(CheckpointTest, SharedPlanesAreWrittenOnceAndRestoreIntoEitherLayout) {
  const v1::ReplayConfig shared = OneTable(StackTableConfig(1000, /*share_planes=*/true));
  std::vector<std::unique_ptr<Table>> tables = Tables(shared);
  InsertStacks(*tables[0], 0, 500);
  const std::string dir = FreshTestDir("shared-planes-checkpoint");
  auto store = *CheckpointStore::Open(dir, 2);
  absl::StatusOr<CheckpointSummary> written = store->Write(shared, Raw(tables), 0);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->items, 500);
  EXPECT_EQ(written->bytes, tables[0]->Stats().bytes);
  // The file holds 504 frames once and 8 ids per item, not 8 frames per item.
  const uint64_t as_is = 500u * static_cast<uint64_t>(tables[0]->item_bytes());
  EXPECT_LT(fs::file_size(written->path + "/table-0.rtbl"), as_is / 3);

  std::vector<std::unique_ptr<Table>> restored = Tables(shared);
  ASSERT_TRUE(store->RestoreLatest(shared, &restored).ok());
  EXPECT_TRUE(ContentsOf(*restored[0]) == ContentsOf(*tables[0]));
  EXPECT_EQ(restored[0]->Stats().bytes, tables[0]->Stats().bytes);
  ExpectStacksOfTheirKeys(*restored[0], 256);
  // Only planes the items hold stay: evicting everything frees them all.
  InsertStacks(*restored[0], 100000, 100500);
  InsertStacks(*restored[0], 200000, 200500);
  EXPECT_EQ(restored[0]->Stats().size, 1000);
  EXPECT_EQ(restored[0]->Stats().bytes, 2 * ((500 + kTestStack) * kTestPlaneBytes + 500 * 8));

  // Sharing off in the config: the same checkpoint restores, every item whole.
  const v1::ReplayConfig plain = OneTable(StackTableConfig(1000, /*share_planes=*/false));
  restored = Tables(plain);
  absl::StatusOr<std::optional<CheckpointSummary>> summary = store->RestoreLatest(plain, &restored);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(summary->has_value());
  EXPECT_EQ(restored[0]->Stats().size, 500);
  EXPECT_EQ(static_cast<uint64_t>(restored[0]->Stats().bytes), as_is);
  EXPECT_TRUE(ContentsOf(*restored[0]) == ContentsOf(*tables[0]));
  ExpectStacksOfTheirKeys(*restored[0], 256);
}

TEST(CheckpointTest, APlainCheckpointRestoresIntoATableThatSharesPlanes) {
  const v1::ReplayConfig plain = OneTable(StackTableConfig(1000, false));
  std::vector<std::unique_ptr<Table>> tables = Tables(plain);
  InsertStacks(*tables[0], 0, 100);
  const std::string dir = FreshTestDir("plain-to-shared");
  auto store = *CheckpointStore::Open(dir, 2);
  ASSERT_TRUE(store->Write(plain, Raw(tables), 0).ok());

  const v1::ReplayConfig shared = OneTable(StackTableConfig(1000, true));
  std::vector<std::unique_ptr<Table>> restored = Tables(shared);
  ASSERT_TRUE(store->RestoreLatest(shared, &restored).ok());
  EXPECT_EQ(restored[0]->Stats().size, 100);
  EXPECT_EQ(restored[0]->Stats().bytes, (100 + kTestStack) * kTestPlaneBytes + 100 * 8);
  EXPECT_TRUE(ContentsOf(*restored[0]) == ContentsOf(*tables[0]));
  ExpectStacksOfTheirKeys(*restored[0], 100);
}

TEST(CheckpointTest, ACorruptFrameUnderAValidChecksumIsACorruptCheckpointNamingColumnAndKey) {
  const v1::ReplayConfig config = OneTable(FrameTableConfig(1000, true));
  std::vector<std::unique_ptr<Table>> tables = Tables(config);
  InsertFrames(*tables[0], 0, 10);
  const std::string dir = FreshTestDir("corrupt-frame");
  auto store = *CheckpointStore::Open(dir, 2);
  absl::StatusOr<CheckpointSummary> written = store->Write(config, Raw(tables), 0);
  ASSERT_TRUE(written.ok());

  // Rewrite the table file with the first frame's magic number broken and
  // every record's checksum valid: damage the checksums cannot see.
  const std::string path = written->path + "/table-0.rtbl";
  std::vector<std::string> records;
  {
    RecordReader reader = *RecordReader::Open(path);
    std::string record;
    while (reader.Next(&record).ok()) records.push_back(record);
  }
  ASSERT_EQ(records.size(), 4u);  // header, counters, one chunk, end
  // The chunk: count, 10 keys, 10 times sampled, 10 frame sizes, the frames.
  const size_t first_frame = 8 + 10 * 8 + 10 * 4 + 10 * 4;
  ASSERT_EQ(records[2].substr(first_frame, 4), std::string("\x28\xb5\x2f\xfd", 4));  // zstd's magic
  records[2][first_frame] = '\x00';
  {
    RecordWriter writer = *RecordWriter::Create(path);
    for (const std::string& record : records) ASSERT_TRUE(writer.Write(record).ok());
    ASSERT_TRUE(writer.SyncAndClose().ok());
  }

  std::vector<std::unique_ptr<Table>> restored = Tables(config);
  std::vector<SkippedCheckpoint> skipped;
  absl::StatusOr<std::optional<CheckpointSummary>> summary = store->RestoreLatest(config, &restored, &skipped);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_FALSE(summary->has_value());  // the only checkpoint, passed over
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_THAT(skipped[0].reason, HasSubstr("table-0.rtbl"));
  EXPECT_THAT(skipped[0].reason, HasSubstr("column 'frame' of the restored item with key 0"));
  EXPECT_EQ(restored[0]->Stats().size, 0);
}

TEST(CheckpointTest, KeepsOnlyTheNewestKeepLatestCheckpoints) {
  const v1::ReplayConfig config = OneTable(TestTableConfig(100));
  std::vector<std::unique_ptr<Table>> tables = Tables(config);
  const std::string dir = FreshTestDir("prune");
  auto store = *CheckpointStore::Open(dir, 2);
  std::vector<std::string> paths;
  for (int i = 0; i < 4; ++i) {
    Insert(*tables[0], {static_cast<uint64_t>(i)});
    absl::StatusOr<CheckpointSummary> written = store->Write(config, Raw(tables), 10 + i);
    ASSERT_TRUE(written.ok());
    paths.push_back(written->path);
  }
  std::set<std::string> present;
  for (const auto& entry : fs::directory_iterator(dir)) present.insert(entry.path().string());
  EXPECT_EQ(present, (std::set<std::string>{paths[2], paths[3]}));
  EXPECT_EQ(store->OldestNeededWalSegment(), 12u);
  // A reopened store numbers on after the newest.
  auto reopened = *CheckpointStore::Open(dir, 2);
  absl::StatusOr<CheckpointSummary> next = reopened->Write(config, Raw(tables), 0);
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->path, paths[3]);
}

TEST(CheckpointTest, SnapshotOfADrainedQueueCopiesOnlyItsItems) {
  v1::TableConfig queue = TestTableConfig(1000);
  queue.mutable_selector()->mutable_fifo();
  const v1::ReplayConfig config = OneTable(queue);
  std::vector<std::unique_ptr<Table>> tables = Tables(config);
  Insert(*tables[0], Range(0, 1000));
  v1::SampleResponse sampled;
  ASSERT_TRUE(tables[0]->Sample(990, absl::Now() + absl::Seconds(5), &sampled).ok());
  const TableSnapshot snapshot = tables[0]->Snapshot();
  EXPECT_EQ(snapshot.num_rows, 10);  // gathered, not the 1000-slot block
  EXPECT_EQ(ContentsOf(*tables[0]).keys, Range(990, 1000));
}

// ShardDurability in WAL mode: items inserted after the last checkpoint come
// back from the log; the log segments a checkpoint covers are deleted.
TEST(DurabilityTest, WalReplaysItemsWrittenAfterTheLastCheckpoint) {
  v1::ReplayConfig config = OneTable(TestTableConfig(1000));
  config.mutable_durability()->set_mode(v1::DurabilityConfig::WAL);
  config.mutable_durability()->set_keep_latest(1);
  const std::string dir = FreshTestDir("durability-wal");
  {
    std::vector<std::unique_ptr<Table>> tables = Tables(config);
    auto durability = ShardDurability::Open(config, dir, &tables, nullptr);
    ASSERT_TRUE(durability.ok()) << durability.status();
    (*durability)->Start(Raw(tables));
    auto log = [&](const std::vector<uint64_t>& keys) {
      Insert(*tables[0], keys);
      std::string record(kRecordHeaderBytes, '\0');
      TestInsertRequest(keys).AppendToString(&record);
      const uint64_t ticket = (*durability)->wal()->Append(std::move(record));
      ASSERT_TRUE((*durability)->wal()->WaitDurable(ticket, absl::Now() + absl::Seconds(10)).ok());
    };
    log(Range(0, 10));
    ASSERT_TRUE((*durability)->Checkpoint().ok());
    log(Range(10, 20));
    ASSERT_TRUE((*durability)->Checkpoint().ok());
    log(Range(20, 30));
    EXPECT_EQ((*durability)->Info().items(), 20);
    EXPECT_GT((*durability)->Info().wal_bytes(), 0);
    // Only the segment written since the last checkpoint (and perhaps the
    // one being switched from) remains.
    EXPECT_LE(WriteAheadLog::ListSegments(dir).size(), 2u);
    // No final checkpoint: as after kill -9.
  }
  std::vector<std::unique_ptr<Table>> restored = Tables(config);
  auto durability = ShardDurability::Open(config, dir, &restored, nullptr);
  ASSERT_TRUE(durability.ok()) << durability.status();
  EXPECT_EQ(ContentsOf(*restored[0]).keys, Range(0, 30));
  EXPECT_TRUE((*durability)->Info().restored());
  EXPECT_THAT((*durability)->RestoreReport(), HasSubstr("now holding 30 items"));
}

TEST(DurabilityTest, ResolvesTheShardFolder) {
  EXPECT_EQ(*ResolveDurabilityDir("", "/data/replay", 3), "/data/replay/shard-3");
  EXPECT_EQ(*ResolveDurabilityDir("/flag/dir", "/data/replay", 3), "/flag/dir");
  EXPECT_TRUE(absl::IsInvalidArgument(ResolveDurabilityDir("", "", 0).status()));
}

}  // namespace
}  // namespace rill::replay
