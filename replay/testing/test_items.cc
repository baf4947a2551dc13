#include "replay/testing/test_items.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/time/clock.h"

namespace rill::replay {
namespace {

int64_t ValueOf(uint64_t key) { return static_cast<int64_t>(key % (uint64_t{1} << 20)); }

}  // namespace

v1::Signature TestSignature() {
  v1::Signature signature;
  v1::ColumnSpec* obs = signature.add_columns();
  obs->set_name("obs");
  obs->set_dtype(v1::DTYPE_FLOAT32);
  obs->add_shape(2);
  v1::ColumnSpec* action = signature.add_columns();
  action->set_name("action");
  action->set_dtype(v1::DTYPE_INT64);
  return signature;
}

v1::TableConfig TestTableConfig(int64_t max_size, int64_t min_size_to_sample, double samples_per_insert,
                                double error_buffer) {
  v1::TableConfig config;
  config.set_name(kTestTable);
  config.set_max_size(max_size);
  *config.mutable_signature() = TestSignature();
  config.mutable_rate_limiter()->set_min_size_to_sample(min_size_to_sample);
  config.mutable_rate_limiter()->set_samples_per_insert(samples_per_insert);
  config.mutable_rate_limiter()->set_error_buffer(error_buffer);
  return config;
}

TestItems MakeTestItems(const std::vector<uint64_t>& keys) {
  TestItems items;
  for (uint64_t key : keys) {
    const int64_t v = ValueOf(key);
    items.obs.push_back(static_cast<float>(v));
    items.obs.push_back(static_cast<float>(v) + 0.5f);
    items.action.push_back(10 * v);
  }
  return items;
}

v1::InsertRequest TestInsertRequest(const std::vector<uint64_t>& keys) {
  const TestItems items = MakeTestItems(keys);
  const int64_t n = static_cast<int64_t>(keys.size());
  v1::InsertRequest request;
  request.set_table(kTestTable);
  for (uint64_t key : keys) request.add_keys(key);
  v1::Tensor* obs = request.add_columns();
  obs->set_dtype(v1::DTYPE_FLOAT32);
  obs->add_shape(n);
  obs->add_shape(2);
  obs->set_data(items.obs.data(), items.obs.size() * sizeof(float));
  v1::Tensor* action = request.add_columns();
  action->set_dtype(v1::DTYPE_INT64);
  action->add_shape(n);
  action->set_data(items.action.data(), items.action.size() * sizeof(int64_t));
  return request;
}

::testing::AssertionResult RowsMatchKeys(const v1::SampleResponse& response) {
  const int n = response.keys_size();
  if (response.columns_size() != 2) {
    return ::testing::AssertionFailure() << response.columns_size() << " columns";
  }
  const v1::Tensor& obs = response.columns(0);
  const v1::Tensor& action = response.columns(1);
  if (obs.shape_size() != 2 || obs.shape(0) != n || obs.shape(1) != 2 || action.shape_size() != 1 ||
      action.shape(0) != n) {
    return ::testing::AssertionFailure() << "shapes do not match " << n << " keys";
  }
  if (obs.data().size() != n * 2 * sizeof(float) || action.data().size() != n * sizeof(int64_t)) {
    return ::testing::AssertionFailure() << "data sizes do not match " << n << " keys";
  }
  for (int i = 0; i < n; ++i) {
    float o[2];
    int64_t a;
    std::memcpy(o, obs.data().data() + i * sizeof(o), sizeof(o));
    std::memcpy(&a, action.data().data() + i * sizeof(a), sizeof(a));
    const int64_t v = ValueOf(response.keys(i));
    if (o[0] != static_cast<float>(v) || o[1] != static_cast<float>(v) + 0.5f || a != 10 * v) {
      return ::testing::AssertionFailure() << "row " << i << " (key " << response.keys(i)
                                           << ") holds obs {" << o[0] << ", " << o[1] << "}, action " << a;
    }
  }
  return ::testing::AssertionSuccess();
}

v1::TableConfig FrameTableConfig(int64_t max_size, bool compressed, int level) {
  v1::TableConfig config;
  config.set_name(kFrameTable);
  config.set_max_size(max_size);
  v1::ColumnSpec* frame = config.mutable_signature()->add_columns();
  frame->set_name("frame");
  frame->set_dtype(v1::DTYPE_UINT8);
  for (int64_t d : {4, 10, 10}) frame->add_shape(d);
  v1::ColumnSpec* action = config.mutable_signature()->add_columns();
  action->set_name("action");
  action->set_dtype(v1::DTYPE_INT64);
  config.mutable_rate_limiter()->set_min_size_to_sample(1);
  if (compressed) {
    v1::TableConfig::ColumnCompression* compression = config.add_compression();
    compression->set_column("frame");
    compression->set_codec(v1::TableConfig::ColumnCompression::ZSTD);
    compression->set_level(level);
  }
  return config;
}

std::string TestFrame(uint64_t key) {
  // About one cell in eight set, in a pattern that moves with the key.
  std::string frame(static_cast<size_t>(kTestFrameBytes), '\0');
  uint64_t state = key * 0x9E3779B97F4A7C15ull + 1;
  for (char& cell : frame) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    cell = (state & 7) == 0 ? 1 : 0;
  }
  return frame;
}

