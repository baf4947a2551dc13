// The removers a table config can name: one row per case of the
// RemoverConfig.kind oneof, with the remover's name (its class's kName)
// and how to make it. A new remover is its files (a class behind
// interface.h), its message and case in RemoverConfig (proto/config.proto)
// and one row in registry.cc; Table::Create finds it through RemoverRowOf.
//
// Thread-safe: a constant table.
#ifndef RILL_REPLAY_REMOVERS_REGISTRY_H_
#define RILL_REPLAY_REMOVERS_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "proto/config.pb.h"
#include "replay/removers/interface.h"

namespace rill::replay {

struct RemoverRow {
  v1::RemoverConfig::KindCase kind;
  const char* name;  // "lowest_priority"
  // The remover of a table of `capacity` slots whose items are sampled at
  // most `max_times_sampled` times (0: no limit).
  std::unique_ptr<ItemRemover> (*make)(int64_t capacity, int32_t max_times_sampled);
};

// Every row, in the oneof's order.
const std::vector<RemoverRow>& RemoverRows();

// The row of `config`'s remover: fifo when the config names none.
const RemoverRow& RemoverRowOf(const v1::TableConfig& config);

}  // namespace rill::replay

#endif  // RILL_REPLAY_REMOVERS_REGISTRY_H_
