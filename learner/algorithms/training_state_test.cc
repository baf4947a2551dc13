#include "learner/algorithms/training_state.h"

#include <map>
#include <string>

#include "ATen/CPUGeneratorImpl.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::map<std::string, torch::Tensor> AsMap(const std::vector<std::pair<std::string, torch::Tensor>>& saved) {
  return std::map<std::string, torch::Tensor>(saved.begin(), saved.end());
}

TEST(TrainingStateTest, RestoreWritesSavedValuesIntoTheLiveTensorsAndCounters) {
  torch::Tensor weights = torch::arange(6, torch::kFloat32);
  int64_t updates = 42;
  TrainingState state;
  state.AddTensor("weights", weights);
  state.AddCounter("updates", &updates);
  const auto saved = AsMap(state.Save());

  weights.zero_();
  updates = 0;
  ASSERT_TRUE(state.Restore(saved).ok());
  EXPECT_TRUE(torch::equal(weights, torch::arange(6, torch::kFloat32)));
  EXPECT_EQ(updates, 42);
  EXPECT_THAT(state.names(), ElementsAre("weights", "updates"));
}

TEST(TrainingStateTest, SaveCopiesSoLaterChangesDoNotLeakIntoTheSavedState) {
  torch::Tensor weights = torch::ones({3});
  TrainingState state;
  state.AddTensor("weights", weights);
  const auto saved = AsMap(state.Save());
  weights.add_(1);
  EXPECT_TRUE(torch::equal(saved.at("weights"), torch::ones({3})));
}

TEST(TrainingStateTest, RestoreRefusesAMissingEntryNamingItAndChangesNothing) {
  torch::Tensor a = torch::ones({2});
  torch::Tensor b = torch::ones({2});
  TrainingState state;
  state.AddTensor("a", a);
  state.AddTensor("b", b);
  absl::Status status = state.Restore({{"a", torch::zeros({2})}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'b'"));
  EXPECT_TRUE(torch::equal(a, torch::ones({2})));
}

TEST(TrainingStateTest, RestoreRefusesAnotherShapeOrDtypeNamingTheEntry) {
  torch::Tensor a = torch::ones({2});
  TrainingState state;
  state.AddTensor("critic", a);
  absl::Status shape = state.Restore({{"critic", torch::zeros({3})}});
  EXPECT_EQ(shape.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(shape.message(), HasSubstr("critic"));
  EXPECT_THAT(shape.message(), HasSubstr("[3]"));
  absl::Status dtype = state.Restore({{"critic", torch::zeros({2}, torch::kFloat64)}});
  EXPECT_EQ(dtype.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(torch::equal(a, torch::ones({2})));
}

TEST(TrainingStateTest, GeneratorRestoresItsStreamAndMayBeAbsent) {
  at::Generator generator = at::detail::createCPUGenerator(7);
  TrainingState state;
  state.AddGenerator("generator", &generator);
  const auto saved = AsMap(state.Save());
  const torch::Tensor first = torch::randn({4}, generator);
  ASSERT_TRUE(state.Restore(saved).ok());
  EXPECT_TRUE(torch::equal(torch::randn({4}, generator), first));
  // A checkpoint from another device has no CPU generator: keep ours.
  EXPECT_TRUE(state.Restore({}).ok());
}

}  // namespace
}  // namespace rill::learner
