// ShardDurability restarting on damaged files, for each damage under each
// durability.on_corruption choice: a shard lives (inserts of 10 items, each
// logged and synced, and checkpoints), dies without a final checkpoint, its
// files are damaged, and it restarts. REFUSE fails naming the file, the
// offset and the items at stake; SKIP_RECORD and TRUNCATE restore what they
// keep, and count exactly what they lose in Info and the metric. A torn
// tail, garbage appended and a corrupt checkpoint the log covers lose
// nothing in any mode.
#include "replay/durability/shard_durability.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "replay/durability/record_file.h"
#include "replay/durability/wal.h"
#include "replay/durability/wal_format.h"
#include "replay/testing/test_items.h"

namespace rill::replay {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Choice = v1::DurabilityConfig::OnCorruption;

constexpr int kItemsPerRequest = 10;

v1::ReplayConfig Config(v1::DurabilityConfig::Mode mode, int keep_latest, Choice choice) {
  v1::ReplayConfig config;
  *config.add_tables() = TestTableConfig(100000);
  config.mutable_durability()->set_mode(mode);
  config.mutable_durability()->set_keep_latest(keep_latest);
  config.mutable_durability()->set_checkpoint_interval_seconds(3600);
  config.mutable_durability()->set_on_corruption(choice);
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

std::vector<uint64_t> Range(uint64_t begin, uint64_t end) {
  std::vector<uint64_t> keys;
  for (uint64_t k = begin; k < end; ++k) keys.push_back(k);
  return keys;
}

// A shard's life until kill -9: each step n > 0 is n insert requests of 10
// items (in WAL mode each logged and synced, as the service does before it
// acknowledges), 0 a checkpoint. Returns the acknowledged items.
int64_t Live(const v1::ReplayConfig& config, const std::string& dir, const std::vector<int>& plan) {
  std::vector<std::unique_ptr<Table>> tables = Tables(config);
  absl::StatusOr<std::unique_ptr<ShardDurability>> durability = ShardDurability::Open(config, dir, &tables, nullptr);
  EXPECT_TRUE(durability.ok()) << durability.status();
  if (!durability.ok()) return 0;
  (*durability)->Start(Raw(tables));
  uint64_t key = 0;
  for (int step : plan) {
    if (step == 0) {
      EXPECT_TRUE((*durability)->Checkpoint().ok());
      continue;
    }
    for (int r = 0; r < step; ++r, key += kItemsPerRequest) {
      const v1::InsertRequest request = TestInsertRequest(Range(key, key + kItemsPerRequest));
      std::vector<uint64_t> stored;
      EXPECT_TRUE(tables[0]->Insert(request, absl::Now() + absl::Seconds(5), &stored).ok());
      WriteAheadLog* wal = (*durability)->wal();
      if (wal == nullptr) continue;
      std::string record(kRecordHeaderBytes, '\0');
      request.AppendToString(&record);
      const uint64_t ticket = wal->Append(std::move(record), kItemsPerRequest);
      EXPECT_TRUE(wal->WaitDurable(ticket, absl::Now() + absl::Seconds(10)).ok());
    }
  }
  return static_cast<int64_t>(key);  // destroyed without a final checkpoint
}

double CounterValue(prometheus::Registry& registry, const std::string& name) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name == name && !family.metric.empty()) return family.metric[0].counter.value;
  }
  ADD_FAILURE() << "no metric " << name;
  return -1;
}

struct Restart {
  absl::Status status;
  int64_t restored = 0;
  int64_t lost = 0;    // Info().recovery_lost_items()
  double metric = 0;   // rill_replay_recovery_lost_items_total
  std::string losses;  // Info().recovery_losses()
};

Restart Reopen(const v1::ReplayConfig& config, const std::string& dir) {
  prometheus::Registry registry;
  std::vector<std::unique_ptr<Table>> tables = Tables(config);
  absl::StatusOr<std::unique_ptr<ShardDurability>> durability =
      ShardDurability::Open(config, dir, &tables, &registry);
  Restart restart;
  restart.status = durability.status();
  if (!durability.ok()) return restart;
  restart.restored = tables[0]->Stats().size;
  const v1::CheckpointInfo info = (*durability)->Info();
  restart.lost = info.recovery_lost_items();
  restart.losses = info.recovery_losses();
  restart.metric = CounterValue(registry, "rill_replay_recovery_lost_items_total");
  return restart;
}

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

