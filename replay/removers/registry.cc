#include "replay/removers/registry.h"

#include "common/logging.h"
#include "replay/removers/fifo.h"
#include "replay/removers/fifo_ring.h"
#include "replay/removers/lowest_priority.h"

namespace rill::replay {

namespace {

std::unique_ptr<ItemRemover> MakeFifo(int64_t capacity, int32_t max_times_sampled) {
  // Items leave only as the oldest: a ring of slots is enough.
  if (max_times_sampled == 0) return std::make_unique<FifoRingRemover>(capacity);
  return std::make_unique<FifoRemover>(capacity);
}

std::unique_ptr<ItemRemover> MakeLowestPriority(int64_t capacity, int32_t /*max_times_sampled*/) {
  return std::make_unique<LowestPriorityRemover>(capacity);
}

}  // namespace

const std::vector<RemoverRow>& RemoverRows() {
  static const std::vector<RemoverRow>* const rows = new std::vector<RemoverRow>{
      {v1::RemoverConfig::kFifo, FifoRemover::kName, &MakeFifo},
      {v1::RemoverConfig::kLowestPriority, LowestPriorityRemover::kName, &MakeLowestPriority},
  };
  return *rows;
}

const RemoverRow& RemoverRowOf(const v1::TableConfig& config) {
  const v1::RemoverConfig::KindCase kind = config.remover().kind_case() == v1::RemoverConfig::KIND_NOT_SET
                                               ? v1::RemoverConfig::kFifo
                                               : config.remover().kind_case();
  for (const RemoverRow& row : RemoverRows()) {
    if (row.kind == kind) return row;
  }
  RILL_LOG(FATAL) << "remover case " << kind << " has no row in replay/removers/registry.cc";
  return RemoverRows().front();
}

}  // namespace rill::replay
