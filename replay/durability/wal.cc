#include "replay/durability/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "replay/durability/crc32c.h"
#include "replay/durability/record_file.h"

namespace rill::replay {
namespace {

namespace fs = std::filesystem;

}  // namespace

std::string WriteAheadLog::SegmentPath(const std::string& dir, uint64_t segment) {
  return WalSegmentPath(dir, segment);
}

std::vector<uint64_t> WriteAheadLog::ListSegments(const std::string& dir) { return ListWalSegments(dir); }

absl::StatusOr<WriteAheadLog::ReadStats> WriteAheadLog::ReadSegments(
    const std::string& dir, uint64_t first_segment, const std::function<absl::Status(std::string_view)>& apply) {
  WalRecoveryOptions options;
  options.first_segment = first_segment;
  options.on_corruption = OnCorruption::kTruncate;
  return RecoverWal(dir, options, apply);
}

WriteAheadLog::WriteAheadLog(Options options)
    : options_(std::move(options)),
      next_segment_(options_.first_segment + 1),
      next_position_(options_.start),
      writing_segment_(options_.first_segment) {}

absl::StatusOr<std::unique_ptr<WriteAheadLog>> WriteAheadLog::Open(Options options) {
  std::error_code error;
  fs::create_directories(options.dir, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create '", options.dir, "': ", error.message()));
  std::unique_ptr<WriteAheadLog> log(new WriteAheadLog(std::move(options)));
  RETURN_IF_ERROR(log->OpenSegment(log->options_.first_segment, log->options_.start));
  log->committer_ = std::thread([raw = log.get()] { raw->CommitLoop(); });
  return log;
}

WriteAheadLog::~WriteAheadLog() {
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
  }
  if (committer_.joinable()) committer_.join();
  if (fd_ >= 0) ::close(fd_);
}

absl::Status WriteAheadLog::OpenSegment(uint64_t segment, const WalPosition& start) {
  if (fd_ >= 0) {
    RETURN_IF_ERROR(SyncFile(fd_, path_));
    ::close(fd_);
    fd_ = -1;
  }
  path_ = SegmentPath(options_.dir, segment);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return absl::InternalError(absl::StrCat("cannot create write-ahead log segment '", path_, "'"));
  // Synced with the segment's first group commit (or at the next rotation).
  const std::string header = EncodeWalSegmentHeader(start);
  RETURN_IF_ERROR(WriteAll(fd_, header.data(), header.size(), path_));
  // The new file's folder entry must be durable before a record in it is.
  return SyncDir(options_.dir);
}

uint64_t WriteAheadLog::Append(std::string record, uint32_t items) {
  Entry entry;
  entry.header.length = static_cast<uint32_t>(record.size() - kRecordHeaderBytes);
  entry.header.items = items;
  entry.header.payload_crc = Crc32c(record.data() + kRecordHeaderBytes, entry.header.length);
  entry.record = std::move(record);
  absl::MutexLock lock(&mu_);
  entry.header.sequence = next_position_.sequence++;
  entry.header.first_item = next_position_.item;
  next_position_.item += items;
  bytes_since_rotation_ += static_cast<int64_t>(entry.header.length + kWalRecordHeaderBytes);
  queue_.push_back(std::move(entry));
  return ++appended_;
}

absl::Status WriteAheadLog::WaitDurable(uint64_t ticket, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto done = [this, ticket]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return durable_ >= ticket || !failure_.ok(); };
  mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
  if (durable_ >= ticket) return absl::OkStatus();
  if (!failure_.ok()) {
    return absl::UnavailableError(absl::StrCat("the write-ahead log failed, so the insert cannot be made durable: ",
                                               failure_.message()));
  }
  return absl::DeadlineExceededError("deadline passed while waiting for the write-ahead log");
}

absl::Status WriteAheadLog::FailedStatusLocked() const {
  if (!failure_.ok()) {
    return absl::UnavailableError(absl::StrCat("the write-ahead log failed, so the insert cannot be made durable: ",
                                               failure_.message()));
  }
  return absl::UnavailableError("the write-ahead log is closed, so the insert cannot be made durable");
}

void WriteAheadLog::OnDurable(uint64_t ticket, std::function<void(absl::Status)> done) {
  absl::Status now;
  {
    absl::MutexLock lock(&mu_);
    if (durable_ < ticket && failure_.ok() && !committer_done_) {
      callbacks_.push_back(DurableCallback{ticket, std::move(done)});
      return;
    }
    if (durable_ < ticket) now = FailedStatusLocked();
  }
  done(now);
}

void WriteAheadLog::RunDurableCallbacks(const absl::Status& failure) {
  std::vector<DurableCallback> ready;
  {
    absl::MutexLock lock(&mu_);
    if (!failure.ok()) {
      ready.swap(callbacks_);
    } else {
      auto not_durable = [this](const DurableCallback& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return c.ticket > durable_;
      };
      auto split = std::stable_partition(callbacks_.begin(), callbacks_.end(), not_durable);
      ready.assign(std::make_move_iterator(split), std::make_move_iterator(callbacks_.end()));
      callbacks_.erase(split, callbacks_.end());
    }
  }
  std::sort(ready.begin(), ready.end(),
            [](const DurableCallback& a, const DurableCallback& b) { return a.ticket < b.ticket; });
  for (DurableCallback& callback : ready) callback.done(failure);
}