void Overwrite(const std::string& path, std::streamoff offset, const std::string& bytes) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(offset, offset < 0 ? std::ios::end : std::ios::beg);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The damages. Request 66 of segment 1 (items 650..659) in the first two.
void FlipMidLog(const std::string& dir) {
  const std::string path = WriteAheadLog::SegmentPath(dir, 1);
  Overwrite(path, static_cast<std::streamoff>(RecordOffsets(path)[65] + kWalRecordHeaderBytes + 3), "\x5a");
}

void HugeLength(const std::string& dir) {
  const std::string path = WriteAheadLog::SegmentPath(dir, 1);
  Overwrite(path, static_cast<std::streamoff>(RecordOffsets(path)[65] + 4), std::string(4, '\xff'));
}

void TruncateTail(const std::string& dir) {
  const std::string path = WriteAheadLog::SegmentPath(dir, 1);
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(fs::file_size(path) - 1)), 0);
}

void AppendGarbage(const std::string& dir) {
  std::mt19937 random(11);
  std::string garbage(4096, '\0');
  for (char& c : garbage) c = static_cast<char>(random());
  std::ofstream(WriteAheadLog::SegmentPath(dir, 1), std::ios::binary | std::ios::app) << garbage;
}

void CorruptCheckpoint(const std::string& dir, int sequence) {
  char name[32];
  std::snprintf(name, sizeof(name), "ckpt-%010d", sequence);
  Overwrite(absl::StrCat(dir, "/", name, "/table-0.rtbl"), -20, "\x5a");
}

void CorruptEveryCheckpoint(const std::string& dir) {
  for (int sequence = 1; fs::exists(absl::StrCat(dir, "/ckpt-000000000", sequence)); ++sequence) {
    CorruptCheckpoint(dir, sequence);
  }
}

// And the log segment written before the checkpoint is gone, as a
// checkpoint deletes it (once the rotation has reached the committer).
void CorruptEveryCheckpointAndTheLogBefore(const std::string& dir) {
  CorruptEveryCheckpoint(dir);
  fs::remove(WriteAheadLog::SegmentPath(dir, 1));
}

void CorruptNewestCheckpoint(const std::string& dir) { CorruptCheckpoint(dir, 2); }

// The older checkpoint's log segment is gone too: the log no longer
// reaches back to it.
void CorruptNewestCheckpointAndTheLogSinceTheOlder(const std::string& dir) {
  CorruptCheckpoint(dir, 2);
  ASSERT_TRUE(fs::remove(WriteAheadLog::SegmentPath(dir, 2)));
}

// What a restart holds (restored < 0: it refused) and loses.
struct Outcome {
  int64_t restored;
  int64_t lost;
};
constexpr Outcome kRefused{-1, 0};

struct Scenario {
  const char* name;
  v1::DurabilityConfig::Mode mode;
  int keep_latest;
  std::vector<int> plan;
  int64_t acknowledged;
  void (*damage)(const std::string& dir);
  Outcome refuse, skip_record, truncate;
  // What a refusal names.
  std::vector<std::string> refusal_names;
};

