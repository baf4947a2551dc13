#include "replay/table.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"
#include "replay/removers/registry.h"
#include "replay/selectors/registry.h"
#include "replay/table_config.h"

namespace rill::replay {
namespace {

// How far back a wait for samples still makes ReleaseInserts report the
// inserts as held back.
constexpr absl::Duration kReleaseLookBack = absl::Seconds(2);

static_assert(kMaxSlots <= KeyIndex::kMaxCapacity, "every slot of a table must fit its key index");

// `keys`, one per item, name the offending item in the message.
absl::Status CheckPriorities(const google::protobuf::RepeatedField<double>& priorities,
                             const google::protobuf::RepeatedField<uint64_t>& keys, const std::string& table) {
  const int64_t num_items = keys.size();
  if (priorities.empty()) return absl::OkStatus();
  if (priorities.size() != num_items) {
    return absl::InvalidArgumentError(absl::StrCat("table '", table, "': ", priorities.size(),
                                                   " priorities for ", num_items,
                                                   " items (give one per item, or none)"));
  }
  for (int i = 0; i < priorities.size(); ++i) {
    const double p = priorities.Get(i);
    if (std::isnan(p) || std::isinf(p) || p < 0) {
      return absl::InvalidArgumentError(absl::StrCat("table '", table, "': priorities[", i, "] is ", p, " (key ",
                                                     keys.Get(i), "); priorities must be finite and >= 0"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Table>> Table::Create(const v1::TableConfig& config) {
  const std::string where = absl::StrCat("table '", config.name(), "': ");
  // Every rule of the config lives in table_config.h.
  RETURN_IF_ERROR(CheckTableConfig(config));
  const v1::SelectorConfig& selector = config.selector();
  const v1::SelectorConfig::Prioritized& prioritized = selector.prioritized();
  const double beta = prioritized.has_importance_sampling_exponent() ? prioritized.importance_sampling_exponent()
                                                                      : kDefaultImportanceSamplingExponent;
  const int32_t max_times_sampled = selector.has_fifo() ? 1 : config.max_times_sampled();
  absl::StatusOr<RateLimiter> limiter = RateLimiter::Create(config.rate_limiter());
  if (!limiter.ok()) return absl::InvalidArgumentError(absl::StrCat(where, limiter.status().message()));
  const int64_t capacity = TableCapacity(config);

  ASSIGN_OR_RETURN(std::unique_ptr<ItemStore> store, ItemStore::Create(config, capacity));
  std::unique_ptr<ItemSelector> item_selector = SelectorRowOf(config).make(config, capacity);
  std::unique_ptr<ItemRemover> item_remover = RemoverRowOf(config).make(capacity, max_times_sampled);
  return std::unique_ptr<Table>(new Table(config, capacity, std::move(store), *std::move(limiter),
                                          std::move(item_selector), std::move(item_remover),
                                          max_times_sampled, beta));
}

Table::Table(const v1::TableConfig& config, int64_t capacity, std::unique_ptr<ItemStore> store, RateLimiter limiter,
             std::unique_ptr<ItemSelector> selector, std::unique_ptr<ItemRemover> remover,
             int32_t max_times_sampled, double importance_sampling_exponent)
    : name_(config.name()),
      signature_(config.signature()),
      capacity_(capacity),
      store_(std::move(store)),
      layout_(store_->layout()),
      max_stored_bytes_(layout_.compresses() || layout_.shares_planes() ? config.max_bytes() : 0),
      max_times_sampled_(max_times_sampled),
      importance_sampling_exponent_(importance_sampling_exponent),
      takes_whole_batches_(selector->takes_whole_batches()),
      limiter_admits_at_most_(LargestAdmittedBatch(config.rate_limiter())),
      has_priorities_(selector->uses_priorities()),
      slot_keys_(capacity),
      key_index_(capacity, slot_keys_.data()),
      times_sampled_(max_times_sampled > 0 ? capacity : 0, 0),
      keeps_sequence_(!remover->keeps_insertion_order()),
      slot_sequence_(keeps_sequence_ ? capacity : 0, 0),
      priorities_(has_priorities_ ? capacity : 0, 0.0),
      limiter_(std::move(limiter)),
      selector_(std::move(selector)),
      remover_(std::move(remover)) {}

int64_t Table::LargestAdmittedBatch(const v1::RateLimiterConfig& config) {
  const double spi = config.samples_per_insert();
  if (spi <= 0) return std::numeric_limits<int64_t>::max();
  // The limiter keeps inserts * SPI - samples within a window 2 * error_buffer
  // wide, so no more samples than that fit at once. With SPI 1 and every item
  // sampled once, that difference is also the number of items stored, which
  // inserts keep at or below min_size_to_sample + error_buffer.
  double most = 2 * config.error_buffer();
  if (spi == 1) most = std::min(most, static_cast<double>(config.min_size_to_sample()) + config.error_buffer());
  // At most 2 * kMaxLimiterCount for a checked config; no cast past int64.
  return static_cast<int64_t>(std::floor(std::min(most, 2 * kMaxLimiterCount)));
}

std::string Table::ClosedMessage() const {
  return absl::StrCat("table '", name_, "' is closed (the shard is shutting down)");
}

absl::Status Table::ValidateKeys(const v1::InsertRequest& request) const {
  const std::string where = absl::StrCat("table '", name_, "': ");
  const int64_t num_items = request.keys_size();
  if (num_items == 0) return absl::InvalidArgumentError(absl::StrCat(where, "insert request has no keys (no items)"));
  if (num_items > capacity_) {
    return absl::InvalidArgumentError(absl::StrCat(where, "insert request of ", num_items,
                                                   " items exceeds the table's capacity ", capacity_));
  }
  absl::flat_hash_set<uint64_t> keys;
  keys.reserve(num_items);
  for (int i = 0; i < num_items; ++i) {
    if (!keys.insert(request.keys(i)).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, "keys[", i, "] = ", request.keys(i),
                                                     " appears twice in the insert request"));
    }
  }
  return CheckPriorities(request.priorities(), request.keys(), name_);
}

absl::Status Table::ValidateInsert(const v1::InsertRequest& request) const {
  const std::string where = absl::StrCat("table '", name_, "': ");
  const int64_t num_items = request.keys_size();
  if (num_items == 0) return absl::InvalidArgumentError(absl::StrCat(where, "insert request has no keys (no items)"));
  if (request.columns_size() != signature_.columns_size()) {
    std::string names;
    for (const v1::ColumnSpec& spec : signature_.columns()) {
      absl::StrAppend(&names, names.empty() ? "" : ", ", spec.name());
    }
    return absl::InvalidArgumentError(absl::StrCat(where, "insert request has ", request.columns_size(),
                                                   " columns but the signature has ",
                                                   signature_.columns_size(), " (", names, ")"));
  }
  for (int c = 0; c < signature_.columns_size(); ++c) {
    absl::Status st = CheckBatchedColumn(request.columns(c), signature_.columns(c), num_items);
    if (!st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "columns[", c, "]: ", st.message()));
    }
  }
  return ValidateKeys(request);
}

absl::Status Table::Prepare(v1::InsertRequest* request, EncodedInsert* out) const {
  RETURN_IF_ERROR(ValidateInsert(*request));
  EncodedInsert::TakePlain(request, out);
  return layout_.Prepare(out);
}

absl::Status Table::Insert(const v1::InsertRequest& request, absl::Time deadline,
                           std::vector<uint64_t>* stored_keys) {
  stored_keys->clear();
  RETURN_IF_ERROR(ValidateInsert(request));
  EncodedInsert encoded;
  EncodedInsert::BorrowPlain(request, &encoded);
  RETURN_IF_ERROR(layout_.Compress(&encoded));
  return InsertPrepared(encoded, deadline, stored_keys);
}

absl::Status Table::InsertPrepared(const EncodedInsert& request, absl::Time deadline,
                                   std::vector<uint64_t>* stored_keys) {
  const std::vector<ColumnCodec>& codecs = layout_.codecs();
  for (size_t c = 0; c < codecs.size(); ++c) {
    if (request.codec(static_cast<int>(c)) != codecs[c].codec()) {
      stored_keys->clear();
      return absl::InvalidArgumentError(absl::StrCat("table '", name_, "': column '", signature_.columns(c).name(),
                                                     "' of the request is not in the table's codec (",
                                                     codecs[c].name(), "): the request was not prepared by it"));
    }
  }
  absl::Status status = InsertUnnotified(request, deadline, stored_keys);
  NotifyChanged();
  return status;
}

absl::Status Table::InsertUnnotified(const EncodedInsert& encoded, absl::Time deadline,
                                     std::vector<uint64_t>* stored_keys) {
  stored_keys->clear();
  const v1::InsertRequest& request = encoded.request();
  const int num_items = request.keys_size();
  stored_keys->reserve(num_items);

  absl::MutexLock lock(&mu_);
  int i = 0;
  while (i < num_items) {
    if (closed_) return absl::CancelledError(ClosedMessage());
    // A retried item: acknowledge again, store once.
    if (key_index_.contains(request.keys(i))) {
      stored_keys->push_back(request.keys(i));
      ++i;
      continue;
    }
    int run = 1;
    while (i + run < num_items && !key_index_.contains(request.keys(i + run))) ++run;
    const int64_t admitted = limiter_.MaxInsertable(run);
    if (admitted == 0) {
      RETURN_IF_ERROR(WaitLocked(RateLimiter::Side::kInsert, 1, deadline));
      continue;
    }
    for (int64_t j = 0; j < admitted; ++j, ++i) {
      StoreLocked(encoded, i);
      stored_keys->push_back(request.keys(i));
    }
  }
  return absl::OkStatus();
}

void Table::RemoveLocked(int64_t slot) {
  store_->Erase(slot);
  key_index_.Erase(slot_keys_[slot]);
  if (keeps_sequence_) slot_sequence_[slot] = 0;
  selector_->Remove(slot);
  remover_->Remove(slot);
  free_slots_.push_back(slot);
  --size_;
  limiter_.Deleted(1);
}

int64_t Table::TakeSlotLocked(int64_t stored_bytes) {
  while (size_ > 0 && (size_ == capacity_ ||
                       (max_stored_bytes_ > 0 && store_->stored_bytes() + stored_bytes > max_stored_bytes_))) {
    RemoveLocked(remover_->Victim());
  }
  if (free_slots_.empty()) return high_water_++;  // a fresh slot, lowest first
  const int64_t slot = free_slots_.back();
  free_slots_.pop_back();
  return slot;
}

void Table::IndexSlotLocked(int64_t slot, uint64_t key, double priority, int32_t times_sampled) {
  slot_keys_[slot] = key;
  key_index_.Insert(slot);
  if (max_times_sampled_ > 0) times_sampled_[slot] = times_sampled;
  if (keeps_sequence_) slot_sequence_[slot] = next_sequence_++;
  if (has_priorities_) priorities_[slot] = priority;
  selector_->Insert(slot, priority);
  remover_->Insert(slot, priority);
  ++size_;
}

void Table::StoreLocked(const EncodedInsert& encoded, int index) {
  const v1::InsertRequest& request = encoded.request();
  // The item's planes are held before the slot is taken, so that evicting
  // for it never frees a plane it is about to share; new ones already count
  // in the store's stored_bytes().
  store_->HoldPlanes(encoded, index);
  const int64_t slot = TakeSlotLocked(layout_.StoredItemBytes(encoded, index));
  store_->Put(slot, encoded, index);
  double priority = default_priority_;
  if (!request.priorities().empty()) {
    priority = request.priorities(index);
    default_priority_ = std::max(default_priority_, priority);
  }
  IndexSlotLocked(slot, request.keys(index), priority, 0);
  limiter_.Inserted(1);
}

bool Table::CanSampleLocked(int64_t num_items) const {
  return limiter_.CanSample(num_items) && (!takes_whole_batches_ || size_ >= num_items);
}

std::string Table::SampleBlockedReasonLocked(int64_t num_items) const {
  if (takes_whole_batches_ && size_ < num_items) {
    return absl::StrCat("sample blocked: the queue holds ", size_, " items, fewer than the ", num_items,
                        " still wanted for the batch; waiting for inserts");
  }
  std::string reason = limiter_.SampleBlockedReason();
  if (reason.empty() && !limiter_.CanSample(num_items)) {
    reason = absl::StrCat("sample blocked: the rate limiter does not admit ", num_items,
                          " samples at once; waiting for inserts");
  }
  return reason;
}

absl::Status Table::WaitLocked(RateLimiter::Side side, int64_t num_items, absl::Time deadline) {
  auto ready = [this, side, num_items]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ ||
           (side == RateLimiter::Side::kInsert ? limiter_.CanInsert(num_items) : CanSampleLocked(num_items));
  };
  limiter_.BeginWait(side, absl::Now());
  const bool ready_in_time = mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  limiter_.EndWait(side, absl::Now());
  if (closed_) return absl::CancelledError(ClosedMessage());
  if (!ready_in_time) {
    return absl::DeadlineExceededError(absl::StrCat(
        "table '", name_, "': deadline passed while ",
        side == RateLimiter::Side::kInsert ? limiter_.InsertBlockedReason()
                                           : SampleBlockedReasonLocked(num_items)));
  }
  return absl::OkStatus();
}

absl::Status Table::PrepareSampleResponse(int batch_size, v1::SampleResponse* out) const {
  if (out->keys_size() > 0) {
    // A partial batch from an earlier call that hit its deadline.
    bool matches = out->table() == name_ && out->keys_size() < batch_size &&
                   out->columns_size() == signature_.columns_size();
    for (int c = 0; matches && c < out->columns_size(); ++c) {
      matches = out->columns(c).shape_size() > 0 && out->columns(c).shape(0) == batch_size;
    }
    if (!matches) {
      return absl::InvalidArgumentError(absl::StrCat("table '", name_,
                                                     "': the response holds a different partial batch"));
    }
    return absl::OkStatus();
  }
  out->Clear();
  out->set_table(name_);
  out->mutable_keys()->Reserve(batch_size);
  out->mutable_probabilities()->Reserve(batch_size);
  out->mutable_importance_weights()->Reserve(batch_size);
  for (int c = 0; c < signature_.columns_size(); ++c) {
    const v1::ColumnSpec& spec = signature_.columns(c);
    v1::Tensor* tensor = out->add_columns();
    tensor->set_dtype(spec.dtype());
    tensor->add_shape(batch_size);
    for (int64_t d : spec.shape()) tensor->add_shape(d);
    tensor->mutable_data()->resize(static_cast<size_t>(batch_size * layout_.column_item_bytes()[c]));
  }
  return absl::OkStatus();
}

void Table::SetGatherTargetsLocked(v1::SampleResponse* out) {
  gather_to_.clear();
  for (int c = 0; c < out->columns_size(); ++c) gather_to_.push_back(out->mutable_columns(c)->mutable_data()->data());
}

void Table::GatherLocked(int64_t slot, int row, v1::SampleResponse* out, DrawnFrames* frames) {
  SetGatherTargetsLocked(out);
  store_->Gather(slot, row, slot_keys_[slot], gather_to_.data(), frames);
}

absl::Status Table::Sample(int batch_size, absl::Time deadline, v1::SampleResponse* out) {
  absl::Status status = SampleUnnotified(batch_size, deadline, out);
  if (!absl::IsInvalidArgument(status)) NotifyChanged();
  return status;
}

absl::Status Table::SampleUnnotified(int batch_size, absl::Time deadline, v1::SampleResponse* out) {
  if (batch_size <= 0 || batch_size > kMaxSampleBatchSize) {
    return absl::InvalidArgumentError(absl::StrCat("table '", name_, "': batch_size ", batch_size,
                                                   " is out of range (1..", kMaxSampleBatchSize, ")"));
  }
  if (static_cast<int64_t>(batch_size) * item_bytes() > kMaxSampleBytes) {
    return absl::InvalidArgumentError(absl::StrCat("table '", name_, "': batch_size ", batch_size, " of ",
                                                   item_bytes(), "-byte items exceeds ", kMaxSampleBytes,
                                                   " bytes per batch"));
  }
  if (takes_whole_batches_ && limiter_admits_at_most_ < batch_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "table '", name_, "': batch_size ", batch_size, " can never be admitted at once by the queue's rate limiter (",
        limiter_admits_at_most_, " at most: 2 * error_buffer, and min_size_to_sample + error_buffer when "
        "samples_per_insert is 1); ask for smaller batches or raise error_buffer"));
  }
  if (takes_whole_batches_ && batch_size > capacity_) {
    return absl::InvalidArgumentError(absl::StrCat("table '", name_, "': batch_size ", batch_size,
                                                   " exceeds the queue's capacity ", capacity_,
                                                   ": the batch could never fill"));
  }
  RETURN_IF_ERROR(PrepareSampleResponse(batch_size, out));

