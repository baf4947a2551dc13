// Helpers for tests that drive a Table directly (table_compression_test,
// table_planes_test, durability/table_file_test): making a table that must
// be valid, a run of keys, and a deadline far enough off that a call that
// should not block returns long before it.
//
// Thread safety: each function may be called from any thread.
#ifndef RILL_REPLAY_TESTING_TABLE_TESTING_H_
#define RILL_REPLAY_TESTING_TABLE_TESTING_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "proto/config.pb.h"
#include "replay/table.h"

namespace rill::replay {

// Table::Create(config), failing the test (EXPECT) and returning nullptr
// when the config is refused.
std::unique_ptr<Table> MakeTable(const v1::TableConfig& config);

// The keys begin, begin + 1, ..., end - 1.
std::vector<uint64_t> Range(uint64_t begin, uint64_t end);

// 30 seconds from now: the deadline of calls expected to return at once.
absl::Time Later();

}  // namespace rill::replay

#endif  // RILL_REPLAY_TESTING_TABLE_TESTING_H_
