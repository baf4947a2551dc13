#include "replay/durability/checkpoint.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "google/protobuf/util/message_differencer.h"
#include "replay/durability/record_file.h"
#include "replay/durability/table_file.h"

namespace rill::replay {
namespace {

namespace fs = std::filesystem;

constexpr char kManifestName[] = "COMPLETE";
constexpr char kManifestMagic[] = "rill-replay-checkpoint 1";
constexpr char kCheckpointPrefix[] = "ckpt-";
constexpr char kTempPrefix[] = ".tmp-ckpt-";

std::string CheckpointName(int64_t sequence) {
  char name[32];
  std::snprintf(name, sizeof(name), "%s%010lld", kCheckpointPrefix, static_cast<long long>(sequence));
  return name;
}

std::string TableFileName(int index) { return absl::StrCat("table-", index, ".rtbl"); }

// The sequence number of a folder named PREFIX<digits>, or -1.
int64_t SequenceOf(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0) return -1;
  int64_t sequence;
  if (!absl::SimpleAtoi(name.substr(prefix.size()), &sequence) || sequence < 0) return -1;
  return sequence;
}

struct Listing {
  std::map<int64_t, std::string> checkpoints;  // sequence -> path, complete or not
  std::vector<std::string> temporaries;
};

absl::StatusOr<Listing> ListDir(const std::string& dir) {
  Listing listing;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (SequenceOf(name, kCheckpointPrefix) >= 0) {
      listing.checkpoints[SequenceOf(name, kCheckpointPrefix)] = entry.path().string();
    } else if (name.rfind(kTempPrefix, 0) == 0) {
      listing.temporaries.push_back(entry.path().string());
    }
  }
  if (error) return absl::InternalError(absl::StrCat("cannot list '", dir, "': ", error.message()));
  return listing;
}

struct Manifest {
  CheckpointSummary summary;
  std::vector<std::string> table_names;  // index i: table-<i>.rtbl
};

std::string EncodeManifest(const CheckpointSummary& s, const std::vector<std::string>& table_names) {
  std::string text = absl::StrCat(kManifestMagic, "\n");
  absl::StrAppend(&text, "sequence ", s.sequence, "\n");
  absl::StrAppend(&text, "completed_unix_micros ", absl::ToUnixMicros(s.completed), "\n");
  absl::StrAppend(&text, "wal_segment ", s.wal_segment, "\n");
  absl::StrAppend(&text, "items ", s.items, "\n");
  absl::StrAppend(&text, "bytes ", s.bytes, "\n");
  absl::StrAppend(&text, "duration_micros ", absl::ToInt64Microseconds(s.duration), "\n");
  absl::StrAppend(&text, "pause_micros ", absl::ToInt64Microseconds(s.pause), "\n");
  absl::StrAppend(&text, "tables ", table_names.size(), "\n");
  // Names next, one per line (a name is any text without a newline).
  for (const std::string& name : table_names) absl::StrAppend(&text, name, "\n");
  // Fields added since, after the names, where the reader of format 1 does
  // not look.
  if (s.wal_position.has_value()) {
    absl::StrAppend(&text, "wal_sequence ", s.wal_position->sequence, "\n");
    absl::StrAppend(&text, "wal_item ", s.wal_position->item, "\n");
  }
  return text;
}

absl::StatusOr<Manifest> ReadManifest(const std::string& folder) {
  const std::string path = folder + "/" + kManifestName;
  ASSIGN_OR_RETURN(RecordReader reader, RecordReader::Open(path));
  std::string text;
  RETURN_IF_ERROR(reader.Next(&text));
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  auto bad = [&](const std::string& why) {
    return absl::DataLossError(absl::StrCat("'", path, "' is not a valid checkpoint manifest: ", why));
  };
  if (lines.size() < 10 || lines[0] != kManifestMagic) return bad("wrong header");
  Manifest manifest;
  manifest.summary.path = folder;
  std::map<std::string, int64_t> fields;
  for (int i = 1; i <= 8; ++i) {
    std::vector<std::string> kv = absl::StrSplit(lines[i], absl::MaxSplits(' ', 1));
    int64_t value;
    if (kv.size() != 2 || !absl::SimpleAtoi(kv[1], &value)) return bad(absl::StrCat("line ", i + 1));
    fields[kv[0]] = value;
  }
  for (const char* key : {"sequence", "completed_unix_micros", "wal_segment", "items", "bytes", "duration_micros",
                          "pause_micros", "tables"}) {
    if (!fields.count(key)) return bad(absl::StrCat("no ", key));
  }
  manifest.summary.sequence = fields["sequence"];
  manifest.summary.completed = absl::FromUnixMicros(fields["completed_unix_micros"]);
  manifest.summary.wal_segment = static_cast<uint64_t>(fields["wal_segment"]);
  manifest.summary.items = fields["items"];
  manifest.summary.bytes = fields["bytes"];
  manifest.summary.duration = absl::Microseconds(fields["duration_micros"]);
  manifest.summary.pause = absl::Microseconds(fields["pause_micros"]);
  const int64_t num_tables = fields["tables"];
  if (num_tables < 0 || static_cast<int64_t>(lines.size()) < 9 + num_tables) return bad("table list cut short");
  for (int64_t i = 0; i < num_tables; ++i) manifest.table_names.push_back(lines[9 + i]);
  std::map<std::string, uint64_t> extra;
  for (size_t i = static_cast<size_t>(9 + num_tables); i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    std::vector<std::string> kv = absl::StrSplit(lines[i], absl::MaxSplits(' ', 1));
    uint64_t value;
    if (kv.size() != 2 || !absl::SimpleAtoi(kv[1], &value)) return bad(absl::StrCat("line ", i + 1));
    extra[kv[0]] = value;
  }
  if (extra.count("wal_sequence") && extra.count("wal_item")) {
    manifest.summary.wal_position = WalPosition{extra["wal_sequence"], extra["wal_item"]};
  }
  return manifest;
}

}  // namespace

