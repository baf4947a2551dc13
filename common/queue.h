// BlockingQueue<T>: a bounded, closable FIFO handing values between threads,
// e.g. from the replay sampler's network threads to the learner's update loop.
// Push waits while the queue is full and Pop while it is empty, each up to a
// timeout; Close() wakes every waiter. Thread-safe: any number of producers
// and consumers.
#ifndef RILL_COMMON_QUEUE_H_
#define RILL_COMMON_QUEUE_H_

#include <cstddef>
#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rill {

template <typename T>
class BlockingQueue {
 public:
  // `capacity` >= 1 values are held at most.
  explicit BlockingQueue(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  BlockingQueue(const BlockingQueue&) = delete;
  BlockingQueue& operator=(const BlockingQueue&) = delete;

  // Appends `value`, waiting up to `timeout` for room (absl::InfiniteDuration()
  // waits until there is room or the queue is closed). DeadlineExceeded when
  // still full at the timeout, Cancelled once closed; either way `value` is
  // dropped.
  absl::Status Push(T value, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return closed_ || values_.size() < capacity_;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&room), timeout)) {
      return absl::DeadlineExceededError(
          absl::StrCat("queue still full (", capacity_, " values) after ", absl::FormatDuration(timeout)));
    }
    if (closed_) return absl::CancelledError("queue is closed");
    values_.push_back(std::move(value));
    return absl::OkStatus();
  }

  // Removes the oldest value, waiting up to `timeout` for one. DeadlineExceeded
  // when still empty at the timeout; Cancelled once closed (values still
  // queued at Close() are discarded: a closed queue's consumer is done).
  absl::StatusOr<T> Pop(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || !values_.empty(); };
    if (!mu_.AwaitWithTimeout(absl::Condition(&ready), timeout)) {
      return absl::DeadlineExceededError(
          absl::StrCat("queue still empty after ", absl::FormatDuration(timeout)));
    }
    if (closed_) return absl::CancelledError("queue is closed");
    T value = std::move(values_.front());
    values_.pop_front();
    return value;
  }

  // Wakes every waiting Push and Pop with Cancelled; later calls fail at once.
  // Idempotent.
  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    values_.clear();
  }

  size_t size() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return values_.size();
  }

  size_t capacity() const { return capacity_; }

  bool closed() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return closed_;
  }

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<T> values_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace rill

#endif  // RILL_COMMON_QUEUE_H_
