// The selectors a table config can name: one row per case of the
// SelectorConfig.kind oneof, with the selector's name (its class's kName)
// and how to make it. A new selector is its files (a class behind
// interface.h), its message and case in SelectorConfig (proto/config.proto)
// and one row in registry.cc; Table::Create, the config's checks and
// `rill replay info` find it through SelectorRowOf.
//
// Thread-safe: a constant table.
#ifndef RILL_REPLAY_SELECTORS_REGISTRY_H_
#define RILL_REPLAY_SELECTORS_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "proto/config.pb.h"
#include "replay/selectors/interface.h"

namespace rill::replay {

struct SelectorRow {
  v1::SelectorConfig::KindCase kind;
  const char* name;  // "prioritized"
  // The selector of a table of `capacity` slots configured by `config`
  // (already checked: table_config.h).
  std::unique_ptr<ItemSelector> (*make)(const v1::TableConfig& config, int64_t capacity);
};

// Every row, in the oneof's order.
const std::vector<SelectorRow>& SelectorRows();

// The row of `config`'s selector: uniform when the config names none.
const SelectorRow& SelectorRowOf(const v1::TableConfig& config);

}  // namespace rill::replay

#endif  // RILL_REPLAY_SELECTORS_REGISTRY_H_