  // The frames of this thread's last batch: their buffer is reused, so that
  // a batch does not allocate (it keeps the largest batch's compressed bytes).
  thread_local DrawnFrames frames;
  frames.clear();
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    status = DrawLocked(batch_size, deadline, out, &frames);
  }
  // Whatever was drawn, also before an error, is in `out` (a later call
  // completes the batch), so its frames are decompressed in every case.
  if (!frames.frames.empty()) RETURN_IF_ERROR(layout_.DecompressFrames(frames, out));
  return status;
}

absl::Status Table::DrawLocked(int batch_size, absl::Time deadline, v1::SampleResponse* out, DrawnFrames* frames) {
  while (out->keys_size() < batch_size) {
    if (closed_) return absl::CancelledError(ClosedMessage());
    const int64_t remaining = batch_size - out->keys_size();
    if (takes_whole_batches_ || max_times_sampled_ > 0) {
      // Items may leave after each draw: one at a time.
      const int64_t wanted = takes_whole_batches_ ? remaining : 1;
      if (!CanSampleLocked(wanted)) {
        RETURN_IF_ERROR(WaitLocked(RateLimiter::Side::kSample, wanted, deadline));
        continue;
      }
      for (int64_t j = 0; j < wanted; ++j) SampleOneLocked(out, frames);
    } else {
      const int64_t allowed = limiter_.MaxSamplable(remaining);
      if (allowed == 0) {
        RETURN_IF_ERROR(WaitLocked(RateLimiter::Side::kSample, 1, deadline));
        continue;
      }
      SampleManyLocked(allowed, out, frames);
    }
  }
  out->set_table_size(size_);
  SetImportanceWeights(out);
  return absl::OkStatus();
}