const Scenario kScenarios[] = {
    {"MidLogFlip",
     v1::DurabilityConfig::WAL, 2, {100}, 1000, FlipMidLog,
     kRefused, {990, 10}, {650, 350},
     {"wal-0000000000000001.log' at offset ", "checksum mismatch",
      "10 acknowledged items in 1 record (66 to 66)",
      "TRUNCATE would keep the log only up to the first damage and lose 350"}},
    {"HugeLength",
     v1::DurabilityConfig::WAL, 2, {100}, 1000, HugeLength,
     kRefused, {990, 10}, {650, 350},
     {"wal-0000000000000001.log' at offset ", "header checksum mismatch", "10 acknowledged items in 1 record"}},
    // The torn request was never acknowledged: not a loss.
    {"TruncatedTail",
     v1::DurabilityConfig::WAL, 2, {100}, 1000, TruncateTail,
     {990, 0}, {990, 0}, {990, 0}, {}},
    {"GarbageAppended",
     v1::DurabilityConfig::WAL, 2, {100}, 1000, AppendGarbage,
     {1000, 0}, {1000, 0}, {1000, 0}, {}},
    // The checkpoint held items 0..299, whose log segment was deleted after
    // it; the log holds 300..999. TRUNCATE keeps the consistent prefix:
    // nothing.
    {"EveryCheckpointCorrupt",
     v1::DurabilityConfig::WAL, 1, {30, 0, 70}, 1000, CorruptEveryCheckpointAndTheLogBefore,
     kRefused, {700, 300}, {0, 1000},
     {"checkpoint '", "ckpt-0000000001' is corrupt", "table-0.rtbl': checksum mismatch in the record at offset",
      "held 300 items", "wal-0000000000000002.log' at offset 0", "300 acknowledged items in 30 records (1 to 30)"}},
    {"NewestCheckpointCorruptTheLogCoversTheOlder",
     v1::DurabilityConfig::WAL, 2, {30, 0, 30, 0, 40}, 1000, CorruptNewestCheckpoint,
     {1000, 0}, {1000, 0}, {1000, 0}, {}},
    {"NewestCheckpointCorruptTheLogDoesNotCoverTheOlder",
     v1::DurabilityConfig::WAL, 2, {30, 0, 30, 0, 40}, 1000, CorruptNewestCheckpointAndTheLogSinceTheOlder,
     kRefused, {700, 300}, {300, 700},
     {"ckpt-0000000002' is corrupt", "table-0.rtbl", "held 600 items", "must cover every item since '",
      "wal-0000000000000003.log' at offset 0", "300 acknowledged items in 30 records (31 to 60)"}},
    {"EveryCheckpointCorruptWithoutALog",
     v1::DurabilityConfig::CHECKPOINT, 2, {30, 0, 30, 0}, 600, CorruptEveryCheckpoint,
     kRefused, {0, 600}, {0, 600},
     {"ckpt-0000000002' is corrupt", "table-0.rtbl': checksum mismatch in the record at offset",
      "no older checkpoint is readable", "at least 600 acknowledged items are lost"}},
    {"NewestCheckpointCorruptWithoutALog",
     v1::DurabilityConfig::CHECKPOINT, 2, {30, 0, 30, 0}, 600, CorruptNewestCheckpoint,
     kRefused, {300, 300}, {300, 300},
     {"ckpt-0000000002' is corrupt", "ckpt-0000000001' holds 300 items", "at least 300 acknowledged items are lost"}},
};

void PrintTo(const Scenario& scenario, std::ostream* os) { *os << scenario.name; }

class DamagedShardTest : public ::testing::TestWithParam<std::tuple<Scenario, Choice>> {};

TEST_P(DamagedShardTest, RestoresWhatTheChoiceKeepsAndCountsExactlyWhatItLoses) {
  const Scenario& scenario = std::get<0>(GetParam());
  const Choice choice = std::get<1>(GetParam());
  const std::string dir = FreshTestDir(absl::StrCat("damaged-", scenario.name, "-", choice));
  ASSERT_EQ(Live(Config(scenario.mode, scenario.keep_latest, v1::DurabilityConfig::REFUSE), dir, scenario.plan),
            scenario.acknowledged);
  scenario.damage(dir);
  const Outcome expected = choice == v1::DurabilityConfig::REFUSE        ? scenario.refuse
                           : choice == v1::DurabilityConfig::SKIP_RECORD ? scenario.skip_record
                                                                         : scenario.truncate;

  const v1::ReplayConfig config = Config(scenario.mode, scenario.keep_latest, choice);
  Restart restart = Reopen(config, dir);
  if (expected.restored < 0) {
    ASSERT_TRUE(absl::IsFailedPrecondition(restart.status)) << restart.status;
    const std::string message(restart.status.message());
    EXPECT_THAT(message, HasSubstr("refusing to start"));
    EXPECT_THAT(message, HasSubstr(dir));
    for (const std::string& name : scenario.refusal_names) EXPECT_THAT(message, HasSubstr(name));
    EXPECT_THAT(message, HasSubstr("on_corruption to SKIP_RECORD or TRUNCATE"));
    // The refusal changed nothing: it refuses again.
    EXPECT_TRUE(absl::IsFailedPrecondition(Reopen(config, dir).status));
    return;
  }
  ASSERT_TRUE(restart.status.ok()) << restart.status;
  EXPECT_EQ(restart.restored, expected.restored) << "of " << scenario.acknowledged << " acknowledged";
  EXPECT_EQ(restart.lost, expected.lost) << restart.losses;
  EXPECT_EQ(restart.metric, static_cast<double>(expected.lost));
  if (expected.lost == 0) {
    EXPECT_EQ(restart.losses, "");
    return;
  }
  EXPECT_NE(restart.losses, "");
  // The accepted loss was checkpointed at once: the next start needs no
  // override and holds the same items.
  Restart again = Reopen(Config(scenario.mode, scenario.keep_latest, v1::DurabilityConfig::REFUSE), dir);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.restored, expected.restored);
  EXPECT_EQ(again.lost, 0);
}

