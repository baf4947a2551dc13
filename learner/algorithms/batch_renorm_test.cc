#include "learner/algorithms/batch_renorm.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

torch::Tensor Values(std::vector<float> values, std::vector<int64_t> shape) {
  return torch::tensor(values).view(shape);
}

// Columns 1, 3, 5, 7 (mean 4, biased variance 5) and 2, 2, 6, 6 (mean 4,
// biased variance 4).
torch::Tensor FourRows() { return Values({1, 2, 3, 2, 5, 6, 7, 6}, {4, 2}); }

TEST(BatchRenormTest, WarmUpNormalisesWithTheBatchAndMovesTheRunningStatistics) {
  BatchRenormOptions options;
  options.momentum = 0.1;
  const torch::Tensor scale = Values({1, 2}, {1, 2}), shift = Values({0.5, -1}, {1, 2});
  torch::Tensor mean = torch::zeros({1, 2}), var = torch::ones({1, 2});
  torch::Tensor y = BatchRenormTrain(FourRows(), scale, shift, mean, var, /*steps=*/0, options);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 4, 2}));
  const double s0 = std::sqrt(5 + 1e-3), s1 = std::sqrt(4 + 1e-3);
  const std::vector<double> expected = {-3 / s0 + 0.5, 2 * -2 / s1 - 1, -1 / s0 + 0.5, 2 * -2 / s1 - 1,
                                        1 / s0 + 0.5,  2 * 2 / s1 - 1,  3 / s0 + 0.5,  2 * 2 / s1 - 1};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(y.view(-1)[i].item<double>(), expected[i], 1e-5) << i;
  // 0.9 * old + 0.1 * batch; the variance's unbiased estimate (x 4/3).
  EXPECT_NEAR(mean[0][0].item<double>(), 0.4, 1e-6);
  EXPECT_NEAR(mean[0][1].item<double>(), 0.4, 1e-6);
  EXPECT_NEAR(var[0][0].item<double>(), 0.9 + 0.1 * 20.0 / 3, 1e-5);
  EXPECT_NEAR(var[0][1].item<double>(), 0.9 + 0.1 * 16.0 / 3, 1e-5);
}

TEST(BatchRenormTest, AfterWarmUpTheTrainingOutputIsTheRunningStatisticsOutputWithinTheClamps) {
  BatchRenormOptions options;
  options.warmup_steps = 5;
  const torch::Tensor scale = Values({1.5, 0.5}, {1, 2}), shift = Values({0, 1}, {1, 2});
  // r = sigma_B / sigma and d = (mu_B - mu) / sigma inside their clamps:
  // the output is the running statistics' one.
  torch::Tensor mean = Values({3, 5}, {1, 2}), var = Values({4, 3}, {1, 2});
  const torch::Tensor eval = BatchRenormEval(FourRows(), scale, shift, mean, var, options.epsilon);
  torch::Tensor y = BatchRenormTrain(FourRows(), scale, shift, mean.clone(), var.clone(), /*steps=*/5, options);
  EXPECT_TRUE(torch::allclose(y, eval, 1e-5, 1e-6)) << y << eval;
  // Still batch norm at step 4.
  torch::Tensor warm = BatchRenormTrain(FourRows(), scale, shift, mean.clone(), var.clone(), 4, options);
  EXPECT_FALSE(torch::allclose(warm, eval, 1e-3, 1e-3));
  // Clamped: r_max 1.5 against sigma_B / sigma = sqrt(5.001 / 0.101) in
  // column 0; d_max 0.5 against (4 - 3.5) / sqrt(0.101) there.
  options.r_max = 1.5;
  options.d_max = 0.5;
  torch::Tensor small_var = Values({0.1, 3}, {1, 2}), shifted_mean = Values({3.5, 5}, {1, 2});
  y = BatchRenormTrain(FourRows(), scale, shift, shifted_mean, small_var, 5, options);
  const double s0 = std::sqrt(5 + 1e-3);
  EXPECT_NEAR(y[0][0][0].item<double>(), 1.5 * (-3 / s0 * 1.5 + 0.5), 1e-5);
  EXPECT_NEAR(y[0][3][0].item<double>(), 1.5 * (3 / s0 * 1.5 + 0.5), 1e-5);
}