uint64_t WriteAheadLog::Rotate(WalPosition* position) {
  absl::MutexLock lock(&mu_);
  const uint64_t segment = next_segment_++;
  Entry rotation;
  rotation.next_segment = segment;
  rotation.position = next_position_;
  if (position != nullptr) *position = next_position_;
  queue_.push_back(std::move(rotation));
  bytes_since_rotation_ = 0;
  return segment;
}

absl::Status WriteAheadLog::DeleteSegmentsBefore(uint64_t segment) {
  uint64_t writing;
  {
    absl::MutexLock lock(&mu_);
    writing = writing_segment_;
  }
  for (uint64_t existing : ListSegments(options_.dir)) {
    if (existing >= segment || existing >= writing) break;
    const std::string path = SegmentPath(options_.dir, existing);
    if (::unlink(path.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("cannot delete write-ahead log segment '", path, "'"));
    }
  }
  return absl::OkStatus();
}

int64_t WriteAheadLog::bytes_since_rotation() const {
  absl::MutexLock lock(&mu_);
  return bytes_since_rotation_;
}

void WriteAheadLog::CommitLoop() {
  std::vector<Entry> batch;
  while (true) {
    uint64_t last_ticket;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || closing_; };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty() && closing_) {
        committer_done_ = true;
        const absl::Status closed = FailedStatusLocked();
        mu_.Unlock();
        RunDurableCallbacks(closed);  // tickets never appended (none in practice)
        mu_.Lock();
        return;
      }
      if (options_.group_commit > absl::ZeroDuration() && !closing_) {
        // Let more records join this group.
        mu_.AwaitWithTimeout(absl::Condition(&closing_), options_.group_commit);
      }
      batch.swap(queue_);
      last_ticket = appended_;
    }
    const absl::Time start = absl::Now();
    absl::Status status;
    uint64_t segment_switched_to = 0;
    // Consecutive records go out in writev calls of up to kMaxIov buffers.
    constexpr size_t kMaxIov = 512;
    std::vector<iovec> iov;
    auto flush = [&]() -> absl::Status {
      size_t i = 0;
      while (i < iov.size()) {
        const int count = static_cast<int>(std::min(kMaxIov, iov.size() - i));
        const ssize_t n = ::writev(fd_, &iov[i], count);
        if (n < 0) {
          if (errno == EINTR) continue;
          return absl::InternalError(absl::StrCat("cannot write '", path_, "': ", std::strerror(errno)));
        }
        // Skip what was written; a short write resumes inside a buffer.
        size_t left = static_cast<size_t>(n);
        while (left > 0 && left >= iov[i].iov_len) left -= iov[i++].iov_len;
        if (left > 0) {
          iov[i].iov_base = static_cast<char*>(iov[i].iov_base) + left;
          iov[i].iov_len -= left;
        }
      }
      iov.clear();
      return absl::OkStatus();
    };
    // Every record before a group's first was synced before the group is
    // written; a rotation syncs too, so a new group starts after it.
    uint64_t group_first = 0;
    for (Entry& entry : batch) {
      if (!status.ok()) break;
      if (entry.record.empty()) {
        status = flush();
        if (status.ok()) status = OpenSegment(entry.next_segment, entry.position);
        segment_switched_to = entry.next_segment;
        group_first = 0;
      } else {
        if (group_first == 0) group_first = entry.header.sequence;
        entry.header.group_offset = static_cast<uint32_t>(entry.header.sequence - group_first);
        EncodeWalRecordHeader(entry.header, entry.encoded_header);
        iov.push_back(iovec{entry.encoded_header, kWalRecordHeaderBytes});
        iov.push_back(iovec{entry.record.data() + kRecordHeaderBytes, entry.record.size() - kRecordHeaderBytes});
      }
    }
    if (status.ok()) status = flush();
    if (status.ok()) status = SyncFile(fd_, path_);
    batch.clear();
    if (options_.on_sync) options_.on_sync(absl::Now() - start);
    absl::Status failed;
    {
      absl::MutexLock lock(&mu_);
      if (segment_switched_to != 0) writing_segment_ = segment_switched_to;
      if (!status.ok()) {
        if (failure_.ok()) RILL_LOG(ERROR) << "write-ahead log failed: " << status;
        failure_ = status;
        // Nothing more is written; waiters learn of the failure.
        queue_.clear();
        closing_ = true;
        committer_done_ = true;
        failed = FailedStatusLocked();
      } else {
        durable_ = last_ticket;
      }
    }
    RunDurableCallbacks(failed);
    if (!failed.ok()) return;
  }
}

}  // namespace rill::replay
