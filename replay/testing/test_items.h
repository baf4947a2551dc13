// Test-only helpers shared by the replay tests: a two-column table and items
// whose data is derived from their key, so any sampled row can be checked
// against its key. Column "obs" is float32 [2] and "action" int64 []; the item
// with key k (v = k mod 2^20) holds obs = {v, v + 0.5} and action = 10 * v.
#ifndef RILL_REPLAY_TESTING_TEST_ITEMS_H_
#define RILL_REPLAY_TESTING_TEST_ITEMS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proto/config.pb.h"
#include "proto/replay.pb.h"
#include "proto/tensor.pb.h"
#include "absl/time/time.h"

namespace rill::replay {

inline constexpr char kTestTable[] = "transitions";

v1::Signature TestSignature();

// Table "transitions" with TestSignature and the given rate limiter.
v1::TableConfig TestTableConfig(int64_t max_size, int64_t min_size_to_sample = 1,
                                double samples_per_insert = 0, double error_buffer = 0);

v1::InsertRequest TestInsertRequest(const std::vector<uint64_t>& keys);

// The items' data column by column, as ReplayWriter::Append takes it.
struct TestItems {
  std::vector<float> obs;
  std::vector<int64_t> action;
  std::vector<const void*> columns() const { return {obs.data(), action.data()}; }
};
TestItems MakeTestItems(const std::vector<uint64_t>& keys);

// Whether every row of a sampled batch holds the data of its key, with the
// batch's shapes.
::testing::AssertionResult RowsMatchKeys(const v1::SampleResponse& response);

// A table of MinAtar-like frames, "frames": column "frame" uint8 [4, 10,
// 10], a sparse binary pattern derived from the key (TestFrame), and
// "action" int64 [] = the key. With `compressed`, "frame" is stored with
// zstd at `level` (compression { column: "frame" codec: ZSTD }).
inline constexpr char kFrameTable[] = "frames";
inline constexpr int64_t kTestFrameBytes = 400;
v1::TableConfig FrameTableConfig(int64_t max_size, bool compressed, int level = 0);
std::string TestFrame(uint64_t key);
v1::InsertRequest FrameInsertRequest(const std::vector<uint64_t>& keys);
// Whether every row of a sampled batch of the frame table holds the frame
// and action of its key, bit for bit.
::testing::AssertionResult FrameRowsMatchKeys(const v1::SampleResponse& response);

// A table of frame-stacked transitions, "stacks": columns "obs" and
// "next_obs" uint8 [kTestStack, 8, 8] and "action" int64 []. Transition t
// (its key) holds frames t .. t+3 in obs and t+1 .. t+4 in next_obs (frame
// f a pattern of f, TestStackFrame), as a frame-stacking env's stream does,
// and action t. With `share_planes`, obs and next_obs share planes.
inline constexpr char kStackTable[] = "stacks";
inline constexpr int64_t kTestStack = 4;
inline constexpr int64_t kTestPlaneBytes = 64;
v1::TableConfig StackTableConfig(int64_t max_size, bool share_planes);
std::string TestStackFrame(uint64_t frame);
v1::InsertRequest StackInsertRequest(const std::vector<uint64_t>& keys);
// Whether every row of a sampled batch of the stack table holds the stacks
// and action of its key, bit for bit.
::testing::AssertionResult StackRowsMatchKeys(const v1::SampleResponse& response);

// An empty folder `name` under TEST_TMPDIR (or /tmp), emptied if it exists.
std::string FreshTestDir(const std::string& name);

// Polls `condition` every 10 ms until it holds (true) or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(20));

}  // namespace rill::replay

#endif  // RILL_REPLAY_TESTING_TEST_ITEMS_H_