TEST(BatchRenormTest, TheCorrectionIsAConstantOfTheGradient) {
  BatchRenormOptions options;
  options.warmup_steps = 0;
  const torch::Tensor scale = torch::ones({1, 2}), shift = torch::zeros({1, 2});
  const torch::Tensor weights = torch::randn({1, 4, 2});
  torch::Tensor running_mean = Values({3, 5}, {1, 2}), running_var = Values({4, 3}, {1, 2});
  torch::Tensor x = FourRows().requires_grad_(true);
  (BatchRenormTrain(x, scale, shift, running_mean.clone(), running_var.clone(), 1, options) * weights)
      .sum()
      .backward();
  // Batch norm's gradient times r = sigma_B / sigma, column by column.
  torch::Tensor plain = FourRows().requires_grad_(true);
  torch::Tensor mu = plain.mean(0, true);
  torch::Tensor sigma = (plain.var(0, false, true) + 1e-3).sqrt();
  (((plain - mu) / sigma) * weights).sum().backward();
  torch::Tensor r = Values({static_cast<float>(std::sqrt(5.001 / 4.001)), static_cast<float>(std::sqrt(4.001 / 3.001))},
                           {1, 2});
  EXPECT_TRUE(torch::allclose(x.grad(), plain.grad() * r, 1e-5, 1e-6)) << x.grad() << plain.grad();
}

TEST(BatchRenormTest, MembersKeepTheirOwnStatisticsOverSharedOrOwnRows) {
  BatchRenormOptions options;
  options.momentum = 1;  // the running statistics become the batch's
  const torch::Tensor scale = torch::ones({3, 2}), shift = torch::zeros({3, 2});
  torch::Tensor mean = torch::zeros({3, 2}), var = torch::ones({3, 2});
  // Rows shared by the three members: one normalisation, three copies.
  torch::Tensor shared = BatchRenormTrain(FourRows(), scale, shift, mean, var, 0, options);
  ASSERT_EQ(shared.sizes(), (std::vector<int64_t>{3, 4, 2}));
  EXPECT_TRUE(torch::equal(shared[0], shared[2]));
  EXPECT_TRUE(torch::allclose(mean, Values({4, 4, 4, 4, 4, 4}, {3, 2})));
  // Each member its own rows: member e's are FourRows() * (e + 1).
  torch::Tensor own = torch::stack({FourRows(), FourRows() * 2, FourRows() * 3});
  BatchRenormTrain(own, scale, shift, mean, var, 0, options);
  EXPECT_TRUE(torch::allclose(mean, Values({4, 4, 8, 8, 12, 12}, {3, 2})));
  EXPECT_NEAR(var[2][0].item<double>(), 9 * 20.0 / 3, 1e-4);
}

TEST(BatchRenormTest, FoldingIntoTheNextLinearGivesTheSameOutputs) {
  torch::manual_seed(3);
  const torch::Tensor scale = torch::rand({5}) + 0.5, shift = torch::randn({5});
  const torch::Tensor mean = torch::randn({5}), var = torch::rand({5}) + 0.1;
  const torch::Tensor weight = torch::randn({3, 5}), bias = torch::randn({3});
  const torch::Tensor x = torch::randn({7, 5});
  torch::Tensor normalised =
      BatchRenormEval(x, scale.unsqueeze(0), shift.unsqueeze(0), mean.unsqueeze(0), var.unsqueeze(0), 1e-3)[0];
  auto [folded_weight, folded_bias] = FoldRenormIntoLinear(scale, shift, mean, var, 1e-3, weight, bias);
  EXPECT_TRUE(torch::allclose(torch::nn::functional::linear(x, folded_weight, folded_bias),
                              torch::nn::functional::linear(normalised, weight, bias), 1e-5, 1e-5));
}

}  // namespace
}  // namespace rill::learner