void Table::SeedSampling(uint64_t seed) {
  absl::MutexLock lock(&mu_);
  seeded_gen_.emplace(seed);
}

void Table::SampleOneLocked(v1::SampleResponse* out, DrawnFrames* frames) {
  const Selection selection = selector_->Sample(Generator());
  GatherLocked(selection.slot, out->keys_size(), out, frames);
  out->add_keys(slot_keys_[selection.slot]);
  out->add_probabilities(selection.probability);
  limiter_.Sampled(1);
  if (max_times_sampled_ > 0 && ++times_sampled_[selection.slot] >= max_times_sampled_) {
    RemoveLocked(selection.slot);
  }
}

void Table::SampleManyLocked(int64_t num_items, v1::SampleResponse* out, DrawnFrames* frames) {
  draws_.clear();
  selector_->SampleMany(Generator(), num_items, &draws_);
  // Each column's destination once per batch, not per item and column.
  SetGatherTargetsLocked(out);
  const int64_t first_row = out->keys_size();
  store_->GatherMany(draws_.data(), static_cast<int64_t>(draws_.size()), first_row, slot_keys_.data(),
                     gather_to_.data(), frames);
  for (const Selection& draw : draws_) {
    out->add_keys(slot_keys_[draw.slot]);
    out->add_probabilities(draw.probability);
  }
  limiter_.Sampled(num_items);
}