INSTANTIATE_TEST_SUITE_P(EveryDamageUnderEveryChoice, DamagedShardTest,
                         ::testing::Combine(::testing::ValuesIn(kScenarios),
                                            ::testing::Values(v1::DurabilityConfig::REFUSE,
                                                              v1::DurabilityConfig::SKIP_RECORD,
                                                              v1::DurabilityConfig::TRUNCATE)),
                         [](const auto& info) {
                           return absl::StrCat(std::get<0>(info.param).name, "_",
                                               v1::DurabilityConfig::OnCorruption_Name(std::get<1>(info.param)));
                         });

// A log written before sequence numbers ([length][CRC][payload] records,
// no segment header) is replayed, and the new log goes on after it.
TEST(ShardDurabilityTest, RestoresALogOfTheFormatBeforeAndGoesOnAfterIt) {
  const v1::ReplayConfig config = Config(v1::DurabilityConfig::WAL, 2, v1::DurabilityConfig::REFUSE);
  const std::string dir = FreshTestDir("format-1-log");
  {
    absl::StatusOr<RecordWriter> writer = RecordWriter::Create(WriteAheadLog::SegmentPath(dir, 1));
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (uint64_t k = 0; k < 50; k += 10) {
      ASSERT_TRUE(writer->Write(TestInsertRequest(Range(k, k + 10)).SerializeAsString()).ok());
    }
    ASSERT_TRUE(writer->SyncAndClose().ok());
  }
  {
    std::vector<std::unique_ptr<Table>> tables = Tables(config);
    auto durability = ShardDurability::Open(config, dir, &tables, nullptr);
    ASSERT_TRUE(durability.ok()) << durability.status();
    EXPECT_EQ(tables[0]->Stats().size, 50);
    std::string record(kRecordHeaderBytes, '\0');
    TestInsertRequest(Range(50, 60)).AppendToString(&record);
    const uint64_t ticket = (*durability)->wal()->Append(std::move(record), 10);
    ASSERT_TRUE((*durability)->wal()->WaitDurable(ticket, absl::Now() + absl::Seconds(10)).ok());
  }
  Restart restart = Reopen(config, dir);
  ASSERT_TRUE(restart.status.ok()) << restart.status;
  EXPECT_EQ(restart.restored, 60);
  EXPECT_EQ(restart.lost, 0);
}

v1::ReplayConfig FrameConfig(bool compressed) {
  v1::ReplayConfig config = Config(v1::DurabilityConfig::WAL, 2, v1::DurabilityConfig::REFUSE);
  *config.mutable_tables(0) = FrameTableConfig(100000, compressed);
  return config;
}

// A shard's life in WAL mode as the replay service lives it, on the frame
// table: each request of 10 frames prepared (compressed), stored, logged as
// prepared and synced; no checkpoint. `damage` breaks the frame of `key` in
// the log record (its checksum still valid). Returns the log's bytes.
int64_t LiveWithFrames(const v1::ReplayConfig& config, const std::string& dir, uint64_t items,
                       std::optional<uint64_t> damage = std::nullopt) {
  std::vector<std::unique_ptr<Table>> tables = Tables(config);
  absl::StatusOr<std::unique_ptr<ShardDurability>> durability = ShardDurability::Open(config, dir, &tables, nullptr);
  EXPECT_TRUE(durability.ok()) << durability.status();
  if (!durability.ok()) return 0;
  for (uint64_t key = 0; key < items; key += kItemsPerRequest) {
    v1::InsertRequest request = FrameInsertRequest(Range(key, key + kItemsPerRequest));
    EncodedInsert prepared;
    EXPECT_TRUE(tables[0]->Prepare(&request, &prepared).ok());
    std::vector<uint64_t> stored;
    EXPECT_TRUE(tables[0]->InsertPrepared(prepared, absl::Now() + absl::Seconds(5), &stored).ok());
    std::string record(kRecordHeaderBytes, '\0');
    prepared.AppendLogRecord(&record);
    if (damage.has_value() && *damage >= key && *damage < key + kItemsPerRequest) {
      const std::string frame(prepared.item(0, static_cast<int>(*damage - key)));
      const size_t at = record.find(frame);
      EXPECT_NE(at, std::string::npos);
      record[at] = static_cast<char>(record[at] ^ 0xff);
    }
    const uint64_t ticket = (*durability)->wal()->Append(std::move(record), kItemsPerRequest);
    EXPECT_TRUE((*durability)->wal()->WaitDurable(ticket, absl::Now() + absl::Seconds(10)).ok());
  }
  int64_t bytes = 0;
  for (uint64_t segment : WriteAheadLog::ListSegments(dir)) {
    bytes += static_cast<int64_t>(fs::file_size(WriteAheadLog::SegmentPath(dir, segment)));
  }
  return bytes;  // destroyed without a final checkpoint
}

