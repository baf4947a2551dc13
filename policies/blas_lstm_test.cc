#include "policies/blas_lstm.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace rill::policies {
namespace {

// torch.nn.LSTM's cell in double, one row: the reference BlasLstm is held to.
void ReferenceStep(const BlasLstm& lstm, const float* x, float* state) {
  const int n = lstm.size();
  const int in = lstm.in_dim();
  const std::vector<float>& w_ih = lstm.parameters()[0].values;
  const std::vector<float>& w_hh = lstm.parameters()[1].values;
  const std::vector<float>& bias = lstm.parameters()[2].values;
  std::vector<double> gates(4 * n);
  for (int k = 0; k < 4 * n; ++k) {
    double sum = bias[k];
    for (int j = 0; j < in; ++j) sum += static_cast<double>(w_ih[k * in + j]) * x[j];
    for (int j = 0; j < n; ++j) sum += static_cast<double>(w_hh[k * n + j]) * state[j];
    gates[k] = sum;
  }
  auto sigmoid = [](double v) { return 1 / (1 + std::exp(-v)); };
  for (int j = 0; j < n; ++j) {
    const double c = sigmoid(gates[n + j]) * state[n + j] + sigmoid(gates[j]) * std::tanh(gates[2 * n + j]);
    state[n + j] = static_cast<float>(c);
    state[j] = static_cast<float>(sigmoid(gates[3 * n + j]) * std::tanh(c));
  }
}

TEST(BlasLstmTest, ParametersHaveTheContractsNamesShapesAndTorchsInitRange) {
  const BlasLstm lstm(6, 5, "policy", /*seed=*/1);
  ASSERT_EQ(lstm.parameters().size(), 3u);
  EXPECT_EQ(lstm.parameters()[0].name, "policy.lstm.weight_ih");
  EXPECT_EQ(lstm.parameters()[0].shape, (std::vector<int64_t>{20, 6}));
  EXPECT_EQ(lstm.parameters()[1].name, "policy.lstm.weight_hh");
  EXPECT_EQ(lstm.parameters()[1].shape, (std::vector<int64_t>{20, 5}));
  EXPECT_EQ(lstm.parameters()[2].name, "policy.lstm.bias");
  EXPECT_EQ(lstm.parameters()[2].shape, (std::vector<int64_t>{20}));
  const float bound = 1.f / std::sqrt(5.f);
  for (int p = 0; p < 2; ++p) {
    for (float w : lstm.parameters()[p].values) EXPECT_LE(std::abs(w), bound);
  }
  for (float b : lstm.parameters()[2].values) EXPECT_LE(std::abs(b), 2 * bound);
}

TEST(BlasLstmTest, SameSeedSameParametersOtherSeedOthers) {
  const BlasLstm a(3, 4, "policy", 7), b(3, 4, "policy", 7), c(3, 4, "policy", 8);
  EXPECT_EQ(a.parameters()[0].values, b.parameters()[0].values);
  EXPECT_NE(a.parameters()[0].values, c.parameters()[0].values);
}

TEST(BlasLstmTest, OneUnitStepMatchesTheEquationsByHand) {
  BlasLstm lstm(1, 1, "policy", 0);
  // Gates (i, f, g, o) = (x, x, x + h, 0.5 h) + (0, 1, 0, 0).
  lstm.parameters()[0].values = {1, 1, 1, 0};
  lstm.parameters()[1].values = {0, 0, 1, 0.5};
  lstm.parameters()[2].values = {0, 1, 0, 0};
  float state[2] = {0.4f, -0.3f};  // h, c
  const float x = 0.6f;
  lstm.Step(&x, 1, state);
  // i = sigmoid(0.6), f = sigmoid(1.6), g = tanh(1.0), o = sigmoid(0.2).
  const double i = 1 / (1 + std::exp(-0.6)), f = 1 / (1 + std::exp(-1.6)), g = std::tanh(1.0),
               o = 1 / (1 + std::exp(-0.2));
  const double c = f * -0.3 + i * g;
  EXPECT_NEAR(state[1], c, 1e-6);
  EXPECT_NEAR(state[0], o * std::tanh(c), 1e-6);
  EXPECT_EQ(lstm.h()[0], state[0]);
}

TEST(BlasLstmTest, StepsCarryingStateMatchTheScalarReference) {
  const int in = 7, n = 5, batch = 3, steps = 6;
  BlasLstm lstm(in, n, "policy", /*seed=*/3);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> state(batch * 2 * n), expected(batch * 2 * n);
  for (float& v : state) v = normal(rng);  // a state carried in from before
  expected = state;
  std::vector<float> input(batch * in);
  for (int t = 0; t < steps; ++t) {
    for (float& v : input) v = 2 * normal(rng);
    lstm.Step(input.data(), batch, state.data());
    for (int r = 0; r < batch; ++r) ReferenceStep(lstm, input.data() + r * in, expected.data() + r * 2 * n);
    for (int k = 0; k < batch * 2 * n; ++k) ASSERT_NEAR(state[k], expected[k], 1e-5) << "step " << t << ", float " << k;
    for (int r = 0; r < batch; ++r) {
      for (int j = 0; j < n; ++j) EXPECT_EQ(lstm.h()[r * n + j], state[r * 2 * n + j]);
    }
  }
}

TEST(BlasLstmTest, RowsAreIndependent) {
  const int in = 4, n = 3;
  BlasLstm lstm(in, n, "policy", 5);
  std::vector<float> inputs = {1, 2, 3, 4, -1, 0.5f, 0, 2};
  std::vector<float> both(2 * 2 * n, 0.f);
  both[2 * n] = 0.7f;  // row 1 starts from a non-zero state
  std::vector<float> row1(both.begin() + 2 * n, both.end());
  lstm.Step(inputs.data(), 2, both.data());
  lstm.Step(inputs.data() + in, 1, row1.data());
  for (int k = 0; k < 2 * n; ++k) EXPECT_FLOAT_EQ(both[2 * n + k], row1[k]);
}

}  // namespace
}  // namespace rill::policies