void Table::SetImportanceWeights(v1::SampleResponse* out) const {
  // w_i = (N * P(i))^-beta / max_j (N * P(j))^-beta = (min_j P(j) / P(i))^beta:
  // N cancels, so the weights need only the batch's probabilities.
  out->clear_importance_weights();
  double min_probability = 1;
  for (double p : out->probabilities()) min_probability = std::min(min_probability, p);
  for (double p : out->probabilities()) {
    out->add_importance_weights(has_priorities_ && p > 0 ? std::pow(min_probability / p, importance_sampling_exponent_)
                                                     : 1.0);
  }
}

absl::Status Table::UpdatePriorities(const v1::UpdatePrioritiesRequest& request, int64_t* updated) {
  *updated = 0;
  if (request.priorities_size() != request.keys_size()) {
    return absl::InvalidArgumentError(absl::StrCat("table '", name_, "': ", request.keys_size(), " keys but ",
                                                   request.priorities_size(), " priorities"));
  }
  RETURN_IF_ERROR(CheckPriorities(request.priorities(), request.keys(), name_));
  absl::MutexLock lock(&mu_);
  if (!selector_->uses_priorities()) {
    return absl::UnimplementedError(absl::StrCat("table '", name_, "' uses the ", selector_->name(),
                                                 " selector, which has no priorities to update"));
  }
  for (uint64_t key : request.keys()) key_index_.Prefetch(key);
  update_slots_.clear();
  update_priorities_.clear();
  for (int i = 0; i < request.keys_size(); ++i) {
    const int64_t slot = key_index_.Find(request.keys(i));
    if (slot == KeyIndex::kNotFound) continue;
    update_slots_.push_back(slot);
    update_priorities_.push_back(request.priorities(i));
    priorities_[slot] = request.priorities(i);
  }
  // Cannot fail: the slots are occupied and the priorities were checked above.
  RETURN_IF_ERROR(selector_->UpdateMany(update_slots_.data(), update_priorities_.data(),
                                        static_cast<int64_t>(update_slots_.size())));
  for (size_t i = 0; i < update_slots_.size(); ++i) {
    remover_->Update(update_slots_[i], update_priorities_[i]);
    default_priority_ = std::max(default_priority_, update_priorities_[i]);
  }
  *updated = static_cast<int64_t>(update_slots_.size());
  return absl::OkStatus();
}