// Reopens `dir` with `config` and samples every item of the frame table.
void ExpectEveryFrameBack(const v1::ReplayConfig& config, const std::string& dir, int64_t items) {
  std::vector<std::unique_ptr<Table>> tables = Tables(config);
  auto durability = ShardDurability::Open(config, dir, &tables, nullptr);
  ASSERT_TRUE(durability.ok()) << durability.status();
  EXPECT_EQ(tables[0]->Stats().size, items);
  v1::SampleResponse response;
  ASSERT_TRUE(tables[0]->Sample(static_cast<int>(items), absl::Now() + absl::Seconds(10), &response).ok());
  EXPECT_TRUE(FrameRowsMatchKeys(response));
}

TEST(ShardDurabilityTest, CompressedLogRecordsBringEveryFrameBackBitExact) {
  const std::string dir = FreshTestDir("compressed-log");
  const int64_t log_bytes = LiveWithFrames(FrameConfig(true), dir, 500);
  // The log holds the frames compressed: far less than their 500 * 400 bytes.
  EXPECT_LT(log_bytes, 500 * 400 / 2);
  ExpectEveryFrameBack(FrameConfig(true), dir, 500);
}

TEST(ShardDurabilityTest, LogsOfEitherCodecRestoreIntoATableOfTheOther) {
  const std::string compressed_log = FreshTestDir("compressed-log-to-plain");
  LiveWithFrames(FrameConfig(true), compressed_log, 200);
  ExpectEveryFrameBack(FrameConfig(false), compressed_log, 200);

  // A log of uncompressed records (what the releases before wrote) into a
  // table that now compresses.
  const std::string plain_log = FreshTestDir("plain-log-to-compressed");
  const int64_t plain_bytes = LiveWithFrames(FrameConfig(false), plain_log, 200);
  EXPECT_GT(plain_bytes, 200 * 400);
  ExpectEveryFrameBack(FrameConfig(true), plain_log, 200);
}

TEST(ShardDurabilityTest, ALogRecordWithACorruptFrameRefusesToStartNamingTableColumnAndKey) {
  const std::string dir = FreshTestDir("corrupt-frame-log");
  LiveWithFrames(FrameConfig(true), dir, 100, /*damage=*/57);
  Restart restart = Reopen(FrameConfig(true), dir);
  ASSERT_FALSE(restart.status.ok());
  EXPECT_TRUE(absl::IsDataLoss(restart.status)) << restart.status;
  EXPECT_THAT(restart.status.message(), HasSubstr("holds a damaged record"));
  EXPECT_THAT(restart.status.message(), HasSubstr("table 'frames': columns[0] ('frame') item 7 (key 57)"));
}

TEST(ShardDurabilityTest, AnUnknownOnCorruptionIsRefusedAsABadConfig) {
  v1::ReplayConfig config = Config(v1::DurabilityConfig::WAL, 2, v1::DurabilityConfig::REFUSE);
  config.mutable_durability()->set_on_corruption(static_cast<Choice>(9));
  Restart restart = Reopen(config, FreshTestDir("bad-choice"));
  ASSERT_TRUE(absl::IsInvalidArgument(restart.status)) << restart.status;
  EXPECT_THAT(restart.status.message(), HasSubstr("replay.durability.on_corruption: 9 is unknown"));
}

}  // namespace
}  // namespace rill::replay
