#include "learner/observation_normalizer.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/networks.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

// Merged batch by batch, the statistics are those of all observations at once.
TEST(ObservationNormalizerTest, RunningStatisticsEqualThoseOfAllObservations) {
  torch::manual_seed(3);
  ObservationNormalizer normalizer(3, 10, torch::kCPU);
  // Elements of very different scales and offsets, batches of different sizes.
  torch::Tensor all = torch::randn({1000, 3}) * torch::tensor({1.0f, 100.0f, 0.01f}) + torch::tensor({5.0f, -300.0f, 0.5f});
  int64_t start = 0;
  for (int64_t size : {1, 7, 256, 500, 236}) {
    ASSERT_TRUE(normalizer.Update(all.narrow(0, start, size)).ok());
    start += size;
  }
  ASSERT_EQ(start, 1000);
  EXPECT_EQ(normalizer.count(), 1000);
  EXPECT_TRUE(torch::allclose(normalizer.mean(), all.mean(0), 1e-5, 1e-5)) << normalizer.mean();
  EXPECT_TRUE(torch::allclose(normalizer.std(), all.std(0, /*unbiased=*/false), 1e-4, 1e-6)) << normalizer.std();
  // Normalised, every element has mean 0 and std 1.
  torch::Tensor normalized = normalizer.Normalize(all);
  EXPECT_TRUE(torch::allclose(normalized.mean(0), torch::zeros({3}), 0, 1e-4));
  EXPECT_TRUE(torch::allclose(normalized.std(0, false), torch::ones({3}), 0, 1e-3));
}

TEST(ObservationNormalizerTest, NormalizesAnyLeadingShapeAndClips) {
  ObservationNormalizer normalizer(2, 3, torch::kCPU);
  ASSERT_TRUE(normalizer.Update(torch::tensor({{0.0f, 10.0f}, {2.0f, 10.0f}})).ok());
  // Mean (1, 10); std (1, ~0): a constant element normalises to 0.
  torch::Tensor unrolls = torch::tensor({{{1.0f, 10.0f}, {2.0f, 10.0f}, {100.0f, 10.0f}}});  // [1, 3, 2]
  torch::Tensor normalized = normalizer.Normalize(unrolls);
  EXPECT_EQ(normalized.sizes(), unrolls.sizes());
  EXPECT_TRUE(torch::allclose(normalized, torch::tensor({{{0.0f, 0.0f}, {1.0f, 0.0f}, {3.0f, 0.0f}}}), 0, 1e-4))
      << normalized;
}

// An action mask's elements (the raw tail) keep mean 0 and std 1 while the
// state before them is normalised: a mask element stays above 0 exactly
// where it was, here and in the actors' policy that ships the statistics.
TEST(ObservationNormalizerTest, TheRawTailPassesThroughWhileTheRestIsNormalized) {
  torch::manual_seed(5);
  ObservationNormalizer normalizer(5, 10, torch::kCPU, /*raw_tail=*/2);
  torch::Tensor obs = torch::cat({torch::randn({400, 3}) * 7 + 3, torch::randint(2, {400, 2}).to(torch::kFloat32)}, 1);
  ASSERT_TRUE(normalizer.Update(obs.narrow(0, 0, 150)).ok());
  ASSERT_TRUE(normalizer.Update(obs.narrow(0, 150, 250)).ok());
  EXPECT_TRUE(torch::allclose(normalizer.mean().narrow(0, 3, 2), torch::zeros({2})));
  EXPECT_TRUE(torch::allclose(normalizer.std().narrow(0, 3, 2), torch::ones({2})));
  EXPECT_TRUE(torch::allclose(normalizer.mean().narrow(0, 0, 3), obs.narrow(1, 0, 3).mean(0), 1e-4, 1e-4));
  const torch::Tensor normalized = normalizer.Normalize(obs);
  EXPECT_TRUE(torch::equal(normalized.narrow(1, 3, 2).gt(0), obs.narrow(1, 3, 2).gt(0)));
  EXPECT_TRUE(torch::allclose(normalized.narrow(1, 3, 2), obs.narrow(1, 3, 2), 1e-6, 1e-6));
}

TEST(ObservationNormalizerTest, BeforeAnyObservationItIsTheIdentity) {
  ObservationNormalizer normalizer(2, 10, torch::kCPU);
  EXPECT_TRUE(torch::allclose(normalizer.std(), torch::ones({2}), 0, 1e-6));
  EXPECT_TRUE(torch::allclose(normalizer.Normalize(torch::tensor({{1.5f, -2.0f}})), torch::tensor({{1.5f, -2.0f}}),
                              0, 1e-6));
}

TEST(ObservationNormalizerTest, BadObservationsAreRefusedAndChangeNothing) {
  ObservationNormalizer normalizer(2, 10, torch::kCPU);
  ASSERT_TRUE(normalizer.Update(torch::tensor({{1.0f, 2.0f}, {3.0f, 4.0f}})).ok());
  absl::Status status = normalizer.Update(torch::tensor({{1.0f, NAN}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("NaN"));
  EXPECT_THAT(normalizer.Update(torch::zeros({4, 3})).message(), HasSubstr("3 elements, expected 2"));
  EXPECT_EQ(normalizer.count(), 2);
  EXPECT_TRUE(torch::allclose(normalizer.mean(), torch::tensor({2.0f, 3.0f})));
}

// The parameter set carries mean and std as its last two tensors and the
// clip in its spec; the checkpoint state restores the statistics exactly.
TEST(ObservationNormalizerTest, ShipsWithParametersAndRestoresFromState) {
  ObservationNormalizer normalizer(2, 5, torch::kCPU);
  ASSERT_TRUE(normalizer.Update(torch::tensor({{1.0f, 2.0f}, {3.0f, 8.0f}})).ok());
  v1::ParameterSet params;
  params.add_tensors()->set_name("policy.layers.0.weight");
  ASSERT_TRUE(normalizer.AddTo(&params).ok());
  ASSERT_EQ(params.tensors_size(), 3);
  EXPECT_EQ(params.tensors(1).name(), policies::kObsNormMeanName);
  EXPECT_EQ(params.tensors(2).name(), policies::kObsNormStdName);
  EXPECT_EQ(params.policy().observation_clip(), 5);

  std::map<std::string, torch::Tensor> saved;
  for (auto& [name, tensor] : normalizer.state().Save()) saved[name] = tensor;
  ObservationNormalizer restored(2, 5, torch::kCPU);
  ASSERT_TRUE(restored.state().Restore(saved).ok());
  EXPECT_EQ(restored.count(), 2);
  EXPECT_TRUE(torch::equal(restored.mean(), normalizer.mean()));
  EXPECT_TRUE(torch::equal(restored.std(), normalizer.std()));
  // Another observation size does not restore.
  ObservationNormalizer other(3, 5, torch::kCPU);
  EXPECT_THAT(other.state().Restore(saved).message(), HasSubstr("obs_norm.mean"));
}

}  // namespace
}  // namespace rill::learner
