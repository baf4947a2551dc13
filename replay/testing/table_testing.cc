#include "replay/testing/table_testing.h"

#include <utility>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace rill::replay {

std::unique_ptr<Table> MakeTable(const v1::TableConfig& config) {
  absl::StatusOr<std::unique_ptr<Table>> table = Table::Create(config);
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *std::move(table) : nullptr;
}

std::vector<uint64_t> Range(uint64_t begin, uint64_t end) {
  std::vector<uint64_t> keys;
  for (uint64_t k = begin; k < end; ++k) keys.push_back(k);
  return keys;
}

absl::Time Later() { return absl::Now() + absl::Seconds(30); }

}  // namespace rill::replay
