#include "replay/admission_queue.h"

#include <algorithm>
#include <utility>

#include "absl/time/time.h"

namespace rill::replay {

AdmissionQueue::AdmissionQueue(Table* table) : table_(table) {
  table_->SetChangeListener([this] { OnTableChanged(); });
}

AdmissionQueue::~AdmissionQueue() {
  Drain(absl::CancelledError("the replay table's admission queue is closing"));
  table_->SetChangeListener(nullptr);
}

void AdmissionQueue::OnTableChanged() {
  {
    absl::MutexLock lock(&mu_);
    if (pumping_ && pumper_ == std::this_thread::get_id()) return;
  }
  Pump();
}

void AdmissionQueue::Insert(const void* owner, const EncodedInsert* request, std::vector<uint64_t>* stored_keys,
                            Done done) {
  auto entry = std::make_unique<Entry>();
  entry->owner = owner;
  entry->request = request;
  entry->stored_keys = stored_keys;
  entry->done = std::move(done);
  Enqueue(Side::kInsert, std::move(entry));
}

void AdmissionQueue::Sample(const void* owner, int batch_size, v1::SampleResponse* out, Done done) {
  auto entry = std::make_unique<Entry>();
  entry->owner = owner;
  entry->batch_size = batch_size;
  entry->out = out;
  entry->done = std::move(done);
  Enqueue(Side::kSample, std::move(entry));
}

void AdmissionQueue::Enqueue(Side side, std::unique_ptr<Entry> entry) {
  {
    absl::MutexLock lock(&mu_);
    queue(side).push_back(std::move(entry));
  }
  Pump();
}

bool AdmissionQueue::Cancel(const void* owner) {
  std::unique_ptr<Entry> removed;
  {
    absl::MutexLock lock(&mu_);
    for (Side side : {Side::kInsert, Side::kSample}) {
      auto& entries = queue(side);
      auto it = std::find_if(entries.begin(), entries.end(),
                             [owner](const std::unique_ptr<Entry>& e) { return e->owner == owner; });
      if (it == entries.end()) continue;
      const Entry* target = it->get();
      // The pumping thread is using its buffers: let that attempt finish.
      auto idle = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return attempting_ != target; };
      mu_.Await(absl::Condition(&idle));
      // The attempt may have completed and removed it meanwhile.
      it = std::find_if(entries.begin(), entries.end(),
                        [target](const std::unique_ptr<Entry>& e) { return e.get() == target; });
      if (it == entries.end()) return false;
      removed = std::move(*it);
      entries.erase(it);
      UpdateWaitingLocked(side);
      break;
    }
  }
  if (removed == nullptr) return false;
  // The head may have changed: the next one may proceed now.
  Pump();
  return true;
}

void AdmissionQueue::Drain(absl::Status status) {
  {
    absl::MutexLock lock(&mu_);
    drain_status_ = std::move(status);
    pump_again_ = true;
  }
  Pump();
}

int64_t AdmissionQueue::waiting_inserts() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(inserts_.size());
}

int64_t AdmissionQueue::waiting_samples() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(samples_.size());
}

void AdmissionQueue::UpdateWaitingLocked(Side side) {
  bool& waiting = side == Side::kInsert ? insert_waiting_ : sample_waiting_;
  if (waiting && queue(side).empty()) {
    waiting = false;
    table_->SetWaiting(side, false);
  }
}

bool AdmissionQueue::Step(Side side, std::vector<Completion>* completions) {
  Entry* head = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (queue(side).empty()) return false;
    head = queue(side).front().get();
    attempting_ = head;
  }
  // A deadline in the past: store / draw what the limiter admits now.
  absl::Status status;
  int64_t progress = 0;
  if (side == Side::kInsert) {
    status = table_->InsertPrepared(*head->request, absl::InfinitePast(), head->stored_keys);
    progress = static_cast<int64_t>(head->stored_keys->size());
  } else {
    status = table_->Sample(head->batch_size, absl::InfinitePast(), head->out);
    progress = head->out->keys_size();
  }
  absl::MutexLock lock(&mu_);
  attempting_ = nullptr;
  const bool advanced = progress > head->progress;
  head->progress = progress;
  const bool blocked = absl::IsDeadlineExceeded(status);
  if (blocked && drain_status_.ok()) {
    bool& waiting = side == Side::kInsert ? insert_waiting_ : sample_waiting_;
    if (!waiting) {
      waiting = true;
      table_->SetWaiting(side, true);
    }
    return advanced;
  }
  completions->push_back(Completion{std::move(head->done), blocked ? drain_status_ : status});
  queue(side).pop_front();
  UpdateWaitingLocked(side);
  return true;
}

bool AdmissionQueue::BecomePumper() {
  absl::MutexLock lock(&mu_);
  if (pumping_) {
    pump_again_ = true;
    return false;
  }
  pumping_ = true;
  pumper_ = std::this_thread::get_id();
  pump_again_ = false;
  return true;
}

void AdmissionQueue::Pump() {
  if (!BecomePumper()) return;
  std::vector<Completion> completions;
  while (true) {
    bool progress = false;
    // Drain each side's ready heads, then look again at the other side: a
    // stored item may admit a sample and a drawn one an insert.
    while (Step(Side::kInsert, &completions)) progress = true;
    while (Step(Side::kSample, &completions)) progress = true;
    bool again;
    {
      absl::MutexLock lock(&mu_);
      again = progress || pump_again_;
      pump_again_ = false;
      pumping_ = false;
    }
    // The callbacks (a reactor serializing and writing its batch or
    // acknowledgement) run after this thread gave up pumping: a thread that
    // arrives meanwhile attempts its own entry instead of leaving the work
    // here, so writes of many streams go out in parallel while the table's
    // attempts stay one at a time.
    for (Completion& completion : completions) completion.done(std::move(completion.status));
    completions.clear();
    // Look again (a wake-up may have arrived during the pass); if another
    // thread pumps by now, it sees whatever arrived.
    if (!again || !BecomePumper()) return;
  }
}

}  // namespace rill::replay