void Table::SetWaiting(RateLimiter::Side side, bool waiting) {
  absl::MutexLock lock(&mu_);
  if (waiting) {
    limiter_.BeginWait(side, absl::Now());
  } else {
    limiter_.EndWait(side, absl::Now());
  }
}

void Table::Close() {
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  NotifyChanged();
}

bool Table::ReleaseInserts() {
  bool blocked = false;
  {
    absl::MutexLock lock(&mu_);
    // Held back now, or a moment ago: inserts admitted one at a time
    // between waits for samples count as held back. Nothing is, once
    // released.
    blocked = !limiter_.inserts_released() &&
              (!limiter_.CanInsert(1) ||
               limiter_.WaitedSince(RateLimiter::Side::kInsert, absl::Now() - kReleaseLookBack));
    if (inserts_at_release_ < 0) inserts_at_release_ = limiter_.inserts();
    limiter_.ReleaseInserts();
  }
  NotifyChanged();
  return blocked;
}

v1::TableInfo Table::Info() const {
  v1::TableInfo info;
  info.set_name(name_);
  *info.mutable_signature() = signature_;
  info.set_max_size(capacity_);
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  info.set_size(size_);
  info.set_bytes(store_->stored_bytes());
  info.set_items_inserted(limiter_.inserts());
  info.set_items_sampled(limiter_.samples());
  info.set_items_evicted(limiter_.deletes());
  info.set_selector(selector_->name());
  v1::RateLimiterInfo* rl = info.mutable_rate_limiter();
  rl->set_min_size_to_sample(limiter_.min_size_to_sample());
  rl->set_samples_per_insert(limiter_.samples_per_insert());
  rl->set_error_buffer(limiter_.error_buffer());
  const std::string insert_reason = limiter_.InsertBlockedReason();
  const std::string sample_reason = limiter_.SampleBlockedReason();
  rl->set_insert_blocked(!insert_reason.empty());
  rl->set_sample_blocked(!sample_reason.empty());
  rl->set_blocked_reason(insert_reason.empty() || sample_reason.empty()
                             ? insert_reason + sample_reason
                             : absl::StrCat(insert_reason, "; ", sample_reason));
  rl->set_insert_blocked_seconds(
      absl::ToDoubleSeconds(limiter_.BlockedTime(RateLimiter::Side::kInsert, now)));
  rl->set_sample_blocked_seconds(
      absl::ToDoubleSeconds(limiter_.BlockedTime(RateLimiter::Side::kSample, now)));
  return info;
}

