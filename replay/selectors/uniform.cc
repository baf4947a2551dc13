#include "replay/selectors/uniform.h"

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace rill::replay {

UniformSelector::UniformSelector(int64_t capacity) : position_(capacity, kAbsent) {
  if (capacity > kMaxSlots) RILL_LOG(FATAL) << "capacity " << capacity << " exceeds " << kMaxSlots << " slots";
  slots_.reserve(capacity);  // untouched until used: no resident cost up front
}

void UniformSelector::Insert(int64_t slot, double /*priority*/) {
  if (position_[slot] != kAbsent) RILL_LOG(FATAL) << "slot " << slot << " inserted twice";
  position_[slot] = static_cast<SlotIndex>(slots_.size());
  slots_.push_back(static_cast<SlotIndex>(slot));
}

void UniformSelector::Remove(int64_t slot) {
  const SlotIndex pos = position_[slot];
  if (pos == kAbsent) RILL_LOG(FATAL) << "slot " << slot << " removed but not present";
  const SlotIndex last = slots_.back();
  slots_[pos] = last;
  position_[last] = pos;
  slots_.pop_back();
  position_[slot] = kAbsent;
}

absl::Status UniformSelector::Update(int64_t /*slot*/, double /*priority*/) {
  return absl::UnimplementedError("the uniform selector has no priorities to update");
}

Selection UniformSelector::Sample(absl::BitGenRef gen) {
  const int64_t n = size();
  return Selection{slots_[absl::Uniform<int64_t>(gen, 0, n)], 1.0 / static_cast<double>(n)};
}

void UniformSelector::SampleMany(absl::BitGenRef gen, int64_t n, std::vector<Selection>* out) {
  const uint64_t size = slots_.size();
  const double probability = 1.0 / static_cast<double>(size);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t draw = gen();
    const auto index = static_cast<uint64_t>((static_cast<unsigned __int128>(draw) * size) >> 64);
    out->push_back(Selection{slots_[index], probability});
  }
}

}  // namespace rill::replay