v1::InsertRequest FrameInsertRequest(const std::vector<uint64_t>& keys) {
  const int64_t n = static_cast<int64_t>(keys.size());
  v1::InsertRequest request;
  request.set_table(kFrameTable);
  v1::Tensor* frame = request.add_columns();
  frame->set_dtype(v1::DTYPE_UINT8);
  for (int64_t d : {n, int64_t{4}, int64_t{10}, int64_t{10}}) frame->add_shape(d);
  v1::Tensor* action = request.add_columns();
  action->set_dtype(v1::DTYPE_INT64);
  action->add_shape(n);
  for (uint64_t key : keys) {
    request.add_keys(key);
    frame->mutable_data()->append(TestFrame(key));
    const int64_t value = static_cast<int64_t>(key);
    action->mutable_data()->append(reinterpret_cast<const char*>(&value), sizeof(value));
  }
  return request;
}

::testing::AssertionResult FrameRowsMatchKeys(const v1::SampleResponse& response) {
  const int n = response.keys_size();
  if (response.columns_size() != 2) return ::testing::AssertionFailure() << response.columns_size() << " columns";
  const v1::Tensor& frame = response.columns(0);
  const v1::Tensor& action = response.columns(1);
  if (frame.shape_size() != 4 || frame.shape(0) != n ||
      frame.data().size() != static_cast<size_t>(n * kTestFrameBytes) ||
      action.data().size() != static_cast<size_t>(n) * sizeof(int64_t)) {
    return ::testing::AssertionFailure() << "shapes or sizes do not match " << n << " keys";
  }
  for (int i = 0; i < n; ++i) {
    int64_t a;
    std::memcpy(&a, action.data().data() + i * sizeof(a), sizeof(a));
    if (frame.data().compare(static_cast<size_t>(i * kTestFrameBytes), static_cast<size_t>(kTestFrameBytes),
                             TestFrame(response.keys(i))) != 0) {
      return ::testing::AssertionFailure() << "row " << i << " (key " << response.keys(i)
                                           << ") does not hold its key's frame";
    }
    if (a != static_cast<int64_t>(response.keys(i))) {
      return ::testing::AssertionFailure() << "row " << i << " (key " << response.keys(i) << ") holds action " << a;
    }
  }
  return ::testing::AssertionSuccess();
}