TableStats Table::Stats() const {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  TableStats stats;
  stats.size = size_;
  stats.bytes = store_->stored_bytes();
  stats.items_inserted = limiter_.inserts();
  stats.items_sampled = limiter_.samples();
  stats.items_evicted = limiter_.deletes();
  if (inserts_at_release_ >= 0) stats.items_inserted_at_stop = limiter_.inserts() - inserts_at_release_;
  stats.insert_blocked = limiter_.BlockedTime(RateLimiter::Side::kInsert, now);
  stats.sample_blocked = limiter_.BlockedTime(RateLimiter::Side::kSample, now);
  return stats;
}

TableSnapshot Table::Snapshot() const {
  TableSnapshot snapshot;
  snapshot.column_item_bytes = layout_.column_item_bytes();
  for (const ColumnCodec& codec : layout_.codecs()) snapshot.codecs.push_back(codec.codec());
  // Buffers are sized and their pages touched before the lock is taken, so
  // that the copy under the lock is bare memcpy. Compressed columns get room
  // for what they held then and a margin for inserts in between.
  int64_t rows = 0;
  std::vector<int64_t> frame_bytes;
  int64_t num_planes = 0;
  {
    absl::MutexLock lock(&mu_);
    rows = high_water_;
    frame_bytes = store_->frame_bytes();
    num_planes = store_->num_planes();
  }
  layout_.AllocateSnapshotPlanes(num_planes, &snapshot);
  auto allocate = [&](int64_t num_rows) {
    layout_.AllocateSnapshot(num_rows, frame_bytes, &snapshot);
    snapshot.keys.assign(num_rows, 0);
    if (keeps_sequence_) snapshot.sequence.assign(num_rows, 0);
    snapshot.order.reserve(num_rows);
    snapshot.times_sampled.assign(num_rows, 0);
    if (has_priorities_) snapshot.priorities.assign(num_rows, 0.0);
  };
  allocate(rows);
  // Where the next frame of each compressed column goes in snapshot.stored.
  std::vector<size_t> frame_end(layout_.num_columns(), 0);
  {
    absl::MutexLock lock(&mu_);
    const absl::Time start = absl::Now();
    // Inserts in between may have raised the high-water mark (rare: buffers
    // are allocated under the lock then).
    if (high_water_ > rows) allocate(rows = high_water_);
    store_->GrowSnapshot(&snapshot);
    // Without insertion numbers, the remover lists the slots oldest first.
    if (!keeps_sequence_) remover_->AppendOldestFirst(&snapshot.order);
    std::vector<int64_t> occupied;
    const bool blocks = size_ * 2 >= high_water_;
    if (blocks) {
      // Mostly occupied: copy slots [0, high_water_) as blocks; rows are slots.
      snapshot.num_rows = high_water_;
      store_->CopySnapshotSlots(high_water_, &snapshot);
      std::copy_n(slot_keys_.begin(), high_water_, snapshot.keys.begin());
      if (keeps_sequence_) std::copy_n(slot_sequence_.begin(), high_water_, snapshot.sequence.begin());
      if (max_times_sampled_ > 0) std::copy_n(times_sampled_.begin(), high_water_, snapshot.times_sampled.begin());
      if (has_priorities_) std::copy_n(priorities_.begin(), high_water_, snapshot.priorities.begin());
    } else {
      // Mostly free (a drained queue): gather the occupied slots, in the
      // remover's order when it gave one (rows then are that order).
      if (keeps_sequence_) {
        for (int64_t slot = 0; slot < high_water_; ++slot) {
          if (slot_sequence_[slot] != 0) occupied.push_back(slot);
        }
      } else {
        occupied.swap(snapshot.order);
        for (int64_t i = 0; i < static_cast<int64_t>(occupied.size()); ++i) snapshot.order.push_back(i);
      }
      int64_t row = 0;
      for (int64_t slot : occupied) {
        store_->CopySnapshotSlot(slot, row, &snapshot);
        snapshot.keys[row] = slot_keys_[slot];
        if (keeps_sequence_) snapshot.sequence[row] = slot_sequence_[slot];
        if (max_times_sampled_ > 0) snapshot.times_sampled[row] = times_sampled_[slot];
        if (has_priorities_) snapshot.priorities[row] = priorities_[slot];
        ++row;
      }
      snapshot.num_rows = row;
    }
    store_->CopySnapshotFrames(blocks ? nullptr : &occupied, &snapshot, &frame_end);
    // The shared planes, each once.
    store_->CopySnapshotPlanes(&snapshot);
    snapshot.bytes = store_->stored_bytes();
    snapshot.default_priority = default_priority_;
    snapshot.inserts = limiter_.inserts();
    snapshot.samples = limiter_.samples();
    snapshot.deletes = limiter_.deletes();
    snapshot.pause = absl::Now() - start;
  }
  layout_.TrimSnapshot(frame_end, &snapshot);
  if (keeps_sequence_) {
    for (int64_t row = 0; row < snapshot.num_rows; ++row) {
      if (snapshot.sequence[row] != 0) snapshot.order.push_back(row);
    }
    std::sort(snapshot.order.begin(), snapshot.order.end(),
              [&](int64_t a, int64_t b) { return snapshot.sequence[a] < snapshot.sequence[b]; });
  }
  return snapshot;
}

