// Micro-benchmark of prioritized replay: how long one learner step's replay
// work takes -- Sample(256) from a prioritized table plus UpdatePriorities
// for the 256 sampled keys -- at 1e3 and at 1e6 stored items. A sum tree is
// O(log n), so the 1e6 table should cost little more than the 1e3 one
// (target ratio <= 2). It also times the bare selector (256 draws + 256
// updates) to separate the tree from the table's gather and hash lookups.
//
// The two sizes are timed in alternating rounds (1e3, 1e6, 1e3, ...) and the
// figures are medians over the rounds, so that other load on the machine
// falls on both alike instead of skewing the ratio.
//
// Usage: bazel run //replay:bench_prioritized [-- --iterations=N --rounds=R]
// Prints a line per round, then one JSON object as its last line:
// {"items_1e3_us":..., "items_1e6_us":..., "ratio":..., "selector_1e3_us":...,
//  "selector_1e6_us":..., "selector_ratio":...}
#include <algorithm>
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

namespace rill::bench {

using replay::PrioritizedSelector;
using replay::Selection;
using replay::Table;

namespace {

constexpr int kBatch = 256;
constexpr int kInsertChunk = 4096;

// A transition-like item: obs float32[8], action float32[2], reward float32.
v1::TableConfig BenchConfig(int64_t items) {
  v1::TableConfig config;
  config.set_name("bench");
  config.set_max_size(items);
  config.mutable_selector()->mutable_prioritized()->set_priority_exponent(0.6);
  config.mutable_selector()->mutable_prioritized()->set_importance_sampling_exponent(0.4);
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

// Sample(256) + UpdatePriorities(256) on a table, as a reusable step.
class TableStep {
 public:
  TableStep(Table& table, std::mt19937_64& gen) : table_(table), gen_(gen) { update_.set_table("bench"); }
  void operator()() {
    response_.Clear();
    if (!table_.Sample(kBatch, absl::InfiniteFuture(), &response_).ok()) std::abort();
    update_.clear_keys();
    update_.clear_priorities();
    for (uint64_t key : response_.keys()) {
      update_.add_keys(key);
      update_.add_priorities(priority_(gen_));
    }
    int64_t updated = 0;
    if (!table_.UpdatePriorities(update_, &updated).ok()) std::abort();
  }

 private:
  Table& table_;
  std::mt19937_64& gen_;
  std::uniform_real_distribution<double> priority_{0.01, 10.0};
  v1::SampleResponse response_;
  v1::UpdatePrioritiesRequest update_;
};

// SampleMany(256) + UpdateMany(256) on a bare selector.
class SelectorStep {
 public:
  SelectorStep(int64_t items, std::mt19937_64& gen) : selector_(items, 0.6), gen_(gen) {
    for (int64_t slot = 0; slot < items; ++slot) selector_.Insert(slot, priority_(gen_));
  }
  void operator()() {
    draws_.clear();
    selector_.SampleMany(gen_, kBatch, &draws_);
    slots_.clear();
    priorities_.clear();
    for (const Selection& draw : draws_) {
      slots_.push_back(draw.slot);
      priorities_.push_back(priority_(gen_));
    }
    if (!selector_.UpdateMany(slots_.data(), priorities_.data(), kBatch).ok()) std::abort();
  }

 private:
  PrioritizedSelector selector_;
  std::mt19937_64& gen_;
  std::uniform_real_distribution<double> priority_{0.01, 10.0};
  std::vector<Selection> draws_;
  std::vector<int64_t> slots_;
  std::vector<double> priorities_;
};

// Mean microseconds of `iterations` calls of `step`.
template <typename Step>
double Time(Step& step, int iterations) {
  const absl::Time start = absl::Now();
  for (int i = 0; i < iterations; ++i) step();
  return absl::ToDoubleMicroseconds(absl::Now() - start) / iterations;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int Main(int argc, char** argv) {
  int iterations = 500;
  int rounds = 15;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--iterations=", 13) == 0) iterations = std::atoi(argv[i] + 13);
    if (std::strncmp(argv[i], "--rounds=", 9) == 0) rounds = std::atoi(argv[i] + 9);
  }
  if (iterations < 1 || rounds < 1) {
    std::fprintf(stderr, "--iterations and --rounds must be >= 1\n");
    return 2;
  }
  std::mt19937_64 gen(42);
  std::unique_ptr<Table> small_table = FilledTable(1000, gen);
  std::unique_ptr<Table> large_table = FilledTable(1000000, gen);
  TableStep small(*small_table, gen), large(*large_table, gen);
  SelectorStep small_selector(1000, gen), large_selector(1000000, gen);
  // Warm up: caches, allocations of the reused messages.
  Time(small, iterations / 5 + 1);
  Time(large, iterations / 5 + 1);
  Time(small_selector, iterations / 5 + 1);
  Time(large_selector, iterations / 5 + 1);

  std::vector<double> table_us[2], selector_us[2], ratios, selector_ratios;
  for (int r = 0; r < rounds; ++r) {
    const double t0 = Time(small, iterations), t1 = Time(large, iterations);
    const double s0 = Time(small_selector, iterations), s1 = Time(large_selector, iterations);
    table_us[0].push_back(t0);
    table_us[1].push_back(t1);
    selector_us[0].push_back(s0);
    selector_us[1].push_back(s1);
    ratios.push_back(t1 / t0);
    selector_ratios.push_back(s1 / s0);
    std::printf("round %d: table sample+update(256) 1e3 %.1f us, 1e6 %.1f us (x%.2f); selector 1e3 %.1f us, "
                "1e6 %.1f us (x%.2f)\n",
                r, t0, t1, t1 / t0, s0, s1, s1 / s0);
  }
  std::printf(
      "{\"items_1e3_us\": %.2f, \"items_1e6_us\": %.2f, \"ratio\": %.3f, \"selector_1e3_us\": %.2f, "
      "\"selector_1e6_us\": %.2f, \"selector_ratio\": %.3f, \"batch\": %d, \"iterations\": %d, "
      "\"rounds\": %d}\n",
      Median(table_us[0]), Median(table_us[1]), Median(ratios), Median(selector_us[0]), Median(selector_us[1]),
      Median(selector_ratios), kBatch, iterations, rounds);
  return 0;
}

}  // namespace
}  // namespace rill::bench

int main(int argc, char** argv) { return rill::bench::Main(argc, argv); }