v1::TableConfig StackTableConfig(int64_t max_size, bool share_planes) {
  v1::TableConfig config;
  config.set_name(kStackTable);
  config.set_max_size(max_size);
  for (const char* name : {"obs", "next_obs"}) {
    v1::ColumnSpec* column = config.mutable_signature()->add_columns();
    column->set_name(name);
    column->set_dtype(v1::DTYPE_UINT8);
    for (int64_t d : {kTestStack, int64_t{8}, int64_t{8}}) column->add_shape(d);
    if (share_planes) {
      v1::TableConfig::ColumnCompression* compression = config.add_compression();
      compression->set_column(name);
      compression->set_share_planes(true);
    }
  }
  v1::ColumnSpec* action = config.mutable_signature()->add_columns();
  action->set_name("action");
  action->set_dtype(v1::DTYPE_INT64);
  config.mutable_rate_limiter()->set_min_size_to_sample(1);
  return config;
}

std::string TestStackFrame(uint64_t frame) {
  std::string plane(static_cast<size_t>(kTestPlaneBytes), '\0');
  uint64_t state = frame * 0x9E3779B97F4A7C15ull + 7;
  for (char& cell : plane) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    cell = static_cast<char>(state >> 56);
  }
  return plane;
}

namespace {

// The stack of frames first .. first + kTestStack - 1.
std::string TestStack(uint64_t first) {
  std::string stack;
  for (int64_t i = 0; i < kTestStack; ++i) stack += TestStackFrame(first + static_cast<uint64_t>(i));
  return stack;
}

}  // namespace

v1::InsertRequest StackInsertRequest(const std::vector<uint64_t>& keys) {
  v1::InsertRequest request;
  request.set_table(kStackTable);
  const int64_t n = static_cast<int64_t>(keys.size());
  for (int c = 0; c < 3; ++c) {
    v1::Tensor* column = request.add_columns();
    column->set_dtype(c < 2 ? v1::DTYPE_UINT8 : v1::DTYPE_INT64);
    column->add_shape(n);
    if (c < 2) {
      for (int64_t d : {kTestStack, int64_t{8}, int64_t{8}}) column->add_shape(d);
    }
  }
  for (uint64_t key : keys) {
    request.add_keys(key);
    request.mutable_columns(0)->mutable_data()->append(TestStack(key));
    request.mutable_columns(1)->mutable_data()->append(TestStack(key + 1));
    const int64_t action = static_cast<int64_t>(key);
    request.mutable_columns(2)->mutable_data()->append(reinterpret_cast<const char*>(&action), sizeof(action));
  }
  return request;
}

::testing::AssertionResult StackRowsMatchKeys(const v1::SampleResponse& response) {
  const int n = response.keys_size();
  const size_t stack_bytes = static_cast<size_t>(kTestStack * kTestPlaneBytes);
  if (response.columns_size() != 3 || response.columns(0).data().size() != n * stack_bytes ||
      response.columns(1).data().size() != n * stack_bytes ||
      response.columns(2).data().size() != static_cast<size_t>(n) * sizeof(int64_t)) {
    return ::testing::AssertionFailure() << "columns or sizes do not match " << n << " keys";
  }
  for (int i = 0; i < n; ++i) {
    const uint64_t key = response.keys(i);
    if (response.columns(0).data().compare(i * stack_bytes, stack_bytes, TestStack(key)) != 0) {
      return ::testing::AssertionFailure() << "row " << i << " (key " << key << ") does not hold its obs stack";
    }
    if (response.columns(1).data().compare(i * stack_bytes, stack_bytes, TestStack(key + 1)) != 0) {
      return ::testing::AssertionFailure() << "row " << i << " (key " << key << ") does not hold its next_obs stack";
    }
    int64_t action;
    std::memcpy(&action, response.columns(2).data().data() + i * sizeof(action), sizeof(action));
    if (action != static_cast<int64_t>(key)) {
      return ::testing::AssertionFailure() << "row " << i << " (key " << key << ") holds action " << action;
    }
  }
  return ::testing::AssertionSuccess();
}

std::string FreshTestDir(const std::string& name) {
  const char* root = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(root ? root : "/tmp") + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

}  // namespace rill::replay