absl::Status CheckTableConfigMatches(const v1::TableConfig& checkpointed, const v1::TableConfig& configured) {
  google::protobuf::util::MessageDifferencer differencer;
  differencer.IgnoreField(v1::TableConfig::descriptor()->FindFieldByName("rate_limiter"));
  // How columns are stored is no layout: a restore converts (Table::RestoreItems).
  differencer.IgnoreField(v1::TableConfig::descriptor()->FindFieldByName("compression"));
  std::string differences;
  differencer.ReportDifferencesToString(&differences);
  if (differencer.Compare(checkpointed, configured)) return absl::OkStatus();
  std::replace(differences.begin(), differences.end(), '\n', ';');
  return absl::FailedPreconditionError(absl::StrCat(
      "table '", configured.name(), "': the checkpoint was written with a different table config (checkpoint -> "
      "config: ", differences, "); restore it with its own config or move the durability dir away"));
}

absl::StatusOr<std::unique_ptr<CheckpointStore>> CheckpointStore::Open(const std::string& dir, int keep_latest) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create durability dir '", dir, "': ", error.message()));
  ASSIGN_OR_RETURN(Listing listing, ListDir(dir));
  int64_t next = 1;
  if (!listing.checkpoints.empty()) next = listing.checkpoints.rbegin()->first + 1;
  for (const std::string& temporary : listing.temporaries) {
    next = std::max(next, SequenceOf(fs::path(temporary).filename().string(), kTempPrefix) + 1);
  }
  return std::unique_ptr<CheckpointStore>(new CheckpointStore(dir, std::max(1, keep_latest), next));
}

