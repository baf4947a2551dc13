// Micro-benchmark of prioritized replay: how long one learner step's replay
// work takes -- Sample(256) from a prioritized table plus UpdatePriorities
// for the 256 sampled keys -- at 1e3 and at 1e6 stored items. A sum tree is
// O(log n), so the 1e6 table should cost little more than the 1e3 one
// (target ratio <= 2). It also times the bare selector (256 draws + 256
// updates) to separate the tree from the table's gather and hash lookups.
//
// Usage: bazel run //replay:bench_prioritized [-- --iterations=N]
// Prints a line per size, then one JSON object as its last line:
// {"items_1e3_us":..., "items_1e6_us":..., "ratio":..., "selector_1e3_us":...,
//  "selector_1e6_us":..., "selector_ratio":...}
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "absl/random/random.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/config.pb.h"
#include "proto/replay.pb.h"
#include "replay/selectors/prioritized.h"
#include "replay/table.h"

namespace rill::replay {
namespace {

constexpr int kBatch = 256;
constexpr int kInsertChunk = 4096;

// A transition-like item: obs float32[8], action float32[2], reward float32.
v1::TableConfig BenchConfig(int64_t items) {
  v1::TableConfig config;
  config.set_name("bench");
  config.set_max_size(items);
  config.set_selector("prioritized");
  config.set_priority_exponent(0.6);
  config.set_importance_sampling_exponent(0.4);
  auto add = [&](const char* name, std::initializer_list<int64_t> shape) {
    v1::ColumnSpec* column = config.mutable_signature()->add_columns();
    column->set_name(name);
    column->set_dtype(v1::DTYPE_FLOAT32);
    for (int64_t d : shape) column->add_shape(d);
  };
  add("obs", {8});
  add("action", {2});
  add("reward", {});
  config.mutable_rate_limiter()->set_min_size_to_sample(1);
  return config;
}

std::unique_ptr<Table> FilledTable(int64_t items, std::mt19937_64& gen) {
  const v1::TableConfig config = BenchConfig(items);
  std::unique_ptr<Table> table = *Table::Create(config);
  std::uniform_real_distribution<double> priority(0.01, 10.0);
  uint64_t next_key = 1;
  std::vector<uint64_t> stored;
  for (int64_t done = 0; done < items; done += kInsertChunk) {
    const int n = static_cast<int>(std::min<int64_t>(kInsertChunk, items - done));
    v1::InsertRequest request;
    request.set_table("bench");
    for (const v1::ColumnSpec& spec : config.signature().columns()) {
      int64_t per_item = 1;
      for (int64_t d : spec.shape()) per_item *= d;
      v1::Tensor* tensor = request.add_columns();
      tensor->set_dtype(spec.dtype());
      tensor->add_shape(n);
      for (int64_t d : spec.shape()) tensor->add_shape(d);
      tensor->mutable_data()->assign(static_cast<size_t>(n * per_item * 4), '\1');
    }
    for (int i = 0; i < n; ++i) {
      request.add_keys(next_key++);
      request.add_priorities(priority(gen));
    }
    absl::Status status = table->Insert(request, absl::InfiniteFuture(), &stored);
    if (!status.ok()) {
      std::fprintf(stderr, "insert failed: %s\n", std::string(status.message()).c_str());
      std::exit(1);
    }
  }
  return table;
}

// Mean microseconds of Sample(256) + UpdatePriorities(256) on the table.
double TimeTable(Table& table, int iterations, std::mt19937_64& gen) {
  std::uniform_real_distribution<double> priority(0.01, 10.0);
  v1::SampleResponse response;
  v1::UpdatePrioritiesRequest update;
  update.set_table("bench");
  int64_t updated = 0;
  auto step = [&] {
    response.Clear();
    if (!table.Sample(kBatch, absl::InfiniteFuture(), &response).ok()) std::abort();
    update.clear_keys();
    update.clear_priorities();
    for (uint64_t key : response.keys()) {
      update.add_keys(key);
      update.add_priorities(priority(gen));
    }
    if (!table.UpdatePriorities(update, &updated).ok()) std::abort();
  };
  for (int i = 0; i < iterations / 10 + 1; ++i) step();  // warm up
  const absl::Time start = absl::Now();
  for (int i = 0; i < iterations; ++i) step();
  return absl::ToDoubleMicroseconds(absl::Now() - start) / iterations;
}

// Mean microseconds of SampleMany(256) + 256 updates on a bare selector.
double TimeSelector(int64_t items, int iterations, std::mt19937_64& gen) {
  PrioritizedSelector selector(items, 0.6);
  std::uniform_real_distribution<double> priority(0.01, 10.0);
  for (int64_t slot = 0; slot < items; ++slot) selector.Insert(slot, priority(gen));
  std::vector<Selection> draws;
  auto step = [&] {
    draws.clear();
    selector.SampleMany(gen, kBatch, &draws);
    for (const Selection& draw : draws) {
      if (!selector.Update(draw.slot, priority(gen)).ok()) std::abort();
    }
  };
  for (int i = 0; i < iterations / 10 + 1; ++i) step();
  const absl::Time start = absl::Now();
  for (int i = 0; i < iterations; ++i) step();
  return absl::ToDoubleMicroseconds(absl::Now() - start) / iterations;
}

int Main(int argc, char** argv) {
  int iterations = 2000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--iterations=", 13) == 0) iterations = std::atoi(argv[i] + 13);
  }
  std::mt19937_64 gen(42);
  double table_us[2], selector_us[2];
  const int64_t sizes[2] = {1000, 1000000};
  for (int s = 0; s < 2; ++s) {
    std::unique_ptr<Table> table = FilledTable(sizes[s], gen);
    table_us[s] = TimeTable(*table, iterations, gen);
    table.reset();
    selector_us[s] = TimeSelector(sizes[s], iterations, gen);
    std::printf("items=%lld table sample+update(256)=%.1f us  selector=%.1f us\n",
                static_cast<long long>(sizes[s]), table_us[s], selector_us[s]);
  }
  std::printf(
      "{\"items_1e3_us\": %.2f, \"items_1e6_us\": %.2f, \"ratio\": %.3f, \"selector_1e3_us\": %.2f, "
      "\"selector_1e6_us\": %.2f, \"selector_ratio\": %.3f, \"batch\": %d, \"iterations\": %d}\n",
      table_us[0], table_us[1], table_us[1] / table_us[0], selector_us[0], selector_us[1],
      selector_us[1] / selector_us[0], kBatch, iterations);
  return 0;
}

}  // namespace
}  // namespace rill::replay

int main(int argc, char** argv) { return rill::replay::Main(argc, argv); }