absl::Status Table::RestorePlanes(const uint32_t* ids, const char* bytes, int64_t count, int64_t plane_bytes) {
  absl::MutexLock lock(&mu_);
  return store_->RestorePlanes(ids, bytes, count, plane_bytes);
}

void Table::EndPlaneRestore() {
  absl::MutexLock lock(&mu_);
  store_->EndPlaneRestore();
}

absl::Status Table::RestoreItems(const RestoredItems& given) {
  // The layout is immutable: no lock needed to read it.
  const size_t num_columns = layout_.num_columns();
  if (given.columns.size() != num_columns || (!given.codecs.empty() && given.codecs.size() != num_columns) ||
      (!given.codecs.empty() && given.sizes.size() != num_columns) ||
      (!given.plane_ids.empty() && given.plane_ids.size() != num_columns)) {
    return absl::InvalidArgumentError(absl::StrCat("table '", name_, "': restored items have ", given.columns.size(),
                                                   " columns but the signature has ", num_columns));
  }
  // Columns the checkpoint kept in shared planes: their planes' ids where
  // this table shares them too (checked here, mapped as items are stored),
  // their bytes otherwise.
  RestoredItems items = given;
  std::vector<std::string> expanded;
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(store_->ExpandRestoredPlanes(&items, &expanded));
  }
  // Each item of a column that is or was compressed, as the table stores it:
  // checked (decompressed) and converted before the lock is taken. Columns
  // stored as is on both sides are copied straight from `items`.
  RestoredColumns stored;
  std::vector<std::string> converted;
  RETURN_IF_ERROR(layout_.ConvertRestored(items, &stored, &converted));
  absl::ReleasableMutexLock lock(&mu_);
  for (int64_t i = 0; i < items.count; ++i) {
    const uint64_t key = items.keys[i];
    if (key_index_.contains(key)) continue;
    // Planes first, held before the slot is taken (as StoreLocked does).
    store_->HoldRestoredPlanes(items, stored, i);
    const int64_t slot = TakeSlotLocked(layout_.StoredItemBytes(stored, i));
    store_->PutRestored(slot, items, stored, i);
    const double priority = items.priorities != nullptr ? items.priorities[i] : default_priority_;
    IndexSlotLocked(slot, key, priority, items.times_sampled[i]);
  }
  lock.Release();
  NotifyChanged();
  return absl::OkStatus();
}