absl::StatusOr<CheckpointSummary> CheckpointStore::Write(const v1::ReplayConfig& config,
                                                         const std::vector<Table*>& tables, uint64_t wal_segment,
                                                         const std::optional<WalPosition>& wal_position) {
  if (static_cast<int>(tables.size()) != config.tables_size()) {
    return absl::InternalError("checkpoint: the tables do not match the config");
  }
  const absl::Time start = absl::Now();
  CheckpointSummary summary;
  summary.sequence = next_sequence_++;
  summary.wal_segment = wal_segment;
  summary.wal_position = wal_position;
  const std::string name = CheckpointName(summary.sequence);
  const std::string temporary = absl::StrCat(dir_, "/", kTempPrefix, name.substr(std::strlen(kCheckpointPrefix)));
  summary.path = absl::StrCat(dir_, "/", name);
  std::error_code error;
  fs::remove_all(temporary, error);
  fs::create_directories(temporary, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create '", temporary, "': ", error.message()));

  std::vector<std::string> names;
  for (size_t i = 0; i < tables.size(); ++i) {
    Table* table = tables[i];
    names.push_back(table->name());
    TableSnapshot snapshot = table->Snapshot();
    summary.pause = std::max(summary.pause, snapshot.pause);
    summary.items += snapshot.size();
    summary.bytes += snapshot.bytes;
    RETURN_IF_ERROR(WriteTableFile(absl::StrCat(temporary, "/", TableFileName(static_cast<int>(i))),
                                   config.tables(static_cast<int>(i)), snapshot));
  }
  // Whole microseconds, as the manifest keeps it.
  summary.completed = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
  summary.duration = summary.completed - start;
  ASSIGN_OR_RETURN(RecordWriter manifest, RecordWriter::Create(absl::StrCat(temporary, "/", kManifestName)));
  RETURN_IF_ERROR(manifest.Write(EncodeManifest(summary, names)));
  RETURN_IF_ERROR(manifest.SyncAndClose());
  RETURN_IF_ERROR(SyncDir(temporary));
  if (std::rename(temporary.c_str(), summary.path.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot rename '", temporary, "' to '", summary.path, "': ", std::strerror(errno)));
  }
  RETURN_IF_ERROR(SyncDir(dir_));
  summary.duration = absl::Now() - start;
  Prune();
  return summary;
}

void CheckpointStore::Prune() {
  absl::StatusOr<Listing> listing = ListDir(dir_);
  if (!listing.ok()) {
    RILL_LOG(WARNING) << "checkpoint pruning: " << listing.status();
    return;
  }
  std::error_code error;
  for (const std::string& temporary : listing->temporaries) fs::remove_all(temporary, error);
  int kept = 0;
  for (auto it = listing->checkpoints.rbegin(); it != listing->checkpoints.rend(); ++it) {
    const bool complete = ReadManifest(it->second).ok();
    if (complete && kept < keep_latest_) {
      ++kept;
      continue;
    }
    fs::remove_all(it->second, error);
  }
}

uint64_t CheckpointStore::OldestNeededWalSegment() const {
  absl::StatusOr<Listing> listing = ListDir(dir_);
  if (!listing.ok()) return 0;
  std::optional<uint64_t> oldest;
  for (const auto& [sequence, path] : listing->checkpoints) {
    absl::StatusOr<Manifest> manifest = ReadManifest(path);
    if (!manifest.ok()) continue;
    oldest = std::min(oldest.value_or(manifest->summary.wal_segment), manifest->summary.wal_segment);
  }
  return oldest.value_or(0);
}

absl::StatusOr<std::optional<CheckpointSummary>> CheckpointStore::RestoreLatest(
    const v1::ReplayConfig& config, std::vector<std::unique_ptr<Table>>* tables,
    std::vector<SkippedCheckpoint>* skipped) {
  ASSIGN_OR_RETURN(Listing listing, ListDir(dir_));
  for (const std::string& temporary : listing.temporaries) {
    RILL_LOG(WARNING) << "skipping half-written checkpoint '" << temporary << "' (no completion marker)";
  }
  for (auto it = listing.checkpoints.rbegin(); it != listing.checkpoints.rend(); ++it) {
    const std::string& folder = it->second;
    absl::StatusOr<Manifest> manifest = ReadManifest(folder);
    if (!manifest.ok()) {
      RILL_LOG(WARNING) << "skipping half-written checkpoint '" << folder << "': " << manifest.status().message();
      if (skipped != nullptr) {
        skipped->push_back(SkippedCheckpoint{folder, std::string(manifest.status().message()), std::nullopt});
      }
      continue;
    }
    // The same tables, by name.
    std::vector<std::string> configured;
    for (const v1::TableConfig& table : config.tables()) configured.push_back(table.name());
    std::vector<std::string> sorted_checkpoint = manifest->table_names, sorted_config = configured;
    std::sort(sorted_checkpoint.begin(), sorted_checkpoint.end());
    std::sort(sorted_config.begin(), sorted_config.end());
    if (sorted_checkpoint != sorted_config) {
      return absl::FailedPreconditionError(absl::StrCat(
          "checkpoint '", folder, "' holds tables [", absl::StrJoin(manifest->table_names, ", "),
          "] but the config has [", absl::StrJoin(configured, ", "),
          "]; restore it with its own config or move the durability dir away"));
    }
    // Open every file and check its config before restoring anything.
    struct OpenTableFile {
      RecordReader reader;
      int index;                      // in the config
      v1::TableConfig checkpointed;  // the file's own
    };
    std::vector<OpenTableFile> readers;
    absl::Status status;
    for (size_t i = 0; i < manifest->table_names.size() && status.ok(); ++i) {
      const std::string path = absl::StrCat(folder, "/", TableFileName(static_cast<int>(i)));
      absl::StatusOr<RecordReader> reader = RecordReader::Open(path);
      if (!reader.ok()) {
        status = reader.status();
        break;
      }
      absl::StatusOr<v1::TableConfig> checkpointed = ReadTableHeader(*reader, path);
      if (!checkpointed.ok()) {
        status = checkpointed.status();
        break;
      }
      const int index = static_cast<int>(
          std::find(configured.begin(), configured.end(), manifest->table_names[i]) - configured.begin());
      if (checkpointed->name() != manifest->table_names[i]) {
        status = absl::DataLossError(absl::StrCat("'", path, "' holds table '", checkpointed->name(),
                                                  "', not '", manifest->table_names[i], "'"));
        break;
      }
      RETURN_IF_ERROR(CheckTableConfigMatches(*checkpointed, config.tables(index)));
      readers.push_back(OpenTableFile{*std::move(reader), index, *std::move(checkpointed)});
    }
    for (size_t i = 0; i < readers.size() && status.ok(); ++i) {
      status = RestoreTableFile(readers[i].reader, absl::StrCat(folder, "/", TableFileName(static_cast<int>(i))),
                                readers[i].checkpointed, (*tables)[readers[i].index].get());
    }
    if (status.ok()) return std::optional<CheckpointSummary>(manifest->summary);
    RILL_LOG(WARNING) << "skipping corrupt checkpoint '" << folder << "': " << status.message();
    if (skipped != nullptr) {
      skipped->push_back(SkippedCheckpoint{folder, std::string(status.message()), manifest->summary.items});
    }
    ASSIGN_OR_RETURN(*tables, CreateTables(config));
  }
  return std::optional<CheckpointSummary>();
}

}  // namespace rill::replay
