#include "replay/selectors/registry.h"

#include "common/logging.h"
#include "replay/selectors/fifo.h"
#include "replay/selectors/prioritized.h"
#include "replay/selectors/uniform.h"

namespace rill::replay {

namespace {

std::unique_ptr<ItemSelector> MakeUniform(const v1::TableConfig& /*config*/, int64_t capacity) {
  return std::make_unique<UniformSelector>(capacity);
}

std::unique_ptr<ItemSelector> MakePrioritized(const v1::TableConfig& config, int64_t capacity) {
  const v1::SelectorConfig::Prioritized& prioritized = config.selector().prioritized();
  return std::make_unique<PrioritizedSelector>(capacity, prioritized.has_priority_exponent()
                                                             ? prioritized.priority_exponent()
                                                             : PrioritizedSelector::kDefaultPriorityExponent);
}

std::unique_ptr<ItemSelector> MakeFifo(const v1::TableConfig& /*config*/, int64_t capacity) {
  return std::make_unique<FifoSelector>(capacity);
}

}  // namespace

const std::vector<SelectorRow>& SelectorRows() {
  static const std::vector<SelectorRow>* const rows = new std::vector<SelectorRow>{
      {v1::SelectorConfig::kUniform, UniformSelector::kName, &MakeUniform},
      {v1::SelectorConfig::kPrioritized, PrioritizedSelector::kName, &MakePrioritized},
      {v1::SelectorConfig::kFifo, FifoSelector::kName, &MakeFifo},
  };
  return *rows;
}

const SelectorRow& SelectorRowOf(const v1::TableConfig& config) {
  const v1::SelectorConfig::KindCase kind = config.selector().kind_case() == v1::SelectorConfig::KIND_NOT_SET
                                                ? v1::SelectorConfig::kUniform
                                                : config.selector().kind_case();
  for (const SelectorRow& row : SelectorRows()) {
    if (row.kind == kind) return row;
  }
  RILL_LOG(FATAL) << "selector case " << kind << " has no row in replay/selectors/registry.cc";
  return SelectorRows().front();
}

}  // namespace rill::replay