absl::Status Table::RestoreCounters(double default_priority, int64_t inserts, int64_t samples, int64_t deletes) {
  absl::MutexLock lock(&mu_);
  if (inserts - deletes != size_) {
    return absl::DataLossError(absl::StrCat("table '", name_, "': the checkpoint's counters (", inserts,
                                            " inserted, ", deletes, " deleted) disagree with the ", size_,
                                            " items it holds"));
  }
  default_priority_ = default_priority;
  limiter_.RestoreCounters(inserts, samples, deletes);
  return absl::OkStatus();
}

absl::Status Table::ReplayInsert(EncodedInsert* record) {
  RETURN_IF_ERROR(ValidateKeys(record->request()));
  RETURN_IF_ERROR(layout_.InTable(record->CheckColumns(signature_)));
  // Columns the table's config now stores otherwise are converted, and
  // compressed items it keeps are checked, before anything is stored.
  RETURN_IF_ERROR(
      layout_.InTable(record->Recode(signature_, layout_.codecs(), layout_.column_item_bytes(), /*verify=*/true)));
  const v1::InsertRequest& request = record->request();
  absl::ReleasableMutexLock lock(&mu_);
  for (int i = 0; i < request.keys_size(); ++i) {
    if (key_index_.contains(request.keys(i))) continue;
    StoreLocked(*record, i);
  }
  lock.Release();
  NotifyChanged();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::unique_ptr<Table>>> CreateTables(const v1::ReplayConfig& config) {
  std::vector<std::unique_ptr<Table>> tables;
  for (const v1::TableConfig& table_config : config.tables()) {
    for (const auto& existing : tables) {
      if (existing->name() == table_config.name()) {
        return absl::InvalidArgumentError(absl::StrCat("table '", table_config.name(), "' is configured twice"));
      }
    }
    ASSIGN_OR_RETURN(std::unique_ptr<Table> table, Table::Create(table_config));
    tables.push_back(std::move(table));
  }
  return tables;
}

}  // namespace rill::replay
