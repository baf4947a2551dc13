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
